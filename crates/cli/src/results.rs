//! Collecting a settled job: every verified output downloaded from a provider that computed
//! it and checked against the accepted digest, unpacked; the reduce step run locally over
//! them; and the bill.

use crate::args::ClientOpts;
use crate::output::print;
use anyhow::{Context, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use yun_client::Client;
use yun_exec::{InputFile, Sandbox, SandboxConfig, Status, Task, read_archive};
use yun_types::api::{JobResponse, JobStatus, ReplicaState, TaskPhase};
use yun_types::market::{JobId, TaskRef, task_seed};
use yun_types::{Address, Amount, Hash32};

/// Largest output archive downloaded for one task (the sandbox's stdout plus `/out` limits).
pub const OUTPUT_BYTES_MAX: u64 =
    (yun_exec::limits::STDOUT_BYTES_MAX as u64) + yun_exec::limits::OUT_BYTES_MAX + (1 << 20);
/// Fuel and memory the local reduce run may use.
pub const REDUCE_FUEL_MAX: u64 = 100_000_000_000;
pub const REDUCE_MEMORY_BYTES_MAX: u64 = 1 << 30;

/// What a finished job produced and cost: the `--output json` answer.
#[derive(Debug, Serialize)]
pub struct JobReport {
    pub job: JobId,
    pub status: JobStatus,
    pub tasks: usize,
    pub tasks_verified: u32,
    pub tasks_failed: u32,
    pub fuel_verified: u64,
    pub locked: Amount,
    pub spent: Amount,
    pub refunded: Amount,
    pub paid_by_provider: BTreeMap<Address, Amount>,
    pub out_dir: PathBuf,
    pub reduce_stdout: Option<String>,
}

/// `yun job results ID [--out DIR]`.
pub async fn results(id: &str, out: Option<PathBuf>, opts: &ClientOpts) -> anyhow::Result<()> {
    let id: JobId = id
        .parse()
        .map_err(|e| anyhow::anyhow!("job id `{id}`: {e}"))?;
    let client = Client::new(&opts.node);
    let job = client.job(&id).await?;
    let reduce = match &job.job.spec.reduce {
        None => None,
        Some(r) => {
            let program = client
                .get_blob(&r.program_hash, r.program_bytes)
                .await
                .context("fetching the reduce program from the node")?;
            Some((program, r.args.iter().map(|a| a.0.clone()).collect()))
        }
    };
    let out = out.unwrap_or_else(|| PathBuf::from("yun-out").join(id.to_string()));
    let report = collect(&client, &job, &out, reduce).await?;
    print(opts.output, &report, || summary(&report))
}

/// Downloads, unpacks and reduces what `job` verified so far, into `out`.
pub async fn collect(
    client: &Client,
    job: &JobResponse,
    out: &Path,
    reduce: Option<(Vec<u8>, Vec<String>)>,
) -> anyhow::Result<JobReport> {
    let mut endpoints: BTreeMap<Address, String> = BTreeMap::new();
    let mut reduce_files = Vec::new();
    let mut paid_by_provider: BTreeMap<Address, Amount> = BTreeMap::new();
    let mut fuel_verified = 0u64;
    for t in &job.tasks {
        for r in &t.task.replicas {
            if let ReplicaState::Paid { amount } = r.state {
                let e = paid_by_provider.entry(r.provider).or_insert(Amount::ZERO);
                *e = e.checked_add(amount).context("payments overflow")?;
            }
        }
        let TaskPhase::Verified { verdict } = t.task.phase else {
            continue;
        };
        fuel_verified += verdict.fuel_used;
        let holders: Vec<Address> = t
            .task
            .replicas
            .iter()
            .filter(|r| matches!(r.state, ReplicaState::Paid { .. }))
            .map(|r| r.provider)
            .collect();
        let archive = download(client, &mut endpoints, &holders, &verdict.output_digest).await?;
        let dir = out.join("tasks").join(format!("{:05}", t.index));
        for (name, bytes) in read_archive(&archive).context("unpacking an output archive")? {
            write_file(&dir.join(&name), &bytes)?;
            let flat = name.strip_prefix("out/").unwrap_or(&name).replace('/', ".");
            reduce_files.push(InputFile {
                path: format!("{:05}.{flat}", t.index),
                bytes,
            });
        }
    }
    let locked = [job.job.escrow, job.job.spent, job.job.refunded]
        .iter()
        .try_fold(Amount::ZERO, |a, b| a.checked_add(*b))
        .context("escrow overflow")?;
    let all_verified = job.job.tasks_verified as usize == job.tasks.len();
    let reduce_stdout = match reduce {
        Some((program, args)) if all_verified => {
            // The sandbox blocks (wasmtime-wasi runs its own executor): off the async workers.
            let (id, dir) = (job.id, out.join("reduce"));
            let run = move || run_reduce(&id, &program, args, reduce_files, &dir);
            Some(tokio::task::spawn_blocking(run).await??)
        }
        _ => None,
    };
    Ok(JobReport {
        job: job.id,
        status: job.job.status,
        tasks: job.tasks.len(),
        tasks_verified: job.job.tasks_verified,
        tasks_failed: job.job.tasks_failed,
        fuel_verified,
        locked,
        spent: job.job.spent,
        refunded: job.job.refunded,
        paid_by_provider,
        out_dir: out.to_path_buf(),
        reduce_stdout,
    })
}

/// The output archive from the first provider that serves bytes with the accepted digest.
async fn download(
    client: &Client,
    endpoints: &mut BTreeMap<Address, String>,
    holders: &[Address],
    digest: &Hash32,
) -> anyhow::Result<Vec<u8>> {
    let mut errors = Vec::new();
    for p in holders {
        if !endpoints.contains_key(p) {
            let view = client.provider(p).await?;
            endpoints.insert(*p, view.provider.spec.endpoint.0);
        }
        let url = &endpoints[p];
        match yun_client::fetch_blob(url, digest, OUTPUT_BYTES_MAX).await {
            Ok(bytes) => return Ok(bytes),
            Err(e) => errors.push(format!("{p} at {url}: {e}")),
        }
    }
    bail!(
        "no provider served output {digest}: {}; providers keep outputs for a week — try again later",
        errors.join("; ")
    )
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Runs the reduce program over the verified outputs (`/in/NNNNN.stdout`, `/in/NNNNN.NAME`)
/// in the local sandbox; writes its outputs to `dir` and returns its stdout.
fn run_reduce(
    job: &JobId,
    program: &[u8],
    args: Vec<String>,
    files: Vec<InputFile>,
    dir: &Path,
) -> anyhow::Result<String> {
    let sandbox = Sandbox::new(SandboxConfig::default())?;
    let task = Task {
        args,
        stdin: Vec::new(),
        files,
        seed: task_seed(&TaskRef {
            job: *job,
            index: u32::MAX,
        }),
        fuel: REDUCE_FUEL_MAX,
        memory_bytes_max: REDUCE_MEMORY_BYTES_MAX,
    };
    let outcome = sandbox
        .run_module(program, &task)
        .map_err(|e| anyhow::anyhow!("reduce step: {e}"))?;
    for (name, bytes) in outcome.entries() {
        write_file(&dir.join(&name), &bytes)?;
    }
    if outcome.status != Status::Ok(0) {
        bail!(
            "reduce step ended with {}: {}",
            outcome.status,
            outcome.diagnostics.stderr_excerpt
        );
    }
    Ok(String::from_utf8_lossy(&outcome.stdout()).into_owned())
}

/// The cost summary printed after a job.
pub fn summary(r: &JobReport) -> String {
    let mut s = format!(
        "job {}: {:?}, {} of {} tasks verified, {} failed\noutputs in {}\n",
        r.job,
        r.status,
        r.tasks_verified,
        r.tasks,
        r.tasks_failed,
        r.out_dir.join("tasks").display()
    );
    if let Some(out) = &r.reduce_stdout {
        s.push_str(&format!(
            "reduce ({}):\n{}",
            r.out_dir.join("reduce").display(),
            out
        ));
        if !out.ends_with('\n') {
            s.push('\n');
        }
    }
    s.push_str(&format!(
        "cost: locked {} · paid to providers {} · refunded {} · fuel verified {}\n",
        r.locked, r.spent, r.refunded, r.fuel_verified
    ));
    for (p, a) in &r.paid_by_provider {
        s.push_str(&format!("  {p}  {a}\n"));
    }
    s.trim_end().to_string()
}
