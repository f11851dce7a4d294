//! `yun run` as a requester uses it: verdicts, outputs on disk, refusals with hints, exit codes.

use std::path::PathBuf;
use std::process::Command;

mod common;

fn example(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../guest/target/wasm32-wasip1/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} missing; run ./scripts/build-guest",
        path.display()
    );
    path
}

fn yun(args: &[&str]) -> (i32, String, String) {
    common::outcome(Command::new(env!("CARGO_BIN_EXE_yun")).args(args))
}

#[test]
fn runs_a_job_and_writes_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let module = example("mandelbrot");
    let (code, stdout, stderr) = yun(&[
        "run",
        module.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--",
        "--width",
        "16",
        "--height",
        "8",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("status      ok (exit code 0)"), "{stdout}");
    assert!(stdout.contains("output      out/tile.png"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(out.join("stdout")).unwrap(),
        "16 8\n"
    );
    assert!(
        std::fs::read(out.join("out/tile.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );
}

#[test]
fn the_same_run_twice_prints_the_same_digest_and_fuel() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("seed.txt");
    std::fs::write(&input, "abc").unwrap();
    let module = example("sha256chain");
    let args = [
        "run",
        module.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        "json",
    ];
    let (a, b) = (yun(&args), yun(&args));
    assert_eq!(a.0, 0, "{}", a.2);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&a.1).unwrap(),
        serde_json::from_str(&b.1).unwrap(),
    );
    assert_eq!(a["output_digest"], b["output_digest"]);
    assert_eq!(a["fuel_used"], b["fuel_used"]);
    assert!(a["fuel_used"].as_u64().unwrap() > 0);
}

#[test]
fn out_of_fuel_is_a_verdict_with_exit_code_2() {
    let module = example("sha256chain");
    let (code, stdout, _) = yun(&["run", module.to_str().unwrap(), "--fuel", "1000"]);
    assert_eq!(code, 2);
    assert!(stdout.contains("status      out of fuel"), "{stdout}");
}

#[test]
fn a_non_module_is_refused_with_its_reason_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("job.wasm");
    std::fs::write(&bad, "not wasm").unwrap();
    let (code, _, stderr) = yun(&["run", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("module refused (2 invalid)"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
}
