//! The compute market as deterministic state: providers with bonds, jobs with escrow, a
//! per-block sealed call auction with a price index, commit-reveal verification, settlement,
//! slashing, reputation, and the explanation of why a task is still waiting.
//!
//! Money never appears or vanishes: a bond or escrow leaves a balance when it is locked and
//! returns to a balance (or to `burned`) when released, so balances + bonds + escrow + burned
//! stays equal to the supply (see `supply::check_supply`).

pub mod actions;
pub mod records;
pub mod step;
pub mod why;

use crate::exec::BlockEnv;
use crate::overlay::{Overlay, StateReader};
pub use actions::{check_job_spec, initial_replicas};
pub use records::*;
pub use step::{end_block, fits, group_error_ppm};
use yun_types::market::{JobId, JobSpec, REPLICAS_MAX, Verification};
use yun_types::{Action, Address, Amount, ChainParams, Hash32, TxRejection};

/// The most replicas a task of this policy may ever get (and be paid for).
pub fn replica_cap(v: &Verification) -> u8 {
    match v {
        Verification::None => 1,
        Verification::Replicate { k, .. } => k.saturating_add(2).min(REPLICAS_MAX),
        Verification::Adaptive { .. } => REPLICAS_MAX - 1,
    }
}

/// Escrow locked at posting: the worst case, every task paid at its bid for all fuel on every
/// replica the policy allows.
pub fn escrow_for(spec: &JobSpec) -> Result<Amount, TxRejection> {
    let replicas = u128::from(replica_cap(&spec.verification));
    let units = (spec.tasks.len() as u128)
        .checked_mul(replicas)
        .and_then(|n| n.checked_mul(u128::from(spec.fuel_per_task)))
        .ok_or(TxRejection::AmountOverflow)?;
    let reduce_units = if spec.reduce.is_some() {
        u128::from(spec.fuel_per_task)
    } else {
        0
    };
    let fuel = units
        .checked_add(reduce_units)
        .ok_or(TxRejection::AmountOverflow)?;
    let cost = spec
        .bid_per_mfuel
        .base_units()
        .checked_mul(fuel)
        .ok_or(TxRejection::AmountOverflow)?;
    Ok(Amount::new(cost.div_ceil(1_000_000)))
}

/// The index a market starts from: the floor.
pub fn initial_price(params: &ChainParams) -> Amount {
    params.market.price_floor_per_mfuel.max(Amount::new(1))
}

/// What an action locks out of the sender's balance beyond the fee (for admission checks).
pub fn action_spend(action: &Action) -> Result<Amount, TxRejection> {
    match action {
        Action::Transfer { amount, .. } => Ok(*amount),
        Action::RegisterProvider { bond, .. } => Ok(*bond),
        Action::PostJob { spec } => escrow_for(spec),
        _ => Ok(Amount::ZERO),
    }
}

/// Applies a market action. On error nothing has been written.
pub fn apply_action<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    tx_id: &Hash32,
    action: &Action,
) -> Result<(), TxRejection> {
    match action {
        Action::Transfer { .. } => unreachable!("transfers are the bank's"),
        Action::RegisterValidator { .. }
        | Action::Delegate { .. }
        | Action::Undelegate { .. }
        | Action::Unjail
        | Action::ReportEquivocation { .. } => unreachable!("staking actions are staking's"),
        Action::RegisterProvider { spec, bond } => {
            actions::register_provider(state, env, params, sender, spec, *bond)
        }
        Action::UpdateProvider { spec } => actions::update_provider(state, params, sender, spec),
        Action::PauseProvider { paused } => actions::pause_provider(state, sender, *paused),
        Action::ExitProvider => actions::exit_provider(state, env, params, sender),
        Action::PostJob { spec } => actions::post_job(state, env, params, sender, tx_id, spec),
        Action::CancelJob { job } => actions::cancel_job(state, env, sender, job),
        Action::CommitResults { commits } => {
            actions::commit_results(state, env, params, sender, commits)
        }
        Action::RevealResults { reveals } => actions::reveal_results(state, env, sender, reveals),
    }
}

/// Adds to a balance; cannot overflow because every balance is part of the fixed supply.
pub(crate) fn credit<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    to: &Address,
    amount: Amount,
) {
    if amount.is_zero() {
        return;
    }
    let mut account = state.account(to);
    account.balance = account
        .balance
        .checked_add(amount)
        .expect("a balance never exceeds the supply");
    state.set_account(to, account);
}

/// Moves `amount` (already taken from a bond or escrow) to the burned total.
pub(crate) fn burn<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, amount: Amount) {
    if amount.is_zero() {
        return;
    }
    let mut supply = state.supply();
    supply.burned = supply
        .burned
        .checked_add(amount)
        .expect("burned stays within the supply");
    state.set_supply(&supply);
}

/// A job whose tasks are all verified or failed returns its unspent escrow in the same block.
pub(crate) fn settle_job_if_done<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    job_id: &JobId,
) {
    let mut job = state.job(job_id).expect("the job exists");
    if job.tasks_open > 0 || job.status == JobStatus::Settled {
        return;
    }
    let refund = job.escrow;
    job.escrow = Amount::ZERO;
    job.refunded = job.refunded.checked_add(refund).expect("within supply");
    job.status = JobStatus::Settled;
    job.settled_height = Some(env.height);
    state.set_job(job_id, &job);
    credit(state, &job.requester, refund);
}
