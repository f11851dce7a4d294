//! "Why is my job not running": for each unfinished task, the reason in words and how many
//! providers each matching constraint excluded, computed from current state on request.

use super::auction::{fits, initial_price};
use super::records::*;
use crate::overlay::{Overlay, StateReader};
use std::collections::BTreeMap;
use yun_types::ChainParams;
use yun_types::market::JobId;
pub use yun_types::market_why::{Excluded, TaskWhy, WaitReason};

/// Explains every unfinished or failed task of a job; `None` if there is no such job.
pub fn explain_job<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    params: &ChainParams,
    job_id: &JobId,
) -> Option<Vec<TaskWhy>> {
    explain_job_page(state, params, job_id, None, usize::MAX).map(|(tasks, _)| tasks)
}

/// [`explain_job`] a page at a time: at most `limit` explanations of tasks whose index is
/// above `after`, and the index to continue after when more may follow. Each explained task
/// weighs every provider against the job, so a page bounds the work of one request.
pub fn explain_job_page<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    params: &ChainParams,
    job_id: &JobId,
    after: Option<u32>,
    limit: usize,
) -> Option<(Vec<TaskWhy>, Option<u32>)> {
    let job = state.job(job_id)?;
    let providers: Vec<(yun_types::Address, Provider)> = state
        .scan(&[TAG_PROVIDER])
        .into_iter()
        .map(|(k, v)| {
            (
                yun_types::Address(k[1..33].try_into().expect("address")),
                decode(&v),
            )
        })
        .collect();
    let index = state
        .market()
        .price_index_per_mfuel
        .max(initial_price(params));
    let mut out = Vec::new();
    let tasks = state.job_tasks(job_id, &job);
    let full = |out: &[TaskWhy]| (out.len() >= limit).then(|| out.last().map(|w| w.index));
    for t in tasks.iter().filter(|t| after.is_none_or(|a| t.index > a)) {
        if let Some(next) = full(&out) {
            return Some((out, next));
        }
        let i = t.index;
        let task = state.task(t).expect("every task of a job exists");
        let live = task.live_replicas();
        if let TaskPhase::Failed { reason } = task.phase {
            out.push(failed_why(i, reason, &providers, &job, &task, params, live));
            continue;
        }
        if task.phase != TaskPhase::Open {
            continue;
        }
        let (reason, excluded) = if live >= task.replicas_wanted as usize {
            (running_reason(&task), Vec::new())
        } else if job.status != JobStatus::Open {
            (WaitReason::JobClosed, Vec::new())
        } else if job.spec.bid_per_mfuel < index {
            let r = WaitReason::BidBelowIndex {
                bid_per_mfuel: job.spec.bid_per_mfuel,
                index_per_mfuel: index,
            };
            (r, Vec::new())
        } else {
            pending_reason(
                &providers,
                &job,
                &task,
                params,
                task.replicas_wanted as usize - live,
            )
        };
        out.push(TaskWhy {
            index: i,
            reason,
            replicas_wanted: task.replicas_wanted,
            replicas_live: live as u8,
            excluded,
        });
    }
    if let Some(index) = job.reduce_index()
        && tasks.last().is_none_or(|t| t.index != index)
        && job.status == JobStatus::Open
        && after.is_none_or(|a| index > a)
    {
        if let Some(next) = full(&out) {
            return Some((out, next));
        }
        out.push(TaskWhy {
            index,
            reason: WaitReason::WaitingForMaps {
                maps_open: job.tasks_open,
            },
            replicas_wanted: 0,
            replicas_live: 0,
            excluded: Vec::new(),
        });
    }
    Some((out, None))
}

/// A failed task: why it failed and, if it never got all its replicas, the matching
/// constraint that stood in the way (evaluated now, as if the job were still open).
fn failed_why(
    index: u32,
    fail: FailReason,
    providers: &[(yun_types::Address, Provider)],
    job: &Job,
    task: &Task,
    params: &ChainParams,
    live: usize,
) -> TaskWhy {
    let short = (task.replicas_wanted as usize).saturating_sub(live);
    let (unmet, excluded) = if fail == FailReason::DeadlinePassed && short > 0 {
        let (r, e) = pending_reason(providers, job, task, params, short);
        (Some(Box::new(r)), e)
    } else {
        (None, Vec::new())
    };
    TaskWhy {
        index,
        reason: WaitReason::Failed { fail, unmet },
        replicas_wanted: task.replicas_wanted,
        replicas_live: live as u8,
        excluded,
    }
}

fn running_reason(task: &Task) -> WaitReason {
    if task
        .replicas
        .iter()
        .any(|r| matches!(r.state, ReplicaState::Assigned { .. }))
    {
        WaitReason::WaitingForCommits
    } else if task.replicas.iter().any(|r| r.state.in_flight()) {
        WaitReason::WaitingForReveals
    } else {
        WaitReason::Verifying
    }
}

/// Applies the matching constraints one after another, counting what each removes; the reason
/// is the first constraint that leaves nobody.
fn pending_reason(
    providers: &[(yun_types::Address, Provider)],
    job: &Job,
    task: &Task,
    params: &ChainParams,
    needed: usize,
) -> (WaitReason, Vec<Excluded>) {
    type Filter<'a> = (
        &'static str,
        WaitReason,
        Box<dyn Fn(&yun_types::Address, &Provider) -> bool + 'a>,
    );
    let filters: Vec<Filter> = vec![
        (
            "active_and_bonded",
            WaitReason::NoActiveProvider,
            Box::new(|_, p| {
                p.status == ProviderStatus::Active && p.bond >= params.market.provider_bond_min
            }),
        ),
        (
            "memory",
            WaitReason::NoProviderWithEnoughMemory,
            Box::new(|_, p| p.spec.memory_bytes_per_slot >= job.spec.memory_bytes_per_task),
        ),
        (
            "labels",
            WaitReason::NoProviderWithLabels,
            Box::new(|_, p| fits(p, job)),
        ),
        (
            "ask_at_most_bid",
            WaitReason::AllAsksAboveBid,
            Box::new(|_, p| p.spec.ask_per_mfuel <= job.spec.bid_per_mfuel),
        ),
        (
            "engine_class",
            WaitReason::NoProviderOfTaskEngineClass,
            Box::new(|_, p| task.engine_class.is_none_or(|c| p.spec.engine_class == c)),
        ),
        (
            "distinct_from_replicas_and_requester",
            WaitReason::TooFewDistinctProviders {
                eligible: 0,
                needed: needed as u32,
            },
            Box::new(|a, _| {
                *a != job.requester
                    && !task
                        .replicas
                        .iter()
                        .any(|r| r.provider == *a && r.state != ReplicaState::Expired)
            }),
        ),
        (
            "free_slot",
            WaitReason::AllEligibleBusy,
            Box::new(|_, p| p.free_slots() > 0),
        ),
    ];
    let mut remaining: Vec<&(yun_types::Address, Provider)> = providers.iter().collect();
    let mut excluded = Vec::new();
    let mut reason = None;
    // Independent providers for this task whatever their load, counted before the slot
    // filter: in all, and in the largest engine class (replicas never mix classes).
    let (mut independent, mut in_one_class) = (0, 0);
    for (name, why, keep) in &filters {
        if *name == "free_slot" {
            independent = remaining.len();
            in_one_class = largest_class(&remaining);
        }
        let before = remaining.len();
        remaining.retain(|(a, p)| keep(a, p));
        excluded.push(Excluded {
            constraint: name.to_string(),
            providers: (before - remaining.len()) as u32,
        });
        if remaining.is_empty() && reason.is_none() {
            reason = Some(why.clone());
        }
    }
    // A task gets all the replicas it wants at once or waits: never fewer providers.
    let reason = reason.unwrap_or(if independent < needed {
        WaitReason::TooFewIndependentProviders {
            eligible: independent as u32,
            needed: needed as u32,
        }
    } else if in_one_class < needed {
        WaitReason::TooFewInOneEngineClass {
            eligible: in_one_class as u32,
            needed: needed as u32,
        }
    } else if largest_class(&remaining) < needed {
        WaitReason::AllEligibleBusy
    } else {
        WaitReason::MatchingNextBlock
    });
    (reason, excluded)
}

/// How many of `providers` the most populous engine class holds.
fn largest_class(providers: &[&(yun_types::Address, Provider)]) -> usize {
    let mut per_class: BTreeMap<yun_types::Hash32, usize> = BTreeMap::new();
    for (_, p) in providers {
        *per_class.entry(p.spec.engine_class).or_default() += 1;
    }
    per_class.values().copied().max().unwrap_or(0)
}
