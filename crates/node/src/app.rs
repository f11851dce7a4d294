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
use tracing::{debug, warn};
use yun_state::{BlockEnv, verify_signatures};
use yun_store::{Executed, Head, StoreError};
use yun_types::block::{ConsensusDigest, txs_root};
use yun_types::{Address, Block, BlockHash, Hash32};

/// Consensus context for our block type.
pub type Ctx = ConsensusContext<ConsensusDigest, PublicKey>;

/// The application half of the node handed to marshal's `Inline` wrapper.
#[derive(Clone, Debug)]
pub struct App {
    pub state: Arc<NodeState>,
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

/// Where a new block's parent stands relative to our finalized head.
enum ParentState {
    /// The parent is the head, or extends it through these executions of notarized blocks
    /// that are not finalized yet (oldest first).
    Ready(Head, PendingExecutions),
    /// The parent conflicts with the finalized chain, or is invalid: nothing can extend it.
    Unreachable,
}

impl App {
    /// Resolves the chain from our finalized head to `parent`. Simplex extends certified
    /// (notarized and verified) blocks, and a block's own finalization may never arrive —
    /// its votes lost in a partition, it is finalized through a descendant — so a proposer or
    /// verifier must be able to build on a parent that is not finalized yet. Blocks between
    /// the head and the parent come from `ancestry`; their executions from the verified cache,
    /// or are computed here for blocks this node never verified.
    async fn parent_chain(
        &self,
        parent: &Block,
        ancestry: &mut impl Ancestry<Block>,
    ) -> ParentState {
        // The parent and its ancestors down to just above the head, newest first.
        let mut blocks: Vec<Block> = vec![parent.clone()];
        loop {
            // The store's head, not the watched one: executions below read the store, and the
            // watch is updated only after a commit, so it can lag behind it.
            let head = self.state.store.head().expect("store read");
            blocks.retain(|b| b.height() > head.height);
            let Some(oldest) = blocks.last() else {
                return if parent.height() == head.height && parent.hash() == head.block_hash {
                    ParentState::Ready(head, Vec::new())
                } else {
                    ParentState::Unreachable
                };
            };
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
            match self.pending_executions(&head, &blocks) {
                Ok(Some(chain)) => return ParentState::Ready(head, chain),
                Ok(None) => return ParentState::Unreachable,
                // The head moved while we executed: look again from the new head.
                Err(()) => continue,
            }
        }
    }

    /// Executions of `blocks` (newest first, the oldest extending `head`), oldest first.
    /// `Ok(None)`: one is invalid; `Err`: the head moved meanwhile.
    fn pending_executions(
        &self,
        head: &Head,
        blocks: &[Block],
    ) -> Result<Option<PendingExecutions>, ()> {
        let mut chain: PendingExecutions = Vec::new();
        for b in blocks.iter().rev() {
            let on = chain.last().map_or(head.block_hash, |(h, _)| *h);
            let executed = match self.state.execution(&b.hash(), &on) {
                Some(e) => e,
                None => {
                    if !verify_signatures(&b.txs, &mut rand::rng()) {
                        return Ok(None);
                    }
                    let env = self.env_of(b);
                    match self.state.store.execute_on(&chain, &env, &b.txs) {
                        Ok(Ok(e)) if e.state_root == b.header.state_root => {
                            let e = Arc::new(e);
                            self.state.remember_execution(b.hash(), e.clone());
                            e
                        }
                        Ok(_) => return Ok(None),
                        Err(StoreError::PendingNotOnHead { .. }) => return Err(()),
                        Err(e) => panic!("state store failed during execution: {e}"),
                    }
                }
            };
            chain.push((b.hash(), executed));
        }
        Ok(Some(chain))
    }

    /// Drops from `pending` (oldest first) what the head has since finalized; `None` if the
    /// head moved onto another chain.
    fn rebase(
        &self,
        mut pending: PendingExecutions,
        now: &Head,
        parent: &Block,
    ) -> Option<PendingExecutions> {
        while let Some((hash, e)) = pending.first() {
            if e.parent == now.block_hash {
                return Some(pending);
            }
            self.state.store.height_of(hash).ok()??;
            pending.remove(0);
        }
        (parent.hash() == now.block_hash).then_some(pending)
    }

    fn env_of(&self, b: &Block) -> BlockEnv {
        BlockEnv {
            chain_id: self.state.chain_id().to_string(),
            height: b.height(),
            timestamp_ms: b.header.timestamp_ms,
            proposer: b.header.proposer,
            seed: b.header.parent,
        }
    }

    /// Sleeps until a block is due: transactions waiting and the minimum interval passed, or
    /// the idle interval passed (the busy interval while the market has work).
    async fn pace<E: Clock>(&self, clock: &E, parent_ms: u64) {
        let timing = &self.state.timing;
        let min_at = UNIX_EPOCH + Duration::from_millis(parent_ms) + timing.min_block_interval;
        let quiet = if self.market_busy() {
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

    /// Whether the finalized state has tasks queued or replicas at work.
    fn market_busy(&self) -> bool {
        let Ok(snapshot) = self.state.store.snapshot() else {
            return false;
        };
        let m = yun_state::Overlay::new(&snapshot).market();
        m.queue_tasks > 0 || m.slots_busy > 0
    }

    async fn build<E: Clock>(
        &self,
        clock: &E,
        ctx: &Ctx,
        parent: &Block,
        ancestry: &mut impl Ancestry<Block>,
    ) -> Option<Block> {
        let (head, mut pending) = match self.parent_chain(parent, ancestry).await {
            ParentState::Ready(head, pending) => (head, pending),
            ParentState::Unreachable => return None,
        };
        self.pace(clock, parent.header.timestamp_ms).await;
        // The head may have moved while we paced: build on what is still pending above it.
        let now = self.state.store.head().ok()?;
        if now != head {
            pending = self.rebase(pending, &now, parent)?;
        }
        let snapshot = self.state.store.snapshot().ok()?;
        let params = yun_state::Overlay::new(&snapshot).params();
        let candidates = self
            .state
            .mempool
            .lock()
            .expect("mempool lock")
            .select(&snapshot, params.block_txs_max as usize);
        let env = BlockEnv {
            chain_id: self.state.chain_id().to_string(),
            height: parent.height() + 1,
            timestamp_ms: millis(clock.current()).max(parent.header.timestamp_ms),
            proposer: Address::from_public_key(&ctx.leader),
            seed: parent.hash(),
        };
        let proposal = match self.state.store.build_on(&pending, &env, candidates) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "building a proposal failed");
                return None;
            }
        };
        // On a pending parent, what was left out may be in that parent: only the finalized
        // chain may make the mempool forget a transaction.
        if pending.is_empty() {
            let mut pool = self.state.mempool.lock().expect("mempool lock");
            for (tx, reason) in &proposal.left_out {
                if *reason != yun_types::TxRejection::BlockFull {
                    pool.drop_tx(&tx.id(), *reason);
                }
            }
        }
        self.state.forget_evicted();
        let left_out: Vec<_> = proposal
            .left_out
            .iter()
            .map(|(t, r)| (t.tx.action.name(), *r))
            .collect();
        if !left_out.is_empty() {
            debug!(?left_out, "left out of the proposal");
        }
        let (block, executed) = (proposal.block, Arc::new(proposal.executed));
        self.state
            .remember_execution(block.hash(), executed.clone());
        debug!(
            height = block.height(),
            txs = block.txs.len(),
            failed = ?executed.receipts.iter().filter(|r| !matches!(r.outcome, yun_types::TxOutcome::Success)).map(|r| format!("{:?}", r.outcome)).collect::<Vec<_>>(),
            left_out = left_out.len(),
            "proposing"
        );
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
        if h.timestamp_ms > millis(clock.current()) + 15_000 {
            return false;
        }
        if h.proposer != Address::from_public_key(&ctx.leader) {
            return false;
        }
        if h.tx_count as usize != block.txs.len()
            || h.txs_root != txs_root(block.txs.iter().map(|t| t.id()))
        {
            return false;
        }
        if !verify_signatures(&block.txs, clock) {
            return false;
        }
        let env = self.env_of(block);
        let executed = loop {
            let (head, pending) = match self.parent_chain(parent, ancestry).await {
                ParentState::Ready(head, pending) => (head, pending),
                ParentState::Unreachable => return false,
            };
            match self.state.store.execute_on(&pending, &env, &block.txs) {
                Ok(Ok(executed)) => break executed,
                Ok(Err(e)) => {
                    debug!(error = %e, "proposal holds a transaction that is not includable");
                    return false;
                }
                // Finalization moved the head between resolving and executing: resolve again
                // (each retry follows a commit, so this ends).
                Err(StoreError::PendingNotOnHead { .. }) => {
                    let _ = head;
                    continue;
                }
                Err(e) => panic!("state store failed during verify: {e}"),
            }
        };
        if executed.state_root != h.state_root || executed.parent != parent.hash() {
            debug!(
                height = h.height,
                ours = %executed.state_root,
                proposed = %h.state_root,
                receipts = ?executed.receipts.iter().filter(|r| !matches!(r.outcome, yun_types::TxOutcome::Success)).map(|r| format!("{:?}", r.outcome)).collect::<Vec<_>>(),
                "proposal's state root differs from ours"
            );
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
        let digest = block.digest();
        Some(Digested::precomputed(block, digest))
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
