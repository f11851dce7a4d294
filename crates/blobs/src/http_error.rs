//! The blob routes' error answer: a numbered JSON error with its HTTP status, shared by the
//! plain and the bao routes.

use crate::error::BlobError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use yun_types::Hash32;
use yun_types::api::{ApiErrorKind, ErrorResponse};
use yun_types::rejection::RejectionBody;

/// A numbered JSON error with its HTTP status; a 416 also names the blob's length.
#[derive(Debug)]
pub(crate) struct BlobApiError {
    pub(crate) kind: ApiErrorKind,
    pub(crate) body: RejectionBody,
    pub(crate) blob_bytes: Option<u64>,
}

pub(crate) fn api_err(kind: ApiErrorKind, detail: impl Into<String>) -> BlobApiError {
    BlobApiError {
        kind,
        body: kind.body(detail),
        blob_bytes: None,
    }
}

impl From<BlobError> for BlobApiError {
    fn from(e: BlobError) -> Self {
        if let BlobError::Io(io) = &e {
            tracing::warn!("blob storage error: {io}");
        }
        api_err(e.kind(), e.to_string())
    }
}

impl IntoResponse for BlobApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.kind.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, Json(ErrorResponse { error: self.body })).into_response();
        if let Some(n) = self.blob_bytes {
            let range = HeaderValue::from_str(&format!("bytes */{n}")).expect("ascii");
            resp.headers_mut().insert(header::CONTENT_RANGE, range);
        }
        resp
    }
}

pub(crate) fn parse_hash(s: &str) -> Result<Hash32, BlobApiError> {
    s.parse().map_err(|e: yun_types::hash::HashParseError| {
        api_err(ApiErrorKind::BadParameter, format!("{s:?}: {e}"))
    })
}
