//! What the market keeps in state: provider, job and task records, the index keys the
//! end-of-block step walks, and typed access to them through the overlay.

use crate::overlay::{Overlay, StateReader};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use yun_types::market::{JobId, JobSpec, ProviderSpec, TaskRef, Verdict};
use yun_types::{Address, Amount, Hash32};

pub const TAG_PROVIDER: u8 = b'P';
pub const TAG_JOB: u8 = b'J';
pub const TAG_TASK: u8 = b'T';
/// Tasks that want more replicas than they have: the matching queue.
pub const TAG_QUEUE: u8 = b'Q';
/// provider ‖ task: replicas a provider holds (what its agent works on).
pub const TAG_ASSIGNED: u8 = b'A';
/// height ‖ task: a replica deadline falls at that height.
pub const TAG_DEADLINE: u8 = b'D';
/// Tasks whose replicas have all revealed or expired: verify at the end of the block.
pub const TAG_VERIFY: u8 = b'V';
/// height ‖ provider: a bond to return at that height.
pub const TAG_EXIT: u8 = b'X';
/// height ‖ job: a job's deadline.
pub const TAG_JOB_DEADLINE: u8 = b'E';
pub const TAG_MARKET: u8 = b'M';
pub const TAG_REQUESTER: u8 = b'R';

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ProviderStatus {
    Active,
    Paused,
    Exiting { release_height: u64 },
}

/// A provider: its offer, bond, reputation and the seed's `getMinerStatus` numbers.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Provider {
    pub spec: ProviderSpec,
    pub bond: Amount,
    pub status: ProviderStatus,
    /// +1 per verified result, ×2/3 per dissent or silence (as in iExec).
    pub reputation: u64,
    /// Consecutive verified results since the last dissent or silence (adaptive trust).
    pub streak: u64,
    pub tasks_in_flight: u32,
    pub tasks_verified: u64,
    pub fuel_verified: u64,
    pub earned: Amount,
    pub slashed: Amount,
    pub last_paid_height: u64,
    pub registered_height: u64,
}

impl Provider {
    pub fn free_slots(&self) -> u32 {
        self.spec.slots.saturating_sub(self.tasks_in_flight)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Open,
    Cancelled,
    /// Every task is verified or failed and the unspent escrow went back.
    Settled,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Job {
    pub requester: Address,
    pub spec: JobSpec,
    /// Locked and not yet paid out or refunded.
    pub escrow: Amount,
    pub spent: Amount,
    pub refunded: Amount,
    pub status: JobStatus,
    pub posted_height: u64,
    pub tasks_open: u32,
    pub tasks_verified: u32,
    pub tasks_failed: u32,
    pub settled_height: Option<u64>,
    /// Set when the requester cancelled (the status moves on to `Settled` once work drains).
    pub cancelled_height: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// No quorum of equal verdicts within the replica cap.
    NoQuorum,
    /// Too many assigned providers stayed silent.
    TooManyExpirations,
    /// The job's deadline passed before the task finished.
    DeadlinePassed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum TaskPhase {
    /// Waiting for (more) replicas or for their verdicts.
    Open,
    Verified {
        verdict: Verdict,
    },
    Failed {
        reason: FailReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReplicaState {
    Assigned {
        commit_deadline: u64,
    },
    /// `reveal_deadline` is set once no replica of the task is still committing.
    Committed {
        commitment: Hash32,
        reveal_deadline: Option<u64>,
    },
    Revealed {
        verdict: Verdict,
    },
    /// Missed a deadline; never paid.
    Expired,
    /// Agreed with the accepted verdict and was paid.
    Paid {
        amount: Amount,
    },
    /// Disagreed with the accepted verdict and was slashed.
    Slashed {
        amount: Amount,
    },
    /// Revealed, but the task failed without a quorum: neither paid nor slashed.
    Unsettled,
}

impl ReplicaState {
    /// Still occupying one of the provider's slots.
    pub fn in_flight(&self) -> bool {
        matches!(
            self,
            ReplicaState::Assigned { .. } | ReplicaState::Committed { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Replica {
    pub provider: Address,
    pub assigned_height: u64,
    /// The block's clearing price when it was matched, per million fuel.
    pub price_per_mfuel: Amount,
    pub state: ReplicaState,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Task {
    pub phase: TaskPhase,
    pub replicas: Vec<Replica>,
    /// Replicas that should be running or done (not expired) right now.
    pub replicas_wanted: u8,
    pub expirations: u8,
}

impl Task {
    /// Replicas that count toward the cap: every one that has not expired.
    pub fn live_replicas(&self) -> usize {
        self.replicas
            .iter()
            .filter(|r| r.state != ReplicaState::Expired)
            .count()
    }
}

/// Market-wide numbers the end-of-block step maintains.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Default)]
pub struct MarketState {
    pub price_index_per_mfuel: Amount,
    pub slots_total: u64,
    pub slots_busy: u64,
    pub queue_tasks: u64,
    /// (height, clearing price) of the most recent blocks that matched anything.
    pub recent_clearing: Vec<(u64, Amount)>,
}

/// Most recent clearing prices kept.
pub const RECENT_CLEARING_MAX: usize = 32;

/// Usage of one requester.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Default)]
pub struct RequesterStats {
    pub jobs_posted: u64,
    pub tasks_verified: u64,
    pub fuel_verified: u64,
    pub spent: Amount,
    pub compensation_received: Amount,
}

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
pub fn deadline_key(height: u64, t: &TaskRef) -> Vec<u8> {
    [
        &[TAG_DEADLINE][..],
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

pub fn encode<T: BorshSerialize>(v: &T) -> Vec<u8> {
    borsh::to_vec(v).expect("in-memory serialization")
}

pub fn decode<T: BorshDeserialize>(raw: &[u8]) -> T {
    borsh::from_slice(raw).expect("state records decode (written by this crate)")
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
    pub fn task(&self, t: &TaskRef) -> Option<Task> {
        self.get(&task_key(t)).map(|v| decode(&v))
    }
    pub fn set_task(&mut self, t: &TaskRef, task: &Task) {
        self.put(task_key(t), encode(task));
    }
    pub fn market(&self) -> MarketState {
        self.get(&[TAG_MARKET])
            .map(|v| decode(&v))
            .unwrap_or_default()
    }
    pub fn set_market(&mut self, m: &MarketState) {
        self.put(vec![TAG_MARKET], encode(m));
    }
    pub fn requester_stats(&self, a: &Address) -> RequesterStats {
        self.get(&requester_key(a))
            .map(|v| decode(&v))
            .unwrap_or_default()
    }
    pub fn set_requester_stats(&mut self, a: &Address, s: &RequesterStats) {
        self.put(requester_key(a), encode(s));
    }
    /// Marks an index entry present (the value carries nothing).
    pub fn mark(&mut self, key: Vec<u8>) {
        self.put(key, Vec::new());
    }
}
