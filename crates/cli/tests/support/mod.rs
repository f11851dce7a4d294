//! What the devnet tests share: an in-process devnet with funded provider accounts, provider
//! agents on it, the guest programs, and searching a directory's files for bytes.
// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;
use yun_cli::keys::key_from_mnemonic;
use yun_cli::provider_run::provider_account;
use yun_cli::{ClientOpts, Output, SignOpts};
use yun_client::Client;
use yun_node::run::NodeHandle;
use yun_provider::{AgentConfig, AgentHandle, Offer};
use yun_types::Amount;

/// A guest program built by `./scripts/build-guest`.
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

/// An in-process devnet: its directory (genesis, node data, providers' data), node and client.
pub struct Devnet {
    pub dir: tempfile::TempDir,
    pub node: NodeHandle,
    pub client: Client,
    /// The node's blob store.
    pub node_blobs: PathBuf,
}

impl Devnet {
    /// A devnet with 2 dev accounts and `providers` funded provider accounts, fast blocks
    /// (every `busy_block_interval_ms` while the market waits), its genesis changed by `tweak`.
    pub fn start(
        providers: usize,
        busy_block_interval_ms: u64,
        tweak: impl FnOnce(&mut serde_json::Value),
    ) -> Devnet {
        // RUST_LOG=yun_node=debug shows the node's side of a failing run.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let port = yun_cli::devnet::free_port().unwrap();
        let (mut cfg, _) =
            yun_cli::devnet::prepare_with_providers(dir.path(), port, false, 2, providers, &[])
                .unwrap();
        let genesis_path = dir.path().join("genesis.json");
        let mut genesis: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&genesis_path).unwrap()).unwrap();
        tweak(&mut genesis);
        std::fs::write(&genesis_path, genesis.to_string()).unwrap();
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

    pub fn opts(&self) -> ClientOpts {
        ClientOpts {
            node: self.node.api_url(),
            output: Output::Json,
            devnet_dir: Some(self.dir.path().to_path_buf()),
        }
    }

    /// Provider `i`'s data directory (journal, blob store, scratch).
    pub fn provider_dir(&self, i: usize) -> PathBuf {
        self.dir
            .path()
            .join("providers")
            .join(provider_account(i).name)
    }

    /// The configuration of provider `i`'s agent: 2 slots of 256 MiB at ask 1, no storage.
    pub fn agent_config(&self, i: usize) -> AgentConfig {
        let a = provider_account(i);
        AgentConfig {
            node_url: self.node.api_url(),
            key: key_from_mnemonic(&a.mnemonic.parse().unwrap()),
            data_dir: self.provider_dir(i),
            serve_listen: "127.0.0.1:0".parse().unwrap(),
            endpoint: None,
            offer: Offer {
                slots: 2,
                memory_bytes_per_slot: 256 << 20,
                storage_bytes: 0,
                labels: Vec::new(),
                ask_per_mfuel: Amount::new(1),
            },
            bond: Amount::new(10_000_000),
            wall_time_max: Duration::from_secs(60),
            fault: None,
            run_delay: Duration::ZERO,
            storage: None,
        }
    }

    pub async fn agent(&self, i: usize) -> AgentHandle {
        yun_provider::start(self.agent_config(i)).await.unwrap()
    }
}

/// dev0 signing, waiting for each transaction.
pub fn sign_dev0() -> SignOpts {
    SignOpts {
        from: "dev0".into(),
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
