//! Data every node can reach: a `yun localnet` of one validator (node A) and one full node
//! (node B) as real processes. The requester uploads a wordcount job (program, two inputs,
//! a reduce program) to A; the provider agents follow B, which never received an upload. They
//! fetch from A (named by B's `/v1/network/sources` and by the job's data sources), every byte
//! checked, and the job settles verified, reduce included, with real verdicts, not
//! `DataMissing` ones.

use std::path::{Path, PathBuf};
use std::process::Child;
use yun_cli::localnet::{self, LocalNode, LocalnetArgs};
use yun_cli::provider_run::provider_account;
use yun_cli::results::ReduceWhere;
use yun_cli::submit::{Submission, SubmitArgs, run_submit};
use yun_cli::{ClientOpts, Output};
use yun_client::Client;
use yun_provider::AgentHandle;
use yun_types::Amount;
use yun_types::api::{JobStatus, ReplicaState, TaskPhase};

/// Providers (each task runs on two, both must agree).
const PROVIDERS: usize = 2;

/// The localnet's node processes, stopped on drop (a failed assertion leaves none behind);
/// when the test panics, the end of each node's log is printed.
struct Localnet {
    dir: tempfile::TempDir,
    nodes: Vec<LocalNode>,
    children: Vec<Child>,
}

impl Drop for Localnet {
    fn drop(&mut self) {
        localnet::terminate(&mut self.children);
        if std::thread::panicking() {
            for n in &self.nodes {
                eprintln!("--- {} log (last lines)\n{}", n.name, localnet::log_tail(n));
            }
        }
    }
}

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_yun"))
}

mod support;
use support::guest;

/// One validator and one full node, the provider accounts funded in genesis. Written by this
/// process (so genesis admits this build's engine class), run as `yun node run` processes.
fn start_localnet() -> Localnet {
    let dir = tempfile::tempdir().unwrap();
    let args = LocalnetArgs {
        cmd: None,
        validators: 1,
        full_nodes: 1,
        base_port: localnet::free_base_port(2).unwrap(),
        data_dir: Some(dir.path().to_path_buf()),
        reset: false,
        detach: true,
        accounts: 1,
        epoch_blocks: None,
    };
    let funded: Vec<_> = (0..PROVIDERS)
        .map(|i| (provider_account(i).address, Amount::new(1_000_000_000_000)))
        .collect();
    let (mut nodes, _) = localnet::prepare(dir.path(), &args, &funded).unwrap();
    let mut children = localnet::start(&exe(), dir.path(), &mut nodes).unwrap();
    if let Err(e) = localnet::wait_ready(&nodes, &mut children) {
        localnet::terminate(&mut children);
        panic!("the localnet did not start: {e:#}");
    }
    Localnet {
        dir,
        nodes,
        children,
    }
}

async fn agent(dir: &Path, node_url: &str, i: usize) -> AgentHandle {
    let mut cfg = support::agent_config(node_url, dir, i);
    cfg.offer.slots = 2;
    yun_provider::start(cfg).await.unwrap()
}

/// Two pieces of the example text counted (k = 2), then added up by a network reduce.
fn wordcount_job(dir: &Path) -> PathBuf {
    let wc = guest("wordcount");
    let text = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/jobs/wordcount/text.txt");
    let body = format!(
        "program = {wc:?}\nargs = []\nfuel_per_task = 15000000\nmemory_mb = 64\n\
         bid_per_mfuel = \"100\"\ndeadline_blocks = 600\n\
         [verification]\npolicy = \"replicate\"\nk = 2\nquorum = 2\n\
         [inputs]\nsplit = {{ file = {text:?}, pieces = 2 }}\n\
         [reduce]\nprogram = {wc:?}\nargs = [\"--merge\"]\n"
    );
    let path = dir.join("wordcount.toml");
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn a_job_uploaded_to_one_node_settles_verified_on_providers_following_another() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let net = start_localnet();
    let (node_a, node_b) = (&net.nodes[0], &net.nodes[1]);
    assert!(node_a.validator && !node_b.validator);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let b = Client::new(&node_b.api_url);
        // B names A as a place to fetch blobs from (`yun localnet` configures it).
        let sources = b.data_sources().await.unwrap();
        assert_eq!(sources.peer_api_urls, vec![node_a.api_url.clone()]);
        let mut agents = Vec::new();
        for i in 0..PROVIDERS {
            agents.push(agent(net.dir.path(), &node_b.api_url, i).await);
        }
        let started = std::time::Instant::now();
        let out = net.dir.path().join("out");
        let args = SubmitArgs {
            job_file: wordcount_job(net.dir.path()),
            out: Some(out.clone()),
            detach: false,
            timeout_secs: 120,
            reduce: ReduceWhere::Network,
            keep_outputs_epochs: 0,
            keep_outputs_replicas: 3,
            encrypt: false,
            sign: support::sign("dev0"),
        };
        let opts = ClientOpts {
            node: node_a.api_url.clone(),
            output: Output::Json,
            devnet_dir: Some(net.dir.path().to_path_buf()),
        };
        let Submission::Finished(report) = run_submit(args, &opts).await.unwrap() else {
            panic!("not detached")
        };
        eprintln!("job settled and downloaded in {:?}", started.elapsed());
        // Read where the requester watched it settle (B may be a block behind).
        let a = Client::new(&node_a.api_url);
        let job = a.job(&report.job).await.unwrap();
        assert_eq!(job.job.status, JobStatus::Settled);
        // The job names the node it was uploaded to.
        assert_eq!(job.job.spec.data_sources[0].0, node_a.api_url);
        // B never held the program: the providers had it from A.
        let program = job.job.spec.program_hash;
        assert!(b.get_blob(&program, 1 << 30).await.is_err());
        assert!(a.get_blob(&program, 1 << 30).await.is_ok());
        let tasks = job.tasks.iter().map(|t| &t.task);
        let reduce = job.reduce.as_ref().map(|r| &r.task);
        assert!(reduce.is_some(), "the reduce never ran: {job:?}");
        for task in tasks.chain(reduce) {
            let TaskPhase::Verified { verdict, .. } = &task.phase else {
                panic!("a task was not verified: {task:?}")
            };
            // Not `DataMissing` (the verdict a provider gives when no holder serves the data).
            assert!(
                !verdict.is_cannot_run(),
                "a provider could not run it: {verdict:?}"
            );
            assert!(
                verdict.status_value == 0 && verdict.fuel_used > 0,
                "{verdict:?}"
            );
            let paid = task
                .replicas
                .iter()
                .filter(|r| matches!(r.state, ReplicaState::Paid { .. }))
                .count();
            assert_eq!(paid, 2, "{task:?}");
        }
        // The counted words, added up on the network, were downloaded and checked.
        let counts = report.reduce_stdout.as_deref().unwrap_or_default();
        assert!(counts.lines().count() > 10, "reduce output: {counts:?}");
        for a in agents {
            a.shutdown().await.unwrap();
        }
    });
}
