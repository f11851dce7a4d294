//! `yun localnet`: an N-validator network, plus optional full nodes, as one OS process per
//! node on 127.0.0.1, created on first use and stopped cleanly.

use crate::devnet::{DEV_BALANCE, devnet_genesis_params, devnet_params, now_ms, random_key};
use crate::keys::{DEV_ACCOUNTS_FILE, DevAccount, dev_account};
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use commonware_cryptography::Signer;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use yun_node::run::{NodeConfig, P2pConfig, TimingConfig, write_key};
use yun_types::{Address, Amount, Genesis, GenesisAccount, GenesisValidator, SeedSigner};

pub const LOCALNET_CHAIN_ID: &str = "yun-localnet";
/// Most nodes (validators plus full nodes) one localnet runs.
pub const LOCALNET_NODES_MAX: usize = 64;
/// Node i listens for p2p on `base_port + P2P_PORT_OFFSET + i` (its API is on `base_port + i`).
pub const P2P_PORT_OFFSET: u16 = 500;
/// How long `yun localnet` waits for every node's API to answer.
pub const LOCALNET_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping node may take before it is killed.
pub const NODE_STOP_GRACE: Duration = Duration::from_secs(15);
/// The running processes of a localnet, so `yun localnet stop` can find them.
const MANIFEST_FILE: &str = "localnet.json";

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LocalnetArgs {
    #[command(subcommand)]
    pub cmd: Option<LocalnetCmd>,
    /// Number of validators.
    #[arg(short = 'n', long = "validators", default_value_t = 4)]
    pub validators: usize,
    /// Number of full nodes (they follow the chain and serve the API, but do not vote).
    #[arg(long, default_value_t = 0)]
    pub full_nodes: usize,
    /// Node i serves its API on 127.0.0.1:(P + i) and p2p on P + 500 + i.
    #[arg(long, default_value_t = 8700)]
    pub base_port: u16,
    /// Where the network lives (default: ~/.yun/localnet).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Delete the data directory first and start a new chain.
    #[arg(long)]
    pub reset: bool,
    /// Return once every node is up, leaving them running (`yun localnet stop` stops them).
    #[arg(long)]
    pub detach: bool,
    /// Number of pre-funded dev accounts (dev0, dev1, …).
    #[arg(long, default_value_t = 10)]
    pub accounts: usize,
    /// Blocks per epoch: the active set is re-chosen, and consensus moves to it, every this
    /// many blocks (at least 2; default: the chain's 100).
    #[arg(long)]
    pub epoch_blocks: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum LocalnetCmd {
    /// Stop a detached localnet.
    Stop {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// One node of a localnet as written to disk and started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalNode {
    pub name: String,
    pub config: PathBuf,
    pub api_url: String,
    pub validator: bool,
    pub pid: Option<u32>,
}

/// What `localnet.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub nodes: Vec<LocalNode>,
}

pub fn default_dir() -> PathBuf {
    crate::keys::yun_home().join("localnet")
}

pub fn localnet(args: LocalnetArgs) -> anyhow::Result<()> {
    if let Some(LocalnetCmd::Stop { data_dir }) = args.cmd {
        let dir = data_dir.unwrap_or_else(default_dir);
        let stopped = stop(&dir)?;
        println!(
            "stopped {stopped} nodes of the localnet in {}",
            dir.display()
        );
        return Ok(());
    }
    let dir = args.data_dir.clone().unwrap_or_else(default_dir);
    let (mut nodes, accounts) = prepare(&dir, &args, &[])?;
    let exe = std::env::current_exe().context("finding the yun binary")?;
    let mut children = start(&exe, &dir, &mut nodes)?;
    if let Err(e) = wait_ready(&nodes, &mut children) {
        terminate(&mut children);
        let _ = std::fs::remove_file(dir.join(MANIFEST_FILE));
        return Err(e);
    }
    print_banner(&dir, &nodes, &accounts, args.detach);
    if args.detach {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async { tokio::signal::ctrl_c().await })?;
    println!("stopping…");
    terminate(&mut children);
    let _ = std::fs::remove_file(dir.join(MANIFEST_FILE));
    Ok(())
}

/// Writes keys, a shared genesis (dev accounts plus `extra` funded accounts) and one
/// `node.toml` per node, unless the directory already holds a localnet of the same shape;
/// returns the nodes and the dev accounts.
pub fn prepare(
    dir: &Path,
    args: &LocalnetArgs,
    extra: &[(Address, Amount)],
) -> anyhow::Result<(Vec<LocalNode>, Vec<DevAccount>)> {
    if args.epoch_blocks.is_some_and(|n| n < 2) {
        bail!("--epoch-blocks must be at least 2 (an epoch holds more than its first block)");
    }
    let total = args.validators + args.full_nodes;
    if args.validators == 0 || total > LOCALNET_NODES_MAX {
        bail!("a localnet has 1 to {LOCALNET_NODES_MAX} nodes, at least one of them a validator");
    }
    if usize::from(args.base_port) + usize::from(P2P_PORT_OFFSET) + total > usize::from(u16::MAX) {
        bail!(
            "--base-port {} leaves no room for {total} nodes",
            args.base_port
        );
    }
    forget_if_stopped(dir);
    if args.reset && dir.exists() {
        if dir.join(MANIFEST_FILE).exists() {
            bail!(
                "a localnet is running from {} (`yun localnet stop --data-dir {}` first)",
                dir.display(),
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    if dir.join("genesis.json").exists() {
        return reuse(dir, args);
    }
    std::fs::create_dir_all(dir)?;
    let mut nodes = Vec::new();
    let mut validators = Vec::new();
    let mut followers = Vec::new();
    for i in 0..total {
        let validator = i < args.validators;
        let name = if validator {
            format!("validator{i}")
        } else {
            format!("full{}", i - args.validators)
        };
        let node_dir = dir.join(&name);
        std::fs::create_dir_all(&node_dir)?;
        let key = random_key();
        write_key(&node_dir.join("node.key"), &key)?;
        let address = Address::from_public_key(&key.public_key());
        let p2p_port = args.base_port + P2P_PORT_OFFSET + i as u16;
        if validator {
            validators.push(GenesisValidator {
                name: name.clone(),
                address,
                p2p_address: format!("127.0.0.1:{p2p_port}"),
                // Bonded like any validator, so it stays eligible: an unbonded genesis set
                // would hand the next epoch to whoever registers first.
                self_bond: devnet_params().staking.validator_self_bond_min,
                seed_key: SeedSigner::from_node_key(&key).key(),
            });
        } else {
            followers.push(address);
        }
        nodes.push(LocalNode {
            name: name.clone(),
            config: node_dir.join("node.toml"),
            api_url: format!("http://127.0.0.1:{}", args.base_port + i as u16),
            validator,
            pid: None,
        });
    }
    let accounts: Vec<DevAccount> = (0..args.accounts).map(dev_account).collect();
    let genesis = Genesis {
        chain_id: LOCALNET_CHAIN_ID.into(),
        genesis_time_ms: now_ms(),
        accounts: accounts
            .iter()
            .map(|a| GenesisAccount {
                address: a.address,
                balance: Amount::new(DEV_BALANCE),
            })
            .chain(extra.iter().map(|(address, balance)| GenesisAccount {
                address: *address,
                balance: *balance,
            }))
            .collect(),
        validators,
        params: {
            let mut params = devnet_genesis_params()?;
            if let Some(n) = args.epoch_blocks {
                params.staking.epoch_blocks = n;
                // Unbonding must outlast the evidence window, which longer epochs stretch.
                let window = n.saturating_mul(yun_state::staking::EVIDENCE_EPOCHS_KEPT);
                params.staking.unbonding_blocks = params.staking.unbonding_blocks.max(window);
            }
            params
        },
        dev_accounts: accounts.len() as u32,
        evm_accounts: Vec::new(),
    };
    std::fs::write(
        dir.join("genesis.json"),
        serde_json::to_string_pretty(&genesis)?,
    )?;
    std::fs::write(
        dir.join(DEV_ACCOUNTS_FILE),
        serde_json::to_string_pretty(&accounts)?,
    )?;
    for (i, node) in nodes.iter().enumerate() {
        let cfg = node_config(args.base_port, i, total, &followers);
        cfg.save(&node.config)?;
    }
    Ok((nodes, accounts))
}

/// The other nodes' API URLs node `i` names as data sources (`GET /v1/network/sources`), so
/// a provider following one node fetches what was uploaded to another: the nodes after it
/// first, at most `PEER_API_URLS_MAX`.
fn peer_api_urls(base_port: u16, i: usize, total: usize) -> Vec<String> {
    (1..total)
        .map(|d| (i + d) % total)
        .take(yun_types::api::PEER_API_URLS_MAX)
        .map(|j| format!("http://127.0.0.1:{}", base_port + j as u16))
        .collect()
}

/// A node's configuration: paths relative to its own directory, the genesis one level up.
fn node_config(base_port: u16, i: usize, total: usize, followers: &[Address]) -> NodeConfig {
    NodeConfig {
        data_dir: ".".into(),
        genesis_file: "../genesis.json".into(),
        key_file: "node.key".into(),
        api_listen: ([127, 0, 0, 1], base_port + i as u16).into(),
        eth_rpc_listen: None,
        p2p_listen: ([127, 0, 0, 1], base_port + P2P_PORT_OFFSET + i as u16).into(),
        // Several validators must notice a silent leader, so views time out after 2 s and
        // an idle chain makes an empty block a second (finality keeps moving, journals prune).
        timing: TimingConfig {
            min_block_interval_ms: 50,
            idle_block_interval_ms: 1_000,
            busy_block_interval_ms: 500,
            leader_timeout_ms: 2_000,
            ..Default::default()
        },
        mempool: Default::default(),
        worker_threads: 2,
        blobs: yun_node::run::BlobsConfig {
            peer_api_urls: peer_api_urls(base_port, i, total),
            ..Default::default()
        },
        p2p: P2pConfig {
            bootstrap: Vec::new(),
            full_nodes: followers.to_vec(),
        },
        // Local tools talk to every node over loopback: the default loopback limits.
        api: Default::default(),
    }
}

/// An existing localnet: its nodes, if it has the shape asked for.
fn reuse(dir: &Path, args: &LocalnetArgs) -> anyhow::Result<(Vec<LocalNode>, Vec<DevAccount>)> {
    if dir.join(MANIFEST_FILE).exists() {
        bail!(
            "the localnet in {} is already running (`yun localnet stop --data-dir {}` stops it)",
            dir.display(),
            dir.display()
        );
    }
    let genesis: Genesis =
        serde_json::from_str(&std::fs::read_to_string(dir.join("genesis.json"))?)?;
    let full_nodes = (0..)
        .take_while(|i| dir.join(format!("full{i}")).exists())
        .count();
    if genesis.validators.len() != args.validators || full_nodes != args.full_nodes {
        bail!(
            "{} holds a localnet of {} validators and {} full nodes; pass those numbers, or --reset for a new one",
            dir.display(),
            genesis.validators.len(),
            full_nodes
        );
    }
    let mut nodes = Vec::new();
    for i in 0..args.validators + args.full_nodes {
        let validator = i < args.validators;
        let name = if validator {
            format!("validator{i}")
        } else {
            format!("full{}", i - args.validators)
        };
        let config = dir.join(&name).join("node.toml");
        let mut cfg = NodeConfig::load(&config)?;
        cfg.api_listen = ([127, 0, 0, 1], args.base_port + i as u16).into();
        cfg.blobs.peer_api_urls =
            peer_api_urls(args.base_port, i, args.validators + args.full_nodes);
        let mut saved = cfg.clone();
        saved.data_dir = ".".into();
        saved.save(&config)?;
        nodes.push(LocalNode {
            name,
            config,
            api_url: format!("http://{}", cfg.api_listen),
            validator,
            pid: None,
        });
    }
    let accounts = serde_json::from_str(&std::fs::read_to_string(dir.join(DEV_ACCOUNTS_FILE))?)?;
    Ok((nodes, accounts))
}

/// A manifest whose processes are all gone (a crashed or killed localnet) no longer stands
/// for a running network.
fn forget_if_stopped(dir: &Path) {
    let path = dir.join(MANIFEST_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let running = serde_json::from_str::<Manifest>(&text)
        .map(|m| m.nodes.iter().filter_map(|n| n.pid).any(alive))
        .unwrap_or(false);
    if !running {
        let _ = std::fs::remove_file(path);
    }
}

/// Fails, naming the node and the port, if any API or p2p port of these nodes is taken: a
/// node whose p2p listener cannot bind would otherwise die after its API answered.
fn check_ports_free(nodes: &[LocalNode]) -> anyhow::Result<()> {
    for node in nodes {
        let cfg = NodeConfig::load(&node.config)?;
        for (what, addr) in [("API", cfg.api_listen), ("p2p", cfg.p2p_listen)] {
            if let Err(e) = std::net::TcpListener::bind(addr) {
                bail!(
                    "{}'s {what} port {addr} is taken ({e}); stop what uses it or pick another --base-port",
                    node.name
                );
            }
        }
    }
    Ok(())
}

/// Starts one `exe node run` process per node, each in its own process group (a terminal's
/// Ctrl-C reaches only `yun localnet`, which then stops them in order), logging to
/// `NAME/node.log`; records their pids in the manifest.
pub fn start(exe: &Path, dir: &Path, nodes: &mut [LocalNode]) -> anyhow::Result<Vec<Child>> {
    check_ports_free(nodes)?;
    let mut children = Vec::new();
    for node in nodes.iter_mut() {
        let child = match spawn_node(exe, node) {
            Ok(c) => c,
            Err(e) => {
                terminate(&mut children);
                return Err(e);
            }
        };
        node.pid = Some(child.id());
        children.push(child);
    }
    let manifest = Manifest {
        nodes: nodes.to_vec(),
    };
    std::fs::write(
        dir.join(MANIFEST_FILE),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(children)
}

/// Starts one node process (also used to restart a node in tests).
pub fn spawn_node(exe: &Path, node: &LocalNode) -> anyhow::Result<Child> {
    use std::os::unix::process::CommandExt as _;
    let node_dir = node
        .config
        .parent()
        .expect("config lives in the node's directory");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(node_dir.join("node.log"))?;
    Command::new(exe)
        .args(["node", "run", "--config"])
        .arg(&node.config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", node.name))
}

/// Waits until every node's API answers; a node that exits first fails the start with the
/// end of its log.
pub fn wait_ready(nodes: &[LocalNode], children: &mut [Child]) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let deadline = Instant::now() + LOCALNET_READY_TIMEOUT;
    for (node, child) in nodes.iter().zip(children.iter_mut()) {
        let client = yun_client::Client::new(&node.api_url);
        loop {
            if runtime.block_on(client.status()).is_ok() {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "{} exited ({status}) before serving its API; its log ends with:\n{}",
                    node.name,
                    log_tail(node)
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not serve its API within {:?}; its log ends with:\n{}",
                    node.name,
                    LOCALNET_READY_TIMEOUT,
                    log_tail(node)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

/// The last lines of a node's log.
pub fn log_tail(node: &LocalNode) -> String {
    let path = node.config.with_file_name("node.log");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// SIGTERM to every child, then waits for each (SIGKILL after the grace period).
pub fn terminate(children: &mut [Child]) {
    for c in children.iter() {
        signal(c.id(), rustix::process::Signal::TERM);
    }
    for c in children.iter_mut() {
        let deadline = Instant::now() + NODE_STOP_GRACE;
        while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if matches!(c.try_wait(), Ok(None)) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Stops the detached localnet in `dir`; returns how many nodes were running.
pub fn stop(dir: &Path) -> anyhow::Result<usize> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no running localnet recorded in {} (nothing to stop)",
            dir.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)?;
    let pids: Vec<u32> = manifest
        .nodes
        .iter()
        .filter_map(|n| n.pid)
        .filter(|&p| alive(p))
        .collect();
    for &pid in &pids {
        signal(pid, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + NODE_STOP_GRACE;
    while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &pid in pids.iter().filter(|&&p| alive(p)) {
        signal(pid, rustix::process::Signal::KILL);
    }
    std::fs::remove_file(&path)?;
    Ok(pids.len())
}

/// Reads the manifest of the localnet running from `dir`.
pub fn manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no running localnet recorded in {}", dir.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// A base port from which `nodes` consecutive API ports and their p2p ports are all free
/// right now (tests and benchmarks run side by side, so they never use a fixed one).
pub fn free_base_port(nodes: usize) -> anyhow::Result<u16> {
    for _ in 0..FREE_BASE_PORT_ATTEMPTS {
        let base = rand::random_range(FREE_BASE_PORT_RANGE);
        let free = (0..nodes as u16).all(|i| {
            [base + i, base + P2P_PORT_OFFSET + i]
                .iter()
                .all(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        });
        if free {
            return Ok(base);
        }
    }
    bail!("found no free range of ports for {nodes} nodes")
}

/// Where `free_base_port` looks: above the usual service ports, below the ephemeral range
/// (32768+) the kernel hands out to outgoing connections.
const FREE_BASE_PORT_RANGE: std::ops::Range<u16> = 20_000..32_000;
const FREE_BASE_PORT_ATTEMPTS: usize = 100;

fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Whether a process exists (and is not a zombie of ours: those are reaped by `wait`).
pub fn alive(pid: u32) -> bool {
    let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
        return false;
    };
    if rustix::process::test_kill_process(p).is_err() {
        return false;
    }
    // A zombie still answers signal 0; /proc tells it apart.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

fn print_banner(dir: &Path, nodes: &[LocalNode], accounts: &[DevAccount], detached: bool) {
    println!(
        "Yun localnet is running (chain {LOCALNET_CHAIN_ID}), data in {}",
        dir.display()
    );
    println!();
    for n in nodes {
        let role = if n.validator {
            "validator"
        } else {
            "full node"
        };
        println!(
            "  {:<12} {:<10} {}/v1/status   (log {})",
            n.name,
            role,
            n.api_url,
            n.config.with_file_name("node.log").display()
        );
    }
    println!();
    println!(
        "Pre-funded dev accounts: {} (use them with --devnet-dir {} --from devN)",
        accounts.len(),
        dir.display()
    );
    println!(
        "Try:  yun status --node {}",
        nodes.first().map_or("", |n| n.api_url.as_str())
    );
    if detached {
        println!("Stop: yun localnet stop --data-dir {}", dir.display());
    } else {
        println!("Ctrl-C stops every node.");
    }
}
