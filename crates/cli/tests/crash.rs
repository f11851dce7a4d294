//! kill -9 at arbitrary moments: a real `yun node run` process is SIGKILLed while it finalizes
//! blocks; after each restart the finalized chain is unchanged, every transaction the node
//! accepted is still there (committed, or pending and then committed), and `chain verify` passes.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use yun_cli::keys::{dev_account, key_from_mnemonic};
use yun_cli::{ClientOpts, Output};
use yun_client::Client;
use yun_types::api::TxState;
use yun_types::{Action, Address, Amount, Tx, TxId};

/// A node process that is SIGKILLed when dropped, so a failing assertion leaves no orphan.
struct NodeProcess(Child);

impl NodeProcess {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts the node, its log (every incarnation's, `YUN_LOG` or warnings) appended to `log`.
fn start(config: &std::path::Path, log: &std::path::Path) -> NodeProcess {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open node log");
    NodeProcess(
        Command::new(env!("CARGO_BIN_EXE_yun"))
            .args(["node", "run", "--config"])
            .arg(config)
            .env(
                "YUN_LOG",
                std::env::var("YUN_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn yun"),
    )
}

/// The end of the node's log, for a failure message.
fn log_tail(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

async fn wait_up(client: &Client) {
    let start = Instant::now();
    while client.status().await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "node did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_moment_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let (mut cfg, _) = yun_cli::devnet::prepare(dir.path(), port, false, 4, &[]).unwrap();
    cfg.timing.min_block_interval_ms = 10;
    cfg.timing.idle_block_interval_ms = 200;
    // A kill right after a vote is recovered by a view timeout (see DEVNET_LEADER_TIMEOUT_MS);
    // a short one keeps each restart's recovery well inside the waits below.
    cfg.timing.leader_timeout_ms = 2_000;
    let config = dir.path().join("node.toml");
    let log = dir.path().join("node.log");
    let mut saved = cfg.clone();
    saved.data_dir = ".".into();
    saved.save(&config).unwrap();
    let client = Client::new(&format!("http://127.0.0.1:{port}"));
    let keys: Vec<_> = (0..4)
        .map(|i| key_from_mnemonic(&dev_account(i).mnemonic.parse().unwrap()))
        .collect();
    let mut nonces = [0u64; 4];
    let mut accepted: BTreeSet<TxId> = BTreeSet::new();
    let mut finalized: Vec<(u64, yun_types::Hash32, yun_types::Hash32)> = Vec::new();

    for round in 0..6u64 {
        let mut node = start(&config, &log);
        wait_up(&client).await;
        // Everything finalized before any earlier crash is still exactly there.
        for (height, hash, root) in &finalized {
            let b = client.block(Some(*height), false).await.unwrap();
            assert_eq!(
                (b.hash, b.state_root),
                (*hash, *root),
                "block {height} changed across a crash"
            );
        }
        let status = client.status().await.unwrap();
        for (i, key) in keys.iter().enumerate() {
            nonces[i] = nonces[i].max(
                client
                    .account(&dev_account(i).address)
                    .await
                    .unwrap()
                    .next_nonce,
            );
            for _ in 0..10 {
                let fees = yun_types::fee::FeeSchedule::from(&status);
                let tx = Tx {
                    chain_id: status.chain_id.clone(),
                    nonce: nonces[i],
                    fee: status.min_fee,
                    expires_at_height: status.height + 100_000,
                    action: Action::Transfer {
                        to: Address([round as u8 + 1; 32]),
                        amount: Amount::new(1),
                    },
                };
                let tx = fees.sign(tx, key, 0);
                accepted.insert(client.submit(&tx).await.unwrap());
                nonces[i] += 1;
            }
        }
        // Let blocks flow for a round-dependent moment, note what is final, then SIGKILL.
        tokio::time::sleep(Duration::from_millis(37 * (round + 1) % 160)).await;
        if let Ok(s) = client.status().await {
            finalized.push((s.height, s.block_hash, s.state_root));
        }
        node.kill();
    }

    let mut node = start(&config, &log);
    wait_up(&client).await;
    for id in &accepted {
        let s = client
            .wait_for_tx(id, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(
            s.state,
            TxState::Committed,
            "accepted transaction {id} was lost: {s:?}\nnode log:\n{}",
            log_tail(&log)
        );
    }
    let opts = ClientOpts {
        node: client.base_url().to_string(),
        output: Output::Json,
        devnet_dir: None,
    };
    yun_cli::verify::verify(&opts).await.unwrap();
    node.kill();
}
