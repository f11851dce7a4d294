//! `yun run`: runs a job module locally exactly as a provider's sandbox would, so a requester
//! can see its verdict, fuel and outputs before paying for it on the network.

use crate::output::Output;
use anyhow::{Context, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use yun_exec::{InputFile, Outcome, RunError, Sandbox, SandboxConfig, Status, Task};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The job module (.wasm, built for wasm32-wasip1).
    pub module: PathBuf,
    /// File whose bytes become the task's stdin.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// File to place under /in, as NAME=PATH or just PATH (named by its file name). Repeatable.
    #[arg(long = "in-file", value_name = "[NAME=]PATH")]
    pub in_files: Vec<String>,
    /// One argument for the job. Repeatable; arguments after `--` are appended too.
    #[arg(long = "arg", allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Arguments after `--`.
    #[arg(last = true)]
    pub rest: Vec<String>,
    /// Fuel limit (about one unit per WebAssembly instruction).
    #[arg(long, default_value_t = 10_000_000_000)]
    pub fuel: u64,
    /// Memory limit in MiB.
    #[arg(long, default_value_t = 256)]
    pub memory_mb: u64,
    /// Task seed for `random_get`: 64 hex digits (default all zero).
    #[arg(long)]
    pub seed: Option<String>,
    /// Write the outputs (stdout and /out files) into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Wall-clock limit in seconds (a host fault, never a verdict).
    #[arg(long, default_value_t = 300)]
    pub wall_time_secs: u64,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Exit code 0 for `ok (exit code 0)`, 2 for any other verdict; errors (refusals, host faults,
/// unreadable files) are returned and exit with 1.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.module)
        .with_context(|| format!("reading module {}", args.module.display()))?;
    let task = build_task(&args)?;
    let sandbox = Sandbox::new(SandboxConfig {
        wall_time_max: Duration::from_secs(args.wall_time_secs),
        ..SandboxConfig::default()
    })?;
    let outcome = match sandbox.run_module(&bytes, &task) {
        Ok(outcome) => outcome,
        Err(RunError::Refused(r)) => {
            bail!(
                "module refused ({} {}): {r}\nhint: {}",
                r.code(),
                r.name(),
                r.hint()
            )
        }
        Err(RunError::Fault(f)) => bail!("host fault (no verdict): {f}"),
    };
    if let Some(dir) = &args.out {
        write_outputs(&outcome, dir)?;
    }
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&json(&outcome, &bytes))?),
        Output::Text => print_text(&outcome, &bytes, args.out.as_deref()),
    }
    Ok(if outcome.status == Status::Ok(0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn build_task(args: &RunArgs) -> anyhow::Result<Task> {
    let mut task = Task::new(args.fuel, args.memory_mb.saturating_mul(1024 * 1024));
    task.args = args.args.iter().chain(&args.rest).cloned().collect();
    if let Some(path) = &args.input {
        task.stdin =
            std::fs::read(path).with_context(|| format!("reading input {}", path.display()))?;
    }
    for spec in &args.in_files {
        let (name, path) = match spec.split_once('=') {
            Some((name, path)) => (name.to_string(), PathBuf::from(path)),
            None => {
                let path = PathBuf::from(spec);
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .with_context(|| format!("--in-file {spec}: no file name"))?
                    .to_string();
                (name, path)
            }
        };
        let bytes = std::fs::read(&path)
            .with_context(|| format!("reading --in-file {}", path.display()))?;
        task.files.push(InputFile { path: name, bytes });
    }
    if let Some(seed) = &args.seed {
        let raw = hex::decode(seed).context("--seed must be 64 hex digits")?;
        task.seed = raw
            .try_into()
            .map_err(|_| anyhow::anyhow!("--seed must be 64 hex digits (32 bytes)"))?;
    }
    task.check()?;
    Ok(task)
}

/// Extracts the archive: `stdout` as a file, `/out` entries under `out/`.
fn write_outputs(outcome: &Outcome, dir: &Path) -> anyhow::Result<()> {
    for (path, bytes) in outcome.entries() {
        // Paths come from our own archive of names the sandbox accepted, but check anyway:
        // a bad path here would write outside the chosen directory.
        if path
            .split('/')
            .any(|p| p == ".." || p.is_empty() && !path.ends_with('/'))
        {
            bail!("refusing to write archive entry {path:?}");
        }
        let target = dir.join(&path);
        if path.ends_with('/') {
            std::fs::create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

fn print_text(outcome: &Outcome, module: &[u8], out: Option<&Path>) {
    println!("module      {}", blake3::hash(module).to_hex());
    println!("status      {}", outcome.status);
    println!("fuel used   {}", outcome.fuel_used);
    println!(
        "digest      {}",
        blake3::Hash::from_bytes(outcome.output_digest).to_hex()
    );
    println!(
        "wall time   {:.3} ms",
        outcome.diagnostics.wall_time.as_secs_f64() * 1e3
    );
    let entries = outcome.entries();
    for (path, bytes) in entries.iter().skip(1) {
        println!("output      {path} ({} bytes)", bytes.len());
    }
    if let Some(dir) = out {
        println!("written to  {}", dir.display());
    }
    if let Some(msg) = &outcome.diagnostics.trap_message {
        println!("trap        {}", msg.lines().last().unwrap_or(msg).trim());
    }
    if !outcome.diagnostics.stderr_excerpt.is_empty() {
        println!(
            "--- stderr ({} bytes) ---",
            outcome.diagnostics.stderr_bytes
        );
        print!("{}", outcome.diagnostics.stderr_excerpt);
    }
    println!(
        "--- stdout ({} bytes) ---",
        outcome.diagnostics.stdout_bytes
    );
    print!("{}", outcome.diagnostics.stdout_excerpt);
    if outcome.diagnostics.stdout_bytes as usize > outcome.diagnostics.stdout_excerpt.len() {
        println!("\n… (use --out DIR for all of it)");
    }
}

fn json(outcome: &Outcome, module: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "module_hash": blake3::hash(module).to_hex().to_string(),
        "status": outcome.status,
        "status_text": outcome.status.to_string(),
        "fuel_used": outcome.fuel_used,
        "output_digest": blake3::Hash::from_bytes(outcome.output_digest).to_hex().to_string(),
        "outputs": outcome.entries().iter().map(|(p, b)| serde_json::json!({"path": p, "bytes": b.len()})).collect::<Vec<_>>(),
        "diagnostics": outcome.diagnostics,
    })
}
