//! Fetching a verified task output: from the providers paid for it, at their registered
//! endpoints, each answer checked against the accepted digest (for an encrypted job, the
//! provider's ciphertext, decrypted here with the job's key, then checked). The requester's
//! CLI and a provider running a reduce task use this one implementation.

use crate::seal::{SealIdentity, decrypt_bytes};
use crate::{Client, ClientError};
use std::collections::BTreeMap;
use yun_types::api::{ReplicaState, Task};
use yun_types::api_storage::SealedOutputResponse;
use yun_types::{Address, Hash32};

/// The providers paid for a task's accepted verdict, in replica order: they computed the
/// output and keep it to serve.
pub fn paid_holders(task: &Task) -> Vec<Address> {
    task.replicas
        .iter()
        .filter(|r| matches!(r.state, ReplicaState::Paid { .. }))
        .map(|r| r.provider)
        .collect()
}

/// No holder served the output: every one gone (exited, unreachable) or serving bytes that
/// are not the accepted ones, or more than the caller takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// One line per holder tried: who, where, what went wrong.
    pub errors: Vec<String>,
    /// Some holder's output was over the caller's byte bound (its size is fixed by the
    /// digest, so every honest holder answers the same).
    pub too_large: bool,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.errors.is_empty() {
            return write!(f, "no provider was paid for it");
        }
        write!(f, "{}", self.errors.join("; "))
    }
}

/// Downloads outputs through one node's provider records, remembering endpoints.
#[derive(Debug)]
pub struct OutputFetcher {
    node: Client,
    endpoints: BTreeMap<Address, Option<String>>,
}

impl OutputFetcher {
    pub fn new(node: Client) -> OutputFetcher {
        OutputFetcher {
            node,
            endpoints: BTreeMap::new(),
        }
    }

    /// The output with `digest` from the first of `holders` that serves exactly those bytes
    /// (at most `bytes_max`). `Err` only if the node itself cannot be asked; a holder that is
    /// gone or serves other bytes is `Ok(Err(Unavailable))` once all were tried.
    pub async fn fetch(
        &mut self,
        holders: &[Address],
        digest: &Hash32,
        bytes_max: u64,
    ) -> Result<Result<Vec<u8>, Unavailable>, ClientError> {
        let mut gone = Unavailable {
            errors: Vec::new(),
            too_large: false,
        };
        for p in holders {
            let Some(url) = self.endpoint(p).await? else {
                gone.errors.push(format!("{p}: no longer a provider"));
                continue;
            };
            match crate::fetch_blob(&url, digest, bytes_max).await {
                Ok(bytes) => return Ok(Ok(bytes)),
                Err(e) => {
                    gone.too_large |= matches!(e, ClientError::BlobTooLarge { .. });
                    gone.errors.push(format!("{p} at {url}: {e}"));
                }
            }
        }
        Ok(Err(gone))
    }

    /// An encrypted job's output: each holder's ciphertext (`GET /v1/sealed-outputs/{digest}`
    /// names it, its bytes are checked against that root), decrypted with the job's
    /// `identity` (every 64 KiB chunk authenticated) and accepted only if the plaintext hashes
    /// to the verified `digest`. A holder failing any step is skipped, as in [`Self::fetch`].
    pub async fn fetch_sealed(
        &mut self,
        holders: &[Address],
        digest: &Hash32,
        identity: &SealIdentity,
        bytes_max: u64,
    ) -> Result<Result<Vec<u8>, Unavailable>, ClientError> {
        let mut gone = Unavailable {
            errors: Vec::new(),
            too_large: false,
        };
        for p in holders {
            let Some(url) = self.endpoint(p).await? else {
                gone.errors.push(format!("{p}: no longer a provider"));
                continue;
            };
            match sealed_output(&url, digest, identity, bytes_max).await {
                Ok(bytes) => return Ok(Ok(bytes)),
                Err(e) => {
                    gone.too_large |= matches!(e, ClientError::BlobTooLarge { .. });
                    gone.errors.push(format!("{p} at {url}: {e}"));
                }
            }
        }
        Ok(Err(gone))
    }

    /// A provider's registered endpoint; `None` if it has no record any more (it exited).
    async fn endpoint(&mut self, p: &Address) -> Result<Option<String>, ClientError> {
        if let Some(e) = self.endpoints.get(p) {
            return Ok(e.clone());
        }
        let url = match self.node.provider(p).await {
            Ok(view) => Some(view.provider.spec.endpoint.0),
            Err(ClientError::Rejected(r)) if r.code == NOT_FOUND => None,
            Err(e) => return Err(e),
        };
        self.endpoints.insert(*p, url.clone());
        Ok(url)
    }
}

/// Ciphertext a provider may add to an output: age's header and 16 bytes per 64 KiB chunk.
fn sealed_bytes_max(bytes_max: u64) -> u64 {
    bytes_max + bytes_max / 4096 + 4096
}

/// One holder's ciphertext of output `digest`, decrypted and checked.
async fn sealed_output(
    url: &str,
    digest: &Hash32,
    identity: &SealIdentity,
    bytes_max: u64,
) -> Result<Vec<u8>, ClientError> {
    let holder = Client::new(url);
    let named: SealedOutputResponse = holder.get(&format!("/v1/sealed-outputs/{digest}")).await?;
    if named.bytes > sealed_bytes_max(bytes_max) {
        return Err(ClientError::BlobTooLarge {
            bytes_max: sealed_bytes_max(bytes_max),
        });
    }
    let ciphertext = holder.get_blob(&named.root, named.bytes).await?;
    let plaintext = decrypt_bytes(identity, &ciphertext).map_err(|e| ClientError::Unverified {
        url: url.to_string(),
        detail: e.to_string(),
    })?;
    let got = Hash32::digest(&plaintext);
    if got != *digest {
        return Err(ClientError::HashMismatch {
            expected: *digest,
            got,
        });
    }
    Ok(plaintext)
}

/// The node's answer for a record it does not hold.
const NOT_FOUND: u16 = yun_types::api::ApiErrorKind::NotFound as u16;
