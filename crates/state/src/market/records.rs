//! What the market keeps in state: provider, job and task records (defined once in
//! `yun_types::market_records`, which the API serves as is), the index keys the end-of-block
//! step walks, and typed access to them through the overlay.

// The tags live in the one registry (`keys`); re-exported so `market::TAG_…` keeps naming them.
pub use crate::keys::{
    TAG_ASSIGNED, TAG_DEADLINE, TAG_EXIT, TAG_JOB, TAG_JOB_DEADLINE, TAG_MARKET, TAG_PROVIDER,
    TAG_PRUNE, TAG_QUEUE, TAG_REDUCE_INPUTS, TAG_REQUESTER, TAG_REVEALED, TAG_SEALED,
    TAG_SPOT_CHECK, TAG_TASK, TAG_VERIFY,
};
use crate::overlay::{Overlay, StateReader};
// Re-exported so `market::decode` keeps decoding a record read raw (as the API does).
pub use crate::record::{decode, encode};
use yun_types::market::{JobId, TaskRef, Verdict};
// The records themselves: one type each, shared with the API and the client.
pub use yun_types::market_records::*;
use yun_types::{Address, Hash32};

pub fn provider_key(a: &Address) -> Vec<u8> {
    [&[TAG_PROVIDER][..], a.as_bytes()].concat()
}
pub fn job_key(j: &JobId) -> Vec<u8> {
    [&[TAG_JOB][..], j.as_bytes()].concat()
}
fn task_suffix(t: &TaskRef) -> Vec<u8> {
    [&t.job.as_bytes()[..], &t.index.to_be_bytes()[..]].concat()
}
pub fn task_key(t: &TaskRef) -> Vec<u8> {
    [&[TAG_TASK][..], &task_suffix(t)].concat()
}
pub fn queue_key(t: &TaskRef) -> Vec<u8> {
    [&[TAG_QUEUE][..], &task_suffix(t)].concat()
}
pub fn assigned_key(p: &Address, t: &TaskRef) -> Vec<u8> {
    [&[TAG_ASSIGNED][..], p.as_bytes(), &task_suffix(t)].concat()
}
pub fn revealed_key(p: &Address, t: &TaskRef) -> Vec<u8> {
    [&[TAG_REVEALED][..], p.as_bytes(), &task_suffix(t)].concat()
}
pub fn deadline_key(height: u64, t: &TaskRef) -> Vec<u8> {
    [
        &[TAG_DEADLINE][..],
        &height.to_be_bytes()[..],
        &task_suffix(t),
    ]
    .concat()
}
pub fn sealed_key(t: &TaskRef) -> Vec<u8> {
    [&[TAG_SEALED][..], &task_suffix(t)].concat()
}
pub fn spot_check_key(height: u64, t: &TaskRef) -> Vec<u8> {
    [
        &[TAG_SPOT_CHECK][..],
        &height.to_be_bytes()[..],
        &task_suffix(t),
    ]
    .concat()
}
pub fn verify_key(t: &TaskRef) -> Vec<u8> {
    [&[TAG_VERIFY][..], &task_suffix(t)].concat()
}
pub fn exit_key(height: u64, p: &Address) -> Vec<u8> {
    [&[TAG_EXIT][..], &height.to_be_bytes()[..], p.as_bytes()].concat()
}
pub fn job_deadline_key(height: u64, j: &JobId) -> Vec<u8> {
    [
        &[TAG_JOB_DEADLINE][..],
        &height.to_be_bytes()[..],
        j.as_bytes(),
    ]
    .concat()
}
pub fn prune_key(height: u64, j: &JobId) -> Vec<u8> {
    [&[TAG_PRUNE][..], &height.to_be_bytes()[..], j.as_bytes()].concat()
}
pub fn reduce_inputs_key(j: &JobId) -> Vec<u8> {
    [&[TAG_REDUCE_INPUTS][..], j.as_bytes()].concat()
}
pub fn requester_key(a: &Address) -> Vec<u8> {
    [&[TAG_REQUESTER][..], a.as_bytes()].concat()
}

/// Decodes the task named by the tail of an index key (`… ‖ job ‖ index`).
pub fn task_ref_of_tail(key: &[u8]) -> TaskRef {
    let tail = &key[key.len() - 36..];
    TaskRef {
        job: Hash32(tail[..32].try_into().expect("32 bytes")),
        index: u32::from_be_bytes(tail[32..].try_into().expect("4 bytes")),
    }
}

/// Typed market access on an overlay.
impl<R: StateReader + ?Sized> Overlay<'_, R> {
    pub fn provider(&self, a: &Address) -> Option<Provider> {
        self.get(&provider_key(a)).map(|v| decode(&v))
    }
    pub fn set_provider(&mut self, a: &Address, p: &Provider) {
        self.put(provider_key(a), encode(p));
    }
    pub fn job(&self, j: &JobId) -> Option<Job> {
        self.get(&job_key(j)).map(|v| decode(&v))
    }
    pub fn set_job(&mut self, j: &JobId, job: &Job) {
        self.put(job_key(j), encode(job));
    }
    /// Marks a job the caller has read, changes and writes back with
    /// [`Overlay::set_job_held`]: reading it meanwhile is a bug (asserted in debug builds).
    pub fn hold_job(&mut self, j: &JobId) {
        self.hold(&job_key(j));
    }
    /// Ends [`Overlay::hold_job`] without writing: the held copy did not change.
    pub fn release_job(&mut self, j: &JobId) {
        self.release(&job_key(j));
    }
    /// Writes back a job taken with [`Overlay::hold_job`].
    pub fn set_job_held(&mut self, j: &JobId, job: &Job) {
        self.release(&job_key(j));
        self.set_job(j, job);
    }
    pub fn task(&self, t: &TaskRef) -> Option<Task> {
        self.get(&task_key(t)).map(|v| decode(&v))
    }
    pub fn set_task(&mut self, t: &TaskRef, task: &Task) {
        self.put(task_key(t), encode(task));
    }
    /// Every task of a job that exists: its map tasks, then its reduce task once added.
    pub fn job_tasks(&self, j: &JobId, job: &Job) -> Vec<TaskRef> {
        let maps = (0..job.spec.tasks.len() as u32).map(|index| TaskRef { job: *j, index });
        let reduce = job
            .reduce_index()
            .map(|index| TaskRef { job: *j, index })
            .filter(|t| self.get(&task_key(t)).is_some());
        maps.chain(reduce).collect()
    }
    /// The inputs of a job's reduce task; empty until the task is added.
    pub fn reduce_inputs(&self, j: &JobId) -> Vec<ReduceInput> {
        self.get(&reduce_inputs_key(j))
            .map(|v| decode(&v))
            .unwrap_or_default()
    }
    pub fn set_reduce_inputs(&mut self, j: &JobId, inputs: &[ReduceInput]) {
        self.put(reduce_inputs_key(j), encode(&inputs.to_vec()));
    }
    pub fn market(&self) -> MarketState {
        self.get(&[TAG_MARKET])
            .map(|v| decode(&v))
            .unwrap_or_default()
    }
    /// Whether a later block is awaited even with no task queued and no slot busy: a lone
    /// replica's spot check is decided in the next block (`C`), and a committed replica's
    /// reveal window closes only in a block (`D`). The node keeps making blocks at its busy
    /// pace while this holds; an idle chain would otherwise leave such a task waiting for
    /// the idle interval (a day on a devnet).
    pub fn market_awaits_blocks(&self) -> bool {
        self.any_under(&[TAG_SPOT_CHECK])
            || self.any_under(&[TAG_DEADLINE])
            || self.any_under(&[crate::keys::TAG_COMPUTE_DUE])
    }
    pub fn set_market(&mut self, m: &MarketState) {
        self.put(vec![TAG_MARKET], encode(m));
    }
    /// The verdicts revealed for a task and still sealed: (replica index, verdict).
    pub fn sealed(&self, t: &TaskRef) -> Vec<(u32, Verdict)> {
        self.get(&sealed_key(t))
            .map(|v| decode(&v))
            .unwrap_or_default()
    }
    pub fn set_sealed(&mut self, t: &TaskRef, sealed: &[(u32, Verdict)]) {
        if sealed.is_empty() {
            self.delete(sealed_key(t));
        } else {
            self.put(sealed_key(t), encode(&sealed.to_vec()));
        }
    }
    pub fn requester_stats(&self, a: &Address) -> RequesterStats {
        self.get(&requester_key(a))
            .map(|v| decode(&v))
            .unwrap_or_default()
    }
    pub fn set_requester_stats(&mut self, a: &Address, s: &RequesterStats) {
        self.put(requester_key(a), encode(s));
    }
}
