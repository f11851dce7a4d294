//! Wires consensus: simplex (votes, certificates) over p2p, marshal (block dissemination,
//! backfill, finalized-block delivery) and our application. Generic over the runtime and the
//! p2p channels, so the same wiring runs on tokio with authenticated TCP or on commonware's
//! deterministic runtime with its simulated network.

use crate::app::{App, Marshal};
use crate::epochs::{self, Orchestrator, Schemes, SimplexSettings};
use crate::executor::{self, FinalizedSink};
use crate::state::NodeState;
use commonware_broadcast::buffered;
use commonware_consensus::marshal::{
    self, Start,
    standard::{Inline, Standard},
};
use commonware_consensus::simplex::types::Finalization;
use commonware_consensus::types::{FixedEpocher, ViewDelta};
use commonware_cryptography::certificate::Verifier as _;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_cryptography::{Digested, Digestible, Signer};
use commonware_p2p::{Blocker, Manager, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::Handle;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_storage::archive::immutable;
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize};
use std::sync::Arc;
use std::time::Duration;
use yun_types::block::ConsensusDigest;
use yun_types::{Block, SeedSigner};

pub use yun_types::evidence::CONSENSUS_NAMESPACE;
/// Largest p2p message, in bytes: a full block plus framing.
pub const P2P_MESSAGE_BYTES_MAX: u32 = 16 * 1024 * 1024;

/// p2p channel ids.
pub const CHANNEL_VOTES: u64 = 0;
pub const CHANNEL_CERTIFICATES: u64 = 1;
pub const CHANNEL_CERT_RESOLVER: u64 = 2;
pub const CHANNEL_BLOCKS: u64 = 3;
pub const CHANNEL_BACKFILL: u64 = 4;
pub const CHANNEL_TXS: u64 = 5;

/// The registered p2p channels: five for consensus, one for transaction gossip.
#[derive(Debug)]
pub struct Channels<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub cert_resolver: (S, R),
    pub blocks: (S, R),
    pub backfill: (S, R),
    pub txs: (S, R),
}

pub use crate::epochs::Scheme;

/// Storage and queue sizes of the consensus stack. They change speed and memory, never what
/// is agreed: a real node uses [`EngineConfig::node`], a simulated one the small
/// [`EngineConfig::simulation`] (the simulated storage copies a whole blob on every sync, so
/// production-sized tables made each simulated run several times slower).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Names this node's storage partitions: empty on a real node, which owns its runtime's
    /// storage; distinct per node when several share one simulated runtime.
    pub partition_prefix: String,
    /// Backlog of each consensus actor's mailbox, in messages.
    pub mailbox_size: usize,
    /// Initial slots of the finalized archives' hash tables (they grow as needed).
    pub freezer_table_initial_size: u32,
    /// Finalized items per archive section.
    pub items_per_section: u64,
    /// Read-ahead when replaying journals and write buffers, in bytes.
    pub buffer_bytes: usize,
    /// Pages (4 KiB) of the storage page cache.
    pub page_cache_pages: usize,
    /// Fault injection for the simulation's faulty proposers, never set on a real node (see
    /// [`crate::app::ProposerFaults`]).
    pub faults: crate::app::ProposerFaults,
}

impl EngineConfig {
    pub fn node() -> EngineConfig {
        EngineConfig {
            partition_prefix: String::new(),
            mailbox_size: 1_024,
            freezer_table_initial_size: 1 << 16,
            items_per_section: 262_144,
            buffer_bytes: 1 << 20,
            page_cache_pages: 8_192,
            faults: Default::default(),
        }
    }

    pub fn simulation(partition_prefix: String) -> EngineConfig {
        EngineConfig {
            partition_prefix,
            mailbox_size: 256,
            freezer_table_initial_size: 1 << 8,
            items_per_section: 4_096,
            buffer_bytes: 64 << 10,
            page_cache_pages: 64,
            faults: Default::default(),
        }
    }
}

/// Starts marshal, the finalized-block executor and the epoch orchestrator (which runs
/// simplex); returns the orchestrator's handle. `followers` are the configured full nodes
/// every epoch's peer set admits besides its validators and candidates.
///
/// The steps run in this order on purpose: every actor is spawned in the same sequence on
/// every node, so a deterministic simulation replays identically, and marshal is started
/// only once the executor that receives its finalized blocks is running.
#[allow(clippy::too_many_arguments)]
pub async fn start<E, S, R, M, B>(
    context: E,
    state: Arc<NodeState>,
    key: PrivateKey,
    cfg: &EngineConfig,
    channels: Channels<S, R>,
    manager: M,
    blocker: B,
    followers: Vec<PublicKey>,
) -> Handle<()>
where
    E: epochs::Runtime,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    M: Manager<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    let Channels {
        votes,
        certificates,
        cert_resolver,
        blocks,
        backfill,
        txs,
    } = channels;
    let me = key.public_key();
    let settings = simplex_settings(cfg);
    let epocher = epochs::epocher(&state);
    let schemes = Schemes::default();
    let mcfg = marshal_config(&state, &schemes, &epocher, &settings);
    let resolver = start_resolver(&context, &me, &manager, &blocker, &settings, backfill);
    let buffer = start_broadcast(&context, &me, &manager, &settings, blocks);
    let (actor, mailbox) = init_marshal(&context, cfg, &settings, mcfg).await;
    let sink = spawn_node_tasks(&context, &state, &key, &blocker, txs);
    actor.start(sink, buffer, resolver);

    let seed = SeedSigner::from_node_key(&key);
    let application = application(&context, &state, &mailbox, epocher, (seed, cfg.faults));
    let orchestrator = Orchestrator {
        context: context.child("orchestrator"),
        state,
        key,
        schemes,
        manager,
        blocker,
        marshal: mailbox,
        application,
        followers,
        settings,
    };
    context
        .child("epochs")
        .spawn(move |_| orchestrator.run(votes, certificates, cert_resolver))
}

/// Marshal's backfill resolver: its handler's queue and the mailbox marshal asks through.
type Resolver = (
    marshal::resolver::handler::Receiver<ConsensusDigest>,
    marshal::resolver::p2p::Mailbox<ConsensusDigest, PublicKey>,
);

/// The archive of finalization certificates, by height.
type Finalizations<E> =
    immutable::Archive<E, ConsensusDigest, Finalization<Scheme, ConsensusDigest>>;

/// The archive of finalized blocks, by height.
type FinalizedBlocks<E> = immutable::Archive<E, ConsensusDigest, Arc<Block>>;

/// Marshal's actor over our block type, archives, schemes and epocher.
type MarshalActor<E> = marshal::core::Actor<
    E,
    Standard<Block>,
    Schemes,
    Finalizations<E>,
    FinalizedBlocks<E>,
    FixedEpocher,
    Sequential,
>;

/// The sizes marshal and every epoch's simplex engine share, from the engine config: each
/// count at least 1 (a zero in the config must not panic a node), pages of 4 KiB.
fn simplex_settings(cfg: &EngineConfig) -> SimplexSettings {
    let non_zero = |n: usize| std::num::NonZeroUsize::new(n.max(1)).expect("non-zero");
    SimplexSettings {
        partition_prefix: cfg.partition_prefix.clone(),
        mailbox_size: non_zero(cfg.mailbox_size),
        buffer_bytes: non_zero(cfg.buffer_bytes),
        page_cache: CacheRef::new(NZU16!(4096), non_zero(cfg.page_cache_pages)),
    }
}

/// Marshal's configuration. It starts from the stored genesis block (a restarted node
/// resumes from marshal's own journals) and holds at most [`executor::FINALIZED_UNACKED_MAX`]
/// finalized blocks the executor has not acknowledged, which bounds the executor's queue.
fn marshal_config(
    state: &NodeState,
    schemes: &Schemes,
    epocher: &FixedEpocher,
    settings: &SimplexSettings,
) -> marshal::Config<Schemes, FixedEpocher, Sequential, Block, Digested<Block>, ConsensusDigest> {
    let genesis = state
        .store
        .block(0)
        .expect("store read")
        .expect("genesis block stored");
    let genesis_digest = genesis.digest();
    marshal::Config {
        provider: schemes.clone(),
        epocher: epocher.clone(),
        start: Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
        partition_prefix: format!("{}yun-marshal", settings.partition_prefix),
        mailbox_size: settings.mailbox_size,
        view_retention: ViewDelta::new(2_560),
        prunable_items_per_section: NZU64!(4_096),
        page_cache: settings.page_cache.clone(),
        replay_buffer: settings.buffer_bytes,
        key_write_buffer: settings.buffer_bytes,
        value_write_buffer: settings.buffer_bytes,
        block_codec_config: (),
        max_repair: NZUsize!(20),
        max_pending_acks: std::num::NonZeroUsize::new(executor::FINALIZED_UNACKED_MAX)
            .expect("non-zero"),
        strategy: Sequential,
    }
}

/// Starts the resolver marshal fetches missing blocks and certificates with, over the
/// backfill channel, from the peers the manager tracks (blocking peers that answer wrongly).
fn start_resolver<E, S, R, M, B>(
    context: &E,
    me: &PublicKey,
    manager: &M,
    blocker: &B,
    settings: &SimplexSettings,
    backfill: (S, R),
) -> Resolver
where
    E: epochs::Runtime,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    M: Manager<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    marshal::resolver::p2p::init(
        context.child("marshal_resolver"),
        marshal::resolver::p2p::Config {
            public_key: me.clone(),
            peer_provider: manager.clone(),
            blocker: blocker.clone(),
            mailbox_size: settings.mailbox_size,
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        backfill,
    )
}

/// Starts the buffered broadcast engine on the blocks channel, which carries proposed blocks
/// to peers and keeps recent ones for marshal; returns its mailbox.
fn start_broadcast<E, S, R, M>(
    context: &E,
    me: &PublicKey,
    manager: &M,
    settings: &SimplexSettings,
    blocks: (S, R),
) -> buffered::Mailbox<PublicKey, Block>
where
    E: epochs::Runtime,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    M: Manager<PublicKey = PublicKey>,
{
    let (broadcast, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size: settings.mailbox_size,
            deque_size: 10,
            priority: false,
            codec_config: (),
            peer_provider: manager.clone(),
            strategy: Sequential,
        },
    );
    broadcast.start(blocks);
    buffer
}

/// Opens marshal's two finalized archives (certificates, then blocks) and initializes its
/// actor on them; the actor is started later, once the executor runs.
async fn init_marshal<E: epochs::Runtime>(
    context: &E,
    cfg: &EngineConfig,
    settings: &SimplexSettings,
    mcfg: marshal::Config<
        Schemes,
        FixedEpocher,
        Sequential,
        Block,
        Digested<Block>,
        ConsensusDigest,
    >,
) -> (MarshalActor<E>, Marshal) {
    let prefix = &settings.partition_prefix;
    let finalizations: Finalizations<E> = immutable::Archive::init(
        context.child("finalizations_by_height"),
        archive_config(
            &format!("{prefix}yun-finalizations"),
            &settings.page_cache,
            Scheme::certificate_codec_config_unbounded(),
            cfg,
        ),
    )
    .await
    .expect("open finalizations archive");
    let blocks: FinalizedBlocks<E> = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(
            &format!("{prefix}yun-blocks"),
            &settings.page_cache,
            (),
            cfg,
        ),
    )
    .await
    .expect("open blocks archive");
    let (actor, mailbox, _floor) =
        marshal::core::Actor::init(context.child("marshal"), finalizations, blocks, mcfg).await;
    (actor, mailbox)
}

/// Spawns the node's tasks beside consensus: transaction gossip (blocking peers that send
/// garbage), the evidence submitter and the executor of finalized blocks. Returns the sink
/// marshal delivers finalized blocks into, feeding that executor.
fn spawn_node_tasks<E, S, R, B>(
    context: &E,
    state: &Arc<NodeState>,
    key: &PrivateKey,
    blocker: &B,
    txs: (S, R),
) -> FinalizedSink
where
    E: epochs::Runtime,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    let gossip_state = state.clone();
    let gossip_blocker = blocker.clone();
    context
        .child("gossip")
        .dedicated()
        .spawn(move |ctx| crate::gossip::run(ctx, gossip_state, txs, gossip_blocker));

    // Every node runs the loop; it submits only while this node is in the active set.
    let evidence_state = state.clone();
    let evidence_key = key.clone();
    context
        .child("evidence")
        .spawn(move |ctx| crate::evidence_submit::submit_loop(ctx, evidence_state, evidence_key));

    let (sink, finalized) = FinalizedSink::new(context.child("finalized"));
    let exec_state = state.clone();
    context
        .child("executor")
        .dedicated()
        .spawn(move |ctx| executor::run(ctx, exec_state, finalized));
    sink
}

/// The application consensus drives (propose / verify), wrapped by marshal's `Inline`, which
/// re-proposes an epoch's last block until the next epoch starts.
fn application<E: epochs::Runtime>(
    context: &E,
    state: &Arc<NodeState>,
    mailbox: &Marshal,
    epocher: FixedEpocher,
    (seed, faults): (SeedSigner, crate::app::ProposerFaults),
) -> epochs::App<E> {
    let app = App {
        state: state.clone(),
        marshal: mailbox.clone(),
        seed,
        faults,
        signed_seed: Default::default(),
    };
    Inline::new(context.child("application"), app, mailbox.clone(), epocher)
}

/// An immutable archive's configuration: partitions named after `name`, sizes from `cfg`.
fn archive_config<C>(
    name: &str,
    page_cache: &CacheRef,
    codec_config: C,
    cfg: &EngineConfig,
) -> immutable::Config<C> {
    let buffer = std::num::NonZeroUsize::new(cfg.buffer_bytes.max(1)).expect("non-zero");
    immutable::Config {
        metadata_partition: format!("{name}-metadata"),
        freezer_table_partition: format!("{name}-freezer-table"),
        freezer_table_initial_size: cfg.freezer_table_initial_size,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 1 << 16,
        freezer_key_partition: format!("{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{name}-freezer-value"),
        freezer_value_target_size: 1 << 30,
        freezer_value_compression: Some(3),
        ordinal_partition: format!("{name}-ordinal"),
        items_per_section: std::num::NonZeroU64::new(cfg.items_per_section.max(1))
            .expect("non-zero"),
        codec_config,
        replay_buffer: buffer,
        freezer_key_write_buffer: buffer,
        freezer_value_write_buffer: buffer,
        ordinal_write_buffer: buffer,
    }
}
