//! Collecting a settled job: every verified output downloaded from a provider that computed
//! it and checked against the accepted digest, unpacked; the reduce step's verified output
//! downloaded the same way (or, with `--reduce local`, the reduce run here over the map
//! outputs); and the bill.

use crate::args::ClientOpts;
use crate::output::print;
use anyhow::{Context, bail};
use clap::ValueEnum;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use yun_client::seal::SealIdentity;
use yun_client::{Client, OutputFetcher, paid_holders};
use yun_exec::{InputFile, Sandbox, SandboxConfig, Status, Task, add_reduce_input, read_archive};
use yun_types::api::{JobResponse, JobStatus, ReplicaState, Task as TaskRecord, TaskPhase};
use yun_types::market::{JobId, TaskRef, task_seed};
use yun_types::{Address, Amount, Hash32};

pub use yun_provider::OUTPUT_BYTES_MAX;
/// Fuel and memory the local reduce run may use.
pub const REDUCE_FUEL_MAX: u64 = 100_000_000_000;
pub const REDUCE_MEMORY_BYTES_MAX: u64 = 1 << 30;

/// Where a job's reduce step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReduceWhere {
    /// On the network: a task run by providers, verified by the job's policy, paid from escrow.
    Network,
    /// On this machine, over the downloaded map outputs (the job is posted without a reduce).
    Local,
}

/// What to do about the reduce step when collecting.
#[derive(Debug)]
pub enum Reduce {
    /// The job has none.
    None,
    /// Run this program with these arguments here.
    Local(Vec<u8>, Vec<String>),
    /// Download the network reduce task's verified output.
    Network,
}

/// What a finished job produced and cost: the `--output json` answer.
#[derive(Debug, Serialize)]
pub struct JobReport {
    pub job: JobId,
    pub status: JobStatus,
    /// Map tasks.
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
    /// Where the reduce ran and how it ended (or why it did not run), if the job has one.
    pub reduce_status: Option<String>,
    /// The network reduce's verified output digest.
    pub reduce_digest: Option<Hash32>,
    /// Outputs kept under storage deals (`--keep-outputs-epochs`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<crate::keep::KeptOutput>,
}

/// `yun job results ID [--out DIR] [--reduce local]`.
pub async fn results(
    id: &str,
    out: Option<PathBuf>,
    reduce_where: ReduceWhere,
    opts: &ClientOpts,
) -> anyhow::Result<()> {
    let id: JobId = id
        .parse()
        .map_err(|e| anyhow::anyhow!("job id `{id}`: {e}"))?;
    let client = Client::new(&opts.node);
    let job = client.job(&id).await?;
    let reduce = match (&job.job.spec.reduce, reduce_where) {
        (None, _) => Reduce::None,
        (Some(_), ReduceWhere::Network) => Reduce::Network,
        (Some(r), ReduceWhere::Local) => {
            let program = client
                .get_blob(&r.program_hash, r.program_bytes)
                .await
                .context("fetching the reduce program from the node")?;
            Reduce::Local(program, r.args.iter().map(|a| a.0.clone()).collect())
        }
    };
    let out = out.unwrap_or_else(|| PathBuf::from("yun-out").join(id.to_string()));
    let job_identity = match &job.job.spec.encryption_key {
        None => None,
        Some(public) => Some(crate::job_keys::load_job_key(public)?),
    };
    let report = collect(&client, &job, &out, reduce, job_identity.as_ref()).await?;
    print(opts.output, &report, || summary(&report))
}

/// Downloads, unpacks and reduces what `job` verified so far, into `out`. An encrypted job's
/// outputs are decrypted with `job_identity` and checked against the verified digests.
pub async fn collect(
    client: &Client,
    job: &JobResponse,
    out: &Path,
    reduce: Reduce,
    job_identity: Option<&SealIdentity>,
) -> anyhow::Result<JobReport> {
    let mut fetcher = Fetcher {
        outputs: OutputFetcher::new(client.clone()),
        job_identity,
    };
    let mut reduce_files = Vec::new();
    let mut paid_by_provider: BTreeMap<Address, Amount> = BTreeMap::new();
    let mut fuel_verified = 0u64;
    let mut maps_verified = 0usize;
    let reduce_task = job.reduce.as_ref().map(|r| &r.task);
    for task in job.tasks.iter().map(|t| &t.task).chain(reduce_task) {
        for r in &task.replicas {
            if let ReplicaState::Paid { amount } = r.state {
                let e = paid_by_provider.entry(r.provider).or_insert(Amount::ZERO);
                *e = e.checked_add(amount).context("payments overflow")?;
            }
        }
    }
    for t in &job.tasks {
        let TaskPhase::Verified { verdict } = t.task.phase else {
            continue;
        };
        maps_verified += 1;
        fuel_verified += verdict.fuel_used;
        if verdict.is_cannot_run() {
            continue;
        }
        let archive = download(&mut fetcher, &t.task, &verdict.output_digest).await?;
        let dir = out.join("tasks").join(format!("{:05}", t.index));
        for (name, bytes) in read_archive(&archive).context("unpacking an output archive")? {
            write_file(&dir.join(&name), &bytes)?;
        }
        if matches!(reduce, Reduce::Local(..)) {
            add_reduce_input(&mut reduce_files, t.index, &archive)
                .with_context(|| format!("task {}'s output for the local reduce", t.index))?;
        }
    }
    let locked = [job.job.escrow, job.job.spent, job.job.refunded]
        .iter()
        .try_fold(Amount::ZERO, |a, b| a.checked_add(*b))
        .context("escrow overflow")?;
    let reduce_index = TaskRef {
        job: job.id,
        index: job.tasks.len() as u32,
    };
    let (mut reduce_stdout, mut reduce_status, mut reduce_digest) = (None, None, None);
    match reduce {
        Reduce::None => {}
        Reduce::Local(program, args) if maps_verified == job.tasks.len() => {
            // The sandbox blocks (wasmtime-wasi runs its own executor): off the async workers.
            let dir = out.join("reduce");
            let run = move || run_reduce(&reduce_index, &program, args, reduce_files, &dir);
            reduce_stdout = Some(tokio::task::spawn_blocking(run).await??);
            reduce_status = Some("ran locally".into());
        }
        Reduce::Local(..) => {
            reduce_status = Some("not run locally: not every map task was verified".into());
        }
        Reduce::Network => {
            let (stdout, status, digest) = network_reduce(&mut fetcher, job, out).await?;
            (reduce_stdout, reduce_status, reduce_digest) = (stdout, Some(status), digest);
        }
    }
    Ok(JobReport {
        job: job.id,
        status: job.job.status,
        tasks: job.tasks.len(),
        tasks_verified: maps_verified as u32,
        tasks_failed: job
            .tasks
            .iter()
            .filter(|t| matches!(t.task.phase, TaskPhase::Failed { .. }))
            .count() as u32,
        fuel_verified,
        locked,
        spent: job.job.spent,
        refunded: job.job.refunded,
        paid_by_provider,
        out_dir: out.to_path_buf(),
        reduce_stdout,
        reduce_status,
        reduce_digest,
        kept: Vec::new(),
    })
}

/// The network reduce task's verified output, unpacked into `out/reduce`: (its stdout, how it
/// ended in words, its digest).
async fn network_reduce(
    fetcher: &mut Fetcher<'_>,
    job: &JobResponse,
    out: &Path,
) -> anyhow::Result<(Option<String>, String, Option<Hash32>)> {
    let Some(reduce) = &job.reduce else {
        return Ok((
            None,
            "not run: no map task produced an output to reduce".into(),
            None,
        ));
    };
    let verdict = match reduce.task.phase {
        TaskPhase::Verified { verdict } => verdict,
        TaskPhase::Failed { reason } => {
            return Ok((None, format!("failed on the network: {reason:?}"), None));
        }
        TaskPhase::Open => return Ok((None, "still running on the network".into(), None)),
    };
    if verdict.is_cannot_run() {
        let status = format!(
            "verified on the network: it cannot run (cause {}, detail {}; `yun job status` shows the task)",
            verdict.status_value >> 16,
            verdict.status_value & 0xFFFF
        );
        return Ok((None, status, None));
    }
    let archive = download(fetcher, &reduce.task, &verdict.output_digest).await?;
    let dir = out.join("reduce");
    let mut stdout = None;
    for (name, bytes) in read_archive(&archive).context("unpacking the reduce output")? {
        write_file(&dir.join(&name), &bytes)?;
        if name == "stdout" {
            stdout = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    let status = format!(
        "verified on the network (status {} {}, output {})",
        verdict.status_tag, verdict.status_value, verdict.output_digest
    );
    Ok((stdout, status, Some(verdict.output_digest)))
}

/// Fetches outputs, decrypting an encrypted job's.
struct Fetcher<'a> {
    outputs: OutputFetcher,
    job_identity: Option<&'a SealIdentity>,
}

/// The output archive from the first provider paid for it that serves the accepted bytes
/// (for an encrypted job, ciphertext whose plaintext has the accepted digest).
async fn download(
    fetcher: &mut Fetcher<'_>,
    task: &TaskRecord,
    digest: &Hash32,
) -> anyhow::Result<Vec<u8>> {
    let holders = paid_holders(task);
    let fetched = match fetcher.job_identity {
        None => {
            fetcher
                .outputs
                .fetch(&holders, digest, OUTPUT_BYTES_MAX)
                .await?
        }
        Some(identity) => {
            fetcher
                .outputs
                .fetch_sealed(&holders, digest, identity, OUTPUT_BYTES_MAX)
                .await?
        }
    };
    match fetched {
        Ok(bytes) => Ok(bytes),
        Err(gone) => bail!(
            "no provider served output {digest}: {gone}; providers keep outputs for a week — try again later"
        ),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Runs the reduce program over the verified outputs (`/in/NNNNN.stdout`, `/in/NNNNN.NAME`)
/// in the local sandbox, with the seed the network's reduce task would get; writes its
/// outputs to `dir` and returns its stdout.
fn run_reduce(
    task_ref: &TaskRef,
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
        seed: task_seed(task_ref),
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
    if let Some(status) = &r.reduce_status {
        s.push_str(&format!(
            "reduce ({}): {status}\n",
            r.out_dir.join("reduce").display()
        ));
    }
    if let Some(out) = &r.reduce_stdout {
        s.push_str(out);
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
    for k in &r.kept {
        s.push_str(&format!(
            "kept {} ({} bytes) under deal {}\n",
            k.root, k.size_bytes, k.deal
        ));
    }
    s.trim_end().to_string()
}
