//! `yun job submit --keep-outputs-epochs N`: after a job settles, every verified output (and
//! the reduce's) is kept under a storage deal of its own, copied by the storage providers from
//! a compute provider that was paid for it.

use crate::args::ClientOpts;
use crate::signing::{SignOpts, sign_and_submit};
use anyhow::{Context, bail};
use serde::Serialize;
use yun_client::{Client, paid_holders};
use yun_types::api::{JobResponse, Task, TaskPhase};
use yun_types::market::Text;
use yun_types::storage::{DealId, DealSpec, StorageAction};
use yun_types::{Action, Hash32};

/// One output kept under a deal.
#[derive(Debug, Clone, Serialize)]
pub struct KeptOutput {
    /// The task's index (the reduce's is the map count).
    pub task: u32,
    pub root: Hash32,
    pub size_bytes: u64,
    pub deal: DealId,
}

/// Posts one deal per verified output of `job` for `epochs` epochs at `replicas` replicas,
/// each sourced from the first paid provider that serves it.
pub async fn keep_outputs(
    client: &Client,
    opts: &ClientOpts,
    sign: &SignOpts,
    job: &JobResponse,
    epochs: u32,
    replicas: u8,
) -> anyhow::Result<Vec<KeptOutput>> {
    let tasks = job
        .tasks
        .iter()
        .map(|t| &t.task)
        .chain(job.reduce.as_ref().map(|r| &r.task));
    let mut kept = Vec::new();
    for (index, task) in tasks.enumerate() {
        let TaskPhase::Verified { verdict } = task.phase else {
            continue;
        };
        let root = verdict.output_digest;
        let (source, size_bytes) = served_by(client, task, &root)
            .await
            .with_context(|| format!("keeping the output of task {index}"))?;
        let bid = crate::storage::default_bid(client, replicas, size_bytes).await?;
        let spec = DealSpec {
            root,
            size_bytes,
            replicas,
            epochs,
            bid_per_mib_epoch: bid,
            encrypted: false,
            source_url: Text(source),
        };
        let action = Action::Storage(StorageAction::PostDeal { spec });
        let posted = sign_and_submit(client, opts, sign, action).await?;
        kept.push(KeptOutput {
            task: index as u32,
            root,
            size_bytes,
            deal: posted.id,
        });
    }
    Ok(kept)
}

/// The endpoint of a paid provider that serves `root`, and its length there.
async fn served_by(client: &Client, task: &Task, root: &Hash32) -> anyhow::Result<(String, u64)> {
    let mut errors = Vec::new();
    for p in paid_holders(task) {
        let endpoint = match client.provider(&p).await {
            Ok(v) => v.provider.spec.endpoint.0,
            Err(e) => {
                errors.push(format!("{p}: {e}"));
                continue;
            }
        };
        match Client::new(&endpoint).blob_len(root).await {
            Ok(len) => return Ok((endpoint, len)),
            Err(e) => errors.push(format!("{p} at {endpoint}: {e}")),
        }
    }
    bail!(
        "no provider paid for output {root} serves it any more ({}); the output is in the \
         results directory: `yun storage put FILE` stores it",
        errors.join("; ")
    )
}
