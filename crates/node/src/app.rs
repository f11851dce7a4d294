//! The consensus application: proposes blocks from the mempool and verifies peers' proposals
//! by full re-execution against the parent's committed state.

use crate::state::NodeState;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::Context as ConsensusContext;
use commonware_cryptography::ed25519::PublicKey;
use commonware_cryptography::{Digested, Digestible};
use commonware_runtime::{Clock, Metrics, Spawner};
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::{debug, info, warn};
use yun_state::{BlockDraft, BlockEnv, SignedSeed, StateReader, verify_signatures};
use yun_store::{Executed, Head, StoreError};
use yun_types::block::{ConsensusDigest, txs_root};
use yun_types::signers::SignerProof;
use yun_types::{Address, Block, BlockHash, Hash32, SeedSigner, SignedTx};

/// Consensus context for our block type.
pub type Ctx = ConsensusContext<ConsensusDigest, PublicKey>;

/// Marshal's mailbox for our block type.
pub type Marshal = commonware_consensus::marshal::core::Mailbox<
    Scheme,
    commonware_consensus::marshal::standard::Standard<Block>,
>;

/// The application half of the node handed to marshal's `Inline` wrapper.
#[derive(Clone)]
pub struct App {
    pub state: Arc<NodeState>,
    /// Marshal, to make our own proposals durable before consensus votes on them.
    pub marshal: Marshal,
    /// Signs our blocks' seeds (derived from the node key, registered on chain).
    pub seed: SeedSigner,
    /// Set only by the simulation's faulty proposers, never on a real node.
    pub faults: ProposerFaults,
    /// Our last seed proof and the (height, parent) it was signed and checked for: a proposal
    /// built again on the same parent (a retry after the head moved, or a later view at the
    /// same height) reuses it instead of signing and verifying again.
    pub signed_seed: SignedSeedCache,
}

/// See [`App::signed_seed`].
pub type SignedSeedCache = Arc<std::sync::Mutex<Option<((u64, BlockHash), SignedSeed)>>>;

/// How far ahead of this node's clock a proposal's timestamp may be. The next leader paces
/// its block from its parent's timestamp, so whatever a proposer may stamp ahead, every
/// following leader waits: the bound is what a fast clock can stall the chain by (it was
/// 15 s). Honest clocks under NTP agree to tens of milliseconds.
pub const PROPOSAL_AHEAD_MS_MAX: u64 = 500;

/// Misbehaviour the simulation injects into a proposer (the default is an honest one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProposerFaults {
    /// Withhold proposals whose seed it does not like.
    pub seed_bias: Option<SeedBias>,
    /// Stamp its proposals this far ahead of its clock (a fast clock).
    pub clock_ahead_ms: u64,
    /// Tamper with (or omit) its blocks' signer records.
    pub signers: Option<SignerFault>,
}

/// Misbehaviour the simulation injects into a proposer's signer records (never on a real
/// node): the attacks the trust argument says verifiers refuse, or that frame nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerFault {
    /// Carry no record at all (allowed: unrecorded heights count for nobody).
    Omit,
    /// Clear the bit of one member that signed, keeping the certificate (refused).
    DropSigner,
    /// Set the bit of one member that did not sign, keeping the certificate (refused).
    AddNonSigner,
}

/// Unwraps one step of a proposal build: `PendingNotOnHead` means finalization moved the head
/// since the parent's chain was resolved, so the build resolves again (`continue`: each retry
/// follows a commit, so it ends); any other store error ends the build with a warning.
macro_rules! build_step {
    ($result:expr, $failed:literal) => {
        match $result {
            Ok(value) => value,
            Err(StoreError::PendingNotOnHead { .. }) => continue,
            Err(e) => {
                warn!(error = %e, $failed);
                return None;
            }
        }
    };
}

impl SignerFault {
    /// The record this fault makes of an honest `proof` (`None`: no record, also when there
    /// is no bit to tamper with, so every record it does carry is a lie).
    pub fn apply(self, mut proof: SignerProof, members: usize) -> Option<SignerProof> {
        let r = &proof.record;
        let flip = match self {
            SignerFault::Omit => None,
            SignerFault::DropSigner => (0..members).find(|i| r.signed(*i)),
            SignerFault::AddNonSigner => (0..members).find(|i| !r.signed(*i)),
        }?;
        proof.record.bitmap[flip / 8] ^= 1 << (flip % 8);
        Some(proof)
    }
}

/// A Byzantine proposer's attempt to bias the chain's randomness, the only one a unique
/// signature leaves it: it withholds every proposal whose seed's lowest bit is not `wanted`,
/// so the round times out and the next leader's seed (a fresh coin) comes instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedBias {
    pub wanted: u8,
}

impl SeedBias {
    pub fn likes(&self, seed: &Hash32) -> bool {
        seed.0[0] & 1 == self.wanted
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn hash_of(d: &ConsensusDigest) -> Hash32 {
    Hash32(d.0)
}

/// Executions of notarized blocks not finalized yet, oldest first, with their hashes.
type PendingExecutions = Vec<(BlockHash, Arc<Executed>)>;

/// How many notarized blocks above the finalized head a proposal may build on. Finalization
/// normally trails notarization by a block or two; past this many the node declines to
/// propose or vote (consensus nullifies the view) until finalization catches up, rather than
/// holding and re-executing an unbounded chain in memory.
const PENDING_BLOCKS_MAX: u64 = 32;

/// Where a new block's parent stands relative to our finalized head.
enum ParentState {
    /// The parent is the head, or extends it through these executions of notarized blocks
    /// that are not finalized yet (oldest first).
    Ready(PendingExecutions),
    /// The parent conflicts with the finalized chain, is invalid, or is too far ahead of
    /// the finalized head: nothing can be built on it now.
    Unreachable,
}

/// Why the executions of a pending chain could not be computed.
enum PendingFailure {
    /// A block in it is invalid.
    Invalid,
    /// The head moved while we executed: resolve again from the new head.
    HeadMoved,
}

impl App {
    /// Resolves the chain from our finalized head to `parent`. Simplex extends
    /// certified (notarized and verified) blocks, and a block's own finalization may never
    /// arrive — its votes lost in a partition, it is finalized through a descendant — so a
    /// proposer or verifier must be able to build on a parent that is not finalized yet.
    /// `blocks` holds the parent and the ancestors pulled from `ancestry` so far, newest
    /// first, less those finalized since; it is the caller's so a retry after the head moved
    /// keeps them (the stream does not replay). Their executions come from the verified
    /// cache, or are computed here for blocks this node never verified.
    async fn parent_chain(
        &self,
        parent: &Block,
        blocks: &mut Vec<Block>,
        ancestry: &mut impl Ancestry<Block>,
    ) -> ParentState {
        loop {
            // The store's head, not the watched one: executions below read the store, and the
            // watch is updated only after a commit, so it can lag behind it.
            let head = self.state.store.head().expect("store read");
            blocks.retain(|b| b.height() > head.height);
            let Some(oldest) = blocks.last() else {
                return if parent.height() == head.height && parent.hash() == head.block_hash {
                    ParentState::Ready(Vec::new())
                } else {
                    ParentState::Unreachable
                };
            };
            if parent.height() - head.height > PENDING_BLOCKS_MAX {
                debug!(
                    parent = parent.height(),
                    head = head.height,
                    "parent too far above the finalized head"
                );
                return ParentState::Unreachable;
            }
            if oldest.height() > head.height + 1 {
                match ancestry.next().await {
                    Some(b) => blocks.push(b.inner().clone()),
                    None => return ParentState::Unreachable,
                }
                continue;
            }
            if oldest.header.parent != head.block_hash {
                return ParentState::Unreachable;
            }
            match self.pending_executions(&head, blocks) {
                Ok(chain) => return ParentState::Ready(chain),
                Err(PendingFailure::Invalid) => return ParentState::Unreachable,
                Err(PendingFailure::HeadMoved) => continue,
            }
        }
    }

    /// Executions of `blocks` (newest first, the oldest extending `head`), oldest first.
    fn pending_executions(
        &self,
        head: &Head,
        blocks: &[Block],
    ) -> Result<PendingExecutions, PendingFailure> {
        let mut chain: PendingExecutions = Vec::new();
        for b in blocks.iter().rev() {
            let on = chain.last().map_or(head.block_hash, |(h, _)| *h);
            let executed = match self.state.execution(&b.hash(), &on) {
                Some(e) => e,
                None => {
                    if !verify_signatures(&self.unverified(&b.txs), &mut rand::rng()) {
                        return Err(PendingFailure::Invalid);
                    }
                    let env = self.env_of(b);
                    let executed = self.state.store.execute_on(&on, &chain, &env, &b.txs);
                    if matches!(executed, Ok(Ok(_))) {
                        // Counted only when it ran: on a moved head nothing was executed.
                        self.state.metrics.block_executions_uncached.inc();
                    }
                    match executed {
                        Ok(Ok(e)) if e.state_root == b.header.state_root => {
                            let e = Arc::new(e);
                            self.state.remember_execution(b.hash(), e.clone());
                            e
                        }
                        Ok(_) => return Err(PendingFailure::Invalid),
                        Err(StoreError::PendingNotOnHead { .. }) => {
                            return Err(PendingFailure::HeadMoved);
                        }
                        Err(e) => panic!("state store failed during execution: {e}"),
                    }
                }
            };
            chain.push((b.hash(), executed));
        }
        Ok(chain)
    }

    /// The transactions of a block whose signatures this node has not checked yet. Its
    /// mempool holds only transactions admitted after a signature check, and an id covers the
    /// signature, so those need no second check: with gossip a validator has most of a
    /// proposal already, and verifying each signature once instead of twice is most of the
    /// CPU a verifier saves.
    fn unverified<'b>(&self, txs: &'b [SignedTx]) -> Vec<&'b SignedTx> {
        // Hash outside the lock: a large block's ids must not hold up admission.
        let ids: Vec<_> = txs.iter().map(SignedTx::id).collect();
        let pool = self.state.mempool.lock().expect("mempool lock");
        txs.iter()
            .zip(ids)
            .filter(|(_, id)| !pool.contains(id))
            .map(|(t, _)| t)
            .collect()
    }

    fn env_of(&self, b: &Block) -> BlockEnv {
        BlockEnv::from_block(self.state.chain_id(), b)
    }

    /// What the next block on `parent` (the tip of `pending`, or the head) takes from the
    /// mempool: what fits the block budget, chosen by nonces on the parent's state, so
    /// transactions the pending blocks already hold are not chosen again (they would only be
    /// left out, and take room from the ones that are next).
    fn candidates(
        &self,
        parent: &BlockHash,
        pending: &PendingExecutions,
    ) -> Result<Vec<SignedTx>, StoreError> {
        self.state.store.read_on(parent, pending, |state| {
            let chain_txs_max = yun_state::Overlay::new(state).params().block_txs_max;
            let take = self.state.budget.block_txs_max(chain_txs_max as usize);
            let pool = self.state.mempool.lock().expect("mempool lock");
            pool.select(state, take)
        })
    }

    /// Sleeps until a block is due: transactions waiting and the minimum interval passed, or
    /// the idle interval passed (the busy interval while the market has work).
    async fn pace<E: Clock>(&self, clock: &E, parent_ms: u64, market_busy: bool) {
        let timing = &self.state.timing;
        let min_at = UNIX_EPOCH + Duration::from_millis(parent_ms) + timing.min_block_interval;
        let quiet = if market_busy {
            timing.busy_block_interval.min(timing.idle_block_interval)
        } else {
            timing.idle_block_interval
        };
        let idle_at = UNIX_EPOCH + Duration::from_millis(parent_ms) + quiet;
        clock.sleep_until(min_at).await;
        loop {
            if !self.state.mempool.lock().expect("mempool lock").is_empty()
                || clock.current() >= idle_at
            {
                return;
            }
            let arrived = self.state.tx_arrived.notified();
            futures::pin_mut!(arrived);
            let idle = clock.sleep_until(idle_at);
            futures::pin_mut!(idle);
            futures::future::select(arrived, idle).await;
        }
    }

    /// Whether the market has tasks queued or replicas at work, or a storage deal waits on a
    /// later block (an epoch, a proof window, matching), after `parent` (the tip of
    /// `pending`, or the head). Read on the parent, not the finalized head: the block that
    /// posted a job may not be finalized yet, and pacing by the head would sleep through the
    /// whole idle interval (a day on a devnet) with work waiting.
    fn market_busy(&self, parent: &BlockHash, pending: &PendingExecutions) -> bool {
        fn busy(state: &dyn StateReader) -> bool {
            let o = yun_state::Overlay::new(state);
            let m = o.market();
            m.queue_tasks > 0
                || m.slots_busy > 0
                || o.market_awaits_blocks()
                || o.storage_awaits_blocks()
        }
        match self.state.store.read_on(parent, pending, busy) {
            Ok(b) => b,
            // Finalization moved the head onto (part of) the chain meanwhile: it is as recent.
            Err(StoreError::PendingNotOnHead { .. }) => {
                self.state.store.snapshot().is_ok_and(|s| busy(&s))
            }
            Err(_) => false,
        }
    }

    /// The seed proof for `draft` on `parent`: the cached one if it was made for this height
    /// and parent, else signed (and checked once) now.
    fn seed_for(
        &self,
        parent: &BlockHash,
        pending: &yun_store::PendingChain,
        draft: &BlockDraft,
    ) -> Result<SignedSeed, StoreError> {
        let at = (draft.height, *parent);
        let mut cache = self.signed_seed.lock().expect("seed cache lock");
        if let Some((key, signed)) = cache.as_ref()
            && *key == at
        {
            return Ok(signed.clone());
        }
        let signed = self
            .state
            .store
            .sign_seed_on(parent, pending, draft, &self.seed)?;
        *cache = Some((at, signed.clone()));
        Ok(signed)
    }

    /// Builds the proposal on `parent`. Each step reads the parent's state, and a step that
    /// finds finalization moved the head since the parent was resolved starts over (see
    /// [`build_step`]).
    async fn build<E: Clock>(
        &self,
        clock: &E,
        ctx: &Ctx,
        parent: &Block,
        ancestry: &mut impl Ancestry<Block>,
    ) -> Option<Block> {
        let mut blocks = vec![parent.clone()];
        // Resolve once before pacing: an unreachable parent fails fast, and the pace depends
        // on the parent's state.
        let ParentState::Ready(pending) = self.parent_chain(parent, &mut blocks, ancestry).await
        else {
            return None;
        };
        let busy = self.market_busy(&parent.hash(), &pending);
        self.pace(clock, parent.header.timestamp_ms, busy).await;
        let parent_hash = parent.hash();
        // At most one wait per proposal: a build that starts over must not wait again.
        let mut may_wait = true;
        let (proposal, on_head) = loop {
            if std::mem::take(&mut may_wait) {
                crate::commit_wait::await_commit(&self.state, clock).await;
            }
            // The head may have moved while we paced: resolve again (executions are cached).
            let ParentState::Ready(pending) =
                self.parent_chain(parent, &mut blocks, ancestry).await
            else {
                return None;
            };
            let candidates = build_step!(
                self.candidates(&parent_hash, &pending),
                "reading the parent's state failed"
            );
            let candidates_n = candidates.len();
            let draft = BlockDraft {
                chain_id: self.state.chain_id().to_string(),
                height: parent.height() + 1,
                timestamp_ms: (millis(clock.current()) + self.faults.clock_ahead_ms)
                    .max(parent.header.timestamp_ms),
                proposer: Address::from_public_key(&ctx.leader),
            };
            let signers = match self.signer_proof(&parent_hash, &pending).await {
                Ok(signers) => signers,
                Err(StoreError::PendingNotOnHead { .. }) => continue,
                Err(e) => {
                    warn!(error = %e, "reading finalizations for the signer record failed");
                    None
                }
            };
            let seed = build_step!(
                self.seed_for(&parent_hash, &pending, &draft),
                "signing the block's seed failed"
            );
            let started = clock.current();
            let proposal = build_step!(
                self.state.store.build_on_signed(
                    &parent_hash,
                    &pending,
                    (&draft, &seed, signers),
                    candidates,
                ),
                "building a proposal failed"
            );
            let took = clock.current().duration_since(started).unwrap_or_default();
            self.state.budget.record(candidates_n, took);
            crate::metrics::observe(&self.state.metrics.stages.block_build_seconds, took);
            break (proposal, pending.is_empty());
        };
        // On a pending parent, what was left out may be in that parent: only the finalized
        // chain may make the mempool forget a transaction.
        if on_head {
            let mut pool = self.state.mempool.lock().expect("mempool lock");
            for (tx, reason) in &proposal.left_out {
                if *reason != yun_types::TxRejection::BlockFull {
                    pool.drop_tx(&tx.id(), *reason);
                }
            }
        }
        self.state.forget_evicted();
        debug!(
            height = proposal.block.height(),
            txs = proposal.block.txs.len(),
            left_out = proposal.left_out.len(),
            "proposing"
        );
        if let Some(bias) = self.faults.seed_bias
            && !bias.likes(&proposal.block.header.seed_proof.seed())
        {
            info!(
                height = proposal.block.height(),
                "withholding a proposal whose seed we dislike"
            );
            return None;
        }
        let (block, executed) = (proposal.block, Arc::new(proposal.executed));
        self.state
            .remember_execution(block.hash(), executed.clone());
        Some(block)
    }

    /// Every check a proposal must pass; `false` is final (the block can never be valid).
    async fn check<E: Clock + rand_core::CryptoRng>(
        &self,
        clock: &mut E,
        ctx: &Ctx,
        block: &Block,
        parent: &Block,
        ancestry: &mut impl Ancestry<Block>,
    ) -> bool {
        let h = &block.header;
        if h.parent != parent.hash() || h.height != parent.height() + 1 {
            return false;
        }
        if h.timestamp_ms < parent.header.timestamp_ms {
            return false;
        }
        // A proposer's clock may run ahead a little, never far.
        if h.timestamp_ms > millis(clock.current()) + PROPOSAL_AHEAD_MS_MAX {
            return false;
        }
        if h.proposer != Address::from_public_key(&ctx.leader) {
            return false;
        }
        if h.tx_count as usize != block.txs.len()
            || h.txs_root != txs_root(block.txs.iter().map(|t| t.id()))
            || h.signers_root != SignerProof::root(block.signers.as_ref())
        {
            return false;
        }
        if !verify_signatures(&self.unverified(&block.txs), clock) {
            return false;
        }
        let env = self.env_of(block);
        let mut blocks = vec![parent.clone()];
        let executed = loop {
            let ParentState::Ready(pending) =
                self.parent_chain(parent, &mut blocks, ancestry).await
            else {
                return false;
            };
            match self
                .state
                .store
                .execute_on(&parent.hash(), &pending, &env, &block.txs)
            {
                Ok(Ok(executed)) => break executed,
                Ok(Err(e)) => {
                    debug!(error = %e, "proposal holds a transaction that is not includable");
                    return false;
                }
                // Finalization moved the head between resolving and executing: resolve again
                // (each retry follows a commit, so this ends).
                Err(StoreError::PendingNotOnHead { .. }) => continue,
                Err(e) => panic!("state store failed during verify: {e}"),
            }
        };
        if executed.state_root != h.state_root || executed.parent != parent.hash() {
            debug!(
                height = h.height,
                ours = %executed.state_root,
                proposed = %h.state_root,
                "proposal's state root differs from ours"
            );
            return false;
        }
        // The state checked the record's shape; the certificate behind it is ours to check.
        if let Err(e) = self.check_signer_proof(block, &blocks, clock) {
            debug!(height = h.height, error = %e, "proposal's signer record refused");
            return false;
        }
        self.state
            .remember_execution(block.hash(), Arc::new(executed));
        true
    }
}

impl<E> commonware_consensus::Application<E> for App
where
    E: Clock + Spawner + Metrics + rand_core::CryptoRng + Send + 'static,
{
    type SigningScheme = Scheme;
    type Context = Ctx;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        context: (E, Ctx),
        mut ancestry: impl Ancestry<Block>,
        _input: (),
    ) -> Option<Digested<Block>> {
        let (clock, ctx) = context;
        let parent = ancestry.next().await?;
        if hash_of(&parent.digest()) != parent.inner().hash() {
            return None;
        }
        let block = self
            .build(&clock, &ctx, parent.inner(), &mut ancestry)
            .await?;
        // Our proposal is on disk before consensus votes on it. Marshal would sync it only
        // after the vote, and a validator alone (a devnet) killed in between restarted with a
        // notarized block nobody had: it could neither certify nor fetch it, and never moved
        // again (seen in the SIGKILL test).
        let digest = block.digest();
        let block = Digested::precomputed(block, digest);
        if !self.marshal.verified(ctx.round, block.clone()).await {
            warn!(
                height = block.inner().height(),
                "could not persist our proposal"
            );
            return None;
        }
        Some(block)
    }

    async fn verify(&mut self, context: (E, Ctx), mut ancestry: impl Ancestry<Block>) -> bool {
        let (mut clock, ctx) = context;
        let Some(block) = ancestry.next().await else {
            return false;
        };
        let Some(parent) = ancestry.next().await else {
            return false;
        };
        self.check(
            &mut clock,
            &ctx,
            block.inner(),
            parent.inner(),
            &mut ancestry,
        )
        .await
    }
}
