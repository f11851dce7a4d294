//! `yun bench storage`: three blob holders and a fresh store on 127.0.0.1 in this process, and
//! the storage path measured on one blob — upload, verified download from one and from two
//! holders, storage proofs made and checked, and a repair into a fresh store.

use crate::bench::machine;
use crate::output::{Output, print};
use anyhow::{Context, ensure};
use clap::Args;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yun_blobs::{BlobLimits, BlobStore};
use yun_client::{Client, download_verified};
use yun_types::Hash32;
use yun_types::storage::verify_chunk_proof;

#[derive(Args, Debug)]
pub struct StorageArgs {
    /// Size of the blob in MiB.
    #[arg(long, default_value_t = 1024)]
    pub size_mib: u64,
    /// Storage proofs made and checked, at random chunks.
    #[arg(long, default_value_t = 1_000)]
    pub proofs: usize,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// The goals: verified download at least this fast (MB = 10^6 bytes)…
const GOAL_DOWNLOAD_MB_PER_S: f64 = 500.0;
/// …and 1,000 proofs checked within this many milliseconds.
const GOAL_VERIFY_MS_PER_1000: f64 = 10.0;

#[derive(Debug, Serialize)]
pub struct StorageReport {
    pub machine: String,
    pub size_bytes: u64,
    /// `yun_client::Client::put_blob_file`: hash the file, stream it, the holder hashes it,
    /// builds its outboard and syncs it to disk.
    pub upload_mb_per_s: f64,
    pub download_one_holder_mb_per_s: f64,
    pub download_two_holders_mb_per_s: f64,
    pub proofs: usize,
    pub prove_ms: f64,
    pub verify_ms: f64,
    pub verify_ms_per_1000: f64,
    /// A new holder fetches the blob from the two remaining ones and stores it (with its
    /// outboard), as a repair does.
    pub repair_s: f64,
    /// The part of the repair spent fetching (the rest copies into the store and syncs it).
    pub repair_download_s: f64,
    pub download_goal_met: bool,
    pub verify_goal_met: bool,
}

pub fn storage(args: StorageArgs) -> anyhow::Result<()> {
    ensure!(args.size_mib > 0, "--size-mib must be at least 1");
    let dir = std::env::temp_dir().join(format!("yun-bench-storage-{}", std::process::id()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = rt.block_on(measure(&args, &dir));
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    print(args.output, &report, || text(&report))
}

/// A blob store serving the blob routes on 127.0.0.1.
struct Holder {
    store: Arc<BlobStore>,
    url: String,
}

async fn holder(dir: &Path, limits: BlobLimits) -> anyhow::Result<Holder> {
    let store = Arc::new(BlobStore::open(dir, limits)?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = yun_blobs::routes(store.clone());
    tokio::spawn(axum::serve(listener, app).into_future());
    Ok(Holder { store, url })
}

pub async fn measure(args: &StorageArgs, dir: &Path) -> anyhow::Result<StorageReport> {
    let size_bytes = args.size_mib << 20;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let limits = BlobLimits {
        blob_bytes_max: size_bytes,
        store_bytes_max: size_bytes * 2,
    };
    let mut holders = Vec::new();
    for name in ["a", "b", "c"] {
        holders.push(holder(&dir.join(name), limits).await?);
    }
    let source = dir.join("source");
    let written = source.clone();
    tokio::task::spawn_blocking(move || write_blob(&written, size_bytes)).await??;

    let start = Instant::now();
    let (root, _) = Client::new(&holders[0].url).put_blob_file(&source).await?;
    let upload = start.elapsed();
    for h in &holders[1..] {
        Client::new(&h.url).put_blob_file(&source).await?;
    }
    std::fs::remove_file(&source)?;

    let urls: Vec<String> = holders.iter().map(|h| h.url.clone()).collect();
    let one = timed_download(&urls[..1], &root, size_bytes, &dir.join("one")).await?;
    let two = timed_download(&urls[..2], &root, size_bytes, &dir.join("two")).await?;
    let (prove, verify) = proofs(&holders[0].store, &root, size_bytes, args.proofs).await?;

    // Holder a is lost: a new one copies from b and c.
    let fresh = BlobStore::open(&dir.join("fresh"), limits)?;
    let start = Instant::now();
    let fetched = dir.join("repair");
    download_verified(&urls[1..], &root, size_bytes, &fetched).await?;
    let repair_download = start.elapsed();
    let stored = tokio::task::spawn_blocking(move || fresh.put_file(&fetched, Some(root)));
    stored.await??;
    let repair = start.elapsed();

    let mb_per_s = |d: Duration| size_bytes as f64 / 1e6 / d.as_secs_f64();
    let verify_ms = verify.as_secs_f64() * 1e3;
    let verify_ms_per_1000 = verify_ms * 1000.0 / args.proofs.max(1) as f64;
    Ok(StorageReport {
        machine: machine(),
        size_bytes,
        upload_mb_per_s: mb_per_s(upload),
        download_one_holder_mb_per_s: mb_per_s(one),
        download_two_holders_mb_per_s: mb_per_s(two),
        proofs: args.proofs,
        prove_ms: prove.as_secs_f64() * 1e3,
        verify_ms,
        verify_ms_per_1000,
        repair_s: repair.as_secs_f64(),
        repair_download_s: repair_download.as_secs_f64(),
        download_goal_met: mb_per_s(one).max(mb_per_s(two)) >= GOAL_DOWNLOAD_MB_PER_S,
        verify_goal_met: verify_ms_per_1000 <= GOAL_VERIFY_MS_PER_1000,
    })
}

/// Writes `size_bytes` of incompressible bytes (a BLAKE3 output stream).
fn write_blob(path: &Path, size_bytes: u64) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut stream = blake3::Hasher::new()
        .update(b"yun bench storage")
        .finalize_xof();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size_bytes;
    while left > 0 {
        let n = buf.len().min(left as usize);
        stream.fill(&mut buf[..n]);
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.flush()
}

/// A verified download into `out` (deleted afterwards, to spare the disk), and its time.
async fn timed_download(
    urls: &[String],
    root: &Hash32,
    size_bytes: u64,
    out: &PathBuf,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let report = download_verified(urls, root, size_bytes, out).await?;
    let took = start.elapsed();
    ensure!(
        report.dropped_sources.is_empty(),
        "a holder was dropped: {:?}",
        report.dropped_sources
    );
    ensure!(
        std::fs::metadata(out)?.len() == size_bytes,
        "short download"
    );
    std::fs::remove_file(out)?;
    Ok(took)
}

/// Makes `count` proofs of random chunks as a holder answers challenges, then checks them all
/// as the chain does; (time to make, time to check).
async fn proofs(
    store: &Arc<BlobStore>,
    root: &Hash32,
    size_bytes: u64,
    count: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let chunks = size_bytes.div_ceil(1024);
    let mut seed = u64::from_le_bytes(root.0[..8].try_into().expect("8 bytes"));
    let indices: Vec<u64> = (0..count).map(|_| splitmix64(&mut seed) % chunks).collect();
    let (store, root) = (store.clone(), *root);
    let (proofs, prove) = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let proofs: Result<Vec<Vec<u8>>, _> = indices
            .iter()
            .map(|&i| store.prove_chunk(&root, i))
            .collect();
        proofs.map(|p| {
            (
                indices.into_iter().zip(p).collect::<Vec<_>>(),
                start.elapsed(),
            )
        })
    })
    .await??;
    let start = Instant::now();
    for (index, proof) in &proofs {
        verify_chunk_proof(&root, size_bytes, *index, proof)
            .with_context(|| format!("the proof of chunk {index} does not verify"))?;
    }
    Ok((prove, start.elapsed()))
}

/// The next number of a SplitMix64 sequence: spread-out chunk indices without a dependency.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn text(r: &StorageReport) -> String {
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    format!(
        "storage bench: one blob of {} MiB over 127.0.0.1, {}\n\
         upload (hash, stream, holder hashes + builds outboard + syncs): {:.0} MB/s\n\
         download, every 16 KiB group verified, 1 holder:  {:.0} MB/s\n\
         download, every 16 KiB group verified, 2 holders: {:.0} MB/s  (goal ≥ {GOAL_DOWNLOAD_MB_PER_S:.0} MB/s: {})\n\
         storage proofs of random 1 KiB chunks: {} made in {:.1} ms, checked in {:.2} ms = {:.2} ms per 1,000 (goal ≤ {GOAL_VERIFY_MS_PER_1000:.0} ms: {})\n\
         repair (a fresh store fetches from the 2 remaining holders and stores with outboard): {:.2} s, of which fetching {:.2} s\n\
         (MB = 10^6 bytes)",
        r.size_bytes >> 20,
        r.machine,
        r.upload_mb_per_s,
        r.download_one_holder_mb_per_s,
        r.download_two_holders_mb_per_s,
        met(r.download_goal_met),
        r.proofs,
        r.prove_ms,
        r.verify_ms,
        r.verify_ms_per_1000,
        met(r.verify_goal_met),
        r.repair_s,
        r.repair_download_s,
    )
}
