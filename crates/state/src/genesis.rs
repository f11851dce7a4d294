//! Turning a genesis file into the first state.
//!
//! Genesis validators may bond nothing (`self_bond` 0, the default, so files written before
//! staking still load) or at least `validator_self_bond_min`. Either way they form epoch 0's
//! active set; from epoch 1 on only validators with at least the minimum self bond are
//! eligible (if none is, the set carries over).

use crate::bank;
use crate::overlay::{MemState, Overlay, StateWrites};
use crate::randomness;
use crate::staking::{
    ActiveSet, ActiveValidator, Validator, ValidatorStatus, check_p2p_address, sort_by_stake,
};
use crate::supply::Supply;
use std::collections::BTreeSet;
use yun_types::limits::{CHAIN_ID_BYTES_MAX, NAME_BYTES_MAX};
use yun_types::{Amount, Genesis};

/// A genesis file that cannot start a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    #[error("chain id must be 1..={CHAIN_ID_BYTES_MAX} bytes")]
    ChainId,
    #[error("account {0} appears twice")]
    DuplicateAccount(String),
    #[error("validator {0} appears twice")]
    DuplicateValidator(String),
    #[error("at least one validator is required")]
    NoValidators,
    #[error("validator name longer than {NAME_BYTES_MAX} bytes")]
    NameTooLong,
    #[error("total supply overflows")]
    Overflow,
    #[error("parameter {0} is out of range")]
    BadParam(&'static str),
    #[error(
        "market.engine_classes is empty, so no provider could ever register: list the engine class of every build the chain admits (`yun devnet` and `yun localnet` write this binary's; a devnet from before engine classes were admitted: start over with `yun devnet --reset`)"
    )]
    NoEngineClasses,
    #[error(
        "parameter {0} must be above zero: a job must fit within its limits at posting (fuel ≤ market.fuel_per_second_min × market.task_seconds_max and ≤ market.task_fuel_max, program ≤ market.program_bytes_max), and at zero the market could never take one"
    )]
    ZeroMarketLimit(&'static str),
    #[error("parameter storage.{0} is out of range: {1}")]
    StorageParam(&'static str, &'static str),
    #[error("{count} genesis validators but at most {max} may be active")]
    TooManyValidators { count: usize, max: u32 },
    #[error("validator {0}: p2p address is not host:port")]
    P2pAddress(String),
    #[error("validator {0}: a non-zero self bond must be at least validator_self_bond_min")]
    SelfBond(String),
    #[error(
        "validator {0}: its seed_key is not a BLS12-381 public key (a genesis from before block randomness: start over with `yun devnet --reset`, or write the genesis again with `yun`, which derives the key from the validator's node key)"
    )]
    SeedKey(String),
}

/// Validates `genesis` and returns the writes that form the state at height 0.
pub fn genesis_writes(genesis: &Genesis) -> Result<StateWrites, GenesisError> {
    check_genesis(genesis)?;
    let empty = MemState::default();
    let mut state = Overlay::new(&empty);
    let mut seen = BTreeSet::new();
    let mut total = Amount::ZERO;
    for a in &genesis.accounts {
        if !seen.insert(a.address) {
            return Err(GenesisError::DuplicateAccount(a.address.to_string()));
        }
        total = total
            .checked_add(a.balance)
            .map_err(|_| GenesisError::Overflow)?;
        bank::open_account(&mut state, &a.address, a.balance);
    }
    // Genesis validators: self bonds are minted into the supply; together they are epoch 0's
    // active set, in the canonical order (stake high to low, then address bytes), whatever
    // order the file lists them in.
    let mut active = Vec::with_capacity(genesis.validators.len());
    for v in &genesis.validators {
        total = total
            .checked_add(v.self_bond)
            .map_err(|_| GenesisError::Overflow)?;
        state.set_validator(&Validator {
            address: v.address,
            p2p_address: v.p2p_address.clone(),
            self_bond: v.self_bond,
            delegated: Amount::ZERO,
            status: ValidatorStatus::Active,
            jailed_until_height: 0,
            fees_earned: Amount::ZERO,
            slashed: Amount::ZERO,
            registered_height: 0,
        });
        active.push(ActiveValidator {
            address: v.address,
            stake: v.self_bond,
        });
    }
    sort_by_stake(&mut active);
    state.set_active_set(&ActiveSet {
        epoch: 0,
        validators: active,
    });
    state.set_consensus_set(0, &genesis.validators.iter().map(|v| v.address).collect());
    state.set_params(&genesis.params);
    randomness::write_genesis(
        &mut state,
        &genesis.chain_id,
        genesis.genesis_time_ms,
        genesis.validators.iter().map(|v| (v.address, v.seed_key)),
    );
    state.set_supply(&Supply {
        total,
        burned: Amount::ZERO,
    });
    Ok(state.into_writes())
}

/// The market parameters that make no sense: shares above 100 %, a selection cap of 0,
/// governed labels that are empty, too long, too many or listed twice, and admitted engine
/// classes that are none, too many, zero or listed twice.
fn check_market_params(m: &yun_types::MarketParams) -> Result<(), GenesisError> {
    use yun_types::market::LABEL_BYTES_MAX;
    if m.protocol_fee_bps > 10_000 {
        return Err(GenesisError::BadParam("market.protocol_fee_bps"));
    }
    if m.selection_weight_cap_bps == 0 || m.selection_weight_cap_bps > 10_000 {
        return Err(GenesisError::BadParam("market.selection_weight_cap_bps"));
    }
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
    let mut seen = BTreeSet::new();
    let labels_ok = m.governed_labels.len() <= yun_types::GOVERNED_LABELS_MAX
        && m.governed_labels.iter().all(|l| {
            let ok = |t: &str| !t.is_empty() && t.len() <= LABEL_BYTES_MAX;
            ok(&l.key.0) && ok(&l.value.0) && seen.insert(l.clone())
        });
    if !labels_ok {
        return Err(GenesisError::BadParam("market.governed_labels"));
    }
    check_engine_classes(&m.engine_classes)?;
    check_queue_and_pruning(m)?;
    for (name, bps) in [
        ("market.slash_dissent_bps", m.slash_dissent_bps),
        ("market.slash_silent_bps", m.slash_silent_bps),
    ] {
        if bps > 10_000 {
            return Err(GenesisError::BadParam(name));
        }
    }
    Ok(())
}

/// The queue limit and pruning: at zero no job could be queued, settled jobs would be pruned
/// in the block they settle (before anyone read their outcome), or never.
fn check_queue_and_pruning(m: &yun_types::MarketParams) -> Result<(), GenesisError> {
    for (name, value) in [
        ("market.queued_tasks_max", m.queued_tasks_max),
        (
            "market.settled_retention_blocks",
            m.settled_retention_blocks,
        ),
        (
            "market.prune_records_per_block_max",
            u64::from(m.prune_records_per_block_max),
        ),
    ] {
        if value == 0 {
            return Err(GenesisError::BadParam(name));
        }
    }
    Ok(())
}

/// The fee schedule must price the largest transaction and its writes without overflow (a
/// schedule that cannot would refuse every large transaction as `FeeTooLow`).
fn check_fee_schedule(p: &yun_types::ChainParams) -> Result<(), GenesisError> {
    let schedule = yun_types::fee::FeeSchedule::of(p);
    let writes_max = u64::from(p.tx_bytes_max);
    if schedule
        .fee_for(p.tx_bytes_max as usize, writes_max)
        .is_none()
    {
        return Err(GenesisError::BadParam("fee_per_byte / fee_per_write"));
    }
    Ok(())
}

/// The storage parameters that would stop deals or break their arithmetic: an epoch of no
/// blocks, a proof window of none or longer than an epoch (windows would overlap), no epoch
/// to fetch in, replacement before the first miss, a slash above the whole bond, no deal
/// matched per block.
fn check_storage_params(s: &yun_types::StorageParams) -> Result<(), GenesisError> {
    use GenesisError::StorageParam;
    if s.epoch_blocks == 0 {
        return Err(StorageParam(
            "epoch_blocks",
            "an epoch needs at least one block",
        ));
    }
    if s.proof_window_blocks == 0 || s.proof_window_blocks > s.epoch_blocks {
        return Err(StorageParam(
            "proof_window_blocks",
            "must be 1..=epoch_blocks, so one epoch's window closes before the next opens",
        ));
    }
    if s.fetch_epochs_max == 0 {
        return Err(StorageParam(
            "fetch_epochs_max",
            "a new replica needs at least one epoch to fetch",
        ));
    }
    if s.misses_to_replace == 0 {
        return Err(StorageParam(
            "misses_to_replace",
            "a replica is replaced after at least one miss",
        ));
    }
    if s.miss_slash_ppm > 1_000_000 {
        return Err(StorageParam(
            "miss_slash_ppm",
            "at most 1,000,000 (the whole bond)",
        ));
    }
    if s.deals_matched_per_block_max == 0 {
        return Err(StorageParam(
            "deals_matched_per_block_max",
            "at zero no deal would ever be matched",
        ));
    }
    Ok(())
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
    if !ok {
        return Err(GenesisError::BadParam("market.engine_classes"));
    }
    Ok(())
}

/// The rules a genesis must meet before anything is written: a chain id, parameters in range,
/// and a validator list that can form epoch 0's set (the accounts are checked as they are
/// written).
fn check_genesis(genesis: &Genesis) -> Result<(), GenesisError> {
    if genesis.chain_id.is_empty() || genesis.chain_id.len() > CHAIN_ID_BYTES_MAX {
        return Err(GenesisError::ChainId);
    }
    if genesis.validators.is_empty() {
        return Err(GenesisError::NoValidators);
    }
    let p = &genesis.params;
    if p.fee_burn_bps > 10_000 {
        return Err(GenesisError::BadParam("fee_burn_bps"));
    }
    check_fee_schedule(p)?;
    if p.block_txs_max == 0 || p.block_txs_max as usize > yun_types::limits::BLOCK_TXS_MAX {
        return Err(GenesisError::BadParam("block_txs_max"));
    }
    if p.tx_bytes_max < 256 || p.tx_bytes_max as usize > yun_types::limits::TX_BYTES_MAX {
        return Err(GenesisError::BadParam("tx_bytes_max"));
    }
    check_market_params(&p.market)?;
    check_storage_params(&p.storage)?;
    let sp = &p.staking;
    // Consensus needs an epoch to hold more than its first block (genesis is epoch 0's).
    if sp.epoch_blocks < 2 {
        return Err(GenesisError::BadParam("staking.epoch_blocks"));
    }
    if sp.active_validators_max == 0 {
        return Err(GenesisError::BadParam("staking.active_validators_max"));
    }
    if sp.slash_equivocation_bps > 10_000 {
        return Err(GenesisError::BadParam("staking.slash_equivocation_bps"));
    }
    if genesis.validators.len() > sp.active_validators_max as usize {
        return Err(GenesisError::TooManyValidators {
            count: genesis.validators.len(),
            max: sp.active_validators_max,
        });
    }
    let mut seen = BTreeSet::new();
    for v in &genesis.validators {
        if v.name.len() > NAME_BYTES_MAX {
            return Err(GenesisError::NameTooLong);
        }
        if !seen.insert(v.address) {
            return Err(GenesisError::DuplicateValidator(v.address.to_string()));
        }
        if check_p2p_address(&v.p2p_address).is_err() {
            return Err(GenesisError::P2pAddress(v.address.to_string()));
        }
        if !v.self_bond.is_zero() && v.self_bond < sp.validator_self_bond_min {
            return Err(GenesisError::SelfBond(v.address.to_string()));
        }
        if !v.seed_key.is_valid() {
            return Err(GenesisError::SeedKey(v.address.to_string()));
        }
    }
    Ok(())
}
