//! Encrypted jobs on the agent: the job's key opened from what the requester sealed to this
//! provider on chain, outputs kept only as ciphertext (named by their plaintext digest), and
//! the `GET /v1/sealed-outputs/{digest}` route that tells a requester or reducer which blob
//! holds one.

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use yun_blobs::BlobStore;
use yun_client::seal::{SealIdentity, encrypt_bytes, open_key};
use yun_client::{Client, ClientError};
use yun_types::api::{ApiErrorKind, AssignmentView, ErrorResponse, ReplicaState};
use yun_types::api_storage::SealedOutputResponse;
use yun_types::market::CannotRun;
use yun_types::{Address, Hash32};

/// How often an agent waiting for an encrypted job's key looks again.
pub const KEY_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// What became of waiting for a job's key.
pub(crate) enum JobKey {
    /// The job's identity, opened and matching the job's public key.
    Open(SealIdentity),
    /// The sealed key does not open with this provider's identity, or opens to another key
    /// than the job's: the requester's doing, a cannot-run verdict (`Undecryptable`, 0).
    Unusable,
}

/// Waits until the requester has sealed the job's key to `me`, then opens it. Gives up (an
/// error, a host fault never committed) only once the replica is no longer assigned here:
/// the chain excuses a replica whose key never came and restarts the window of one whose key
/// came late, so waiting is always right.
pub(crate) async fn wait_for_job_key(
    node: &Client,
    identity: &SealIdentity,
    me: &Address,
    a: &AssignmentView,
    job_key: &Hash32,
) -> anyhow::Result<JobKey> {
    let mut logged = false;
    loop {
        match node.job_key(&a.job, me).await {
            Ok(k) => {
                return Ok(match open_key(identity, &k.sealed) {
                    Ok(secret) => {
                        let job = SealIdentity::from_secret(secret);
                        if job.public_key() == *job_key {
                            JobKey::Open(job)
                        } else {
                            JobKey::Unusable
                        }
                    }
                    Err(_) => JobKey::Unusable,
                });
            }
            Err(e) if e.code() == Some(ApiErrorKind::NotFound as u16) => {}
            Err(e) => tracing::warn!(job = %a.job, "reading the job's key: {e}"),
        }
        if !still_assigned(node, me, a).await? {
            anyhow::bail!(
                "job {}'s requester never sealed its key to this provider and the replica is over \
                 (the chain does not slash it for that)",
                a.job
            );
        }
        if !logged {
            tracing::info!(job = %a.job, task = a.index, "waiting for the requester to share the job's key");
            logged = true;
        }
        tokio::time::sleep(KEY_POLL_INTERVAL).await;
    }
}

/// Whether `me` still holds an uncommitted replica of the assignment's task.
async fn still_assigned(node: &Client, me: &Address, a: &AssignmentView) -> anyhow::Result<bool> {
    let job = match node.job(&a.job).await {
        Ok(j) => j,
        // Unreachable for a moment: keep waiting rather than give up a task.
        Err(ClientError::Unreachable { .. }) => return Ok(true),
        Err(e) => return Err(e).context("reading the job while waiting for its key"),
    };
    let task = job
        .tasks
        .iter()
        .map(|t| (t.index, &t.task))
        .chain(job.reduce.as_ref().map(|r| (r.index, &r.task)))
        .find(|(i, _)| *i == a.index)
        .map(|(_, t)| t);
    Ok(task.is_some_and(|t| {
        t.replicas
            .iter()
            .any(|r| r.provider == *me && matches!(r.state, ReplicaState::Assigned { .. }))
    }))
}

/// The cannot-run verdict of an encrypted job's data that does not open.
pub(crate) fn undecryptable(detail: u16) -> yun_types::market::Verdict {
    yun_types::market::Verdict::cannot_run(CannotRun::Undecryptable, detail)
}

/// Where this agent's ciphertext of each encrypted output is: one small file per plaintext
/// digest (`sealed-outputs/<digest>` holding the ciphertext's root and size).
#[derive(Debug)]
pub struct SealedOutputs {
    dir: PathBuf,
    blobs: Arc<BlobStore>,
}

impl SealedOutputs {
    pub fn open(dir: PathBuf, blobs: Arc<BlobStore>) -> anyhow::Result<SealedOutputs> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(SealedOutputs { dir, blobs })
    }

    /// Encrypts `archive` to the job's key, keeps the ciphertext (unsynced, like a plaintext
    /// output: the agent syncs the store before it journals) and records where it is, synced.
    /// Blocking. The plaintext is never written here.
    pub fn put(&self, job_key: &Hash32, digest: &Hash32, archive: &[u8]) -> anyhow::Result<()> {
        let sealed = encrypt_bytes(job_key, archive).context("encrypting the output")?;
        let root = self
            .blobs
            .put_bytes_unsynced(&sealed)
            .context("storing the encrypted output")?;
        let line = format!("{root} {}\n", sealed.len());
        let path = self.dir.join(digest.to_string());
        let tmp = self.dir.join(format!("{digest}.tmp"));
        let f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut &f, line.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    /// The ciphertext of output `digest` kept here, if its blob is still held. Blocking.
    pub fn get(&self, digest: &Hash32) -> anyhow::Result<Option<SealedOutputResponse>> {
        let text = match std::fs::read_to_string(self.dir.join(digest.to_string())) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut parts = text.split_whitespace();
        let (Some(root), Some(bytes)) = (parts.next(), parts.next()) else {
            return Ok(None);
        };
        let root: Hash32 = root.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        if !self.blobs.contains(&root) {
            return Ok(None);
        }
        Ok(Some(SealedOutputResponse {
            digest: *digest,
            root,
            bytes: bytes.parse()?,
        }))
    }

    /// The ciphertext's bytes of output `digest`, if held (checked against its root). Blocking.
    pub fn ciphertext(&self, digest: &Hash32) -> anyhow::Result<Option<Vec<u8>>> {
        match self.get(digest)? {
            Some(named) => Ok(self.blobs.get(&named.root)?),
            None => Ok(None),
        }
    }
}

impl SealedOutputs {
    /// Removes the pointer of every output whose ciphertext the blob store has collected (the
    /// store forgets what nobody read for `OUTPUT_RETENTION`), and `.tmp` files a crash left
    /// behind more than `stale_after` ago, so the directory shrinks with the store instead of
    /// holding one file per encrypted output for ever. Blocking. Returns how many it removed.
    pub fn collect(&self, stale_after: Duration) -> anyhow::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let gone = if let Some(digest) = name.strip_suffix(".tmp") {
                // A `put` in progress writes its `.tmp` for moments; only an old one is debris.
                digest.parse::<Hash32>().is_ok()
                    && entry
                        .metadata()?
                        .modified()?
                        .elapsed()
                        .is_ok_and(|age| age > stale_after)
            } else {
                match name.parse::<Hash32>() {
                    Ok(digest) => self.get(&digest)?.is_none(),
                    Err(_) => false,
                }
            };
            if gone {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(removed)
    }
}

/// `GET /v1/sealed-outputs/{digest}` on the agent's endpoint.
pub fn routes(outputs: Arc<SealedOutputs>) -> Router {
    Router::new()
        .route("/v1/sealed-outputs/{digest}", axum::routing::get(named))
        .with_state(outputs)
}

async fn named(State(outputs): State<Arc<SealedOutputs>>, Path(digest): Path<String>) -> Response {
    let refuse = |kind: ApiErrorKind, detail: String| {
        let status = StatusCode::from_u16(kind.http_status()).expect("a valid status");
        (
            status,
            Json(ErrorResponse {
                error: kind.body(detail),
            }),
        )
            .into_response()
    };
    let Ok(digest) = digest.parse::<Hash32>() else {
        return refuse(
            ApiErrorKind::BadParameter,
            format!("`{digest}` is not a digest"),
        );
    };
    match tokio::task::spawn_blocking(move || outputs.get(&digest)).await {
        Ok(Ok(Some(named))) => Json(named).into_response(),
        Ok(Ok(None)) => refuse(
            ApiErrorKind::NotFound,
            format!("no encrypted output {digest} is kept here"),
        ),
        _ => refuse(ApiErrorKind::Unavailable, "the store could not read".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_whose_ciphertext_was_collected_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let blobs =
            Arc::new(BlobStore::open(&dir.path().join("blobs"), Default::default()).unwrap());
        let outputs = SealedOutputs::open(dir.path().join("sealed"), blobs.clone()).unwrap();
        let key = Hash32([7; 32]);
        let (kept, dropped) = (Hash32([1; 32]), Hash32([2; 32]));
        outputs.put(&key, &kept, b"kept output").unwrap();
        outputs.put(&key, &dropped, b"collected output").unwrap();
        // The store collects the second ciphertext (as after OUTPUT_RETENTION unread).
        let dropped_root = outputs.get(&dropped).unwrap().unwrap().root;
        let kept_root = outputs.get(&kept).unwrap().unwrap().root;
        blobs.collect(|h| *h == kept_root, Duration::ZERO).unwrap();
        assert!(!blobs.contains(&dropped_root));
        // A crash's leftover, and one being written right now.
        std::fs::write(
            dir.path().join("sealed").join(format!("{dropped}.tmp")),
            b"x",
        )
        .unwrap();

        assert_eq!(outputs.collect(Duration::from_secs(3600)).unwrap(), 1);
        assert!(
            outputs.get(&kept).unwrap().is_some(),
            "a held output keeps its pointer"
        );
        assert!(!dir.path().join("sealed").join(dropped.to_string()).exists());
        assert!(
            dir.path()
                .join("sealed")
                .join(format!("{dropped}.tmp"))
                .exists(),
            "a fresh .tmp may be a put in progress"
        );
        assert_eq!(
            outputs.collect(Duration::ZERO).unwrap(),
            1,
            "an old .tmp is debris"
        );
        assert_eq!(
            outputs.ciphertext(&kept).unwrap().map(|c| c.is_empty()),
            Some(false)
        );
    }
}
