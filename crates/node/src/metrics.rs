//! Node metrics, registered into the runtime's Prometheus registry.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use std::time::Duration;
use yun_types::TxRejection;

/// The stage histograms' buckets: 0.5 ms doubling to 16 s, so a devnet's 1 ms builds and a
/// backlogged network's multi-second waits both land in a bucket of their own.
fn stage_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
}

/// The stages a transaction passes through on its way into a finalized block, timed, so an
/// operator (and `yun bench transfers`, which prints their means) sees where latency goes.
#[derive(Debug, Clone)]
pub struct StageMetrics {
    /// A call to `NodeState::submit` (a client's, or the node's own evidence reports):
    /// signature checks, mempool, the durable write. A peer's gossip is not timed.
    pub admission_seconds: Histogram,
    /// Of it, the durable write, when there was anything to write (queued behind a block's
    /// commit when one holds the file).
    pub admission_durable_write_seconds: Histogram,
    /// A proposer's wait for a committing block before it builds (only when it waits).
    pub commit_wait_seconds: Histogram,
    /// Executing and hashing a proposal.
    pub block_build_seconds: Histogram,
    /// From a block's timestamp (set by its proposer when the build starts) to marshal's
    /// delivery of it, finalized, on this node's runtime clock: build and consensus. On a node
    /// that did not propose the block it includes the two clocks' offset (a delivery that
    /// seems to precede the timestamp is not counted), and a block replayed after a restart
    /// counts its age: read it on the proposer, under way.
    pub block_timestamp_to_finalized_seconds: Histogram,
    /// From that delivery to the executor taking it up (it commits one block at a time).
    pub block_executor_queue_seconds: Histogram,
    /// Committing a finalized block to the store.
    pub block_commit_seconds: Histogram,
    /// From a block's timestamp to its publication as the head: the above, the queue and the
    /// commit.
    pub block_timestamp_to_head_seconds: Histogram,
}

impl StageMetrics {
    /// Every stage: its metric name, its help text and its histogram, in the order a
    /// transaction meets them.
    pub fn all(&self) -> [(&'static str, &'static str, &Histogram); 8] {
        [
            (
                "admission_seconds",
                "a client's admission call: signature checks, mempool, durable write",
                &self.admission_seconds,
            ),
            (
                "admission_durable_write_seconds",
                "the durable write of admitted transactions",
                &self.admission_durable_write_seconds,
            ),
            (
                "commit_wait_seconds",
                "a proposer's wait for a committing block before building",
                &self.commit_wait_seconds,
            ),
            (
                "block_build_seconds",
                "executing and hashing a proposal",
                &self.block_build_seconds,
            ),
            (
                "block_timestamp_to_finalized_seconds",
                "from a block's timestamp to marshal's delivery of it, finalized",
                &self.block_timestamp_to_finalized_seconds,
            ),
            (
                "block_executor_queue_seconds",
                "from a finalized block's delivery to the executor taking it up",
                &self.block_executor_queue_seconds,
            ),
            (
                "block_commit_seconds",
                "committing a finalized block to the store",
                &self.block_commit_seconds,
            ),
            (
                "block_timestamp_to_head_seconds",
                "from a block's timestamp to its publication as the head",
                &self.block_timestamp_to_head_seconds,
            ),
        ]
    }
}

impl Default for StageMetrics {
    fn default() -> Self {
        StageMetrics {
            admission_seconds: stage_histogram(),
            admission_durable_write_seconds: stage_histogram(),
            commit_wait_seconds: stage_histogram(),
            block_build_seconds: stage_histogram(),
            block_timestamp_to_finalized_seconds: stage_histogram(),
            block_executor_queue_seconds: stage_histogram(),
            block_commit_seconds: stage_histogram(),
            block_timestamp_to_head_seconds: stage_histogram(),
        }
    }
}

/// Records a duration in a stage histogram.
pub fn observe(histogram: &Histogram, took: Duration) {
    histogram.observe(took.as_secs_f64());
}

/// Counters and gauges the node updates as it works.
#[derive(Debug, Default, Clone)]
pub struct NodeMetrics {
    pub txs_accepted: Counter,
    pub txs_rejected: Family<Vec<(String, String)>, Counter>,
    pub txs_finalized: Counter,
    pub blocks_finalized: Counter,
    /// Block executions that found none remembered: a pending parent under a proposal, or a
    /// finalized block this node neither built nor verified (catching up). Near zero on a
    /// validator that keeps up; each costs a whole block's execution.
    pub block_executions_uncached: Counter,
    pub height: Gauge,
    pub mempool_size: Gauge,
    /// The epoch whose consensus engine runs.
    pub consensus_epoch: Gauge,
    pub stages: StageMetrics,
}

impl NodeMetrics {
    pub fn rejected(&self, reason: TxRejection) {
        self.txs_rejected
            .get_or_create(&vec![("reason".to_string(), reason.name().to_string())])
            .inc();
    }

    /// Registers every metric with a commonware runtime context; the registrations last as
    /// long as the returned handles.
    pub fn register(&self, ctx: &impl commonware_runtime::Metrics) -> MetricHandles {
        let mut handles: Vec<Box<dyn std::any::Any + Send + Sync>> = vec![
            Box::new(ctx.register(
                "txs_accepted",
                "transactions admitted to the mempool",
                self.txs_accepted.clone(),
            )),
            Box::new(ctx.register(
                "txs_rejected",
                "transactions refused, by reason",
                self.txs_rejected.clone(),
            )),
            Box::new(ctx.register(
                "txs_finalized",
                "transactions in finalized blocks",
                self.txs_finalized.clone(),
            )),
            Box::new(ctx.register(
                "blocks_finalized",
                "finalized blocks applied",
                self.blocks_finalized.clone(),
            )),
            Box::new(ctx.register(
                "block_executions_uncached",
                "block executions that found no remembered execution of that block",
                self.block_executions_uncached.clone(),
            )),
            Box::new(ctx.register("height", "height of the applied chain", self.height.clone())),
            Box::new(ctx.register(
                "mempool_size",
                "pending transactions",
                self.mempool_size.clone(),
            )),
            Box::new(ctx.register(
                "consensus_epoch",
                "epoch of the running consensus engine",
                self.consensus_epoch.clone(),
            )),
        ];
        for (name, help, histogram) in self.stages.all() {
            handles.push(Box::new(ctx.register(name, help, histogram.clone())));
        }
        MetricHandles(handles)
    }
}

/// Keeps metric registrations alive.
pub struct MetricHandles(#[allow(dead_code)] Vec<Box<dyn std::any::Any + Send + Sync>>);

impl std::fmt::Debug for MetricHandles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MetricHandles({})", self.0.len())
    }
}
