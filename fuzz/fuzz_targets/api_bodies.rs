//! Fuzzes what a client can send the node's HTTP API, through the real router over an
//! in-memory node (one funded account, no network): raw `POST /v1/txs` and `/v1/txs/batch`
//! bodies (JSON, hex, the transaction codec, then admission), transactions the fuzzer builds
//! and alice signs (so signature checks pass and the state's admission rules are reached), and
//! every GET endpoint with fuzzer-written path parameters and queries. No answer may be a
//! server error, and every refusal is a numbered JSON error.
#![no_main]

use arbitrary::Unstructured;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use commonware_codec::{Encode as _, ReadExt as _};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt as _;
use yun_node::api::{ApiState, SubmitBatchResponse};
use yun_node::mempool::MempoolLimits;
use yun_node::{BlockTiming, NodeState};
use yun_state::scenario::{SCENARIO_CHAIN_ID, addr, genesis_with, key_of};
use yun_types::api::{ErrorResponse, SubmitTxResponse};
use yun_types::{Action, Amount, SignedTx, Tx};

/// GET endpoints; `{}` is replaced by a fuzzer-written path segment.
const GETS: &[&str] = &[
    "/v1/txs/{}",
    "/v1/accounts/{}",
    "/v1/accounts/{}/proof",
    "/v1/accounts/{}/txs",
    "/v1/accounts/{}/delegations",
    "/v1/blocks/{}",
    "/v1/blocks/{}/raw",
    "/v1/status",
    "/v1/genesis",
    "/v1/market",
    "/v1/providers",
    "/v1/providers/{}",
    "/v1/jobs",
    "/v1/tasks/queued",
    "/v1/jobs/{}",
    "/v1/jobs/{}/why",
    "/v1/jobs/{}/keys/{}",
    "/v1/requesters/{}",
    "/v1/validators",
    "/v1/validators/{}",
    "/v1/storage/deals",
    "/v1/storage/deals/{}",
    "/v1/storage/challenges",
    "/v1/storage/offers",
];

struct Fixture {
    state: ApiState,
    rt: tokio::runtime::Runtime,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let store = yun_store::Store::in_memory().expect("in-memory store");
        let genesis = genesis_with(&[("alice", 1_000_000_000_000)]);
        let node = NodeState::new(
            store,
            genesis,
            addr("validator"),
            BlockTiming::default(),
            MempoolLimits::default(),
        )
        .expect("node state");
        let state = ApiState {
            node: Arc::new(node),
            metrics_text: Arc::new(String::new),
            peers: Arc::new(Vec::new),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Fixture { state, rt }
    })
}

fn call(req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let f = fixture();
    let router = yun_node::api::router(f.state.clone());
    f.rt.block_on(async {
        let resp = router.oneshot(req).await.expect("infallible");
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .expect("answer body");
        (status, body.to_vec())
    })
}

fn post(path: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let req = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    call(req)
}

/// No server error; a refusal is a numbered JSON error.
fn check(status: StatusCode, body: &[u8]) {
    assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR,
        "server error: {}",
        String::from_utf8_lossy(body)
    );
    if !status.is_success() {
        let e: ErrorResponse = serde_json::from_slice(body).expect("a refusal is a JSON error");
        assert!(
            !e.error.name.is_empty() && !e.error.hint.is_empty(),
            "{e:?}"
        );
    }
}

/// A transaction from the fuzzer's bytes, signed by alice (funded) or bob (unknown).
fn signed(u: &mut Unstructured) -> arbitrary::Result<SignedTx> {
    let chain_id = if u.arbitrary()? {
        SCENARIO_CHAIN_ID.to_string()
    } else {
        u.arbitrary()?
    };
    let nonce = u64::from(u.arbitrary::<u8>()? % 4);
    let fee = Amount::new(u128::from(u.arbitrary::<u32>()?));
    let expires_at_height = u64::from(u.arbitrary::<u16>()?);
    let signer = if u.arbitrary()? { "alice" } else { "bob" };
    let mut rest = commonware_codec::Copying(u.bytes(u.len())?);
    let action = Action::read(&mut rest).unwrap_or(Action::Transfer {
        to: addr("bob"),
        amount: Amount::new(1),
    });
    Ok(Tx {
        chain_id,
        nonce,
        fee,
        expires_at_height,
        action,
    }
    .sign(&key_of(signer)))
}

fn submit_signed(data: &[u8]) {
    let Ok(stx) = signed(&mut Unstructured::new(data)) else {
        return;
    };
    let body = serde_json::json!({ "tx_hex": hex::encode(stx.encode()) }).to_string();
    let (status, answer) = post("/v1/txs", body.into_bytes());
    check(status, &answer);
    if status.is_success() {
        let r: SubmitTxResponse = serde_json::from_slice(&answer).expect("a JSON receipt");
        assert_eq!(r.id, stx.id());
    }
}

/// The bytes as a URI-safe string: unreserved characters kept, everything else escaped.
fn escape(bytes: &[u8], keep: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn get(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let template = GETS[which as usize % GETS.len()];
    let (param, query) = match rest.iter().position(|&b| b == b'?') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let param = escape(param, b"");
    let mut path = template.replace("{}", &param);
    if !query.is_empty() {
        path = format!("{path}?{}", escape(query, b"=&"));
    }
    let Ok(req) = Request::get(path).body(Body::empty()) else {
        return;
    };
    let (status, body) = call(req);
    check(status, &body);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let (status, body) = post("/v1/txs", rest.to_vec());
            check(status, &body);
        }
        1 => {
            let (status, body) = post("/v1/txs/batch", rest.to_vec());
            check(status, &body);
            if status.is_success() {
                let r: SubmitBatchResponse = serde_json::from_slice(&body).expect("JSON results");
                // serde also reads a struct from a one-element array (`[["ab"]]`).
                let asked: serde_json::Value = serde_json::from_slice(rest).expect("it parsed");
                let list = asked
                    .get("txs_hex")
                    .or_else(|| asked.get(0))
                    .and_then(|l| l.as_array());
                assert_eq!(r.results.len(), list.expect("a list").len());
            }
        }
        2 => submit_signed(rest),
        _ => get(rest),
    }
});
