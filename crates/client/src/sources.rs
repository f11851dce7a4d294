//! Fetching a blob by its root from an ordered list of holders (nodes, the requester's upload
//! node, other providers): each is tried in turn and its answer checked against the root, so
//! the first holder that serves exactly those bytes wins and a lying one only costs a try.
//!
//! This is the one boundary a provider (or anything else) fetches job data through: the
//! verified-streaming, multi-source engine can replace the body of
//! [`fetch_blob_from_sources`] without its callers changing.

use crate::{Client, ClientError};
use yun_types::Hash32;

/// Most holders tried for one blob; the rest of a longer list is ignored (a job, a node's
/// configuration and the provider records each contribute a bounded list already).
pub const SOURCES_TRIED_MAX: usize = 16;

/// Why one holder did not serve the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFailure {
    /// It answered that it does not hold the root.
    NotFound,
    /// Its copy is larger than the caller takes (for a root of a declared size, the blob is
    /// not the declared one).
    TooLarge,
    /// It sent bytes that do not hash to the root (or cut the transfer).
    WrongBytes(String),
    /// It could not be reached or answered something unexpected.
    Failed(String),
    /// Not an `http://` or `https://` base URL; never contacted.
    NotHttp,
}

/// One holder tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAttempt {
    pub url: String,
    pub failure: SourceFailure,
}

/// No holder served the blob: what each one tried said, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourcesExhausted {
    pub attempts: Vec<SourceAttempt>,
}

impl std::fmt::Display for SourcesExhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.attempts.is_empty() {
            return write!(f, "no source to fetch it from");
        }
        let lines: Vec<String> = self
            .attempts
            .iter()
            .map(|a| format!("{}: {:?}", a.url, a.failure))
            .collect();
        write!(f, "{}", lines.join("; "))
    }
}

/// A fetched blob and the holder it came from (its index in the caller's list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub source_index: usize,
}

/// The blob with `root` from the first of `sources` (API base URLs) that serves exactly those
/// bytes, at most `bytes_max`. Sources are tried in order; a URL listed twice is tried once,
/// one that is not http(s) never, and at most [`SOURCES_TRIED_MAX`] are tried.
pub async fn fetch_blob_from_sources(
    sources: &[String],
    root: &Hash32,
    bytes_max: u64,
) -> Result<Fetched, SourcesExhausted> {
    let mut exhausted = SourcesExhausted::default();
    let mut seen: Vec<&str> = Vec::new();
    for (source_index, url) in sources.iter().enumerate() {
        let base = url.trim_end_matches('/');
        if seen.contains(&base) {
            continue;
        }
        if seen.len() == SOURCES_TRIED_MAX {
            break;
        }
        seen.push(base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            exhausted.attempts.push(SourceAttempt {
                url: url.clone(),
                failure: SourceFailure::NotHttp,
            });
            continue;
        }
        match Client::new(base).get_blob(root, bytes_max).await {
            Ok(bytes) => {
                return Ok(Fetched {
                    bytes,
                    source_index,
                });
            }
            Err(e) => exhausted.attempts.push(SourceAttempt {
                url: url.clone(),
                failure: failure_of(e),
            }),
        }
    }
    Err(exhausted)
}

fn failure_of(e: ClientError) -> SourceFailure {
    match e {
        ClientError::Rejected(r) if r.code == BLOB_NOT_FOUND => SourceFailure::NotFound,
        ClientError::BlobTooLarge { .. } => SourceFailure::TooLarge,
        e @ (ClientError::HashMismatch { .. } | ClientError::Interrupted { .. }) => {
            SourceFailure::WrongBytes(e.to_string())
        }
        e => SourceFailure::Failed(e.to_string()),
    }
}

/// A holder's answer for a root it does not hold.
const BLOB_NOT_FOUND: u16 = yun_types::api::ApiErrorKind::BlobNotFound as u16;
