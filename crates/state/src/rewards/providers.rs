//! Provider rewards: the providers' share of each block's issuance fills a pool, and verified
//! compute draws from it as it is paid.
//!
//! Only work the chain verified earns: a task's agreeing replicas when they are paid (never a
//! declared capacity, an offer or a bond). The reward of one payment is weighted by the
//! payment itself (fuel × the clearing price, which the price index raises when demand
//! outruns supply, the seed's supply-and-demand weighting) and bounded by
//! `compute_reward_payment_max_bps` of it, which genesis holds at or below the protocol fee
//! burned from the same payment: a provider that posts jobs to itself gets back at most what
//! it burns, so self-dealing never profits from the pool.

use crate::arith::bps_of;
use crate::bank;
use crate::overlay::{Overlay, StateReader};
use yun_types::{Address, Amount, ChainParams};

/// Rewards `provider` for a verified result the requester paid `pay` for: at most
/// `compute_reward_payment_max_bps` of `pay`, and no more than the pool holds. Returns the
/// reward (minted to the provider).
pub fn reward_verified_compute<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    params: &ChainParams,
    provider: &Address,
    pay: Amount,
) -> Amount {
    let mut record = state.rewards_record();
    let reward =
        bps_of(pay, params.rewards.compute_reward_payment_max_bps).min(record.provider_pool);
    if reward.is_zero() {
        return reward;
    }
    let within = "the reward is part of the pool";
    record.provider_pool = record.provider_pool.checked_sub(reward).expect(within);
    record.to_providers = record.to_providers.checked_add(reward).expect(within);
    state.set_rewards_record(&record);
    bank::mint(state, provider, reward);
    reward
}
