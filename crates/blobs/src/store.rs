//! The on-disk store: one file per blob, named by the lowercase hex blake3 of its bytes, written
//! through a temp file and an atomic rename so a blob file is always complete. Beside each blob
//! lies its bao outboard (`<hash>.outboard`), built while the blob streams in.
//!
//! One process owns a store directory: `open` deletes whatever temp files it finds.

use crate::error::BlobError;
use crate::tree::TreeHasher;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncWriteExt;
use yun_types::Hash32;

/// Where uploads are written before they are renamed into place (inside the store directory,
/// so the rename never crosses a file system).
const TMP_DIR: &str = "tmp";

/// Makes temp file names unique within the process (the pid separates processes).
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Bytes read at a time by `put_file`.
const PUT_FILE_READ_BYTES: usize = 1 << 20;

/// Bytes of an upload collected before one write to its temp file.
const WRITE_BATCH_BYTES: usize = 1 << 20;

/// What a blob's outboard file name adds to the blob's. Outboards are not counted against
/// `store_bytes_max`: they add 64 bytes per 16 KiB (0.4 %).
pub(crate) const OUTBOARD_SUFFIX: &str = ".outboard";

/// How big blobs and the whole store may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobLimits {
    pub blob_bytes_max: u64,
    pub store_bytes_max: u64,
}

impl Default for BlobLimits {
    fn default() -> Self {
        BlobLimits {
            blob_bytes_max: 256 << 20,
            store_bytes_max: 8 << 30,
        }
    }
}

/// What a put stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutReceipt {
    pub hash: Hash32,
    pub bytes: u64,
}

impl From<PutReceipt> for yun_types::api::PutBlobResponse {
    fn from(r: PutReceipt) -> Self {
        yun_types::api::PutBlobResponse {
            hash: r.hash,
            bytes: r.bytes,
        }
    }
}

/// What `collect` removed and kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectReport {
    pub removed_blobs: u64,
    pub removed_bytes: u64,
    pub kept_blobs: u64,
    pub kept_bytes: u64,
}

/// Stored totals, kept in memory so a put can be refused without scanning the directory.
#[derive(Debug, Default)]
struct Usage {
    blobs: u64,
    bytes: u64,
    /// Claimed by uploads in progress, so concurrent uploads cannot jointly overfill the store.
    reserved_bytes: u64,
}

/// A directory of blobs.
#[derive(Debug)]
pub struct BlobStore {
    dir: PathBuf,
    tmp_dir: PathBuf,
    limits: BlobLimits,
    usage: Mutex<Usage>,
}

impl BlobStore {
    /// Opens (creating if needed) the store in `dir`, removing temp files a crash left behind.
    pub fn open(dir: &Path, limits: BlobLimits) -> io::Result<BlobStore> {
        let tmp_dir = dir.join(TMP_DIR);
        fs::create_dir_all(&tmp_dir)?;
        for entry in fs::read_dir(&tmp_dir)? {
            let path = entry?.path();
            if path.is_file() {
                fs::remove_file(&path)?;
            }
        }
        let mut usage = Usage::default();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if blob_name(&entry.file_name()).is_some() && entry.file_type()?.is_file() {
                usage.blobs += 1;
                usage.bytes += entry.metadata()?.len();
            }
        }
        Ok(BlobStore {
            dir: dir.to_path_buf(),
            tmp_dir,
            limits,
            usage: Mutex::new(usage),
        })
    }

    pub fn limits(&self) -> BlobLimits {
        self.limits
    }

    /// Where the blob's file is (whether or not it exists).
    pub fn path(&self, hash: &Hash32) -> PathBuf {
        self.dir.join(hash.to_string())
    }

    /// Where the blob's outboard (its bao hash pairs in post order) is kept.
    pub fn outboard_path(&self, hash: &Hash32) -> PathBuf {
        self.dir.join(format!("{hash}{OUTBOARD_SUFFIX}"))
    }

    /// A fresh temp file path inside the store (removed by `open` if a crash leaves it).
    pub(crate) fn tmp_path(&self, what: &str) -> PathBuf {
        let seq = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
        self.tmp_dir
            .join(format!("{}-{seq}.{what}", std::process::id()))
    }

    pub fn contains(&self, hash: &Hash32) -> bool {
        self.len(hash).is_some()
    }

    /// The blob's length in bytes, if it is stored.
    pub fn len(&self, hash: &Hash32) -> Option<u64> {
        fs::metadata(self.path(hash))
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    /// (blobs stored, bytes stored).
    pub fn stats(&self) -> (u64, u64) {
        let u = self.usage();
        (u.blobs, u.bytes)
    }

    /// Stores `bytes` durably (blocking: call from a blocking context in async code).
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Hash32, BlobError> {
        self.put_bytes_with(bytes, true)
    }

    /// Stores `bytes` without waiting for the disk: many small blobs then cost one
    /// [`BlobStore::sync`] instead of two fsyncs each. Until that sync a crash may lose them.
    pub fn put_bytes_unsynced(&self, bytes: &[u8]) -> Result<Hash32, BlobError> {
        self.put_bytes_with(bytes, false)
    }

    /// Like [`BlobStore::put_bytes_unsynced`], unless a blob of the same hash and length is
    /// stored already: then it only marks it used now, so the collector keeps it as long as a
    /// new copy. Many tasks produce one output (a no-op, a constant answer), and rewriting it
    /// cost a file creation, a rename and an outboard file each time.
    pub fn put_bytes_unsynced_if_absent(&self, bytes: &[u8]) -> Result<Hash32, BlobError> {
        let hash = Hash32::digest(bytes);
        match File::open(self.path(&hash)) {
            Ok(file) if file.metadata()?.len() == bytes.len() as u64 => {
                touch(&file)?;
                return Ok(hash);
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        self.put_bytes_with(bytes, false)
    }

    fn put_bytes_with(&self, bytes: &[u8], durable: bool) -> Result<Hash32, BlobError> {
        let mut upload = Upload::start(self);
        let mut file = File::create(&upload.tmp_path)?;
        upload.admit(bytes)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        drop(file);
        Ok(upload.commit(None, durable)?.hash)
    }

    /// Stores a copy of the file at `path` durably, refused if it does not hash to `expected`
    /// (blocking). The copy is read once: hashed, outboard built and written in one pass.
    pub fn put_file(&self, path: &Path, expected: Option<Hash32>) -> Result<PutReceipt, BlobError> {
        let mut upload = Upload::start(self);
        let mut src = File::open(path)?;
        let mut file = File::create(&upload.tmp_path)?;
        let mut buf = vec![0u8; PUT_FILE_READ_BYTES];
        loop {
            let n = io::Read::read(&mut src, &mut buf)?;
            if n == 0 {
                break;
            }
            upload.admit(&buf[..n])?;
            file.write_all(&buf[..n])?;
        }
        file.sync_all()?;
        drop(file);
        upload.commit(expected, true)
    }

    /// Makes every blob put so far durable: one `syncfs` of the store's file system.
    pub fn sync(&self) -> io::Result<()> {
        let dir = File::open(&self.dir)?;
        rustix::fs::syncfs(&dir)?;
        Ok(())
    }

    /// Stores what `stream` yields, refusing as soon as it is too large for the blob or store
    /// limit, and at the end if it does not hash to `expected`. Nothing is left on disk on
    /// refusal, error or cancellation.
    pub async fn put_stream<S, E>(
        &self,
        stream: S,
        expected: Option<Hash32>,
    ) -> Result<PutReceipt, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let mut upload = Upload::start(self);
        let mut file = tokio::fs::File::create(&upload.tmp_path).await?;
        let mut stream = pin!(stream);
        // Each file write is a hop to a blocking thread: batch the small network chunks.
        let mut batch = Vec::with_capacity(WRITE_BATCH_BYTES);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| BlobError::Upload(e.to_string()))?;
            upload.admit(&chunk)?;
            batch.extend_from_slice(&chunk);
            if batch.len() >= WRITE_BATCH_BYTES {
                file.write_all(&batch).await?;
                batch.clear();
            }
        }
        file.write_all(&batch).await?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        upload.commit(expected, true)
    }

    /// The blob's bytes, verified against its hash (blocking). A file that no longer matches is
    /// deleted and reported as `Corrupt`.
    pub fn get(&self, hash: &Hash32) -> Result<Option<Vec<u8>>, BlobError> {
        let path = self.path(hash);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut file, &mut bytes)?;
        if Hash32::digest(&bytes) != *hash {
            self.remove_corrupt(hash, &file.metadata()?)?;
            return Err(BlobError::Corrupt { hash: *hash });
        }
        touch(&file)?;
        Ok(Some(bytes))
    }

    /// Deletes the blob's file if it is still the one described by `seen` (a concurrent put
    /// may have renamed a good copy over it, which must stay).
    pub(crate) fn remove_corrupt(&self, hash: &Hash32, seen: &fs::Metadata) -> io::Result<()> {
        let path = self.path(hash);
        let mut u = self.usage();
        let now = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if file_id(&now) != file_id(seen) {
            return Ok(());
        }
        self.remove_outboard(hash)?;
        fs::remove_file(&path)?;
        u.blobs = u.blobs.saturating_sub(1);
        u.bytes = u.bytes.saturating_sub(now.len());
        tracing::warn!(%hash, "blob was corrupt on disk; removed");
        Ok(())
    }

    /// Deletes every blob that `keep` does not want and that was not put or read within
    /// `unused_for` (blocking: it walks the directory).
    pub fn collect(
        &self,
        keep: impl Fn(&Hash32) -> bool,
        unused_for: Duration,
    ) -> io::Result<CollectReport> {
        let cutoff = SystemTime::now()
            .checked_sub(unused_for)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut report = CollectReport::default();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            if let Some(hash) = outboard_name(&entry.file_name()) {
                self.remove_orphan_outboard(&hash)?;
                continue;
            }
            let Some(hash) = blob_name(&entry.file_name()) else {
                continue;
            };
            let fate = if keep(&hash) {
                self.len(&hash).map(Fate::Kept)
            } else {
                self.remove_if_unused(&hash, cutoff)?
            };
            match fate {
                Some(Fate::Kept(bytes)) => {
                    report.kept_blobs += 1;
                    report.kept_bytes += bytes;
                }
                Some(Fate::Removed(bytes)) => {
                    report.removed_blobs += 1;
                    report.removed_bytes += bytes;
                }
                None => {}
            }
        }
        Ok(report)
    }

    /// Removes the blob if it was last used before `cutoff`; `None` if it is gone already.
    fn remove_if_unused(&self, hash: &Hash32, cutoff: SystemTime) -> io::Result<Option<Fate>> {
        let path = self.path(hash);
        // Under the lock, so a put committing this blob right now either renamed first (fresh
        // mtime: kept) or renames after the removal (and the blob is stored again).
        let mut u = self.usage();
        let meta = match fs::metadata(&path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if meta.modified()? >= cutoff {
            return Ok(Some(Fate::Kept(meta.len())));
        }
        // The outboard goes first: a crash in between leaves a blob whose outboard is rebuilt
        // when it is next read, never an outboard without its blob.
        self.remove_outboard(hash)?;
        fs::remove_file(&path)?;
        u.blobs = u.blobs.saturating_sub(1);
        u.bytes = u.bytes.saturating_sub(meta.len());
        Ok(Some(Fate::Removed(meta.len())))
    }

    /// Deletes the blob's outboard, if it has one.
    pub(crate) fn remove_outboard(&self, hash: &Hash32) -> io::Result<()> {
        match fs::remove_file(self.outboard_path(hash)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Deletes an outboard whose blob is gone (a read that rebuilt it raced the blob's removal).
    fn remove_orphan_outboard(&self, hash: &Hash32) -> io::Result<()> {
        let _u = self.usage();
        if self.path(hash).exists() {
            return Ok(());
        }
        self.remove_outboard(hash)
    }

    fn usage(&self) -> MutexGuard<'_, Usage> {
        // The counters stay meaningful even if a holder panicked.
        self.usage.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

enum Fate {
    Kept(u64),
    Removed(u64),
}

/// One upload in progress: its temp file, hash so far and store reservation. Dropping it
/// without `commit` deletes the temp file and releases the reservation.
struct Upload<'a> {
    store: &'a BlobStore,
    tmp_path: PathBuf,
    tree: TreeHasher,
    bytes: u64,
    reserved_bytes: u64,
    committed: bool,
}

impl<'a> Upload<'a> {
    fn start(store: &'a BlobStore) -> Self {
        Upload {
            store,
            tmp_path: store.tmp_path("part"),
            tree: TreeHasher::new(),
            bytes: 0,
            reserved_bytes: 0,
            committed: false,
        }
    }

    /// Accounts for `chunk` before it is written: refuses it if the blob or the store would
    /// pass its limit.
    fn admit(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        let limits = self.store.limits;
        let chunk_bytes = chunk.len() as u64;
        let bytes = self.bytes.saturating_add(chunk_bytes);
        if bytes > limits.blob_bytes_max {
            return Err(BlobError::TooLarge {
                bytes_max: limits.blob_bytes_max,
            });
        }
        {
            let mut u = self.store.usage();
            let after = u
                .bytes
                .saturating_add(u.reserved_bytes)
                .saturating_add(chunk_bytes);
            if after > limits.store_bytes_max {
                return Err(BlobError::StoreFull {
                    store_bytes_max: limits.store_bytes_max,
                });
            }
            u.reserved_bytes += chunk_bytes;
        }
        self.reserved_bytes += chunk_bytes;
        self.tree.update(chunk);
        self.bytes = bytes;
        Ok(())
    }

    /// Checks the hash and renames the (already synced) temp file into place, then writes the
    /// outboard beside it. Replacing an existing file of the same name is harmless, and
    /// repairs a copy damaged on disk.
    fn commit(mut self, expected: Option<Hash32>, durable: bool) -> Result<PutReceipt, BlobError> {
        let (hash, _, outboard) = std::mem::take(&mut self.tree).finish();
        if let Some(expected) = expected
            && expected != hash
        {
            return Err(BlobError::HashMismatch {
                expected,
                got: hash,
            });
        }
        let path = self.store.path(&hash);
        {
            let mut u = self.store.usage();
            let old_bytes = fs::metadata(&path).ok().map(|m| m.len());
            fs::rename(&self.tmp_path, &path)?;
            self.committed = true;
            u.reserved_bytes = u.reserved_bytes.saturating_sub(self.reserved_bytes);
            self.reserved_bytes = 0;
            match old_bytes {
                Some(old) => u.bytes = u.bytes.saturating_sub(old) + self.bytes,
                None => {
                    u.blobs += 1;
                    u.bytes += self.bytes;
                }
            }
        }
        // The rename is durable only once the directory entry is.
        if durable {
            File::open(&self.store.dir)?.sync_all()?;
        }
        // Not synced: a lost or damaged outboard is rebuilt from the blob when next read.
        if let Err(e) = self.store.write_outboard(&hash, &outboard) {
            tracing::warn!(%hash, "cannot write the blob's outboard (rebuilt when read): {e}");
        }
        Ok(PutReceipt {
            hash,
            bytes: self.bytes,
        })
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        if !self.committed {
            match fs::remove_file(&self.tmp_path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %self.tmp_path.display(), "cannot remove temp file: {e}")
                }
            }
        }
        if self.reserved_bytes > 0 {
            let mut u = self.store.usage();
            u.reserved_bytes = u.reserved_bytes.saturating_sub(self.reserved_bytes);
        }
    }
}

/// The blob an outboard file name belongs to.
fn outboard_name(name: &std::ffi::OsStr) -> Option<Hash32> {
    let blob = name.to_str()?.strip_suffix(OUTBOARD_SUFFIX)?;
    blob_name(std::ffi::OsStr::new(blob))
}

/// The hash a store file name stands for: exactly 64 lowercase hex characters.
fn blob_name(name: &std::ffi::OsStr) -> Option<Hash32> {
    let name = name.to_str()?;
    let lower_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    if name.len() != 64 || !name.chars().all(lower_hex) {
        return None;
    }
    name.parse().ok()
}

/// Marks a blob as just used, for retention (`collect` keeps recently used blobs).
pub(crate) fn touch(file: &File) -> io::Result<()> {
    file.set_modified(SystemTime::now())
}

/// Identifies a file itself rather than its name.
#[cfg(unix)]
fn file_id(m: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &fs::Metadata) -> Option<(u64, u64)> {
    None
}
