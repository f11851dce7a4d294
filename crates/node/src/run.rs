//! Running a node process: its configuration file, its key, the tokio runtime, authenticated
//! p2p between validators, consensus and the HTTP API, with a clean shutdown.

use crate::api::{ApiState, router};
use crate::engine::{self, Channels};
use crate::mempool::MempoolLimits;
use crate::state::{BlockTiming, NodeState};
use anyhow::{Context as _, bail};
use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::ed25519::PrivateKey;
use commonware_cryptography::ed25519::PublicKey;
use commonware_cryptography::{ChaCha20Poly1305, Signer};
use commonware_p2p::authenticated::discovery;
use commonware_runtime::{Metrics, Quota, Runner, Spawner, Supervisor, tokio as cw_tokio};
use commonware_stream::{cups, sake};
use commonware_utils::{NZU32, NZUsize};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tracing::info;
use yun_store::Store;
use yun_types::{Address, Genesis};

/// Namespace of the p2p handshake, so Yun nodes never talk to other commonware networks.
pub const P2P_NAMESPACE: &[u8] = b"yun/p2p/v1";

/// `node.toml`: everything a node needs besides its genesis and key files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeConfig {
    /// Directory holding the store and consensus journals; relative paths below are inside it.
    pub data_dir: PathBuf,
    pub genesis_file: PathBuf,
    /// Hex of this node's ed25519 consensus key (never a user's account key).
    pub key_file: PathBuf,
    pub api_listen: SocketAddr,
    /// The Ethereum JSON-RPC's own port (it is also at `POST /eth` on the API); none by
    /// default, 8545 in `yun devnet`.
    #[serde(default)]
    pub eth_rpc_listen: Option<SocketAddr>,
    pub p2p_listen: SocketAddr,
    #[serde(default)]
    pub timing: TimingConfig,
    #[serde(default)]
    pub mempool: MempoolConfig,
    #[serde(default = "default_workers")]
    pub worker_threads: usize,
    #[serde(default)]
    pub blobs: BlobsConfig,
    #[serde(default)]
    pub p2p: P2pConfig,
    /// The API's rate, concurrency, time and subscriber limits.
    #[serde(default)]
    pub api: crate::api_limits::ApiLimitsConfig,
}

/// Who this node talks to besides the genesis validators.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct P2pConfig {
    /// Peers dialed first, from which the others' addresses are learned: `HOST:PORT` of a
    /// genesis validator, or `yun1…@HOST:PORT` for any other peer. Empty: every genesis
    /// validator but this node.
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// Identities of full nodes (followers) allowed to connect. Authenticated p2p only talks
    /// to peers it tracks, so validators list the full nodes they serve.
    #[serde(default)]
    pub full_nodes: Vec<Address>,
}

/// The node's blob store (`POST/GET /v1/blobs`): programs and inputs of jobs, and where else
/// they can be fetched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobsConfig {
    pub blob_bytes_max: u64,
    pub store_bytes_max: u64,
    /// Blobs no unsettled job references are deleted this long after their last use.
    pub retention_secs: u64,
    /// Bytes one account may upload here per day (signed upload tickets name the account).
    #[serde(default = "default_upload_bytes_per_account_per_day")]
    pub upload_bytes_per_account_per_day: u64,
    /// Free disk space uploads never take: the chain's own stores need it more.
    #[serde(default = "default_disk_reserve_bytes")]
    pub disk_reserve_bytes: u64,
    /// Other nodes' API base URLs, served at `GET /v1/network/sources` for providers to fetch
    /// from (at most `PEER_API_URLS_MAX`, each http(s) and at most `URL_BYTES_MAX` bytes).
    #[serde(default)]
    pub peer_api_urls: Vec<String>,
}

/// 4 GiB a day per account.
pub const UPLOAD_BYTES_PER_ACCOUNT_PER_DAY_DEFAULT: u64 = 4 << 30;
/// 1 GiB of disk kept free by default.
pub const DISK_RESERVE_BYTES_DEFAULT: u64 = 1 << 30;

fn default_upload_bytes_per_account_per_day() -> u64 {
    UPLOAD_BYTES_PER_ACCOUNT_PER_DAY_DEFAULT
}

fn default_disk_reserve_bytes() -> u64 {
    DISK_RESERVE_BYTES_DEFAULT
}

impl Default for BlobsConfig {
    fn default() -> Self {
        let l = yun_blobs::BlobLimits::default();
        BlobsConfig {
            blob_bytes_max: l.blob_bytes_max,
            store_bytes_max: l.store_bytes_max,
            retention_secs: 24 * 3600,
            upload_bytes_per_account_per_day: UPLOAD_BYTES_PER_ACCOUNT_PER_DAY_DEFAULT,
            disk_reserve_bytes: DISK_RESERVE_BYTES_DEFAULT,
            peer_api_urls: Vec::new(),
        }
    }
}

impl BlobsConfig {
    /// Refuses a peer list past its bounds or with a URL that is not http(s).
    pub fn check(&self) -> anyhow::Result<()> {
        use yun_types::api::PEER_API_URLS_MAX;
        use yun_types::market::URL_BYTES_MAX;
        if self.peer_api_urls.len() > PEER_API_URLS_MAX {
            bail!(
                "[blobs] peer_api_urls lists {} URLs; at most {PEER_API_URLS_MAX}",
                self.peer_api_urls.len()
            );
        }
        for url in &self.peer_api_urls {
            if url.len() > URL_BYTES_MAX
                || !(url.starts_with("http://") || url.starts_with("https://"))
            {
                bail!(
                    "peer API URL {url:?} is not an http(s) URL of at most {URL_BYTES_MAX} bytes"
                );
            }
        }
        Ok(())
    }
}

fn default_workers() -> usize {
    2
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimingConfig {
    pub min_block_interval_ms: u64,
    pub idle_block_interval_ms: u64,
    #[serde(default = "default_busy_ms")]
    pub busy_block_interval_ms: u64,
    pub leader_timeout_ms: u64,
    /// How long building one block should take; blocks are sized to fit it.
    #[serde(default = "default_build_target_ms")]
    pub block_build_target_ms: u64,
    /// How long the mempool's backlog may take to finalize, at the measured throughput,
    /// before the node evicts the lowest fee per byte for a better payer and refuses the
    /// rest (`MempoolFeeRateTooLow`).
    #[serde(default = "default_backlog_wait_ms")]
    pub backlog_wait_ms: u64,
}

fn default_build_target_ms() -> u64 {
    crate::state::BLOCK_BUILD_TARGET_MS_DEFAULT
}

fn default_backlog_wait_ms() -> u64 {
    crate::state::BACKLOG_WAIT_MS_DEFAULT
}

fn default_busy_ms() -> u64 {
    BlockTiming::default().busy_block_interval.as_millis() as u64
}

impl Default for TimingConfig {
    fn default() -> Self {
        let t = BlockTiming::default();
        TimingConfig {
            min_block_interval_ms: t.min_block_interval.as_millis() as u64,
            idle_block_interval_ms: t.idle_block_interval.as_millis() as u64,
            busy_block_interval_ms: t.busy_block_interval.as_millis() as u64,
            leader_timeout_ms: t.leader_timeout.as_millis() as u64,
            block_build_target_ms: t.block_build_target.as_millis() as u64,
            backlog_wait_ms: t.backlog_wait.as_millis() as u64,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MempoolConfig {
    pub txs_max: usize,
    pub per_account_max: usize,
    /// Most bytes of pending transactions (their encoded signed form); when full, the lowest
    /// fee per byte is evicted first.
    #[serde(default = "default_mempool_bytes_max")]
    pub bytes_max: usize,
}

fn default_mempool_bytes_max() -> usize {
    MempoolLimits::default().bytes_max
}

impl Default for MempoolConfig {
    fn default() -> Self {
        let l = MempoolLimits::default();
        MempoolConfig {
            txs_max: l.txs_max,
            per_account_max: l.per_account_max,
            bytes_max: l.bytes_max,
        }
    }
}

impl NodeConfig {
    pub fn load(path: &Path) -> anyhow::Result<NodeConfig> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut cfg: NodeConfig =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if cfg.data_dir.is_relative() {
            let base = path.parent().unwrap_or(Path::new("."));
            cfg.data_dir = if cfg.data_dir == Path::new(".") {
                base.to_path_buf()
            } else {
                base.join(&cfg.data_dir)
            };
        }
        Ok(cfg)
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, toml::to_string_pretty(self)?)?;
        Ok(())
    }

    fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.data_dir.join(p)
        }
    }

    pub fn genesis(&self) -> anyhow::Result<Genesis> {
        let path = self.resolve(&self.genesis_file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn key(&self) -> anyhow::Result<PrivateKey> {
        read_key(&self.resolve(&self.key_file))
    }

    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("state.redb")
    }

    fn timing(&self) -> BlockTiming {
        BlockTiming {
            min_block_interval: Duration::from_millis(self.timing.min_block_interval_ms),
            idle_block_interval: Duration::from_millis(self.timing.idle_block_interval_ms),
            busy_block_interval: Duration::from_millis(self.timing.busy_block_interval_ms),
            leader_timeout: Duration::from_millis(self.timing.leader_timeout_ms),
            block_build_target: Duration::from_millis(self.timing.block_build_target_ms),
            backlog_wait: Duration::from_millis(self.timing.backlog_wait_ms),
        }
    }
}

/// Writes a node key file readable by its owner only: created with mode 0600 from the start
/// and renamed into place whole (`private_file::write_private_file`), so no other user can
/// open it, not even while it is being written.
pub fn write_key(path: &Path, key: &PrivateKey) -> anyhow::Result<()> {
    crate::private_file::write_private_file(path, hex::encode(key.encode()).as_bytes())
}

pub fn read_key(path: &Path) -> anyhow::Result<PrivateKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim()).context("key file is not hex")?;
    PrivateKey::decode(commonware_codec::Copying(&bytes))
        .map_err(|e| anyhow::anyhow!("bad key file: {e}"))
}

/// Runs a node until `shutdown` resolves, on the calling thread. `ready` receives the API
/// address once the node serves requests.
///
/// Everything that can fail on a bad configuration (genesis, key, bootstrap peers, the
/// store) is checked before the runtime starts; inside it, p2p comes up first, then
/// consensus, then the API, and `ready` is told only once the API is listening.
pub fn run_node<F>(
    cfg: NodeConfig,
    ready: Option<std::sync::mpsc::Sender<SocketAddr>>,
    shutdown: F,
) -> anyhow::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let genesis = cfg.genesis()?;
    cfg.blobs.check()?;
    cfg.api.check()?;
    let key = cfg.key()?;
    let me = Address::from_public_key(&key.public_key());
    let bootstrappers = bootstrappers(&genesis, &cfg.p2p, me)?;
    let followers = followers(&cfg.p2p)?;
    let state = open_state(&cfg, &genesis, me)?;
    let runtime_cfg = cw_tokio::Config::new()
        .with_storage_directory(cfg.data_dir.join("consensus"))
        .with_worker_threads(cfg.worker_threads.max(1));
    let runner = cw_tokio::Runner::new(runtime_cfg);
    runner.start(|context| async move {
        let _metric_handles = state.metrics.register(&context);
        let (channels, oracle) = start_p2p(&context, &cfg, &key, bootstrappers);
        let consensus = engine::start(
            context.child("engine"),
            state.clone(),
            key,
            &engine::EngineConfig::node(),
            channels,
            oracle.clone(),
            oracle,
            followers,
        )
        .await;
        let api = start_api(&context, &cfg, &state).await?;
        info!(api_addr = %api.addr, %me, height = state.head().height, "node running");
        if let Some(ready) = ready {
            let _ = ready.send(api.addr);
        }
        let mut fatal = state.fatal.subscribe();
        let stopped_for = tokio::select! {
            _ = shutdown => { info!("shutting down"); None }
            r = consensus => { info!(?r, "consensus stopped"); None }
            // The executor could not commit (a full disk): stop whole, say why, never panic.
            r = fatal.wait_for(Option::is_some) => r.ok().and_then(|f| f.clone()),
        };
        api.stop().await;
        context.stop(0, Some(Duration::from_secs(5))).await.ok();
        match stopped_for {
            Some(reason) => bail!("the node stopped: {reason}"),
            None => Ok(()),
        }
    })
}

/// The configured full nodes' identities (`[p2p] full_nodes`), which every epoch's peer set
/// admits besides the validators: authenticated p2p talks only to peers it tracks.
fn followers(p2p: &P2pConfig) -> anyhow::Result<Vec<PublicKey>> {
    Ok(p2p
        .full_nodes
        .iter()
        .map(|a| a.public_key())
        .collect::<Result<Vec<_>, _>>()?)
}

/// Creates the data directory and opens the state store in it, with the configured block
/// timing and mempool bounds. The store is exclusive, so a second node on the same data
/// directory fails here, before it touches the consensus journals.
fn open_state(cfg: &NodeConfig, genesis: &Genesis, me: Address) -> anyhow::Result<Arc<NodeState>> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    let store = Store::open(&cfg.store_path()).with_context(|| {
        format!(
            "opening the state store in {} (is another yun node using this data directory?)",
            cfg.data_dir.display()
        )
    })?;
    let mut state = NodeState::new(
        store,
        genesis.clone(),
        me,
        cfg.timing(),
        MempoolLimits {
            txs_max: cfg.mempool.txs_max,
            per_account_max: cfg.mempool.per_account_max,
            bytes_max: cfg.mempool.bytes_max,
            ..MempoolLimits::default()
        },
    )?;
    // Evidence not yet used by the chain outlives a restart.
    state.evidence = Arc::new(crate::evidence::EvidencePool::open(
        &cfg.data_dir.join(crate::evidence::EVIDENCE_FILE),
    )?);
    Ok(Arc::new(state))
}

/// The registered p2p channels on the tokio runtime.
type P2pChannels =
    Channels<discovery::Sender<PublicKey, cw_tokio::Context>, discovery::Receiver<PublicKey>>;

/// Starts the authenticated p2p network (handshake under [`P2P_NAMESPACE`] signed with the
/// node's key, dialing `bootstrappers` first) with consensus's and gossip's channels
/// registered; returns them and the oracle that tracks peer sets and blocks peers.
fn start_p2p(
    context: &cw_tokio::Context,
    cfg: &NodeConfig,
    key: &PrivateKey,
    bootstrappers: Vec<(PublicKey, commonware_p2p::Ingress)>,
) -> (P2pChannels, discovery::Oracle<PublicKey>) {
    let handshake = cups::Cups::<_, ChaCha20Poly1305>::new(
        sake::Sake {
            signer: key.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let mut p2p_cfg = discovery::Config::local(
        handshake,
        P2P_NAMESPACE,
        cfg.p2p_listen,
        cfg.p2p_listen,
        bootstrappers,
        NZUsize!(P2P_PEERS_MAX),
        engine::P2P_MESSAGE_BYTES_MAX,
        NZUsize!(P2P_MAILBOX_SIZE),
    );
    // One peer set at a time, the running epoch's (the orchestrator tracks each epoch's as
    // it enters it): every further set would multiply each channel's preallocated inbound
    // mailbox, and a validator that left the set stays admitted as a candidate follower.
    p2p_cfg.tracked_peer_sets = NZUsize!(1);
    // The stock pace (one dial every 500 ms, a peer redialed 1 s after a failed attempt) left
    // a 4-validator localnet partly unconnected for 1.5–3 s after start: a leader's first
    // proposals reached too few peers and the view waited out the leader timeout.
    p2p_cfg.dial_frequency = P2P_DIAL_EVERY;
    p2p_cfg.peer_connection_cooldown = P2P_REDIAL_AFTER;
    let (mut network, oracle) = discovery::Network::new(context.child("network"), p2p_cfg);
    // Each channel preallocates (peers × burst) inbound slots and the router their sum,
    // so bursts stay small: with a burst of 4096 a node held ~3 GB before sending anything.
    // A peer past its rate is only slowed down (its messages wait), never dropped.
    let fast = Quota::per_second(NZU32!(P2P_FAST_MESSAGES_PER_SEC))
        .allow_burst(NZU32!(P2P_BURST_MESSAGES));
    let slow = Quota::per_second(NZU32!(P2P_SLOW_MESSAGES_PER_SEC))
        .allow_burst(NZU32!(P2P_BURST_MESSAGES));
    let channels = Channels {
        votes: network.register(engine::CHANNEL_VOTES, fast),
        certificates: network.register(engine::CHANNEL_CERTIFICATES, fast),
        cert_resolver: network.register(engine::CHANNEL_CERT_RESOLVER, fast),
        blocks: network.register(engine::CHANNEL_BLOCKS, slow),
        backfill: network.register(engine::CHANNEL_BACKFILL, slow),
        txs: network.register(engine::CHANNEL_TXS, fast),
    };
    network.start();
    (channels, oracle)
}
/// The running HTTP API and the blob sweeper beside it.
struct RunningApi {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    gc: tokio::task::JoinHandle<()>,
    /// The JSON-RPC's own listener, if configured (stopped with the API).
    eth_rpc: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Binds the API listener, opens the blob store, starts its sweeper and serves the node's
/// routes with the blob routes merged in. Runs after consensus started, so the API never
/// answers for a node whose consensus failed to come up.
async fn start_api(
    context: &cw_tokio::Context,
    cfg: &NodeConfig,
    state: &Arc<NodeState>,
) -> anyhow::Result<RunningApi> {
    let listener = tokio::net::TcpListener::bind(cfg.api_listen)
        .await
        .with_context(|| format!("binding the API on {}", cfg.api_listen))?;
    let addr = listener.local_addr()?;
    let metrics_ctx = Arc::new(context.child("api"));
    let peers_ctx = metrics_ctx.clone();
    let api = ApiState {
        node: state.clone(),
        metrics_text: Arc::new(move || metrics_ctx.encode()),
        peers: {
            let cache = crate::peers::PeersCache::new(
                move || crate::peers::connected(&peers_ctx.encode()),
                crate::peers::PEERS_VIEW_AGE_MAX,
            );
            Arc::new(move || cache.get())
        },
    };
    let blobs = Arc::new(
        yun_blobs::BlobStore::open(
            &cfg.data_dir.join("blobs"),
            yun_blobs::BlobLimits {
                blob_bytes_max: cfg.blobs.blob_bytes_max,
                store_bytes_max: cfg.blobs.store_bytes_max,
            },
        )
        .context("opening the blob store")?,
    );
    let gc = tokio::spawn(crate::blob_gc::run(
        state.clone(),
        blobs.clone(),
        Duration::from_secs(cfg.blobs.retention_secs),
    ));
    let plane = crate::api_data::DataPlane::new(
        state.clone(),
        blobs.clone(),
        crate::api_data::UploadLimits {
            bytes_per_account_per_day: cfg.blobs.upload_bytes_per_account_per_day,
            quota_accounts_max: crate::upload_quota::UPLOAD_QUOTA_ACCOUNTS_MAX,
            disk_reserve_bytes: cfg.blobs.disk_reserve_bytes,
        },
        cfg.blobs.peer_api_urls.clone(),
    );
    let eth_rpc = match cfg.eth_rpc_listen {
        Some(at) => {
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("binding the Ethereum JSON-RPC on {at}"))?;
            let app = crate::eth_rpc::standalone(api.clone());
            let limits = cfg.api.clone();
            Some(tokio::spawn(async move {
                crate::api_serve::serve(listener, app, &limits, std::future::pending()).await
            }))
        }
        None => None,
    };
    // Downloads as the blob crate serves them; uploads only through the ticket check.
    let app = router(api)
        .merge(yun_blobs::read_routes(blobs))
        .merge(crate::api_data::routes(Arc::new(plane)));
    let (stop, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = cfg.api.clone();
    let server = tokio::spawn(async move {
        crate::api_serve::serve(listener, app, &limits, async move {
            let _ = api_stopped.await;
        })
        .await
    });
    Ok(RunningApi {
        addr,
        stop,
        server,
        gc,
        eth_rpc,
    })
}

impl RunningApi {
    /// Stops the API gracefully, but bounded: an event stream a client never closes must not
    /// hold the node open past [`API_SHUTDOWN_GRACE`]. Then stops the blob sweeper.
    async fn stop(self) {
        let _ = self.stop.send(());
        let abort = self.server.abort_handle();
        if tokio::time::timeout(API_SHUTDOWN_GRACE, self.server)
            .await
            .is_err()
        {
            abort.abort();
        }
        self.gc.abort();
        if let Some(rpc) = self.eth_rpc {
            rpc.abort();
        }
    }
}

/// Most peers one peer set may hold (validators plus the full nodes they serve). Each
/// channel preallocates `P2P_PEERS_MAX × P2P_BURST_MESSAGES` inbound slots, so this stays modest.
pub const P2P_PEERS_MAX: usize = 128;
/// Per-peer message rate of the consensus-critical and transaction channels.
pub const P2P_FAST_MESSAGES_PER_SEC: u32 = 4096;
/// Per-peer message rate of the block and backfill channels (large messages).
pub const P2P_SLOW_MESSAGES_PER_SEC: u32 = 256;
/// Messages a peer may send at once before its rate applies.
pub const P2P_BURST_MESSAGES: u32 = 64;
/// Per-peer inbound backlog of a p2p channel, in messages.
pub const P2P_MAILBOX_SIZE: usize = 256;
/// How often the dialer tries one more unconnected peer: all of a 100-validator set within
/// 5 s, and each dial is one TCP connect and handshake, so this costs nothing once connected.
pub const P2P_DIAL_EVERY: Duration = Duration::from_millis(50);
/// How soon one peer is dialed (or accepted) again after an attempt, such as a dial made
/// before the peer was listening (commonware adds up to half of it as jitter). A peer of the
/// set can so reconnect about four times a second instead of once; each time is a handshake,
/// which the per-IP handshake quota (16 a second) bounds. An offline validator is redialed as
/// often: a few connection attempts a second per absent peer.
pub const P2P_REDIAL_AFTER: Duration = Duration::from_millis(250);

/// A validator votes and proposes; a full node follows finalized blocks and serves the API.
pub type Role = yun_types::api::NodeRole;

/// The peers dialed at start: `[p2p] bootstrap`, or every other genesis validator.
fn bootstrappers(
    genesis: &Genesis,
    p2p: &P2pConfig,
    me: Address,
) -> anyhow::Result<Vec<(PublicKey, commonware_p2p::Ingress)>> {
    if p2p.bootstrap.is_empty() {
        return genesis
            .validators
            .iter()
            .filter(|v| v.address != me)
            .map(|v| Ok((v.address.public_key()?, socket(&v.p2p_address)?.into())))
            .collect();
    }
    p2p.bootstrap
        .iter()
        .map(|entry| {
            let (address, addr) = match entry.split_once('@') {
                Some((a, hp)) => (
                    a.parse::<Address>()
                        .map_err(|e| anyhow::anyhow!("bootstrap peer {entry}: {e}"))?,
                    socket(hp)?,
                ),
                None => {
                    let addr = socket(entry)?;
                    let v = genesis
                        .validators
                        .iter()
                        .find(|v| socket(&v.p2p_address).ok() == Some(addr))
                        .with_context(|| {
                            format!(
                                "bootstrap peer {entry} is no genesis validator's p2p address; give any other peer as yun1…@HOST:PORT"
                            )
                        })?;
                    (v.address, addr)
                }
            };
            Ok((address.public_key()?, addr.into()))
        })
        .collect()
}

fn socket(s: &str) -> anyhow::Result<SocketAddr> {
    s.parse()
        .with_context(|| format!("{s} is not an IP:PORT address"))
}

/// How long a stopping node waits for open API connections (event streams) to close.
pub const API_SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A node running on its own thread (tests, `yun devnet`, benchmarks).
#[derive(Debug)]
pub struct NodeHandle {
    pub api_addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl NodeHandle {
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// Stops the node and waits for it to exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("node thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for NodeHandle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Starts a node on a background thread and waits until its API is up.
pub fn spawn_node(cfg: NodeConfig) -> anyhow::Result<NodeHandle> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("yun-node".into())
        .spawn(move || {
            run_node(cfg, Some(ready_tx), async move {
                let _ = stop_rx.await;
            })
        })?;
    match ready_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(api_addr) => Ok(NodeHandle {
            api_addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Err(_) => {
            let result = thread
                .join()
                .map_err(|_| anyhow::anyhow!("node thread panicked"))?;
            result?;
            bail!("node did not become ready")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn key_files_are_the_owners_alone_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        // A file left readable by a previous tool is restricted before the key goes in.
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let key = PrivateKey::from_seed(7);
        write_key(&path, &key).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_key(&path).unwrap().encode(), key.encode());
        let fresh = dir.path().join("fresh.key");
        write_key(&fresh, &key).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
