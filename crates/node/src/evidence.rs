//! Turns the equivocations consensus reports into on-chain evidence: the reporter keeps each
//! conflicting pair (bounded, one per offender, view and kind), and a validator's submit loop
//! sends them as `ReportEquivocation` transactions signed with its own key. Several honest
//! validators may report the same equivocation; the chain slashes it once and refuses the
//! rest at inclusion (`EvidenceAlreadyUsed`), so they cost nothing.

use commonware_actor::Feedback;
use commonware_codec::Encode as _;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::{Activity, Attributable as _};
use commonware_consensus::{Epochable as _, Reporter, Viewable as _};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use yun_types::block::ConsensusDigest;
use yun_types::evidence::{Equivocation, EvidenceKind};

/// Most pieces of evidence waiting to be submitted; past it new ones are dropped (the
/// offender has plenty of evidence against it already).
pub const EVIDENCE_PENDING_MAX: usize = 256;
/// Most (offender, view, kind) triples remembered as already handled, so a flood of repeats
/// is not resubmitted.
pub const EVIDENCE_SEEN_MAX: usize = 4_096;

/// (epoch, signer index in that epoch's set, view, kind): one equivocation.
type EvidenceId = (u64, u32, u64, EvidenceKind);

/// Evidence consensus reported, kept for the chain.
#[derive(Debug, Default)]
pub struct EvidencePool {
    inner: Mutex<PoolInner>,
    reported_total: AtomicU64,
}

#[derive(Debug, Default)]
struct PoolInner {
    pending: BTreeMap<EvidenceId, Equivocation>,
    seen: BTreeSet<EvidenceId>,
}

impl EvidencePool {
    /// Keeps new evidence; repeats and overflow are ignored.
    pub fn add(&self, id: EvidenceId, evidence: Equivocation) {
        let mut inner = self.inner.lock().expect("evidence lock");
        if inner.seen.contains(&id) || inner.pending.len() >= EVIDENCE_PENDING_MAX {
            return;
        }
        if inner.seen.len() >= EVIDENCE_SEEN_MAX {
            inner.seen.pop_first();
        }
        inner.seen.insert(id);
        inner.pending.insert(id, evidence);
        self.reported_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes everything waiting, in (offender, view, kind) order.
    pub fn take(&self) -> Vec<Equivocation> {
        let mut inner = self.inner.lock().expect("evidence lock");
        std::mem::take(&mut inner.pending).into_values().collect()
    }

    /// Equivocations consensus reported to this node since it started.
    pub fn reported_total(&self) -> u64 {
        self.reported_total.load(Ordering::Relaxed)
    }
}

/// The consensus reporter that feeds an [`EvidencePool`] (everything else is ignored).
#[derive(Debug, Clone)]
pub struct EvidenceReporter {
    pub pool: Arc<EvidencePool>,
}

impl Reporter for EvidenceReporter {
    type Activity = Activity<Scheme, ConsensusDigest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        let epoch = activity.epoch().get();
        let (kind, signer, view, bytes) = match &activity {
            Activity::ConflictingNotarize(c) => (
                EvidenceKind::ConflictingNotarize,
                c.signer(),
                c.view(),
                c.encode(),
            ),
            Activity::ConflictingFinalize(c) => (
                EvidenceKind::ConflictingFinalize,
                c.signer(),
                c.view(),
                c.encode(),
            ),
            Activity::NullifyFinalize(c) => (
                EvidenceKind::NullifyFinalize,
                c.signer(),
                c.view(),
                c.encode(),
            ),
            _ => return Feedback::Ok,
        };
        tracing::warn!(
            epoch,
            signer = signer.get(),
            view = view.get(),
            ?kind,
            "validator equivocated"
        );
        self.pool.add(
            (epoch, signer.get(), view.get(), kind),
            Equivocation {
                kind,
                bytes: bytes.to_vec(),
            },
        );
        Feedback::Ok
    }
}
