//! JSON shapes of the staking API: the validator set of the running epoch, one validator, and
//! an account's delegations and unbondings.

use crate::{Address, Amount};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether a validator may be chosen for an active set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorStatusView {
    Active,
    /// Slashed for an equivocation; out of every set until it sends `Unjail` at or after
    /// `jailed_until_height`.
    Jailed,
}

/// A registered validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidatorView {
    /// Its account and consensus key.
    pub address: Address,
    pub p2p_address: String,
    pub self_bond: Amount,
    /// Sum of the delegations to it.
    pub delegated: Amount,
    /// Self bond plus delegations: what the active set is chosen by.
    pub stake: Amount,
    pub status: ValidatorStatusView,
    pub jailed_until_height: u64,
    /// Whether it is in the set of the running epoch.
    pub in_active_set: bool,
    pub fees_earned: Amount,
    pub slashed: Amount,
    pub registered_height: u64,
    /// Share of its stake's block rewards it keeps, in basis points.
    #[serde(default)]
    pub commission_bps: u16,
    /// Block rewards paid to its balance (commission and its self bond's share), in total.
    #[serde(default)]
    pub rewards_earned: Amount,
    /// Its delegators' share of this epoch's rewards, compounded at the epoch's end.
    #[serde(default)]
    pub delegator_rewards_owed: Amount,
    /// Signer records it was missing from this epoch, and of how many counted for it.
    #[serde(default)]
    pub missed_blocks: u64,
    #[serde(default)]
    pub counted_blocks: u64,
    /// Signer records it was missing from, in total.
    #[serde(default)]
    pub missed_blocks_total: u64,
    /// Times it was jailed for downtime.
    #[serde(default)]
    pub downtime_jails: u32,
}

/// One member of the running epoch's set, with its stake when the set was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActiveMemberView {
    pub address: Address,
    pub stake: Amount,
}

/// The running epoch, its set, and every registered validator by stake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidatorsResponse {
    /// The height this answer was read at.
    pub height: u64,
    /// The epoch of the next block, whose set consensus runs now.
    pub epoch: u64,
    /// The first height of the next epoch, when the next set takes over.
    pub next_epoch_height: u64,
    /// Most members a set may have.
    pub active_validators_max: u32,
    pub active: Vec<ActiveMemberView>,
    /// Registered validators, by stake high to low (at most `VALIDATORS_LIST_MAX`).
    pub validators: Vec<ValidatorView>,
    /// How many validators are registered in all.
    pub validators_total: u64,
}

/// A bonded delegation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DelegationView {
    pub validator: Address,
    pub amount: Amount,
    /// Height of the first `Delegate` of this pair still bonded.
    pub since_height: u64,
    /// Block rewards compounded into it, in total.
    #[serde(default)]
    pub rewards_earned: Amount,
}

/// An undelegated amount on its way back to the balance (slashable until released).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnbondingView {
    pub validator: Address,
    pub amount: Amount,
    /// The amount returns to the balance at the end of this block.
    pub release_height: u64,
}

/// An account's stake: its self bond if it is a validator (delegating to oneself adds to it),
/// its delegations to others, and what is unbonding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DelegationsResponse {
    pub address: Address,
    pub height: u64,
    /// Its self bond, if it is a validator.
    pub self_bond: Option<Amount>,
    pub delegations: Vec<DelegationView>,
    pub unbondings: Vec<UnbondingView>,
}
