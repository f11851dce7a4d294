//! Keeps the node's blob store bounded: blobs that no unsettled job references and that
//! nobody read or wrote for the retention period are deleted, on a timer.

use crate::state::NodeState;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};
use yun_blobs::BlobStore;
use yun_state::Overlay;
use yun_state::market::{JobStatus, TAG_JOB};
use yun_types::Hash32;

/// How often the store is swept.
pub const BLOB_COLLECT_INTERVAL: Duration = Duration::from_secs(600);

/// Programs, inputs and reduce programs of every job not yet settled.
pub fn referenced_blobs(node: &NodeState) -> anyhow::Result<BTreeSet<Hash32>> {
    let snapshot = node.store.snapshot()?;
    let state = Overlay::new(&snapshot);
    let mut keep = BTreeSet::new();
    // One pass over the job records (keys `J ‖ job id`); settled jobs need nothing.
    for (key, _) in state.scan(&[TAG_JOB]) {
        let Ok(id) = <[u8; 32]>::try_from(&key[1..]) else {
            continue;
        };
        let Some(job) = state.job(&Hash32(id)) else {
            continue;
        };
        if job.status == JobStatus::Settled {
            continue;
        }
        keep.insert(job.spec.program_hash);
        keep.extend(job.spec.tasks.iter().map(|t| t.input_hash));
        keep.extend(job.spec.reduce.iter().map(|r| r.program_hash));
    }
    Ok(keep)
}

/// Sweeps `blobs` every [`BLOB_COLLECT_INTERVAL`] until the task is dropped.
pub async fn run(node: Arc<NodeState>, blobs: Arc<BlobStore>, retention: Duration) {
    let mut tick = tokio::time::interval(BLOB_COLLECT_INTERVAL);
    loop {
        tick.tick().await;
        let (node, blobs) = (node.clone(), blobs.clone());
        let swept = tokio::task::spawn_blocking(move || {
            let keep = referenced_blobs(&node)?;
            Ok::<_, anyhow::Error>(blobs.collect(|h| keep.contains(h), retention)?)
        })
        .await;
        match swept {
            Ok(Ok(r)) if r.removed_blobs > 0 => {
                info!(
                    removed = r.removed_blobs,
                    bytes = r.removed_bytes,
                    "collected old blobs"
                )
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn!(error = %e, "blob collection failed"),
            Err(e) => warn!(error = %e, "blob collection panicked"),
        }
    }
}
