//! `yun job submit job.toml` and `yun job results`: upload, post, watch with a progress bar,
//! download every verified output (checked against its digest) and the network reduce's
//! verified output (or run the reduce here with `--reduce local`), and print what the job cost.

use crate::args::ClientOpts;
use crate::job_keys::KeySharer;
use crate::jobfile::{self, Input, JobPlan};
use crate::output::{Output, print};
use crate::results::{JobReport, Reduce, ReduceWhere};
use crate::signing::{SignOpts, sign_and_submit};
use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Duration;
use yun_client::{Client, HeadFollower, Uploader};
use yun_exec::Checker;
use yun_types::api::{JobResponse, JobStatus, ReplicaState, TaskPhase};
use yun_types::market::{JobId, JobSpec, ReduceSpec, TaskSpec, Text};
use yun_types::{Action, Hash32};

#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// The job file (see examples/jobs/*/job.toml).
    pub job_file: PathBuf,
    /// Where verified outputs go: DIR/tasks/NNNNN/… and DIR/reduce/… (default ./yun-out/JOB).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Return as soon as the job is posted, printing its id.
    #[arg(long)]
    pub detach: bool,
    /// Give up waiting after this many seconds (the job goes on; `yun job results` later).
    #[arg(long, default_value_t = 3_600)]
    pub timeout_secs: u64,
    /// Where the job file's reduce step runs: `network` (a task run by providers, verified by
    /// the job's policy, paid from escrow) or `local` (here, over the downloaded outputs; the
    /// job is then posted without a reduce).
    #[arg(long, value_enum, default_value_t = ReduceWhere::Network)]
    pub reduce: ReduceWhere,
    /// Keep every verified output (and the reduce's) stored under a deal for this many
    /// storage epochs after the job settles: one deal per output, copied by storage
    /// providers from a provider paid for it (0: keep nothing).
    #[arg(long, default_value_t = 0)]
    pub keep_outputs_epochs: u32,
    /// Replicas of each kept output.
    #[arg(long, default_value_t = 3)]
    pub keep_outputs_replicas: u8,
    /// Encrypt the inputs to a fresh job key before they leave this machine (kept in
    /// `$YUN_HOME/job-keys`); while waiting, seal that key to each provider the chain assigns
    /// (`yun job share-keys ID` does it for a detached job). Outputs come back encrypted to it
    /// and are decrypted here. The program stays in the clear: every provider runs it.
    #[arg(long)]
    pub encrypt: bool,
    #[command(flatten)]
    pub sign: SignOpts,
}

pub async fn submit(args: SubmitArgs, opts: &ClientOpts) -> anyhow::Result<()> {
    match run_submit(args, opts).await? {
        Submission::Posted(id) => print(opts.output, &serde_json::json!({ "job": id }), || {
            format!("job {id} posted; follow it with `yun job status {id}`")
        }),
        Submission::Finished(report) => {
            print(opts.output, &report, || crate::results::summary(&report))
        }
    }
}

/// How far `submit` went.
#[derive(Debug)]
pub enum Submission {
    /// Posted with `--detach`.
    Posted(JobId),
    /// Settled, outputs downloaded and reduced.
    Finished(Box<JobReport>),
}

/// `yun job submit` without the printing of its result (tests call this).
pub async fn run_submit(args: SubmitArgs, opts: &ClientOpts) -> anyhow::Result<Submission> {
    if args.encrypt && args.keep_outputs_epochs > 0 {
        bail!(
            "--keep-outputs-epochs cannot keep an encrypted job's outputs yet (storage providers \
             would copy them from the job's providers, who keep only ciphertext to the job key): \
             store the decrypted outputs with `yun storage put --encrypt` instead"
        );
    }
    let plan = jobfile::load(&args.job_file)?;
    check_program(&plan).await?;
    let client = Client::new(&opts.node);
    // Uploads are signed with the posting account's key: the node stores nothing anonymous,
    // and the key never leaves this process (the node sees the signed ticket only).
    let key = crate::keys::signer(&args.sign.from, &opts.dev_lookup()).await?;
    let uploader = Uploader::new(key.clone());
    // The job key is on disk before anything is encrypted to it or posted.
    let job_identity = if args.encrypt {
        Some(crate::job_keys::create_job_key()?)
    } else {
        None
    };
    let job_key = job_identity.as_ref().map(|i| i.public_key());
    let mut spec = upload(&client, &uploader, &plan, job_key, opts.output).await?;
    if args.reduce == ReduceWhere::Local {
        spec.reduce = None;
    }
    let height = client.status().await?.height;
    let spec = JobSpec {
        deadline_height: height + plan.deadline_blocks,
        ..spec
    };
    let action = Action::PostJob { spec };
    check_size(&client, &action, plan.tasks.len()).await?;
    let posted = sign_and_submit(&client, opts, &args.sign, action).await?;
    let id = posted.id;
    if args.detach || args.sign.no_wait {
        return Ok(Submission::Posted(id));
    }
    if opts.output == Output::Text {
        eprintln!(
            "job {id} posted at height {}",
            posted.height().unwrap_or(height)
        );
    }
    let mut sharer = job_identity.clone().map(|identity| KeySharer {
        identity,
        key,
        sign: args.sign.clone(),
        shared: Default::default(),
    });
    let job = watch(
        &client,
        &id,
        opts.output,
        Duration::from_secs(args.timeout_secs),
        sharer.as_mut(),
    )
    .await?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("yun-out").join(id.to_string()));
    let reduce = match (&plan.reduce, args.reduce) {
        (None, _) => Reduce::None,
        (Some(_), ReduceWhere::Network) => Reduce::Network,
        (Some((p, a)), ReduceWhere::Local) => Reduce::Local(std::fs::read(p)?, a.clone()),
    };
    let mut report =
        crate::results::collect(&client, &job, &out, reduce, job_identity.as_ref()).await?;
    if args.keep_outputs_epochs > 0 {
        report.kept = crate::keep::keep_outputs(
            &client,
            opts,
            &args.sign,
            &job,
            args.keep_outputs_epochs,
            args.keep_outputs_replicas,
        )
        .await?;
    }
    Ok(Submission::Finished(Box::new(report)))
}

/// Refuses a posting larger than a transaction may be, saying how many tasks would fit.
async fn check_size(client: &Client, action: &Action, tasks: usize) -> anyhow::Result<()> {
    let tx_bytes_max = client.genesis().await?.params.tx_bytes_max as usize;
    // Signature, signer, nonce, fee and the rest of the envelope.
    let bytes = commonware_codec::EncodeSize::encode_size(action) + 256;
    if bytes > tx_bytes_max {
        let fit = tasks * tx_bytes_max / bytes;
        bail!(
            "the job's posting is about {bytes} bytes and a transaction is at most {tx_bytes_max}: \
             split it into jobs of about {fit} tasks (or shorten the per-task arguments)"
        );
    }
    Ok(())
}

/// Refuses a program the sandbox would refuse, before anything is paid for. The check compiles
/// no function (`Checker::check`: ~1 ms, where compiling a 100 KB program took ~100 ms of
/// every round trip); reading and validating still block, so it runs on the blocking pool.
async fn check_program(plan: &JobPlan) -> anyhow::Result<()> {
    let paths: Vec<PathBuf> = std::iter::once(&plan.program)
        .chain(plan.reduce.as_ref().map(|(p, _)| p))
        .cloned()
        .collect();
    tokio::task::spawn_blocking(move || {
        let checker = Checker::new()?;
        for path in &paths {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            if let Err(r) = checker.check(&bytes) {
                bail!(
                    "{} would be refused by every provider: {} ({}): {r} — {}",
                    path.display(),
                    r.name(),
                    r.code(),
                    r.hint()
                );
            }
        }
        Ok(())
    })
    .await
    .context("the program check panicked")?
}

/// Uploads the program(s) and every input under tickets `uploader` signs (each input
/// encrypted to `job_key` first, if given); returns the spec without its deadline, naming the
/// node uploaded to as the job's data source (providers following other nodes fetch from it).
async fn upload(
    client: &Client,
    uploader: &Uploader,
    plan: &JobPlan,
    job_key: Option<Hash32>,
    output: Output,
) -> anyhow::Result<JobSpec> {
    let bar = bar(plan.tasks.len() as u64 + 1, output, "uploading");
    let (program_hash, program_bytes) = client.put_blob_file_as(&plan.program, uploader).await?;
    bar.inc(1);
    let mut tasks = Vec::with_capacity(plan.tasks.len());
    // Ciphertext of file inputs is written to a private directory removed afterwards.
    let scratch = tempfile::Builder::new().prefix("yun-encrypt-").tempdir()?;
    for (input, args) in &plan.tasks {
        let encrypted = match job_key {
            None => None,
            Some(k) => {
                let (input, dir) = (input.clone(), scratch.path().to_path_buf());
                let run = move || crate::job_keys::encrypt_input(&k, &input, &dir);
                Some(tokio::task::spawn_blocking(run).await??)
            }
        };
        let input = encrypted.as_ref().unwrap_or(input);
        // Whole files are streamed from disk; only split pieces are in memory already.
        let (input_hash, input_bytes) = match input {
            Input::Empty => (Hash32(*blake3::hash(&[]).as_bytes()), 0),
            Input::File(path) => client.put_blob_file_as(path, uploader).await?,
            Input::Bytes(b) => (
                client.put_blob_as(b.clone(), uploader).await?,
                b.len() as u64,
            ),
        };
        tasks.push(TaskSpec {
            input_hash,
            input_bytes,
            args: args.iter().map(|a| Text(a.clone())).collect(),
        });
        bar.inc(1);
    }
    // Uploaded whichever way it runs: the program is on the node for `yun job results`.
    let reduce = match &plan.reduce {
        None => None,
        Some((path, args)) => {
            let (program_hash, program_bytes) = client.put_blob_file_as(path, uploader).await?;
            Some(ReduceSpec {
                program_hash,
                program_bytes,
                args: args.iter().map(|a| Text(a.clone())).collect(),
            })
        }
    };
    bar.finish_and_clear();
    Ok(JobSpec {
        program_hash,
        program_bytes,
        tasks,
        fuel_per_task: plan.fuel_per_task,
        memory_bytes_per_task: plan.memory_bytes_per_task,
        verification: plan.verification,
        bid_per_mfuel: plan.bid_per_mfuel,
        deadline_height: 0,
        required_labels: plan.required_labels.clone(),
        reduce,
        data_sources: upload_source(client.base_url()),
        encryption_key: job_key,
    })
}

/// The node uploaded to, as a job's data source, if it fits the chain's URL bound.
fn upload_source(url: &str) -> Vec<Text> {
    if url.len() <= yun_types::market::URL_BYTES_MAX {
        vec![Text(url.to_string())]
    } else {
        Vec::new()
    }
}

fn bar(len: u64, output: Output, prefix: &'static str) -> ProgressBar {
    if output == Output::Json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix);
    bar
}

/// Task counts by where they stand (map tasks), and the reduce step's.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub pending: u32,
    pub running: u32,
    pub verified: u32,
    pub failed: u32,
    /// The network reduce in a word, if the job has one.
    pub reduce: Option<&'static str>,
}

pub fn progress(job: &JobResponse) -> Progress {
    let mut p = Progress::default();
    for t in &job.tasks {
        count(&mut p, &t.task);
    }
    p.reduce = match (&job.job.spec.reduce, &job.reduce) {
        (None, _) => None,
        (Some(_), None) if job.job.status == JobStatus::Settled => Some("not run"),
        (Some(_), None) => Some("waiting for the maps"),
        (Some(_), Some(r)) => Some(match r.task.phase {
            TaskPhase::Verified { .. } => "verified",
            TaskPhase::Failed { .. } => "failed",
            TaskPhase::Open if r.task.replicas.iter().any(|r| r.state.in_flight()) => "running",
            TaskPhase::Open => "queued",
        }),
    };
    p
}

/// Counts one map task by where it stands.
fn count(p: &mut Progress, t: &yun_types::api::Task) {
    match t.phase {
        TaskPhase::Verified { .. } => p.verified += 1,
        TaskPhase::Failed { .. } => p.failed += 1,
        TaskPhase::Open => {
            let busy = t.replicas.iter().any(|r| {
                r.state.deadline().is_some()
                    || matches!(
                        r.state,
                        ReplicaState::Committed { .. }
                            | ReplicaState::Revealed { .. }
                            | ReplicaState::Sealed
                    )
            });
            if busy { p.running += 1 } else { p.pending += 1 }
        }
    }
}

/// Follows the job on every new head until it is settled (or `timeout` passes).
async fn watch(
    client: &Client,
    id: &JobId,
    output: Output,
    timeout: Duration,
    mut sharer: Option<&mut KeySharer>,
) -> anyhow::Result<JobResponse> {
    let mut heads = HeadFollower::start(client.base_url());
    let deadline = tokio::time::Instant::now() + timeout;
    let mut job = client.job(id).await?;
    let bar = bar(job.tasks.len() as u64, output, "running");
    loop {
        let p = progress(&job);
        bar.set_position(u64::from(p.verified + p.failed));
        let reduce = p
            .reduce
            .map(|r| format!(" · reduce {r}"))
            .unwrap_or_default();
        bar.set_message(format!(
            "pending {} · running {} · verified {} · failed {}{reduce} · spent {}",
            p.pending, p.running, p.verified, p.failed, job.job.spent
        ));
        if job.job.status == JobStatus::Settled {
            bar.finish();
            return Ok(job);
        }
        // An encrypted job's key goes to each provider as soon as it is drawn; a failed
        // share is tried again on the next head (the provider waits, unpunished).
        if let Some(sharer) = sharer.as_deref_mut()
            && let Err(e) = sharer.share(client, &job).await
        {
            bar.println(format!(
                "sharing the job's key failed (trying again): {e:#}"
            ));
        }
        // A head event, or a poll every second should the event stream be unavailable.
        match tokio::time::timeout_at(deadline, async {
            let _ = tokio::time::timeout(Duration::from_secs(1), heads.next()).await;
        })
        .await
        {
            Ok(()) => job = client.job(id).await?,
            Err(_) => {
                bar.abandon();
                bail!(
                    "job {id} not settled after {timeout:?}; it goes on: `yun job status {id}`, then `yun job results {id}`"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A program every provider would refuse is refused here, named and numbered, before any
    /// upload or payment: the node named does not even exist.
    #[tokio::test]
    async fn a_refused_program_stops_the_submit_before_the_network() {
        let dir = tempfile::tempdir().unwrap();
        // Imports a socket function: refusal 4, `import_not_allowed`.
        let wasm = wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32))) (func (export "_start")))"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.wasm"), wasm).unwrap();
        let job = dir.path().join("job.toml");
        std::fs::write(
            &job,
            "program = \"bad.wasm\"\nfuel_per_task = 1000000\nmemory_mb = 16\nbid_per_mfuel = \"1\"\ndeadline_blocks = 10\n[verification]\npolicy = \"none\"\n[inputs]\ncount = 1\n",
        )
        .unwrap();
        let args = SubmitArgs {
            job_file: job,
            out: None,
            detach: true,
            timeout_secs: 1,
            reduce: ReduceWhere::Network,
            keep_outputs_epochs: 0,
            keep_outputs_replicas: 3,
            encrypt: false,
            sign: SignOpts {
                from: "dev0".into(),
                fee: None,
                nonce: None,
                expires_in: 60,
                no_wait: true,
            },
        };
        let opts = ClientOpts {
            node: "http://127.0.0.1:9".into(),
            output: Output::Json,
            devnet_dir: None,
        };
        let err = run_submit(args, &opts).await.unwrap_err().to_string();
        assert!(
            err.contains("would be refused by every provider: import_not_allowed (4)"),
            "{err}"
        );
    }
}
