//! Block rewards and downtime: what each block issues and who earns it (the treasury,
//! validators with their commission, delegators by compounding, providers for verified
//! work), and the signer records that jail a silent validator.
//!
//! Money: issued units are promised when a block issues them and minted (only through
//! `bank::mint` and `bank::mint_to_treasury`) when paid, so the supply check stays
//! `holdings = genesis + minted`, and the rewards record accounts for every issued unit
//! (`records::RewardsRecord`). Rounding dust always goes to the treasury.
//!
//! The parts: `records` (what is stored), `issuance` (the schedule, the treasury's and the
//! validators' shares, commission), `delegators` (compounding at an epoch's end),
//! `providers` (the pool verified compute draws from), `commission` (`SetCommission`) and
//! `downtime` (signer records, jailing). Staking's end-of-block step calls
//! [`distribute_issuance`] and [`close_epoch`]; `exec` calls [`issue_block`] and
//! [`begin_block`].

pub mod commission;
pub mod delegators;
pub mod downtime;
pub mod issuance;
pub mod providers;
pub mod records;

pub use downtime::{SignersError, check_signers, over_threshold};
pub use issuance::{Issued, distribute_issuance, issuance_of_block, issue_block};
pub use providers::reward_verified_compute;
pub use records::{Liveness, RewardsRecord};

use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use crate::staking::epoch_of_height;
use yun_types::{Address, ChainParams};

/// Before the block's transactions: checks and counts its signer record. On `Err` nothing was
/// written and the block is invalid.
pub fn begin_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) -> Result<(), SignersError> {
    check_signers(state, env, params)?;
    if let Some(record) = &env.signers {
        downtime::record_signers(state, env, params, record);
    }
    Ok(())
}

/// The end of an epoch's last block, before the next set is chosen: delegators' rewards are
/// compounded, then the silent are jailed.
pub fn close_epoch<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    let epoch = epoch_of_height(&params.staking, env.height);
    delegators::compound_all(state, epoch);
    downtime::jail_the_silent(state, env, params);
}

/// The chain-wide rewards record.
pub fn record<R: StateReader + ?Sized>(reader: &R) -> RewardsRecord {
    Overlay::new(reader).rewards_record()
}

/// A validator's liveness record (zeros if none was counted yet).
pub fn liveness<R: StateReader + ?Sized>(reader: &R, validator: &Address) -> Liveness {
    Overlay::new(reader).liveness(validator)
}
