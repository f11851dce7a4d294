//! The HTTP/JSON API (axum). Every error is a numbered, named reason in a JSON body; request
//! bodies are size-limited; nothing a client sends can panic the node.

pub use crate::api_common::{ApiError, ApiState};
use crate::api_common::{api_err, internal, parse_address, parse_hash};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::OpenApi;
use yun_types::api::*;
use yun_types::rejection::RejectionBody;
use yun_types::{Address, Hash32, SignedTx};

pub use crate::api_txs::{
    BATCH_TXS_MAX, BatchResult, REQUEST_BYTES_MAX, SubmitBatchRequest, SubmitBatchResponse,
};
/// Most entries `GET /v1/accounts/{address}/txs` returns.
pub const ACCOUNT_TXS_LIMIT_MAX: usize = 1_000;

/// Where a transaction stands: pending, committed (with receipt) or rejected.
#[utoipa::path(get, path = "/v1/txs/{id}", params(("id" = Hash32, Path, description = "tx id, 64 hex")),
    responses((status = 200, body = TxStatusResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
async fn get_tx(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<TxStatusResponse>, ApiError> {
    let id = parse_hash(&id)?;
    // The mempool first, then the store: a finalized block is committed to the store before
    // the mempool forgets its transactions, so a transaction moving from one to the other is
    // found in at least one of them (the other order could miss it in both).
    let dropped = {
        let pool = s.node.mempool.lock().expect("mempool lock");
        if let Some(stx) = pool.get(&id) {
            return Ok(Json(TxStatusResponse {
                id,
                state: TxState::Pending,
                tx: Some(stx.into()),
                receipt: None,
                rejection: None,
            }));
        }
        pool.dropped_reason(&id)
    };
    if let Some((stx, receipt)) = s.node.store.tx(&id).map_err(internal)? {
        return Ok(Json(TxStatusResponse {
            id,
            state: TxState::Committed,
            tx: Some((&stx).into()),
            receipt: Some((&receipt).into()),
            rejection: None,
        }));
    }
    if let Some(reason) = dropped {
        return Ok(Json(TxStatusResponse {
            id,
            state: TxState::Rejected,
            tx: None,
            receipt: None,
            rejection: Some(reason.into()),
        }));
    }
    Err(api_err(
        ApiErrorKind::NotFound,
        format!("transaction {id} is not known to this node"),
    ))
}

/// Balance and nonces of an account (zero for an account never seen).
#[utoipa::path(get, path = "/v1/accounts/{address}", params(("address" = Address, Path, description = "yun1… address (bech32m)")),
    responses((status = 200, body = AccountResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
async fn get_account(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<AccountResponse>, ApiError> {
    let address = parse_address(&address)?;
    // The mempool first, then the state (see `get_tx`): a snapshot taken before the lock could
    // predate a block whose transactions the mempool has already forgotten, and answer a nonce
    // that block used.
    let (snapshot, account, (next_nonce, pending)) = {
        let pool = s.node.mempool.lock().expect("mempool lock");
        let snapshot = s.node.store.snapshot().map_err(internal)?;
        let account = yun_state::Overlay::new(&snapshot).account(&address);
        let nonces = pool.pending_nonce(&address, account.nonce);
        (snapshot, account, nonces)
    };
    Ok(Json(AccountResponse {
        address,
        balance: account.balance,
        nonce: account.nonce,
        next_nonce,
        pending_txs: pending as u32,
        height: snapshot.head.height,
    }))
}

/// The account's state value with a sparse Merkle proof against the latest state root.
#[utoipa::path(get, path = "/v1/accounts/{address}/proof", params(("address" = Address, Path, description = "yun1… address (bech32m)")),
    responses((status = 200, body = AccountProofResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
async fn get_account_proof(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<AccountProofResponse>, ApiError> {
    let address = parse_address(&address)?;
    let head = s.node.head();
    let proof = s.node.store.account_proof(&address).map_err(internal)?;
    Ok(Json(AccountProofResponse {
        address,
        height: head.height,
        state_root: proof.state_root,
        value_hex: proof.value.map(hex::encode),
        proof_hex: hex::encode(proof.proof),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct LimitQuery {
    limit: Option<usize>,
}

/// Ids of the account's committed transactions, newest first.
#[utoipa::path(get, path = "/v1/accounts/{address}/txs", params(("address" = Address, Path, description = "yun1… address (bech32m)"), LimitQuery),
    responses((status = 200, body = Vec<Hash32>), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
async fn get_account_txs(
    State(s): State<ApiState>,
    Path(address): Path<String>,
    q: Result<Query<LimitQuery>, QueryRejection>,
) -> Result<Json<Vec<Hash32>>, ApiError> {
    let address = parse_address(&address)?;
    let Query(q) = q.map_err(|e| api_err(ApiErrorKind::BadParameter, e.body_text()))?;
    let limit = q.limit.unwrap_or(100).min(ACCOUNT_TXS_LIMIT_MAX);
    Ok(Json(
        s.node
            .store
            .account_txs(&address, limit)
            .map_err(internal)?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct BlockQuery {
    /// Include every transaction in full, not just ids.
    full: Option<bool>,
}

/// A finalized block by height, or the latest.
#[utoipa::path(get, path = "/v1/blocks/{height}", params(("height" = String, Path, pattern = "^([0-9]{1,18}|latest)$", description = "a height or `latest`"), BlockQuery),
    responses((status = 200, body = BlockResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
async fn get_block(
    State(s): State<ApiState>,
    Path(height): Path<String>,
    q: Result<Query<BlockQuery>, QueryRejection>,
) -> Result<Json<BlockResponse>, ApiError> {
    let Query(q) = q.map_err(|e| api_err(ApiErrorKind::BadParameter, e.body_text()))?;
    let height = parse_height(&s, &height, true)?;
    // Without `full`, the ids come from the block record: no transaction is decoded.
    let (h, tx_ids, txs) = if q.full.unwrap_or(false) {
        let block = load_block(&s, height)?;
        let ids = block.txs.iter().map(SignedTx::id).collect();
        let txs = block.txs.iter().map(Into::into).collect();
        (block.header, ids, Some(txs))
    } else {
        let (header, ids) = s
            .node
            .store
            .block_header_and_ids(height)
            .map_err(internal)?
            .ok_or_else(|| no_block_at(height))?;
        (header, ids, None)
    };
    Ok(Json(BlockResponse {
        hash: h.hash(),
        height: h.height,
        parent: h.parent,
        timestamp_ms: h.timestamp_ms,
        proposer: h.proposer,
        state_root: h.state_root,
        txs_root: h.txs_root,
        tx_count: h.tx_count,
        tx_ids,
        txs,
    }))
}

/// The canonical bytes of a finalized block.
#[utoipa::path(get, path = "/v1/blocks/{height}/raw", params(("height" = u64, Path)),
    responses((status = 200, body = RawBlockResponse), (status = 400, description = "BadParameter: a malformed id, address or query", body = ErrorResponse), (status = 404, description = "NotFound", body = ErrorResponse), (status = 503, description = "Unavailable: storage error", body = ErrorResponse)))]
async fn get_raw_block(
    State(s): State<ApiState>,
    Path(height): Path<String>,
) -> Result<Json<RawBlockResponse>, ApiError> {
    let block = load_block(&s, parse_height(&s, &height, false)?)?;
    Ok(Json(RawBlockResponse {
        height: block.height(),
        block_hex: hex::encode(commonware_codec::Encode::encode(&block)),
    }))
}

/// A height given as text (`latest` allowed where `latest_ok`).
fn parse_height(s: &ApiState, height: &str, latest_ok: bool) -> Result<u64, ApiError> {
    match height {
        "latest" if latest_ok => Ok(s.node.head().height),
        h => h.parse::<u64>().map_err(|_| {
            api_err(
                ApiErrorKind::BadParameter,
                "height must be a number or `latest`",
            )
        }),
    }
}

/// The finalized block at `height`, with its transactions.
fn load_block(s: &ApiState, height: u64) -> Result<yun_types::Block, ApiError> {
    s.node
        .store
        .block(height)
        .map_err(internal)?
        .ok_or_else(|| no_block_at(height))
}

fn no_block_at(height: u64) -> ApiError {
    api_err(
        ApiErrorKind::NotFound,
        format!("no finalized block at height {height}"),
    )
}

/// Chain id, head, validators and mempool size.
#[utoipa::path(get, path = "/v1/status", responses((status = 200, body = StatusResponse)))]
async fn get_status(State(s): State<ApiState>) -> Result<Json<StatusResponse>, ApiError> {
    let head = s.node.head();
    let snapshot = s.node.store.snapshot().map_err(internal)?;
    let params = yun_state::Overlay::new(&snapshot).params();
    // The set and epoch of the next block: what consensus runs now.
    let (epoch, active) = yun_state::staking::active_set(&snapshot);
    let validators: Vec<_> = active.into_iter().map(|(a, _)| a).collect();
    let role = if validators.contains(&s.node.me) {
        yun_types::api::NodeRole::Validator
    } else {
        yun_types::api::NodeRole::FullNode
    };
    Ok(Json(StatusResponse {
        chain_id: s.node.chain_id().to_string(),
        genesis_hash: s.node.genesis_hash,
        height: head.height,
        block_hash: head.block_hash,
        state_root: head.state_root,
        latest_block_time_ms: head.timestamp_ms,
        validators,
        mempool_size: s.node.mempool.lock().expect("mempool lock").len() as u32,
        min_fee: params.min_fee,
        fee_per_byte: params.fee_per_byte,
        fee_per_write: params.fee_per_write,
        version: env!("CARGO_PKG_VERSION").to_string(),
        role,
        epoch,
        peers: (s.peers)(),
    }))
}

/// The genesis this chain started from.
#[utoipa::path(get, path = "/v1/genesis", responses((status = 200, body = serde_json::Value)))]
async fn get_genesis(State(s): State<ApiState>) -> Json<yun_types::Genesis> {
    Json(s.node.genesis.clone())
}

/// Liveness.
#[utoipa::path(get, path = "/health", responses((status = 200, body = String)))]
async fn health() -> &'static str {
    "ok"
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, body = String)))]
async fn metrics(State(s): State<ApiState>) -> String {
    (s.metrics_text)()
}

#[derive(OpenApi, Debug)]
#[openapi(
    info(
        title = "Yun node API",
        description = "Decentralized compute cloud: chain, account, compute-market and storage API"
    ),
    paths(
        crate::api_txs::submit_tx,
        crate::api_txs::submit_batch,
        crate::api_txs::submit_batch_binary,
        get_tx,
        get_account,
        get_account_proof,
        get_account_txs,
        get_block,
        get_raw_block,
        get_status,
        get_genesis,
        health,
        metrics,
        crate::api_market::get_market,
        crate::api_market::get_providers,
        crate::api_market::get_provider,
        crate::api_market::get_provider_assignments,
        crate::api_market::get_job,
        crate::api_lists::get_jobs,
        crate::api_lists::get_queued_tasks,
        crate::api_market::get_job_why,
        crate::api_market::get_requester,
        crate::api_staking::get_validators,
        crate::api_staking::get_validator,
        crate::api_staking::get_delegations,
        crate::api_governance::get_proposals,
        crate::api_governance::get_proposal,
        crate::api_governance::get_power,
        crate::api_governance::get_faucet,
        crate::api_governance::check_params,
        crate::api_storage::get_deals,
        crate::api_storage::get_deal,
        crate::api_storage::get_challenges,
        crate::api_storage::get_offers,
        crate::api_storage::get_job_key,
        crate::api_events::events,
        crate::api_data::put_blob,
        crate::api_data::get_sources
    ),
    components(schemas(
        ErrorResponse,
        RejectionBody,
        SubmitTxRequest,
        SubmitTxResponse,
        SubmitBatchRequest,
        SubmitBatchResponse,
        BatchResult,
        TxStatusResponse,
        TxState,
        TxView,
        ActionView,
        ReceiptView,
        AccountResponse,
        AccountProofResponse,
        BlockResponse,
        RawBlockResponse,
        StatusResponse,
        yun_types::api::NodeRole,
        yun_types::api::PeerView,
        MarketResponse,
        ProvidersResponse,
        ProviderView,
        AssignmentsResponse,
        JobResponse,
        JobsResponse,
        JobSummaryView,
        QueuedTasksResponse,
        QueuedTaskView,
        JobWhyResponse,
        RequesterResponse,
        ValidatorsResponse,
        ValidatorView,
        ValidatorStatusView,
        ActiveMemberView,
        DelegationsResponse,
        DelegationView,
        UnbondingView,
        yun_types::api_governance::ProposalsResponse,
        yun_types::api_governance::ProposalView,
        yun_types::api_governance::ProposalStatusView,
        yun_types::api_governance::TallyView,
        yun_types::api_governance::VoteView,
        yun_types::api_governance::UpgradePlanView,
        yun_types::api_governance::PowerResponse,
        yun_types::api_governance::FaucetResponse,
        yun_types::api_governance::CheckParamsRequest,
        yun_types::api_governance::CheckParamsResponse,
        yun_types::governance::ProposalKind,
        yun_types::governance::ParamEdit,
        yun_types::governance::VoteChoice,
        yun_types::governance::GovAction,
        yun_types::governance::GovernanceParams,
        yun_types::governance::FaucetParams,
        yun_types::api_storage::DealsResponse,
        yun_types::api_storage::DealSummaryView,
        yun_types::api_storage::DealResponse,
        yun_types::api_storage::StorageReplicaView,
        yun_types::api_storage::ChallengeView,
        yun_types::api_storage::ChallengesResponse,
        yun_types::api_storage::HeldReplicaView,
        yun_types::api_storage::HolderView,
        yun_types::api_storage::StorageOffersResponse,
        yun_types::api_storage::StorageOfferView,
        yun_types::api_storage::JobKeyResponse,
        yun_types::storage::StorageAction,
        yun_types::storage::DealSpec,
        yun_types::storage::StorageProof,
        yun_types::storage::SealedKey,
        yun_types::events::HeadEvent,
        DataSourcesResponse,
        PutBlobResponse
    ))
)]
pub struct ApiDoc;

/// The node's document with the download routes (served by `yun_blobs`) merged in; uploads
/// are the node's own ticketed route (`api_data`), not the blob crate's anonymous one.
pub fn openapi_doc() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let mut blobs = yun_blobs::openapi_with_limits(&yun_blobs::BlobLimits::default());
    blobs.paths.paths.remove("/v1/blobs");
    doc.merge(blobs);
    crate::api_guard::document_refusals(&mut doc);
    doc
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_doc())
}

/// An API path no route takes is a numbered `NotFound`; a read of any other path is the web
/// console's (`/`, its files, or its index for an unknown page path).
async fn not_found(
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let api_path = uri.path() == "/v1" || uri.path().starts_with("/v1/");
    if !api_path && (method == axum::http::Method::GET || method == axum::http::Method::HEAD) {
        return crate::console::serve(&uri, &headers);
    }
    api_err(
        ApiErrorKind::NotFound,
        "no such endpoint; see /v1/openapi.json",
    )
    .into_response()
}

/// Turns a plain-text 400 that an extractor answered before the handler ran (a path parameter
/// that percent-decodes to invalid UTF-8, `/v1/accounts/%F9`) into the numbered JSON error every
/// other refusal is (found by the api_bodies fuzz target).
async fn json_rejection(resp: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if resp.status() != StatusCode::BAD_REQUEST || is_json {
        return resp;
    }
    let text = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    api_err(ApiErrorKind::BadParameter, text).into_response()
}

/// The router with every endpoint and the body limit.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/txs/{id}", get(get_tx))
        .route("/v1/accounts/{address}", get(get_account))
        .route("/v1/accounts/{address}/proof", get(get_account_proof))
        .route("/v1/accounts/{address}/txs", get(get_account_txs))
        .route("/v1/blocks/{height}", get(get_block))
        .route("/v1/blocks/{height}/raw", get(get_raw_block))
        .route("/v1/status", get(get_status))
        .route("/v1/genesis", get(get_genesis))
        .route("/v1/openapi.json", get(openapi))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/events", get(crate::api_events::events))
        .merge(crate::api_txs::routes())
        .merge(crate::api_market::routes())
        .merge(crate::api_staking::routes())
        .merge(crate::api_governance::routes())
        .merge(crate::api_storage::routes())
        .merge(crate::eth_rpc::routes())
        .fallback(not_found)
        .layer(axum::middleware::map_response(json_rejection))
        .layer(DefaultBodyLimit::max(REQUEST_BYTES_MAX))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::NodeState;
    use crate::state::race::{node_with_pending, while_a_block_commits};
    use std::sync::Arc;

    /// Runs a handler to its answer, as the server would.
    fn answer<T>(f: impl std::future::Future<Output = Result<Json<T>, ApiError>>) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(f).expect("the handler answers").0
    }

    fn api(node: Arc<NodeState>) -> State<ApiState> {
        State(ApiState {
            node,
            metrics_text: Arc::new(String::new),
            peers: Arc::new(Vec::new),
        })
    }

    #[test]
    fn the_schema_names_the_engine_class_of_offers_and_tasks() {
        let doc = serde_json::to_value(openapi_doc()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let class = &schemas["ProviderSpec"]["properties"]["engine_class"];
        assert_eq!(class["$ref"], "#/components/schemas/Hash32", "{class}");
        assert_eq!(schemas["Hash32"]["pattern"], "^[0-9a-f]{64}$");
        assert!(
            schemas["Task"]["properties"]["engine_class"].is_object(),
            "{}",
            schemas["Task"]
        );
    }

    #[test]
    fn a_path_parameter_that_is_not_utf8_is_a_numbered_json_error() {
        use tower::ServiceExt as _;
        let (node, _) = node_with_pending();
        let router = router(api(node).0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        // The api_bodies fuzz target's crashing input: GET /v1/accounts/{bytes f9 00 … 0c}.
        let uri = "/v1/accounts/%F9%00%00%00%00%00%00%00%0C";
        let req = axum::http::Request::get(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let (status, body) = rt.block_on(async {
            let resp = router.oneshot(req).await.unwrap();
            let status = resp.status();
            (
                status,
                axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap(),
            )
        });
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let e: ErrorResponse = serde_json::from_slice(&body).expect("a JSON error body");
        assert_eq!(e.error.code, ApiErrorKind::BadParameter as u16, "{e:?}");
    }

    #[test]
    fn an_account_read_during_a_block_counts_that_blocks_nonce() {
        let (node, tx0) = node_with_pending();
        let alice = tx0.sender().to_string();
        let account = while_a_block_commits(&node, tx0, move |n| {
            answer(get_account(api(n), Path(alice)))
        });
        assert_eq!((account.nonce, account.next_nonce), (1, 1));
    }

    #[test]
    fn a_transaction_read_while_its_block_commits_is_found() {
        let (node, tx0) = node_with_pending();
        let id = tx0.id().to_string();
        let status = while_a_block_commits(&node, tx0, move |n| answer(get_tx(api(n), Path(id))));
        assert_eq!(status.state, TxState::Committed);
    }
}
