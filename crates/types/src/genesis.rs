//! Genesis: the chain id, opening balances, validators and the initial chain parameters.

use crate::evm::{EvmParams, GenesisEvmAccount};
use crate::governance::{FaucetParams, GovernanceParams};
use crate::market::Label;
use crate::{Address, Amount, Hash32, RewardParams, SeedKey};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, RangeCfg, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// Parameters kept in state (not constants), so governance can change them later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainParams {
    /// The base of the fee schedule: every transaction pays it, plus `fee_per_byte` for each
    /// byte of its encoded signed form and `fee_per_write` for each state key its action
    /// writes. A transaction's `fee` is the most it will pay: it must cover the base and the
    /// bytes (`FeeTooLow`), the writes are charged after execution from what is left, and the
    /// rest is refunded in the same transaction.
    pub min_fee: Amount,
    /// Fee per byte of the encoded signed transaction.
    #[serde(default)]
    pub fee_per_byte: Amount,
    /// Fee per distinct state key the transaction's action writes (or deletes).
    #[serde(default)]
    pub fee_per_write: Amount,
    /// Share of every fee that is burned, in basis points (1/10,000); the rest is shared by the
    /// epoch's active validators pro rata by stake.
    pub fee_burn_bps: u16,
    /// Most transactions in one block.
    pub block_txs_max: u32,
    /// Largest encoded transaction, in bytes.
    pub tx_bytes_max: u32,
    /// How far past the current height a transaction may set its expiry, in blocks.
    pub expiry_blocks_max: u64,
    /// The compute market's parameters.
    #[serde(default)]
    pub market: MarketParams,
    /// Delegated proof of stake: epochs, the active set, bonds, unbonding, slashing.
    #[serde(default)]
    pub staking: StakingParams,
    /// Storage deals: epochs, proof windows, fetching, misses and the storage price floor.
    #[serde(default)]
    pub storage: StorageParams,
    /// Block rewards, commission and downtime.
    #[serde(default)]
    pub rewards: RewardParams,
    /// Vote-escrowed governance: voting period, deposit, quorum, threshold, veto, locks.
    #[serde(default)]
    pub governance: GovernanceParams,
    /// The proof-of-work faucet (off by default).
    #[serde(default)]
    pub faucet: FaucetParams,
    /// The EVM: its chain id, base fee and gas limits.
    #[serde(default)]
    pub evm: EvmParams,
}

/// Parameters of storage deals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StorageParams {
    /// Blocks per storage epoch: each epoch every replica answers one challenge and is paid
    /// once. A deal's epochs start in the block after its first replicas are matched.
    pub epoch_blocks: u64,
    /// Blocks after an epoch's first block within which its challenge must be answered
    /// (1..epoch_blocks: it closes before the next epoch opens).
    pub proof_window_blocks: u64,
    /// Epochs a newly assigned replica may take to fetch the data and prove once; a replica
    /// that has not proven by then is released, unslashed.
    pub fetch_epochs_max: u32,
    /// Windows a holding replica may miss in a row before it is ended and replaced.
    pub misses_to_replace: u32,
    /// Share of the provider's bond one missed window burns, in parts per million.
    pub miss_slash_ppm: u32,
    /// Most deals matched (first replicas or repairs) in one block.
    pub deals_matched_per_block_max: u32,
    /// The storage price index never falls below this, per MiB-epoch.
    pub price_floor_per_mib_epoch: Amount,
    /// The least one proven replica-epoch pays, whatever the file's size: a replica-epoch pays
    /// max(price × billed MiB, this). At least `min_fee` (checked at genesis), so the proof of
    /// one period always pays for the transaction that carries it, even sent alone.
    #[serde(default = "default_replica_epoch_pay_min")]
    pub replica_epoch_pay_min: Amount,
}

fn default_replica_epoch_pay_min() -> Amount {
    StorageParams::default().replica_epoch_pay_min
}

impl Default for StorageParams {
    fn default() -> Self {
        StorageParams {
            epoch_blocks: 100,
            proof_window_blocks: 50,
            fetch_epochs_max: 3,
            misses_to_replace: 3,
            miss_slash_ppm: 10_000,
            deals_matched_per_block_max: 64,
            price_floor_per_mib_epoch: Amount::new(1),
            replica_epoch_pay_min: Amount::new(1_000),
        }
    }
}

impl Write for StorageParams {
    fn write(&self, buf: &mut impl BufMut) {
        self.epoch_blocks.write(buf);
        self.proof_window_blocks.write(buf);
        self.fetch_epochs_max.write(buf);
        self.misses_to_replace.write(buf);
        self.miss_slash_ppm.write(buf);
        self.deals_matched_per_block_max.write(buf);
        self.price_floor_per_mib_epoch.write(buf);
        self.replica_epoch_pay_min.write(buf);
    }
}

impl EncodeSize for StorageParams {
    fn encode_size(&self) -> usize {
        8 + 8 + 4 + 4 + 4 + 4 + 16 + 16
    }
}

impl Read for StorageParams {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(StorageParams {
            epoch_blocks: u64::read(buf)?,
            proof_window_blocks: u64::read(buf)?,
            fetch_epochs_max: u32::read(buf)?,
            misses_to_replace: u32::read(buf)?,
            miss_slash_ppm: u32::read(buf)?,
            deals_matched_per_block_max: u32::read(buf)?,
            price_floor_per_mib_epoch: Amount::read(buf)?,
            replica_epoch_pay_min: Amount::read(buf)?,
        })
    }
}

/// Parameters of delegated proof of stake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StakingParams {
    /// Blocks per epoch. Epoch `e` is heights `e × epoch_blocks ..= (e + 1) × epoch_blocks − 1`
    /// (height 0, genesis, is in epoch 0); the next epoch's active set is chosen at the end of
    /// an epoch's last block.
    pub epoch_blocks: u64,
    /// Most validators in an epoch's active set (the top ones by bonded stake).
    pub active_validators_max: u32,
    /// Smallest self bond a validator may register with (and keep, unless it unbonds all).
    pub validator_self_bond_min: Amount,
    /// Smallest amount one `Delegate` may bond.
    pub delegation_min: Amount,
    /// Blocks between `Undelegate` and the amount's return to the balance.
    pub unbonding_blocks: u64,
    /// Share of a validator's self bond, of each delegation to it and of each of their
    /// unbonding entries that one proven equivocation burns, in basis points.
    pub slash_equivocation_bps: u16,
    /// Blocks a slashed validator stays jailed before it may `Unjail`.
    pub jail_blocks: u64,
}

impl Default for StakingParams {
    fn default() -> Self {
        StakingParams {
            epoch_blocks: 100,
            active_validators_max: 21,
            validator_self_bond_min: Amount::new(1_000_000),
            delegation_min: Amount::new(1_000),
            unbonding_blocks: 1_000,
            slash_equivocation_bps: 500,
            jail_blocks: 1_000,
        }
    }
}

impl Write for StakingParams {
    fn write(&self, buf: &mut impl BufMut) {
        self.epoch_blocks.write(buf);
        self.active_validators_max.write(buf);
        self.validator_self_bond_min.write(buf);
        self.delegation_min.write(buf);
        self.unbonding_blocks.write(buf);
        self.slash_equivocation_bps.write(buf);
        self.jail_blocks.write(buf);
    }
}

impl EncodeSize for StakingParams {
    fn encode_size(&self) -> usize {
        8 + 4 + 16 + 16 + 8 + 2 + 8
    }
}

impl Read for StakingParams {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(StakingParams {
            epoch_blocks: u64::read(buf)?,
            active_validators_max: u32::read(buf)?,
            validator_self_bond_min: Amount::read(buf)?,
            delegation_min: Amount::read(buf)?,
            unbonding_blocks: u64::read(buf)?,
            slash_equivocation_bps: u16::read(buf)?,
            jail_blocks: u64::read(buf)?,
        })
    }
}

/// Parameters of the compute market (bonds, windows, slashing, the price index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MarketParams {
    /// Smallest bond a provider may hold and still receive tasks.
    pub provider_bond_min: Amount,
    /// Most slots one provider may offer.
    pub provider_slots_max: u32,
    /// Blocks between `ExitProvider` and the bond's return.
    pub unbonding_blocks: u64,
    /// Blocks an assigned replica has to commit its verdict.
    pub commit_window_blocks: u64,
    /// Blocks a committed replica has to reveal, once every replica has committed.
    pub reveal_window_blocks: u64,
    /// How far ahead a job's deadline may be, in blocks.
    pub job_deadline_blocks_max: u64,
    /// Largest fuel and memory limits one task may ask for.
    pub task_fuel_max: u64,
    pub task_memory_bytes_max: u64,
    /// Silent replicas a task tolerates before it fails.
    pub task_expirations_max: u8,
    /// Share of the bond a provider loses for withholding a committed verdict, in basis
    /// points. (An outvoted dissenter is not slashed: a vote cannot tell an honest minority
    /// from a lying one.)
    pub slash_dissent_bps: u16,
    /// Share of the bond a silent provider loses, in basis points.
    pub slash_silent_bps: u16,
    /// The price index never falls below this, per million fuel.
    pub price_floor_per_mfuel: Amount,
    /// Utilization of provider slots the price index steers toward, in basis points.
    pub price_target_utilization_bps: u16,
    /// The index moves by at most 1/divisor per block (8: ±12.5 %, as EIP-1559).
    pub price_step_divisor: u16,
    /// Assumed error rate of a provider with no verified history, in parts per million
    /// (adaptive verification: a provider with a run of s verified results is trusted to err
    /// with prior / (s + 1)).
    pub adaptive_prior_error_ppm: u32,
    /// Most of the total selection weight one provider may hold, in basis points: replicas are
    /// drawn at random weighted by bond and reputation, and a provider whose weight would be a
    /// larger share is counted at the cap (so no one is on nearly every task).
    #[serde(default = "default_selection_weight_cap_bps")]
    pub selection_weight_cap_bps: u16,
    /// The labels a job may require (exact key and value): eligibility is decided only on
    /// labels the chain governs, so a requester cannot name a label only its own providers
    /// carry. Providers may carry other labels; they are informative only.
    #[serde(default = "default_governed_labels")]
    pub governed_labels: Vec<Label>,
    /// The engine classes a provider may declare (blake3 of a sandbox's fingerprint class,
    /// `yun_exec::EngineFingerprint`): a task's replicas all come from one class, so a class
    /// only colluders declare would win them every replica of the tasks it is drawn for. Only
    /// the builds the chain admits count; empty in the default, because the class of a release
    /// is known only to its binary: whoever writes a genesis (`yun devnet`, `yun localnet`)
    /// fills it, and a genesis with none is refused (no provider could ever register).
    #[serde(default)]
    pub engine_classes: Vec<Hash32>,
    /// Share of every payment to a provider that is burned, in basis points: what reputation
    /// costs a provider that farms it on its owner's jobs.
    #[serde(default = "default_protocol_fee_bps")]
    pub protocol_fee_bps: u16,
    /// Smallest payment for one replica that builds trust (reputation and streak); cheaper
    /// results are paid but prove nothing.
    #[serde(default = "default_trust_payment_min")]
    pub trust_payment_min: Amount,
    /// Blocks that must pass between two changes of a provider's slot count.
    #[serde(default = "default_slots_change_interval_blocks")]
    pub slots_change_interval_blocks: u64,
    /// Largest program a job may name, in bytes: the sandbox's module limit, so no posted job
    /// names a program every honest provider would refuse.
    #[serde(default = "default_program_bytes_max")]
    pub program_bytes_max: u64,
    /// Largest input (stdin) of one task, in bytes: the sandbox's stdin limit.
    #[serde(default = "default_input_bytes_max")]
    pub input_bytes_max: u64,
    /// Fuel the slowest admitted provider burns per second: a task's fuel must finish within
    /// `task_seconds_max` at this speed, and its commit window is that long plus a margin.
    #[serde(default = "default_fuel_per_second_min")]
    pub fuel_per_second_min: u64,
    /// Longest a task may run at `fuel_per_second_min` (below the sandbox's wall-clock kill).
    #[serde(default = "default_task_seconds_max")]
    pub task_seconds_max: u64,
    /// Time an assigned replica has beyond its task's run time to fetch, start and commit, in
    /// milliseconds of block time.
    #[serde(default = "default_commit_margin_ms")]
    pub commit_margin_ms: u64,
    /// Least block time a reveal window stays open, in milliseconds: fast blocks cannot
    /// shrink it.
    #[serde(default = "default_reveal_window_ms_min")]
    pub reveal_window_ms_min: u64,
    /// Fuel an agreeing replica of a verified *cannot-run* verdict is paid for (checking the
    /// job's data is work; the requester's escrow pays it, the rest is refunded).
    #[serde(default = "default_cannot_run_fuel")]
    pub cannot_run_fuel: u64,
    /// Most tasks waiting in the matching queue: a job that would take it past this is refused
    /// (`QueuedTasksFull`), so the queue every block walks stays bounded.
    #[serde(default = "default_queued_tasks_max")]
    pub queued_tasks_max: u64,
    /// Blocks a settled job's records (job, tasks, reduce inputs) stay in state; then they are
    /// pruned (the blocks keep the history: its `PostJob` names it).
    #[serde(default = "default_settled_retention_blocks")]
    pub settled_retention_blocks: u64,
    /// Most records one block's pruning deletes, so pruning never makes a block slow; what is
    /// left waits for the next block.
    #[serde(default = "default_prune_records_per_block_max")]
    pub prune_records_per_block_max: u32,
}

/// Most entries in `MarketParams::governed_labels`.
pub const GOVERNED_LABELS_MAX: usize = 256;

/// Most entries in `MarketParams::engine_classes`: a few releases on a few targets.
pub const ENGINE_CLASSES_MAX: usize = 64;

fn default_selection_weight_cap_bps() -> u16 {
    MarketParams::default().selection_weight_cap_bps
}
fn default_governed_labels() -> Vec<Label> {
    MarketParams::default().governed_labels
}
fn default_protocol_fee_bps() -> u16 {
    MarketParams::default().protocol_fee_bps
}
fn default_trust_payment_min() -> Amount {
    MarketParams::default().trust_payment_min
}
fn default_slots_change_interval_blocks() -> u64 {
    MarketParams::default().slots_change_interval_blocks
}
fn default_program_bytes_max() -> u64 {
    MarketParams::default().program_bytes_max
}
fn default_input_bytes_max() -> u64 {
    MarketParams::default().input_bytes_max
}
fn default_fuel_per_second_min() -> u64 {
    MarketParams::default().fuel_per_second_min
}
fn default_task_seconds_max() -> u64 {
    MarketParams::default().task_seconds_max
}
fn default_commit_margin_ms() -> u64 {
    MarketParams::default().commit_margin_ms
}
fn default_cannot_run_fuel() -> u64 {
    MarketParams::default().cannot_run_fuel
}
fn default_queued_tasks_max() -> u64 {
    MarketParams::default().queued_tasks_max
}
fn default_settled_retention_blocks() -> u64 {
    MarketParams::default().settled_retention_blocks
}
fn default_prune_records_per_block_max() -> u32 {
    MarketParams::default().prune_records_per_block_max
}
fn default_reveal_window_ms_min() -> u64 {
    MarketParams::default().reveal_window_ms_min
}

impl MarketParams {
    /// Most fuel a task may ask for: what the slowest admitted provider burns in
    /// `task_seconds_max` (and never more than `task_fuel_max`).
    pub fn task_fuel_wall_clock_max(&self) -> u64 {
        self.fuel_per_second_min
            .saturating_mul(self.task_seconds_max)
            .min(self.task_fuel_max)
    }

    /// Block time an assigned replica of a task with `fuel` has to commit, in milliseconds:
    /// the run at the slowest admitted speed plus the margin.
    pub fn commit_window_ms(&self, fuel: u64) -> u64 {
        let run_ms = u128::from(fuel) * 1_000 / u128::from(self.fuel_per_second_min.max(1));
        u64::try_from(run_ms)
            .unwrap_or(u64::MAX)
            .saturating_add(self.commit_margin_ms)
    }
}

/// The labels a new chain governs: GPU models, CPU architectures, regions.
pub fn default_labels() -> Vec<Label> {
    let pairs = [
        ("arch", "x86_64"),
        ("arch", "aarch64"),
        ("gpu", "a100"),
        ("gpu", "h100"),
        ("gpu", "l4"),
        ("region", "eu"),
        ("region", "us"),
        ("region", "asia"),
    ];
    pairs
        .iter()
        .map(|(k, v)| Label {
            key: (*k).into(),
            value: (*v).into(),
        })
        .collect()
}

impl Default for MarketParams {
    fn default() -> Self {
        MarketParams {
            provider_bond_min: Amount::new(1_000_000),
            provider_slots_max: 1_024,
            unbonding_blocks: 100,
            commit_window_blocks: 20,
            reveal_window_blocks: 20,
            job_deadline_blocks_max: 1_000_000,
            task_fuel_max: 1_000_000_000_000,
            task_memory_bytes_max: 4 * 1024 * 1024 * 1024 - 65_536,
            task_expirations_max: 3,
            slash_dissent_bps: 1_000,
            slash_silent_bps: 100,
            price_floor_per_mfuel: Amount::new(1),
            price_target_utilization_bps: 5_000,
            price_step_divisor: 8,
            adaptive_prior_error_ppm: 200_000,
            selection_weight_cap_bps: 1_000,
            governed_labels: default_labels(),
            engine_classes: Vec::new(),
            protocol_fee_bps: 500,
            trust_payment_min: Amount::new(1_000),
            slots_change_interval_blocks: 100,
            program_bytes_max: 32 * 1024 * 1024,
            input_bytes_max: 64 * 1024 * 1024,
            fuel_per_second_min: 100_000_000,
            task_seconds_max: 240,
            commit_margin_ms: 10_000,
            reveal_window_ms_min: 10_000,
            cannot_run_fuel: 10_000_000,
            queued_tasks_max: 1_000_000,
            settled_retention_blocks: 100_000,
            prune_records_per_block_max: 1_024,
        }
    }
}

impl Write for MarketParams {
    fn write(&self, buf: &mut impl BufMut) {
        self.provider_bond_min.write(buf);
        self.provider_slots_max.write(buf);
        self.unbonding_blocks.write(buf);
        self.commit_window_blocks.write(buf);
        self.reveal_window_blocks.write(buf);
        self.job_deadline_blocks_max.write(buf);
        self.task_fuel_max.write(buf);
        self.task_memory_bytes_max.write(buf);
        self.task_expirations_max.write(buf);
        self.slash_dissent_bps.write(buf);
        self.slash_silent_bps.write(buf);
        self.price_floor_per_mfuel.write(buf);
        self.price_target_utilization_bps.write(buf);
        self.price_step_divisor.write(buf);
        self.adaptive_prior_error_ppm.write(buf);
        self.selection_weight_cap_bps.write(buf);
        self.governed_labels.write(buf);
        self.engine_classes.write(buf);
        self.protocol_fee_bps.write(buf);
        self.trust_payment_min.write(buf);
        self.slots_change_interval_blocks.write(buf);
        self.program_bytes_max.write(buf);
        self.input_bytes_max.write(buf);
        self.fuel_per_second_min.write(buf);
        self.task_seconds_max.write(buf);
        self.commit_margin_ms.write(buf);
        self.reveal_window_ms_min.write(buf);
        self.cannot_run_fuel.write(buf);
        self.queued_tasks_max.write(buf);
        self.settled_retention_blocks.write(buf);
        self.prune_records_per_block_max.write(buf);
    }
}

impl EncodeSize for MarketParams {
    fn encode_size(&self) -> usize {
        16 + 4
            + 8 * 6
            + 1
            + 2 * 2
            + 16
            + 2 * 2
            + 4
            + 2
            + self.governed_labels.encode_size()
            + self.engine_classes.encode_size()
            + 2
            + 16
            + 8
            + 8 * 7
            + 8 * 2
            + 4
    }
}

impl Read for MarketParams {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(MarketParams {
            provider_bond_min: Amount::read(buf)?,
            provider_slots_max: u32::read(buf)?,
            unbonding_blocks: u64::read(buf)?,
            commit_window_blocks: u64::read(buf)?,
            reveal_window_blocks: u64::read(buf)?,
            job_deadline_blocks_max: u64::read(buf)?,
            task_fuel_max: u64::read(buf)?,
            task_memory_bytes_max: u64::read(buf)?,
            task_expirations_max: u8::read(buf)?,
            slash_dissent_bps: u16::read(buf)?,
            slash_silent_bps: u16::read(buf)?,
            price_floor_per_mfuel: Amount::read(buf)?,
            price_target_utilization_bps: u16::read(buf)?,
            price_step_divisor: u16::read(buf)?,
            adaptive_prior_error_ppm: u32::read(buf)?,
            selection_weight_cap_bps: u16::read(buf)?,
            governed_labels: Vec::<Label>::read_cfg(
                buf,
                &(RangeCfg::new(0..=GOVERNED_LABELS_MAX), ()),
            )?,
            engine_classes: Vec::<Hash32>::read_cfg(
                buf,
                &(RangeCfg::new(0..=ENGINE_CLASSES_MAX), ()),
            )?,
            protocol_fee_bps: u16::read(buf)?,
            trust_payment_min: Amount::read(buf)?,
            slots_change_interval_blocks: u64::read(buf)?,
            program_bytes_max: u64::read(buf)?,
            input_bytes_max: u64::read(buf)?,
            fuel_per_second_min: u64::read(buf)?,
            task_seconds_max: u64::read(buf)?,
            commit_margin_ms: u64::read(buf)?,
            reveal_window_ms_min: u64::read(buf)?,
            cannot_run_fuel: u64::read(buf)?,
            queued_tasks_max: u64::read(buf)?,
            settled_retention_blocks: u64::read(buf)?,
            prune_records_per_block_max: u32::read(buf)?,
        })
    }
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams {
            min_fee: Amount::new(1_000),
            fee_per_byte: Amount::new(1),
            fee_per_write: Amount::new(10),
            fee_burn_bps: 1_000,
            block_txs_max: 20_000,
            tx_bytes_max: 65_536,
            expiry_blocks_max: 100_000,
            market: MarketParams::default(),
            staking: StakingParams::default(),
            storage: StorageParams::default(),
            rewards: RewardParams::default(),
            governance: GovernanceParams::default(),
            faucet: FaucetParams::default(),
            evm: EvmParams::default(),
        }
    }
}

impl Write for ChainParams {
    fn write(&self, buf: &mut impl BufMut) {
        self.min_fee.write(buf);
        self.fee_per_byte.write(buf);
        self.fee_per_write.write(buf);
        self.fee_burn_bps.write(buf);
        self.block_txs_max.write(buf);
        self.tx_bytes_max.write(buf);
        self.expiry_blocks_max.write(buf);
        self.market.write(buf);
        self.staking.write(buf);
        self.storage.write(buf);
        self.rewards.write(buf);
        self.governance.write(buf);
        self.faucet.write(buf);
        self.evm.write(buf);
    }
}

impl EncodeSize for ChainParams {
    fn encode_size(&self) -> usize {
        16 + 16
            + 16
            + 2
            + 4
            + 4
            + 8
            + self.market.encode_size()
            + self.staking.encode_size()
            + self.storage.encode_size()
            + self.rewards.encode_size()
            + self.governance.encode_size()
            + self.faucet.encode_size()
            + self.evm.encode_size()
    }
}

impl Read for ChainParams {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(ChainParams {
            min_fee: Amount::read(buf)?,
            fee_per_byte: Amount::read(buf)?,
            fee_per_write: Amount::read(buf)?,
            fee_burn_bps: u16::read(buf)?,
            block_txs_max: u32::read(buf)?,
            tx_bytes_max: u32::read(buf)?,
            expiry_blocks_max: u64::read(buf)?,
            market: MarketParams::read(buf)?,
            staking: StakingParams::read(buf)?,
            storage: StorageParams::read(buf)?,
            rewards: RewardParams::read(buf)?,
            governance: GovernanceParams::read(buf)?,
            faucet: FaucetParams::read(buf)?,
            evm: EvmParams::read(buf)?,
        })
    }
}

/// An opening balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    pub address: Address,
    pub balance: Amount,
}

/// A validator known at genesis: its consensus key (as an address) and where peers reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisValidator {
    pub name: String,
    pub address: Address,
    /// `host:port` of its p2p listener.
    pub p2p_address: String,
    /// Bonded at genesis (minted into the total supply, not taken from a balance). Zero, the
    /// default, keeps genesis files written before staking loading: such a validator is in the
    /// epoch-0 set but is not eligible afterwards until it bonds at least
    /// `validator_self_bond_min`. A non-zero self bond must be at least that minimum.
    #[serde(default)]
    pub self_bond: Amount,
    /// The BLS key its blocks' seed proofs verify under ([`crate::seed`]); `yun` derives it
    /// from the validator's node key. Required: a validator without one could not propose, so
    /// a file written before seeds loads (as the all-zero key) but the chain refuses to start.
    #[serde(default)]
    pub seed_key: SeedKey,
}

/// The whole starting point of a chain, stored as `genesis.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub chain_id: String,
    pub genesis_time_ms: u64,
    pub accounts: Vec<GenesisAccount>,
    pub validators: Vec<GenesisValidator>,
    pub params: ChainParams,
    /// The first `dev_accounts` entries of `accounts` are the public dev accounts `dev0…`,
    /// whose mnemonics anyone can derive (`yun devnet` and `yun localnet` write them): a client
    /// may sign as `devN` on such a chain, and only there. Zero, and omitted, on real chains,
    /// so genesis files (and their hashes) from before the field are unchanged.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dev_accounts: u32,
    /// Opening EVM balances (the devnet's secp256k1 test accounts); omitted when empty, so
    /// genesis files from before the EVM keep their hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evm_accounts: Vec<GenesisEvmAccount>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Genesis {
    /// blake3 of the canonical JSON; peers compare it before talking.
    pub fn hash(&self) -> Hash32 {
        Hash32::digest(&serde_json::to_vec(self).expect("genesis serializes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};

    /// A genesis file written before staking: no `self_bond`, no `params.staking`.
    const PRE_STAKING: &str = r#"{
        "chain_id": "yun-devnet",
        "genesis_time_ms": 1,
        "accounts": [],
        "validators": [{
            "name": "validator0",
            "address": "yun1rgg0xjq9cmq5up6dkp5ahlw6had2a2480vv6xh9emsjdxsuhkyfshs0609",
            "p2p_address": "127.0.0.1:9000"
        }],
        "params": {
            "min_fee": "1000",
            "fee_burn_bps": 1000,
            "block_txs_max": 20000,
            "tx_bytes_max": 65536,
            "expiry_blocks_max": 100000
        }
    }"#;

    #[test]
    fn genesis_files_without_staking_still_load_with_defaults() {
        let g: Genesis = serde_json::from_str(PRE_STAKING).unwrap();
        assert_eq!(g.validators[0].self_bond, Amount::ZERO);
        assert!(
            !g.validators[0].seed_key.is_valid(),
            "no key: genesis refuses it"
        );
        assert_eq!(g.params.staking, StakingParams::default());
        assert_eq!(g.params.staking.epoch_blocks, 100);
        assert_eq!(g.params.staking.active_validators_max, 21);
        assert_eq!(g.params.staking.slash_equivocation_bps, 500);
    }

    #[test]
    fn chain_params_round_trip_with_staking() {
        let mut p = ChainParams::default();
        p.staking.epoch_blocks = 7;
        p.staking.jail_blocks = 9;
        let bytes = p.encode();
        assert_eq!(bytes.len(), p.encode_size());
        assert_eq!(ChainParams::decode(bytes).unwrap(), p);
    }

    #[test]
    fn admitted_engine_classes_round_trip_and_are_bounded() {
        let mut p = ChainParams::default();
        assert!(
            p.market.engine_classes.is_empty(),
            "a genesis writer fills it"
        );
        p.market.engine_classes = vec![Hash32::digest(b"class 1"), Hash32::digest(b"class 2")];
        let bytes = p.encode();
        assert_eq!(bytes.len(), p.encode_size());
        assert_eq!(ChainParams::decode(bytes).unwrap(), p);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json["market"]["engine_classes"][1],
            Hash32::digest(b"class 2").to_string()
        );
        p.market.engine_classes = vec![Hash32::digest(b"a class"); ENGINE_CLASSES_MAX + 1];
        assert!(
            ChainParams::decode(p.encode()).is_err(),
            "too many to decode"
        );
    }

    #[test]
    fn genesis_files_without_engine_classes_load_with_none_admitted() {
        let g: Genesis = serde_json::from_str(PRE_STAKING).unwrap();
        assert!(g.params.market.engine_classes.is_empty());
    }
}
