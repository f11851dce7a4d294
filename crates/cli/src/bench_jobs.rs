//! `yun bench jobs`: a devnet with embedded providers in a temporary directory, and the whole
//! requester path measured — round trips of one-task jobs (k = 1 and k = 3), settled no-op
//! tasks per second, and 2,000 CPU-bound tasks against the ideal wall time.

use crate::args::ClientOpts;
use crate::bench::{machine, percentile};
use crate::output::{Output, print};
use crate::results::ReduceWhere;
use crate::signing::SignOpts;
use crate::submit::{Submission, SubmitArgs, run_submit};
use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use yun_client::Client;
use yun_exec::{Sandbox, SandboxConfig, Task};
use yun_types::api::JobStatus;
use yun_types::market::JobId;

#[derive(Args, Debug)]
pub struct JobsArgs {
    /// Embedded provider agents.
    #[arg(long, default_value_t = 3)]
    pub providers: usize,
    /// Slots per provider. A slot is held from assignment to commit (about two blocks), so
    /// settled tasks per second are bounded by slots ÷ two block intervals; each agent still
    /// runs only one task per core at a time.
    #[arg(long, default_value_t = 128)]
    pub slots: u32,
    /// One-task jobs timed for each of k = 1 and k = 3.
    #[arg(long, default_value_t = 20)]
    pub round_trips: usize,
    /// No-op tasks settled for the throughput figure (in jobs of 512).
    #[arg(long, default_value_t = 2_048)]
    pub noop_tasks: usize,
    /// CPU-bound tasks (each about `--task-ms` of work) for the overhead ratio.
    #[arg(long, default_value_t = 2_000)]
    pub cpu_tasks: usize,
    #[arg(long, default_value_t = 5)]
    pub task_ms: u64,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Serialize)]
pub struct JobsReport {
    pub machine: String,
    pub providers: usize,
    pub slots_per_provider: u32,
    pub round_trip_k1_p50_ms: f64,
    pub round_trip_k1_p99_ms: f64,
    pub round_trip_k3_p50_ms: f64,
    pub round_trip_k3_p99_ms: f64,
    pub noop_tasks: usize,
    pub noop_tasks_settled_per_s: f64,
    pub cpu_tasks: usize,
    pub cpu_task_ms: f64,
    pub cpu_wall_s: f64,
    pub cpu_ideal_s: f64,
    pub cpu_ratio: f64,
}

fn pi_wasm() -> anyhow::Result<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../guest/target/wasm32-wasip1/release/pi.wasm");
    if !p.exists() {
        bail!(
            "{} is missing: run ./scripts/build-guest first",
            p.display()
        );
    }
    Ok(p)
}

pub fn jobs(args: JobsArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("yun-bench-jobs-{}", std::process::id()));
    let port = crate::devnet::free_port()?;
    let (mut cfg, accounts) =
        crate::devnet::prepare_with_providers(&dir, port, true, 1, args.providers, &[])?;
    cfg.timing.min_block_interval_ms = 20;
    cfg.timing.busy_block_interval_ms = 100;
    let node = yun_node::run::spawn_node(cfg).context("starting the benchmark devnet")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let providers: Vec<_> = accounts
            .into_iter()
            .filter(|a| a.name.starts_with("provider"))
            .collect();
        let agents = crate::provider_run::start_devnet_agents(
            &node.api_url(),
            &dir,
            &providers,
            0,
            args.slots,
            None,
        )
        .await?;
        let report = measure(&args, &node.api_url(), &dir).await;
        for a in agents {
            a.shutdown().await?;
        }
        report
    });
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
    let r = result?;
    print(args.output, &r, || text(&r))
}

fn text(r: &JobsReport) -> String {
    format!(
        "yun bench jobs — {}\n  providers            {} × {} slots (in-process, one machine)\n  round trip k=1       p50 {:.0} ms, p99 {:.0} ms (submit → verified output downloaded)\n  round trip k=3       p50 {:.0} ms, p99 {:.0} ms\n  no-op tasks          {:.0} settled/s ({} tasks, k=1)\n  {} CPU tasks     {:.2} ms each alone; wall {:.2} s, ideal {:.2} s, ratio {:.2}",
        r.machine,
        r.providers,
        r.slots_per_provider,
        r.round_trip_k1_p50_ms,
        r.round_trip_k1_p99_ms,
        r.round_trip_k3_p50_ms,
        r.round_trip_k3_p99_ms,
        r.noop_tasks_settled_per_s,
        r.noop_tasks,
        r.cpu_tasks,
        r.cpu_task_ms,
        r.cpu_wall_s,
        r.cpu_ideal_s,
        r.cpu_ratio
    )
}

fn opts(url: &str, dir: &Path) -> ClientOpts {
    ClientOpts {
        node: url.to_string(),
        output: Output::Json,
        devnet_dir: Some(dir.to_path_buf()),
    }
}

fn sign() -> SignOpts {
    SignOpts {
        from: "dev0".into(),
        fee: None,
        nonce: None,
        expires_in: 600,
        no_wait: false,
    }
}

/// A pi job file: `tasks` tasks of `samples` samples each.
fn job_file(dir: &Path, name: &str, tasks: usize, samples: u64, k: u8) -> anyhow::Result<PathBuf> {
    let verification = if k == 1 {
        "policy = \"none\"".to_string()
    } else {
        format!("policy = \"replicate\"\nk = {k}\nquorum = {}", k / 2 + 1)
    };
    let body = format!(
        "program = {:?}\nargs = [\"--samples\", \"{samples}\", \"--seed\", \"{{index}}\"]\nfuel_per_task = 2000000000\nmemory_mb = 32\nbid_per_mfuel = \"100000\"\ndeadline_blocks = 100000\n[verification]\n{verification}\n[inputs]\ncount = {tasks}\n",
        pi_wasm()?
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, body)?;
    Ok(path)
}

async fn measure(args: &JobsArgs, url: &str, dir: &Path) -> anyhow::Result<JobsReport> {
    let opts = opts(url, dir);
    let client = Client::new(url);
    let mut trips = [Vec::new(), Vec::new()];
    for (i, k) in [1u8, 3].into_iter().enumerate() {
        let file = job_file(dir, &format!("rt{k}"), 1, 1_000, k)?;
        for n in 0..args.round_trips {
            let start = Instant::now();
            let submit = SubmitArgs {
                job_file: file.clone(),
                out: Some(dir.join(format!("out-rt{k}-{n}"))),
                detach: false,
                timeout_secs: 120,
                reduce: ReduceWhere::Network,
                keep_outputs_epochs: 0,
                keep_outputs_replicas: 3,
                encrypt: false,
                sign: sign(),
            };
            run_submit(submit, &opts).await?;
            trips[i].push(start.elapsed());
        }
        trips[i].sort();
    }
    let noop = settle_many(&client, &opts, dir, "noop", args.noop_tasks, 0).await?;
    let task_ms = args.task_ms;
    let (samples, single) = tokio::task::spawn_blocking(move || {
        let samples = calibrate(task_ms)?;
        Ok::<_, anyhow::Error>((samples, single_task_time(samples)?))
    })
    .await??;
    let wall = settle_many(&client, &opts, dir, "cpu", args.cpu_tasks, samples).await?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ideal = single.as_secs_f64() * args.cpu_tasks as f64 / cores as f64;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(JobsReport {
        machine: machine(),
        providers: args.providers,
        slots_per_provider: args.slots,
        round_trip_k1_p50_ms: ms(percentile(&trips[0], 0.5)),
        round_trip_k1_p99_ms: ms(percentile(&trips[0], 0.99)),
        round_trip_k3_p50_ms: ms(percentile(&trips[1], 0.5)),
        round_trip_k3_p99_ms: ms(percentile(&trips[1], 0.99)),
        noop_tasks: args.noop_tasks,
        noop_tasks_settled_per_s: args.noop_tasks as f64 / noop.as_secs_f64(),
        cpu_tasks: args.cpu_tasks,
        cpu_task_ms: ms(single),
        cpu_wall_s: wall.as_secs_f64(),
        cpu_ideal_s: ideal,
        cpu_ratio: wall.as_secs_f64() / ideal,
    })
}

/// Blocks `settle_many` waits for a job without one more task verified before it gives up and
/// says why (at the busy block interval, about a minute).
pub const STALL_BLOCKS_MAX: u64 = 600;
/// Longest `settle_many` waits for all its jobs, stalled or not.
const SETTLE_WAIT_MAX: Duration = Duration::from_secs(1_800);
/// Lines of `yun job why` a stall report quotes.
const STALL_WHY_LINES_MAX: usize = 12;
/// Tasks in one posted job: what fits in one transaction with these arguments (the chain's
/// 64 KiB limit).
const TASKS_PER_JOB: usize = 512;

/// Posts `tasks` tasks (in jobs of [`TASKS_PER_JOB`]) and waits until every job settled.
async fn settle_many(
    client: &Client,
    opts: &ClientOpts,
    dir: &Path,
    name: &str,
    tasks: usize,
    samples: u64,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let ids = post_jobs(opts, dir, name, tasks, samples).await?;
    // Re-read a job only when a block is finalized: a 512-task job view is large, and polling
    // it faster only takes CPU from the node and the agents being measured.
    let mut heads = yun_client::HeadFollower::start(client.base_url());
    for id in ids {
        wait_settled(client, &id, &mut heads, start).await?;
    }
    Ok(start.elapsed())
}

async fn post_jobs(
    opts: &ClientOpts,
    dir: &Path,
    name: &str,
    tasks: usize,
    samples: u64,
) -> anyhow::Result<Vec<JobId>> {
    let mut ids = Vec::new();
    for (j, first) in (0..tasks).step_by(TASKS_PER_JOB).enumerate() {
        let n = TASKS_PER_JOB.min(tasks - first);
        let file = job_file(dir, &format!("{name}{j}"), n, samples, 1)?;
        let submit = SubmitArgs {
            job_file: file,
            out: None,
            detach: true,
            timeout_secs: 600,
            reduce: ReduceWhere::Network,
            keep_outputs_epochs: 0,
            keep_outputs_replicas: 3,
            encrypt: false,
            sign: sign(),
        };
        match run_submit(submit, opts).await? {
            Submission::Posted(id) => ids.push(id),
            Submission::Finished(_) => bail!("a detached submit waited"),
        }
    }
    Ok(ids)
}

/// Waits until job `id` settled with every task verified; fails, saying why, if no task of it
/// was verified for [`STALL_BLOCKS_MAX`] blocks or everything took over [`SETTLE_WAIT_MAX`].
async fn wait_settled(
    client: &Client,
    id: &JobId,
    heads: &mut yun_client::HeadFollower,
    start: Instant,
) -> anyhow::Result<()> {
    // Verified tasks so far, and the height at which that count was first seen.
    let mut progress: Option<(u64, u64)> = None;
    loop {
        let j = client.job(id).await?;
        if j.job.status == JobStatus::Settled {
            if j.job.tasks_verified as usize != j.tasks.len() {
                bail!(
                    "job {id}: {} of {} tasks failed",
                    j.job.tasks_failed,
                    j.tasks.len()
                );
            }
            return Ok(());
        }
        let verified = u64::from(j.job.tasks_verified);
        let since = match progress {
            Some((v, h)) if v == verified => h,
            _ => j.height,
        };
        progress = Some((verified, since));
        if j.height >= since + STALL_BLOCKS_MAX {
            bail!(stalled(client, id, verified, since, j.height).await);
        }
        if start.elapsed() > SETTLE_WAIT_MAX {
            bail!("job {id} not settled after {SETTLE_WAIT_MAX:?}");
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), heads.next()).await;
    }
}

/// Why a job stopped progressing: what `yun job why` says about it and every provider's bond.
async fn stalled(client: &Client, id: &JobId, verified: u64, since: u64, now: u64) -> String {
    let mut out = format!(
        "job {id}: no task verified from height {since} to {now} (over {STALL_BLOCKS_MAX} \
         blocks; {verified} verified) — the market is stuck"
    );
    match client.job_why(id).await {
        Ok(w) => {
            let why = crate::market_text::why(&w);
            for line in why.lines().take(STALL_WHY_LINES_MAX) {
                out += &format!("\n  {line}");
            }
        }
        Err(e) => out += &format!("\n  job why: {e}"),
    }
    match (client.providers(100, None).await, client.market().await) {
        (Ok(ps), Ok(m)) => {
            out += &format!(
                "\n  providers (provider_bond_min {}):",
                m.params.provider_bond_min
            );
            for p in ps.providers {
                let v = &p.provider;
                out += &format!(
                    "\n    {}: bond {}, slashed {}, {:?}, {} in flight, {} verified",
                    p.address, v.bond, v.slashed, v.status, v.tasks_in_flight, v.tasks_verified
                );
            }
        }
        (Err(e), _) | (_, Err(e)) => out += &format!("\n  providers: {e}"),
    }
    out
}

fn run_pi(sandbox: &Sandbox, program: &[u8], samples: u64) -> anyhow::Result<Duration> {
    let mut task = Task::new(2_000_000_000, 32 << 20);
    task.args = vec![
        "--samples".into(),
        samples.to_string(),
        "--seed".into(),
        "1".into(),
    ];
    let start = Instant::now();
    sandbox
        .run_module(program, &task)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(start.elapsed())
}

/// Samples that make one pi task take about `ms` in the sandbox on this machine.
fn calibrate(ms: u64) -> anyhow::Result<u64> {
    let sandbox = Sandbox::new(SandboxConfig::default())?;
    let program = std::fs::read(pi_wasm()?)?;
    run_pi(&sandbox, &program, 1_000)?; // compile once
    let probe = 1_000_000;
    let t = (0..3)
        .map(|_| run_pi(&sandbox, &program, probe))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let per_sample = t.iter().min().expect("3 runs").as_secs_f64() / probe as f64;
    Ok(((ms as f64 / 1e3) / per_sample).max(1.0) as u64)
}

/// The median time of one task alone, compiled module cached, as a provider runs it.
fn single_task_time(samples: u64) -> anyhow::Result<Duration> {
    let sandbox = Sandbox::new(SandboxConfig::default())?;
    let program = std::fs::read(pi_wasm()?)?;
    run_pi(&sandbox, &program, samples)?;
    let mut t = (0..21)
        .map(|_| run_pi(&sandbox, &program, samples))
        .collect::<anyhow::Result<Vec<_>>>()?;
    t.sort();
    Ok(t[10])
}
