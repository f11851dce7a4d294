//! The API's protection against a real devnet node, over raw HTTP/1.1 (so the tests choose
//! every header and byte timing): a flood from one address is refused 429 with `Retry-After`
//! while another address's transactions keep being finalized; cross-origin and non-JSON
//! writes change nothing; a trickled request is cut off; and the event stream has a cap.
//! Both clients are loopback addresses (127.0.0.1 and 127.0.0.2), each with its own bucket.

use commonware_codec::Encode;
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use yun_cli::keys::DevAccount;
use yun_node::api_limits::ApiLimitsConfig;
use yun_node::run::NodeHandle;
use yun_types::{Action, Amount, SignedTx, Tx};

const FLOODER: [u8; 4] = [127, 0, 0, 1];
const BYSTANDER: [u8; 4] = [127, 0, 0, 2];

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    /// The numbered error's code and name.
    fn error(&self) -> (u64, String) {
        let e = &self.json()["error"];
        (
            e["code"].as_u64().unwrap_or(0),
            e["name"].as_str().unwrap_or("").to_string(),
        )
    }
}

async fn connect(node: SocketAddr, from: [u8; 4]) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::from(from), 0)).unwrap();
    socket.connect(node).await.unwrap()
}

fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// Sends one request (`Connection: close`) and reads the whole answer.
async fn request(
    node: SocketAddr,
    from: [u8; 4],
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut s = connect(node, from).await;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {node}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    parse(&raw)
}

async fn get(node: SocketAddr, from: [u8; 4], path: &str) -> Answer {
    request(node, from, "GET", path, &[], "").await
}

async fn height(node: SocketAddr, from: [u8; 4]) -> u64 {
    let a = get(node, from, "/v1/status").await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["height"].as_u64().unwrap()
}

fn start(limits: ApiLimitsConfig) -> (tempfile::TempDir, NodeHandle, Vec<DevAccount>) {
    let dir = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let (mut cfg, accounts) = yun_cli::devnet::prepare(dir.path(), port, false, 2, &[]).unwrap();
    cfg.api = limits;
    let node = yun_node::run::spawn_node(cfg).unwrap();
    (dir, node, accounts)
}

/// The chain id and the fee schedule, from `/v1/status`.
struct Chain {
    id: String,
    fees: yun_types::fee::FeeSchedule,
}

/// A transfer of 1 from the first dev account to the second, signed for this chain.
fn transfer(accounts: &[DevAccount], chain: &Chain, nonce: u64) -> SignedTx {
    let key = yun_cli::keys::key_from_mnemonic(&accounts[0].mnemonic.parse().unwrap());
    let tx = Tx {
        chain_id: chain.id.clone(),
        nonce,
        fee: Amount::ZERO,
        expires_at_height: 1_000,
        action: Action::Transfer {
            to: accounts[1].address,
            amount: Amount::new(1),
        },
    };
    chain.fees.sign(tx, &key, 0)
}

fn tx_body(tx: &SignedTx) -> String {
    serde_json::json!({ "tx_hex": hex::encode(tx.encode()) }).to_string()
}

async fn chain(node: SocketAddr, from: [u8; 4]) -> Chain {
    let status = get(node, from, "/v1/status").await.json();
    let status: yun_types::api::StatusResponse = serde_json::from_value(status).unwrap();
    Chain {
        id: status.chain_id.clone(),
        fees: yun_types::fee::FeeSchedule::from(&status),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_from_one_address_is_refused_429_while_blocks_keep_finalizing() {
    let (_dir, node, accounts) = start(ApiLimitsConfig {
        loopback_requests_per_second: 20,
        loopback_burst: 20,
        ..ApiLimitsConfig::default()
    });
    let addr = node.api_addr;
    let chain = chain(addr, BYSTANDER).await;
    let start_height = height(addr, BYSTANDER).await;
    // Eight connections flood from 127.0.0.1 for three seconds: four read /v1/status, four
    // post garbage to the binary batch route; the limiter counts both alike.
    let flood_until = Instant::now() + Duration::from_secs(3);
    let flooders: Vec<_> = (0..8)
        .map(|i| {
            tokio::spawn(async move {
                let mut answers = Vec::new();
                let binary = [("Content-Type", "application/octet-stream")];
                while Instant::now() < flood_until {
                    answers.push(if i % 2 == 0 {
                        get(addr, FLOODER, "/v1/status").await
                    } else {
                        let path = "/v1/txs/batch/binary";
                        request(addr, FLOODER, "POST", path, &binary, "\u{ff}garbage").await
                    });
                }
                answers
            })
        })
        .collect();
    // Meanwhile 127.0.0.2 sends one transfer every 300 ms and each is finalized.
    let mut heights = vec![start_height];
    for nonce in 0..5 {
        let tx = transfer(&accounts, &chain, nonce);
        let json = [("Content-Type", "application/json")];
        let a = request(addr, BYSTANDER, "POST", "/v1/txs", &json, &tx_body(&tx)).await;
        assert_eq!(a.status, 200, "the bystander's transfer: {}", a.body);
        tokio::time::sleep(Duration::from_millis(300)).await;
        heights.push(height(addr, BYSTANDER).await);
    }
    let mut answers = Vec::new();
    for f in flooders {
        answers.extend(f.await.unwrap());
    }
    // Past the limiter: a status, or a binary body refused as MalformedBody.
    let ok = answers
        .iter()
        .filter(|a| a.status == 200 || (a.status == 400 && a.error().0 == 127))
        .count();
    let limited: Vec<&Answer> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(
        ok + limited.len(),
        answers.len(),
        "only statuses, MalformedBody and 429 answers"
    );
    assert!(
        answers.iter().any(|a| a.status == 400),
        "some garbage reached the binary route"
    );
    // 20 at once plus 20 a second for about three seconds: the rest is refused.
    assert!(
        (20..=120).contains(&ok),
        "{ok} of {} admitted",
        answers.len()
    );
    assert!(limited.len() > 100, "{} refused", limited.len());
    let first = limited[0];
    assert_eq!(
        first.error(),
        (117, "RateLimited".to_string()),
        "{}",
        first.body
    );
    let retry: u64 = first.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After: {retry}");
    assert!(
        !first.json()["error"]["hint"].as_str().unwrap().is_empty(),
        "a refusal says what to do next"
    );
    assert!(
        heights.windows(2).filter(|w| w[1] > w[0]).count() >= 3,
        "blocks kept finalizing during the flood: {heights:?}"
    );
    // And every transfer was finalized.
    let account = format!("/v1/accounts/{}", accounts[0].address);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(addr, BYSTANDER, &account).await.json()["nonce"] != 5 {
        assert!(
            Instant::now() < deadline,
            "the transfers were not all finalized"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    node.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cross_origin_and_non_json_writes_are_refused_and_change_nothing() {
    let (_dir, node, accounts) = start(ApiLimitsConfig::default());
    let addr = node.api_addr;
    let chain = chain(addr, BYSTANDER).await;
    let tx = transfer(&accounts, &chain, 0);
    let known = |a: &Answer| a.status != 404;
    let path = format!("/v1/txs/{}", tx.id());
    let evil = [
        ("Origin", "http://evil.example"),
        ("Content-Type", "application/json"),
    ];
    let a = request(addr, BYSTANDER, "POST", "/v1/txs", &evil, &tx_body(&tx)).await;
    assert_eq!(
        (a.status, a.error()),
        (403, (122, "CrossOriginRefused".into())),
        "{}",
        a.body
    );
    // A form a foreign page could post without asking, and a body with no type at all.
    for kind in ["text/plain", "application/x-www-form-urlencoded"] {
        let h = [("Content-Type", kind)];
        let a = request(addr, BYSTANDER, "POST", "/v1/txs", &h, &tx_body(&tx)).await;
        assert_eq!(
            (a.status, a.error()),
            (415, (121, "UnsupportedMediaType".into())),
            "{kind}: {}",
            a.body
        );
    }
    let a = request(addr, BYSTANDER, "POST", "/v1/txs", &[], &tx_body(&tx)).await;
    assert_eq!(a.status, 415, "{}", a.body);
    assert!(
        !known(&get(addr, BYSTANDER, &path).await),
        "a refused write reached the mempool"
    );
    let account = format!("/v1/accounts/{}", accounts[0].address);
    assert_eq!(get(addr, BYSTANDER, &account).await.json()["next_nonce"], 0);
    // A browser asking first is told only reads are allowed; reads are open to any origin.
    let preflight = [
        ("Origin", "http://evil.example"),
        ("Access-Control-Request-Method", "POST"),
    ];
    let a = request(addr, BYSTANDER, "OPTIONS", "/v1/txs", &preflight, "").await;
    let allowed = a.header("access-control-allow-methods").unwrap_or_default();
    assert!(!allowed.contains("POST"), "preflight allowed {allowed}");
    let a = request(
        addr,
        BYSTANDER,
        "GET",
        "/v1/status",
        &[("Origin", "http://evil.example")],
        "",
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    // The node's own pages (same origin) and programs (no Origin) may write.
    let own_origin = format!("http://{addr}");
    let own = [
        ("Origin", own_origin.as_str()),
        ("Content-Type", "application/json"),
    ];
    let a = request(addr, BYSTANDER, "POST", "/v1/txs", &own, &tx_body(&tx)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(known(&get(addr, BYSTANDER, &path).await));
    node.stop().unwrap();
}

/// Writes `first`, then one more byte of `more` every 300 ms, until the node answers or
/// closes; the answer (empty if it only closed) and how long it took.
async fn trickle(node: SocketAddr, first: &str, more: &[u8]) -> (Answer, Duration) {
    let (mut rx, mut tx) = connect(node, BYSTANDER).await.into_split();
    tx.write_all(first.as_bytes()).await.unwrap();
    let began = Instant::now();
    let drip = async {
        for b in more.iter().cycle() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if tx.write_all(&[*b]).await.is_err() {
                break;
            }
        }
        std::future::pending::<()>().await
    };
    let mut raw = Vec::new();
    tokio::select! {
        r = rx.read_to_end(&mut raw) => { let _ = r; }
        _ = drip => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("the trickle was not cut off"),
    }
    (parse(&raw), began.elapsed())
}

/// Opens `GET /v1/events` and reads its answer's head (a stream stays open after it).
async fn subscribe(node: SocketAddr) -> (TcpStream, Answer) {
    let mut s = connect(node, BYSTANDER).await;
    let req =
        format!("GET /v1/events HTTP/1.1\r\nHost: {node}\r\nAccept: text/event-stream\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&raw).contains("\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed before answering");
        raw.extend_from_slice(&buf[..n]);
    }
    // A refusal's JSON body follows its head; give it a moment to arrive.
    if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await {
        raw.extend_from_slice(&buf[..n]);
    }
    let a = parse(&raw);
    (s, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trickled_requests_are_cut_off_and_event_streams_are_capped() {
    let (_dir, node, _accounts) = start(ApiLimitsConfig {
        request_timeout_ms: 1_500,
        body_idle_timeout_ms: 1_000,
        header_read_timeout_ms: 1_000,
        event_subscribers_max: 2,
        ..ApiLimitsConfig::default()
    });
    let addr = node.api_addr;
    // A body promised as 1,000 bytes comes a byte every 300 ms: never silent for the idle
    // second, but the whole request has 1.5 s.
    let head = format!(
        "POST /v1/txs HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    let (a, took) = trickle(addr, &head, b" ").await;
    assert_eq!(
        (a.status, a.error()),
        (408, (119, "RequestTimeout".into())),
        "{}",
        a.body
    );
    assert!(took < Duration::from_secs(4), "cut off after {took:?}");
    // Headers that never end: the connection is closed after the header-read second.
    let (a, took) = trickle(addr, "GET /v1/status HTTP/1.1\r\n", b"X-Slow: 1\r\n").await;
    assert_ne!(
        a.status, 200,
        "a request whose headers never ended was answered"
    );
    assert!(
        took < Duration::from_secs(4),
        "headers trickled for {took:?}"
    );
    // Two streams at most; the third is refused by name, and a closed stream frees its place.
    let (first, a) = subscribe(addr).await;
    assert_eq!(a.status, 200, "{}", a.head);
    let (_second, a) = subscribe(addr).await;
    assert_eq!(a.status, 200, "{}", a.head);
    let (_, a) = subscribe(addr).await;
    assert_eq!(
        (a.status, a.error()),
        (503, (120, "TooManySubscribers".into())),
        "{}{}",
        a.head,
        a.body
    );
    assert!(a.header("retry-after").is_some());
    drop(first);
    let reopened = async {
        loop {
            let (s, a) = subscribe(addr).await;
            if a.status == 200 {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), reopened)
        .await
        .expect("a closed stream gives its place back");
    // The node still answers everyone else.
    assert_eq!(height(addr, BYSTANDER).await, height(addr, FLOODER).await);
    node.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_binary_batch_is_admitted_through_the_guard_and_a_form_post_of_it_is_refused() {
    let (_dir, node, accounts) = start(ApiLimitsConfig::default());
    let addr = node.api_addr;
    let chain = chain(addr, BYSTANDER).await;
    let txs: Vec<SignedTx> = (0..3).map(|n| transfer(&accounts, &chain, n)).collect();
    // What a foreign page could post without asking: refused before the body is read.
    let h = [("Content-Type", "text/plain")];
    let a = request(addr, BYSTANDER, "POST", "/v1/txs/batch/binary", &h, "x").await;
    assert_eq!(
        (a.status, a.error()),
        (415, (121, "UnsupportedMediaType".into())),
        "{}",
        a.body
    );
    // The client's batch goes as bytes, and each transaction gets its answer.
    let client = yun_client::Client::new(&format!("http://{addr}"));
    let results = client.submit_batch(&txs).await.unwrap();
    let ids: Vec<_> = results.iter().map(|r| r.id).collect();
    assert_eq!(ids, txs.iter().map(|t| Some(t.id())).collect::<Vec<_>>());
    // Sent again, each is already known: the answers are per transaction, not per batch.
    let again = client.submit_batch(&txs).await.unwrap();
    let known = yun_types::TxRejection::AlreadyKnown as u16;
    assert!(
        again
            .iter()
            .all(|r| r.error.as_ref().map(|e| e.code) == Some(known)),
        "{again:?}"
    );
    let account = format!("/v1/accounts/{}", accounts[0].address);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(addr, BYSTANDER, &account).await.json()["nonce"] != 3 {
        assert!(Instant::now() < deadline, "the batch was not finalized");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    node.stop().unwrap();
}
