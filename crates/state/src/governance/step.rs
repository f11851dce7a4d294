//! Governance's end-of-block step: tally the proposals whose voting ended in this block, and
//! apply the passed ones whose apply height is the next block.
//!
//! A tally counts each vote with its voter's power at this height ([`super::power`]):
//! - below the quorum (`quorum_bps` of all power voted, abstain included): rejected;
//! - veto at or above `veto_bps` of the voted weight: vetoed, the deposit burned;
//! - yes above `threshold_bps` of yes + no + veto: passed;
//! - else rejected.
//!
//! Unless vetoed the deposit returns to the proposer. The votes are deleted (the tally keeps
//! the sums). A passed change is written at the end of block `apply_height − 1`, so block
//! `apply_height` is the first to run under it, and it is checked again then: parameters that
//! no longer validate, or a spend the treasury cannot pay, leave it `ApplyFailed`.

use super::params::apply_edits;
use super::power::{power_of, power_total};
use super::records::*;
use crate::arith::bps_of;
use crate::bank;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use crate::record::decode;
use yun_types::governance::{ProposalKind, VoteChoice};
use yun_types::{Address, Amount, ChainParams};

/// The step: every proposal due at this height, in id order.
pub fn end_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    for (key, _) in state.scan(&due_prefix(env.height)) {
        state.delete(key.clone());
        let id = u64::from_be_bytes(key[9..17].try_into().expect("due keys hold an id"));
        let p = state.proposal(id).expect("a due entry names a proposal");
        match p.status {
            ProposalStatus::Voting => tally(state, env, params, p),
            ProposalStatus::Passed => apply(state, p),
            _ => {}
        }
    }
}

/// Sums the votes of `id` with each voter's power now, deleting them.
fn count<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    id: u64,
) -> Tally {
    let mut t = Tally::default();
    for (key, raw) in state.scan(&votes_prefix(id)) {
        let voter = Address(key[9..41].try_into().expect("vote keys hold an address"));
        let weight = power_of(state, params, env.height, &voter).total;
        let sum = match decode::<VoteChoice>(&raw) {
            VoteChoice::Yes => &mut t.yes,
            VoteChoice::No => &mut t.no,
            VoteChoice::Abstain => &mut t.abstain,
            VoteChoice::Veto => &mut t.veto,
        };
        *sum = sum
            .checked_add(weight)
            .expect("weights are at most the supply");
        state.delete(key);
    }
    t.power_total = power_total(state, params, env.height);
    t
}

/// The outcome of a tally under the governance parameters.
pub fn outcome(t: &Tally, params: &ChainParams) -> ProposalStatus {
    let g = &params.governance;
    let sum = |xs: &[Amount]| Amount::checked_sum(xs.iter().copied()).expect("within supply");
    let voted = sum(&[t.yes, t.no, t.abstain, t.veto]);
    let deciding = sum(&[t.yes, t.no, t.veto]);
    if voted.is_zero() || voted < bps_of(t.power_total, g.quorum_bps) {
        ProposalStatus::Rejected
    } else if !t.veto.is_zero() && t.veto >= bps_of(voted, g.veto_bps) {
        ProposalStatus::Vetoed
    } else if !t.yes.is_zero() && t.yes > bps_of(deciding, g.threshold_bps) {
        ProposalStatus::Passed
    } else {
        ProposalStatus::Rejected
    }
}

fn tally<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    mut p: Proposal,
) {
    let t = count(state, env, params, p.id);
    p.status = outcome(&t, params);
    p.tally = Some(t);
    let deposit = std::mem::replace(&mut p.deposit_held, Amount::ZERO);
    if p.status == ProposalStatus::Vetoed {
        bank::burn(state, deposit);
    } else {
        bank::credit(state, &p.proposer, deposit);
    }
    let mut gov = state.gov_state();
    gov.open = gov
        .open
        .checked_sub(1)
        .expect("a tallied proposal was open");
    if p.status == ProposalStatus::Passed
        && let ProposalKind::SoftwareUpgrade { name } = &p.kind
    {
        gov.upgrade = Some(UpgradePlan {
            proposal: p.id,
            name: name.0.clone(),
            height: p.apply_height,
        });
    }
    state.set_gov_state(&gov);
    let passed = p.status == ProposalStatus::Passed;
    let write_height = p.apply_height - 1;
    if passed && write_height == env.height {
        apply(state, p);
    } else {
        if passed {
            state.mark(due_key(write_height, p.id));
        }
        state.set_proposal(&p);
    }
}

/// Takes a passed proposal into effect (checked again against the state now).
fn apply<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, mut p: Proposal) {
    let applied = match &p.kind {
        ProposalKind::ParamChange { edits } => match apply_edits(&state.params(), edits) {
            Ok(changed) => {
                state.set_params(&changed);
                true
            }
            Err(_) => false,
        },
        ProposalKind::TreasurySpend { to, amount } => {
            bank::treasury_pay(state, to, *amount).is_some()
        }
        ProposalKind::Text { .. } | ProposalKind::SoftwareUpgrade { .. } => true,
    };
    p.status = if applied {
        ProposalStatus::Applied
    } else {
        ProposalStatus::ApplyFailed
    };
    state.set_proposal(&p);
}
