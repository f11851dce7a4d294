//! `yun bench transfers`: starts a devnet (or an N-process localnet) in a temporary directory,
//! pre-signs transfers from many funded accounts, submits them in batches as fast as the nodes
//! accept them and then at half the rate that finalized (or at a given rate), and measures
//! finalized transactions per second and submit-to-finalized latency.

use crate::bench_stages::StageTotals;
use crate::output::Output;
use anyhow::Context;
use clap::Args;
use commonware_cryptography::Signer;
use commonware_cryptography::ed25519::PrivateKey;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yun_client::Client;
use yun_types::api::StatusResponse;
use yun_types::{Action, Address, Amount, SignedTx, Tx, TxId, TxRejection};

#[derive(Args, Debug)]
pub struct TransfersArgs {
    /// Seconds of load.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Sending accounts (each sends its transfers in nonce order).
    #[arg(long, default_value_t = 4_000)]
    pub accounts: usize,
    /// Offered load in tx/s; omitted means as fast as the node admits them.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Transactions per HTTP batch; omitted means 1,000 at full speed and, at a set rate,
    /// 25 ms of each submitter's share (a steady stream, not bursts that wait on each other).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Concurrent submitting connections.
    #[arg(long, default_value_t = 4)]
    pub submitters: usize,
    /// Most submitted-but-not-finalized transactions (backpressure instead of a full mempool).
    #[arg(long, default_value_t = 60_000)]
    pub in_flight_max: usize,
    /// Validators: 1 runs the node in this process; more start a localnet of one process
    /// each, and submissions are spread over their APIs.
    #[arg(long, default_value_t = 1)]
    pub validators: usize,
    /// The nodes' shortest interval between blocks with transactions, in milliseconds
    /// (node.toml `[timing] min_block_interval_ms`); omitted keeps the devnet's.
    #[arg(long)]
    pub min_block_interval_ms: Option<u64>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Seed of the first sender key of the full-load phase; the half-load phase uses fresh
/// accounts from `HALF_LOAD_SEED_BASE` (so no nonce gap left by the first phase matters).
const FULL_LOAD_SEED_BASE: u64 = 1_000_000;
const HALF_LOAD_SEED_BASE: u64 = 2_000_000;
/// Opening balance of each sending account.
const SENDER_BALANCE: u128 = 1_000_000_000_000;
/// Offered load assumed when pre-signing for a full-speed phase, in tx/s.
const FULL_SPEED_PRESIGN_TX_PER_SEC: u64 = 30_000;
/// How long admitted transactions may take to finalize after the load stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Transactions per request at full speed, unless `--batch` says otherwise.
const FULL_SPEED_BATCH_TXS: usize = 1_000;
/// How much of a submitter's paced load one request carries, unless `--batch` says otherwise.
const PACED_BATCH_WINDOW: Duration = Duration::from_millis(25);
/// Blocks per validator a network of several finalizes before any load is sent.
const LIVE_BLOCKS_PER_VALIDATOR: u64 = 2;
/// How long a network may take to get there.
const LIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a submitter waits before sending again what the node pushed back (its backlog is
/// full: `MempoolFull` or `MempoolFeeRateTooLow`).
const BACKPRESSURE_RETRY_DELAY: Duration = Duration::from_millis(5);

/// The network under load: one in-process node, or a localnet of node processes.
pub(crate) enum BenchNet {
    InProcess(yun_node::run::NodeHandle),
    Localnet {
        nodes: Vec<crate::localnet::LocalNode>,
        children: Vec<std::process::Child>,
    },
}

impl BenchNet {
    /// Starts the network; `prepare_genesis` may add to the genesis file (in `dir`) before
    /// any node reads it.
    pub(crate) fn start(
        dir: &std::path::Path,
        args: &TransfersArgs,
        funded: &[(Address, Amount)],
        prepare_genesis: &dyn Fn(&std::path::Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<BenchNet> {
        if args.validators <= 1 {
            let port = crate::devnet::free_port()?;
            let (mut cfg, _) = crate::devnet::prepare(dir, port, true, 1, funded)?;
            prepare_genesis(dir)?;
            cfg.mempool = bench_mempool(args);
            if let Some(ms) = args.min_block_interval_ms {
                cfg.timing.min_block_interval_ms = ms;
            }
            let node = yun_node::run::spawn_node(cfg).context("starting the benchmark devnet")?;
            return Ok(BenchNet::InProcess(node));
        }
        use crate::localnet;
        let net_args = localnet::LocalnetArgs {
            cmd: None,
            validators: args.validators,
            full_nodes: 0,
            base_port: localnet::free_base_port(args.validators)?,
            data_dir: Some(dir.to_path_buf()),
            reset: true,
            detach: true,
            accounts: 0,
            epoch_blocks: None,
        };
        let (mut nodes, _) = localnet::prepare(dir, &net_args, funded)?;
        prepare_genesis(dir)?;
        for node in &nodes {
            let mut cfg = yun_node::run::NodeConfig::load(&node.config)?;
            cfg.mempool = bench_mempool(args);
            if let Some(ms) = args.min_block_interval_ms {
                cfg.timing.min_block_interval_ms = ms;
            }
            cfg.data_dir = ".".into();
            cfg.save(&node.config)?;
        }
        let exe = std::env::current_exe().context("finding the yun binary")?;
        let mut children = localnet::start(&exe, dir, &mut nodes)?;
        if let Err(e) = localnet::wait_ready(&nodes, &mut children) {
            localnet::terminate(&mut children);
            return Err(e);
        }
        Ok(BenchNet::Localnet { nodes, children })
    }

    /// Which node processes have exited, with the end of their logs (why a load failed).
    pub(crate) fn exited(&mut self) -> Option<String> {
        let BenchNet::Localnet {
            children, nodes, ..
        } = self
        else {
            return None;
        };
        let dead: Vec<String> = nodes
            .iter()
            .zip(children.iter_mut())
            .filter_map(|(n, c)| (!matches!(c.try_wait(), Ok(None))).then_some((n, ())))
            .map(|(n, _)| {
                format!(
                    "{} exited; its log ends with:\n{}",
                    n.name,
                    crate::localnet::log_tail(n)
                )
            })
            .collect();
        (!dead.is_empty()).then(|| dead.join("\n"))
    }

    pub(crate) fn urls(&self) -> Vec<String> {
        match self {
            BenchNet::InProcess(node) => vec![node.api_url()],
            BenchNet::Localnet { nodes, .. } => nodes.iter().map(|n| n.api_url.clone()).collect(),
        }
    }
}

impl Drop for BenchNet {
    fn drop(&mut self) {
        if let BenchNet::Localnet { children, .. } = self {
            crate::localnet::terminate(children);
        }
    }
}

/// Room for everything in flight, and for one account's share of it.
fn bench_mempool(args: &TransfersArgs) -> yun_node::run::MempoolConfig {
    yun_node::run::MempoolConfig {
        txs_max: args.in_flight_max * 2,
        per_account_max: 4_096,
        ..yun_node::run::MempoolConfig::default()
    }
}

fn sender_keys(seed_base: u64, n: usize) -> Vec<PrivateKey> {
    (0..n as u64)
        .map(|i| PrivateKey::from_seed(seed_base + i))
        .collect()
}

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub fn transfers(args: TransfersArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let full_senders = sender_keys(FULL_LOAD_SEED_BASE, args.accounts);
    let half_senders = sender_keys(HALF_LOAD_SEED_BASE, args.accounts);
    let funded: Vec<(Address, Amount)> = full_senders
        .iter()
        .chain(&half_senders)
        .map(|k| {
            (
                Address::from_public_key(&k.public_key()),
                Amount::new(SENDER_BALANCE),
            )
        })
        .collect();
    let net = BenchNet::start(&dir, &args, &funded, &|_| Ok(()))?;
    if args.output == Output::Text {
        println!(
            "yun bench transfers — {} validator(s) — {}",
            args.validators.max(1),
            machine()
        );
    }
    // Text phases are printed as they finish, so a failure in the second keeps the first.
    let show = |phase: &serde_json::Value| {
        if args.output == Output::Text {
            print_phase(phase);
        }
    };
    let mut phases = Vec::new();
    let collected = &mut phases;
    let args = &args;
    drive(&dir, net, move |urls| async move {
        let first = run_load(&urls, full_senders, args.rate, args).await?;
        show(&first);
        collected.push(first);
        if args.rate.is_some() {
            return Ok(());
        }
        // Half of what finalized at saturation: the latency a network sees with headroom.
        let measured = collected[0]["finalized_tx_per_s"].as_f64().unwrap_or(0.0);
        let half_rate = ((measured / 2.0) as u64).max(1);
        let second = run_load(&urls, half_senders, Some(half_rate), args).await?;
        show(&second);
        collected.push(second);
        Ok(())
    })?;
    print_json_report(args, &phases)
}

/// Runs `load` on a two-worker runtime against `net`'s API URLs, then stops `net` and removes
/// `dir`, whatever happened; a failure names any node process that exited meanwhile.
pub(crate) fn drive<T, F: std::future::Future<Output = anyhow::Result<T>>>(
    dir: &std::path::Path,
    mut net: BenchNet,
    load: impl FnOnce(Vec<String>) -> F,
) -> anyhow::Result<T> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(load(net.urls()));
    let result = result.map_err(|e| match net.exited() {
        Some(why) => e.context(why),
        None => e,
    });
    drop(net);
    let _ = std::fs::remove_dir_all(dir);
    result
}

/// With `--output json`, the whole report: the machine, the validators and every phase.
pub(crate) fn print_json_report(
    args: &TransfersArgs,
    phases: &[serde_json::Value],
) -> anyhow::Result<()> {
    if args.output == Output::Json {
        let report = serde_json::json!({
            "machine": machine(),
            "validators": args.validators.max(1),
            "phases": phases,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

pub(crate) fn print_phase(report: &serde_json::Value) {
    println!();
    println!(
        "  offered load      {}",
        report["offered"].as_str().unwrap_or("")
    );
    println!(
        "  submitted         {} tx ({} refused, {} held back at the deadline)",
        report["submitted"], report["refused"], report["held_back_at_deadline"]
    );
    println!(
        "  finalized         {} tx in {:.2} s",
        report["finalized"],
        report["window_s"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  throughput        {:.0} tx/s finalized",
        report["finalized_tx_per_s"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  latency p50       {} ms (submit → finalized)",
        report["latency_p50_ms"]
    );
    println!("  latency p99       {} ms", report["latency_p99_ms"]);
    println!(
        "  blocks            {} (largest {} tx)",
        report["blocks"], report["largest_block_txs"]
    );
    if report["backpressured_batches"].as_u64().unwrap_or(0) > 0 {
        println!(
            "  backpressure      {} batches waited (backlog full; latency counts from admission)",
            report["backpressured_batches"]
        );
    }
    crate::bench_stages::print_stages(&report["stages"]);
}

pub(crate) fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("yun-bench-{}", std::process::id()));
    Ok(dir)
}

/// One phase of load at `rate` tx/s (None: as fast as admitted); submitters are spread over
/// `urls`, and finalization is watched on the first.
async fn run_load(
    urls: &[String],
    senders: Vec<PrivateKey>,
    rate: Option<u64>,
    args: &TransfersArgs,
) -> anyhow::Result<serde_json::Value> {
    let client = Client::new(&urls[0]);
    let status = client.status().await?;
    // Enough for the offered rate (or full speed) over the whole duration.
    let expected = rate.unwrap_or(FULL_SPEED_PRESIGN_TX_PER_SEC) * args.duration;
    let per_account = expected.div_ceil(senders.len() as u64).max(1);
    let txs = presign(&status, &senders, per_account)?;
    eprintln!("load started: {} pre-signed transfers", txs.len());
    run_signed_load(urls, txs, senders.len(), rate, args).await
}

/// One phase of load with transactions signed beforehand, `accounts` senders' worth in
/// round-major order (see [`presign`]): what `yun bench evm` shares with this bench.
pub(crate) async fn run_signed_load(
    urls: &[String],
    txs: Vec<SignedTx>,
    accounts: usize,
    rate: Option<u64>,
    args: &TransfersArgs,
) -> anyhow::Result<serde_json::Value> {
    if urls.len() > 1 {
        wait_live(urls).await?;
    }
    let client = Client::new(&urls[0]);
    let senders_n = accounts;
    let ids: Vec<TxId> = txs.iter().map(|t| t.id()).collect();

    let tracking = Tracking::new(txs.len());
    let stages_before = StageTotals::read(&client).await;
    let start_height = client.status().await?.height;
    let watcher = spawn_watcher(client.clone(), tracking.clone(), start_height);

    let streams_n = args.submitters.max(1);
    let streams = split_streams(txs, ids, senders_n, streams_n);
    let load_start = Instant::now();
    let pace = Pace {
        start: load_start,
        deadline: load_start + Duration::from_secs(args.duration),
        per_stream_rate: rate.map(|r| r as f64 / streams_n as f64),
        batch: batch_size(args.batch, rate, streams_n),
        in_flight_max: args.in_flight_max,
    };
    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(i, stream)| {
            let client = Client::new(&urls[i % urls.len()]);
            tokio::spawn(submit_stream(client, stream, tracking.clone(), pace))
        })
        .collect();
    let mut sent = StreamCount::default();
    for t in tasks {
        let c = t.await??;
        sent.submitted += c.submitted;
        sent.refused += c.refused;
        sent.held_back += c.held_back;
    }
    let StreamCount {
        submitted,
        refused,
        held_back,
    } = sent;
    let load_end = Instant::now();
    drain(&tracking, submitted).await;
    let (blocks, largest_block_txs) = watcher.await?;
    let finalized = tracking.finalized.lock().expect("lock").clone();
    let tally = Tally {
        submitted,
        refused,
        held_back,
        finalized,
        blocks,
        largest_block_txs,
        backpressured_batches: tracking.backpressured.load(Ordering::Relaxed),
        load_start,
        load_end,
    };
    let mut report = phase_report(rate, args, senders_n, &tally);
    let stages_after = StageTotals::read(&client).await;
    report["stages"] = StageTotals::report_between(stages_before.as_ref(), stages_after.as_ref());
    Ok(report)
}

/// Transactions per request: `asked`, or by default 1,000 at full speed and
/// `PACED_BATCH_WINDOW` of a submitter's share of a set `rate`. Large batches at a set rate
/// arrive as bursts (4,000 transactions at once every 0.66 s at 6,000 tx/s): each waits for
/// its whole batch's admission and then for a block that holds all of it, and the latency
/// measured is the load generator's.
fn batch_size(asked: Option<usize>, rate: Option<u64>, streams: usize) -> usize {
    match (asked, rate) {
        (Some(b), _) => b.max(1),
        (None, None) => FULL_SPEED_BATCH_TXS,
        (None, Some(r)) => {
            let per_stream_per_window =
                r.saturating_mul(PACED_BATCH_WINDOW.as_millis() as u64) / 1_000 / streams as u64;
            (per_stream_per_window as usize).clamp(1, FULL_SPEED_BATCH_TXS)
        }
    }
}

/// Waits until every node has finalized two blocks per validator, so every leader has had a
/// view. A fresh network's first views often time out (a leader proposing before its peers
/// connected, or before they opened their consensus archives), and load sent into them
/// measured that start-up, 2 s leader timeouts in the 99th percentile, not the network.
async fn wait_live(urls: &[String]) -> anyhow::Result<()> {
    let deadline = Instant::now() + LIVE_TIMEOUT;
    for url in urls {
        let client = Client::new(url);
        let live_height = LIVE_BLOCKS_PER_VALIDATOR * urls.len() as u64;
        while client.status().await.map_or(0, |s| s.height) < live_height {
            if Instant::now() > deadline {
                anyhow::bail!("{url} did not reach height {live_height} within {LIVE_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// `per_account` transfers from every sender to one recipient, signed on all cores, in
/// round-major order (every account's nonce k before anyone's nonce k+1).
fn presign(
    status: &StatusResponse,
    senders: &[PrivateKey],
    per_account: u64,
) -> anyhow::Result<Vec<SignedTx>> {
    let bar = ProgressBar::new(per_account * senders.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "pre-signing {bar:40} {pos}/{len}",
    )?);
    let recipient = Address([7; 32]);
    let fees = yun_types::fee::FeeSchedule::from(status);
    let sign_round = |nonce: u64| -> Vec<SignedTx> {
        let round: Vec<SignedTx> = senders
            .iter()
            .map(|key| {
                let tx = Tx {
                    chain_id: status.chain_id.clone(),
                    nonce,
                    fee: status.min_fee,
                    expires_at_height: status.height + 100_000,
                    action: Action::Transfer {
                        to: recipient,
                        amount: Amount::new(1),
                    },
                };
                fees.sign(tx, key, 0)
            })
            .collect();
        bar.inc(round.len() as u64);
        round
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let rounds: Vec<Vec<SignedTx>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let sign_round = &sign_round;
                scope.spawn(move || {
                    (t..per_account)
                        .step_by(threads as usize)
                        .map(|n| (n, sign_round(n)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(u64, Vec<SignedTx>)> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("signer thread"))
            .collect();
        all.sort_by_key(|(n, _)| *n);
        all.into_iter().map(|(_, r)| r).collect()
    });
    bar.finish_and_clear();
    Ok(rounds.into_iter().flatten().collect())
}

/// What a phase's submitters and its watcher share.
#[derive(Clone)]
struct Tracking {
    /// When each transaction was sent.
    submitted_at: Arc<Mutex<HashMap<TxId, Instant>>>,
    /// For each sent transaction seen in a block: when, and how long after it was sent.
    finalized: Arc<Mutex<Vec<(Instant, Duration)>>>,
    /// Admitted and not yet seen in a block.
    in_flight: Arc<AtomicUsize>,
    /// Tells the watcher to finish.
    stop: Arc<AtomicBool>,
    /// How many batches the node pushed back on (some of it refused for a full backlog).
    backpressured: Arc<AtomicUsize>,
}

impl Tracking {
    fn new(txs: usize) -> Tracking {
        Tracking {
            submitted_at: Arc::new(Mutex::new(HashMap::with_capacity(txs))),
            finalized: Arc::default(),
            in_flight: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
            backpressured: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Timestamps every sent transaction among a finalized block's transactions `txs`.
    fn record_block(&self, txs: &[TxId]) {
        let now = Instant::now();
        let sent = self.submitted_at.lock().expect("lock");
        let mut fin = self.finalized.lock().expect("lock");
        for id in txs {
            if let Some(t) = sent.get(id) {
                fin.push((now, now - *t));
            }
        }
        self.in_flight.fetch_sub(
            txs.len().min(self.in_flight.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
    }
}

/// Follows finalized blocks after `start_height` until told to stop, timestamping every
/// transaction it sees; ends with the number of blocks and the largest one's transactions.
fn spawn_watcher(
    client: Client,
    tracking: Tracking,
    start_height: u64,
) -> tokio::task::JoinHandle<(u64, usize)> {
    tokio::spawn(async move {
        let mut next = start_height + 1;
        let mut blocks = 0u64;
        let mut largest = 0usize;
        while !tracking.stop.load(Ordering::Relaxed) {
            let tip = match client.status().await {
                Ok(s) => s.height,
                Err(_) => break,
            };
            while next <= tip {
                // Ids only: the node reads them from the block record without decoding a
                // transaction, and the watcher shares the machine with the node it measures.
                let Ok(block) = client.block(Some(next), false).await else {
                    break;
                };
                tracking.record_block(&block.tx_ids);
                largest = largest.max(block.tx_ids.len());
                blocks += 1;
                next += 1;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (blocks, largest)
    })
}

/// Deals the transactions to `streams_n` submitters, each owning a disjoint set of accounts,
/// so every account's transactions still arrive in nonce order while requests overlap.
fn split_streams(
    txs: Vec<SignedTx>,
    ids: Vec<TxId>,
    accounts: usize,
    streams_n: usize,
) -> Vec<Vec<(SignedTx, TxId)>> {
    let mut streams: Vec<Vec<(SignedTx, TxId)>> = vec![Vec::new(); streams_n];
    for (i, (tx, id)) in txs.into_iter().zip(ids).enumerate() {
        streams[(i % accounts) % streams_n].push((tx, id));
    }
    streams
}

/// When and how fast a phase's submitters send.
#[derive(Clone, Copy)]
struct Pace {
    start: Instant,
    /// No batch is sent after this.
    deadline: Instant,
    /// Each submitter's share of the offered rate in tx/s; `None` is as fast as admitted.
    per_stream_rate: Option<f64>,
    batch: usize,
    in_flight_max: usize,
}

/// What one submitter's transactions came to.
#[derive(Default)]
struct StreamCount {
    /// Admitted by the node.
    submitted: usize,
    /// Refused for a reason other than a full backlog.
    refused: usize,
    /// Pushed back for a full backlog and still waiting to be sent again at the deadline.
    held_back: usize,
}

/// Whether the node refused a transaction only because its backlog is full for now, so a
/// client honouring the backpressure sends it again shortly.
fn is_backpressure(code: u16) -> bool {
    code == TxRejection::MempoolFull as u16 || code == TxRejection::MempoolFeeRateTooLow as u16
}

/// Sends `stream` in batches, in order, holding back while too much is in flight and keeping
/// to the paced rate, until it is sent or the deadline passes.
async fn submit_stream(
    client: Client,
    stream: Vec<(SignedTx, TxId)>,
    tracking: Tracking,
    pace: Pace,
) -> Result<StreamCount, yun_client::ClientError> {
    let (mut count, mut offset) = (StreamCount::default(), 0usize);
    // What the node pushed back (its backlog is as long as it allows), sent again before
    // anything new, as a client honouring the backpressure would.
    let mut retry: Vec<usize> = Vec::new();
    while (offset < stream.len() || !retry.is_empty()) && Instant::now() < pace.deadline {
        if tracking.in_flight.load(Ordering::Relaxed) + pace.batch > pace.in_flight_max {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        let indices: Vec<usize> = if retry.is_empty() {
            if let Some(rate) = pace.per_stream_rate {
                let due = pace.start + Duration::from_secs_f64(offset as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
            }
            let end = (offset + pace.batch).min(stream.len());
            let fresh = (offset..end).collect();
            offset = end;
            fresh
        } else {
            std::mem::take(&mut retry)
        };
        let chunk: Vec<SignedTx> = indices.iter().map(|&i| stream[i].0.clone()).collect();
        let now = Instant::now();
        {
            let mut sent = tracking.submitted_at.lock().expect("lock");
            for &i in &indices {
                sent.insert(stream[i].1, now);
            }
        }
        let results = client.submit_batch(&chunk).await?;
        for (&i, r) in indices.iter().zip(&results) {
            match &r.error {
                None => count.submitted += 1,
                Some(e) if is_backpressure(e.code) => retry.push(i),
                Some(_) => count.refused += 1,
            }
        }
        let ok = results.iter().filter(|r| r.id.is_some()).count();
        tracking.in_flight.fetch_add(ok, Ordering::Relaxed);
        if !retry.is_empty() {
            tracking.backpressured.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(BACKPRESSURE_RETRY_DELAY).await;
        }
    }
    count.held_back = retry.len();
    Ok(count)
}

/// Gives what was admitted time to finalize (at most `DRAIN_TIMEOUT`), then stops the watcher.
async fn drain(tracking: &Tracking, submitted: usize) {
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while tracking.finalized.lock().expect("lock").len() < submitted
        && Instant::now() < drain_deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracking.stop.store(true, Ordering::Relaxed);
}

/// What one phase counted.
struct Tally {
    submitted: usize,
    refused: usize,
    held_back: usize,
    finalized: Vec<(Instant, Duration)>,
    blocks: u64,
    largest_block_txs: usize,
    backpressured_batches: usize,
    load_start: Instant,
    load_end: Instant,
}

/// The phase's report: throughput over the window from the load's start to the last
/// finalization, and submit-to-finalized latency percentiles.
fn phase_report(
    rate: Option<u64>,
    args: &TransfersArgs,
    accounts: usize,
    tally: &Tally,
) -> serde_json::Value {
    let fin = &tally.finalized;
    let last = fin.iter().map(|(t, _)| *t).max().unwrap_or(tally.load_end);
    let window = last
        .duration_since(tally.load_start)
        .as_secs_f64()
        .max(1e-9);
    let mut lat: Vec<Duration> = fin.iter().map(|(_, d)| *d).collect();
    lat.sort();
    serde_json::json!({
        "machine": machine(),
        "offered": rate.map_or("full speed".to_string(), |r| format!("{r} tx/s")),
        "duration_s": args.duration,
        "accounts": accounts,
        "submitted": tally.submitted,
        "refused": tally.refused,
        // Pushed back for a full backlog and not yet admitted when the load stopped.
        "held_back_at_deadline": tally.held_back,
        "finalized": fin.len(),
        "window_s": window,
        "finalized_tx_per_s": fin.len() as f64 / window,
        "latency_p50_ms": percentile(&lat, 0.50).as_millis() as u64,
        "latency_p99_ms": percentile(&lat, 0.99).as_millis() as u64,
        "blocks": tally.blocks,
        "largest_block_txs": tally.largest_block_txs,
        // Latency counts from the submission the node admitted: a batch it pushed back for a
        // full backlog waited on the client's side, as the node asked.
        "backpressured_batches": tally.backpressured_batches,
        // `null`: the devnet's own (node.toml `[timing] min_block_interval_ms`).
        "min_block_interval_ms": args.min_block_interval_ms,
    })
}
