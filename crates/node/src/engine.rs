//! Wires consensus: simplex (votes, certificates) over p2p, marshal (block dissemination,
//! backfill, finalized-block delivery) and our application. Generic over the runtime and the
//! p2p channels, so the same wiring runs on tokio with authenticated TCP or on commonware's
//! deterministic runtime with its simulated network.

use crate::app::App;
use crate::epochs::{self, Orchestrator, Schemes, SimplexSettings};
use crate::executor::{self, FinalizedSink};
use crate::state::NodeState;
use commonware_broadcast::buffered;
use commonware_consensus::marshal::{self, Start, standard::Inline};
use commonware_consensus::types::ViewDelta;
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
        }
    }
}

/// Starts marshal, the finalized-block executor and the epoch orchestrator (which runs
/// simplex); returns the orchestrator's handle. `followers` are the configured full nodes
/// every epoch's peer set admits besides its validators and candidates.
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
    let me = key.public_key();
    let genesis = state
        .store
        .block(0)
        .expect("store read")
        .expect("genesis block stored");
    let genesis_digest = genesis.digest();
    let partition_prefix = &cfg.partition_prefix;
    let mailbox_size = std::num::NonZeroUsize::new(cfg.mailbox_size.max(1)).expect("non-zero");
    let buffer_bytes = std::num::NonZeroUsize::new(cfg.buffer_bytes.max(1)).expect("non-zero");
    let page_cache = CacheRef::new(
        NZU16!(4096),
        std::num::NonZeroUsize::new(cfg.page_cache_pages.max(1)).expect("non-zero"),
    );
    let epocher = epochs::epocher(&state);
    let schemes = Schemes::default();
    let mcfg = marshal::Config {
        provider: schemes.clone(),
        epocher: epocher.clone(),
        start: Start::Genesis(Digested::precomputed(genesis.clone(), genesis_digest)),
        partition_prefix: format!("{partition_prefix}yun-marshal"),
        mailbox_size,
        view_retention: ViewDelta::new(2_560),
        prunable_items_per_section: NZU64!(4_096),
        page_cache: page_cache.clone(),
        replay_buffer: buffer_bytes,
        key_write_buffer: buffer_bytes,
        value_write_buffer: buffer_bytes,
        block_codec_config: (),
        max_repair: NZUsize!(20),
        max_pending_acks: std::num::NonZeroUsize::new(executor::FINALIZED_UNACKED_MAX)
            .expect("non-zero"),
        strategy: Sequential,
    };

    let resolver = marshal::resolver::p2p::init(
        context.child("marshal_resolver"),
        marshal::resolver::p2p::Config {
            public_key: me.clone(),
            peer_provider: manager.clone(),
            blocker: blocker.clone(),
            mailbox_size,
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );
    let (broadcast, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size,
            deque_size: 10,
            priority: false,
            codec_config: (),
            peer_provider: manager.clone(),
            strategy: Sequential,
        },
    );
    broadcast.start(channels.blocks);

    let finalizations = immutable::Archive::init(
        context.child("finalizations_by_height"),
        archive_config(
            &format!("{partition_prefix}yun-finalizations"),
            &page_cache,
            Scheme::certificate_codec_config_unbounded(),
            cfg,
        ),
    )
    .await
    .expect("open finalizations archive");
    let blocks = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(
            &format!("{partition_prefix}yun-blocks"),
            &page_cache,
            (),
            cfg,
        ),
    )
    .await
    .expect("open blocks archive");
    let (actor, mailbox, _floor) =
        marshal::core::Actor::init(context.child("marshal"), finalizations, blocks, mcfg).await;

    let gossip_state = state.clone();
    let gossip_blocker = blocker.clone();
    context
        .child("gossip")
        .dedicated()
        .spawn(move |ctx| crate::gossip::run(ctx, gossip_state, channels.txs, gossip_blocker));

    // Every node runs the loop; it submits only while this node is in the active set.
    let evidence_state = state.clone();
    let evidence_key = key.clone();
    context
        .child("evidence")
        .spawn(move |ctx| crate::evidence::submit_loop(ctx, evidence_state, evidence_key));

    let (sink, finalized) = FinalizedSink::new();
    let exec_state = state.clone();
    context
        .child("executor")
        .dedicated()
        .spawn(move |_| executor::run(exec_state, finalized));
    actor.start(sink, buffer, resolver);

    let app = App {
        state: state.clone(),
        marshal: mailbox.clone(),
    };
    let application: epochs::App<E> =
        Inline::new(context.child("application"), app, mailbox.clone(), epocher);
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
        settings: SimplexSettings {
            partition_prefix: partition_prefix.clone(),
            mailbox_size,
            buffer_bytes,
            page_cache,
        },
    };
    context.child("epochs").spawn(move |_| {
        orchestrator.run(
            channels.votes,
            channels.certificates,
            channels.cert_resolver,
        )
    })
}

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
