//! Governance's transactions (lock, unlock, propose, vote) and the faucet claim. Each checks
//! everything before writing anything.

use super::params::apply_edits;
use super::power::power_of;
use super::records::*;
use crate::bank;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use crate::staking::epoch_of_height;
use yun_types::governance::{ProposalId, ProposalKind, VoteChoice, faucet_hash, faucet_solves};
use yun_types::{Address, Amount, ChainParams, TxRejection};

type Result<T> = std::result::Result<T, TxRejection>;

/// Locks `amount` more until `until_height`: a new lock needs a positive amount; an existing
/// one may only grow and lengthen (a zero amount just extends it). The end must be after this
/// block and at most `lock_blocks_max` ahead.
pub(crate) fn lock<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    amount: Amount,
    until_height: u64,
) -> Result<()> {
    let current = state.lock(sender);
    let furthest = env.height.saturating_add(params.governance.lock_blocks_max);
    let ok = until_height > env.height
        && until_height <= furthest
        && current.is_none_or(|l| until_height >= l.until_height)
        && (current.is_some() || !amount.is_zero());
    if !ok {
        return Err(TxRejection::LockInvalid);
    }
    let held = current.map_or(Amount::ZERO, |l| l.amount);
    let total = held
        .checked_add(amount)
        .map_err(|_| TxRejection::AmountOverflow)?;
    bank::debit(state, sender, amount)?;
    state.set_lock(
        sender,
        &Lock {
            amount: total,
            until_height,
        },
    );
    Ok(())
}

/// Returns the whole lock once its end height is reached.
pub(crate) fn unlock<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    sender: &Address,
) -> Result<()> {
    let lock = state.lock(sender).ok_or(TxRejection::NoLock)?;
    if env.height < lock.until_height {
        return Err(TxRejection::LockNotExpired);
    }
    state.set_lock(
        sender,
        &Lock {
            amount: Amount::ZERO,
            until_height: lock.until_height,
        },
    );
    bank::credit(state, sender, lock.amount);
    Ok(())
}

/// The kind's own rules, checked against the state when proposed (a parameter change must
/// already apply to the parameters in force; a spend must fit the treasury now).
fn check_kind<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    params: &ChainParams,
    kind: &ProposalKind,
) -> Result<()> {
    match kind {
        ProposalKind::ParamChange { edits } => apply_edits(params, edits).map(|_| ()),
        ProposalKind::Text { text } | ProposalKind::SoftwareUpgrade { name: text } => {
            if text.0.trim().is_empty() {
                Err(TxRejection::ProposalInvalid)
            } else {
                Ok(())
            }
        }
        ProposalKind::TreasurySpend { amount, .. } => {
            if amount.is_zero() {
                Err(TxRejection::ProposalInvalid)
            } else if *amount > state.supply().treasury {
                Err(TxRejection::TreasuryInsufficient)
            } else {
                Ok(())
            }
        }
    }
}

/// Opens a proposal: room among the open ones, the deposit at least the minimum, an apply
/// height after the voting end and within the delay allowed, content that applies now; then
/// the deposit leaves the balance and the tally is queued at the voting end.
pub(crate) fn propose<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    kind: &ProposalKind,
    deposit: Amount,
    apply_height: u64,
) -> Result<ProposalId> {
    let g = &params.governance;
    let mut gov = state.gov_state();
    if gov.open >= g.open_proposals_max {
        return Err(TxRejection::ProposalLimitReached);
    }
    if deposit < g.deposit_min || deposit.is_zero() {
        return Err(TxRejection::DepositTooLow);
    }
    let voting_end_height = env.height_after(g.voting_period_blocks);
    if apply_height <= voting_end_height
        || apply_height > voting_end_height.saturating_add(g.apply_delay_blocks_max)
    {
        return Err(TxRejection::ProposalInvalid);
    }
    check_kind(state, params, kind)?;
    bank::debit(state, sender, deposit)?;
    let id = gov.next_proposal;
    gov.next_proposal += 1;
    gov.open += 1;
    state.set_gov_state(&gov);
    state.set_proposal(&Proposal {
        id,
        proposer: *sender,
        kind: kind.clone(),
        deposit,
        deposit_held: deposit,
        submit_height: env.height,
        voting_end_height,
        apply_height,
        status: ProposalStatus::Voting,
        tally: None,
    });
    state.mark(due_key(voting_end_height, id));
    Ok(id)
}

/// Records (or replaces) the sender's vote on an open proposal. The sender must have voting
/// power now; its weight is measured again at the tally.
pub(crate) fn vote<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    id: ProposalId,
    choice: VoteChoice,
) -> Result<()> {
    let p = state.proposal(id).ok_or(TxRejection::UnknownProposal)?;
    if p.status != ProposalStatus::Voting || env.height > p.voting_end_height {
        return Err(TxRejection::VotingClosed);
    }
    if power_of(state, params, env.height, sender).total.is_zero() {
        return Err(TxRejection::NoVotingPower);
    }
    state.set_vote(id, sender, choice);
    Ok(())
}

/// Whether `sender` may claim the faucet with `nonce` in a block at `height` on `chain_id`:
/// enabled, not yet claimed this epoch, the puzzle solved. Reads only (the mempool asks too).
pub fn check_faucet<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    chain_id: &str,
    height: u64,
    params: &ChainParams,
    sender: &Address,
    nonce: u64,
) -> Result<u64> {
    let f = &params.faucet;
    if !f.enabled {
        return Err(TxRejection::FaucetDisabled);
    }
    let epoch = epoch_of_height(&params.staking, height);
    if state.faucet_claim(sender) == Some(epoch) {
        return Err(TxRejection::FaucetAlreadyClaimed);
    }
    if !faucet_solves(&faucet_hash(chain_id, sender, epoch, nonce), f.work_hashes) {
        return Err(TxRejection::FaucetWorkInvalid);
    }
    Ok(epoch)
}

/// Pays the faucet's amount, minted: the treasury is governance's to spend, and a test
/// network's faucet must not drain it (nor need it funded); minting is counted in `minted`,
/// so the books still balance. The claim record is one per address, overwritten each epoch.
pub(crate) fn faucet<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    nonce: u64,
) -> Result<()> {
    let epoch = check_faucet(state, &env.chain_id, env.height, params, sender, nonce)?;
    state.set_faucet_claim(sender, epoch);
    bank::mint(state, sender, params.faucet.amount);
    Ok(())
}
