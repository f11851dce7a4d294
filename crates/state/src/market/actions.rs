//! The market's transactions: provider lifecycle, posting and cancelling jobs, and the
//! commit-reveal of results. Each checks everything before writing anything.

use super::escrow::escrow_for;
pub use super::escrow::initial_replicas;
use super::records::*;
use super::reduce::settle_or_reduce;
use super::verification::{has_verdict, open_reveals_if_all_committed, seal};
use crate::bank;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use std::collections::{BTreeMap, BTreeSet};
use yun_types::market::{
    JobId, JobSpec, ProviderSpec, REPLICAS_MAX, ResultCommit, ResultReveal, TaskRef, Verification,
};
use yun_types::{Address, Amount, ChainParams, Hash32, TxRejection};

type Result<T> = std::result::Result<T, TxRejection>;

fn check_provider_spec(spec: &ProviderSpec, params: &ChainParams) -> Result<()> {
    let url = &spec.endpoint.0;
    let ok = spec.slots > 0
        && spec.slots <= params.market.provider_slots_max
        && spec.memory_bytes_per_slot > 0
        && (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "http://".len();
    if !ok {
        return Err(TxRejection::InvalidProviderSpec);
    }
    if spec.engine_class == Hash32::ZERO {
        return Err(TxRejection::EngineClassMissing);
    }
    // A task's replicas all come from one class: a class only colluders declared would win
    // them every replica of the tasks drawn for it, so only the builds the chain admits count.
    if !params.market.engine_classes.contains(&spec.engine_class) {
        return Err(TxRejection::EngineClassNotGoverned);
    }
    Ok(())
}

pub(crate) fn register_provider<R: StateReader + ?Sized>(
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
    bank::debit(state, sender, bond)?;
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
        slots_changed_height: env.height,
        slots_proven: 0,
        spot_checks_passed: 0,
    };
    state.set_provider(sender, &provider);
    Ok(())
}

/// Changes a provider's offer. Its slot count may change only every
/// `slots_change_interval_blocks` after its last capacity change (the price index counts
/// slots, up to those really occupied: changing them every block would let a provider pump
/// or suppress it). Its engine class may change only while no task is in flight: those were
/// drawn for the old class, and a replica must run on the class its task was drawn from (a
/// provider that changed its binary mid-task would otherwise serve a task of another class).
pub(crate) fn update_provider<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    spec: &ProviderSpec,
) -> Result<()> {
    let mut p = state.provider(sender).ok_or(TxRejection::NotProvider)?;
    if matches!(p.status, ProviderStatus::Exiting { .. }) {
        return Err(TxRejection::ProviderExiting);
    }
    check_provider_spec(spec, params)?;
    if spec.engine_class != p.spec.engine_class && p.tasks_in_flight > 0 {
        return Err(TxRejection::EngineClassChangeInFlight);
    }
    if spec.slots != p.spec.slots {
        if !capacity_may_change(&p, params, env) {
            return Err(TxRejection::SlotsChangeTooSoon);
        }
        p.slots_changed_height = env.height;
    }
    // Shrinking below the tasks in flight is allowed: no new tasks arrive until they finish.
    p.spec = spec.clone();
    state.set_provider(sender, &p);
    Ok(())
}

/// Whether `slots_change_interval_blocks` have passed since the provider's last capacity
/// change (a new slot count, a pause or a resume).
fn capacity_may_change(p: &Provider, params: &ChainParams, env: &BlockEnv) -> bool {
    let next = p
        .slots_changed_height
        .saturating_add(params.market.slots_change_interval_blocks);
    env.height >= next
}

/// Pauses or resumes a provider. Pausing is always allowed (an operator must be able to stop
/// taking work at once); resuming changes the capacity the price index counts, so like a new
/// slot count it waits `slots_change_interval_blocks` after the last change (a pause is one):
/// a provider cannot flip its capacity in and out every block.
pub(crate) fn pause_provider<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    paused: bool,
) -> Result<()> {
    let mut p = state.provider(sender).ok_or(TxRejection::NotProvider)?;
    if matches!(p.status, ProviderStatus::Exiting { .. }) {
        return Err(TxRejection::ProviderExiting);
    }
    let status = if paused {
        ProviderStatus::Paused
    } else {
        ProviderStatus::Active
    };
    if status == p.status {
        return Ok(());
    }
    if !paused && !capacity_may_change(&p, params, env) {
        return Err(TxRejection::ResumeTooSoon);
    }
    p.slots_changed_height = env.height;
    p.status = status;
    state.set_provider(sender, &p);
    Ok(())
}

pub(crate) fn exit_provider<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
) -> Result<()> {
    let mut p = state.provider(sender).ok_or(TxRejection::NotProvider)?;
    if matches!(p.status, ProviderStatus::Exiting { .. }) {
        return Err(TxRejection::ProviderExiting);
    }
    // Assigned and committed-but-unrevealed replicas keep a provider from leaving, and so do
    // revealed ones awaiting their verdict: a dissent slash must still find the bond.
    let pending = [&[TAG_ASSIGNED][..], sender.as_bytes()].concat();
    let awaiting = [&[TAG_REVEALED][..], sender.as_bytes()].concat();
    if p.tasks_in_flight > 0 || state.any_under(&pending) || state.any_under(&awaiting) {
        return Err(TxRejection::TasksInFlight);
    }
    // Live storage replicas too: a missed proof's slash must still find the bond. Read by
    // key (the registry's tag), so the market does not import the storage domain above it.
    let held = [&[crate::keys::TAG_STORAGE_HELD][..], sender.as_bytes()].concat();
    if state.any_under(&held) {
        return Err(TxRejection::StorageReplicasHeld);
    }
    let release_height = env.height_after(params.market.unbonding_blocks);
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
    // Providers fetch from these at the requester's word: only plain http(s) addresses.
    if !spec
        .data_sources
        .iter()
        .all(|u| yun_types::market::is_plain_http_url(&u.0))
    {
        return Err(TxRejection::DataSourceInvalid);
    }
    // The index never falls below the floor, so a lower bid could never be matched: it would
    // only sit in the queue every block walks.
    if spec.bid_per_mfuel < m.price_floor_per_mfuel {
        return Err(TxRejection::BidBelowPriceFloor);
    }
    check_runnable(spec, params)?;
    if spec.encryption_key == Some(yun_types::Hash32::ZERO) {
        return Err(TxRejection::EncryptionKeyInvalid);
    }
    check_labels_governed(spec, params)
}

/// What no honest provider could run is refused here, not discovered by replicas (which
/// would then look silent and be punished for the requester's data): a program or an input
/// over the sandbox's limits, or fuel the slowest admitted provider cannot burn before the
/// sandbox's wall clock stops it.
pub fn check_runnable(spec: &JobSpec, params: &ChainParams) -> Result<()> {
    let m = &params.market;
    let reduce_bytes = spec.reduce.as_ref().map_or(0, |r| r.program_bytes);
    if spec.program_bytes.max(reduce_bytes) > m.program_bytes_max {
        return Err(TxRejection::ProgramTooLarge);
    }
    if spec.tasks.iter().any(|t| t.input_bytes > m.input_bytes_max) {
        return Err(TxRejection::InputTooLarge);
    }
    if spec.fuel_per_task > m.task_fuel_wall_clock_max() {
        return Err(TxRejection::FuelOutlastsWallClock);
    }
    Ok(())
}

/// Every label a job requires must be one the chain governs: a requester may not decide
/// eligibility with a label only its own providers carry.
pub fn check_labels_governed(spec: &JobSpec, params: &ChainParams) -> Result<()> {
    let governed = &params.market.governed_labels;
    if spec.required_labels.iter().all(|l| governed.contains(l)) {
        Ok(())
    } else {
        Err(TxRejection::LabelNotGoverned)
    }
}

/// Everything posting `spec` checks before it writes but the requester's balance: the spec,
/// and the queue as the last block left it plus what this block posted so far (the step
/// recounts it after matching) plus `pending_tasks` (the compute precompile's earlier
/// postings in the same Ethereum transaction, not in state yet), so a block's jobs together
/// stay within the limit too. Returns the escrow the job locks.
pub fn check_post<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    params: &ChainParams,
    height: u64,
    spec: &JobSpec,
    pending_tasks: u64,
) -> Result<Amount> {
    check_job_spec(spec, params, height)?;
    let queued = state
        .market()
        .queue_tasks
        .saturating_add(pending_tasks)
        .saturating_add(spec.tasks.len() as u64);
    if queued > params.market.queued_tasks_max {
        return Err(TxRejection::QueuedTasksFull);
    }
    escrow_for(spec)
}

/// `PostJob` (and, with a contract's pseudo-address as `sender`, a posting through the
/// compute precompile, `evm::compute`).
pub(crate) fn post_job<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    job_id: &JobId,
    spec: &JobSpec,
) -> Result<()> {
    let escrow = check_post(state, params, env.height, spec, 0)?;
    let mut market = state.market();
    let queued = market.queue_tasks.saturating_add(spec.tasks.len() as u64);
    // Short of the escrow is its own reason: the requester may have meant a smaller job.
    bank::debit(state, sender, escrow).map_err(|_| TxRejection::InsufficientEscrow)?;
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
            engine_class: None,
            spot_checked: None,
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
    market.queue_tasks = queued;
    state.set_market(&market);
    let mut stats = state.requester_stats(sender);
    stats.jobs_posted = stats
        .jobs_posted
        .checked_add(1)
        .expect("invariant: one job per transaction, far fewer than u64::MAX");
    state.set_requester_stats(sender, &stats);
    Ok(())
}

pub(crate) fn cancel_job<R: StateReader + ?Sized>(
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
    for t in state.job_tasks(job_id, &job) {
        let mut task = state.task(&t).expect("every task of a job exists");
        if task.phase != TaskPhase::Open {
            continue;
        }
        state.delete(queue_key(&t));
        if !task
            .replicas
            .iter()
            .any(|r| r.state.in_flight() || has_verdict(r))
        {
            task.phase = TaskPhase::Failed {
                reason: FailReason::Cancelled,
            };
            job.task_failed();
            state.set_task(&t, &task);
        }
    }
    state.set_job(job_id, &job);
    settle_or_reduce(state, env, job_id, job);
    Ok(())
}

/// A window is open until both its last height and its block time have passed (so neither
/// fast blocks nor a stalled chain closes it early).
fn open_at(env: &BlockEnv, deadline_height: u64, deadline_ms: u64) -> bool {
    env.height <= deadline_height || env.timestamp_ms < deadline_ms
}

/// Finds the caller's replica of a task (not one that expired or was closed).
fn my_replica(task: &Task, provider: &Address) -> Result<usize> {
    task.replicas
        .iter()
        .position(|r| {
            r.provider == *provider
                && !matches!(r.state, ReplicaState::Expired | ReplicaState::Closed)
        })
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

pub(crate) fn commit_results<R: StateReader + ?Sized>(
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
            ReplicaState::Assigned { commit_deadline }
                if open_at(env, commit_deadline, task.replicas[i].deadline_ms) => {}
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
    provider.release_slots(updated.len());
    provider.prove_slots(updated.len());
    state.set_provider(sender, &provider);
    // Each job read once: a batch commits many tasks of a few jobs, and a job record holds its
    // whole spec. Opening reveals writes tasks and markers, never a job.
    let mut jobs: BTreeMap<JobId, Job> = BTreeMap::new();
    for (t, mut task) in updated {
        let job = jobs
            .entry(t.job)
            .or_insert_with(|| state.job(&t.job).expect("a task's job exists"));
        open_reveals_if_all_committed(state, env, params, (&t, &mut task), job);
        state.set_task(&t, &task);
    }
    Ok(())
}

pub(crate) fn reveal_results<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    sender: &Address,
    reveals: &[ResultReveal],
) -> Result<()> {
    no_duplicates(reveals.iter().map(|r| &r.task))?;
    let mut updated = Vec::with_capacity(reveals.len());
    // Each job's fuel limit, read once: a batch reveals many tasks of a few jobs, and a job
    // record holds its whole spec.
    let mut fuel_limits: BTreeMap<JobId, u64> = BTreeMap::new();
    for rv in reveals {
        let task = state.task(&rv.task).ok_or(TxRejection::NotAssigned)?;
        let i = my_replica(&task, sender)?;
        let commitment = match task.replicas[i].state {
            ReplicaState::Committed {
                commitment,
                reveal_deadline: Some(d),
            } if open_at(env, d, task.replicas[i].deadline_ms) => commitment,
            _ => return Err(TxRejection::RevealNotOpen),
        };
        if rv.verdict.commitment(&rv.salt, sender, &rv.task) != commitment {
            return Err(TxRejection::CommitmentMismatch);
        }
        let fuel_limit = *fuel_limits.entry(rv.task.job).or_insert_with(|| {
            let job = state.job(&rv.task.job).expect("a task's job exists");
            job.spec.fuel_per_task
        });
        if rv.verdict.fuel_used > fuel_limit {
            return Err(TxRejection::FuelAboveLimit);
        }
        updated.push((rv.task, task, i, rv.verdict));
    }
    for (t, mut task, i, verdict) in updated {
        seal(state, &t, &mut task, i, verdict);
        // The slot was freed at commit; verification happens at the end of the block. Until
        // then the provider's bond stays (see `exit_provider`).
        state.delete(assigned_key(sender, &t));
        state.mark(revealed_key(sender, &t));
        if task.replicas.iter().all(|r| !r.state.in_flight()) {
            state.mark(verify_key(&t));
        }
        state.set_task(&t, &task);
    }
    Ok(())
}
