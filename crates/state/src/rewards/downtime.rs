//! Downtime: the signer records blocks carry are counted per validator, and at an epoch's end
//! a validator of the active set that missed more than `downtime_missed_max_bps` of the
//! records that covered it, counted at least `downtime_records_min` of them, is slashed
//! `slash_downtime_bps` and jailed (staking's slash path).
//!
//! The state checks only the record's shape (a later height than the last recorded one, a
//! consensus set still kept for its epoch, a bitmap exactly that set long); that the bits are
//! the signers of a valid finalization certificate is the node's check before it proposes or
//! votes (see ARCHITECTURE.md, "Signer records").

use super::records::Liveness;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use crate::staking::{epoch_of_height, slash_and_jail};
use yun_types::ChainParams;
use yun_types::signers::SignerRecord;

/// Why a block's signer record is not acceptable (the block is invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignersError {
    #[error(
        "the signer record is for height {height}, not above the last recorded {recorded} and below the block"
    )]
    HeightOutOfOrder { height: u64, recorded: u64 },
    #[error("no consensus set is kept for the epoch of height {0}")]
    SetUnknown(u64),
    #[error("the bitmap is not {0} bits long")]
    WrongLength(usize),
}

/// Checks `env`'s signer record against the state: a height above the last recorded and
/// below this block, in an epoch whose consensus set is kept, a bitmap that fits that set.
pub fn check_signers<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) -> Result<(), SignersError> {
    let Some(record) = &env.signers else {
        return Ok(());
    };
    let recorded = state.rewards_record().signers_recorded_height;
    if record.height <= recorded || record.height >= env.height {
        return Err(SignersError::HeightOutOfOrder {
            height: record.height,
            recorded,
        });
    }
    let set = state.consensus_set(epoch_of_height(&params.staking, record.height));
    if set.is_empty() {
        return Err(SignersError::SetUnknown(record.height));
    }
    if !record.fits(set.len()) {
        return Err(SignersError::WrongLength(set.len()));
    }
    Ok(())
}

/// Counts `record` (already checked) in this epoch's liveness of every member of its set.
pub fn record_signers<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    record: &SignerRecord,
) {
    let set = state.consensus_set(epoch_of_height(&params.staking, record.height));
    let epoch = epoch_of_height(&params.staking, env.height);
    for (i, member) in set.iter().enumerate() {
        let mut l = state.liveness(member).in_epoch(epoch);
        if record.signed(i) {
            l.signed_blocks = l.signed_blocks.saturating_add(1);
        } else {
            l.missed_blocks = l.missed_blocks.saturating_add(1);
            l.missed_blocks_total = l.missed_blocks_total.saturating_add(1);
        }
        state.set_liveness(member, &l);
    }
    let mut rewards = state.rewards_record();
    rewards.signers_recorded_height = record.height;
    state.set_rewards_record(&rewards);
}

/// Whether `missed` of `counted` records is more than the allowed share.
pub fn over_threshold(missed: u64, counted: u64, missed_max_bps: u16) -> bool {
    counted > 0 && u128::from(missed) * 10_000 > u128::from(counted) * u128::from(missed_max_bps)
}

/// At the end of `env`'s epoch: slashes and jails each member of the active set that missed
/// more than the allowed share of the records counted for it this epoch, when at least
/// `downtime_records_min` were counted (and is not jailed already).
pub fn jail_the_silent<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    let epoch = epoch_of_height(&params.staking, env.height);
    for member in state.active_set().validators {
        let l: Liveness = state.liveness(&member.address).in_epoch(epoch);
        let counted = l.signed_blocks.saturating_add(l.missed_blocks);
        // Too few records say nothing: an honest validator may miss a few certificates in a
        // row (each needs only a quorum, and a late starter has no vote in the first blocks).
        if counted < params.rewards.downtime_records_min
            || !over_threshold(
                l.missed_blocks,
                counted,
                params.rewards.downtime_missed_max_bps,
            )
        {
            continue;
        }
        let Some(v) = state.validator(&member.address) else {
            continue;
        };
        if v.is_jailed() {
            continue;
        }
        slash_and_jail(state, &v.address, params.rewards.slash_downtime_bps, env);
        let mut l = l;
        l.downtime_jails = l.downtime_jails.saturating_add(1);
        state.set_liveness(&v.address, &l);
    }
}

#[cfg(test)]
mod tests {
    use super::over_threshold;

    #[test]
    fn only_more_than_the_share_is_over() {
        assert!(!over_threshold(0, 0, 0), "nothing counted, nothing missed");
        assert!(!over_threshold(9, 10, 9_000));
        assert!(over_threshold(10, 10, 9_000));
        assert!(over_threshold(1, 10, 0));
    }
}
