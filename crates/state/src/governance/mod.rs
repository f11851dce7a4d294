//! Vote-escrowed governance and the proof-of-work faucet as deterministic state: locks that
//! weigh amount × remaining lock time, proposals with deposits (parameter changes, text,
//! treasury spends, software upgrades), votes changeable until the voting end, the tally and
//! the change taking effect at its stated height; and a faucet that mints a fixed amount for a
//! solved puzzle, once per address per epoch.
//!
//! Money moves only through `crate::bank`: a lock and a deposit leave a balance by `debit`
//! and return by `credit` (a vetoed deposit is burned, a spend comes from the treasury, a
//! faucet claim is minted), so balances + … + locks + held deposits + treasury + burned stays
//! equal to genesis + minted (see `conservation::check_supply`).
//!
//! The parts, lowest first: `records` (what is stored, and its keys), `power` (voting
//! weights), `params` (parameter edits), then `actions` (the transactions) and `step` (the
//! end-of-block tally and apply). This file holds the read functions the node uses.

pub mod actions;
pub mod params;
pub mod power;
pub mod records;
pub mod step;

pub use actions::check_faucet;
pub use params::apply_edits;
pub use power::{Power, lock_weight, power_of, power_total, stake_weight};
pub use records::*;
pub use step::{end_block, outcome};

use crate::overlay::{Overlay, StateReader};
use crate::record::decode;
use yun_types::governance::ProposalId;
use yun_types::{Address, Amount, ChainParams};

/// One proposal.
pub fn proposal<R: StateReader + ?Sized>(reader: &R, id: ProposalId) -> Option<Proposal> {
    Overlay::new(reader).proposal(id)
}

/// Proposals by id, newest first: at most `limit` of them with ids below `before` (all when
/// `None`).
pub fn proposals<R: StateReader + ?Sized>(
    reader: &R,
    before: Option<ProposalId>,
    limit: usize,
) -> Vec<Proposal> {
    let view = Overlay::new(reader);
    let next = view.gov_state().next_proposal;
    let top = before.unwrap_or(next).min(next);
    (1..top)
        .rev()
        .take(limit)
        .filter_map(|id| view.proposal(id))
        .collect()
}

/// The votes cast so far on an open proposal, by voter address bytes (deleted at the tally).
pub fn votes<R: StateReader + ?Sized>(
    reader: &R,
    id: ProposalId,
) -> Vec<(Address, yun_types::VoteChoice)> {
    Overlay::new(reader)
        .scan(&votes_prefix(id))
        .into_iter()
        .map(|(k, raw)| {
            let voter = Address(k[9..41].try_into().expect("vote keys hold an address"));
            (voter, decode(&raw))
        })
        .collect()
}

/// `who`'s voting power at `height`.
pub fn power<R: StateReader + ?Sized>(
    reader: &R,
    params: &ChainParams,
    height: u64,
    who: &Address,
) -> Power {
    power_of(&Overlay::new(reader), params, height, who)
}

/// Governance's counters (next id, open proposals, the scheduled upgrade).
pub fn gov_state<R: StateReader + ?Sized>(reader: &R) -> GovState {
    Overlay::new(reader).gov_state()
}

/// The treasury's balance.
pub fn treasury<R: StateReader + ?Sized>(reader: &R) -> Amount {
    Overlay::new(reader).supply().treasury
}

/// The epoch of `who`'s last faucet claim.
pub fn faucet_claim<R: StateReader + ?Sized>(reader: &R, who: &Address) -> Option<u64> {
    Overlay::new(reader).faucet_claim(who)
}
