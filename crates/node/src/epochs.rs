//! Moves consensus from epoch to epoch: one simplex engine per epoch, run by the active set the
//! committed state names for that epoch, on that epoch's p2p subchannels, with marshal checking
//! each epoch's certificates against that epoch's set.
//!
//! The executor commits the last block of epoch `e`; staking's end-of-block step has then stored
//! epoch `e + 1`'s set. The orchestrator sees the new head, tracks the new set as the p2p peer
//! set, stops epoch `e`'s engine and starts epoch `e + 1`'s with the boundary block as its floor
//! (marshal's wrapper re-proposes the boundary block until then, so nothing is built past it).
//! A node that restarts reads its epoch from its own store; a node behind the network hears
//! votes of a later epoch on the muxers' backup channels and asks marshal for the boundary
//! block's finalization, then catches up block by block and epoch by epoch.

use crate::evidence::EvidenceReporter;
use crate::late_votes::LateVoteReporter;
use crate::state::NodeState;
use commonware_consensus::Reporters;
use commonware_consensus::marshal::{self, standard::Inline};
use commonware_consensus::simplex::{
    self, ForwardPolicy, SkipBudget, SkipPolicy, elector::RoundRobin,
};
use commonware_consensus::types::{Epoch, FixedEpocher, Height, ViewDelta};
use commonware_cryptography::certificate::{Provider, Scoped};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_cryptography::{Digestible as _, Sha256, Signer as _};
use commonware_p2p::utils::mux::{Builder as _, MuxHandle, Muxer};
use commonware_p2p::{Blocker, Manager, Receiver, Sender, TrackedPeers};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, Supervisor};
use commonware_utils::NZDuration;
use commonware_utils::ordered::Set;
use commonware_utils::vec::NonEmptyVec;
use std::collections::BTreeMap;
use std::num::{NonZeroU64, NonZeroUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{debug, info, warn};
use yun_state::staking;
use yun_types::block::ConsensusDigest;
use yun_types::{Address, Block};

pub use yun_types::evidence::CONSENSUS_NAMESPACE;

pub type Scheme = simplex::scheme::ed25519::Scheme;
pub type App<E> = Inline<E, Scheme, crate::app::App, Block, FixedEpocher>;

/// Epochs whose sets marshal keeps for checking certificates: the current one and a few
/// before it, for finalizations of an epoch's last blocks that arrive after the switch.
pub const EPOCH_SCHEMES_KEPT: usize = 4;
/// Most registered validators outside the active set a node lets connect as followers (so a
/// validator about to join can sync first); the rest wait until they are elected.
pub const P2P_CANDIDATES_TRACKED_MAX: usize = 64;

/// The epocher consensus and marshal share: epochs of `epoch_blocks` heights, exactly as
/// `state::staking` counts them (epoch 0 holds genesis).
pub fn epocher(state: &NodeState) -> FixedEpocher {
    let blocks = state.genesis.params.staking.epoch_blocks;
    FixedEpocher::new(NonZeroU64::new(blocks).expect("genesis checks epoch_blocks >= 2"))
}

/// Each known epoch's consensus set, as marshal's certificate provider.
#[derive(Debug, Clone, Default)]
pub struct Schemes(Arc<Mutex<BTreeMap<u64, Arc<Scheme>>>>);

impl Schemes {
    fn insert(&self, epoch: u64, scheme: Scheme) {
        let mut map = self.0.lock().expect("schemes lock");
        map.insert(epoch, Arc::new(scheme));
        while map.len() > EPOCH_SCHEMES_KEPT {
            map.pop_first();
        }
    }
}

impl Provider for Schemes {
    type Scope = Epoch;
    type Scheme = Scheme;

    fn scoped(&self, epoch: Epoch) -> Option<Scoped<Scheme>> {
        let map = self.0.lock().expect("schemes lock");
        // A verifier also hands out its (verify-only) scheme: marshal reads certificates of
        // notarized blocks with it on full nodes too.
        map.get(&epoch.get()).cloned().map(Scoped::scheme)
    }
}

/// What consensus runs in one epoch, read from the committed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochPlan {
    pub epoch: u64,
    pub validators: Vec<Address>,
    /// The last block of the previous epoch (genesis for epoch 0): the new engine's floor.
    pub floor: ConsensusDigest,
    /// Registered validators outside the set, by stake, at most [`P2P_CANDIDATES_TRACKED_MAX`].
    pub candidates: Vec<Address>,
}

/// The epoch of the next block and who runs it, from the committed head.
pub fn plan(state: &NodeState) -> EpochPlan {
    let snapshot = state.store.snapshot().expect("store snapshot");
    let params = &state.genesis.params.staking;
    let next_height = state.head().height + 1;
    let (stored_epoch, set) = staking::active_set(&snapshot);
    let epoch = staking::epoch_of_height(params, next_height);
    assert_eq!(
        stored_epoch, epoch,
        "the stored active set names the next block's epoch"
    );
    let validators: Vec<Address> = set.into_iter().map(|(a, _)| a).collect();
    let floor_height = staking::first_height_of_epoch(params, epoch).saturating_sub(1);
    let floor = state
        .store
        .block(floor_height)
        .expect("store read")
        .expect("every committed height is stored")
        .digest();
    let candidates = staking::validators_by_stake(&snapshot)
        .into_iter()
        .map(|v| v.address)
        .filter(|a| !validators.contains(a))
        .take(P2P_CANDIDATES_TRACKED_MAX)
        .collect();
    EpochPlan {
        epoch,
        validators,
        floor,
        candidates,
    }
}

fn keys(addresses: &[Address]) -> Vec<PublicKey> {
    addresses
        .iter()
        .map(|a| a.public_key().expect("validators are valid keys"))
        .collect()
}

/// Sizes every epoch's engine shares.
#[derive(Clone)]
pub struct SimplexSettings {
    pub partition_prefix: String,
    pub mailbox_size: NonZeroUsize,
    pub buffer_bytes: NonZeroUsize,
    pub page_cache: CacheRef,
}

impl std::fmt::Debug for SimplexSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimplexSettings")
            .field("partition_prefix", &self.partition_prefix)
            .finish_non_exhaustive()
    }
}

impl<E: Runtime, M, B> std::fmt::Debug for Orchestrator<E, M, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orchestrator").finish_non_exhaustive()
    }
}

/// What the consensus stack needs of its runtime (tokio in a node, deterministic in the
/// simulation).
pub trait Runtime:
    Clock + Spawner + Storage + Metrics + Supervisor + rand_core::CryptoRng + Send + Sync + 'static
{
}

impl<E> Runtime for E where
    E: Clock
        + Spawner
        + Storage
        + Metrics
        + Supervisor
        + rand_core::CryptoRng
        + Send
        + Sync
        + 'static
{
}

/// Runs one simplex engine at a time, switching at every epoch boundary the store commits.
pub struct Orchestrator<E: Runtime, M, B> {
    pub context: E,
    pub state: Arc<NodeState>,
    pub key: PrivateKey,
    pub schemes: Schemes,
    pub manager: M,
    pub blocker: B,
    pub marshal: marshal::core::Mailbox<Scheme, marshal::standard::Standard<Block>>,
    pub application: App<E>,
    /// Configured followers (full nodes) every peer set admits besides the validators.
    pub followers: Vec<PublicKey>,
    pub settings: SimplexSettings,
}

/// A message the muxer found no subchannel for: its epoch, sender and bytes.
type Unrouted = (u64, (PublicKey, commonware_runtime::IoBuf));

struct Active {
    epoch: u64,
    handle: Handle<()>,
}

impl<E, M, B> Orchestrator<E, M, B>
where
    E: Runtime,
    M: Manager<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    /// Runs until the node stops; consensus's three channels are split by epoch here.
    pub async fn run<S, R>(mut self, votes: (S, R), certificates: (S, R), resolver: (S, R))
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        let (mux, mut votes, mut votes_backup) =
            Muxer::builder(self.context.child("votes_mux"), votes.0, votes.1)
                .with_backup()
                .build();
        mux.start();
        let (mux, mut certificates, mut certificates_backup) = Muxer::builder(
            self.context.child("certificates_mux"),
            certificates.0,
            certificates.1,
        )
        .with_backup()
        .build();
        mux.start();
        let (mux, mut resolver) =
            Muxer::new(self.context.child("resolver_mux"), resolver.0, resolver.1);
        mux.start();
        let mut muxes = [&mut votes, &mut certificates, &mut resolver];

        let mut heads = self.state.head.subscribe();
        let mut active = self.enter(plan(&self.state), &mut muxes).await;
        loop {
            commonware_macros::select! {
                changed = heads.changed() => {
                    if changed.is_err() {
                        active.handle.abort();
                        return;
                    }
                    // Cheap per block; the full plan (a scan of the validators) only when
                    // the committed head crossed into a new epoch.
                    let next_height = self.state.head().height + 1;
                    let next_epoch = staking::epoch_of_height(
                        &self.state.genesis.params.staking,
                        next_height,
                    );
                    if next_epoch > active.epoch {
                        active.handle.abort();
                        active = self.enter(plan(&self.state), &mut muxes).await;
                    }
                },
                message = votes_backup.recv() => {
                    let Some(message) = message else {
                        active.handle.abort();
                        return;
                    };
                    self.on_backup(active.epoch, message);
                },
                message = certificates_backup.recv() => {
                    let Some(message) = message else {
                        active.handle.abort();
                        return;
                    };
                    self.on_backup(active.epoch, message);
                },
                result = &mut active.handle => {
                    // An engine ends only with its context: the node is stopping (or broken,
                    // and then stopping it beats a node that silently stops voting).
                    warn!(epoch = active.epoch, ?result, "consensus engine stopped");
                    return;
                },
            }
        }
    }

    /// Where epoch `epoch`'s engine journals its votes.
    fn partition(&self, epoch: u64) -> String {
        format!("{}yun-consensus-{epoch}", self.settings.partition_prefix)
    }

    /// A message for an epoch we run no engine for. A later epoch means the sender crossed a
    /// boundary we have not: ask marshal for our epoch's last block from it.
    fn on_backup(&self, ours: u64, (theirs, (from, _)): Unrouted) {
        if theirs <= ours {
            return;
        }
        let last = epocher(&self.state)
            .last_height(ours)
            .expect("our epoch has a last height");
        debug!(ours, theirs, %from, last, "peer is in a later epoch; fetching our boundary");
        self.marshal
            .hint_finalized(Height::new(last), NonEmptyVec::new(from));
    }

    async fn enter<S: Sender<PublicKey = PublicKey>>(
        &mut self,
        plan: EpochPlan,
        muxes: &mut [&mut MuxHandle<S>; 3],
    ) -> Active {
        let epoch = plan.epoch;
        let me = self.key.public_key();
        let participants = Set::from_iter_dedup(keys(&plan.validators));
        let mut followers = self.followers.clone();
        followers.extend(keys(&plan.candidates));
        followers.push(me.clone());
        let _ = self.manager.track(
            epoch,
            TrackedPeers::new(participants.clone(), Set::from_iter_dedup(followers)),
        );
        // A node outside the set runs the same consensus as an observer: it checks votes and
        // certificates and reports finalizations to marshal, but never signs.
        let scheme = Scheme::signer(CONSENSUS_NAMESPACE, participants.clone(), self.key.clone())
            .unwrap_or_else(|| Scheme::verifier(CONSENSUS_NAMESPACE, participants.clone()));
        self.schemes.insert(epoch, scheme.clone());
        let several = participants.len() > 1;
        let leader_timeout = self.state.timing.leader_timeout;
        let s = &self.settings;
        let engine = simplex::Engine::new(
            self.context
                .child("consensus")
                .with_attribute("epoch", epoch),
            simplex::Config {
                scheme,
                elector: RoundRobin::<Sha256>::default(),
                blocker: self.blocker.clone(),
                automaton: self.application.clone(),
                relay: self.application.clone(),
                reporter: Reporters::from((
                    self.application.clone(),
                    Reporters::from((
                        EvidenceReporter {
                            pool: self.state.evidence.clone(),
                        },
                        LateVoteReporter {
                            votes: self.state.late_votes.clone(),
                        },
                    )),
                )),
                track_historical_votes: false,
                strategy: Sequential,
                partition: self.partition(epoch),
                mailbox_size: s.mailbox_size,
                epoch: Epoch::new(epoch),
                floor: simplex::Floor::Genesis(plan.floor),
                replay_buffer: s.buffer_bytes,
                write_buffer: s.buffer_bytes,
                page_cache: s.page_cache.clone(),
                leader_timeout,
                certification_timeout: leader_timeout * 3 / 2,
                timeout_retry: leader_timeout * 5 / 2,
                view_retention: ViewDelta::new(256),
                skip: if several {
                    SkipPolicy::Enabled {
                        timeout: leader_timeout * 3,
                        budget: SkipBudget::Participants,
                    }
                } else {
                    SkipPolicy::Disabled
                },
                fetch_timeout: NZDuration!(Duration::from_secs(2)),
                fetch_retry_delay: Duration::from_millis(100),
                forward: if several {
                    ForwardPolicy::SilentVoters
                } else {
                    ForwardPolicy::Disabled
                },
            },
        );
        let [votes, certificates, resolver] = muxes;
        let votes = votes.register(epoch).await.expect("votes mux runs");
        let certificates = certificates
            .register(epoch)
            .await
            .expect("certificates mux runs");
        let resolver = resolver.register(epoch).await.expect("resolver mux runs");
        let handle = engine.start(votes, certificates, resolver);
        self.state.metrics.consensus_epoch.set(epoch as i64);
        // Votes of an epoch two back can never matter again (a restart enters the epoch its
        // store names, at least the previous one's successor): its journal goes.
        if let Some(old) = epoch.checked_sub(2) {
            let _ = self.context.remove(&self.partition(old), None).await;
        }
        info!(epoch, validators = plan.validators.len(), "entered epoch");
        Active { epoch, handle }
    }
}

/// The last height of an epoch, in the epocher's terms.
trait LastHeight {
    fn last_height(&self, epoch: u64) -> Option<u64>;
}

impl LastHeight for FixedEpocher {
    fn last_height(&self, epoch: u64) -> Option<u64> {
        use commonware_consensus::types::Epocher as _;
        self.last(Epoch::new(epoch)).map(|h| h.get())
    }
}
