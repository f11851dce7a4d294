//! Why a job's task is not finished yet, as `GET /v1/jobs/{id}/why` serves it: the reason,
//! the replicas wanted and live, and how many providers each matching constraint excluded.
//! `yun_state::market::why` computes these from state (they are never stored).

use crate::Amount;
use crate::market_records::FailReason;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a task is not finished yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum WaitReason {
    /// The job's bid is below the market's price index; it runs when the index falls.
    BidBelowIndex {
        bid_per_mfuel: Amount,
        index_per_mfuel: Amount,
    },
    NoActiveProvider,
    NoProviderWithEnoughMemory,
    NoProviderWithLabels,
    /// Every provider that fits asks more than the bid.
    AllAsksAboveBid,
    /// The providers that fit are already replicas of this task (or are the requester).
    TooFewDistinctProviders {
        eligible: u32,
        needed: u32,
    },
    /// Providers fit but have no free slot.
    AllEligibleBusy,
    /// The policy needs this many independent providers (distinct, not the requester) at
    /// once and fewer are eligible: the task waits rather than run on fewer.
    TooFewIndependentProviders {
        eligible: u32,
        needed: u32,
    },
    /// A task's replicas all run on one engine class: the task's class (fixed by its first
    /// draw) has no eligible provider left.
    NoProviderOfTaskEngineClass,
    /// Enough independent providers, but no single engine class holds as many as the policy
    /// needs at once; `eligible` is the most any one class holds.
    TooFewInOneEngineClass {
        eligible: u32,
        needed: u32,
    },
    /// Capacity fits: the task is matched at the end of the next block.
    MatchingNextBlock,
    WaitingForCommits,
    WaitingForReveals,
    /// All verdicts are in; verified at the end of this block.
    Verifying,
    JobClosed,
    /// The reduce task: added once every map task has ended (and one has an output).
    WaitingForMaps {
        maps_open: u32,
    },
    /// The task failed; `unmet` is what kept it from getting its replicas, when that is why.
    Failed {
        fail: FailReason,
        #[schema(no_recursion)]
        unmet: Option<Box<WaitReason>>,
    },
}

impl WaitReason {
    /// The reason in words.
    pub fn describe(&self) -> String {
        match self {
            Self::BidBelowIndex {
                bid_per_mfuel,
                index_per_mfuel,
            } => format!(
                "bid {bid_per_mfuel} per Mfuel is below the price index {index_per_mfuel}; it runs when the index falls (or post a higher bid)"
            ),
            Self::NoActiveProvider => "no active, bonded provider".into(),
            Self::NoProviderWithEnoughMemory => {
                "no provider offers enough memory per slot for this task".into()
            }
            Self::NoProviderWithLabels => {
                "no provider with enough memory carries every required label".into()
            }
            Self::AllAsksAboveBid => "every provider that fits asks more than the bid".into(),
            Self::TooFewDistinctProviders { eligible, needed } => format!(
                "needs {needed} more distinct providers, {eligible} eligible (a task's replicas run on different providers, never the requester)"
            ),
            Self::AllEligibleBusy => "every eligible provider is busy; waiting for a slot".into(),
            Self::TooFewIndependentProviders { eligible, needed } => format!(
                "the verification policy needs {needed} independent providers (distinct, not the requester) with a free slot at once and {eligible} are eligible: it waits rather than run on fewer"
            ),
            Self::NoProviderOfTaskEngineClass => {
                "no eligible provider of the engine class this task's earlier replicas ran on (a task's replicas never mix engine classes)".into()
            }
            Self::TooFewInOneEngineClass { eligible, needed } => format!(
                "the verification policy needs {needed} independent providers of one engine class at once and the largest class has {eligible}: it waits rather than mix engine classes"
            ),
            Self::MatchingNextBlock => "capacity fits: matched at the end of the next block".into(),
            Self::WaitingForCommits => "running: waiting for providers to commit".into(),
            Self::WaitingForReveals => "running: waiting for providers to reveal".into(),
            Self::Verifying => "all verdicts are in: verified at the end of this block".into(),
            Self::JobClosed => "the job is closed: no new replicas".into(),
            Self::WaitingForMaps { maps_open } => format!(
                "the reduce step runs on the network once every map task has ended: {maps_open} still open"
            ),
            Self::Failed { fail, unmet } => {
                let why = match fail {
                    FailReason::NoQuorum => {
                        "failed: no quorum of equal verdicts within the replica cap (the program may be nondeterministic, or providers disagreed); the unspent escrow was refunded"
                    }
                    FailReason::TooManyExpirations => {
                        "failed: too many assigned providers stayed silent; the unspent escrow was refunded — post it again"
                    }
                    FailReason::DeadlinePassed => {
                        "failed: the deadline passed first; the unspent escrow was refunded"
                    }
                    FailReason::Cancelled => {
                        "failed: the job was cancelled; the unspent escrow was refunded"
                    }
                };
                match unmet {
                    Some(u) => format!("{why} — it waited because {}", u.describe()),
                    None => why.into(),
                }
            }
        }
    }
}

/// How many providers one matching constraint removed, in the order they are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Excluded {
    pub constraint: String,
    pub providers: u32,
}

/// One unfinished task and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaskWhy {
    pub index: u32,
    pub reason: WaitReason,
    pub replicas_wanted: u8,
    pub replicas_live: u8,
    pub excluded: Vec<Excluded>,
}
