//! The compute market's state records (provider, job, task, replica, market-wide numbers,
//! requester usage): one type each, borsh-encoded in state and served as JSON by the API as is.
//!
//! Field and variant order is the borsh encoding and so part of every state digest: append,
//! never reorder. The counter methods that mutate a record are state's transitions; only
//! `yun_state` calls them.

use crate::market::{JobSpec, ProviderSpec, Verdict};
use crate::{Address, Amount, Hash32};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a provider stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ProviderStatus {
    Active,
    Paused,
    /// Exited; its bond returns at `release_height`.
    Exiting {
        release_height: u64,
    },
}

/// A provider: its offer, bond, reputation and the seed's `getMinerStatus` numbers.
#[derive(
    Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, ToSchema,
)]
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
    /// When the capacity it offers last changed (registration, a new slot count, a pause or a
    /// resume): `UpdateProvider` may change the slot count, and `PauseProvider` resume, only
    /// `slots_change_interval_blocks` later.
    pub slots_changed_height: u64,
    /// The most replicas it has committed in one transaction (work delivered at once): the
    /// slots the compute price index counts for it (up to its declared slots, at least one),
    /// so capacity is what was really occupied, not what was declared.
    #[serde(default)]
    pub slots_proven: u32,
    /// Spot checks of a lone trusted replica of its that others corroborated, since it last
    /// lost trust: only these relax its probation spot-check rate (`spot_check_ppm`), so honest
    /// work it chooses to do between lies buys it nothing.
    #[serde(default)]
    pub spot_checks_passed: u64,
}

// The counters change only through these, checked: a count that would wrap is a broken
// invariant (a slot freed twice, a task closed twice), and consensus stops on it rather than
// carrying a wrapped number into every later block.
impl Provider {
    pub fn free_slots(&self) -> u32 {
        self.spec.slots.saturating_sub(self.tasks_in_flight)
    }

    /// A replica assigned: one more slot busy.
    pub fn take_slot(&mut self) {
        self.tasks_in_flight = self
            .tasks_in_flight
            .checked_add(1)
            .expect("invariant: a provider is assigned at most its free slots");
    }

    /// `n` replicas committed at once: it has shown it really holds at least `n` slots.
    pub fn prove_slots(&mut self, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX).min(self.spec.slots);
        self.slots_proven = self.slots_proven.max(n);
    }

    /// The slots the price index counts: its declared slots, but no more than it has shown by
    /// committing that many replicas at once (at least one, so a new provider is not
    /// invisible).
    pub fn slots_counted(&self) -> u32 {
        self.spec.slots.min(self.slots_proven.max(1))
    }

    /// `n` assigned replicas committed or expired: their slots are free again.
    pub fn release_slots(&mut self, n: usize) {
        self.tasks_in_flight = u32::try_from(n)
            .ok()
            .and_then(|n| self.tasks_in_flight.checked_sub(n))
            .expect("invariant: only assigned replicas release slots, each once");
    }

    /// A result others corroborated: +1 reputation, +1 to the run of verified results.
    pub fn gain_trust(&mut self) {
        let within = "invariant: one step per verified result, far fewer than u64::MAX";
        self.reputation = self.reputation.checked_add(1).expect(within);
        self.streak = self.streak.checked_add(1).expect(within);
    }

    /// A dissent or a silence: reputation ×2/3 (rounded down), the run of verified results
    /// starts over.
    pub fn lose_trust(&mut self) {
        self.reputation = self.reputation.checked_mul(2).expect(
            "invariant: reputation grows by one per verified result, far below u64::MAX / 2",
        ) / 3;
        self.streak = 0;
        self.spot_checks_passed = 0;
    }

    /// A spot check of its lone trusted replica was corroborated: its probation relaxes a step.
    pub fn pass_spot_check(&mut self) {
        self.spot_checks_passed = self
            .spot_checks_passed
            .checked_add(1)
            .expect("invariant: one per spot-checked task, far fewer than u64::MAX");
    }

    /// One more verified result of `fuel`, paid.
    pub fn count_verified(&mut self, fuel: u64) {
        self.tasks_verified = self
            .tasks_verified
            .checked_add(1)
            .expect("invariant: one per verified replica, far fewer than u64::MAX");
        // A running total for display: saturating is its stated rule (as before).
        self.fuel_verified = self.fuel_verified.saturating_add(fuel);
    }
}

/// Where a job stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Open,
    Cancelled,
    /// Every task is verified or failed and the unspent escrow went back.
    Settled,
}

/// A job: who posted it, its spec, escrow and task counts.
#[derive(
    Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, ToSchema,
)]
pub struct Job {
    pub requester: Address,
    pub spec: JobSpec,
    /// Locked and not yet paid out or refunded.
    pub escrow: Amount,
    pub spent: Amount,
    pub refunded: Amount,
    pub status: JobStatus,
    pub posted_height: u64,
    /// Task counts; once the reduce task is added they count it too (one more than the map
    /// tasks in all).
    pub tasks_open: u32,
    pub tasks_verified: u32,
    pub tasks_failed: u32,
    pub settled_height: Option<u64>,
    /// Set when the requester cancelled (the status moves on to `Settled` once work drains).
    pub cancelled_height: Option<u64>,
}

impl Job {
    /// The index of the job's reduce task, if it has a reduce step: one past the map tasks.
    /// The task itself exists only once every map task ended and one was verified.
    pub fn reduce_index(&self) -> Option<u32> {
        self.spec
            .reduce
            .as_ref()
            .map(|_| self.spec.tasks.len() as u32)
    }

    /// The reduce task was added: one more open task.
    pub fn task_added(&mut self) {
        self.tasks_open = self
            .tasks_open
            .checked_add(1)
            .expect("invariant: at most the job's task count plus its reduce is open");
    }

    /// An open task failed.
    pub fn task_failed(&mut self) {
        self.close_task();
        self.tasks_failed = self
            .tasks_failed
            .checked_add(1)
            .expect("invariant: at most the job's task count fails");
    }

    /// An open task verified.
    pub fn task_verified(&mut self) {
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

/// Why a task failed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    ToSchema,
)]
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

/// Where a task stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    ToSchema,
)]
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

/// The state of one replica (one provider's run of one task).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReplicaState {
    /// Must commit its verdict by `commit_deadline`.
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
    /// Revealed, but the task failed without a quorum: neither paid nor slashed.
    Unsettled,
    /// Revealed; the verdict is kept out of the record (sealed in state) until no replica of
    /// the task is still working, so a replica added later cannot read it here.
    Sealed,
    /// The task ended (failed or its job closed) before this replica finished: its slot and
    /// assignment are released; neither paid nor punished.
    Closed,
}

impl ReplicaState {
    /// Still occupying one of the provider's slots.
    pub fn in_flight(&self) -> bool {
        matches!(
            self,
            ReplicaState::Assigned { .. } | ReplicaState::Committed { .. }
        )
    }

    /// The next height this replica must act by, if it must act.
    pub fn deadline(&self) -> Option<u64> {
        match self {
            ReplicaState::Assigned { commit_deadline } => Some(*commit_deadline),
            ReplicaState::Committed {
                reveal_deadline, ..
            } => *reveal_deadline,
            _ => None,
        }
    }

    /// One word for tables.
    pub fn name(&self) -> &'static str {
        match self {
            ReplicaState::Assigned { .. } => "assigned",
            ReplicaState::Committed { .. } => "committed",
            ReplicaState::Revealed { .. } => "revealed",
            ReplicaState::Expired => "expired",
            ReplicaState::Paid { .. } => "paid",
            ReplicaState::Unsettled => "unsettled",
            ReplicaState::Sealed => "sealed",
            ReplicaState::Closed => "closed",
        }
    }
}

/// One replica of a task.
#[derive(
    Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, ToSchema,
)]
pub struct Replica {
    pub provider: Address,
    pub assigned_height: u64,
    /// The block's clearing price when it was matched, per million fuel.
    pub price_per_mfuel: Amount,
    pub state: ReplicaState,
    /// Its current deadline passes only once the block time reaches this too (milliseconds
    /// since the Unix epoch): windows are time, so filling blocks faster cannot shrink them.
    #[serde(default)]
    pub deadline_ms: u64,
}

/// One task of a job and its replicas.
#[derive(
    Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, ToSchema,
)]
pub struct Task {
    pub phase: TaskPhase,
    pub replicas: Vec<Replica>,
    /// Replicas that should be running or done (not expired) right now.
    pub replicas_wanted: u8,
    pub expirations: u8,
    /// The engine class its first replicas were drawn from; every later replica (escalation,
    /// spot check, a replacement for an expired one) comes from the same class, so all its
    /// verdicts are comparable. `None` until the first draw.
    #[serde(default)]
    pub engine_class: Option<Hash32>,
    /// The provider whose lone trusted replica was spot-checked in this task: if the check
    /// corroborates it, it has passed one more spot check (`Provider::spot_checks_passed`).
    #[serde(default)]
    pub spot_checked: Option<Address>,
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

/// One input of a job's reduce task: a verified map task's output, as its verdict records it.
/// The list is fixed by the chain when the reduce task is added (every map task with an
/// accepted output, in index order) and stored with the job, so every reducer reads the same.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    ToSchema,
)]
pub struct ReduceInput {
    /// The map task's index (its files appear as `/in/NNNNN.stdout`, `/in/NNNNN.NAME`).
    pub index: u32,
    /// The accepted output archive's blake3, served by the providers paid for it.
    pub output_digest: Hash32,
}

/// Market-wide numbers the end-of-block step maintains.
#[derive(
    Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, Default,
)]
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
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    Default,
    ToSchema,
)]
pub struct RequesterStats {
    pub jobs_posted: u64,
    pub tasks_verified: u64,
    pub fuel_verified: u64,
    pub spent: Amount,
}
