//! What governance keeps in state: locks, proposals, votes, the due queue, the domain's
//! counters and faucet claims, their keys, and typed access to them through the overlay.
//!
//! Key layout (one tag byte, then fixed-width parts; heights and ids big-endian so key order
//! is numeric order):
//!
//! | key                              | value                                          |
//! |----------------------------------|------------------------------------------------|
//! | `l` ‖ address                    | [`Lock`]                                       |
//! | `g` ‖ proposal id                | [`Proposal`]                                   |
//! | `o` ‖ proposal id ‖ voter        | [`VoteChoice`] (deleted at the tally)          |
//! | `e` ‖ height ‖ proposal id       | empty: tally or apply at the end of that block |
//! | `h`                              | [`GovState`]                                   |
//! | `f` ‖ address                    | the epoch of the address's last faucet claim   |
//!
//! The tag bytes themselves are registered in `crate::keys`.

pub use crate::keys::{
    TAG_FAUCET_CLAIM, TAG_GOV_DUE, TAG_GOV_STATE, TAG_LOCK, TAG_PROPOSAL, TAG_VOTE,
};
use crate::overlay::{Overlay, StateReader};
use crate::record::{decode, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use yun_types::governance::{ProposalId, ProposalKind, VoteChoice};
use yun_types::{Address, Amount};

/// Tokens an account has locked for voting power; they cannot move until `until_height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Lock {
    pub amount: Amount,
    /// The first height at which `Unlock` returns the amount (its weight is zero from then).
    pub until_height: u64,
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Open for votes until its `voting_end_height`.
    Voting,
    /// Passed its tally; takes effect from its `apply_height`.
    Passed,
    /// Missed the quorum or the threshold; the deposit was refunded.
    Rejected,
    /// Vetoed; the deposit was burned.
    Vetoed,
    /// Passed and took effect.
    Applied,
    /// Passed, but at its apply height it no longer applied (parameters that no longer
    /// validate, a treasury that holds too little); nothing changed.
    ApplyFailed,
}

/// The weights a tally counted, measured at the voting end from each voter's lock and stake.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, BorshSerialize, BorshDeserialize, Serialize,
)]
pub struct Tally {
    pub yes: Amount,
    pub no: Amount,
    pub abstain: Amount,
    pub veto: Amount,
    /// All voting power at the tally (every lock and all bonded stake), voted or not.
    pub power_total: Amount,
}

/// A proposal and its life.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Proposal {
    pub id: ProposalId,
    pub proposer: Address,
    pub kind: ProposalKind,
    /// What the proposer deposited.
    pub deposit: Amount,
    /// What the proposal still holds of it: all of it until the tally, then zero.
    pub deposit_held: Amount,
    pub submit_height: u64,
    /// The last block whose votes count; the tally runs at its end.
    pub voting_end_height: u64,
    /// The first block that runs under the change (it is written at the end of the block
    /// before).
    pub apply_height: u64,
    pub status: ProposalStatus,
    pub tally: Option<Tally>,
}

/// A software upgrade governance has scheduled.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct UpgradePlan {
    pub proposal: ProposalId,
    pub name: String,
    pub height: u64,
}

/// The governance domain's counters.
#[derive(Debug, Clone, PartialEq, Eq, Default, BorshSerialize, BorshDeserialize, Serialize)]
pub struct GovState {
    /// The number the next proposal gets (the first is 1).
    pub next_proposal: ProposalId,
    /// Proposals open for votes.
    pub open: u32,
    /// The latest software upgrade that passed.
    pub upgrade: Option<UpgradePlan>,
}

pub fn lock_key(who: &Address) -> Vec<u8> {
    [&[TAG_LOCK][..], who.as_bytes()].concat()
}
pub fn proposal_key(id: ProposalId) -> Vec<u8> {
    [&[TAG_PROPOSAL][..], &id.to_be_bytes()].concat()
}
pub fn vote_key(id: ProposalId, voter: &Address) -> Vec<u8> {
    [&[TAG_VOTE][..], &id.to_be_bytes(), voter.as_bytes()].concat()
}
pub fn votes_prefix(id: ProposalId) -> Vec<u8> {
    [&[TAG_VOTE][..], &id.to_be_bytes()].concat()
}
pub fn due_key(height: u64, id: ProposalId) -> Vec<u8> {
    [&[TAG_GOV_DUE][..], &height.to_be_bytes(), &id.to_be_bytes()].concat()
}
pub fn due_prefix(height: u64) -> Vec<u8> {
    [&[TAG_GOV_DUE][..], &height.to_be_bytes()].concat()
}
pub fn faucet_claim_key(who: &Address) -> Vec<u8> {
    [&[TAG_FAUCET_CLAIM][..], who.as_bytes()].concat()
}

/// Typed governance access on an overlay.
impl<R: StateReader + ?Sized> Overlay<'_, R> {
    pub fn lock(&self, who: &Address) -> Option<Lock> {
        self.get(&lock_key(who)).map(|raw| decode(&raw))
    }
    /// Writes a lock, or deletes it when it holds nothing.
    pub fn set_lock(&mut self, who: &Address, lock: &Lock) {
        if lock.amount.is_zero() {
            self.delete(lock_key(who));
        } else {
            self.put(lock_key(who), encode(lock));
        }
    }
    pub fn proposal(&self, id: ProposalId) -> Option<Proposal> {
        self.get(&proposal_key(id)).map(|raw| decode(&raw))
    }
    pub fn set_proposal(&mut self, p: &Proposal) {
        self.put(proposal_key(p.id), encode(p));
    }
    pub fn gov_state(&self) -> GovState {
        self.get(&[TAG_GOV_STATE])
            .map(|raw| decode(&raw))
            .unwrap_or(GovState {
                next_proposal: 1,
                ..GovState::default()
            })
    }
    pub fn set_gov_state(&mut self, g: &GovState) {
        self.put(vec![TAG_GOV_STATE], encode(g));
    }
    pub fn vote(&self, id: ProposalId, voter: &Address) -> Option<VoteChoice> {
        self.get(&vote_key(id, voter)).map(|raw| decode(&raw))
    }
    pub fn set_vote(&mut self, id: ProposalId, voter: &Address, choice: VoteChoice) {
        self.put(vote_key(id, voter), encode(&choice));
    }
    /// The epoch of `who`'s last faucet claim.
    pub fn faucet_claim(&self, who: &Address) -> Option<u64> {
        self.get(&faucet_claim_key(who)).map(|raw| decode(&raw))
    }
    pub fn set_faucet_claim(&mut self, who: &Address, epoch: u64) {
        self.put(faucet_claim_key(who), encode(&epoch));
    }
}
