//! `GET /v1/blobs/{hash}/bao`: the bao encoding of a byte range of a blob, so a client can
//! check every 16 KiB group against the blob's hash as it arrives and fetch a range alone.

use crate::error::BlobError;
use crate::http_error::{BlobApiError, api_err, parse_hash};
use crate::store::BlobStore;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use std::io::{self, Write};
use std::sync::Arc;
use tokio::sync::mpsc;
use yun_types::Hash32;
use yun_types::api::{ApiErrorKind, ErrorResponse};

/// The response header that gives the whole blob's length (the tree's shape depends on it).
pub const BLOB_BYTES_HEADER: &str = "yun-blob-bytes";

/// Bytes handed to the HTTP body at a time while a range is encoded.
const PIECE_BYTES: usize = 256 * 1024;

/// Encoded pieces waiting for the connection (the encoder blocks when it is this far ahead).
const PIECES_QUEUED: usize = 4;

/// `GET /v1/blobs/{hash}/bao` query: the byte range to encode; the whole blob by default.
#[derive(Debug, Deserialize)]
pub(crate) struct BaoQuery {
    offset: Option<u64>,
    len: Option<u64>,
}

/// The bao encoding (BLAKE3 tree, chunk groups of 16 KiB, pre-order, no length prefix) of the
/// chunks covering bytes `[offset, offset + len)`: hash pairs and data in the order a decoder
/// checks them against the blob's hash. Every group is checked against the stored tree before
/// it is sent; a copy found corrupt is deleted and the answer breaks off.
#[utoipa::path(get, path = "/v1/blobs/{hash}/bao",
    params(("hash" = Hash32, Path, description = "blake3 (bao root) of the blob, 64 hex"),
        ("offset" = Option<u64>, Query, description = "first byte of the range (default 0)"),
        ("len" = Option<u64>, Query, description = "bytes in the range (default: to the end)")),
    responses(
        (status = 200, description = "the encoding; header `yun-blob-bytes` is the blob's length",
            content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "BlobNotFound (106)", body = ErrorResponse),
        (status = 416, description = "BadRange (108): the range is not inside the blob", body = ErrorResponse),
        (status = 400, description = "BadParameter (103): a malformed hash or query", body = ErrorResponse),
        (status = 503, description = "Unavailable (104): the store could not read", body = ErrorResponse)))]
pub(crate) async fn get_bao(
    State(store): State<Arc<BlobStore>>,
    Path(hash): Path<String>,
    query: Result<Query<BaoQuery>, QueryRejection>,
) -> Result<Response, BlobApiError> {
    let hash = parse_hash(&hash)?;
    let Query(q) = query.map_err(|e| api_err(ApiErrorKind::BadParameter, e.body_text()))?;
    let opener = store.clone();
    let (tree, ranges) = tokio::task::spawn_blocking(move || {
        let tree = opener.open_tree(&hash)?;
        let offset = q.offset.unwrap_or(0);
        let len = q.len.unwrap_or(tree.size_bytes().saturating_sub(offset));
        let ranges = tree.chunk_ranges(offset, len)?;
        Ok::<_, BlobError>((tree, ranges))
    })
    .await
    .map_err(|e| BlobError::Io(io::Error::other(e)))??;
    let blob_bytes = tree.size_bytes();
    let (tx, rx) = mpsc::channel(PIECES_QUEUED);
    tokio::task::spawn_blocking(move || {
        let mut out = PieceWriter::new(tx.clone());
        let encoded = store.encode_ranges(&tree, &ranges, &mut out);
        let sent = encoded.and_then(|()| out.send_rest().map_err(BlobError::from));
        if let Err(e) = sent {
            tracing::debug!(hash = %tree.hash(), "bao range broke off: {e}");
            // An error item cuts the connection: the client never sees a clean end.
            let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    }));
    let etag = HeaderValue::from_str(&format!("\"{hash}\"")).expect("hex is ascii");
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        ),
        (header::ETAG, etag),
    ];
    let mut resp = (StatusCode::OK, headers, body).into_response();
    resp.headers_mut()
        .insert(BLOB_BYTES_HEADER, HeaderValue::from(blob_bytes));
    Ok(resp)
}

/// Collects the encoder's small writes into pieces for the HTTP body; a closed connection
/// turns into a write error, which stops the encoder.
struct PieceWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl PieceWriter {
    fn new(tx: mpsc::Sender<io::Result<Bytes>>) -> PieceWriter {
        PieceWriter {
            tx,
            buf: Vec::with_capacity(PIECE_BYTES),
        }
    }

    fn send_rest(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE_BYTES));
        self.tx
            .blocking_send(Ok(Bytes::from(piece)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for PieceWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE_BYTES {
            self.send_rest()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
