//! One blob fetched in parallel ranges from several holders: each range is verified as it
//! arrives, a holder that fails or lies is dropped, and its range goes to the next holder.

use crate::ClientError;
use crate::bao::{
    DOWNLOAD_RANGE_BYTES, DOWNLOAD_RANGES_IN_FLIGHT_MAX, DownloadReport, SourceFailure, blob_http,
    fetch_range_into,
};
use futures::{StreamExt, TryStreamExt};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use yun_types::Hash32;

/// What the download knows about its sources so far.
#[derive(Debug)]
struct Sources {
    urls: Vec<String>,
    /// Why a source was dropped; `None` while it is still used.
    failed: Vec<Option<String>>,
    ranges_fetched: Vec<u64>,
}

impl Sources {
    /// The sources to try for range `index`, best first: ranges start at different sources,
    /// so all of them serve at once, and fall back in the order given.
    fn order_for(&self, index: usize) -> Vec<usize> {
        let n = self.urls.len();
        (0..n)
            .map(|k| (index + k) % n)
            .filter(|&s| self.failed[s].is_none())
            .collect()
    }
}

/// Downloads blob `root` (of `size_bytes`) into `out`, in ranges of [`DOWNLOAD_RANGE_BYTES`](crate::DOWNLOAD_RANGE_BYTES)
/// fetched concurrently (at most [`DOWNLOAD_RANGES_IN_FLIGHT_MAX`](crate::DOWNLOAD_RANGES_IN_FLIGHT_MAX) at once) from `sources`
/// (base URLs of blob servers, best first). Every group is verified as it arrives. A source
/// that fails or sends bytes that do not verify is dropped and its range fetched from the next
/// one; when no source is left the download fails and `out` is not created.
pub async fn download_verified(
    sources: &[String],
    root: &Hash32,
    size_bytes: u64,
    out: &Path,
) -> Result<DownloadReport, ClientError> {
    download(sources, *root, size_bytes, out).await
}

async fn download(
    sources: &[String],
    root: Hash32,
    size_bytes: u64,
    out: &Path,
) -> Result<DownloadReport, ClientError> {
    let part = part_path(out);
    let file_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ClientError::WriteFile { path, source }
    };
    let file = File::create(&part).map_err(file_err(&part))?;
    file.set_len(size_bytes).map_err(file_err(&part))?;
    let file = Arc::new(file);
    let state = Arc::new(Mutex::new(Sources {
        urls: sources.to_vec(),
        failed: sources.iter().map(|_| None).collect(),
        ranges_fetched: vec![0; sources.len()],
    }));
    let fetched = fetch_all(&state, root, size_bytes, (&file, &part)).await;
    let synced = fetched.and_then(|()| file.sync_all().map_err(file_err(&part)));
    drop(file);
    if let Err(e) = synced.and_then(|()| std::fs::rename(&part, out).map_err(file_err(out))) {
        let _ = std::fs::remove_file(&part);
        return Err(e);
    }
    let s = state.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(DownloadReport {
        bytes: size_bytes,
        ranges_per_source: s.ranges_fetched.clone(),
        dropped_sources: (0..s.urls.len())
            .filter(|&i| s.failed[i].is_some())
            .map(|i| s.urls[i].clone())
            .collect(),
    })
}

/// Where a download is written until it is complete and verified.
fn part_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    out.with_file_name(name)
}

async fn fetch_all(
    state: &Arc<Mutex<Sources>>,
    root: Hash32,
    size_bytes: u64,
    (file, part): (&Arc<File>, &Path),
) -> Result<(), ClientError> {
    if size_bytes == 0 {
        // Nothing to fetch: the empty blob has one name.
        return if root == Hash32::digest(b"") {
            Ok(())
        } else {
            Err(no_source_left(state, root))
        };
    }
    let http = blob_http();
    let ranges = (0..size_bytes.div_ceil(DOWNLOAD_RANGE_BYTES)).map(|i| {
        let offset = i * DOWNLOAD_RANGE_BYTES;
        (
            i as usize,
            offset,
            DOWNLOAD_RANGE_BYTES.min(size_bytes - offset),
        )
    });
    futures::stream::iter(ranges)
        .map(|(index, offset, len)| {
            let http = &http;
            async move {
                let output = (file, part);
                fetch_one(http, state, root, size_bytes, (index, offset, len), output).await
            }
        })
        .buffer_unordered(DOWNLOAD_RANGES_IN_FLIGHT_MAX)
        .try_collect()
        .await
}

/// Fetches one range from the first source that delivers it, dropping those that fail.
async fn fetch_one(
    http: &reqwest::Client,
    state: &Arc<Mutex<Sources>>,
    root: Hash32,
    size_bytes: u64,
    (index, offset, len): (usize, u64, u64),
    (file, part): (&Arc<File>, &Path),
) -> Result<(), ClientError> {
    let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
    let order = lock().order_for(index);
    for source in order {
        let url = {
            let s = lock();
            if s.failed[source].is_some() {
                continue; // dropped meanwhile by another range
            }
            s.urls[source].clone()
        };
        let output = (file.clone(), part);
        match fetch_range_into(http, &url, root, size_bytes, offset, len, output).await {
            Ok(()) => {
                lock().ranges_fetched[source] += 1;
                return Ok(());
            }
            // Our own disk failed: no other source would do better.
            Err(e @ ClientError::WriteFile { .. }) => return Err(e),
            Err(e) => {
                let mut s = lock();
                if s.failed[source].is_none() {
                    s.failed[source] = Some(e.to_string());
                }
            }
        }
    }
    Err(no_source_left(state, root))
}

/// The error once every source has failed, with each one's reason.
fn no_source_left(state: &Arc<Mutex<Sources>>, root: Hash32) -> ClientError {
    let s = state.lock().unwrap_or_else(PoisonError::into_inner);
    let failures = s
        .urls
        .iter()
        .zip(&s.failed)
        .filter_map(|(url, failed)| {
            let reason = failed.clone()?;
            Some(SourceFailure {
                url: url.clone(),
                reason,
            })
        })
        .collect();
    ClientError::NoSourceLeft { root, failures }
}
