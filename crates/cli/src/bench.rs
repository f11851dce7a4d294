//! `yun bench transfers`: starts a devnet in a temporary directory, pre-signs transfers from
//! many funded accounts, submits them in batches as fast as the node accepts them (or at a
//! given rate), and measures finalized transactions per second and submit-to-finalized latency.

use crate::Output;
use anyhow::Context;
use clap::Args;
use commonware_cryptography::Signer;
use commonware_cryptography::ed25519::PrivateKey;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yun_client::Client;
use yun_types::{Action, Address, Amount, SignedTx, Tx, TxId};

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
    /// Transactions per HTTP batch.
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// Concurrent submitting connections.
    #[arg(long, default_value_t = 4)]
    pub submitters: usize,
    /// Most submitted-but-not-finalized transactions (backpressure instead of a full mempool).
    #[arg(long, default_value_t = 60_000)]
    pub in_flight_max: usize,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
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
    let senders: Vec<PrivateKey> = (0..args.accounts as u64)
        .map(|i| PrivateKey::from_seed(1_000_000 + i))
        .collect();
    let funded: Vec<(Address, Amount)> = senders
        .iter()
        .map(|k| {
            (
                Address::from_public_key(&k.public_key()),
                Amount::new(1_000_000_000_000),
            )
        })
        .collect();
    let port = crate::devnet::free_port()?;
    let (mut cfg, _) = crate::devnet::prepare(&dir, port, true, 1, &funded)?;
    cfg.mempool.per_account_max = 4_096;
    cfg.mempool.txs_max = args.in_flight_max * 2;
    let node = yun_node::run::spawn_node(cfg).context("starting the benchmark devnet")?;
    let url = node.api_url();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(run_load(&url, senders, &args));
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => {
            println!(
                "yun bench transfers — {}",
                report["machine"].as_str().unwrap_or("")
            );
            println!(
                "  offered load      {}",
                report["offered"].as_str().unwrap_or("")
            );
            println!(
                "  submitted         {} tx ({} refused)",
                report["submitted"], report["refused"]
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
        }
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("yun-bench-{}", std::process::id()));
    Ok(dir)
}

async fn run_load(
    url: &str,
    senders: Vec<PrivateKey>,
    args: &TransfersArgs,
) -> anyhow::Result<serde_json::Value> {
    let client = Client::new(url);
    let status = client.status().await?;
    // Enough for the offered rate (or 30k tx/s at full speed) over the whole duration.
    let expected = args.rate.unwrap_or(30_000) * args.duration;
    let per_account = expected.div_ceil(senders.len() as u64).max(1);
    let bar = ProgressBar::new(per_account * senders.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "pre-signing {bar:40} {pos}/{len}",
    )?);
    let recipient = Address([7; 32]);
    let sign_round = |nonce: u64| -> Vec<SignedTx> {
        let round: Vec<SignedTx> = senders
            .iter()
            .map(|key| {
                Tx {
                    chain_id: status.chain_id.clone(),
                    nonce,
                    fee: status.min_fee,
                    expires_at_height: status.height + 100_000,
                    action: Action::Transfer {
                        to: recipient,
                        amount: Amount::new(1),
                    },
                }
                .sign(key)
            })
            .collect();
        bar.inc(round.len() as u64);
        round
    };
    // Round-major order (every account's nonce k before anyone's nonce k+1), signed on all cores.
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
    let txs: Vec<SignedTx> = rounds.into_iter().flatten().collect();
    bar.finish_and_clear();
    eprintln!("load started: {} pre-signed transfers", txs.len());
    let ids: Vec<TxId> = txs.iter().map(|t| t.id()).collect();

    let submitted_at: Arc<Mutex<HashMap<TxId, Instant>>> =
        Arc::new(Mutex::new(HashMap::with_capacity(txs.len())));
    let finalized: Arc<Mutex<Vec<(Instant, Duration)>>> = Arc::default();
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let start_height = client.status().await?.height;

    // Watcher: follows finalized blocks and timestamps every transaction it sees.
    let watcher = {
        let (client, submitted_at, finalized, in_flight, stop) = (
            client.clone(),
            submitted_at.clone(),
            finalized.clone(),
            in_flight.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut next = start_height + 1;
            let mut blocks = 0u64;
            let mut largest = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let tip = match client.status().await {
                    Ok(s) => s.height,
                    Err(_) => break,
                };
                while next <= tip {
                    let Ok(block) = client.raw_block(next).await else {
                        break;
                    };
                    let now = Instant::now();
                    let sent = submitted_at.lock().expect("lock");
                    let mut fin = finalized.lock().expect("lock");
                    for tx in &block.txs {
                        if let Some(t) = sent.get(&tx.id()) {
                            fin.push((now, now - *t));
                        }
                    }
                    in_flight.fetch_sub(
                        block
                            .txs
                            .len()
                            .min(in_flight.load(std::sync::atomic::Ordering::Relaxed)),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    largest = largest.max(block.txs.len());
                    blocks += 1;
                    next += 1;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (blocks, largest)
        })
    };

    // Several submitters, each owning a disjoint set of accounts, so every account's
    // transactions still arrive in nonce order while requests overlap.
    let streams_n = args.submitters.max(1);
    let accounts = senders.len();
    let mut streams: Vec<Vec<(SignedTx, TxId)>> = vec![Vec::new(); streams_n];
    for (i, (tx, id)) in txs.into_iter().zip(ids).enumerate() {
        streams[(i % accounts) % streams_n].push((tx, id));
    }
    let load_start = Instant::now();
    let deadline = load_start + Duration::from_secs(args.duration);
    let per_stream_rate = args.rate.map(|r| r as f64 / streams_n as f64);
    let mut tasks = Vec::new();
    for stream in streams {
        let (client, submitted_at, in_flight) =
            (client.clone(), submitted_at.clone(), in_flight.clone());
        let (batch, in_flight_max) = (args.batch, args.in_flight_max);
        tasks.push(tokio::spawn(async move {
            let (mut submitted, mut refused, mut offset) = (0usize, 0usize, 0usize);
            while offset < stream.len() && Instant::now() < deadline {
                if in_flight.load(std::sync::atomic::Ordering::Relaxed) + batch > in_flight_max {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                if let Some(rate) = per_stream_rate {
                    let due = load_start + Duration::from_secs_f64(offset as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let end = (offset + batch).min(stream.len());
                let chunk: Vec<SignedTx> =
                    stream[offset..end].iter().map(|(t, _)| t.clone()).collect();
                let now = Instant::now();
                {
                    let mut sent = submitted_at.lock().expect("lock");
                    for (_, id) in &stream[offset..end] {
                        sent.insert(*id, now);
                    }
                }
                let results = client.submit_batch(&chunk).await?;
                let ok = results.iter().filter(|r| r.id.is_some()).count();
                submitted += ok;
                refused += results.len() - ok;
                in_flight.fetch_add(ok, std::sync::atomic::Ordering::Relaxed);
                offset = end;
            }
            Ok::<_, yun_client::ClientError>((submitted, refused))
        }));
    }
    let (mut submitted, mut refused) = (0usize, 0usize);
    for t in tasks {
        let (s, r) = t.await??;
        submitted += s;
        refused += r;
    }
    let load_end = Instant::now();
    // Drain: give what was admitted up to 30 s to finalize.
    let drain_deadline = Instant::now() + Duration::from_secs(30);
    while finalized.lock().expect("lock").len() < submitted && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (blocks, largest) = watcher.await?;
    let fin = finalized.lock().expect("lock").clone();
    let last = fin.iter().map(|(t, _)| *t).max().unwrap_or(load_end);
    let window = last.duration_since(load_start).as_secs_f64().max(1e-9);
    let mut lat: Vec<Duration> = fin.iter().map(|(_, d)| *d).collect();
    lat.sort();
    Ok(serde_json::json!({
        "machine": machine(),
        "offered": args.rate.map_or("full speed".to_string(), |r| format!("{r} tx/s")),
        "duration_s": args.duration,
        "accounts": senders.len(),
        "submitted": submitted,
        "refused": refused,
        "finalized": fin.len(),
        "window_s": window,
        "finalized_tx_per_s": fin.len() as f64 / window,
        "latency_p50_ms": percentile(&lat, 0.50).as_millis() as u64,
        "latency_p99_ms": percentile(&lat, 0.99).as_millis() as u64,
        "blocks": blocks,
        "largest_block_txs": largest,
    }))
}
