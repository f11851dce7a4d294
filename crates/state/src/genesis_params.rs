//! The range every chain parameter of a genesis must lie in, and the cross-checks between
//! them, so no chain starts with a parameter that would stop, panic or cheat its own rules.
//!
//! Each refusal is `GenesisError::Param`, naming the field and the range it must lie in.

use crate::genesis_error::GenesisError;
use crate::staking::EVIDENCE_EPOCHS_KEPT;
use std::collections::BTreeSet;
use yun_types::{
    Amount, ChainParams, FaucetParams, GovernanceParams, MarketParams, StakingParams, StorageParams,
};

/// Refuses `field` unless `ok`, saying what range it must lie in.
fn require(ok: bool, field: &'static str, allowed: impl Into<String>) -> Result<(), GenesisError> {
    if ok {
        Ok(())
    } else {
        Err(GenesisError::Param {
            field,
            allowed: allowed.into(),
        })
    }
}

/// A share in basis points: at most the whole.
fn bps(field: &'static str, value: u16) -> Result<(), GenesisError> {
    require(value <= 10_000, field, "0..=10,000 basis points")
}

/// A count, window or limit that at zero would stop what it counts.
fn at_least_one(field: &'static str, value: u64) -> Result<(), GenesisError> {
    require(value >= 1, field, "at least 1")
}

/// Every parameter of `p` in its range, and the parameters that depend on each other agreeing.
pub(crate) fn check_params(p: &ChainParams) -> Result<(), GenesisError> {
    // `min_fee` may be any amount (a zero fee is a free chain, not a broken one).
    bps("fee_burn_bps", p.fee_burn_bps)?;
    require(
        p.block_txs_max >= 1 && p.block_txs_max as usize <= yun_types::limits::BLOCK_TXS_MAX,
        "block_txs_max",
        format!("1..={}", yun_types::limits::BLOCK_TXS_MAX),
    )?;
    require(
        p.tx_bytes_max >= 256 && p.tx_bytes_max as usize <= yun_types::limits::TX_BYTES_MAX,
        "tx_bytes_max",
        format!("256..={} bytes", yun_types::limits::TX_BYTES_MAX),
    )?;
    at_least_one("expiry_blocks_max", p.expiry_blocks_max)?;
    // The schedule must price the largest transaction and its writes without overflow (one
    // that cannot would refuse every large transaction as `FeeTooLow`).
    require(
        yun_types::fee::FeeSchedule::of(p)
            .fee_for(p.tx_bytes_max as usize, u64::from(p.tx_bytes_max))
            .is_some(),
        "fee_per_byte / fee_per_write",
        "small enough that min_fee + tx_bytes_max x (fee_per_byte + fee_per_write) fits in an amount",
    )?;
    check_market_params(&p.market)?;
    check_storage_params(&p.storage)?;
    check_staking_params(&p.staking)?;
    check_reward_params(p)?;
    check_governance_params(&p.governance)?;
    check_faucet_params(&p.faucet)?;
    check_evm_params(&p.evm)
}

/// Most gas one block's Ethereum transactions may use: bounds a block's EVM execution time
/// (revm runs some tens of millions of gas a second on one core).
pub const EVM_BLOCK_GAS_LIMIT_MAX: u64 = 1_000_000_000;

/// The EVM: a chain id (EIP-155 needs one), gas that is never free (so a loop always costs
/// its sender), and a transaction gas ceiling between a plain transfer's 21,000 and the block's.
fn check_evm_params(e: &yun_types::evm::EvmParams) -> Result<(), GenesisError> {
    at_least_one("evm.chain_id", e.chain_id)?;
    at_least_one("evm.base_fee_per_gas", e.base_fee_per_gas)?;
    require(
        (21_000..=EVM_BLOCK_GAS_LIMIT_MAX).contains(&e.block_gas_limit),
        "evm.block_gas_limit",
        format!("21000..={EVM_BLOCK_GAS_LIMIT_MAX}"),
    )?;
    require(
        (21_000..=e.block_gas_limit).contains(&e.tx_gas_max),
        "evm.tx_gas_max",
        "21000..=evm.block_gas_limit",
    )?;
    // A receipt must outlive the wallet polling for it: at least a few minutes of blocks.
    require(
        e.receipt_retention_blocks >= EVM_RECEIPT_RETENTION_BLOCKS_MIN,
        "evm.receipt_retention_blocks",
        format!("at least {EVM_RECEIPT_RETENTION_BLOCKS_MIN}"),
    )?;
    // Callbacks run at the end of a block outside the block's gas limit, at most
    // `CALLBACKS_PER_BLOCK_MAX` a block: this bounds the work they add.
    require(
        e.callback_gas_max <= e.tx_gas_max,
        "evm.callback_gas_max",
        "0..=evm.tx_gas_max",
    )
}

/// Fewest blocks an Ethereum receipt may be kept (see `check_evm_params`).
pub const EVM_RECEIPT_RETENTION_BLOCKS_MIN: u64 = 256;

/// Rewards: shares of at most the whole that together leave the validators theirs, an
/// issuance the cap can hold, a downtime threshold no omitting proposer can push an honest
/// validator over, and a compute reward no larger than the protocol fee burned from the same
/// payment (so a provider posting jobs to itself never profits from the pool).
fn check_reward_params(p: &ChainParams) -> Result<(), GenesisError> {
    let r = &p.rewards;
    for (field, value) in [
        ("rewards.treasury_bps", r.treasury_bps),
        ("rewards.provider_bps", r.provider_bps),
        ("rewards.commission_max_bps", r.commission_max_bps),
        (
            "rewards.commission_raise_max_bps",
            r.commission_raise_max_bps,
        ),
        ("rewards.slash_downtime_bps", r.slash_downtime_bps),
    ] {
        bps(field, value)?;
    }
    require(
        u32::from(r.treasury_bps) + u32::from(r.provider_bps) <= 10_000,
        "rewards.provider_bps",
        format!(
            "0..={} basis points (rewards.treasury_bps + rewards.provider_bps at most 10,000)",
            10_000u16.saturating_sub(r.treasury_bps)
        ),
    )?;
    require(
        r.issuance_per_block.is_zero() || r.issuance_max_total >= r.issuance_per_block,
        "rewards.issuance_max_total",
        format!(
            "at least rewards.issuance_per_block ({}) when blocks issue anything",
            r.issuance_per_block
        ),
    )?;
    // A certificate needs only a quorum (two thirds), so the records of a proposer that uses
    // only what finalized first could leave an honest validator out; the threshold stays well
    // above a third, and a few records never judge anyone.
    require(
        (6_667..=10_000).contains(&r.downtime_missed_max_bps),
        "rewards.downtime_missed_max_bps",
        "6,667..=10,000 basis points (above the third of signer sets a quorum can leave a validator out of)",
    )?;
    require(
        r.downtime_records_min >= yun_types::rewards::DOWNTIME_RECORDS_MIN_FLOOR,
        "rewards.downtime_records_min",
        format!(
            "at least {} (fewer records cannot tell a silent validator from an unlucky one)",
            yun_types::rewards::DOWNTIME_RECORDS_MIN_FLOOR
        ),
    )?;
    require(
        r.compute_reward_payment_max_bps <= p.market.protocol_fee_bps,
        "rewards.compute_reward_payment_max_bps",
        format!(
            "0..={} basis points (at most market.protocol_fee_bps, so self-dealing never profits)",
            p.market.protocol_fee_bps
        ),
    )
}

/// Governance: a voting period, a deposit that costs something (spam is bounded by it and by
/// `open_proposals_max`), shares of at most the whole, a threshold of at least half (two
/// contradictory proposals cannot both pass by the same votes), a veto that takes some share
/// (zero would let one veto vote burn any deposit), a lock scale and an apply window.
fn check_governance_params(g: &GovernanceParams) -> Result<(), GenesisError> {
    at_least_one("governance.voting_period_blocks", g.voting_period_blocks)?;
    require(
        g.deposit_min > Amount::ZERO,
        "governance.deposit_min",
        "at least 1 base unit",
    )?;
    bps("governance.quorum_bps", g.quorum_bps)?;
    require(
        (5_000..=10_000).contains(&g.threshold_bps),
        "governance.threshold_bps",
        "5,000..=10,000 basis points (at least half)",
    )?;
    require(
        (1..=10_000).contains(&g.veto_bps),
        "governance.veto_bps",
        "1..=10,000 basis points",
    )?;
    at_least_one("governance.lock_blocks_max", g.lock_blocks_max)?;
    at_least_one(
        "governance.apply_delay_blocks_max",
        g.apply_delay_blocks_max,
    )?;
    require(
        (1..=256).contains(&g.open_proposals_max),
        "governance.open_proposals_max",
        "1..=256 (each open proposal is tallied by a scan)",
    )
}

/// The faucet, when enabled: it pays something, and its puzzle takes work.
fn check_faucet_params(f: &FaucetParams) -> Result<(), GenesisError> {
    if !f.enabled {
        return Ok(());
    }
    require(
        f.amount > Amount::ZERO,
        "faucet.amount",
        "at least 1 base unit when the faucet is enabled",
    )?;
    at_least_one("faucet.work_hashes", f.work_hashes)
}

/// Staking: an epoch longer than its first block, a non-empty set, bonds that cost
/// something, a slash of at most everything, a jail, and an unbonding that outlasts the
/// evidence window (an equivocator's delegators cannot undelegate and leave before the
/// evidence against it may still be reported).
fn check_staking_params(s: &StakingParams) -> Result<(), GenesisError> {
    // Consensus needs an epoch to hold more than its first block (genesis is epoch 0's).
    require(
        s.epoch_blocks >= 2,
        "staking.epoch_blocks",
        "at least 2 blocks",
    )?;
    at_least_one(
        "staking.active_validators_max",
        u64::from(s.active_validators_max),
    )?;
    require(
        s.validator_self_bond_min > Amount::ZERO,
        "staking.validator_self_bond_min",
        "at least 1 base unit",
    )?;
    require(
        s.delegation_min > Amount::ZERO,
        "staking.delegation_min",
        "at least 1 base unit",
    )?;
    bps("staking.slash_equivocation_bps", s.slash_equivocation_bps)?;
    at_least_one("staking.jail_blocks", s.jail_blocks)?;
    let window = s.epoch_blocks.checked_mul(EVIDENCE_EPOCHS_KEPT);
    require(
        window.is_some(),
        "staking.epoch_blocks",
        format!("at most {} blocks", u64::MAX / EVIDENCE_EPOCHS_KEPT),
    )?;
    let window = window.unwrap_or(u64::MAX);
    require(
        s.unbonding_blocks >= window,
        "staking.unbonding_blocks",
        format!(
            "at least {window} blocks (the evidence window: {EVIDENCE_EPOCHS_KEPT} epochs of staking.epoch_blocks = {}), so an equivocation reported late still finds the stake that voted",
            s.epoch_blocks
        ),
    )
}

/// The market: shares of at most the whole, limits above zero (the job limits say so in
/// their own words, `ZeroMarketLimit`), governed labels and engine classes that make sense,
/// price floors a multiplicative index can climb from, and a bond that outlives a replica's
/// commit-and-reveal path.
fn check_market_params(m: &MarketParams) -> Result<(), GenesisError> {
    use yun_types::market::LABEL_BYTES_MAX;
    // What `check_runnable` compares a job against: at zero it refuses every job, and a zero
    // `fuel_per_second_min` would also make every commit window a division by zero's guess.
    for (name, limit) in [
        ("market.fuel_per_second_min", m.fuel_per_second_min),
        ("market.task_seconds_max", m.task_seconds_max),
        ("market.task_fuel_max", m.task_fuel_max),
        ("market.program_bytes_max", m.program_bytes_max),
    ] {
        if limit == 0 {
            return Err(GenesisError::ZeroMarketLimit(name));
        }
    }
    require(
        m.provider_bond_min > Amount::ZERO,
        "market.provider_bond_min",
        "at least 1 base unit (a slash must take something)",
    )?;
    at_least_one("market.provider_slots_max", u64::from(m.provider_slots_max))?;
    at_least_one("market.commit_window_blocks", m.commit_window_blocks)?;
    at_least_one("market.reveal_window_blocks", m.reveal_window_blocks)?;
    at_least_one("market.job_deadline_blocks_max", m.job_deadline_blocks_max)?;
    at_least_one("market.task_memory_bytes_max", m.task_memory_bytes_max)?;
    // At zero no job could be queued, settled jobs would be pruned in the block they settle
    // (before anyone read their outcome), or never.
    at_least_one("market.queued_tasks_max", m.queued_tasks_max)?;
    at_least_one(
        "market.settled_retention_blocks",
        m.settled_retention_blocks,
    )?;
    at_least_one(
        "market.prune_records_per_block_max",
        u64::from(m.prune_records_per_block_max),
    )?;
    bps("market.slash_dissent_bps", m.slash_dissent_bps)?;
    bps("market.slash_silent_bps", m.slash_silent_bps)?;
    bps("market.protocol_fee_bps", m.protocol_fee_bps)?;
    require(
        (1..=10_000).contains(&m.selection_weight_cap_bps),
        "market.selection_weight_cap_bps",
        "1..=10,000 basis points",
    )?;
    require(
        (1..=10_000).contains(&m.price_target_utilization_bps),
        "market.price_target_utilization_bps",
        "1..=10,000 basis points",
    )?;
    at_least_one("market.price_step_divisor", u64::from(m.price_step_divisor))?;
    // The index moves by a fraction of itself: from zero it could never rise again.
    require(
        m.price_floor_per_mfuel > Amount::ZERO,
        "market.price_floor_per_mfuel",
        "at least 1 base unit",
    )?;
    // A prior of zero would trust a provider with no history to run jobs alone.
    require(
        (1..=1_000_000).contains(&m.adaptive_prior_error_ppm),
        "market.adaptive_prior_error_ppm",
        "1..=1,000,000 parts per million",
    )?;
    // `ExitProvider` waits for every replica in flight, and the bond then stays for one whole
    // commit-and-reveal path more, so a slash for silence or a withheld reveal decided in the
    // blocks around the exit still finds it.
    let path = m
        .commit_window_blocks
        .saturating_add(m.reveal_window_blocks);
    require(
        m.unbonding_blocks >= path,
        "market.unbonding_blocks",
        format!(
            "at least {path} blocks (market.commit_window_blocks + market.reveal_window_blocks)"
        ),
    )?;
    let mut seen = BTreeSet::new();
    let labels_ok = m.governed_labels.len() <= yun_types::GOVERNED_LABELS_MAX
        && m.governed_labels.iter().all(|l| {
            let ok = |t: &str| !t.is_empty() && t.len() <= LABEL_BYTES_MAX;
            ok(&l.key.0) && ok(&l.value.0) && seen.insert(l.clone())
        });
    require(
        labels_ok,
        "market.governed_labels",
        format!(
            "at most {} distinct labels, each key and value 1..={LABEL_BYTES_MAX} bytes",
            yun_types::GOVERNED_LABELS_MAX
        ),
    )?;
    check_engine_classes(&m.engine_classes)
}

/// Storage: an epoch of at least two blocks, a proof window that closes inside its epoch
/// (windows would overlap otherwise), an epoch to fetch in, replacement after the first miss
/// at the earliest, a slash of at most the whole bond, deals matched, a price floor the
/// index can climb from, and a proven period that pays at least the fee that proves it.
fn check_storage_params(s: &StorageParams) -> Result<(), GenesisError> {
    require(
        s.epoch_blocks >= 2,
        "storage.epoch_blocks",
        "at least 2 blocks (the proof window must close inside its epoch)",
    )?;
    require(
        s.proof_window_blocks >= 1 && s.proof_window_blocks < s.epoch_blocks,
        "storage.proof_window_blocks",
        format!(
            "1..{} blocks (below storage.epoch_blocks, so one epoch's window closes before the next opens)",
            s.epoch_blocks
        ),
    )?;
    at_least_one("storage.fetch_epochs_max", u64::from(s.fetch_epochs_max))?;
    at_least_one("storage.misses_to_replace", u64::from(s.misses_to_replace))?;
    require(
        s.miss_slash_ppm <= 1_000_000,
        "storage.miss_slash_ppm",
        "0..=1,000,000 parts per million (the whole bond)",
    )?;
    at_least_one(
        "storage.deals_matched_per_block_max",
        u64::from(s.deals_matched_per_block_max),
    )?;
    require(
        s.price_floor_per_mib_epoch > Amount::ZERO,
        "storage.price_floor_per_mib_epoch",
        "at least 1 base unit",
    )?;
    // A proven period must pay something. (It once had to cover `min_fee`, so a proof sent
    // alone paid for its transaction; successful proofs now pay no fee, see `exec`.)
    require(
        s.replica_epoch_pay_min > Amount::ZERO,
        "storage.replica_epoch_pay_min",
        "at least 1 base unit",
    )
}

/// The admitted engine classes: at least one (else no provider could register), at most
/// `ENGINE_CLASSES_MAX`, none zero (the hash of no class) and none twice.
fn check_engine_classes(classes: &[yun_types::Hash32]) -> Result<(), GenesisError> {
    if classes.is_empty() {
        return Err(GenesisError::NoEngineClasses);
    }
    let mut seen = BTreeSet::new();
    let ok = classes.len() <= yun_types::ENGINE_CLASSES_MAX
        && classes
            .iter()
            .all(|c| *c != yun_types::Hash32::ZERO && seen.insert(*c));
    require(
        ok,
        "market.engine_classes",
        format!(
            "1..={} distinct classes, none zero",
            yun_types::ENGINE_CLASSES_MAX
        ),
    )
}
