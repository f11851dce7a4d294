//! The node's data-plane routes: `POST /v1/blobs`, which stores a blob only under a signed
//! upload ticket of a funded account, within its daily quota, the store's limits and a free
//! disk reserve; and `GET /v1/network/sources`, the other nodes a provider may fetch from.
//! Downloads are `yun_blobs::read_routes`, merged beside these.

use crate::api_common::{ApiError, api_err, internal};
use crate::state::NodeState;
use crate::upload_quota::{QuotaRefusal, UploadQuota};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde::Deserialize;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use yun_blobs::{BlobError, BlobStore};
use yun_types::api::{ApiErrorKind, DataSourcesResponse, PutBlobResponse};
use yun_types::upload::{SignedUploadTicket, UPLOAD_TICKET_HEADER};
use yun_types::{Address, Hash32};

/// A ticket may expire at most this many blocks after the node's height, so a signed ticket
/// cannot stay usable indefinitely.
pub const UPLOAD_TICKET_BLOCKS_AHEAD_MAX: u64 = 3_600;

/// What bounds uploads besides the store's own limits.
#[derive(Debug, Clone)]
pub struct UploadLimits {
    /// Bytes one account may upload per [`crate::upload_quota::UPLOAD_QUOTA_WINDOW`].
    pub bytes_per_account_per_day: u64,
    /// Accounts the quota table tracks at once.
    pub quota_accounts_max: usize,
    /// Free space the file system must keep after an upload (for the chain's own stores).
    pub disk_reserve_bytes: u64,
}

/// The routes' state.
#[derive(Debug)]
pub struct DataPlane {
    pub node: Arc<NodeState>,
    pub store: Arc<BlobStore>,
    pub limits: UploadLimits,
    /// Other nodes' API base URLs (`GET /v1/network/sources`), bounded at configuration.
    pub peer_api_urls: Vec<String>,
    quota: Mutex<UploadQuota>,
    /// Bytes of uploads admitted and not finished, counted against the free disk space.
    in_flight_bytes: Mutex<u64>,
}

impl DataPlane {
    pub fn new(
        node: Arc<NodeState>,
        store: Arc<BlobStore>,
        limits: UploadLimits,
        peer_api_urls: Vec<String>,
    ) -> DataPlane {
        let quota = UploadQuota::new(limits.bytes_per_account_per_day, limits.quota_accounts_max);
        DataPlane {
            node,
            store,
            limits,
            peer_api_urls,
            quota: Mutex::new(quota),
            in_flight_bytes: Mutex::new(0),
        }
    }
}

/// `POST /v1/blobs` and `GET /v1/network/sources` over `plane`, with their own state.
pub fn routes(plane: Arc<DataPlane>) -> Router {
    let body_bytes_max = usize::try_from(plane.store.limits().blob_bytes_max).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/v1/blobs",
            post(put_blob).layer(DefaultBodyLimit::max(body_bytes_max)),
        )
        .route("/v1/network/sources", get(get_sources))
        .with_state(plane)
}

/// Other nodes' API base URLs that serve `GET /v1/blobs/{root}`, as this node's operator
/// configured them (`[blobs] peer_api_urls`, `yun node run --peer-api`).
#[utoipa::path(get, path = "/v1/network/sources",
    responses((status = 200, body = DataSourcesResponse)))]
pub(crate) async fn get_sources(State(p): State<Arc<DataPlane>>) -> Json<DataSourcesResponse> {
    Json(DataSourcesResponse {
        peer_api_urls: p.peer_api_urls.clone(),
    })
}

/// `POST /v1/blobs` query.
#[derive(Debug, Deserialize)]
pub(crate) struct PutQuery {
    expected: Option<String>,
}

/// Upload a blob (the raw bytes as the body) under a signed upload ticket; answers its blake3
/// hash and length.
///
/// The ticket (header `yun-upload-ticket`, hex of its canonical bytes) is an account's ed25519
/// signature, under the namespace `yun/upload-ticket/v1`, of (chain id, root, size, expiry
/// height). The node stores the body only if the signature holds, the ticket is for this
/// chain, not expired and at most `UPLOAD_TICKET_BLOCKS_AHEAD_MAX` (3,600) blocks ahead, the
/// body is exactly the ticket's root and size, the account holds a balance or a bond, its
/// daily quota has room, and the store and the disk (above its reserve) have room. Blobs a job
/// not yet settled references are kept until it settles; others are collected after the
/// retention period.
#[utoipa::path(post, path = "/v1/blobs",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "the blob's bytes: exactly the ticket's root and size"),
    params(("expected" = Option<Hash32>, Query,
        description = "blake3 of the body, 64 hex; must equal the ticket's root"),
        ("yun-upload-ticket" = String, Header, description = "the signed upload ticket, hex")),
    responses((status = 200, body = PutBlobResponse),
        (status = 400, description = "BadParameter (103), UploadTicketInvalid (111)", body = yun_types::api::ErrorResponse),
        (status = 401, description = "UploadTicketMissing (110), UploadTicketExpired (113)", body = yun_types::api::ErrorResponse),
        (status = 403, description = "UploaderUnfunded (114)", body = yun_types::api::ErrorResponse),
        (status = 413, description = "BlobTooLarge (105)", body = yun_types::api::ErrorResponse),
        (status = 422, description = "UploadTicketMismatch (112)", body = yun_types::api::ErrorResponse),
        (status = 429, description = "UploadQuotaExceeded (115)", body = yun_types::api::ErrorResponse),
        (status = 503, description = "Unavailable (104): the store could not write", body = yun_types::api::ErrorResponse),
        (status = 507, description = "StoreFull (109), DiskFull (116)", body = yun_types::api::ErrorResponse)))]
pub(crate) async fn put_blob(
    State(p): State<Arc<DataPlane>>,
    query: Result<Query<PutQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PutBlobResponse>, ApiError> {
    let Query(q) = query.map_err(|e| api_err(ApiErrorKind::BadParameter, e.body_text()))?;
    let ticket = checked_ticket(&p.node, &headers)?;
    let (root, size_bytes) = (ticket.ticket.root, ticket.ticket.size_bytes);
    check_body_fits(&p, &q, &headers, root, size_bytes)?;
    let account = ticket.account();
    check_funded(&p.node, account).await?;
    let admitted = admit(&p, account, root, size_bytes)?;
    let over = Arc::new(AtomicBool::new(false));
    let stream = at_most(body, size_bytes, over.clone());
    let receipt = match p.store.put_stream(stream, Some(root)).await {
        Ok(r) => r,
        Err(_) if over.load(Ordering::Relaxed) => {
            return Err(mismatch(format!(
                "the body is longer than the ticket's {size_bytes} bytes"
            )));
        }
        Err(e) => return Err(store_error(e)),
    };
    admitted.stored();
    Ok(Json(receipt.into()))
}

/// The ticket from the header: decoded, signed by its account, for this chain, not expired and
/// not too far ahead.
fn checked_ticket(node: &NodeState, headers: &HeaderMap) -> Result<SignedUploadTicket, ApiError> {
    let Some(value) = headers.get(UPLOAD_TICKET_HEADER) else {
        return Err(api_err(
            ApiErrorKind::UploadTicketMissing,
            format!(
                "POST /v1/blobs needs a `{UPLOAD_TICKET_HEADER}` header: this node stores no anonymous uploads"
            ),
        ));
    };
    let invalid = |why: String| api_err(ApiErrorKind::UploadTicketInvalid, why);
    let text = value
        .to_str()
        .map_err(|_| invalid("the ticket header is not ASCII".into()))?;
    let ticket = SignedUploadTicket::from_header(text)
        .map_err(|e| invalid(format!("the ticket does not decode: {e}")))?;
    if !ticket.verify_signature() {
        return Err(invalid(format!(
            "the ticket's signature does not verify for {}",
            ticket.account()
        )));
    }
    let t = &ticket.ticket;
    if t.chain_id != node.chain_id() {
        return Err(invalid(format!(
            "the ticket is for chain {:?}, this node's is {:?}",
            t.chain_id,
            node.chain_id()
        )));
    }
    let height = node.head().height;
    if t.expires_at_height < height {
        return Err(api_err(
            ApiErrorKind::UploadTicketExpired,
            format!(
                "the ticket expired at height {}; the node is at {height}",
                t.expires_at_height
            ),
        ));
    }
    if t.expires_at_height > height.saturating_add(UPLOAD_TICKET_BLOCKS_AHEAD_MAX) {
        return Err(invalid(format!(
            "the ticket expires at height {}, more than {UPLOAD_TICKET_BLOCKS_AHEAD_MAX} blocks after the node's {height}",
            t.expires_at_height
        )));
    }
    Ok(ticket)
}

fn mismatch(detail: String) -> ApiError {
    api_err(ApiErrorKind::UploadTicketMismatch, detail)
}

/// Refuses, before reading any of it, a body that is not the ticket's: another `expected`
/// root, another declared length, or over the blob limit.
fn check_body_fits(
    p: &DataPlane,
    q: &PutQuery,
    headers: &HeaderMap,
    root: Hash32,
    size_bytes: u64,
) -> Result<(), ApiError> {
    if let Some(expected) = q.expected.as_deref() {
        let expected: Hash32 = crate::api_common::parse_hash(expected)?;
        if expected != root {
            return Err(mismatch(format!(
                "the upload is of {expected}, the ticket is for {root}"
            )));
        }
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(n) = declared.filter(|&n| n != size_bytes) {
        return Err(mismatch(format!(
            "the body is {n} bytes, the ticket is for {size_bytes}"
        )));
    }
    let bytes_max = p.store.limits().blob_bytes_max;
    if size_bytes > bytes_max {
        return Err(store_error(BlobError::TooLarge { bytes_max }));
    }
    Ok(())
}

/// Refuses an account with neither a balance nor a bond (provider, validator or delegation)
/// on chain: a stranger's key costs nothing, a funded account does.
async fn check_funded(node: &Arc<NodeState>, account: Address) -> Result<(), ApiError> {
    let node = node.clone();
    let funded = tokio::task::spawn_blocking(move || {
        let snapshot = node.store.snapshot().map_err(internal)?;
        let state = yun_state::Overlay::new(&snapshot);
        let bonded = state.provider(&account).is_some_and(|p| !p.bond.is_zero())
            || state
                .validator(&account)
                .is_some_and(|v| !v.self_bond.is_zero())
            || !yun_state::staking::delegations_of(&snapshot, &account).is_empty();
        Ok::<_, ApiError>(!state.account(&account).balance.is_zero() || bonded)
    })
    .await
    .map_err(internal)??;
    if !funded {
        return Err(api_err(
            ApiErrorKind::UploaderUnfunded,
            format!("{account} has no balance and no bond on this chain"),
        ));
    }
    Ok(())
}

/// An upload admitted against the disk and the quota: dropped without [`Admitted::stored`],
/// it gives both back.
struct Admitted<'a> {
    plane: &'a DataPlane,
    account: Address,
    charged_bytes: u64,
    size_bytes: u64,
    stored: bool,
}

impl Admitted<'_> {
    fn stored(mut self) {
        self.stored = true;
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.plane.in_flight_bytes);
        *in_flight = in_flight.saturating_sub(self.size_bytes);
        if !self.stored && self.charged_bytes > 0 {
            lock(&self.plane.quota).refund(&self.account, self.charged_bytes);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reserves the upload's bytes against the disk's free space (above the reserve) and charges
/// them to the account's quota, unless the node holds that root already (storing it again
/// takes no new space).
fn admit(
    p: &DataPlane,
    account: Address,
    root: Hash32,
    size_bytes: u64,
) -> Result<Admitted<'_>, ApiError> {
    let free_bytes = free_disk_bytes(p.store.path(&root).parent().unwrap_or(Path::new(".")))
        .map_err(internal)?;
    {
        let mut in_flight = lock(&p.in_flight_bytes);
        let needed = in_flight
            .saturating_add(size_bytes)
            .saturating_add(p.limits.disk_reserve_bytes);
        if needed > free_bytes {
            return Err(api_err(
                ApiErrorKind::DiskFull,
                format!(
                    "{free_bytes} bytes free on the node's disk, {} kept in reserve, {} being uploaded: no room for {size_bytes} more",
                    p.limits.disk_reserve_bytes, *in_flight
                ),
            ));
        }
        *in_flight += size_bytes;
    }
    let mut admitted = Admitted {
        plane: p,
        account,
        charged_bytes: 0,
        size_bytes,
        stored: false,
    };
    if p.store.len(&root) == Some(size_bytes) {
        return Ok(admitted);
    }
    match lock(&p.quota).charge(account, size_bytes, Instant::now()) {
        Ok(()) => admitted.charged_bytes = size_bytes,
        Err(QuotaRefusal::Exceeded {
            left_bytes,
            renews_in,
        }) => {
            return Err(api_err(
                ApiErrorKind::UploadQuotaExceeded,
                format!(
                    "{account} may upload {left_bytes} more bytes here until its window renews in {} s; this blob is {size_bytes}",
                    renews_in.as_secs()
                ),
            ));
        }
        Err(QuotaRefusal::TooManyAccounts) => {
            return Err(api_err(
                ApiErrorKind::UploadQuotaExceeded,
                "this node tracks as many uploading accounts as it may today; retry later",
            ));
        }
    }
    Ok(admitted)
}

/// Free space for unprivileged writers on the file system holding `dir`.
pub fn free_disk_bytes(dir: &Path) -> std::io::Result<u64> {
    let s = rustix::fs::statvfs(dir)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

/// The body's chunks, cut off with an error (and `over` set) once more than `size_bytes`
/// arrived, so a ticket for a small blob never stores a large one.
fn at_most(
    body: Body,
    size_bytes: u64,
    over: Arc<AtomicBool>,
) -> impl futures::Stream<Item = Result<bytes::Bytes, String>> {
    let mut seen: u64 = 0;
    body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(|e| e.to_string())?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > size_bytes {
            over.store(true, Ordering::Relaxed);
            return Err(format!("more than the ticket's {size_bytes} bytes"));
        }
        Ok(chunk)
    })
}

/// The numbered reason an upload the store refused is answered with: the disk filling up
/// mid-write is `DiskFull` and bytes that are not the ticket's root `UploadTicketMismatch`
/// (the store's own reasons otherwise).
pub fn store_refusal_kind(e: &BlobError) -> ApiErrorKind {
    match e {
        BlobError::HashMismatch { .. } => ApiErrorKind::UploadTicketMismatch,
        BlobError::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => ApiErrorKind::DiskFull,
        e => e.kind(),
    }
}

fn store_error(e: BlobError) -> ApiError {
    if let BlobError::Io(io) = &e {
        tracing::warn!("blob upload failed: {io}");
    }
    let detail = match &e {
        BlobError::HashMismatch { expected, got } => {
            format!("the body hashes to {got}, the ticket is for {expected}")
        }
        e => e.to_string(),
    };
    api_err(store_refusal_kind(&e), detail)
}
