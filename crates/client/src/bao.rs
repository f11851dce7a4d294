//! Verified downloads over `GET /v1/blobs/{hash}/bao`: bao-tree's decoder checks every 16 KiB
//! group against the blob's root as it arrives, a byte range can be fetched alone, and a whole
//! blob is fetched in parallel ranges from several holders, dropping any that fails or lies.

use crate::{BLOB_TRANSFER_TIMEOUT, ClientError, error_answer};
use bao_tree::io::sync::DecodeResponseIter;
use bao_tree::io::{BaoContentItem, DecodeError, Leaf};
use bao_tree::{BaoTree, BlockSize, ChunkNum, ChunkRanges};
use bytes::Bytes;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use yun_types::Hash32;

/// The tree shape the blob stores serve (chunk groups of 16 KiB).
const GROUP_BLOCK_SIZE: BlockSize = BlockSize::from_chunk_log(4);

/// Bytes of one range of a parallel download: a whole number of 16 KiB groups, large enough
/// that a request's overhead is small, small enough that a lost source costs little.
pub const DOWNLOAD_RANGE_BYTES: u64 = 8 << 20;

/// Ranges of one parallel download requested at once (over all sources together).
pub const DOWNLOAD_RANGES_IN_FLIGHT_MAX: usize = 4;

/// Received pieces of one range waiting for the decoder.
const PIECES_QUEUED: usize = 4;

/// Bytes of the response collected before they go to the decoder's thread (each handoff
/// wakes a thread; the network delivers far smaller pieces).
const PIECE_BYTES: usize = 256 * 1024;

/// A source that does not accept the connection within this long is dropped.
const SOURCE_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A source that sends nothing for this long is dropped (it would otherwise hold its range
/// until the whole-transfer timeout).
const SOURCE_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Verified bytes collected before one write to the output file.
const WRITE_BATCH_BYTES: usize = 1 << 20;

/// One source's failure, kept for the final error when every source failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedSource {
    pub url: String,
    pub reason: String,
}

/// How a parallel download went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadReport {
    pub bytes: u64,
    /// Ranges fetched from each source, in the order the sources were given.
    pub ranges_per_source: Vec<u64>,
    /// Sources dropped for failing or sending bytes that did not verify.
    pub dropped_sources: Vec<String>,
}

/// Fetches bytes `[offset, offset + len)` of blob `root` (of `size_bytes`) from one server,
/// each group verified against `root` before it is kept.
pub async fn fetch_range_verified(
    base_url: &str,
    root: &Hash32,
    size_bytes: u64,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, ClientError> {
    let http = blob_http();
    let capacity = usize::try_from(len).unwrap_or(0);
    let end = offset.saturating_add(len);
    let sink = move |mut bytes: Vec<u8>, leaf_offset: u64, data: &[u8]| {
        // Leaves are whole chunks or groups; keep only the asked-for bytes.
        let from = offset.max(leaf_offset);
        let to = end.min(leaf_offset + data.len() as u64);
        if from < to {
            let start = (from - leaf_offset) as usize;
            bytes.extend_from_slice(&data[start..start + (to - from) as usize]);
        }
        Ok(bytes)
    };
    let range = ByteRange { offset, len };
    fetch_range(
        &http,
        base_url,
        *root,
        size_bytes,
        range,
        Vec::with_capacity(capacity),
        sink,
    )
    .await
}

/// A byte range of a blob.
#[derive(Debug, Clone, Copy)]
struct ByteRange {
    offset: u64,
    len: u64,
}

impl ByteRange {
    fn chunks(self) -> ChunkRanges {
        ChunkRanges::from(
            ChunkNum::full_chunks(self.offset)..ChunkNum::chunks(self.offset + self.len),
        )
    }
}

pub(crate) fn blob_http() -> reqwest::Client {
    // No redirects: a source is fetched where it was named (see `Client::new`).
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(BLOB_TRANSFER_TIMEOUT)
        .connect_timeout(SOURCE_CONNECT_TIMEOUT)
        .read_timeout(SOURCE_STALL_TIMEOUT)
        .build()
        .expect("http client builds")
}

/// Requests one range's encoding and decodes it on a blocking thread while it arrives; each
/// verified leaf is folded into `state` by `sink`.
async fn fetch_range<S, F>(
    http: &reqwest::Client,
    base_url: &str,
    root: Hash32,
    size_bytes: u64,
    range: ByteRange,
    state: S,
    sink: F,
) -> Result<S, ClientError>
where
    S: Send + 'static,
    F: FnMut(S, u64, &[u8]) -> io::Result<S> + Send + 'static,
{
    let base = base_url.trim_end_matches('/');
    let url = format!(
        "{base}/v1/blobs/{root}/bao?offset={}&len={}",
        range.offset, range.len
    );
    let resp = http.get(&url).send().await.map_err(|source| {
        let url = url.clone();
        if source.is_connect() {
            ClientError::Unreachable { url, source }
        } else {
            ClientError::Interrupted { url, source }
        }
    })?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.bytes().await.unwrap_or_default();
        return Err(error_answer(status, &body));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(PIECES_QUEUED);
    let decoder = tokio::task::spawn_blocking(move || {
        let tree = BaoTree::new(size_bytes, GROUP_BLOCK_SIZE);
        decode(
            root,
            tree,
            range.chunks(),
            PieceReader::new(rx),
            state,
            sink,
        )
    });
    let pumped = pump(resp, tx).await;
    let decoded = decoder.await.map_err(|e| ClientError::Unverified {
        url: url.clone(),
        detail: format!("the decoder stopped: {e}"),
    })?;
    match (decoded, pumped) {
        (Ok(state), _) => Ok(state),
        (Err(RangeError::Local(source)), _) => Err(ClientError::WriteFile {
            path: PathBuf::new(),
            source,
        }),
        // The connection broke: the bytes that came were fine, the rest never arrived.
        (Err(RangeError::Remote(_)), Err(source)) => Err(ClientError::Interrupted { url, source }),
        (Err(RangeError::Remote(e)), Ok(())) => Err(ClientError::Unverified {
            url,
            detail: e.to_string(),
        }),
    }
}

/// Hands the response's pieces to the decoder until either side is done.
async fn pump(
    mut resp: reqwest::Response,
    tx: tokio::sync::mpsc::Sender<Bytes>,
) -> Result<(), reqwest::Error> {
    let mut piece = bytes::BytesMut::with_capacity(PIECE_BYTES);
    while let Some(chunk) = resp.chunk().await? {
        piece.extend_from_slice(&chunk);
        if piece.len() >= PIECE_BYTES {
            let full = piece.split().freeze();
            piece.reserve(PIECE_BYTES);
            if tx.send(full).await.is_err() {
                return Ok(()); // the decoder stopped (finished or refused the bytes)
            }
        }
    }
    if !piece.is_empty() {
        let _ = tx.send(piece.freeze()).await;
    }
    Ok(())
}

fn decode<S, F>(
    root: Hash32,
    tree: BaoTree,
    ranges: ChunkRanges,
    encoded: impl Read,
    mut state: S,
    mut sink: F,
) -> Result<S, RangeError>
where
    F: FnMut(S, u64, &[u8]) -> io::Result<S>,
{
    let root = blake3::Hash::from(root.0);
    for item in DecodeResponseIter::new(root, tree, encoded, &ranges) {
        if let BaoContentItem::Leaf(Leaf { offset, data }) = item.map_err(RangeError::Remote)? {
            state = sink(state, offset, &data).map_err(RangeError::Local)?;
        }
    }
    Ok(state)
}

/// Whose fault a failed range is: the source's bytes, or our own output.
#[derive(Debug)]
enum RangeError {
    Remote(DecodeError),
    Local(io::Error),
}

/// `Read` over the pieces of a response arriving on a channel (read on a blocking thread).
struct PieceReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    piece: Bytes,
}

impl PieceReader {
    fn new(rx: tokio::sync::mpsc::Receiver<Bytes>) -> PieceReader {
        PieceReader {
            rx,
            piece: Bytes::new(),
        }
    }
}

impl Read for PieceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.piece.is_empty() {
            match self.rx.blocking_recv() {
                Some(piece) => self.piece = piece,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.piece.len());
        buf[..n].copy_from_slice(&self.piece.split_to(n));
        Ok(n)
    }
}

/// Fetches one range into `file` at its offset; the pieces are written as they verify.
pub(crate) async fn fetch_range_into(
    http: &reqwest::Client,
    base_url: &str,
    root: Hash32,
    size_bytes: u64,
    offset: u64,
    len: u64,
    (file, path): (Arc<File>, &Path),
) -> Result<(), ClientError> {
    let range = ByteRange { offset, len };
    let writer = BatchWriter {
        file,
        at: offset,
        batch: Vec::with_capacity(WRITE_BATCH_BYTES),
    };
    let sink = |w: BatchWriter, at: u64, data: &[u8]| w.push(at, data);
    let path_err = |source| ClientError::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    let fetched = fetch_range(http, base_url, root, size_bytes, range, writer, sink).await;
    let writer = match fetched {
        Err(ClientError::WriteFile { source, .. }) => return Err(path_err(source)),
        other => other?,
    };
    tokio::task::spawn_blocking(move || writer.flush())
        .await
        .map_err(|e| path_err(io::Error::other(e)))?
        .map_err(path_err)
}

/// Verified leaves collected into large positioned writes (they arrive in order).
struct BatchWriter {
    file: Arc<File>,
    /// Where `batch` starts in the file.
    at: u64,
    batch: Vec<u8>,
}

impl BatchWriter {
    fn push(mut self, at: u64, data: &[u8]) -> io::Result<BatchWriter> {
        if at != self.at + self.batch.len() as u64 || self.batch.len() >= WRITE_BATCH_BYTES {
            self = self.flush_keep()?;
            self.at = at;
        }
        self.batch.extend_from_slice(data);
        Ok(self)
    }

    fn flush_keep(mut self) -> io::Result<BatchWriter> {
        self.file.write_all_at(&self.batch, self.at)?;
        self.at += self.batch.len() as u64;
        self.batch.clear();
        Ok(self)
    }

    fn flush(self) -> io::Result<()> {
        self.flush_keep().map(drop)
    }
}
