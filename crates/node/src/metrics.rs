//! Node metrics, registered into the runtime's Prometheus registry.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use yun_types::TxRejection;

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
        MetricHandles(vec![
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
        ])
    }
}

/// Keeps metric registrations alive.
pub struct MetricHandles(#[allow(dead_code)] Vec<Box<dyn std::any::Any + Send + Sync>>);

impl std::fmt::Debug for MetricHandles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MetricHandles({})", self.0.len())
    }
}
