//! Tests of `work`: data sources and holders, host faults against verdicts, and the
//! compiled-program cache and its collector.

use super::*;
use crate::journal::WorkResult;

#[test]
fn a_data_source_the_network_does_not_list_is_refused_and_listed_ones_keep_their_order() {
    let listed = [
        "http://127.0.0.1:8545",
        "http://10.0.0.2:8545/",
        "http://provider-b:9000",
    ];
    let requested = [
        "http://10.0.0.2:8545",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:8545/",
        "http://localhost:6379",
        "http://10.0.0.2:8545/",
    ];
    let (kept, refused) = listed_sources(&requested, &listed);
    assert_eq!(kept, ["http://10.0.0.2:8545", "http://127.0.0.1:8545"]);
    assert_eq!(
        refused,
        [
            "http://169.254.169.254/latest/meta-data",
            "http://localhost:6379"
        ]
    );
    assert!(SourceNotListed.to_string().starts_with("SourceNotListed"));
}
use yun_exec::SandboxConfig;
use yun_types::api::ReplicaState;
use yun_types::market::TaskSpec;

fn runner(dir: &std::path::Path) -> Runner {
    std::fs::create_dir_all(dir.join("scratch")).unwrap();
    let sandbox = Sandbox::new(SandboxConfig {
        work_dir: dir.join("scratch"),
        ..SandboxConfig::default()
    })
    .unwrap();
    let declared_class = Hash32(sandbox.engine_fingerprint().hash());
    let blobs =
        Arc::new(BlobStore::open(&dir.join("blobs"), yun_blobs::BlobLimits::default()).unwrap());
    Runner {
        sandbox: Arc::new(sandbox),
        blobs: blobs.clone(),
        // Never reached: the class is checked before anything is fetched.
        node: Client::new("http://127.0.0.1:9"),
        fault: None,
        run_delay: Duration::ZERO,
        salt_key: [0; 32],
        cores: tokio::sync::Semaphore::new(1),
        runs: std::sync::atomic::AtomicU64::new(0),
        declared_class,
        address: Address([0; 32]),
        peer_sources: PeerSources::default(),
        identity: SealIdentity::from_secret([1; 32]),
        sealed: Arc::new(SealedOutputs::open(dir.join("sealed-outputs"), blobs).unwrap()),
    }
}

fn assignment(engine_class: Option<Hash32>) -> AssignmentView {
    AssignmentView {
        job: Hash32([1; 32]),
        index: 0,
        assigned_height: 1,
        price_per_mfuel: yun_types::Amount::ZERO,
        state: ReplicaState::Assigned { commit_deadline: 9 },
        deadline: Some(9),
        program_hash: Hash32([2; 32]),
        program_bytes: 0,
        fuel_per_task: 1_000,
        memory_bytes_per_task: 1 << 20,
        task: TaskSpec {
            input_hash: Hash32([3; 32]),
            input_bytes: 0,
            args: Vec::new(),
        },
        reduce_inputs: None,
        engine_class,
        data_sources: Vec::new(),
        encryption_key: None,
    }
}

#[tokio::test]
async fn a_task_drawn_for_another_engine_class_is_a_host_fault_not_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    let other = Hash32::digest(b"another engine class");
    match r.run(&assignment(Some(other))).await {
        WorkResult::HostFault { message } => {
            assert!(message.contains("not of the declared class"), "{message}");
            assert!(message.contains(&other.to_string()), "{message}");
        }
        v => panic!("expected a host fault, got {v:?}"),
    }
    assert_eq!(r.runs.load(std::sync::atomic::Ordering::Relaxed), 0);
    // Of its own class it runs (an empty program is refused by admission: a verdict).
    let own = Some(r.declared_class);
    assert!(matches!(
        r.run(&assignment(own)).await,
        WorkResult::Verdict { .. }
    ));
}

/// Serves `router` on a free loopback port; its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// A node holding no blobs that names `peers` at `/v1/network/sources` (and knows no job).
async fn node_naming(dir: &std::path::Path, peers: Vec<String>) -> String {
    use yun_types::api::DataSourcesResponse;
    let empty = Arc::new(BlobStore::open(&dir.join("node"), Default::default()).unwrap());
    let sources = axum::Json(DataSourcesResponse {
        peer_api_urls: peers,
    });
    let router = axum::Router::new()
        .route(
            "/v1/network/sources",
            axum::routing::get(move || {
                let s = sources.clone();
                async move { s }
            }),
        )
        .merge(yun_blobs::read_routes(empty));
    serve(router).await
}

/// A holder that answers every blob with the same wrong bytes.
async fn liar() -> String {
    let router = axum::Router::new().route(
        "/v1/blobs/{hash}",
        axum::routing::get(|| async { vec![1u8, 2, 3] }),
    );
    serve(router).await
}

/// A holder whose store has `bytes`.
async fn holder(dir: &std::path::Path, bytes: &[u8]) -> String {
    let store = Arc::new(BlobStore::open(&dir.join("holder"), Default::default()).unwrap());
    store.put_bytes(bytes).unwrap();
    serve(yun_blobs::read_routes(store)).await
}

/// A task of `program` (not a module: admission refuses it, so a verdict shows the
/// program was fetched) with `data_sources`.
fn task_of(r: &Runner, program: &[u8], data_sources: Vec<String>) -> AssignmentView {
    AssignmentView {
        program_hash: Hash32::digest(program),
        program_bytes: program.len() as u64,
        data_sources: data_sources
            .into_iter()
            .map(yun_types::market::Text)
            .collect(),
        ..assignment(Some(r.declared_class))
    }
}

const PROGRAM: &[u8] = b"not a module, held only away from the followed node";

fn verdict(w: WorkResult) -> Verdict {
    match w {
        WorkResult::Verdict { verdict, .. } => verdict,
        other => panic!("expected a verdict, got {other:?}"),
    }
}

#[tokio::test]
async fn a_blob_the_node_lacks_comes_from_the_next_holder_past_a_liar_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = runner(dir.path());
    // The node names a liar and the real holder as its peers; the job names both, the
    // liar first.
    let liar = liar().await;
    let holder = holder(dir.path(), PROGRAM).await;
    r.node = Client::new(&node_naming(dir.path(), vec![liar.clone(), holder.clone()]).await);
    let v = verdict(r.run(&task_of(&r, PROGRAM, vec![liar, holder])).await);
    // Fetched and run: the sandbox refused the module (not `DataMissing`).
    assert_eq!(
        v,
        Verdict::cannot_run(CannotRun::ModuleRefused, v.status_value as u16)
    );
    assert!(r.blobs.contains(&Hash32::digest(PROGRAM)));
}

#[tokio::test]
async fn a_holder_only_the_job_names_is_never_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = runner(dir.path());
    // The real holder is named by the job alone: the network does not list it, so the
    // provider does not send it a request, and the blob is missing.
    r.node = Client::new(&node_naming(dir.path(), Vec::new()).await);
    let holder = holder(dir.path(), PROGRAM).await;
    let v = verdict(r.run(&task_of(&r, PROGRAM, vec![holder])).await);
    assert_eq!(v, Verdict::cannot_run(CannotRun::DataMissing, 0));
    assert!(!r.blobs.contains(&Hash32::digest(PROGRAM)));
}

#[tokio::test]
async fn a_blob_no_holder_serves_is_data_missing_and_an_unreachable_node_a_host_fault() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = runner(dir.path());
    let liar = liar().await;
    r.node = Client::new(&node_naming(dir.path(), vec![liar.clone()]).await);
    let v = verdict(r.run(&task_of(&r, PROGRAM, vec![liar.clone()])).await);
    assert_eq!(v, Verdict::cannot_run(CannotRun::DataMissing, 0));
    // With the followed node unreachable, nobody else serving it is this provider's
    // problem: a host fault, never committed.
    r.node = Client::new("http://127.0.0.1:9");
    match r.run(&task_of(&r, PROGRAM, vec![liar])).await {
        WorkResult::HostFault { message } => {
            assert!(message.contains("from the node"), "{message}")
        }
        other => panic!("expected a host fault, got {other:?}"),
    }
}

/// `(module (func (export "_start")))`: the smallest program that runs to exit 0.
const EMPTY_START: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02,
    0x01, 0x00, 0x07, 0x0a, 0x01, 0x06, b'_', b's', b't', b'a', b'r', b't', 0x00, 0x00, 0x0a, 0x04,
    0x01, 0x02, 0x00, 0x0b,
];

#[tokio::test]
async fn a_compiled_program_runs_again_without_its_bytes_and_keeps_its_size_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = runner(dir.path());
    r.blobs.put_bytes(EMPTY_START).unwrap();
    let task = task_of(&r, EMPTY_START, Vec::new());
    let first = verdict(r.run(&task).await);
    assert_eq!(first.status_tag, Status::Ok(0).tag(), "{first:?}");
    // The bytes are gone and no node serves them: only the compiled program can answer.
    r.blobs = Arc::new(
        BlobStore::open(&dir.path().join("empty"), yun_blobs::BlobLimits::default()).unwrap(),
    );
    let again = verdict(r.run(&task).await);
    assert_eq!(again, first, "the cached program gives the same verdict");
    // A task promising another size for the same hash gets the verdict its bytes would
    // give: a provider that never compiled it reads the bytes and finds the mismatch.
    let wrong_size = AssignmentView {
        program_bytes: EMPTY_START.len() as u64 + 1,
        ..task.clone()
    };
    let cached = verdict(r.run(&wrong_size).await);
    let fresh = runner(&dir.path().join("fresh"));
    fresh.blobs.put_bytes(EMPTY_START).unwrap();
    let uncached = verdict(fresh.run(&wrong_size).await);
    assert_eq!(
        cached,
        Verdict::cannot_run(CannotRun::ProgramSizeMismatch, 0)
    );
    assert_eq!(cached, uncached);
}

#[tokio::test]
async fn the_collector_keeps_a_program_the_sandbox_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    r.blobs.put_bytes(EMPTY_START).unwrap();
    let other = r.blobs.put_bytes(b"an input nobody reads").unwrap();
    let task = task_of(&r, EMPTY_START, Vec::new());
    let program = task.program_hash;
    assert!(!r.in_use(&program), "not compiled yet");
    verdict(r.run(&task).await);
    assert!(r.in_use(&program));
    // With no retention at all, only what is in use survives.
    r.blobs
        .collect(|h| r.in_use(h), std::time::Duration::ZERO)
        .unwrap();
    assert!(
        r.blobs.get(&program).unwrap().is_some(),
        "the program stays"
    );
    assert!(
        r.blobs.get(&other).unwrap().is_none(),
        "the unread input goes"
    );
}
