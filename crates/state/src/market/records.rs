//! What the market keeps in state: provider, job and task records, the index keys the
//! end-of-block step walks, and typed access to them through the overlay.

// The tags live in the one registry (`keys`); re-exported so `market::TAG_…` keeps naming them.
pub use crate::keys::{
    TAG_ASSIGNED, TAG_DEADLINE, TAG_EXIT, TAG_JOB, TAG_JOB_DEADLINE, TAG_MARKET, TAG_PROVIDER,
    TAG_QUEUE, TAG_REQUESTER, TAG_TASK, TAG_VERIFY,
};
use crate::overlay::{Overlay, StateReader};
// Re-exported so `market::decode` keeps decoding a record read raw (as the API does).
pub use crate::record::{decode, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use yun_types::market::{JobId, JobSpec, ProviderSpec, TaskRef, Verdict};
use yun_types::{Address, Amount, Hash32};

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

// The counters change only through these, checked: a count that would wrap is a broken
// invariant (a slot freed twice, a task closed twice), and consensus stops on it rather than
// carrying a wrapped number into every later block.
impl Provider {
    pub fn free_slots(&self) -> u32 {
        self.spec.slots.saturating_sub(self.tasks_in_flight)
    }

    /// A replica assigned: one more slot busy.
    pub(crate) fn take_slot(&mut self) {
        self.tasks_in_flight = self
            .tasks_in_flight
            .checked_add(1)
            .expect("invariant: a provider is assigned at most its free slots");
    }

    /// `n` assigned replicas committed or expired: their slots are free again.
    pub(crate) fn release_slots(&mut self, n: usize) {
        self.tasks_in_flight = u32::try_from(n)
            .ok()
            .and_then(|n| self.tasks_in_flight.checked_sub(n))
            .expect("invariant: only assigned replicas release slots, each once");
    }

    /// A result others corroborated: +1 reputation, +1 to the run of verified results.
    pub(crate) fn gain_trust(&mut self) {
        let within = "invariant: one step per verified result, far fewer than u64::MAX";
        self.reputation = self.reputation.checked_add(1).expect(within);
        self.streak = self.streak.checked_add(1).expect(within);
    }

    /// A dissent or a silence: reputation ×2/3 (rounded down), the run of verified results
    /// starts over.
    pub(crate) fn lose_trust(&mut self) {
        self.reputation = self.reputation.checked_mul(2).expect(
            "invariant: reputation grows by one per verified result, far below u64::MAX / 2",
        ) / 3;
        self.streak = 0;
    }

    /// One more verified result of `fuel`, paid.
    pub(crate) fn count_verified(&mut self, fuel: u64) {
        self.tasks_verified = self
            .tasks_verified
            .checked_add(1)
            .expect("invariant: one per verified replica, far fewer than u64::MAX");
        // A running total for display: saturating is its stated rule (as before).
        self.fuel_verified = self.fuel_verified.saturating_add(fuel);
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

impl Job {
    /// An open task failed.
    pub(crate) fn task_failed(&mut self) {
        self.close_task();
        self.tasks_failed = self
            .tasks_failed
            .checked_add(1)
            .expect("invariant: at most the job's task count fails");
    }

    /// An open task verified.
    pub(crate) fn task_verified(&mut self) {
        self.close_task();
        self.tasks_verified = self
            .tasks_verified
            .checked_add(1)
            .expect("invariant: at most the job's task count verifies");
    }

    fn close_task(&mut self) {
        self.tasks_open = self
            .tasks_open
            .checked_sub(1)
            .expect("invariant: only an open task closes, once");
    }
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
}
