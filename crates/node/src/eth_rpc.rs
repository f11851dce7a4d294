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
use crate::eth_rpc_methods::RpcError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

/// Largest request on the JSON-RPC's own port (a batch of raw transactions at most); on
/// `/eth` the API's own limit applies.
pub const ETH_RPC_REQUEST_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Most calls in one JSON-RPC batch (ethers batches up to 100 by default).
pub const ETH_BATCH_CALLS_MAX: usize = 100;

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

fn reply(id: Value, result: crate::eth_rpc_methods::RpcResult) -> Value {
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
            ETH_RPC_REQUEST_BYTES_MAX,
        ))
        .with_state(state)
}
