//! Pruning settled jobs: a job's records (job, tasks, reduce inputs, sealed data keys) leave
//! state `settled_retention_blocks` after it settled, at most `prune_records_per_block_max`
//! deletions a block; the blocks keep its history (its `PostJob` transaction names it).

use super::records::*;
use crate::env::BlockEnv;
use crate::keys::TAG_JOB_KEY;
use crate::overlay::{Overlay, StateReader};
use yun_types::{ChainParams, Hash32};

/// Deletes the records of settled jobs whose retention ended, oldest marker first (key
/// order: height, then job id), spending at most the block's budget of deletions; a job cut
/// short keeps its marker with the index of its next task, and goes on in the next block.
pub(crate) fn prune_settled<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    let mut budget = params.market.prune_records_per_block_max as usize;
    let end = [
        &[TAG_PRUNE][..],
        &(env.height.saturating_add(1)).to_be_bytes()[..],
    ]
    .concat();
    for (marker, progress) in state.range(&[TAG_PRUNE], &end) {
        if budget == 0 {
            return;
        }
        let job_id = Hash32(marker[9..41].try_into().expect("job id"));
        let from = progress
            .get(..4)
            .map_or(0, |b| u32::from_be_bytes(b.try_into().expect("4 bytes")));
        match prune_job(state, &job_id, from, &mut budget) {
            Some(next) => state.put(marker, next.to_be_bytes().to_vec()),
            None => state.delete(marker),
        }
    }
}

/// Deletes what `budget` allows of one job, tasks first (from index `from`), the job record
/// last. Returns the next task index when it ran out of budget first.
fn prune_job<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    job_id: &Hash32,
    from: u32,
    budget: &mut usize,
) -> Option<u32> {
    let job = state.job(job_id)?;
    for t in state.job_tasks(job_id, &job) {
        if t.index < from {
            continue;
        }
        if *budget == 0 {
            return Some(t.index);
        }
        state.delete(task_key(&t));
        *budget -= 1;
    }
    if *budget == 0 {
        // Every task is gone; the job record and its few keys go in the next block.
        return Some(u32::MAX);
    }
    let sealed_keys: Vec<Vec<u8>> = state
        .scan(&[&[TAG_JOB_KEY][..], job_id.as_bytes()].concat())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    // The rest goes in one step, counted as one record: the job and the few keys hanging off
    // it (one sealed key per provider of the job at most), never one without the others.
    for key in sealed_keys {
        state.delete(key);
    }
    if state.get(&reduce_inputs_key(job_id)).is_some() {
        state.delete(reduce_inputs_key(job_id));
    }
    let deadline = job_deadline_key(job.spec.deadline_height, job_id);
    if state.get(&deadline).is_some() {
        state.delete(deadline);
    }
    state.delete(job_key(job_id));
    // A contract's job: the compute precompile's record of it (its callback ran long ago).
    let compute = crate::keys::compute_job_key(job_id);
    if state.get(&compute).is_some() {
        state.delete(compute);
    }
    *budget -= 1;
    None
}
