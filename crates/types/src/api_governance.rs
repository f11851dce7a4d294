//! JSON shapes of the governance API: proposals with their tallies, an account's voting
//! power, the treasury, and an account's standing with the faucet.

use crate::governance::{
    FaucetParams, GovernanceParams, ParamEdit, ProposalId, ProposalKind, VoteChoice,
};
use crate::{Address, Amount, ChainParams};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatusView {
    /// Open for votes until `voting_end_height`.
    Voting,
    /// Passed; takes effect from `apply_height`.
    Passed,
    /// Missed the quorum or the threshold (deposit refunded).
    Rejected,
    /// Vetoed (deposit burned).
    Vetoed,
    /// Passed and took effect.
    Applied,
    /// Passed but no longer applied at its height (nothing changed).
    ApplyFailed,
}

/// The weights a tally counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TallyView {
    pub yes: Amount,
    pub no: Amount,
    pub abstain: Amount,
    pub veto: Amount,
    /// All voting power at the tally, voted or not.
    pub power_total: Amount,
}

/// One vote on an open proposal (votes are deleted at the tally; the tally keeps the sums).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VoteView {
    pub voter: Address,
    pub choice: VoteChoice,
}

/// A proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProposalView {
    pub id: ProposalId,
    pub proposer: Address,
    pub kind: ProposalKind,
    pub deposit: Amount,
    /// What the proposal still holds of the deposit (zero after the tally).
    pub deposit_held: Amount,
    pub submit_height: u64,
    pub voting_end_height: u64,
    pub apply_height: u64,
    pub status: ProposalStatusView,
    pub tally: Option<TallyView>,
    /// The votes so far while voting is open (`GET /v1/gov/proposals/{id}` only).
    #[serde(default)]
    pub votes: Vec<VoteView>,
}

/// A software upgrade governance has scheduled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpgradePlanView {
    pub proposal: ProposalId,
    pub name: String,
    pub height: u64,
}

/// `GET /v1/gov/proposals`: the newest proposals, the treasury and the parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProposalsResponse {
    pub height: u64,
    pub treasury: Amount,
    /// Proposals open for votes.
    pub open: u32,
    /// The number the next proposal gets.
    pub next_proposal: ProposalId,
    pub upgrade: Option<UpgradePlanView>,
    pub params: GovernanceParams,
    /// Newest first.
    pub proposals: Vec<ProposalView>,
}

/// `GET /v1/gov/power/{address}`: an account's voting power after the last block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PowerResponse {
    pub address: Address,
    pub height: u64,
    pub locked: Amount,
    /// The lock's end (0: no lock); `Unlock` works from this height.
    pub lock_until_height: u64,
    /// amount × min(remaining, lock_blocks_max) ÷ lock_blocks_max.
    pub lock_weight: Amount,
    /// Self bond plus delegations.
    pub bonded: Amount,
    /// bonded × min(unbonding_blocks, lock_blocks_max) ÷ lock_blocks_max.
    pub stake_weight: Amount,
    pub total: Amount,
    /// All voting power on the chain now.
    pub power_total: Amount,
}

/// `GET /v1/gov/faucet/{address}`: the faucet's terms and the account's last claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FaucetResponse {
    pub address: Address,
    pub height: u64,
    /// The epoch of the next block: the one a claim sent now solves for.
    pub epoch: u64,
    pub params: FaucetParams,
    /// The epoch of the account's last claim.
    pub claimed_epoch: Option<u64>,
}

/// `POST /v1/gov/check-params` body: edits to try against the parameters in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckParamsRequest {
    pub edits: Vec<ParamEdit>,
}

/// `POST /v1/gov/check-params` success: the parameters the edits would give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckParamsResponse {
    pub params: ChainParams,
}
