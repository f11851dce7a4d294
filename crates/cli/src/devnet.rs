//! `yun devnet`: a whole single-machine network in one process, created on first use.

use crate::keys::{DEV_ACCOUNTS_FILE, DevAccount, dev_account};
use anyhow::Context;
use commonware_cryptography::Signer;
use commonware_cryptography::ed25519::PrivateKey;
use std::net::SocketAddr;
use std::path::Path;
use yun_node::run::{NodeConfig, write_key};
use yun_types::{
    Address, Amount, ChainParams, Genesis, GenesisAccount, GenesisValidator, Hash32, SeedSigner,
};

pub const DEVNET_CHAIN_ID: &str = "yun-devnet";
/// A single-validator devnet proposes an empty block after this much silence: one a day.
pub const DEVNET_IDLE_BLOCK_INTERVAL_MS: u64 = 24 * 60 * 60 * 1_000;
/// How long the devnet's validator waits in a view before nullifying it. Shorter than the idle
/// interval on purpose: a validator alone that restarts right after voting cannot rebuild the
/// certificate from its journal (simplex does not re-seed its own votes on replay and expects
/// a timeout to recover), so a day-long timeout left such a devnet stuck. The price is one
/// nullification written per idle minute.
pub const DEVNET_LEADER_TIMEOUT_MS: u64 = 60 * 1_000;
/// Opening balance of each dev account, in base units.
pub const DEV_BALANCE: u128 = 1_000_000_000_000_000;

/// A fresh random consensus key.
pub fn random_key() -> PrivateKey {
    let mut seed = [0u8; 32];
    rand08::RngCore::fill_bytes(&mut rand08::rngs::OsRng, &mut seed);
    <PrivateKey as commonware_codec::DecodeExt<()>>::decode(commonware_codec::Copying(&seed[..]))
        .expect("32 bytes")
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Writes a data directory for a one-validator chain with `extra` funded accounts besides the
/// dev accounts, unless one exists already; returns its config (with the API port applied).
pub fn prepare(
    data_dir: &Path,
    api_port: u16,
    reset: bool,
    dev_accounts: usize,
    extra: &[(Address, Amount)],
) -> anyhow::Result<(NodeConfig, Vec<DevAccount>)> {
    prepare_with_providers(data_dir, api_port, reset, dev_accounts, 0, extra)
}

/// Like [`prepare`], also funding `providers` provider accounts (`provider0…`), listed after
/// the dev accounts in the returned list and the accounts file.
pub fn prepare_with_providers(
    data_dir: &Path,
    api_port: u16,
    reset: bool,
    dev_accounts: usize,
    providers: usize,
    extra: &[(Address, Amount)],
) -> anyhow::Result<(NodeConfig, Vec<DevAccount>)> {
    if reset && data_dir.exists() {
        std::fs::remove_dir_all(data_dir)
            .with_context(|| format!("removing {}", data_dir.display()))?;
    }
    let config_path = data_dir.join("node.toml");
    let api_listen: SocketAddr = ([127, 0, 0, 1], api_port).into();
    if config_path.exists() {
        let mut cfg = NodeConfig::load(&config_path)?;
        cfg.api_listen = api_listen;
        let accounts =
            serde_json::from_str(&std::fs::read_to_string(data_dir.join(DEV_ACCOUNTS_FILE))?)?;
        return Ok((cfg, accounts));
    }
    std::fs::create_dir_all(data_dir)?;
    let key = random_key();
    write_key(&data_dir.join("validator.key"), &key)?;
    let p2p_port = free_port()?;
    let accounts: Vec<DevAccount> = (0..dev_accounts)
        .map(dev_account)
        .chain((0..providers).map(crate::provider_run::provider_account))
        .collect();
    let mut genesis_accounts: Vec<GenesisAccount> = accounts
        .iter()
        .map(|a| GenesisAccount {
            address: a.address,
            balance: Amount::new(DEV_BALANCE),
        })
        .collect();
    genesis_accounts.extend(extra.iter().map(|(address, balance)| GenesisAccount {
        address: *address,
        balance: *balance,
    }));
    let genesis = Genesis {
        chain_id: DEVNET_CHAIN_ID.into(),
        genesis_time_ms: now_ms(),
        accounts: genesis_accounts,
        validators: vec![GenesisValidator {
            name: "validator0".into(),
            address: Address::from_public_key(&key.public_key()),
            p2p_address: format!("127.0.0.1:{p2p_port}"),
            // Bonded like any validator, so it stays eligible: an unbonded genesis set
            // would hand the next epoch to whoever registers first.
            self_bond: devnet_params().staking.validator_self_bond_min,
            seed_key: SeedSigner::from_node_key(&key).key(),
        }],
        params: devnet_genesis_params()?,
        dev_accounts: dev_accounts as u32,
        evm_accounts: crate::eth_dev::eth_dev_accounts(crate::eth_dev::ETH_DEV_ACCOUNTS)?
            .into_iter()
            .map(|a| yun_types::evm::GenesisEvmAccount {
                address: a.address,
                balance: Amount::new(crate::eth_dev::ETH_DEV_BALANCE),
            })
            .collect(),
    };
    std::fs::write(
        data_dir.join("genesis.json"),
        serde_json::to_string_pretty(&genesis)?,
    )?;
    std::fs::write(
        data_dir.join(DEV_ACCOUNTS_FILE),
        serde_json::to_string_pretty(&accounts)?,
    )?;
    let cfg = NodeConfig {
        data_dir: data_dir.to_path_buf(),
        genesis_file: "genesis.json".into(),
        key_file: "validator.key".into(),
        api_listen,
        eth_rpc_listen: None,
        p2p_listen: ([127, 0, 0, 1], p2p_port).into(),
        // One validator has nobody to fail over to, so it may wait as long as it likes for
        // work: proposals go out as soon as a transaction arrives, and a quiet devnet writes
        // nothing at all (one heartbeat block a day) instead of an empty block every view.
        timing: yun_node::run::TimingConfig {
            min_block_interval_ms: 50,
            idle_block_interval_ms: DEVNET_IDLE_BLOCK_INTERVAL_MS,
            // While jobs wait or run, deadlines (heights) must pass: two blocks a second.
            busy_block_interval_ms: 500,
            leader_timeout_ms: DEVNET_LEADER_TIMEOUT_MS,
            ..Default::default()
        },
        mempool: Default::default(),
        worker_threads: 2,
        blobs: Default::default(),
        p2p: Default::default(),
        // The CLI, its tests and `yun bench` reach the devnet over loopback, whose limit is
        // high but finite (see `ApiLimitsConfig`).
        api: Default::default(),
    };
    let mut saved = cfg.clone();
    saved.data_dir = ".".into();
    saved.save(&config_path)?;
    Ok((cfg, accounts))
}

/// The chain parameters of a devnet: the defaults, but the price index steps by 1/64 a block
/// instead of 1/8. A devnet makes a block every 50 ms while providers commit and reveal, so
/// 1/8 multiplied the index thirtyfold during one example job. Storage epochs are 10 blocks
/// with a 5-block proof window, so a deal's whole life (proofs, misses, repair, the end) plays
/// out in a minute or two. The proof-of-work faucet is on, at a difficulty that takes about a
/// second to solve on one core ([`DEVNET_FAUCET_WORK_HASHES`]).
pub fn devnet_params() -> ChainParams {
    let mut p = ChainParams::default();
    p.market.price_step_divisor = 64;
    p.storage.epoch_blocks = 10;
    p.storage.proof_window_blocks = 5;
    p.faucet = yun_types::FaucetParams {
        enabled: true,
        amount: Amount::new(DEVNET_FAUCET_AMOUNT),
        work_hashes: DEVNET_FAUCET_WORK_HASHES,
    };
    p
}

/// What one devnet faucet claim pays: enough for a few jobs and a provider bond.
pub const DEVNET_FAUCET_AMOUNT: u128 = 100_000_000;

/// Expected hashes per devnet faucet claim: about one second of `yun faucet` (a release build,
/// one core): `cargo bench -p yun-types --bench faucet` measured 5.45 M puzzle hashes a second
/// on this 2-core AMD EPYC (a solve's tries are geometric, so single claims scatter widely).
pub const DEVNET_FAUCET_WORK_HASHES: u64 = 5_500_000;

/// The parameters a devnet or localnet genesis is written with: [`devnet_params`], admitting
/// the engine class of this binary's sandbox, so the providers it runs (`yun provider run`,
/// `yun provider register`) may register. Other builds' classes enter by governance.
pub fn devnet_genesis_params() -> anyhow::Result<ChainParams> {
    let mut p = devnet_params();
    p.market.engine_classes = vec![local_engine_class()?];
    Ok(p)
}

/// The engine class hash of this machine's sandbox: what a provider registered from here
/// declares (its replicas are compared only with others of the same class), computed as the
/// agent computes it.
pub fn local_engine_class() -> anyhow::Result<Hash32> {
    let sandbox = yun_exec::Sandbox::new(yun_exec::SandboxConfig::default())
        .context("starting a sandbox to read this machine's engine class")?;
    Ok(Hash32(sandbox.engine_fingerprint().hash()))
}

/// A port nobody listens on right now (for p2p of a devnet, which nobody dials).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The API a client talks to when given no `--node`.
pub const DEFAULT_NODE_URL: &str = "http://127.0.0.1:8645";

/// The commands the devnet banner suggests, each runnable as printed by a shell in the current
/// directory: the binary named the way this shell finds it (`yun` when PATH leads to this very
/// binary, else its path), `--node` when the API is not the default, and the guest build only
/// when the example modules are missing.
pub fn try_commands(url: &str) -> Vec<String> {
    let yun = invocation_name();
    let node = if url == DEFAULT_NODE_URL {
        String::new()
    } else {
        format!(" --node {url}")
    };
    let build = if Path::new("guest/target/wasm32-wasip1/release/pi.wasm").exists() {
        ""
    } else {
        "./scripts/build-guest && "
    };
    vec![
        format!("{build}{yun} job submit examples/jobs/pi/job.toml --out /tmp/pi{node}"),
        format!(
            "{yun} tx transfer --from dev0 --to dev1 --amount 1000{node} && {yun} account dev1{node}"
        ),
        format!("{yun} job list{node} && {yun} market{node}"),
    ]
}

/// How a shell in the current directory runs this binary: `yun` if PATH finds it, else a path
/// relative to the current directory when it lies below it, else the absolute path.
fn invocation_name() -> String {
    let Ok(exe) = std::env::current_exe().and_then(|e| e.canonicalize()) else {
        return "yun".into();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .filter_map(|d| d.join("yun").canonicalize().ok())
            .next()
            .is_some_and(|found| found == exe)
    });
    if on_path {
        return "yun".into();
    }
    let cwd = std::env::current_dir().and_then(|d| d.canonicalize()).ok();
    let shown = match cwd.as_deref().and_then(|d| exe.strip_prefix(d).ok()) {
        Some(rel) => format!("./{}", rel.display()),
        None => exe.display().to_string(),
    };
    if shown.contains(|c: char| c.is_whitespace() || c == '\'') {
        format!("'{}'", shown.replace('\'', r"'\''"))
    } else {
        shown
    }
}
