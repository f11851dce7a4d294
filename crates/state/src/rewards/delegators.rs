//! Delegators' rewards, auto-compounded: at an epoch's end each validator's owed delegator
//! rewards are minted into its delegations, pro rata by what each delegation held throughout
//! the epoch (its low mark), so a delegation made just before the end earns nothing for it.

use crate::bank;
use crate::overlay::{Overlay, StateReader};
use crate::record::decode;
use crate::staking::{TAG_DELEGATED_TO, TAG_VALIDATOR, Validator, address_at};
use yun_types::{Address, Amount};

/// Compounds every validator's owed delegator rewards of `epoch` (the epoch now ending).
pub fn compound_all<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, epoch: u64) {
    let owing: Vec<Validator> = state
        .scan(&[TAG_VALIDATOR])
        .into_iter()
        .map(|(_, raw)| decode::<Validator>(&raw))
        .filter(|v| !v.delegator_rewards_owed.is_zero())
        .collect();
    for v in owing {
        compound(state, v, epoch);
    }
}

/// Pays one validator's owed delegator rewards: delegation i gets ⌊owed × lowᵢ ÷ Σ low⌋,
/// minted to the delegator and bonded at once (the delegation and the validator's delegated
/// total grow). The floors' remainder, and everything when no delegation held through the
/// epoch, goes to the treasury.
fn compound<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, mut v: Validator, epoch: u64) {
    let owed = v.delegator_rewards_owed;
    let prefix = [&[TAG_DELEGATED_TO][..], v.address.as_bytes()].concat();
    let delegators: Vec<Address> = state
        .scan(&prefix)
        .into_iter()
        .map(|(k, _)| address_at(&k, 33))
        .collect();
    let within = "rewards are parts of the owed amount";
    let mut weights = Vec::with_capacity(delegators.len());
    let mut total = Amount::ZERO;
    for delegator in delegators {
        let d = state
            .delegation(&delegator, &v.address)
            .expect("the index names a delegation");
        let weight = d.earning_in(epoch);
        total = total.checked_add(weight).expect("within the supply");
        weights.push((delegator, d, weight));
    }
    let mut left = owed;
    let mut paid = Amount::ZERO;
    if !total.is_zero() {
        for (delegator, mut d, weight) in weights {
            let share = Amount::new(crate::arith::mul_div_floor_wide(
                owed.base_units(),
                weight.base_units(),
                total.base_units(),
            ));
            if share.is_zero() {
                continue;
            }
            left = left.checked_sub(share).expect(within);
            paid = paid.checked_add(share).expect(within);
            bank::mint(state, &delegator, share);
            bank::debit(state, &delegator, share).expect("just minted");
            d.set_amount(d.amount.checked_add(share).expect(within), epoch);
            d.rewards_earned = d.rewards_earned.checked_add(share).expect(within);
            v.delegated = v.delegated.checked_add(share).expect(within);
            state.set_delegation(&delegator, &v.address, &d);
        }
    }
    v.delegator_rewards_owed = Amount::ZERO;
    state.set_validator(&v);
    let mut record = state.rewards_record();
    record.to_delegators = record.to_delegators.checked_add(paid).expect(within);
    state.set_rewards_record(&record);
    super::issuance::to_treasury(state, left);
}
