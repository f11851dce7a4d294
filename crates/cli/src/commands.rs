//! Implementations of the client-facing commands.

use crate::args::ClientOpts;
use crate::keys::{self, Keystore, yun_home};
use crate::output::{Output, print};
use crate::signing::{SignOpts, print_submitted, sign_and_submit};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use yun_client::Client;
use yun_types::{Action, Amount};

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Make a new key from a fresh 24-word mnemonic (shown once; write it down).
    New {
        name: String,
        /// Accept an empty passphrase (the key file is then readable by whoever copies it).
        #[arg(long)]
        insecure: bool,
    },
    /// Import a key from its mnemonic (asked for, or taken from YUN_MNEMONIC).
    Import {
        name: String,
        /// Accept an empty passphrase (the key file is then readable by whoever copies it).
        #[arg(long)]
        insecure: bool,
    },
    /// List key names and addresses.
    List {
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Show a key's address.
    Show {
        name: String,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

#[derive(Args, Debug)]
pub struct DevnetArgs {
    /// Where the chain lives (created on first run).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// API port on 127.0.0.1.
    #[arg(long, default_value_t = 8645)]
    pub port: u16,
    /// Delete the data directory first and start a new chain.
    #[arg(long)]
    pub reset: bool,
    /// Number of pre-funded dev accounts (dev0, dev1, …).
    #[arg(long, default_value_t = 10)]
    pub accounts: usize,
    /// Provider agents started inside the devnet (accounts provider0, provider1, …), so jobs
    /// with three replicas run out of the box.
    #[arg(long, default_value_t = 3)]
    pub providers: usize,
    /// Disk each embedded provider offers to storage deals, in GiB (0: none), so
    /// `yun storage put` with three replicas works out of the box.
    #[arg(long, default_value_t = 1)]
    pub storage_gb: u64,
    /// Port of the Ethereum JSON-RPC on 127.0.0.1 (0: none; it is at `/eth` on the API too).
    #[arg(long, default_value_t = 8545)]
    pub eth_port: u16,
}

#[derive(Subcommand, Debug)]
pub enum TxCmd {
    /// Send tokens.
    Transfer {
        /// Recipient: an address or key name.
        #[arg(long)]
        to: String,
        /// Amount in base units.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        sign: SignOpts,
    },
    /// Look up a transaction by id.
    Show { id: String },
}

pub fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f)
}

pub fn keys(cmd: KeysCmd) -> anyhow::Result<()> {
    let store = Keystore::open(&yun_home().join("keys"))?;
    match cmd {
        KeysCmd::New { name, insecure } => {
            let m = keys::new_mnemonic();
            let pass = keys::passphrase(true)?;
            let address = store.add(&name, &m, &pass, insecure)?;
            println!(
                "key:      {name}\naddress:  {address}\nmnemonic: {m}\n\nWrite the mnemonic down: it is the only way to recover this key."
            );
        }
        KeysCmd::Import { name, insecure } => {
            let words = match std::env::var(keys::MNEMONIC_ENV) {
                Ok(w) => w,
                Err(_) => rpassword::prompt_password("mnemonic: ")?,
            };
            let m: bip39::Mnemonic = words
                .trim()
                .parse()
                .context("not a valid BIP-39 mnemonic")?;
            let pass = keys::passphrase(true)?;
            let address = store.add(&name, &m, &pass, insecure)?;
            println!("imported {name}: {address}");
        }
        KeysCmd::List { output } => {
            let list = store.list()?;
            let json: Vec<_> = list
                .iter()
                .map(|(n, a)| serde_json::json!({"name": n, "address": a}))
                .collect();
            print(output, &json, || {
                if list.is_empty() {
                    "no keys yet: `yun keys new NAME`".to_string()
                } else {
                    list.iter()
                        .map(|(n, a)| format!("{n:<16} {a}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            })?;
        }
        KeysCmd::Show { name, output } => {
            let Some(address) = store.address(&name)? else {
                bail!("no key named {name}")
            };
            print(
                output,
                &serde_json::json!({"name": name, "address": address}),
                || address.to_string(),
            )?;
        }
    }
    Ok(())
}

pub fn devnet(args: DevnetArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir.unwrap_or_else(|| yun_home().join("devnet"));
    let (mut cfg, accounts) = crate::devnet::prepare_with_providers(
        &data_dir,
        args.port,
        args.reset,
        args.accounts,
        args.providers,
        &[],
    )?;
    // A port already taken (another devnet, a local anvil) must not stop the devnet: the
    // JSON-RPC is still served at `/eth` on the API port, and the banner says which URL works.
    let eth_port = match args.eth_port {
        0 => 0,
        port if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() => port,
        port => {
            eprintln!(
                "note: port {port} is in use, so the Ethereum JSON-RPC is served only at /eth on the API port (`--eth-port N` picks another)"
            );
            0
        }
    };
    cfg.eth_rpc_listen = (eth_port != 0).then(|| ([127, 0, 0, 1], eth_port).into());
    let (providers, users): (Vec<_>, Vec<_>) = accounts
        .into_iter()
        .partition(|a| a.name.starts_with("provider"));
    if providers.len() < args.providers {
        eprintln!(
            "note: this devnet was created with {} embedded providers; `yun devnet --reset` starts a new one with {}",
            providers.len(),
            args.providers
        );
    }
    let providers = &providers[..providers.len().min(args.providers)];
    let node = yun_node::run::spawn_node(cfg).context("starting the devnet node")?;
    let url = node.api_url();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let agents = runtime.block_on(crate::provider_run::start_devnet_agents(
        &url,
        &data_dir,
        providers,
        args.port.saturating_add(1),
        2,
        crate::provider_run::storage_offer(
            args.storage_gb,
            crate::provider_run::DEFAULT_STORAGE_ASK,
        )?,
    ))?;
    let rpc_url = match eth_port {
        0 => format!("{url}/eth"),
        port => format!("http://127.0.0.1:{port}"),
    };
    let eth_banner = crate::eth_dev::banner(
        &rpc_url,
        &crate::eth_dev::eth_dev_accounts(crate::eth_dev::ETH_DEV_ACCOUNTS)?,
    );
    print_devnet_banner(&url, &data_dir, &users, &agents, &eth_banner);
    runtime.block_on(async {
        tokio::signal::ctrl_c().await?;
        // Whoever started the devnet may have stopped reading its output once the banner
        // ended (a script, a test); a closed stdout must not turn a clean stop into a panic.
        let _ = writeln!(std::io::stdout(), "stopping…");
        for a in agents {
            a.shutdown().await?;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    node.stop()
}

fn print_devnet_banner(
    url: &str,
    data_dir: &Path,
    users: &[keys::DevAccount],
    agents: &[yun_provider::AgentHandle],
    eth_banner: &str,
) {
    println!(
        "Yun devnet is running (chain {}), data in {}",
        crate::devnet::DEVNET_CHAIN_ID,
        data_dir.display()
    );
    println!();
    let console_note = if yun_node::console::console_built() {
        ""
    } else {
        "  (not built into this binary: ./scripts/build-console, then rebuild)"
    };
    println!("  Console   {url}/{console_note}");
    println!("  API       {url}/v1/status");
    println!("  Events    {url}/v1/events");
    println!("  OpenAPI   {url}/v1/openapi.json");
    println!("  Metrics   {url}/metrics");
    println!();
    println!(
        "Embedded providers ({}), each serving its outputs:",
        agents.len()
    );
    for a in agents {
        println!("  {}  {}", a.address, a.endpoint);
    }
    println!();
    println!(
        "Pre-funded dev accounts (use them with --from devN; test keys, never for real value):"
    );
    for a in users {
        println!("  {:<6} {}\n         {}", a.name, a.address, a.mnemonic);
    }
    println!();
    // Everything goes before the "Stop with Ctrl-C" line, the banner's last: readers (the
    // banner test, scripts) stop there and close the pipe, and a print after it would fail.
    println!("{eth_banner}");
    for (i, line) in crate::devnet::try_commands(url).iter().enumerate() {
        println!("{}{line}", if i == 0 { "Try:  " } else { "      " });
    }
    println!("Stop with Ctrl-C; run again to continue the same chain (--reset starts over).");
}

/// Runs a node until Ctrl-C or SIGTERM (what `yun localnet stop` sends).
pub fn node_run(
    config: &Path,
    bootstrap: Vec<String>,
    peer_api: Vec<String>,
) -> anyhow::Result<()> {
    let mut cfg = yun_node::run::NodeConfig::load(config)?;
    if !bootstrap.is_empty() {
        cfg.p2p.bootstrap = bootstrap;
    }
    if !peer_api.is_empty() {
        cfg.blobs.peer_api_urls = peer_api;
    }
    yun_node::run::run_node(cfg, None, async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    })
}

pub async fn tx(cmd: TxCmd, opts: &ClientOpts) -> anyhow::Result<()> {
    let client = Client::new(&opts.node);
    match cmd {
        TxCmd::Transfer { to, amount, sign } => {
            let to = keys::resolve_address(&to, &opts.dev_lookup()).await?;
            let amount: Amount = amount.parse()?;
            let s = sign_and_submit(&client, opts, &sign, Action::Transfer { to, amount }).await?;
            let fee = s
                .status
                .as_ref()
                .and_then(|st| st.receipt.as_ref())
                .map(|r| r.fee_paid);
            print_submitted(opts, &s, |height| {
                format!(
                    "{} finalized at height {height} (fee {})",
                    s.id,
                    fee.unwrap_or_default()
                )
            })
        }
        TxCmd::Show { id } => {
            let id = id.parse().context("a tx id is 64 hex characters")?;
            let s = client.tx(&id).await?;
            print(opts.output, &s, || {
                let mut out = format!("id:     {}\nstate:  {:?}", s.id, s.state);
                if let Some(t) = &s.tx {
                    out += &format!(
                        "\nfrom:   {}\nnonce:  {}\nfee:    {}\naction: {:?}",
                        t.sender, t.nonce, t.fee, t.action
                    );
                }
                if let Some(r) = &s.receipt {
                    out += &format!(
                        "\nheight: {}\nresult: {}",
                        r.height,
                        r.failure
                            .as_ref()
                            .map_or("success".to_string(), |f| f.name.clone())
                    );
                }
                if let Some(r) = &s.rejection {
                    out += &format!("\nreason: {} ({}): {}", r.name, r.code, r.message);
                }
                out
            })
        }
    }
}

pub async fn account(address: &str, proof: bool, opts: &ClientOpts) -> anyhow::Result<()> {
    let address = keys::resolve_address(address, &opts.dev_lookup()).await?;
    let client = Client::new(&opts.node);
    let a = client.account(&address).await?;
    if proof {
        let p = client.account_proof(&address).await?;
        let key = yun_state::StateKey::Account(address).bytes();
        let value = p.value_hex.as_deref().map(hex::decode).transpose()?;
        let ok = yun_store::verify_state_proof(
            &p.state_root,
            &key,
            value.as_deref(),
            &hex::decode(&p.proof_hex)?,
        );
        if !ok {
            bail!(
                "the node's proof for {address} does not verify against state root {}",
                p.state_root
            );
        }
        let both = serde_json::json!({"account": a, "proof": p, "proof_verified": ok});
        return print(opts.output, &both, || {
            format!(
                "address: {}\nbalance: {}\nnonce:   {}\nproof:   verified against state root {} at height {}",
                a.address, a.balance, a.nonce, p.state_root, p.height
            )
        });
    }
    print(opts.output, &a, || {
        format!(
            "address: {}\nbalance: {}\nnonce:   {} (next to sign: {}, pending: {})\nheight:  {}",
            a.address, a.balance, a.nonce, a.next_nonce, a.pending_txs, a.height
        )
    })
}

pub async fn status(opts: &ClientOpts) -> anyhow::Result<()> {
    let s = Client::new(&opts.node).status().await?;
    print(opts.output, &s, || {
        let mut out = format!(
            "chain:      {}\ngenesis:    {}\nrole:       {}\nepoch:      {}\nheight:     {}\nblock:      {}\nstate root: {}\nvalidators: {}\nmempool:    {} pending\nfees:       {} + {}/byte + {}/write\npeers:      {} connected",
            s.chain_id,
            s.genesis_hash,
            s.role,
            s.epoch,
            s.height,
            s.block_hash,
            s.state_root,
            s.validators
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            s.mempool_size,
            s.min_fee,
            s.fee_per_byte,
            s.fee_per_write,
            s.peers
                .iter()
                .filter(|p| p.connected_since_ms.is_some())
                .count()
        );
        // The node reports wall-clock instants; a person reads them as ages.
        let now_ms = crate::devnet::now_ms();
        for p in &s.peers {
            let what = match (p.connected_since_ms, p.blocked_until_ms) {
                (_, Some(until_ms)) => format!(
                    "blocked for another {} s",
                    until_ms.saturating_sub(now_ms) / 1_000
                ),
                (Some(since_ms), None) => format!(
                    "connected for {} s",
                    now_ms.saturating_sub(since_ms) / 1_000
                ),
                (None, None) => "known".to_string(),
            };
            out += &format!("\n  {}  {what}", p.address);
        }
        out
    })
}

pub async fn block(height: &str, opts: &ClientOpts) -> anyhow::Result<()> {
    let h = match height {
        "latest" => None,
        n => Some(
            n.parse::<u64>()
                .context("height must be a number or `latest`")?,
        ),
    };
    let b = Client::new(&opts.node).block(h, true).await?;
    print(opts.output, &b, || {
        let mut out = format!(
            "height:     {}\nhash:       {}\nparent:     {}\ntime (ms):  {}\nproposer:   {}\nstate root: {}\ntxs:        {}",
            b.height, b.hash, b.parent, b.timestamp_ms, b.proposer, b.state_root, b.tx_count
        );
        for t in b.txs.iter().flatten().take(20) {
            out += &format!("\n  {} from {} nonce {}", t.id, t.sender, t.nonce);
        }
        out
    })
}
