//! Which verdicts go into the agent's next commit or reveal transaction: the chain applies a
//! batch whole or not at all, so a batch holds only replicas it can still accept, earliest
//! deadline first.

use crate::journal::{WorkRecord, WorkResult};
use crate::{BATCH_MAX, RESEND_AFTER_BLOCKS, task_of};
use std::collections::BTreeMap;
use yun_types::api::{AssignmentView, AssignmentsResponse, ReplicaState};
use yun_types::market::{ResultCommit, ResultReveal, TaskRef};
use yun_types::{Action, Address};

/// The two transactions an agent sends for its verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Send {
    Commit = 0,
    Reveal = 1,
}

impl Send {
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Send::Commit => "committed",
            Send::Reveal => "revealed",
        }
    }

    /// The last height a transaction of this kind may land for `a`, if `a` awaits one.
    fn deadline(self, a: &AssignmentView) -> Option<u64> {
        match (self, &a.state) {
            (Send::Commit, ReplicaState::Assigned { commit_deadline }) => Some(*commit_deadline),
            (
                Send::Reveal,
                ReplicaState::Committed {
                    reveal_deadline: Some(d),
                    ..
                },
            ) => Some(*d),
            _ => None,
        }
    }

    /// The height at which `r` was last sent in a transaction of this kind.
    pub(crate) fn sent_mut(self, r: &mut WorkRecord) -> &mut Option<u64> {
        match self {
            Send::Commit => &mut r.commit_sent_height,
            Send::Reveal => &mut r.reveal_sent_height,
        }
    }

    /// The transaction for `records`, each of which holds a verdict.
    pub(crate) fn action(self, records: &[WorkRecord], me: &Address) -> Action {
        let verdicts = records.iter().filter_map(|r| match &r.result {
            WorkResult::Verdict { verdict, salt } => Some((r.task, verdict, salt)),
            WorkResult::HostFault { .. } => None,
        });
        match self {
            Send::Commit => Action::CommitResults {
                commits: verdicts
                    .map(|(task, v, salt)| ResultCommit {
                        task,
                        commitment: v.commitment(salt, me, &task),
                    })
                    .collect(),
            },
            Send::Reveal => Action::RevealResults {
                reveals: verdicts
                    .map(|(task, v, salt)| ResultReveal {
                        task,
                        verdict: *v,
                        salt: *salt,
                    })
                    .collect(),
            },
        }
    }
}

fn due(sent: Option<u64>, height: u64) -> bool {
    sent.is_none_or(|s| height >= s + RESEND_AFTER_BLOCKS)
}

/// The next batch of `kind` from `view` (at most [`BATCH_MAX`], earliest deadline first),
/// each record marked as sent at the view's height. Left out: replicas not awaiting this
/// kind, those whose deadline is at or below the view's height (the transaction lands in a
/// later block at best, where it could only fail the whole batch), records without a verdict,
/// and those sent less than [`RESEND_AFTER_BLOCKS`] ago. `journal` must hold only durable
/// records: whatever it holds may be committed.
pub(crate) fn pick(
    kind: Send,
    view: &AssignmentsResponse,
    journal: &mut BTreeMap<TaskRef, WorkRecord>,
) -> Vec<WorkRecord> {
    let mut ready: Vec<(u64, TaskRef)> = view
        .assignments
        .iter()
        .filter_map(|a| {
            let deadline = kind.deadline(a).filter(|d| *d > view.height)?;
            let r = journal.get(&task_of(a))?;
            let verdict = matches!(r.result, WorkResult::Verdict { .. });
            let sent = match kind {
                Send::Commit => r.commit_sent_height,
                Send::Reveal => r.reveal_sent_height,
            };
            (verdict && due(sent, view.height)).then_some((deadline, r.task))
        })
        .collect();
    ready.sort_unstable();
    ready.truncate(BATCH_MAX);
    ready
        .into_iter()
        .map(|(_, t)| {
            let r = journal.get_mut(&t).expect("picked from the journal");
            *kind.sent_mut(r) = Some(view.height);
            r.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use yun_types::Hash32;
    use yun_types::market::{TaskSpec, Verdict};

    fn assignment(index: u32, state: ReplicaState) -> AssignmentView {
        AssignmentView {
            job: Hash32([1; 32]),
            index,
            assigned_height: 1,
            price_per_mfuel: yun_types::Amount::ZERO,
            state,
            deadline: None,
            program_hash: Hash32([2; 32]),
            program_bytes: 1,
            fuel_per_task: 1,
            memory_bytes_per_task: 1,
            task: TaskSpec {
                input_hash: Hash32([3; 32]),
                input_bytes: 0,
                args: Vec::new(),
            },
            reduce_inputs: None,
            engine_class: None,
            data_sources: Vec::new(),
            encryption_key: None,
        }
    }

    fn committed(index: u32, reveal_deadline: u64) -> AssignmentView {
        let state = ReplicaState::Committed {
            commitment: Hash32([4; 32]),
            reveal_deadline: Some(reveal_deadline),
        };
        assignment(index, state)
    }

    fn record(a: &AssignmentView, verdict: bool) -> WorkRecord {
        let result = if verdict {
            WorkResult::Verdict {
                verdict: Verdict {
                    status_tag: 0,
                    status_value: 0,
                    fuel_used: 1,
                    output_digest: Hash32([5; 32]),
                },
                salt: Hash32([6; 32]),
            }
        } else {
            WorkResult::HostFault {
                message: "fetch failed".into(),
            }
        };
        WorkRecord {
            task: task_of(a),
            seen_height: 1,
            result,
            commit_sent_height: None,
            reveal_sent_height: None,
        }
    }

    fn view(height: u64, assignments: Vec<AssignmentView>) -> AssignmentsResponse {
        AssignmentsResponse {
            provider: Address([9; 32]),
            height,
            assignments,
        }
    }

    fn indices(records: &[WorkRecord]) -> Vec<u32> {
        records.iter().map(|r| r.task.index).collect()
    }

    #[test]
    fn reveals_go_earliest_deadline_first_without_the_late_or_unfinished() {
        let list = vec![
            committed(0, 30),
            committed(1, 10), // at the view's height: too late
            committed(2, 12),
            committed(3, 9), // past
            committed(4, 11),
            committed(5, 11), // no verdict
            assignment(
                6,
                ReplicaState::Assigned {
                    commit_deadline: 20,
                },
            ),
        ];
        let mut journal: BTreeMap<_, _> = list
            .iter()
            .map(|a| (task_of(a), record(a, a.index != 5)))
            .collect();
        let v = view(10, list);
        assert_eq!(indices(&pick(Send::Reveal, &v, &mut journal)), [4, 2, 0]);
        assert_eq!(indices(&pick(Send::Commit, &v, &mut journal)), [6]);
        // Marked as sent: not again before RESEND_AFTER_BLOCKS have passed.
        assert!(pick(Send::Reveal, &v, &mut journal).is_empty());
        // Due again later, but by then only index 0's deadline has not passed.
        let later = view(10 + RESEND_AFTER_BLOCKS, v.assignments.clone());
        assert_eq!(indices(&pick(Send::Reveal, &later, &mut journal)), [0]);
    }

    #[test]
    fn a_batch_holds_at_most_the_chains_limit_and_only_journaled_records() {
        let list: Vec<_> = (0..BATCH_MAX as u32 + 10)
            .map(|i| committed(i, 1_000 - u64::from(i)))
            .collect();
        let mut journal: BTreeMap<_, _> = list
            .iter()
            .filter(|a| a.index != 0)
            .map(|a| (task_of(a), record(a, true)))
            .collect();
        let batch = pick(Send::Reveal, &view(5, list), &mut journal);
        assert_eq!(batch.len(), BATCH_MAX);
        // The latest deadlines (lowest indices) wait; index 0 has no durable record.
        assert_eq!(batch[0].task.index, BATCH_MAX as u32 + 9);
        assert!(batch.iter().all(|r| r.task.index >= 10));
    }
}
