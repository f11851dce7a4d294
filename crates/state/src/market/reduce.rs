//! A job's reduce step on the network: when the last map task ends, the chain adds the reduce
//! task (one past the map tasks) over the accepted map outputs, or settles the job.
//!
//! The reduce task is an ordinary task from then on: queued, drawn, committed, revealed,
//! verified by the job's own policy and paid from the escrow locked for it at posting
//! (`escrow_for` counts it as one more task). Its inputs are fixed here, from the verdicts
//! in state, so every reducer runs over the same list; the job settles only once it ends.

use super::escrow::{initial_replicas, settle_job_if_done};
use super::records::*;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use yun_types::market::{JobId, TaskRef};

/// Called whenever a task of the job ended: with no task open, either adds the job's reduce
/// task (if it has a reduce step not yet added, is still open, and some map task has an
/// accepted output) or returns the unspent escrow. `job` is the record as the caller just
/// wrote it: a job record holds its whole spec (tens of KiB for hundreds of tasks), and
/// decoding it again for every ended task was the market's largest cost.
pub(crate) fn settle_or_reduce<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    job_id: &JobId,
    job: Job,
) {
    debug_assert!(
        state.job(job_id).as_ref() == Some(&job),
        "the caller passes the job as written"
    );
    if job.tasks_open == 0
        && job.status == JobStatus::Open
        && let Some(index) = job.reduce_index()
    {
        let t = TaskRef {
            job: *job_id,
            index,
        };
        if state.task(&t).is_none() && add_reduce(state, env, &t, job.clone()) {
            return;
        }
    }
    settle_job_if_done(state, env, job_id, job);
}

/// Adds the reduce task `t` over the map outputs the chain accepted; false (nothing written)
/// if there are none. A cannot-run verdict names no output, so it is no input. Past the
/// job's deadline the task is added already failed, so the job view says why no reduce ran.
fn add_reduce<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    t: &TaskRef,
    mut job: Job,
) -> bool {
    let inputs: Vec<ReduceInput> = (0..t.index)
        .filter_map(|index| {
            let map = state.task(&TaskRef { job: t.job, index })?;
            match map.phase {
                TaskPhase::Verified { verdict } if !verdict.is_cannot_run() => Some(ReduceInput {
                    index,
                    output_digest: verdict.output_digest,
                }),
                _ => None,
            }
        })
        .collect();
    if inputs.is_empty() {
        return false;
    }
    state.set_reduce_inputs(&t.job, &inputs);
    job.task_added();
    let open = env.height < job.spec.deadline_height;
    let phase = if open {
        TaskPhase::Open
    } else {
        job.task_failed();
        TaskPhase::Failed {
            reason: FailReason::DeadlinePassed,
        }
    };
    let task = Task {
        phase,
        replicas: Vec::new(),
        replicas_wanted: initial_replicas(&job.spec.verification),
        expirations: 0,
        // Drawn like a map task: its first draw picks the class.
        engine_class: None,
        spot_checked: None,
    };
    state.set_task(t, &task);
    state.set_job(&t.job, &job);
    if open {
        state.mark(queue_key(t));
    }
    open
}
