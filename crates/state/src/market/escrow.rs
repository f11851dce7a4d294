//! A job's money: its replica cap, the escrow locked at posting, and the refund at the end.
//!
//! The cap bounds what a job can ever owe, so the escrow is locked in full at posting and no
//! payment can find it short; what is left returns once every task is verified or failed.

use super::records::{Job, JobStatus, prune_key};
use crate::bank;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use yun_types::evm::EthAddress;
use yun_types::market::{JobId, JobSpec, REPLICAS_MAX, Verification};
use yun_types::{Amount, TxRejection};

/// The most replicas a task of this policy may ever get (and be paid for).
pub fn replica_cap(v: &Verification) -> u8 {
    match v {
        Verification::None => 1,
        Verification::Replicate { k, .. } => k.saturating_add(2).min(REPLICAS_MAX),
        Verification::Adaptive { .. } => REPLICAS_MAX - 1,
    }
}

/// Replicas a task starts with: k for replication, one otherwise (adaptive adds one at a time
/// until the agreeing replicas are trusted enough).
pub fn initial_replicas(v: &Verification) -> u8 {
    match v {
        Verification::None => 1,
        Verification::Replicate { k, .. } => *k,
        Verification::Adaptive { .. } => 1,
    }
}

/// Escrow locked at posting: the worst case, every task paid at its bid for all fuel on every
/// replica the policy allows. A reduce step is one more task of the same kind (the job's fuel,
/// memory and policy), so it is locked like a map task.
pub fn escrow_for(spec: &JobSpec) -> Result<Amount, TxRejection> {
    let replicas = u128::from(replica_cap(&spec.verification));
    let tasks = (spec.tasks.len() as u128) + u128::from(spec.reduce.is_some());
    let fuel = tasks
        .checked_mul(replicas)
        .and_then(|n| n.checked_mul(u128::from(spec.fuel_per_task)))
        .ok_or(TxRejection::AmountOverflow)?;
    let cost = spec
        .bid_per_mfuel
        .base_units()
        .checked_mul(fuel)
        .ok_or(TxRejection::AmountOverflow)?;
    Ok(Amount::new(cost.div_ceil(1_000_000)))
}

/// A job whose tasks are all verified or failed returns its unspent escrow in the same block
/// (callers go through `reduce::settle_or_reduce`, which first adds a due reduce task).
/// `job` is the record as it stands in state.
pub(crate) fn settle_job_if_done<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    job_id: &JobId,
    mut job: Job,
) {
    if job.tasks_open > 0 || job.status == JobStatus::Settled {
        return;
    }
    let refund = job.escrow;
    job.escrow = Amount::ZERO;
    job.refunded = job.refunded.checked_add(refund).expect("within supply");
    job.status = JobStatus::Settled;
    job.settled_height = Some(env.height);
    state.set_job(job_id, &job);
    bank::credit(state, &job.requester, refund);
    if EthAddress::from_pseudo_address(&job.requester).is_some() {
        // A contract posted it (`evm::compute`): the end of this block moves the refund into
        // the contract's EVM balance and calls it back with the results (`evm::callback`).
        state.mark(crate::keys::compute_due_key(env.height, job_id));
    }
    // Its records leave state after the retention period (`step::prune_settled`).
    let retention = state.params().market.settled_retention_blocks;
    state.mark(prune_key(env.height_after(retention), job_id));
}
