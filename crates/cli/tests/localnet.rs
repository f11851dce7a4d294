//! A 4-validator `yun localnet` of real processes: transfers keep finalizing while one validator
//! is SIGKILLed, and the restarted validator catches up to the others' blocks and state root.
//! Epochs are 4 blocks, so consensus switches engines several times and the victim sleeps
//! through at least one boundary it must catch up across.

use commonware_cryptography::ed25519::PrivateKey;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yun_cli::keys::{dev_account, key_from_mnemonic};
use yun_cli::localnet::{self, LocalNode};
use yun_client::Client;
use yun_types::api::TxState;
use yun_types::{Action, Address, Amount, Tx, TxId};

const VALIDATORS: usize = 4;
/// The validator that is killed and restarted.
const VICTIM: usize = 3;
/// Dev accounts sending transfers, each always to the same surviving node (so its nonces
/// arrive in order).
const SENDERS: usize = 3;
/// One transfer per sender this often.
const TRANSFER_INTERVAL: Duration = Duration::from_millis(100);
/// Blocks the three survivors must finalize while the victim is down.
const BLOCKS_WHILE_DOWN: u64 = 5;
/// Blocks the network must finalize after the restart before the victim is compared with it.
const BLOCKS_AFTER_RESTART: u64 = 3;
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Blocks per epoch: fewer than `BLOCKS_WHILE_DOWN`, so the victim misses a boundary.
const EPOCH_BLOCKS: u64 = 4;

/// Every node process of the test; all SIGKILLed on drop, so a failed assertion leaves none
/// behind. When the test panics, the end of each node's log is printed.
struct Network {
    dir: tempfile::TempDir,
    nodes: Vec<LocalNode>,
    restarted: Option<Child>,
}

impl Drop for Network {
    fn drop(&mut self) {
        for pid in self.nodes.iter().filter_map(|n| n.pid) {
            if localnet::alive(pid) {
                let _ = sigkill(pid);
            }
        }
        if let Some(child) = self.restarted.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            for n in &self.nodes {
                let log = std::fs::read_to_string(n.config.with_file_name("node.log"))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                eprintln!("--- {} log (last lines, newest first)", n.name);
                for line in tail {
                    eprintln!("{line}");
                }
            }
        }
    }
}

fn sigkill(pid: u32) -> rustix::io::Result<()> {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid is positive");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL)
}

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_yun"))
}

fn start_localnet(dir: &Path) -> Vec<LocalNode> {
    let base_port = localnet::free_base_port(VALIDATORS).unwrap();
    let out = Command::new(exe())
        .args(["localnet", "-n", &VALIDATORS.to_string(), "--detach"])
        .args(["--epoch-blocks", &EPOCH_BLOCKS.to_string()])
        .args(["--base-port", &base_port.to_string(), "--data-dir"])
        .arg(dir)
        .output()
        .expect("run yun localnet");
    assert!(
        out.status.success(),
        "yun localnet failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    localnet::manifest(dir).unwrap().nodes
}

/// The epoch of the consensus engine a node runs, from its metrics.
async fn consensus_epoch(client: &Client) -> u64 {
    let text = client.metrics_text().await.unwrap();
    let line = text
        .lines()
        .find(|l| !l.starts_with('#') && l.contains("consensus_epoch"))
        .unwrap_or_else(|| panic!("no consensus_epoch gauge in:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn height(client: &Client) -> Option<u64> {
    client.status().await.ok().map(|s| s.height)
}

/// Polls until every client reports a height of at least `target`.
async fn wait_height(clients: &[&Client], target: u64, what: &str) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let mut lowest = u64::MAX;
        for c in clients {
            lowest = lowest.min(height(c).await.unwrap_or(0));
        }
        if lowest >= target {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: lowest height {lowest} did not reach {target} within {STEP_TIMEOUT:?}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// What the load generator submitted, in order, with whether the victim was down.
type Sent = Arc<Mutex<Vec<(TxId, bool)>>>;

/// Submits one transfer per sender every `TRANSFER_INTERVAL` until `stop` is set; sender i
/// always talks to surviving node i.
fn spawn_load(
    clients: Vec<Client>,
    sent: Sent,
    victim_down: Arc<std::sync::atomic::AtomicBool>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    use std::sync::atomic::Ordering::Relaxed;
    tokio::spawn(async move {
        let keys: Vec<PrivateKey> = (0..SENDERS)
            .map(|i| key_from_mnemonic(&dev_account(i).mnemonic.parse().unwrap()))
            .collect();
        let status = clients[0].status().await.unwrap();
        let mut nonces = [0u64; SENDERS];
        let mut tick = tokio::time::interval(TRANSFER_INTERVAL);
        while !stop.load(Relaxed) {
            tick.tick().await;
            for (i, key) in keys.iter().enumerate() {
                let fees = yun_types::fee::FeeSchedule::from(&status);
                let tx = Tx {
                    chain_id: status.chain_id.clone(),
                    nonce: nonces[i],
                    fee: status.min_fee,
                    expires_at_height: status.height + 100_000,
                    action: Action::Transfer {
                        to: Address([9; 32]),
                        amount: Amount::new(1),
                    },
                };
                let tx = fees.sign(tx, key, 0);
                let down = victim_down.load(Relaxed);
                let id = clients[i]
                    .submit(&tx)
                    .await
                    .unwrap_or_else(|e| panic!("sender {i} nonce {}: {e}", nonces[i]));
                sent.lock().unwrap().push((id, down));
                nonces[i] += 1;
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_validator_does_not_stop_the_chain_and_catches_up() {
    use std::sync::atomic::Ordering::Relaxed;
    let dir = tempfile::tempdir().unwrap();
    let nodes = start_localnet(dir.path());
    let mut net = Network {
        dir,
        nodes,
        restarted: None,
    };
    assert_eq!(net.nodes.len(), VALIDATORS);
    let clients: Vec<Client> = net.nodes.iter().map(|n| Client::new(&n.api_url)).collect();
    let survivors: Vec<&Client> = (0..VALIDATORS)
        .filter(|&i| i != VICTIM)
        .map(|i| &clients[i])
        .collect();

    // Blocks finalize on all four, and transfers flow.
    wait_height(&clients.iter().collect::<Vec<_>>(), 2, "start").await;
    let sent: Sent = Arc::default();
    let victim_down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = spawn_load(
        survivors.iter().map(|c| (*c).clone()).collect(),
        sent.clone(),
        victim_down.clone(),
        stop.clone(),
    );
    let first_sent = {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            if let Some((id, _)) = sent.lock().unwrap().first().copied() {
                break id;
            }
            assert!(Instant::now() < deadline, "no transfer was submitted");
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    };
    let first = clients[VICTIM]
        .wait_for_tx(&first_sent, STEP_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(first.state, TxState::Committed, "{first:?}");

    // SIGKILL the victim: the other three keep finalizing.
    let victim_pid = net.nodes[VICTIM].pid.expect("the manifest records pids");
    sigkill(victim_pid).unwrap();
    let deadline = Instant::now() + STEP_TIMEOUT;
    while localnet::alive(victim_pid) {
        assert!(Instant::now() < deadline, "the killed validator lingers");
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    victim_down.store(true, Relaxed);
    let at_kill = height(survivors[0]).await.unwrap();
    wait_height(&survivors, at_kill + BLOCKS_WHILE_DOWN, "three validators").await;

    // Transfers submitted while it was down finalize.
    let while_down: Vec<TxId> = sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, down)| *down)
        .map(|(id, _)| *id)
        .collect();
    assert!(
        !while_down.is_empty(),
        "no transfer was submitted while the validator was down"
    );
    for id in &while_down {
        let s = survivors[0].wait_for_tx(id, STEP_TIMEOUT).await.unwrap();
        assert_eq!(s.state, TxState::Committed, "{s:?}");
    }

    // Restart it exactly as localnet does; it catches up to the same chain.
    let child = localnet::spawn_node(&exe(), &net.nodes[VICTIM]).unwrap();
    net.restarted = Some(child);
    let at_restart = height(survivors[0]).await.unwrap();
    let target = at_restart + BLOCKS_AFTER_RESTART;
    wait_height(&clients.iter().collect::<Vec<_>>(), target, "after restart").await;
    stop.store(true, Relaxed);
    load.await.unwrap();
    let reference = survivors[0].block(Some(target), false).await.unwrap();
    for (i, c) in clients.iter().enumerate() {
        let b = c.block(Some(target), false).await.unwrap();
        assert_eq!(
            (b.hash, b.state_root),
            (reference.hash, reference.state_root),
            "validator{i} differs at height {target}"
        );
    }
    // Every node, the victim included, runs consensus in the epoch of its next block.
    for (i, c) in clients.iter().enumerate() {
        let s = c.status().await.unwrap();
        assert_eq!(
            s.epoch,
            (s.height + 1) / EPOCH_BLOCKS,
            "validator{i}: {s:?}"
        );
        assert!(s.epoch >= 2, "validator{i} never left epoch {}", s.epoch);
        assert_eq!(s.validators.len(), VALIDATORS, "validator{i}: {s:?}");
        // And its consensus engine is that epoch's (the node's own gauge says which runs).
        let engine_epoch = consensus_epoch(c).await;
        assert!(
            engine_epoch + 1 >= s.epoch && engine_epoch <= s.epoch + 1,
            "validator{i} runs the engine of epoch {engine_epoch}, its state is at {}",
            s.epoch
        );
    }
    // Everything the load generator got accepted is final everywhere, the victim included.
    let last = sent.lock().unwrap().last().copied().unwrap().0;
    let s = clients[VICTIM]
        .wait_for_tx(&last, STEP_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(s.state, TxState::Committed, "{s:?}");

    // A clean stop of the processes localnet started (the victim's new process is ours).
    let stopped = localnet::stop(net.dir.path()).unwrap();
    assert_eq!(stopped, VALIDATORS - 1);
}
