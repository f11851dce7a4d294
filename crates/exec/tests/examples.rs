//! The example jobs in `guest/`: each runs to `Ok(0)`, gives the same digest and fuel in two
//! separate sandboxes (separate engines, separate task directories), and prints what its native
//! twin in `yun-kernels` computes.
//!
//! Needs the modules built first: `./scripts/build-guest` (the test command does it).

use std::path::PathBuf;
use yun_exec::{InputFile, Outcome, Sandbox, SandboxConfig, Status, Task};

fn module(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../guest/target/wasm32-wasip1/release")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the example jobs with ./scripts/build-guest",
            path.display()
        )
    })
}

fn task(args: &[&str], stdin: &[u8]) -> Task {
    let mut t = Task::new(20_000_000_000, 256 * 1024 * 1024);
    t.args = args.iter().map(|a| a.to_string()).collect();
    t.stdin = stdin.to_vec();
    t.seed = [42; 32];
    t
}

/// Runs in two fresh sandboxes and checks the verdicts are identical.
fn run_twice(name: &str, task: &Task) -> Outcome {
    let bytes = module(name);
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    // A real program (Rust's std for wasm32-wasip1) passes the compile-free check too.
    assert_eq!(sandbox.check(&bytes), Ok(()), "{name}");
    let a = sandbox.run_module(&bytes, task).unwrap();
    let b = Sandbox::new(SandboxConfig::default())
        .unwrap()
        .run_module(&bytes, task)
        .unwrap();
    assert_eq!(a.status, Status::Ok(0), "{name}: {:?}", a.diagnostics);
    assert_eq!(
        a.verdict_bytes(),
        b.verdict_bytes(),
        "{name}: verdicts differ between runs"
    );
    assert_eq!(a.archive, b.archive, "{name}: archives differ between runs");
    assert!(a.fuel_used > 0);
    a
}

fn stdout_text(o: &Outcome) -> String {
    String::from_utf8(o.stdout()).unwrap()
}

#[test]
fn pi_matches_its_native_twin() {
    let o = run_twice("pi", &task(&["--samples", "200000", "--seed", "7"], b""));
    let native = yun_kernels::pi_monte_carlo(7, 200_000);
    assert_eq!(
        stdout_text(&o).trim(),
        format!("{} {}", native.inside, native.total)
    );
}

#[test]
fn pi_without_a_seed_argument_uses_the_task_seed() {
    let a = run_twice("pi", &task(&["--samples", "10000"], b""));
    let mut other = task(&["--samples", "10000"], b"");
    other.seed = [43; 32];
    let b = run_twice("pi", &other);
    assert_ne!(
        a.output_digest, b.output_digest,
        "different task seeds, different samples"
    );
}

#[test]
fn sha256chain_matches_its_native_twin() {
    let o = run_twice("sha256chain", &task(&["--iterations", "5000"], b"yun"));
    let native = yun_kernels::sha256_chain(b"yun", 5000);
    assert_eq!(stdout_text(&o).trim(), yun_kernels::hex(&native));
}

#[test]
fn matmul_matches_its_native_twin() {
    let o = run_twice("matmul", &task(&["--n", "64", "--seed", "3"], b""));
    let native = yun_kernels::checksum_f64(&yun_kernels::matmul_f64(64, 3));
    assert_eq!(stdout_text(&o).trim(), format!("{native:016x}"));
}

#[test]
fn wordcount_matches_its_native_twin_from_stdin_and_from_in() {
    let text = b"the cat and the hat; The end.\nA cat!";
    let native = yun_kernels::format_counts(&yun_kernels::word_count(text));
    let o = run_twice("wordcount", &task(&[], text));
    assert_eq!(stdout_text(&o), native);

    let mut from_files = task(&[], b"");
    from_files.files = vec![
        InputFile {
            path: "b.txt".into(),
            bytes: b"A cat!".to_vec(),
        },
        InputFile {
            path: "a.txt".into(),
            bytes: b"the cat and the hat; The end.\n".to_vec(),
        },
    ];
    let o = run_twice("wordcount", &from_files);
    assert_eq!(stdout_text(&o), native);
}

#[test]
fn mandelbrot_writes_the_native_png_to_out() {
    let args = ["--width", "64", "--height", "48", "--max-iter", "100"];
    let o = run_twice("mandelbrot", &task(&args, b""));
    let params = yun_kernels::MandelbrotParams {
        width: 64,
        height: 48,
        max_iter: 100,
        ..Default::default()
    };
    let png = yun_kernels::encode_png(64, 48, &yun_kernels::mandelbrot_tile(&params));
    let entries = o.entries();
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["stdout", "out/tile.png"]);
    assert_eq!(entries[1].1, png);
}

#[test]
fn too_little_fuel_is_out_of_fuel_at_the_same_point_everywhere() {
    let mut t = task(&["--iterations", "100000"], b"");
    t.fuel = 1_000_000;
    let bytes = module("sha256chain");
    let a = Sandbox::new(SandboxConfig::default())
        .unwrap()
        .run_module(&bytes, &t)
        .unwrap();
    let b = Sandbox::new(SandboxConfig {
        pooling: true,
        ..SandboxConfig::default()
    })
    .unwrap()
    .run_module(&bytes, &t)
    .unwrap();
    assert_eq!(a.status, Status::OutOfFuel);
    assert_eq!(a.verdict_bytes(), b.verdict_bytes());
}
