//! Voting power: a lock weighs its amount × remaining lock blocks ÷ `lock_blocks_max`
//! (remaining capped at that maximum, so the weight decays linearly to zero at the lock's
//! end), and bonded stake (a validator's self bond, an account's delegations) weighs its
//! amount × min(unbonding period, maximum) ÷ maximum, its unbonding period being its lock.
//!
//! Weights are read at the tally, from where each token is then: a token is in one lock or
//! one bond at a time (locked tokens cannot move, and unbonding amounts weigh nothing), so
//! no token counts twice in one tally however it moved during the vote.

use super::records::TAG_LOCK;
use crate::arith::mul_div_floor_wide;
use crate::overlay::{Overlay, StateReader};
use crate::record::decode;
use crate::staking;
use serde::Serialize;
use yun_types::{Address, Amount, ChainParams};

/// One account's voting power at a height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Power {
    pub locked: Amount,
    /// The lock's end (0: no lock).
    pub lock_until_height: u64,
    pub lock_weight: Amount,
    /// Self bond plus delegations.
    pub bonded: Amount,
    pub stake_weight: Amount,
    pub total: Amount,
}

/// `amount` × min(`blocks`, max) ÷ max.
fn weigh(amount: Amount, blocks: u64, params: &ChainParams) -> Amount {
    let max = params.governance.lock_blocks_max.max(1);
    let blocks = blocks.min(max);
    Amount::new(mul_div_floor_wide(
        amount.base_units(),
        u128::from(blocks),
        u128::from(max),
    ))
}

/// The weight of a lock of `amount` until `until_height`, seen at `height`.
pub fn lock_weight(amount: Amount, until_height: u64, height: u64, params: &ChainParams) -> Amount {
    weigh(amount, until_height.saturating_sub(height), params)
}

/// The weight of `bonded` stake.
pub fn stake_weight(bonded: Amount, params: &ChainParams) -> Amount {
    weigh(bonded, params.staking.unbonding_blocks, params)
}

/// What `who` has bonded: its self bond if it is a validator, and its delegations.
pub fn bonded_of<R: StateReader + ?Sized>(view: &Overlay<'_, R>, who: &Address) -> Amount {
    let own = view.validator(who).map_or(Amount::ZERO, |v| v.self_bond);
    let prefix = [&[staking::TAG_DELEGATION][..], who.as_bytes()].concat();
    view.scan(&prefix).into_iter().fold(own, |sum, (_, raw)| {
        sum.checked_add(decode::<staking::Delegation>(&raw).amount)
            .expect("stake is part of the supply")
    })
}

/// `who`'s voting power at `height`.
pub fn power_of<R: StateReader + ?Sized>(
    view: &Overlay<'_, R>,
    params: &ChainParams,
    height: u64,
    who: &Address,
) -> Power {
    let lock = view.lock(who);
    let (locked, until) = lock.map_or((Amount::ZERO, 0), |l| (l.amount, l.until_height));
    let lock_weight = lock_weight(locked, until, height, params);
    let bonded = bonded_of(view, who);
    let stake_weight = stake_weight(bonded, params);
    Power {
        locked,
        lock_until_height: until,
        lock_weight,
        bonded,
        stake_weight,
        total: lock_weight
            .checked_add(stake_weight)
            .expect("weights are at most the supply"),
    }
}

/// All voting power at `height`: every lock and all bonded stake (a full scan of locks and
/// validators, run once per tally; the number of open proposals is bounded).
pub fn power_total<R: StateReader + ?Sized>(
    view: &Overlay<'_, R>,
    params: &ChainParams,
    height: u64,
) -> Amount {
    let locks = view
        .scan(&[TAG_LOCK])
        .into_iter()
        .map(|(_, raw)| decode::<super::records::Lock>(&raw))
        .fold(Amount::ZERO, |sum, l| {
            sum.checked_add(lock_weight(l.amount, l.until_height, height, params))
                .expect("weights are at most the supply")
        });
    let bonded =
        view.scan(&[staking::TAG_VALIDATOR])
            .into_iter()
            .fold(Amount::ZERO, |sum, (_, raw)| {
                sum.checked_add(decode::<staking::Validator>(&raw).stake())
                    .expect("stake is part of the supply")
            });
    locks
        .checked_add(stake_weight(bonded, params))
        .expect("weights are at most the supply")
}
