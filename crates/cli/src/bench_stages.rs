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

/// One stage's histogram totals at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct StageTotal {
    sum_seconds: f64,
    count: f64,
}

/// Every stage's totals at one moment, in [`STAGES`] order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StageTotals(Vec<StageTotal>);

impl StageTotals {
    /// Reads the totals from a node's Prometheus text; a stage the node does not export (an
    /// older node) reads as zero. `None` if the text does not parse.
    pub(crate) fn parse(metrics_text: &str) -> Option<StageTotals> {
        let lines = metrics_text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).ok()?;
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
        Some(StageTotals(
            STAGES
                .iter()
                .map(|s| StageTotal {
                    sum_seconds: value(&format!("{s}_sum")),
                    count: value(&format!("{s}_count")),
                })
                .collect(),
        ))
    }

    /// Reads a node's totals now; `None` if its metrics cannot be read.
    pub(crate) async fn read(client: &Client) -> Option<StageTotals> {
        StageTotals::parse(&client.metrics_text().await.ok()?)
    }

    /// The phase between `before` and `after`: per stage, how many were timed and their mean
    /// in milliseconds (null when none was). `null` as a whole when either reading failed, so
    /// a node's totals since its start never pass for a phase's.
    pub(crate) fn report_between(
        before: Option<&StageTotals>,
        after: Option<&StageTotals>,
    ) -> serde_json::Value {
        let (Some(before), Some(after)) = (before, after) else {
            return serde_json::Value::Null;
        };
        let mut out = serde_json::Map::new();
        for (i, name) in STAGES.iter().enumerate() {
            let b = before.0.get(i).copied().unwrap_or_default();
            let a = after.0.get(i).copied().unwrap_or_default();
            let n = (a.count - b.count).max(0.0);
            let mean_ms = (n > 0.0).then(|| (a.sum_seconds - b.sum_seconds) / n * 1_000.0);
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
        let (before, after) = (StageTotals::parse(BEFORE), StageTotals::parse(AFTER));
        let report = StageTotals::report_between(before.as_ref(), after.as_ref());
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
        assert!(
            StageTotals::report_between(None, after.as_ref()).is_null(),
            "a reading that failed reports no stages at all"
        );
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
            let after = StageTotals::parse(&ctx.encode());
            let report = StageTotals::report_between(before.as_ref(), after.as_ref());
            for name in STAGES {
                let stage = &report[name.trim_end_matches("_seconds")];
                assert_eq!(stage["count"], 1, "{name} in {report}");
                let mean = stage["mean_ms"].as_f64().expect("timed");
                assert!((mean - 4.0).abs() < 1e-6, "{name}: {mean} ms");
            }
        });
    }
}
