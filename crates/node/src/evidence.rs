//! Turns the equivocations consensus reports into on-chain evidence: the reporter keeps each
//! conflicting pair (bounded, one per offender, view and kind, durable in the node's data
//! directory), and the node's submit loop sends them as fee-free `ReportEquivocation`
//! transactions signed with its own key until the chain has used them. Several honest nodes
//! may report the same equivocation; a mempool keeps one pending report of it and the chain
//! slashes it once, so the others are never included.

use commonware_actor::Feedback;
use commonware_codec::Encode as _;
use commonware_codec::RangeCfg;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::{Activity, Attributable as _};
use commonware_consensus::{Epochable as _, Reporter, Viewable as _};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use yun_types::block::ConsensusDigest;
use yun_types::evidence::{Equivocation, EvidenceKind};

/// Most pieces of evidence waiting to be used by the chain; past it new ones are dropped (the
/// offender has plenty of evidence against it already).
pub const EVIDENCE_PENDING_MAX: usize = 256;
/// Most (offender, view, kind) triples remembered as already handled, so a flood of repeats
/// is not resubmitted.
pub const EVIDENCE_SEEN_MAX: usize = 4_096;

/// The file in a node's data directory holding the equivocation evidence not yet on chain.
pub const EVIDENCE_FILE: &str = "evidence.bin";

/// (epoch, signer index in that epoch's set, view, kind): one equivocation.
pub type EvidenceId = (u64, u32, u64, EvidenceKind);

/// Evidence consensus reported, kept for the chain until the chain has used it: in memory,
/// and, for a node opened on a data directory, in a file there (rewritten whole and renamed
/// into place on every change), so a restart loses none.
#[derive(Debug, Default)]
pub struct EvidencePool {
    inner: Mutex<PoolInner>,
    reported_total: AtomicU64,
    path: Option<PathBuf>,
}

#[derive(Debug, Default)]
struct PoolInner {
    pending: BTreeMap<EvidenceId, Equivocation>,
    seen: BTreeSet<EvidenceId>,
}

/// The pool's key for `evidence`, from what it claims (unverified).
fn id_of(evidence: &Equivocation) -> Option<EvidenceId> {
    let (epoch, signer, view) = evidence.claim()?;
    Some((epoch, signer, view, evidence.kind))
}

impl EvidencePool {
    /// A pool kept in the file `path`: what it held when the node stopped is pending again.
    /// A missing file is an empty pool; an unreadable one is an error (it is ours, and
    /// quietly losing evidence is what this file exists to prevent).
    pub fn open(path: &Path) -> anyhow::Result<EvidencePool> {
        use anyhow::Context as _;
        use commonware_codec::Decode as _;
        let mut inner = PoolInner::default();
        match std::fs::read(path) {
            Ok(bytes) => {
                let cfg = (RangeCfg::new(0..=EVIDENCE_PENDING_MAX), ());
                let kept =
                    Vec::<Equivocation>::decode_cfg(commonware_codec::Copying(&bytes[..]), &cfg)
                        .with_context(|| format!("reading the evidence file {}", path.display()))?;
                for e in kept {
                    if let Some(id) = id_of(&e) {
                        inner.seen.insert(id);
                        inner.pending.insert(id, e);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
        Ok(EvidencePool {
            inner: Mutex::new(inner),
            reported_total: AtomicU64::new(0),
            path: Some(path.to_path_buf()),
        })
    }

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
        self.persist(&inner);
    }

    /// Everything waiting to be used by the chain, in (epoch, signer, view, kind) order. It
    /// stays until [`EvidencePool::remove`]: a submission may be refused or expire.
    pub fn pending(&self) -> Vec<Equivocation> {
        let inner = self.inner.lock().expect("evidence lock");
        inner.pending.values().cloned().collect()
    }

    /// Forgets `evidence`: the chain has used it, or it can never be used.
    pub fn remove(&self, evidence: &Equivocation) {
        let mut inner = self.inner.lock().expect("evidence lock");
        let before = inner.pending.len();
        inner.pending.retain(|_, e| *e != *evidence);
        if inner.pending.len() != before {
            self.persist(&inner);
        }
    }

    /// Writes the pending set to the pool's file (if it has one). A failed write (a full
    /// disk) is logged and the evidence stays in memory: reporting goes on, only a restart
    /// before the next successful write would lose it.
    fn persist(&self, inner: &PoolInner) {
        let Some(path) = &self.path else { return };
        let kept: Vec<Equivocation> = inner.pending.values().cloned().collect();
        let bytes = commonware_codec::Encode::encode(&kept);
        if let Err(e) = crate::private_file::write_private_file(path, &bytes) {
            tracing::warn!(error = %e, "could not write the evidence file; kept in memory");
        }
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
