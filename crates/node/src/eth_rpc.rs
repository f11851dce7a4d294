//! The Ethereum JSON-RPC (`POST /eth` on the API, and on its own port): requests, batches and
//! errors; the methods are in `eth_rpc_methods`.
//!
//! Every answer is JSON-RPC 2.0: a call that fails is a JSON-RPC error (code -32601 for an
//! unknown method, -32602 for bad params, 3 with the revert data and decoded reason for a
//! reverted `eth_call` or `eth_estimateGas`, -32000 with the numbered `TxRejection` for a
//! refused transaction), never an HTTP error. Batches hold at most [`ETH_BATCH_CALLS_MAX`]
//! calls; a larger one is refused whole. State queries answer at the finalized head (the
//! node keeps no historical state): a block tag is accepted but does not select a past state.

use crate::api_common::ApiState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};

/// Most calls in one JSON-RPC batch (ethers batches up to 100 by default).
pub const ETH_BATCH_CALLS_MAX: usize = 100;

/// A JSON-RPC error: code, message and optional data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn invalid_params(message: impl std::fmt::Display) -> RpcError {
        RpcError::new(-32602, format!("invalid params: {message}"))
    }

    pub fn internal(message: impl std::fmt::Display) -> RpcError {
        RpcError::new(-32603, format!("internal error: {message}"))
    }

    /// A refused transaction: its rejection's words, its number in `data`.
    pub fn rejected(r: yun_types::TxRejection) -> RpcError {
        RpcError {
            code: -32000,
            message: rejection_message(r),
            data: Some(json!({ "code": r.code(), "name": r.name(), "hint": r.hint() })),
        }
    }
}

/// Messages in the words Ethereum clients recognise (ethers maps "nonce too low" and
/// "insufficient funds" to its error codes), followed by ours.
fn rejection_message(r: yun_types::TxRejection) -> String {
    use yun_types::TxRejection as T;
    let head = match r {
        T::BadNonce => "nonce too low: ",
        T::InsufficientBalance => "insufficient funds for gas * price + value: ",
        T::EthGasPriceTooLow => "max fee per gas less than block base fee: ",
        T::AlreadyKnown => "already known: ",
        _ => "",
    };
    format!("{head}{r}")
}

pub type RpcResult = Result<Value, RpcError>;

/// `POST /eth`: one call or a batch.
pub async fn handle(State(s): State<ApiState>, body: Bytes) -> Json<Value> {
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Json(reply(
                Value::Null,
                Err(RpcError::new(-32700, format!("parse error: {e}"))),
            ));
        }
    };
    match parsed {
        Value::Array(calls) => {
            if calls.is_empty() || calls.len() > ETH_BATCH_CALLS_MAX {
                return Json(reply(
                    Value::Null,
                    Err(RpcError::new(
                        -32600,
                        format!(
                            "a batch holds 1 to {ETH_BATCH_CALLS_MAX} calls, this one {}",
                            calls.len()
                        ),
                    )),
                ));
            }
            let mut out = Vec::with_capacity(calls.len());
            for call in calls {
                out.push(one(&s, call).await);
            }
            Json(Value::Array(out))
        }
        call => Json(one(&s, call).await),
    }
}

/// One call's reply object.
async fn one(s: &ApiState, call: Value) -> Value {
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = call
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return reply(id, Err(RpcError::new(-32600, "invalid request: no method")));
    };
    let params = match call.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(p)) => p.clone(),
        Some(_) => return reply(id, Err(RpcError::invalid_params("params must be an array"))),
    };
    let s = s.clone();
    // Reads and executions touch the store and run the EVM: off the async workers.
    let result =
        tokio::task::spawn_blocking(move || crate::eth_rpc_methods::call(&s, &method, &params))
            .await
            .unwrap_or_else(|e| Err(RpcError::internal(e)));
    reply(id, result)
}

fn reply(id: Value, result: RpcResult) -> Value {
    match result {
        Ok(v) => json!({ "jsonrpc": "2.0", "id": id, "result": v }),
        Err(e) => json!({ "jsonrpc": "2.0", "id": id, "error": e }),
    }
}

/// The Ethereum JSON-RPC router (the API's limits are applied by whoever serves it).
pub fn routes() -> axum::Router<ApiState> {
    axum::Router::new().route("/eth", axum::routing::post(handle))
}

/// The router served on the dedicated JSON-RPC port: `/eth` and `/` (what Ethereum tools
/// post to by default).
pub fn standalone(state: ApiState) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::post(handle))
        .route("/eth", axum::routing::post(handle))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::api::REQUEST_BYTES_MAX,
        ))
        .with_state(state)
}
