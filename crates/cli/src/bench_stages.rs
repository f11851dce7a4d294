//! Where a bench phase's latency went: the node's stage histograms (`/metrics`), read before
//! and after the phase, as each stage's count and mean over the phase.

use yun_client::Client;

/// The node's stage histograms, in the order a transaction meets them (see
/// `yun_node::metrics::StageMetrics`).
pub(crate) const STAGES: [&str; 8] = [
    "admission_seconds",
    "admission_durable_write_seconds",
    "commit_wait_seconds",
    "block_build_seconds",
    "block_timestamp_to_finalized_seconds",
    "block_executor_queue_seconds",
    "block_commit_seconds",
    "block_timestamp_to_head_seconds",
];

/// Each stage's (sum in seconds, count) at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StageTotals(Vec<(f64, f64)>);

impl StageTotals {
    fn zero() -> StageTotals {
        StageTotals(vec![(0.0, 0.0); STAGES.len()])
    }

    /// Reads the totals from a node's Prometheus text; a stage the node does not export (an
    /// older node) reads as zero.
    pub(crate) fn parse(metrics_text: &str) -> StageTotals {
        let lines = metrics_text.lines().map(|l| Ok(l.to_string()));
        let Ok(scrape) = prometheus_parse::Scrape::parse(lines) else {
            return StageTotals::zero();
        };
        let value = |name: &str| -> f64 {
            scrape
                .samples
                .iter()
                .filter(|s| s.metric == name || s.metric.ends_with(&format!("_{name}")))
                .map(|s| match s.value {
                    prometheus_parse::Value::Untyped(v)
                    | prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Gauge(v) => v,
                    _ => 0.0,
                })
                .sum()
        };
        StageTotals(
            STAGES
                .iter()
                .map(|s| (value(&format!("{s}_sum")), value(&format!("{s}_count"))))
                .collect(),
        )
    }

    /// Reads a node's totals now (zero if its metrics cannot be read: the report then says
    /// nothing of its stages rather than failing the bench).
    pub(crate) async fn read(client: &Client) -> StageTotals {
        match client.metrics_text().await {
            Ok(text) => StageTotals::parse(&text),
            Err(_) => StageTotals::zero(),
        }
    }

    /// The phase between `self` (before) and `after`: per stage, how many were timed and
    /// their mean in milliseconds (null when none was).
    pub(crate) fn report_since(&self, after: &StageTotals) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for (i, name) in STAGES.iter().enumerate() {
            let (sum0, n0) = self.0.get(i).copied().unwrap_or_default();
            let (sum1, n1) = after.0.get(i).copied().unwrap_or_default();
            let n = (n1 - n0).max(0.0);
            let mean_ms = (n > 0.0).then(|| (sum1 - sum0) / n * 1_000.0);
            let key = name.trim_end_matches("_seconds");
            out.insert(
                key.to_string(),
                serde_json::json!({ "count": n as u64, "mean_ms": mean_ms }),
            );
        }
        serde_json::Value::Object(out)
    }
}

/// Prints a phase's stages, one line each, as `print_phase` prints the rest.
pub(crate) fn print_stages(stages: &serde_json::Value) {
    let Some(map) = stages.as_object() else {
        return;
    };
    println!("  node stages       mean over the phase (count), first node:");
    for (name, v) in map {
        if let Some(mean) = v["mean_ms"].as_f64() {
            println!("    {name:<32} {mean:>8.1} ms ({})", v["count"]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# TYPE node_block_build_seconds histogram\n\
        node_block_build_seconds_sum 0.5\n\
        node_block_build_seconds_count 10\n\
        node_block_build_seconds_bucket{le=\"+Inf\"} 10\n\
        # TYPE node_admission_seconds histogram\n\
        node_admission_seconds_sum 1.0\n\
        node_admission_seconds_count 100\n\
        # TYPE node_admission_durable_write_seconds histogram\n\
        node_admission_durable_write_seconds_sum 7.0\n\
        node_admission_durable_write_seconds_count 7\n";

    const AFTER: &str = "# TYPE node_block_build_seconds histogram\n\
        node_block_build_seconds_sum 2.5\n\
        node_block_build_seconds_count 30\n\
        # TYPE node_admission_seconds histogram\n\
        node_admission_seconds_sum 1.0\n\
        node_admission_seconds_count 100\n\
        # TYPE node_admission_durable_write_seconds histogram\n\
        node_admission_durable_write_seconds_sum 9.0\n\
        node_admission_durable_write_seconds_count 8\n";

    #[test]
    fn a_phase_reports_each_stage_mean_over_what_it_timed() {
        let report = StageTotals::parse(BEFORE).report_since(&StageTotals::parse(AFTER));
        assert_eq!(report["block_build"]["count"], 20);
        assert_eq!(
            report["block_build"]["mean_ms"], 100.0,
            "2 s over 20 builds"
        );
        assert_eq!(
            report["admission_durable_write"]["mean_ms"], 2_000.0,
            "not mixed up with admission, whose name it ends like"
        );
        assert_eq!(report["admission"]["count"], 0);
        assert!(report["admission"]["mean_ms"].is_null(), "nothing timed");
        assert!(report["block_commit"]["mean_ms"].is_null(), "not exported");
    }

    #[test]
    fn every_stage_the_bench_reads_is_one_the_node_exports() {
        use commonware_runtime::{Metrics, Runner, Supervisor, deterministic};
        deterministic::Runner::default().start(|ctx| async move {
            let metrics = yun_node::metrics::NodeMetrics::default();
            let _handles = metrics.register(&ctx.child("node"));
            let exported: Vec<&str> = metrics.stages.all().iter().map(|s| s.0).collect();
            assert_eq!(exported, STAGES, "the same stages, in the same order");
            for (_, _, histogram) in metrics.stages.all() {
                yun_node::metrics::observe(histogram, std::time::Duration::from_millis(4));
            }
            let before = StageTotals::parse("");
            let report = before.report_since(&StageTotals::parse(&ctx.encode()));
            for name in STAGES {
                let stage = &report[name.trim_end_matches("_seconds")];
                assert_eq!(stage["count"], 1, "{name} in {report}");
                let mean = stage["mean_ms"].as_f64().expect("timed");
                assert!((mean - 4.0).abs() < 1e-6, "{name}: {mean} ms");
            }
        });
    }
}
