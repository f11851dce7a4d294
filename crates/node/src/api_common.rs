//! What every API module shares, below the router: the handlers' state, numbered JSON errors,
//! parameter parsers, state snapshots read off the async workers, and bounded key-range pages.

use crate::state::NodeState;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use yun_state::Overlay;
use yun_types::api::*;
use yun_types::rejection::RejectionBody;
use yun_types::{Address, Hash32, TxRejection};

/// What handlers see.
#[derive(Clone)]
pub struct ApiState {
    pub node: Arc<NodeState>,
    /// Renders the Prometheus text of the runtime's registry.
    pub metrics_text: Arc<dyn Fn() -> String + Send + Sync>,
    /// This node's p2p peers, as its network layer sees them.
    pub peers: Arc<dyn Fn() -> Vec<yun_types::api::PeerView> + Send + Sync>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState").finish_non_exhaustive()
    }
}

/// A JSON error with its HTTP status.
#[derive(Debug)]
pub struct ApiError(StatusCode, RejectionBody);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorResponse { error: self.1 })).into_response()
    }
}

impl From<TxRejection> for ApiError {
    fn from(r: TxRejection) -> Self {
        let status = match r {
            TxRejection::MempoolFull | TxRejection::MempoolFeeRateTooLow => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            TxRejection::AlreadyKnown => StatusCode::CONFLICT,
            TxRejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError(status, r.into())
    }
}

pub(crate) fn api_err(kind: ApiErrorKind, detail: impl Into<String>) -> ApiError {
    let status =
        StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    ApiError(status, kind.body(detail))
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    api_err(ApiErrorKind::Unavailable, format!("storage error: {e}"))
}

pub(crate) fn parse_hash(s: &str) -> Result<Hash32, ApiError> {
    s.parse().map_err(|e: yun_types::hash::HashParseError| {
        api_err(ApiErrorKind::BadParameter, e.to_string())
    })
}

pub(crate) fn parse_address(s: &str) -> Result<Address, ApiError> {
    s.parse()
        .map_err(|e: yun_types::AddressError| api_err(ApiErrorKind::BadParameter, e.to_string()))
}

pub(crate) type View<'a> = Overlay<'a, yun_store::Snapshot>;

/// Runs `f` on a fresh state snapshot (with its height) on the blocking pool.
pub(crate) async fn read_state<T, F>(s: &ApiState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&View<'_>, u64) -> Result<T, ApiError> + Send + 'static,
{
    let node = s.node.clone();
    tokio::task::spawn_blocking(move || {
        let snapshot = node.store.snapshot().map_err(internal)?;
        let height = snapshot.head.height;
        f(&Overlay::new(&snapshot), height)
    })
    .await
    .map_err(internal)?
}

/// Where a keyed page stopped: the key body (without the tag) of the last entry read, when
/// entries may remain after it.
type Cursor = Option<Vec<u8>>;

/// Reads entries under `tag` in key order, strictly after the key body `after`, passing each
/// to `keep` until `want` were kept or `scan_max` were read (see [`page_under`]).
pub(crate) fn page_after<T>(
    state: &View<'_>,
    tag: u8,
    after: Option<&[u8]>,
    want: usize,
    scan_max: usize,
    keep: impl FnMut(&[u8], &[u8]) -> Option<T>,
) -> (Vec<T>, Cursor) {
    page_under(state, &[tag], after, want, scan_max, keep)
}

/// Reads entries under `prefix` in key order, strictly after the key body (the key without
/// the prefix) `after`, passing each body to `keep` until `want` were kept or `scan_max` were
/// read. The state reader has no bounded range, so the key space is read in 256 slices by the
/// body's first byte and reading stops with the page: a page costs about what it reads plus
/// one slice, not the whole prefix.
pub(crate) fn page_under<T>(
    state: &View<'_>,
    prefix: &[u8],
    after: Option<&[u8]>,
    want: usize,
    scan_max: usize,
    mut keep: impl FnMut(&[u8], &[u8]) -> Option<T>,
) -> (Vec<T>, Cursor) {
    let start: Vec<u8> = match after {
        // The smallest key greater than the cursor's own key.
        Some(body) => [prefix, body, &[0][..]].concat(),
        None => prefix.to_vec(),
    };
    let first = after.and_then(|b| b.first().copied()).unwrap_or(0);
    let (mut out, mut read) = (Vec::new(), 0usize);
    for b in first..=u8::MAX {
        let slice = [prefix, &[b][..]].concat();
        let lo = if slice < start {
            start.clone()
        } else {
            slice.clone()
        };
        let hi = yun_state::prefix_end(&slice);
        for (k, v) in state.range(&lo, &hi) {
            read += 1;
            let body = &k[prefix.len()..];
            if let Some(t) = keep(body, &v) {
                out.push(t);
            }
            if out.len() >= want || read >= scan_max {
                return (out, Some(body.to_vec()));
            }
        }
    }
    (out, None)
}
