//! The setup the end-to-end tests share: an in-process devnet with funded provider accounts,
//! provider agents with a default offer, the example guest programs and signing options.

// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;
use yun_cli::keys::key_from_mnemonic;
use yun_cli::provider_run::provider_account;
use yun_cli::{ClientOpts, Output, SignOpts};
use yun_client::Client;
use yun_node::run::NodeHandle;
use yun_provider::{AgentConfig, AgentHandle, Offer};
use yun_types::{Address, Amount};

/// The bond every test agent registers with: ten times the default minimum.
pub const AGENT_BOND: u128 = 10_000_000;

/// An example guest program built by `./scripts/build-guest`.
pub fn guest(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../guest/target/wasm32-wasip1/release")
        .join(format!("{name}.wasm"));
    assert!(
        p.exists(),
        "{} missing: run ./scripts/build-guest",
        p.display()
    );
    p
}

/// `RUST_LOG=yun_node=debug` (say) shows the node's and agents' side of a failing run.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// An in-process devnet: one validator, 2 dev accounts, `providers` funded provider accounts.
pub struct Devnet {
    pub dir: tempfile::TempDir,
    pub node: NodeHandle,
    pub client: Client,
    /// The node's blob store (where uploads land).
    pub node_blobs: PathBuf,
}

impl Devnet {
    /// Starts it with blocks at least 20 ms apart and every `busy_block_interval_ms` while
    /// work waits on the chain; `genesis` edits genesis.json before the node reads it.
    pub fn start(
        providers: usize,
        busy_block_interval_ms: u64,
        genesis: impl FnOnce(&mut serde_json::Value),
    ) -> Devnet {
        init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let port = yun_cli::devnet::free_port().unwrap();
        let (mut cfg, _) =
            yun_cli::devnet::prepare_with_providers(dir.path(), port, false, 2, providers, &[])
                .unwrap();
        let genesis_path = dir.path().join("genesis.json");
        let mut g: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&genesis_path).unwrap()).unwrap();
        genesis(&mut g);
        std::fs::write(&genesis_path, g.to_string()).unwrap();
        cfg.timing.min_block_interval_ms = 20;
        cfg.timing.busy_block_interval_ms = busy_block_interval_ms;
        let node_blobs = cfg.data_dir.join("blobs");
        let node = yun_node::run::spawn_node(cfg).unwrap();
        let client = Client::new(&node.api_url());
        Devnet {
            dir,
            node,
            client,
            node_blobs,
        }
    }

    /// Client options for the CLI's functions: this node, JSON output, the devnet's keys.
    pub fn opts(&self) -> ClientOpts {
        ClientOpts {
            node: self.node.api_url(),
            output: Output::Json,
            devnet_dir: Some(self.dir.path().to_path_buf()),
        }
    }

    /// Where provider `i`'s agent keeps its journal and blobs.
    pub fn provider_dir(&self, i: usize) -> PathBuf {
        provider_dir(self.dir.path(), i)
    }

    /// Provider `i`'s agent following this node, with the default test offer.
    pub fn agent_config(&self, i: usize) -> AgentConfig {
        agent_config(&self.node.api_url(), self.dir.path(), i)
    }

    /// Provider `i`'s agent, started with two slots.
    pub async fn agent(&self, i: usize) -> AgentHandle {
        let mut cfg = self.agent_config(i);
        cfg.offer.slots = 2;
        yun_provider::start(cfg).await.unwrap()
    }

    pub async fn balance(&self, a: &Address) -> Amount {
        self.client.account(a).await.unwrap().balance
    }
}

/// `root/providers/NAME`: provider `i`'s data directory.
pub fn provider_dir(root: &Path, i: usize) -> PathBuf {
    root.join("providers").join(provider_account(i).name)
}

/// Provider `i`'s agent following `node_url`: one slot of 256 MiB at ask 1, bond
/// [`AGENT_BOND`], a minute per task, no fault, no storage offer. Tests change what they need.
pub fn agent_config(node_url: &str, root: &Path, i: usize) -> AgentConfig {
    let a = provider_account(i);
    AgentConfig {
        node_url: node_url.to_string(),
        key: key_from_mnemonic(&a.mnemonic.parse().unwrap()),
        data_dir: provider_dir(root, i),
        serve_listen: "127.0.0.1:0".parse().unwrap(),
        endpoint: None,
        offer: Offer {
            slots: 1,
            memory_bytes_per_slot: 256 << 20,
            storage_bytes: 0,
            labels: Vec::new(),
            ask_per_mfuel: Amount::new(1),
        },
        bond: Amount::new(AGENT_BOND),
        wall_time_max: Duration::from_secs(60),
        fault: None,
        run_delay: Duration::ZERO,
        storage: None,
    }
}

/// Signs as `from` (a dev account), waits for inclusion.
pub fn sign(from: &str) -> SignOpts {
    SignOpts {
        from: from.into(),
        fee: None,
        nonce: None,
        expires_in: 600,
        no_wait: false,
    }
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
            {
                found.push(p);
            }
        }
    }
    found
}

/// `examples/contracts`, where the Solidity examples and their ethers.js tests live.
pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/contracts")
        .canonicalize()
        .unwrap()
}

/// Installs ethers.js and solc-js in `dir` (the pinned lock file) unless they are there.
pub fn npm_install(dir: &Path) {
    if dir.join("node_modules/ethers").is_dir() && dir.join("node_modules/solc").is_dir() {
        return;
    }
    let out = std::process::Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .expect("running npm: Node.js 20 or later and npm must be installed");
    assert!(
        out.status.success(),
        "npm install failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A finished child's stdout then stderr, as one text for assertions and failure messages.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One JSON-RPC request (or batch) to `url`, answered as JSON; on its own runtime, so a
/// synchronous test can call it between other steps.
pub fn json_rpc(url: &str, body: &serde_json::Value) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .post(url)
            .json(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
}
