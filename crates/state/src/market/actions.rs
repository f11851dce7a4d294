//! The market's transactions: provider lifecycle, posting and cancelling jobs, and the
//! commit-reveal of results. Each checks everything before writing anything.

use super::records::*;
use super::{escrow_for, replica_cap, settle_job_if_done};
use crate::exec::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use std::collections::BTreeSet;
use yun_types::market::{
    JobId, JobSpec, ProviderSpec, REPLICAS_MAX, ResultCommit, ResultReveal, TaskRef, Verification,
};
use yun_types::{Address, Amount, ChainParams, TxRejection};

type Result<T> = std::result::Result<T, TxRejection>;

fn check_provider_spec(spec: &ProviderSpec, params: &ChainParams) -> Result<()> {
    let url = &spec.endpoint.0;
    let ok = spec.slots > 0
        && spec.slots <= params.market.provider_slots_max
        && spec.memory_bytes_per_slot > 0
        && (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "http://".len();
    if ok {
        Ok(())
    } else {
        Err(TxRejection::InvalidProviderSpec)
    }
}

pub(super) fn register_provider<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    spec: &ProviderSpec,
    bond: Amount,
) -> Result<()> {
    if state.provider(sender).is_some() {
        return Err(TxRejection::AlreadyProvider);
    }
    check_provider_spec(spec, params)?;
    if bond < params.market.provider_bond_min {
        return Err(TxRejection::BondTooLow);
    }
    let mut account = state.account(sender);
    account.balance = account
        .balance
        .checked_sub(bond)
        .map_err(|_| TxRejection::InsufficientBalance)?;
    state.set_account(sender, account);
    let provider = Provider {
        spec: spec.clone(),
        bond,
        status: ProviderStatus::Active,
        reputation: 0,
        streak: 0,
        tasks_in_flight: 0,
        tasks_verified: 0,
        fuel_verified: 0,
        earned: Amount::ZERO,
        slashed: Amount::ZERO,
        last_paid_height: 0,
        registered_height: env.height,
    };
    state.set_provider(sender, &provider);
    Ok(())
}

pub(super) fn update_provider<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    params: &ChainParams,
    sender: &Address,
    spec: &ProviderSpec,
) -> Result<()> {
    let mut p = state.provider(sender).ok_or(TxRejection::NotProvider)?;
    if matches!(p.status, ProviderStatus::Exiting { .. }) {
        return Err(TxRejection::ProviderExiting);
    }
    check_provider_spec(spec, params)?;
    // Shrinking below the tasks in flight is allowed: no new tasks arrive until they finish.
    p.spec = spec.clone();
    state.set_provider(sender, &p);
    Ok(())
}

pub(super) fn pause_provider<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    sender: &Address,
    paused: bool,
) -> Result<()> {
    let mut p = state.provider(sender).ok_or(TxRejection::NotProvider)?;
    if matches!(p.status, ProviderStatus::Exiting { .. }) {
        return Err(TxRejection::ProviderExiting);
    }
    p.status = if paused {
        ProviderStatus::Paused
    } else {
        ProviderStatus::Active
    };
    state.set_provider(sender, &p);
    Ok(())
}

pub(super) fn exit_provider<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
) -> Result<()> {
    let mut p = state.provider(sender).ok_or(TxRejection::NotProvider)?;
    if matches!(p.status, ProviderStatus::Exiting { .. }) {
        return Err(TxRejection::ProviderExiting);
    }
    // Assigned and committed-but-unrevealed replicas both keep a provider from leaving.
    let pending = [&[TAG_ASSIGNED][..], sender.as_bytes()].concat();
    if p.tasks_in_flight > 0 || !state.scan(&pending).is_empty() {
        return Err(TxRejection::TasksInFlight);
    }
    let release_height = env.height + params.market.unbonding_blocks.max(1);
    p.status = ProviderStatus::Exiting { release_height };
    state.set_provider(sender, &p);
    state.mark(exit_key(release_height, sender));
    Ok(())
}

/// The job-spec rules that need only the parameters and the height.
pub fn check_job_spec(spec: &JobSpec, params: &ChainParams, height: u64) -> Result<()> {
    let m = &params.market;
    let verification_ok = match spec.verification {
        Verification::None => true,
        Verification::Replicate { k, quorum } => {
            (1..=REPLICAS_MAX).contains(&k) && quorum <= k && 2 * quorum > k
        }
        Verification::Adaptive { target_error_ppm } => (1..1_000_000).contains(&target_error_ppm),
    };
    let ok = !spec.tasks.is_empty()
        && spec.fuel_per_task > 0
        && spec.fuel_per_task <= m.task_fuel_max
        && spec.memory_bytes_per_task > 0
        && spec.memory_bytes_per_task <= m.task_memory_bytes_max
        && verification_ok;
    if !ok {
        return Err(TxRejection::InvalidJobSpec);
    }
    if spec.deadline_height <= height || spec.deadline_height - height > m.job_deadline_blocks_max {
        return Err(TxRejection::DeadlineOutOfRange);
    }
    Ok(())
}

pub(super) fn post_job<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    job_id: &JobId,
    spec: &JobSpec,
) -> Result<()> {
    check_job_spec(spec, params, env.height)?;
    let escrow = escrow_for(spec)?;
    let mut account = state.account(sender);
    account.balance = account
        .balance
        .checked_sub(escrow)
        .map_err(|_| TxRejection::InsufficientEscrow)?;
    state.set_account(sender, account);
    let tasks = spec.tasks.len() as u32;
    let wanted = initial_replicas(&spec.verification);
    for index in 0..tasks {
        let t = TaskRef {
            job: *job_id,
            index,
        };
        let task = Task {
            phase: TaskPhase::Open,
            replicas: Vec::new(),
            replicas_wanted: wanted,
            expirations: 0,
        };
        state.set_task(&t, &task);
        state.mark(queue_key(&t));
    }
    let job = Job {
        requester: *sender,
        spec: spec.clone(),
        escrow,
        spent: Amount::ZERO,
        refunded: Amount::ZERO,
        status: JobStatus::Open,
        posted_height: env.height,
        tasks_open: tasks,
        tasks_verified: 0,
        tasks_failed: 0,
        settled_height: None,
        cancelled_height: None,
    };
    state.set_job(job_id, &job);
    state.mark(job_deadline_key(spec.deadline_height, job_id));
    let mut stats = state.requester_stats(sender);
    stats.jobs_posted += 1;
    state.set_requester_stats(sender, &stats);
    Ok(())
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

pub(super) fn cancel_job<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    sender: &Address,
    job_id: &JobId,
) -> Result<()> {
    let mut job = state.job(job_id).ok_or(TxRejection::UnknownJob)?;
    if job.requester != *sender {
        return Err(TxRejection::NotRequester);
    }
    if job.status != JobStatus::Open {
        return Err(TxRejection::JobClosed);
    }
    job.status = JobStatus::Cancelled;
    job.cancelled_height = Some(env.height);
    // Tasks with no replica working on them fail now; running ones finish and are paid.
    for index in 0..job.spec.tasks.len() as u32 {
        let t = TaskRef {
            job: *job_id,
            index,
        };
        let mut task = state.task(&t).expect("every task of a job exists");
        if task.phase != TaskPhase::Open {
            continue;
        }
        state.delete(queue_key(&t));
        if !task
            .replicas
            .iter()
            .any(|r| r.state.in_flight() || matches!(r.state, ReplicaState::Revealed { .. }))
        {
            task.phase = TaskPhase::Failed {
                reason: FailReason::Cancelled,
            };
            job.tasks_open -= 1;
            job.tasks_failed += 1;
            state.set_task(&t, &task);
        }
    }
    state.set_job(job_id, &job);
    settle_job_if_done(state, env, job_id);
    Ok(())
}

/// Finds the caller's replica of a task.
fn my_replica(task: &Task, provider: &Address) -> Result<usize> {
    task.replicas
        .iter()
        .position(|r| r.provider == *provider && r.state != ReplicaState::Expired)
        .ok_or(TxRejection::NotAssigned)
}

fn no_duplicates<'a>(tasks: impl Iterator<Item = &'a TaskRef>) -> Result<()> {
    let mut seen = BTreeSet::new();
    for t in tasks {
        if !seen.insert(*t) {
            return Err(TxRejection::DuplicateResult);
        }
    }
    Ok(())
}

pub(super) fn commit_results<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    commits: &[ResultCommit],
) -> Result<()> {
    no_duplicates(commits.iter().map(|c| &c.task))?;
    let mut updated = Vec::with_capacity(commits.len());
    for c in commits {
        let mut task = state.task(&c.task).ok_or(TxRejection::NotAssigned)?;
        let i = my_replica(&task, sender)?;
        match task.replicas[i].state {
            ReplicaState::Assigned { commit_deadline } if env.height <= commit_deadline => {}
            _ => return Err(TxRejection::CommitClosed),
        }
        task.replicas[i].state = ReplicaState::Committed {
            commitment: c.commitment,
            reveal_deadline: None,
        };
        updated.push((c.task, task));
    }
    // The computing is done once a verdict is committed: the slot is free for new work while
    // the reveal waits (adaptive may hold reveals until another replica has committed; holding
    // slots meanwhile let every slot wait on every other one).
    let mut provider = state.provider(sender).expect("a replica's provider exists");
    provider.tasks_in_flight -= updated.len() as u32;
    state.set_provider(sender, &provider);
    for (t, mut task) in updated {
        open_reveals_if_all_committed(state, env, params, &t, &mut task);
        state.set_task(&t, &task);
    }
    Ok(())
}

/// When no replica is still committing, every committed replica gets its reveal deadline.
pub(super) fn open_reveals_if_all_committed<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    t: &TaskRef,
    task: &mut Task,
) {
    if task
        .replicas
        .iter()
        .any(|r| matches!(r.state, ReplicaState::Assigned { .. }))
    {
        return;
    }
    if adaptive_wants_another(state, env, params, t, task) {
        // Reveals stay closed until the new replica has committed too, so it cannot copy.
        task.replicas_wanted = (task.live_replicas() + 1) as u8;
        state.mark(queue_key(t));
        return;
    }
    let deadline = env.height + params.market.reveal_window_blocks.max(1);
    let mut opened = false;
    for r in &mut task.replicas {
        if let ReplicaState::Committed {
            reveal_deadline: d @ None,
            ..
        } = &mut r.state
        {
            *d = Some(deadline);
            opened = true;
        }
    }
    if opened {
        state.mark(deadline_key(deadline, t));
    }
}

/// One in this many tasks accepted on a single trusted replica gets a second one anyway, so
/// trust keeps being checked (BOINC-style spot checks).
pub const SPOT_CHECK_ONE_IN: u64 = 10;

/// Adaptive verification decides how many replicas a task needs while verdicts are still
/// sealed: if the committed replicas, were they to agree, would not be trusted enough (or a
/// spot check falls on a lone one), another replica is added before anyone reveals.
fn adaptive_wants_another<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    t: &TaskRef,
    task: &Task,
) -> bool {
    let job = state.job(&t.job).expect("a task's job exists");
    let Verification::Adaptive { target_error_ppm } = job.spec.verification else {
        return false;
    };
    let committed: Vec<Address> = task
        .replicas
        .iter()
        .filter(|r| matches!(r.state, ReplicaState::Committed { .. }))
        .map(|r| r.provider)
        .collect();
    let can_add = !committed.is_empty()
        && task.live_replicas() < replica_cap(&job.spec.verification) as usize
        && job.status == JobStatus::Open
        && env.height < job.spec.deadline_height;
    if !can_add {
        return false;
    }
    let trusted = super::group_error_ppm(state, params, &committed) <= u64::from(target_error_ppm);
    !trusted || (committed.len() == 1 && spot_check(env, t))
}

fn spot_check(env: &BlockEnv, t: &TaskRef) -> bool {
    let mut h = blake3::Hasher::new_derive_key("yun/market/spot-check/v1");
    h.update(env.seed.as_bytes());
    h.update(t.job.as_bytes());
    h.update(&t.index.to_be_bytes());
    let x = u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
    x % SPOT_CHECK_ONE_IN == 0
}

pub(super) fn reveal_results<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    sender: &Address,
    reveals: &[ResultReveal],
) -> Result<()> {
    no_duplicates(reveals.iter().map(|r| &r.task))?;
    let mut updated = Vec::with_capacity(reveals.len());
    for rv in reveals {
        let mut task = state.task(&rv.task).ok_or(TxRejection::NotAssigned)?;
        let i = my_replica(&task, sender)?;
        let commitment = match task.replicas[i].state {
            ReplicaState::Committed {
                commitment,
                reveal_deadline: Some(d),
            } if env.height <= d => commitment,
            _ => return Err(TxRejection::RevealNotOpen),
        };
        if rv.verdict.commitment(&rv.salt, sender, &rv.task) != commitment {
            return Err(TxRejection::CommitmentMismatch);
        }
        let job = state.job(&rv.task.job).expect("a task's job exists");
        if rv.verdict.fuel_used > job.spec.fuel_per_task {
            return Err(TxRejection::FuelAboveLimit);
        }
        task.replicas[i].state = ReplicaState::Revealed {
            verdict: rv.verdict,
        };
        updated.push((rv.task, task));
    }
    for (t, task) in updated {
        // The slot was freed at commit; verification happens at the end of the block.
        state.delete(assigned_key(sender, &t));
        if task.replicas.iter().all(|r| !r.state.in_flight()) {
            state.mark(verify_key(&t));
        }
        state.set_task(&t, &task);
    }
    Ok(())
}
