//! Transaction submission: one at a time as JSON, a JSON batch of hex, or a binary batch.
//! Decoding and admission (signature checks, the durable write) run off the async workers,
//! and every transaction gets its own answer, in order.

use crate::api_common::{ApiError, ApiState, api_err, internal};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use yun_types::api::*;
use yun_types::rejection::RejectionBody;
use yun_types::{Hash32, SignedTx, TxRejection};

/// Largest request body, in bytes (a batch of transactions at most).
pub const REQUEST_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Most transactions in one `POST /v1/txs/batch`.
pub const BATCH_TXS_MAX: usize = 10_000;

/// Parses a JSON body, turning size and syntax problems into numbered errors.
fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = read_body(body, ApiErrorKind::MalformedJson)?;
    serde_json::from_slice(&body).map_err(|e| api_err(ApiErrorKind::MalformedJson, e.to_string()))
}

/// A request body, with size and stall problems turned into numbered errors, and any other
/// failure to read it into `malformed` (the kind that names the body's format).
fn read_body(
    body: Result<Bytes, BytesRejection>,
    malformed: ApiErrorKind,
) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if stalled(&e) {
            api_err(
                ApiErrorKind::RequestTimeout,
                "the request body paused longer than the node's body idle timeout",
            )
        } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            api_err(
                ApiErrorKind::BodyTooLarge,
                format!("request body over {REQUEST_BYTES_MAX} bytes"),
            )
        } else {
            api_err(malformed, e.body_text())
        }
    })
}

/// Whether reading a body failed because the client stopped sending it (the body idle
/// timeout of `api_guard`).
fn stalled(e: &BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

fn decode_tx(hex_str: &str) -> Result<SignedTx, TxRejection> {
    let bytes = hex::decode(hex_str.trim()).map_err(|_| TxRejection::Malformed)?;
    decode_tx_bytes(&bytes)
}

fn decode_tx_bytes(bytes: &[u8]) -> Result<SignedTx, TxRejection> {
    if bytes.len() > yun_types::limits::TX_BYTES_MAX {
        return Err(TxRejection::TooLarge);
    }
    SignedTx::decode_untrusted(bytes).map_err(|_| TxRejection::Malformed)
}

/// Submit one signed transaction.
#[utoipa::path(post, path = "/v1/txs", request_body = SubmitTxRequest,
    responses((status = 200, body = SubmitTxResponse), (status = 400, description = "MalformedJson", body = ErrorResponse), (status = 409, description = "AlreadyKnown", body = ErrorResponse), (status = 413, description = "BodyTooLarge or TooLarge", body = ErrorResponse), (status = 422, description = "a numbered TxRejection", body = ErrorResponse), (status = 503, description = "MempoolFull or Unavailable", body = ErrorResponse)))]
async fn submit_tx(
    State(s): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SubmitTxResponse>, ApiError> {
    let req: SubmitTxRequest = json_body(body)?;
    let tx = decode_tx(&req.tx_hex).inspect_err(|r| s.node.metrics.rejected(*r))?;
    // Admission verifies a signature and writes to disk: keep it off the async workers.
    let node = s.node.clone();
    let id = tokio::task::spawn_blocking(move || node.submit(vec![tx]).remove(0))
        .await
        .map_err(internal)??;
    Ok(Json(SubmitTxResponse { id }))
}

/// `POST /v1/txs/batch` body.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubmitBatchRequest {
    pub txs_hex: Vec<String>,
}

/// One answer per submitted transaction, in order.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubmitBatchResponse {
    pub results: Vec<BatchResult>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchResult {
    pub id: Option<Hash32>,
    pub error: Option<RejectionBody>,
}

/// Submit up to 10,000 signed transactions at once.
#[utoipa::path(post, path = "/v1/txs/batch", request_body = SubmitBatchRequest,
    responses((status = 200, body = SubmitBatchResponse), (status = 400, description = "MalformedJson", body = ErrorResponse), (status = 409, description = "AlreadyKnown", body = ErrorResponse), (status = 413, description = "BodyTooLarge or TooLarge", body = ErrorResponse), (status = 422, description = "a numbered TxRejection", body = ErrorResponse), (status = 503, description = "MempoolFull or Unavailable", body = ErrorResponse)))]
async fn submit_batch(
    State(s): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SubmitBatchResponse>, ApiError> {
    let req: SubmitBatchRequest = json_body(body)?;
    if req.txs_hex.len() > BATCH_TXS_MAX {
        return Err(api_err(
            ApiErrorKind::BodyTooLarge,
            format!("at most {BATCH_TXS_MAX} transactions per batch"),
        ));
    }
    let results = admit_batch(&s, move || {
        req.txs_hex.iter().map(|h| decode_tx(h)).collect()
    })
    .await?;
    Ok(Json(SubmitBatchResponse { results }))
}

/// Submit up to 10,000 signed transactions at once, without hex or JSON: the body is the list
/// of encoded transactions, each as a byte string (commonware codec: a varint count, then a
/// varint length and the bytes of each). The answer is the JSON one of `/v1/txs/batch`. A
/// malformed entry is refused alone (`Malformed`, `TooLarge`); a body that is not such a list
/// is `MalformedBody` (127).
#[utoipa::path(post, path = "/v1/txs/batch/binary", request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = SubmitBatchResponse), (status = 400, description = "MalformedBody", body = ErrorResponse), (status = 413, description = "BodyTooLarge", body = ErrorResponse), (status = 503, description = "Unavailable", body = ErrorResponse)))]
async fn submit_batch_binary(
    State(s): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SubmitBatchResponse>, ApiError> {
    let body = read_body(body, ApiErrorKind::MalformedBody)?;
    let entries = decode_binary_batch(&body)?;
    let results = admit_batch(&s, move || {
        entries.iter().map(|b| decode_tx_bytes(b)).collect()
    })
    .await?;
    Ok(Json(SubmitBatchResponse { results }))
}

/// A binary batch's entries: at most `BATCH_TXS_MAX`, each as long as the body allows, so an
/// oversize transaction is refused alone as `TooLarge`, as in JSON. Nothing is allocated past
/// what the body holds: the codec checks each length against the bytes that remain.
fn decode_binary_batch(body: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
    use commonware_codec::{Decode, RangeCfg};
    let count: RangeCfg<usize> = (0..=BATCH_TXS_MAX).into();
    let entry: RangeCfg<usize> = (0..=REQUEST_BYTES_MAX).into();
    Vec::<Vec<u8>>::decode_cfg(commonware_codec::Copying(body), &(count, (entry, ()))).map_err(
        |e| {
            api_err(
                ApiErrorKind::MalformedBody,
                format!("not a list of at most {BATCH_TXS_MAX} encoded transactions: {e}"),
            )
        },
    )
}

/// Decodes a batch's entries with `decode` and admits the good ones, off the async workers
/// (signature checks and the durable write are blocking work): one answer per entry, in order.
async fn admit_batch(
    s: &ApiState,
    decode: impl FnOnce() -> Vec<Result<SignedTx, TxRejection>> + Send + 'static,
) -> Result<Vec<BatchResult>, ApiError> {
    let node = s.node.clone();
    tokio::task::spawn_blocking(move || {
        // The good transactions move to admission; each entry keeps only its refusal, if any.
        let mut good = Vec::new();
        let refused: Vec<Option<TxRejection>> = decode()
            .into_iter()
            .map(|d| match d {
                Ok(tx) => {
                    good.push(tx);
                    None
                }
                Err(r) => Some(r),
            })
            .collect();
        let mut admitted = node.submit(good).into_iter();
        refused
            .into_iter()
            .map(|refusal| {
                let outcome = match refusal {
                    Some(r) => Err(r),
                    None => admitted.next().expect("one answer per admitted tx"),
                };
                match outcome {
                    Ok(id) => BatchResult {
                        id: Some(id),
                        error: None,
                    },
                    Err(r) => BatchResult {
                        id: None,
                        error: Some(r.into()),
                    },
                }
            })
            .collect()
    })
    .await
    .map_err(internal)
}

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/txs", post(submit_tx))
        .route("/v1/txs/batch", post(submit_batch))
        .route("/v1/txs/batch/binary", post(submit_batch_binary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::NodeState;
    use crate::state::race::node_with_pending;
    use std::sync::Arc;

    fn api(node: Arc<NodeState>) -> State<ApiState> {
        State(ApiState {
            node,
            metrics_text: Arc::new(String::new),
            peers: Arc::new(Vec::new),
        })
    }

    /// Runs a handler to its answer, as the server would.
    fn answer<T>(f: impl std::future::Future<Output = Result<Json<T>, ApiError>>) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(f).expect("the handler answers").0
    }

    /// Answers `body` posted to the binary batch: the status and the body as JSON.
    fn post_binary_batch(node: Arc<NodeState>, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            match submit_batch_binary(api(node), Ok(Bytes::from(body))).await {
                Ok(Json(ok)) => (StatusCode::OK, serde_json::to_value(ok).unwrap()),
                Err(e) => {
                    let resp = axum::response::IntoResponse::into_response(e);
                    let status = resp.status();
                    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                        .await
                        .unwrap();
                    (status, serde_json::from_slice(&bytes).unwrap())
                }
            }
        })
    }

    fn codes(results: &[BatchResult]) -> Vec<Option<u16>> {
        results
            .iter()
            .map(|r| r.error.as_ref().map(|e| e.code))
            .collect()
    }

    #[test]
    fn a_binary_batch_answers_each_entry_as_the_json_batch_does() {
        use commonware_codec::Encode;
        let good = crate::state::race::transfer(1);
        let oversize = vec![0u8; yun_types::limits::TX_BYTES_MAX + 1];
        let twice = vec![0u8; 2 * yun_types::limits::TX_BYTES_MAX];
        let entries = vec![
            good.encode().to_vec(),
            b"not a transaction".to_vec(),
            oversize,
            twice,
        ];
        let (node, _) = node_with_pending();
        let (status, body) = post_binary_batch(node, entries.encode().to_vec());
        assert_eq!(status, StatusCode::OK, "{body}");
        let binary: SubmitBatchResponse = serde_json::from_value(body).unwrap();
        assert_eq!(binary.results[0].id, Some(good.id()));
        let (json_node, _) = node_with_pending();
        let txs_hex = entries.iter().map(hex::encode).collect();
        let json = answer(submit_batch(
            api(json_node),
            Ok(Bytes::from(
                serde_json::to_vec(&SubmitBatchRequest { txs_hex }).unwrap(),
            )),
        ));
        let expected = vec![
            None,
            Some(TxRejection::Malformed as u16),
            Some(TxRejection::TooLarge as u16),
            Some(TxRejection::TooLarge as u16),
        ];
        assert_eq!(codes(&binary.results), expected);
        assert_eq!(codes(&json.results), expected);
    }

    #[test]
    fn a_binary_body_that_is_not_a_bounded_list_is_malformed_body() {
        use commonware_codec::Encode;
        let too_many: Vec<Vec<u8>> = vec![Vec::new(); BATCH_TXS_MAX + 1];
        let cut_short = {
            let mut b = vec![vec![1u8; 40]].encode().to_vec();
            b.truncate(b.len() - 1);
            b
        };
        for body in [
            b"\xff\xff\xff".to_vec(),
            too_many.encode().to_vec(),
            cut_short,
        ] {
            let (node, _) = node_with_pending();
            let (status, e) = post_binary_batch(node.clone(), body);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
            assert_eq!(
                e["error"]["code"],
                ApiErrorKind::MalformedBody as u16,
                "{e}"
            );
            assert_eq!(
                node.mempool.lock().unwrap().len(),
                1,
                "nothing more admitted"
            );
        }
    }
}
