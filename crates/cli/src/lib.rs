//! The `yun` command line: keys, transactions, queries, a devnet, a node and benchmarks, as a
//! library so tests drive the same code the binary runs.

pub mod args;
pub mod bench;
pub mod bench_evm;
pub mod bench_jobs;
mod bench_stages;
pub mod bench_storage;
pub mod commands;
pub mod devnet;
pub mod eth_dev;
pub mod gov;
pub mod job_keys;
pub mod jobfile;
pub mod keep;
pub mod keys;
pub mod keystore_v3;
pub mod localnet;
pub mod market;
pub mod market_text;
pub mod output;
pub mod provider_run;
pub mod results;
pub mod run;
pub mod signing;
pub mod stake;
pub mod storage;
pub mod storage_text;
pub mod submit;
pub mod verify;

pub use args::ClientOpts;
pub use commands::{DevnetArgs, KeysCmd, TxCmd};
pub use output::Output;
pub use signing::SignOpts;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "yun",
    version,
    about = "Yun (云): a decentralized compute cloud — chain, market and sandbox"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create, import and list account keys (kept encrypted on this machine).
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Start a whole single-machine network: one validator and the API on 127.0.0.1.
    Devnet(DevnetArgs),
    /// Start a network of N validators (and full nodes), one process each, on 127.0.0.1.
    Localnet(localnet::LocalnetArgs),
    /// Run a node from a configuration file.
    Node {
        #[command(subcommand)]
        cmd: NodeCmd,
    },
    /// Build, sign and submit transactions, or look one up.
    Tx {
        #[command(subcommand)]
        cmd: TxCmd,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Show an account's balance and nonce (an address or a key name).
    Account {
        address: String,
        /// Also fetch and check a Merkle proof of the account against the state root.
        #[arg(long)]
        proof: bool,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Show the node's chain, head, validators and mempool.
    Status {
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Show a finalized block: a height or `latest`.
    Block {
        height: String,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Offer compute as a provider: register, update, pause, exit, status, assignments.
    Provider {
        #[command(subcommand)]
        cmd: market::ProviderCmd,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Post, cancel and inspect compute jobs, and ask why one waits.
    Job {
        #[command(subcommand)]
        cmd: market::JobCmd,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Show the compute market: price index, slots, queue, recent clearing prices, parameters.
    Market {
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Storage deals: put a file (optionally encrypted) under r replicas for N epochs, get it
    /// back verified, list, show and cancel deals.
    Storage {
        #[command(subcommand)]
        cmd: storage::StorageCmd,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Delegated proof of stake: validators, delegations, registering and unjailing.
    Stake {
        #[command(subcommand)]
        cmd: stake::StakeCmd,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Vote-escrowed governance: lock, unlock, propose, vote, show, list, power.
    Gov {
        #[command(subcommand)]
        cmd: gov::GovCmd,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Claim test tokens from a chain whose genesis enables the faucet: solves its
    /// proof-of-work puzzle (with a progress bar) and submits the claim without a fee.
    Faucet {
        #[command(flatten)]
        args: gov::FaucetArgs,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Whole-chain checks.
    Chain {
        #[command(subcommand)]
        cmd: ChainCmd,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Run a job module locally, exactly as a provider's sandbox would, and show its verdict.
    Run(run::RunArgs),
    /// Benchmarks that print what they measured.
    Bench {
        #[command(subcommand)]
        cmd: BenchCmd,
    },
}

#[derive(Subcommand, Debug)]
pub enum NodeCmd {
    /// Run a node until Ctrl-C.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// Peers to dial first, replacing `[p2p] bootstrap`: `HOST:PORT` of a genesis
        /// validator or `yun1…@HOST:PORT`, comma-separated.
        #[arg(long, value_delimiter = ',')]
        bootstrap: Vec<String>,
        /// Other nodes' API base URLs that serve blobs, replacing `[blobs] peer_api_urls`
        /// (listed at `GET /v1/network/sources` for providers to fetch from): repeat or
        /// comma-separate.
        #[arg(long = "peer-api", value_delimiter = ',')]
        peer_api: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ChainCmd {
    /// Re-validate the node's whole chain from genesis: links, signatures, re-executed state roots.
    Verify,
}

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Pre-signed transfers from many accounts, at full speed, against a devnet it starts.
    Transfers(bench::TransfersArgs),
    /// Signed raw Ethereum transactions (native-value transfers, then ERC-20 `transfer`
    /// calls) from many accounts at full speed against a devnet it starts; the same flags as
    /// `transfers`.
    Evm(bench::TransfersArgs),
    /// Jobs end to end against a devnet with embedded providers: round trips, settled tasks
    /// per second, and scheduling overhead on CPU-bound tasks.
    Jobs(bench_jobs::JobsArgs),
    /// Storage on one blob over 127.0.0.1: upload, verified download from one and two holders,
    /// storage proofs made and checked, and a repair into a fresh store.
    Storage(bench_storage::StorageArgs),
}

/// Parses the command line and runs it; errors become one line on stderr and exit code 1.
pub fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YUN_LOG")
        .unwrap_or_else(|_| "warn,yun_node=info,yun_provider=info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::Run(args) = cli.command {
        return run::run(args).unwrap_or_else(|e| report(&e));
    }
    let result = match cli.command {
        Command::Run(_) => unreachable!("handled above"),
        Command::Keys { cmd } => commands::keys(cmd),
        Command::Devnet(args) => commands::devnet(args),
        Command::Localnet(args) => localnet::localnet(args),
        Command::Node {
            cmd:
                NodeCmd::Run {
                    config,
                    bootstrap,
                    peer_api,
                },
        } => commands::node_run(&config, bootstrap, peer_api),
        Command::Tx { cmd, client } => commands::block_on(commands::tx(cmd, &client)),
        Command::Account {
            address,
            proof,
            client,
        } => commands::block_on(commands::account(&address, proof, &client)),
        Command::Status { client } => commands::block_on(commands::status(&client)),
        Command::Block { height, client } => commands::block_on(commands::block(&height, &client)),
        Command::Provider { cmd, client } => commands::block_on(market::provider(cmd, &client)),
        Command::Job { cmd, client } => commands::block_on(market::job(cmd, &client)),
        Command::Market { client } => commands::block_on(market::market(&client)),
        Command::Stake { cmd, client } => commands::block_on(stake::stake(cmd, &client)),
        Command::Storage { cmd, client } => commands::block_on(storage::storage(cmd, &client)),
        Command::Gov { cmd, client } => commands::block_on(gov::gov(cmd, &client)),
        Command::Faucet { args, client } => commands::block_on(gov::faucet(args, &client)),
        Command::Chain {
            cmd: ChainCmd::Verify,
            client,
        } => commands::block_on(verify::verify(&client)),
        Command::Bench {
            cmd: BenchCmd::Transfers(args),
        } => bench::transfers(args),
        Command::Bench {
            cmd: BenchCmd::Evm(args),
        } => bench_evm::evm(args),
        Command::Bench {
            cmd: BenchCmd::Jobs(args),
        } => bench_jobs::jobs(args),
        Command::Bench {
            cmd: BenchCmd::Storage(args),
        } => bench_storage::storage(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// One line (plus any hint lines) on stderr, exit code 1.
fn report(e: &anyhow::Error) -> ExitCode {
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    eprintln!("error: {}", chain.join(": "));
    ExitCode::FAILURE
}
