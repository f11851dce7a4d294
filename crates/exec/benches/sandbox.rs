//! Sandbox benchmark: what running a job as fuel-metered wasm costs compared with running the
//! same kernel natively, and how long the sandbox takes to start an (empty) task.
//!
//! 1. **Kernels.** Each example job of `guest/` (`pi`, `sha256chain`, `wordcount`, `matmul`,
//!    `mandelbrot`) runs as wasm in a sandbox with fuel metering on, in a second sandbox with
//!    it off, and natively by calling its `yun-kernels` twin in-process (the same work the
//!    guest does, output formatting and PNG encoding included). Arguments are sized so that a
//!    wasm run takes a few hundred milliseconds and setup is negligible. Wasm time is
//!    `diagnostics.wall_time` (instantiate + `_start`, which includes reading stdin); each
//!    figure is the median of [`REPS`] runs after one warm-up run, and every wasm output is
//!    checked byte for byte against the native one. A diagnostic table adds the same modules
//!    on a bare wasmtime engine (same code generation, no fuel, no epoch interruption) to
//!    separate the cost of the interruption instrumentation from the cost of wasm itself.
//! 2. **Instantiation.** A tiny module with an empty `_start` runs [`EMPTY_RUNS`] times, with
//!    on-demand and with pooling allocation; p50/p99 of the whole `Sandbox::run` (task
//!    directory, WASI context, store, archive) and of `diagnostics.wall_time` (instantiate +
//!    empty `_start` only).
//!
//! Prints tables with the goals next to the measurements; asserts nothing about timing (only
//! that outputs match). Needs the guest modules:
//!
//! ```sh
//! cd guest && cargo build --target wasm32-wasip1 --release
//! cd .. && cargo bench -p yun-exec --bench sandbox
//! ```

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wasmtime::{Config, Engine, InstancePre, Linker, Module, OptLevel, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};
use yun_exec::{Outcome, Program, Sandbox, SandboxConfig, Status, Task};
use yun_kernels::{MandelbrotParams, SplitMix64};

/// Timed repetitions per kernel and variant (after one warm-up run); the median is reported.
const REPS: usize = 9;
/// Empty tasks per allocation strategy for the instantiation latency.
const EMPTY_RUNS: usize = 2_000;
/// Fuel for a kernel run: far more than any of them uses.
const FUEL: u64 = 1 << 40;
const MIB: u64 = 1024 * 1024;

const PI_SAMPLES: u64 = 50_000_000;
const PI_SEED: u64 = 42;
const SHA_ITERATIONS: u64 = 1_000_000;
const MATMUL_N: usize = 512;
const MATMUL_SEED: u64 = 1;
const WORDCOUNT_BYTES: usize = 4 * 1024 * 1024;
const MANDEL_SIZE: u32 = 512;
const MANDEL_MAX_ITER: u32 = 500;

const BUILD_HINT: &str = "cd guest && cargo build --target wasm32-wasip1 --release";

/// Archive entries a run must produce: `stdout` first, then `out/…`.
type Entries = Vec<(String, Vec<u8>)>;

struct Kernel {
    name: &'static str,
    /// Goal for wasm (fuel on) / native, if the issue sets one.
    ratio_goal: Option<f64>,
    args: Vec<String>,
    stdin: Vec<u8>,
    /// The same work natively; returns the entries the wasm run must produce.
    native: Box<dyn Fn() -> Entries>,
}

fn stdout_only(stdout: impl Into<Vec<u8>>) -> Entries {
    vec![("stdout".to_owned(), stdout.into())]
}

fn kernels() -> Vec<Kernel> {
    let text = word_text(WORDCOUNT_BYTES);
    let native_text = text.clone();
    let mandel = MandelbrotParams {
        width: MANDEL_SIZE,
        height: MANDEL_SIZE,
        max_iter: MANDEL_MAX_ITER,
        ..MandelbrotParams::default()
    };
    vec![
        Kernel {
            name: "pi",
            ratio_goal: Some(1.1),
            args: args(&[
                "--samples",
                &PI_SAMPLES.to_string(),
                "--seed",
                &PI_SEED.to_string(),
            ]),
            stdin: Vec::new(),
            native: Box::new(|| {
                let s = yun_kernels::pi_monte_carlo(black_box(PI_SEED), black_box(PI_SAMPLES));
                stdout_only(format!("{} {}\n", s.inside, s.total))
            }),
        },
        Kernel {
            name: "sha256chain",
            ratio_goal: Some(1.1),
            args: args(&["--iterations", &SHA_ITERATIONS.to_string()]),
            stdin: b"yun".to_vec(),
            native: Box::new(|| {
                let h = yun_kernels::sha256_chain(black_box(b"yun"), black_box(SHA_ITERATIONS));
                stdout_only(format!("{}\n", yun_kernels::hex(&h)))
            }),
        },
        Kernel {
            name: "wordcount",
            ratio_goal: Some(1.1),
            args: Vec::new(),
            stdin: text,
            native: Box::new(move || {
                let mut total = std::collections::BTreeMap::new();
                yun_kernels::merge_counts(
                    &mut total,
                    yun_kernels::word_count(black_box(&native_text)),
                );
                stdout_only(yun_kernels::format_counts(&total))
            }),
        },
        Kernel {
            name: "matmul",
            ratio_goal: Some(2.0),
            args: args(&[
                "--n",
                &MATMUL_N.to_string(),
                "--seed",
                &MATMUL_SEED.to_string(),
            ]),
            stdin: Vec::new(),
            native: Box::new(|| {
                let c = yun_kernels::matmul_f64(black_box(MATMUL_N), black_box(MATMUL_SEED));
                stdout_only(format!("{:016x}\n", yun_kernels::checksum_f64(&c)))
            }),
        },
        Kernel {
            name: "mandelbrot",
            ratio_goal: None,
            args: args(&[
                "--width",
                &MANDEL_SIZE.to_string(),
                "--height",
                &MANDEL_SIZE.to_string(),
                "--max-iter",
                &MANDEL_MAX_ITER.to_string(),
            ]),
            stdin: Vec::new(),
            native: Box::new(move || {
                let p = black_box(mandel);
                let pixels = yun_kernels::mandelbrot_tile(&p);
                let png = yun_kernels::encode_png(p.width, p.height, &pixels);
                vec![
                    (
                        "stdout".to_owned(),
                        format!("{} {}\n", p.width, p.height).into_bytes(),
                    ),
                    ("out/tile.png".to_owned(), png),
                ]
            }),
        },
    ]
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

/// About `bytes` of English-like text: words from a fixed 20,000-word vocabulary drawn with a
/// skewed (roughly Zipf) distribution, mixed case, punctuation and newlines.
fn word_text(bytes: usize) -> Vec<u8> {
    let mut rng = SplitMix64::new(7);
    let vocabulary: Vec<Vec<u8>> = (0..20_000)
        .map(|_| {
            let len = 2 + (rng.next_u64() % 9) as usize;
            (0..len)
                .map(|_| b'a' + (rng.next_u64() % 26) as u8)
                .collect()
        })
        .collect();
    let mut text = Vec::with_capacity(bytes + 16);
    while text.len() < bytes {
        let r = rng.next_u64();
        // Product of two uniforms: small indices (common words) are far more likely.
        let i = ((r & 0xFFFF) * ((r >> 16) & 0xFFFF)) as usize % vocabulary.len();
        let word = &vocabulary[i];
        if (r >> 32) & 7 == 0 {
            text.push(word[0].to_ascii_uppercase());
            text.extend_from_slice(&word[1..]);
        } else {
            text.extend_from_slice(word);
        }
        text.push(match (r >> 40) % 16 {
            0 => b',',
            1 => b'.',
            2 => b'\n',
            _ => b' ',
        });
    }
    text
}

fn module_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../guest/target/wasm32-wasip1/release")
        .join(format!("{name}.wasm"))
}

fn load_module(name: &str) -> Vec<u8> {
    let path = module_path(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "guest module {} missing ({e}); build the guest modules first, from the repository \
             root: `{BUILD_HINT}`",
            path.display()
        )
    })
}

fn sandbox(fuel_metering: bool, pooling: bool) -> Sandbox {
    Sandbox::new(SandboxConfig {
        fuel_metering,
        pooling,
        ..SandboxConfig::default()
    })
    .expect("sandbox")
}

fn admit(sandbox: &Sandbox, name: &str, bytes: &[u8]) -> Program {
    sandbox
        .admit(bytes)
        .unwrap_or_else(|r| panic!("{name}: module refused: {r}"))
}

fn run(sandbox: &Sandbox, program: &Program, task: &Task, name: &str) -> Outcome {
    let outcome = sandbox
        .run(program, task)
        .unwrap_or_else(|e| panic!("{name}: host fault: {e}"));
    assert_eq!(
        outcome.status,
        Status::Ok(0),
        "{name}: {:?}",
        outcome.diagnostics
    );
    outcome
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The `q`-quantile (0..=1) of sorted durations, nearest rank.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn print_machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        cpuinfo
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    };
    let model = field("model name").unwrap_or_else(|| "unknown CPU".to_owned());
    let logical = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let available = std::thread::available_parallelism().map_or(0, usize::from);
    let simd: Vec<&str> = field("flags")
        .map(|flags| {
            ["sse4_2", "avx", "avx2", "avx512f", "fma", "sha_ni"]
                .into_iter()
                .filter(|f| flags.split_whitespace().any(|x| x == *f))
                .collect()
        })
        .unwrap_or_default();
    println!("machine: {model}, {logical} logical cores ({available} available to this process)");
    println!("cpu features of note: {}", simd.join(" "));
    println!(
        "build: {} {} (native twins: this bench profile, no -C target-cpu)",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
    println!();
}

/// Diagnostic baseline, not a sandbox: a bare wasmtime engine with the sandbox's code
/// generation settings (SIMD, NaN canonicalisation, stack) but neither fuel metering nor epoch
/// interruption, running the same module with a minimal WASI context. The gap between it and
/// the sandbox is what the interruption instrumentation costs; the gap between it and native
/// is what compiling through wasm costs.
struct Bare {
    engine: Engine,
    linker: Linker<WasiP1Ctx>,
}

impl Bare {
    fn new() -> Bare {
        let mut config = Config::new();
        config
            .cranelift_nan_canonicalization(true)
            .cranelift_opt_level(OptLevel::Speed)
            .wasm_simd(true)
            .wasm_relaxed_simd(false)
            .max_wasm_stack(yun_exec::limits::WASM_STACK_BYTES_MAX);
        let engine = Engine::new(&config).expect("bare engine");
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).expect("link WASI");
        Bare { engine, linker }
    }

    fn prepare(&self, name: &str, bytes: &[u8]) -> InstancePre<WasiP1Ctx> {
        let module = Module::new(&self.engine, bytes).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        self.linker
            .instantiate_pre(&module)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"))
    }

    /// Instantiate + `_start` time, and the entries the run produced (stdout, then `/out`).
    fn run(&self, pre: &InstancePre<WasiP1Ctx>, task: &Task, name: &str) -> (Duration, Entries) {
        let out_dir = tempfile::tempdir().expect("temp dir");
        let stdout = MemoryOutputPipe::new(yun_exec::limits::STDOUT_BYTES_MAX);
        let mut argv = vec!["job".to_owned()];
        argv.extend(task.args.iter().cloned());
        let mut wasi = WasiCtxBuilder::new();
        wasi.allow_blocking_current_thread(true)
            .args(&argv)
            .stdin(MemoryInputPipe::new(task.stdin.clone()))
            .stdout(stdout.clone())
            .preopened_dir(out_dir.path(), "/out", FsPerms::ReadWrite)
            .expect("preopen /out");
        let mut store = Store::new(&self.engine, wasi.build_p1());
        let started = Instant::now();
        let result = pre.instantiate(&mut store).and_then(|instance| {
            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
            start.call(&mut store, ())
        });
        let elapsed = started.elapsed();
        if let Err(e) = result {
            let code = e.downcast_ref::<I32Exit>().map(|exit| exit.0);
            assert_eq!(code, Some(0), "{name}: bare run failed: {e:#}");
        }
        drop(store);
        let mut entries = vec![("stdout".to_owned(), stdout.contents().to_vec())];
        let mut files: Vec<_> = std::fs::read_dir(out_dir.path())
            .expect("list /out")
            .map(|entry| entry.expect("/out entry").path())
            .collect();
        files.sort();
        for path in files {
            let name = path.file_name().expect("file name").to_string_lossy();
            entries.push((
                format!("out/{name}"),
                std::fs::read(&path).expect("read /out"),
            ));
        }
        (elapsed, entries)
    }
}

struct Row {
    name: &'static str,
    native: Duration,
    fuel: Duration,
    no_fuel: Duration,
    bare: Duration,
    fuel_used: u64,
    ratio_goal: Option<f64>,
}

fn bench_kernels() {
    let metered = sandbox(true, false);
    let unmetered = sandbox(false, false);
    let bare = Bare::new();
    let mut rows = Vec::new();
    println!(
        "kernels: median of {REPS} runs each after a warm-up run; wasm time = instantiate + _start"
    );
    for k in kernels() {
        let bytes = load_module(k.name);
        let started = Instant::now();
        let p_fuel = admit(&metered, k.name, &bytes);
        let compile = started.elapsed();
        let p_plain = admit(&unmetered, k.name, &bytes);
        let p_bare = bare.prepare(k.name, &bytes);
        let mut task = Task::new(FUEL, 1024 * MIB);
        task.args = k.args.clone();
        task.stdin = k.stdin.clone();

        // Warm-up, and every wasm variant must produce exactly what the native twin does.
        let expected = (k.native)();
        let a = run(&metered, &p_fuel, &task, k.name);
        let b = run(&unmetered, &p_plain, &task, k.name);
        let (_, c) = bare.run(&p_bare, &task, k.name);
        assert!(
            a.entries() == expected && b.entries() == expected && c == expected,
            "{}: wasm output differs from native (wasm stdout {:?})",
            k.name,
            a.diagnostics.stdout_excerpt
        );
        let fuel_used = a.fuel_used;

        let mut times: [Vec<Duration>; 4] = Default::default();
        for _ in 0..REPS {
            let t = Instant::now();
            black_box((k.native)());
            times[0].push(t.elapsed());
            let o = run(&metered, &p_fuel, &task, k.name);
            assert_eq!(o.fuel_used, fuel_used, "{}: fuel is deterministic", k.name);
            times[1].push(o.diagnostics.wall_time);
            times[2].push(
                run(&unmetered, &p_plain, &task, k.name)
                    .diagnostics
                    .wall_time,
            );
            times[3].push(bare.run(&p_bare, &task, k.name).0);
        }
        println!(
            "  {:<12} outputs match ({} bytes); args {:?}{}; compile {}",
            k.name,
            expected.iter().map(|(_, b)| b.len()).sum::<usize>(),
            k.args,
            if k.stdin.is_empty() {
                String::new()
            } else {
                format!(" + {} bytes of text on stdin", k.stdin.len())
            },
            ms(compile)
        );
        let [native, fuel, no_fuel, bare_times] = times;
        rows.push(Row {
            name: k.name,
            native: median(native),
            fuel: median(fuel),
            no_fuel: median(no_fuel),
            bare: median(bare_times),
            fuel_used,
            ratio_goal: k.ratio_goal,
        });
    }
    println!("all outputs match (sandbox with fuel, without fuel, bare engine, native)");
    println!();
    println!(
        "| kernel      |     native | wasm, fuel | wasm, no fuel | wasm/native | goal          | fuel overhead | goal         |"
    );
    println!(
        "|-------------|-----------:|-----------:|--------------:|------------:|---------------|--------------:|--------------|"
    );
    for r in &rows {
        let ratio = secs(r.fuel) / secs(r.native);
        let overhead = secs(r.fuel) / secs(r.no_fuel) - 1.0;
        println!(
            "| {:<11} | {:>10} | {:>10} | {:>13} | {:>10.2}× | {:<13} | {:>12.1}% | ≤ 10% {:<6} |",
            r.name,
            ms(r.native),
            ms(r.fuel),
            ms(r.no_fuel),
            ratio,
            r.ratio_goal.map_or_else(
                || "(none set)".to_owned(),
                |g| format!("≤ {g:.1}× {}", verdict(ratio <= g))
            ),
            overhead * 100.0,
            verdict(overhead <= 0.10),
        );
    }
    println!(
        "(wasm/native with fuel on; fuel overhead = fuel on / fuel off − 1, epoch interruption on in both)"
    );
    println!();
    println!(
        "diagnostic: bare wasmtime engine, same code generation, no fuel and no epoch interruption"
    );
    println!();
    println!(
        "| kernel      | wasm, bare | bare/native | sandbox (fuel)/bare | fuel used      | fuel/ns |"
    );
    println!(
        "|-------------|-----------:|------------:|--------------------:|---------------:|--------:|"
    );
    for r in &rows {
        println!(
            "| {:<11} | {:>10} | {:>10.2}× | {:>18.2}× | {:>14} | {:>7.2} |",
            r.name,
            ms(r.bare),
            secs(r.bare) / secs(r.native),
            secs(r.fuel) / secs(r.bare),
            r.fuel_used,
            r.fuel_used as f64 / secs(r.fuel) / 1e9,
        );
    }
    if sha_ni() {
        println!(
            "note: this CPU has SHA-NI and the native sha2 uses it at run time; wasm has no SHA \
             instructions, so sha256chain compares software SHA-256 in wasm with hardware SHA-256"
        );
    }
    println!();
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[cfg(target_arch = "x86_64")]
fn sha_ni() -> bool {
    std::arch::is_x86_feature_detected!("sha")
}

#[cfg(not(target_arch = "x86_64"))]
fn sha_ni() -> bool {
    false
}

fn bench_instantiation() {
    let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "_start")))"#)
        .expect("valid wat");
    println!(
        "instantiation: empty module ({} bytes, 1 page of memory), {EMPTY_RUNS} runs per strategy after 100 warm-up runs",
        wasm.len()
    );
    println!();
    println!(
        "| allocator | run p50  | run p99  | instantiate+start p50 | instantiate+start p99 | goal (p50)  |"
    );
    println!(
        "|-----------|---------:|---------:|----------------------:|----------------------:|-------------|"
    );
    for pooling in [false, true] {
        let sb = sandbox(true, pooling);
        let program = admit(&sb, "empty", &wasm);
        let task = Task::new(1_000_000, 64 * MIB);
        for _ in 0..100 {
            run(&sb, &program, &task, "empty");
        }
        let mut total = Vec::with_capacity(EMPTY_RUNS);
        let mut inner = Vec::with_capacity(EMPTY_RUNS);
        for _ in 0..EMPTY_RUNS {
            let t = Instant::now();
            let o = run(&sb, &program, &task, "empty");
            total.push(t.elapsed());
            inner.push(o.diagnostics.wall_time);
        }
        total.sort();
        inner.sort();
        let p50 = quantile(&inner, 0.5);
        println!(
            "| {:<9} | {:>8} | {:>8} | {:>21} | {:>21} | ≤ 50 µs {:<3} |",
            if pooling { "pooling" } else { "on-demand" },
            us(quantile(&total, 0.5)),
            us(quantile(&total, 0.99)),
            us(p50),
            us(quantile(&inner, 0.99)),
            verdict(p50 <= Duration::from_micros(50)),
        );
    }
    println!(
        "(run = the whole Sandbox::run: task directory, WASI context, store, instantiate, _start, archive)"
    );
}

fn main() {
    // Fail before any work if a guest module is missing.
    for name in ["pi", "sha256chain", "wordcount", "matmul", "mandelbrot"] {
        load_module(name);
    }
    print_machine();
    let started = Instant::now();
    bench_kernels();
    bench_instantiation();
    println!();
    println!("total bench time {:.1} s", started.elapsed().as_secs_f64());
}
