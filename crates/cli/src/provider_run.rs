//! `yun provider run`: the provider agent as a command, and the agents `yun devnet` embeds.

use crate::args::{ClientOpts, amount, mib, parse_labels};
use crate::keys::{self, DevAccount, address_of, key_from_mnemonic, yun_home};
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use yun_provider::{AgentConfig, AgentHandle, Fault, Offer, StorageOffer};
use yun_types::Amount;

/// Bond each embedded devnet provider locks: ten times the default minimum.
pub const DEVNET_PROVIDER_BOND: u128 = 10_000_000;
/// Default storage ask per MiB-epoch, in base units: the storage price floor, as the compute
/// ask is the compute floor. The chain pays every proven replica-epoch at least
/// `storage.replica_epoch_pay_min` (at least the min fee), so the ask need not cover proof fees.
pub const DEFAULT_STORAGE_ASK: &str = "1";
const GIB: u64 = 1 << 30;

/// `--storage-gb G` at `--storage-ask A` as the agent's storage offer (none for 0).
pub fn storage_offer(gb: u64, ask: &str) -> anyhow::Result<Option<StorageOffer>> {
    if gb == 0 {
        return Ok(None);
    }
    let capacity_bytes = gb
        .checked_mul(GIB)
        .with_context(|| format!("--storage-gb {gb} is too large"))?;
    Ok(Some(StorageOffer {
        capacity_bytes,
        ask_per_mib_epoch: amount(ask, "--storage-ask")?,
    }))
}

#[derive(Args, Debug, Clone)]
pub struct ProviderRunArgs {
    /// The provider's key: a key name or a dev account (provider0 … on a devnet).
    #[arg(long)]
    pub from: String,
    /// Tasks run at once (one sandbox each); at most this machine's cores unless
    /// `--oversubscribe`.
    #[arg(long, default_value_t = 2)]
    pub slots: u32,
    /// Accept more slots than cores. An assignment that waits for a core can then miss its
    /// commit window and be punished as silence: only for tasks far shorter than the window.
    #[arg(long)]
    pub oversubscribe: bool,
    /// Memory each slot gives a task, in MiB.
    #[arg(long, default_value_t = 512)]
    pub memory_mb: u64,
    /// Lowest price accepted, per million fuel, in base units.
    #[arg(long, default_value = "1")]
    pub ask: String,
    /// Bond locked when registering, in base units.
    #[arg(long, default_value_t = DEVNET_PROVIDER_BOND.to_string())]
    pub bond: String,
    /// A label it carries, `key=value` (repeat for more).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Where outputs are served.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The public URL of the output server, if not http://LISTEN.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The agent's journal, downloads and outputs (default ~/.yun/provider/ADDRESS).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Wall-clock limit per task, in seconds (exceeding it is a host fault, never a verdict).
    #[arg(long, default_value_t = 300)]
    pub wall_time_secs: u64,
    /// Offer this much disk to storage deals, in GiB (0: none): keep the replicas the chain
    /// assigns, prove them every epoch, be paid per MiB-epoch.
    #[arg(long, default_value_t = 0)]
    pub storage_gb: u64,
    /// Lowest price accepted for storage, per MiB per epoch, in base units.
    #[arg(long, default_value = DEFAULT_STORAGE_ASK)]
    pub storage_ask: String,
    /// Misbehave on purpose, to watch verification catch it.
    #[arg(long, value_enum, hide = true)]
    pub inject_fault: Option<FaultArg>,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum FaultArg {
    /// Report a wrong output digest for every task.
    WrongOutput,
}

pub async fn run(args: ProviderRunArgs, opts: &ClientOpts) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    check_slots(args.slots, cores, args.oversubscribe)?;
    let key = keys::signer(&args.from, &opts.dev_lookup()).await?;
    let address = address_of(&key);
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| yun_home().join("provider").join(address.to_string()));
    let cfg = AgentConfig {
        node_url: opts.node.clone(),
        key,
        data_dir,
        serve_listen: args.listen,
        endpoint: args.endpoint,
        offer: Offer {
            slots: args.slots,
            memory_bytes_per_slot: mib(args.memory_mb, "--memory-mb")?,
            storage_bytes: 0,
            labels: parse_labels(&args.labels)?,
            ask_per_mfuel: amount(&args.ask, "--ask")?,
        },
        bond: amount(&args.bond, "--bond")?,
        wall_time_max: Duration::from_secs(args.wall_time_secs),
        fault: args
            .inject_fault
            .map(|FaultArg::WrongOutput| Fault::WrongOutput),
        run_delay: Duration::ZERO,
        storage: storage_offer(args.storage_gb, &args.storage_ask)?,
    };
    let agent = yun_provider::start(cfg).await?;
    println!(
        "provider {} serving outputs at {}; Ctrl-C stops it (running tasks finish first)",
        agent.address, agent.endpoint
    );
    tokio::signal::ctrl_c().await?;
    println!("stopping…");
    agent.shutdown().await
}

/// The agent accepts no more assignments than it can start at once: the chain assigns up to
/// the declared slots, and a commit window is sized for one task at the slowest admitted
/// speed, not for a queue in front of it. So an offer of more slots than cores is refused
/// unless the operator says its tasks are short (`--oversubscribe`).
fn check_slots(slots: u32, cores: usize, oversubscribe: bool) -> anyhow::Result<()> {
    if slots == 0 {
        anyhow::bail!("--slots 0 offers nothing: give at least 1");
    }
    if !oversubscribe && slots as usize > cores {
        anyhow::bail!(
            "--slots {slots} is more than this machine's {cores} cores: an assignment that \
             waits for a core can miss its commit window and be punished as silence. Use \
             --slots {cores} or fewer, or --oversubscribe if every task you accept is far \
             shorter than its window"
        );
    }
    Ok(())
}

/// The i-th embedded devnet provider's account: fixed words, like the dev accounts.
pub fn provider_account(i: usize) -> DevAccount {
    let entropy = blake3::derive_key(
        "yun 2026 devnet provider entropy",
        &(i as u64).to_le_bytes(),
    );
    let m = bip39::Mnemonic::from_entropy(&entropy).expect("32 bytes of entropy");
    DevAccount {
        name: format!("provider{i}"),
        address: address_of(&key_from_mnemonic(&m)),
        mnemonic: m.to_string(),
    }
}

/// Starts the devnet's embedded providers (accounts `provider0…`) with `slots` slots each,
/// serving outputs on `base_port + i` of 127.0.0.1 (any free port if that one is taken, or
/// if `base_port` is 0).
pub async fn start_devnet_agents(
    node_url: &str,
    devnet_dir: &Path,
    accounts: &[DevAccount],
    base_port: u16,
    slots: u32,
    storage: Option<StorageOffer>,
) -> anyhow::Result<Vec<AgentHandle>> {
    let mut agents = Vec::new();
    for (i, a) in accounts.iter().enumerate() {
        let m: bip39::Mnemonic = a.mnemonic.parse().context("provider mnemonic")?;
        let port = base_port.saturating_add(i as u16);
        let listen: SocketAddr =
            if base_port != 0 && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                ([127, 0, 0, 1], port).into()
            } else {
                ([127, 0, 0, 1], 0).into()
            };
        let cfg = AgentConfig {
            node_url: node_url.to_string(),
            key: key_from_mnemonic(&m),
            data_dir: devnet_dir.join("providers").join(&a.name),
            serve_listen: listen,
            endpoint: None,
            offer: Offer {
                slots,
                memory_bytes_per_slot: 512 << 20,
                storage_bytes: 0,
                labels: Vec::new(),
                ask_per_mfuel: Amount::new(1),
            },
            bond: Amount::new(DEVNET_PROVIDER_BOND),
            wall_time_max: Duration::from_secs(300),
            fault: None,
            run_delay: Duration::ZERO,
            storage,
        };
        agents.push(
            yun_provider::start(cfg)
                .await
                .with_context(|| format!("starting {}", a.name))?,
        );
    }
    Ok(agents)
}

#[cfg(test)]
mod tests {
    use super::check_slots;

    #[test]
    fn an_offer_of_more_slots_than_cores_is_refused_unless_oversubscribed() {
        let err = check_slots(3, 2, false).unwrap_err().to_string();
        assert!(err.contains("more than this machine's 2 cores"), "{err}");
        assert!(err.contains("--slots 2"), "{err}");
        assert!(check_slots(2, 2, false).is_ok());
        assert!(check_slots(3, 2, true).is_ok());
        assert!(check_slots(0, 2, true).is_err());
    }
}
