//! Staking's end-of-block step, in this order: share the block's fees and the validators' part
//! of its issuance among the epoch's active validators, return unbonded amounts whose release
//! height has come, and — in the last block of an epoch — close the epoch's rewards and
//! downtime (`crate::rewards::close_epoch`) and choose the next epoch's active set.

use super::epoch::{EVIDENCE_EPOCHS_KEPT, epoch_of_height, is_last_block_of_epoch};
use super::records::*;
use crate::arith::mul_div_floor_wide;
use crate::bank::credit;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use crate::record::decode;
use yun_types::{Amount, ChainParams};

/// Runs the step after the block's transactions (and before the market's step).
/// `fee_pool` is the non-burned part of every fee the block's transactions paid; `issuance`
/// the validators' part of the block reward (promised by `crate::rewards::issue_block`, minted
/// here as it is paid).
pub fn end_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    fee_pool: Amount,
    issuance: Amount,
) {
    distribute_fees(state, env, fee_pool);
    crate::rewards::distribute_issuance(state, params, issuance);
    release_unbonded(state, env);
    if is_last_block_of_epoch(&params.staking, env.height) {
        // Before the choice: compounded delegations count, and a validator jailed for
        // downtime is out of the next set.
        crate::rewards::close_epoch(state, env, params);
        let next_epoch = epoch_of_height(&params.staking, env.height)
            .checked_add(1)
            .expect("invariant: epochs are heights divided, far below u64::MAX");
        let set = choose_active_set(state, params, next_epoch);
        state.set_active_set(&set);
        // The set consensus signs with in that epoch, kept a while for checking evidence.
        let members = set.validators.iter().map(|v| v.address).collect();
        state.set_consensus_set(next_epoch, &members);
        if let Some(old) = next_epoch.checked_sub(EVIDENCE_EPOCHS_KEPT) {
            state.remove_consensus_set(old);
        }
    }
}

/// Shares `pool` among the current active set, pro rata by the stake each member had when the
/// set was chosen: member i gets ⌊pool × stakeᵢ ÷ Σ stake⌋, credited to its balance. Members
/// jailed since then get nothing (their weight leaves the sum). What the floors leave over —
/// less than one unit per member — and the whole pool when no member has stake (a genesis
/// without self bonds) goes to the block's proposer.
pub fn distribute_fees<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    pool: Amount,
) {
    if pool.is_zero() {
        return;
    }
    let (paid, total) = earning_members(state);
    let mut left = pool;
    if !total.is_zero() {
        for (mut v, stake) in paid {
            let share = Amount::new(mul_div_floor_wide(
                pool.base_units(),
                stake.base_units(),
                total.base_units(),
            ));
            if share.is_zero() {
                continue;
            }
            left = left
                .checked_sub(share)
                .expect("shares sum to at most the pool");
            v.fees_earned = v.fees_earned.checked_add(share).expect("within supply");
            state.set_validator(&v);
            credit(state, &v.address, share);
        }
    }
    credit(state, &env.proposer, left);
}

/// The members of the current active set that earn this block (not jailed since the set was
/// chosen, with stake), with the stake each had when the set was chosen, and their total.
pub fn earning_members<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
) -> (Vec<(Validator, Amount)>, Amount) {
    let set = state.active_set();
    let mut paid: Vec<(Validator, Amount)> = Vec::with_capacity(set.validators.len());
    let mut total = Amount::ZERO;
    for member in &set.validators {
        let Some(v) = state.validator(&member.address) else {
            continue;
        };
        if v.is_jailed() || member.stake.is_zero() {
            continue;
        }
        total = total
            .checked_add(member.stake)
            .expect("stakes are part of the supply");
        paid.push((v, member.stake));
    }
    (paid, total)
}

/// Unbonding entries whose release height is at or below this block's go back to their
/// delegators' balances.
fn release_unbonded<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, env: &BlockEnv) {
    let next = env
        .height
        .checked_add(1)
        .expect("invariant: no block reaches the last height");
    let end = [&[TAG_RELEASE][..], &next.to_be_bytes()[..]].concat();
    for (key, _) in state.range(&[TAG_RELEASE], &end) {
        let release = height_at(&key, 1);
        let delegator = address_at(&key, 9);
        let validator = address_at(&key, 41);
        let mut entry = state
            .unbonding(&delegator, &validator, release)
            .expect("a release entry names an unbonding");
        credit(state, &delegator, entry.amount);
        entry.amount = Amount::ZERO;
        state.set_unbonding(&entry);
    }
}

/// Whether a validator may be chosen: not jailed, a self bond of at least the minimum.
pub fn eligible(v: &Validator, params: &ChainParams) -> bool {
    !v.is_jailed()
        && !v.self_bond.is_zero()
        && v.self_bond >= params.staking.validator_self_bond_min
}

/// The active set of `epoch`: the top `active_validators_max` eligible validators by stake
/// (self bond + delegations), high to low, ties by address bytes (low first). If none is
/// eligible the current set carries over unchanged into the new epoch, so the chain never
/// has an empty validator set.
pub fn choose_active_set<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    params: &ChainParams,
    epoch: u64,
) -> ActiveSet {
    let mut candidates: Vec<ActiveValidator> = state
        .scan(&[TAG_VALIDATOR])
        .into_iter()
        .map(|(_, raw)| decode::<Validator>(&raw))
        .filter(|v| eligible(v, params))
        .map(|v| ActiveValidator {
            address: v.address,
            stake: v.stake(),
        })
        .collect();
    if candidates.is_empty() {
        let mut set = state.active_set();
        set.epoch = epoch;
        return set;
    }
    sort_by_stake(&mut candidates);
    candidates.truncate(params.staking.active_validators_max as usize);
    ActiveSet {
        epoch,
        validators: candidates,
    }
}

/// Stake high to low, then address bytes low to high.
pub fn sort_by_stake(set: &mut [ActiveValidator]) {
    set.sort_by(|a, b| {
        b.stake
            .cmp(&a.stake)
            .then_with(|| a.address.as_bytes().cmp(b.address.as_bytes()))
    });
}
