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
use yun_store::Head;
use yun_types::block::{ConsensusDigest, txs_root};
use yun_types::{Address, Block, Hash32};

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

/// Whether our applied head is exactly `parent`, will be later, or never can be.
enum ParentState {
    Applied(Head),
    Unreachable,
}

impl App {
    /// Waits until the finalized head is `parent` (height and hash). Gives up with
    /// `Unreachable` once the head has moved past it onto something else.
    async fn parent_applied(&self, parent: &Block) -> ParentState {
        let want = parent.hash();
        let mut rx = self.state.head.subscribe();
        let head = rx
            .wait_for(|h| h.height >= parent.height())
            .await
            .map(|h| *h)
            .expect("head sender lives as long as the node");
        if head.height == parent.height() && head.block_hash == want {
            ParentState::Applied(head)
        } else {
            ParentState::Unreachable
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

    async fn build<E: Clock>(&self, clock: &E, ctx: &Ctx, parent: &Block) -> Option<Block> {
        let head = match self.parent_applied(parent).await {
            ParentState::Applied(head) => head,
            ParentState::Unreachable => return None,
        };
        self.pace(clock, parent.header.timestamp_ms).await;
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
            height: head.height + 1,
            timestamp_ms: millis(clock.current()).max(parent.header.timestamp_ms),
            proposer: Address::from_public_key(&ctx.leader),
            seed: head.block_hash,
        };
        let proposal = match self.state.store.build(&env, candidates) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "building a proposal failed");
                return None;
            }
        };
        {
            let mut pool = self.state.mempool.lock().expect("mempool lock");
            for (tx, reason) in &proposal.left_out {
                if *reason != yun_types::TxRejection::BlockFull {
                    pool.drop_tx(&tx.id(), *reason);
                }
            }
        }
        self.state.forget_evicted();
        let (block, executed) = (proposal.block, proposal.executed);
        self.state.remember_execution(block.hash(), executed);
        debug!(height = block.height(), txs = block.txs.len(), "proposing");
        Some(block)
    }

    /// Every check a proposal must pass; `false` is final (the block can never be valid).
    async fn check<E: Clock + rand_core::CryptoRng>(
        &self,
        clock: &mut E,
        ctx: &Ctx,
        block: &Block,
        parent: &Block,
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
        let head = match self.parent_applied(parent).await {
            ParentState::Applied(head) => head,
            ParentState::Unreachable => return false,
        };
        if !verify_signatures(&block.txs, clock) {
            return false;
        }
        let env = BlockEnv {
            chain_id: self.state.chain_id().to_string(),
            height: h.height,
            timestamp_ms: h.timestamp_ms,
            proposer: h.proposer,
            seed: h.parent,
        };
        let executed = match self.state.store.execute(&env, &block.txs) {
            Ok(Ok(executed)) => executed,
            Ok(Err(e)) => {
                debug!(error = %e, "proposal holds a transaction that is not includable");
                return false;
            }
            Err(e) => panic!("state store failed during verify: {e}"),
        };
        if executed.state_root != h.state_root || executed.parent != head.block_hash {
            return false;
        }
        self.state.remember_execution(block.hash(), executed);
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
        let block = self.build(&clock, &ctx, parent.inner()).await?;
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
        self.check(&mut clock, &ctx, block.inner(), parent.inner())
            .await
    }
}
