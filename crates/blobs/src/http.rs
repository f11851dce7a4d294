//! The blob routes: `POST /v1/blobs` (streamed upload), `GET`/`HEAD /v1/blobs/{hash}`
//! (streamed download, one byte range at most) and `GET /v1/blobs/{hash}/bao` (verified
//! streaming, in `http_bao`), with numbered JSON errors.

use crate::error::BlobError;
use crate::http_bao::{__path_get_bao, get_bao};
use crate::http_error::{BlobApiError, api_err, parse_hash};
use crate::store::{BlobLimits, BlobStore, touch};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use std::io::{self, SeekFrom};
use std::ops::RangeInclusive;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use utoipa::OpenApi;
use yun_types::Hash32;
use yun_types::api::{ApiErrorKind, ErrorResponse, PutBlobResponse};
use yun_types::rejection::RejectionBody;

/// Bytes read from disk per chunk of a download.
const CHUNK_BYTES: usize = 64 * 1024;

/// The blob routes over `store`, with their own state: merge them into a `Router<()>` (a node's
/// router after its `with_state`) or serve them alone (a provider agent).
pub fn routes(store: Arc<BlobStore>) -> Router {
    // Uploads are streamed and the store enforces `blob_bytes_max` itself; this limit is for
    // any extractor that buffers, so an outer, smaller default never caps blob uploads.
    let body_bytes_max = usize::try_from(store.limits().blob_bytes_max).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/v1/blobs",
            post(put_blob).layer(DefaultBodyLimit::max(body_bytes_max)),
        )
        .route("/v1/blobs/{hash}", get(get_blob).head(head_blob))
        .route("/v1/blobs/{hash}/bao", get(get_bao))
        .with_state(store)
}

/// Only the download routes (`GET`/`HEAD /v1/blobs/{hash}`, `GET /v1/blobs/{hash}/bao`): what
/// a provider agent serves its outputs with, so nobody else can fill its disk.
pub fn read_routes(store: Arc<BlobStore>) -> Router {
    Router::new()
        .route("/v1/blobs/{hash}", get(get_blob).head(head_blob))
        .route("/v1/blobs/{hash}/bao", get(get_bao))
        .with_state(store)
}

/// `POST /v1/blobs` query.
#[derive(Debug, Deserialize)]
struct PutQuery {
    expected: Option<String>,
}

/// Upload a blob (the raw bytes as the body); answers its blake3 hash and length.
#[utoipa::path(post, path = "/v1/blobs",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "the blob's bytes, at most `blob_bytes_max` (see this operation's description)"),
    params(("expected" = Option<Hash32>, Query,
        description = "blake3 of the body, 64 hex; the upload is refused (107) if the bytes differ")),
    responses((status = 200, body = PutBlobResponse),
        (status = 413, description = "BlobTooLarge (105)", body = ErrorResponse),
        (status = 422, description = "BlobHashMismatch (107)", body = ErrorResponse),
        (status = 507, description = "StoreFull (109)", body = ErrorResponse),
        (status = 400, description = "BadParameter (103): a malformed `expected` hash", body = ErrorResponse),
        (status = 503, description = "Unavailable (104): the store could not write", body = ErrorResponse)))]
async fn put_blob(
    State(store): State<Arc<BlobStore>>,
    query: Result<Query<PutQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PutBlobResponse>, BlobApiError> {
    let Query(q) = query.map_err(|e| api_err(ApiErrorKind::BadParameter, e.body_text()))?;
    let expected = q.expected.as_deref().map(parse_hash).transpose()?;
    let bytes_max = store.limits().blob_bytes_max;
    // Refuse a declared oversize upload before reading any of it.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > bytes_max) {
        return Err(BlobError::TooLarge { bytes_max }.into());
    }
    let receipt = store.put_stream(body.into_data_stream(), expected).await?;
    Ok(Json(receipt.into()))
}

/// Download a blob; a full download is verified against the hash while it streams and breaks
/// off (never completes) if the stored copy is corrupt. One `Range: bytes=a-b` is honoured.
#[utoipa::path(get, path = "/v1/blobs/{hash}",
    params(("hash" = Hash32, Path, description = "blake3 of the blob, 64 hex"),
        ("Range" = Option<String>, Header, description = "one byte range, e.g. `bytes=0-1023`")),
    responses(
        (status = 200, description = "the blob", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "the requested range", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "BlobNotFound (106)", body = ErrorResponse),
        (status = 416, description = "BadRange (108)", body = ErrorResponse),
        (status = 400, description = "BadParameter (103): a malformed hash", body = ErrorResponse),
        (status = 503, description = "Unavailable (104): the store could not read", body = ErrorResponse)))]
async fn get_blob(
    State(store): State<Arc<BlobStore>>,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Result<Response, BlobApiError> {
    let hash = parse_hash(&hash)?;
    let (file, blob_bytes) = open_blob(&store, &hash).await?;
    let range = match headers.get(header::RANGE) {
        None => None,
        Some(v) => Some(single_range(v, blob_bytes)?),
    };
    let file = file.into_std().await;
    touch(&file).map_err(BlobError::from)?;
    let meta = file.metadata().map_err(BlobError::from)?;
    let file = tokio::fs::File::from_std(file);
    let Some(range) = range else {
        let body = if blob_bytes <= CHUNK_BYTES as u64 {
            Body::from(read_verified(&store, &hash, &meta, file).await?)
        } else {
            Body::from_stream(verified(store, hash, meta, file))
        };
        return Ok(blob_response(StatusCode::OK, &hash, blob_bytes, body));
    };
    let (start, end) = (*range.start(), *range.end());
    let mut file = file;
    file.seek(SeekFrom::Start(start))
        .await
        .map_err(BlobError::from)?;
    let range_bytes = end - start + 1;
    let body = Body::from_stream(ReaderStream::with_capacity(
        file.take(range_bytes),
        CHUNK_BYTES,
    ));
    let mut resp = blob_response(StatusCode::PARTIAL_CONTENT, &hash, range_bytes, body);
    let content_range = format!("bytes {start}-{end}/{blob_bytes}");
    resp.headers_mut().insert(
        header::CONTENT_RANGE,
        HeaderValue::from_str(&content_range).expect("ascii"),
    );
    Ok(resp)
}

/// A blob's length and ETag without its bytes (does not count as a use for retention).
#[utoipa::path(head, path = "/v1/blobs/{hash}",
    params(("hash" = Hash32, Path, description = "blake3 of the blob, 64 hex")),
    responses((status = 200, description = "the blob exists; Content-Length is its size"),
        (status = 400, description = "BadParameter (103): a malformed hash"),
        (status = 404, description = "BlobNotFound (106)")))]
async fn head_blob(
    State(store): State<Arc<BlobStore>>,
    Path(hash): Path<String>,
) -> Result<Response, BlobApiError> {
    let hash = parse_hash(&hash)?;
    let (_, blob_bytes) = open_blob(&store, &hash).await?;
    Ok(blob_response(
        StatusCode::OK,
        &hash,
        blob_bytes,
        Body::empty(),
    ))
}

async fn open_blob(
    store: &BlobStore,
    hash: &Hash32,
) -> Result<(tokio::fs::File, u64), BlobApiError> {
    let file = match tokio::fs::File::open(store.path(hash)).await {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BlobError::NotFound { hash: *hash }.into());
        }
        Err(e) => return Err(BlobError::from(e).into()),
    };
    let blob_bytes = file.metadata().await.map_err(BlobError::from)?.len();
    Ok((file, blob_bytes))
}

fn blob_response(status: StatusCode, hash: &Hash32, content_bytes: u64, body: Body) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{hash}\"")).expect("hex is ascii");
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        ),
        (header::CONTENT_LENGTH, HeaderValue::from(content_bytes)),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
        (header::ETAG, etag),
    ];
    (status, headers, body).into_response()
}

/// The one byte range a `Range` header asks for, within a blob of `blob_bytes`.
fn single_range(value: &HeaderValue, blob_bytes: u64) -> Result<RangeInclusive<u64>, BlobApiError> {
    let bad = |detail: String| BlobApiError {
        blob_bytes: Some(blob_bytes),
        ..api_err(ApiErrorKind::BadRange, detail)
    };
    let text = value
        .to_str()
        .map_err(|_| bad("the Range header is not ASCII".into()))?;
    let ranges = http_range_header::parse_range_header(text)
        .and_then(|parsed| parsed.validate(blob_bytes))
        .map_err(|e| bad(format!("{text:?} for a blob of {blob_bytes} bytes: {e}")))?;
    match ranges.as_slice() {
        [range] if *range.end() < blob_bytes => Ok(range.clone()),
        [_] => Err(bad(format!(
            "{text:?} is outside the blob's {blob_bytes} bytes"
        ))),
        _ => Err(bad(format!("{text:?}: only one range per request"))),
    }
}

/// A blob of at most one chunk, verified before anything is sent: the streamed path would hold
/// that chunk back anyway, and this way a corrupt copy is a clean `BlobNotFound` answer.
async fn read_verified(
    store: &BlobStore,
    hash: &Hash32,
    meta: &std::fs::Metadata,
    mut file: tokio::fs::File,
) -> Result<Vec<u8>, BlobApiError> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .await
        .map_err(BlobError::from)?;
    if Hash32::digest(&bytes) != *hash {
        store.remove_corrupt(hash, meta).map_err(BlobError::from)?;
        return Err(BlobError::Corrupt { hash: *hash }.into());
    }
    Ok(bytes)
}

/// The file's chunks, hashed as they pass. The last chunk is held back until the whole file
/// matched `hash`, so a corrupt copy ends in an error (the connection is cut) before the
/// client has every byte it was promised: it can never look like a complete transfer.
fn verified(
    store: Arc<BlobStore>,
    hash: Hash32,
    meta: std::fs::Metadata,
    file: tokio::fs::File,
) -> impl Stream<Item = io::Result<Bytes>> {
    struct Verify {
        chunks: ReaderStream<tokio::fs::File>,
        hasher: blake3::Hasher,
        held: Option<Bytes>,
    }
    let start = Verify {
        chunks: ReaderStream::with_capacity(file, CHUNK_BYTES),
        hasher: blake3::Hasher::new(),
        held: None,
    };
    futures::stream::unfold(Some(start), move |state| {
        let store = store.clone();
        let meta = meta.clone();
        async move {
            let mut s = state?;
            loop {
                match s.chunks.next().await {
                    Some(Ok(chunk)) => {
                        s.hasher.update(&chunk);
                        if let Some(prev) = s.held.replace(chunk) {
                            return Some((Ok(prev), Some(s)));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), None)),
                    None if Hash32(*s.hasher.finalize().as_bytes()) == hash => {
                        return s.held.take().map(|last| (Ok(last), None));
                    }
                    None => {
                        if let Err(e) = store.remove_corrupt(&hash, &meta) {
                            tracing::warn!(%hash, "cannot remove corrupt blob: {e}");
                        }
                        let e = io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("blob {hash} is corrupt on disk; removed"),
                        );
                        return Some((Err(e), None));
                    }
                }
            }
        }
    })
}

/// The blob routes' OpenAPI description, for merging into a node's document.
#[derive(OpenApi)]
#[openapi(
    paths(put_blob, get_blob, head_blob, get_bao),
    components(schemas(PutBlobResponse, ErrorResponse, RejectionBody))
)]
#[derive(Debug)]
pub struct BlobsApiDoc;

/// `BlobsApiDoc` with this store's limits written into the upload operation's description.
pub fn openapi_with_limits(limits: &BlobLimits) -> utoipa::openapi::OpenApi {
    let mut doc = BlobsApiDoc::openapi();
    if let Some(op) = doc
        .paths
        .paths
        .get_mut("/v1/blobs")
        .and_then(|p| p.post.as_mut())
    {
        let limits = format!(
            "Limits: blob_bytes_max = {} bytes; store_bytes_max = {} bytes.",
            limits.blob_bytes_max, limits.store_bytes_max
        );
        op.description = Some(match op.description.take() {
            Some(d) => format!("{d}\n\n{limits}"),
            None => limits,
        });
    }
    doc
}
