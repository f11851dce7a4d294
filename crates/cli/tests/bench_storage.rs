//! `yun bench storage` at a small size: it runs end to end and reports what it measured.

use std::process::Command;

#[test]
fn the_storage_bench_runs_at_8_mib_and_reports_every_figure() {
    let out = Command::new(env!("CARGO_BIN_EXE_yun"))
        .args(["bench", "storage", "--size-mib", "8", "--proofs", "200"])
        .args(["--output", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "yun bench storage failed: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["size_bytes"], 8 << 20);
    assert_eq!(report["proofs"], 200);
    for figure in [
        "upload_mb_per_s",
        "download_one_holder_mb_per_s",
        "download_two_holders_mb_per_s",
        "prove_ms",
        "verify_ms",
        "repair_s",
    ] {
        let v = report[figure].as_f64().unwrap_or(0.0);
        assert!(v > 0.0 && v.is_finite(), "{figure} = {}", report[figure]);
    }
}
