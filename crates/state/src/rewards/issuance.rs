//! The block reward: what each block issues (the schedule, capped), the treasury's share
//! minted at once, and the validators' share paid by stake with commission.

use super::records::RewardsRecord;
use crate::arith::{bps_of, mul_div_floor_wide};
use crate::bank;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use crate::staking::{Validator, earning_members};
use yun_types::{Amount, ChainParams};

/// A block's issuance still to be paid: the validators' part (paid by `staking::end_block`
/// through [`distribute_issuance`]) and the providers' part (added to the provider pool).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Issued {
    pub validators: Amount,
    pub providers: Amount,
}

/// What block `height` issues: the schedule's amount, no more than what the cap leaves.
pub fn issuance_of_block(params: &ChainParams, record: &RewardsRecord, height: u64) -> Amount {
    let room = params
        .rewards
        .issuance_max_total
        .checked_sub(record.issued)
        .unwrap_or(Amount::ZERO);
    params.rewards.issuance_at(height).min(room)
}

/// Issues this block's reward: counts it against the cap, mints the treasury's share into the
/// treasury, adds the providers' share to the provider pool, and returns the validators' share
/// (and the providers', for the record) to pay.
pub fn issue_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) -> Issued {
    let mut record = state.rewards_record();
    let amount = issuance_of_block(params, &record, env.height);
    if amount.is_zero() {
        return Issued::default();
    }
    let within = "shares of the issuance are parts of it";
    let treasury = bps_of(amount, params.rewards.treasury_bps);
    let providers = bps_of(amount, params.rewards.provider_bps);
    let validators = amount
        .checked_sub(treasury)
        .and_then(|a| a.checked_sub(providers))
        .expect("treasury_bps + provider_bps ≤ 10,000 (checked at genesis)");
    record.issued = record.issued.checked_add(amount).expect(within);
    record.to_treasury = record.to_treasury.checked_add(treasury).expect(within);
    record.provider_pool = record.provider_pool.checked_add(providers).expect(within);
    state.set_rewards_record(&record);
    bank::mint_to_treasury(state, treasury);
    Issued {
        validators,
        providers,
    }
}

/// Shares the validators' part of the block reward among the current active set pro rata by
/// the stake each had when the set was chosen (the members `staking::distribute_fees` pays),
/// each share split by [`pay_validator`]. What the floors leave over, and the whole part when
/// no member earns, is minted to the treasury.
pub fn distribute_issuance<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    params: &ChainParams,
    issuance: Amount,
) {
    if issuance.is_zero() {
        return;
    }
    let (members, total) = earning_members(state);
    let mut left = issuance;
    if !total.is_zero() {
        for (v, stake) in members {
            let share = Amount::new(mul_div_floor_wide(
                issuance.base_units(),
                stake.base_units(),
                total.base_units(),
            ));
            left = left
                .checked_sub(share)
                .expect("shares sum to at most the issuance");
            pay_validator(state, params, v, share);
        }
    }
    to_treasury(state, left);
}

/// Splits one validator's reward: its commission (`commission_bps`, rounded down) first, then
/// the rest by bonded amount between its self bond (paid to its balance with the commission)
/// and its delegators (owed, compounded at the epoch's end). The delegators' part is the
/// remainder, so nothing is lost to rounding here.
pub fn pay_validator<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    _params: &ChainParams,
    mut v: Validator,
    share: Amount,
) {
    if share.is_zero() {
        return;
    }
    let within = "parts of a reward are within it";
    let commission = bps_of(share, v.commission_bps);
    let rest = share.checked_sub(commission).expect(within);
    let stake = v.stake();
    let own_part = if stake.is_zero() {
        rest
    } else {
        Amount::new(mul_div_floor_wide(
            rest.base_units(),
            v.self_bond.base_units(),
            stake.base_units(),
        ))
    };
    let delegators = rest.checked_sub(own_part).expect(within);
    let to_balance = commission.checked_add(own_part).expect(within);
    v.rewards_earned = v.rewards_earned.checked_add(to_balance).expect(within);
    v.delegator_rewards_owed = v
        .delegator_rewards_owed
        .checked_add(delegators)
        .expect(within);
    state.set_validator(&v);
    bank::mint(state, &v.address, to_balance);
    let mut record = state.rewards_record();
    record.to_validators = record.to_validators.checked_add(to_balance).expect(within);
    state.set_rewards_record(&record);
}

/// Mints issued units nobody earned (rounding dust, rewards without an earner) to the
/// treasury, and records it.
pub(crate) fn to_treasury<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, amount: Amount) {
    if amount.is_zero() {
        return;
    }
    let mut record = state.rewards_record();
    record.to_treasury = record
        .to_treasury
        .checked_add(amount)
        .expect("within the issuance");
    state.set_rewards_record(&record);
    bank::mint_to_treasury(state, amount);
}
