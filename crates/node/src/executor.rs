//! Applies finalized blocks, in order, to the store; acknowledges each to marshal only after
//! it is durably committed, so a crash at any point replays from the last committed height.

use crate::metrics;
use crate::state::NodeState;
use commonware_actor::Feedback;
use commonware_consensus::Reporter;
use commonware_consensus::marshal::Update;
use commonware_cryptography::Digested;
use commonware_runtime::Clock;
use commonware_utils::Acknowledgement;
use commonware_utils::acknowledgement::Exact;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tracing::{debug, error, info};
use yun_state::{BlockEnv, verify_signatures};
use yun_store::Executed;
use yun_types::Block;

/// Most finalized blocks marshal hands out before one is acknowledged (its
/// `max_pending_acks`): this, not the channel, bounds the executor's queue.
pub const FINALIZED_UNACKED_MAX: usize = 16;

/// The reporter marshal delivers finalized blocks to. The channel is unbounded on purpose:
/// a full channel would have to drop an unacknowledged block, which stops marshal; marshal
/// never has more than [`FINALIZED_UNACKED_MAX`] blocks outstanding.
#[derive(Clone)]
pub struct FinalizedSink {
    tx: mpsc::UnboundedSender<Delivered>,
    /// The runtime's clock, to stamp each delivery (a simulation's is simulated).
    now: Arc<dyn Fn() -> SystemTime + Send + Sync>,
}

/// A finalized block as marshal handed it over: the block, its acknowledgement, and when.
pub type Delivered = (Digested<Block>, Exact, SystemTime);

impl std::fmt::Debug for FinalizedSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinalizedSink").finish_non_exhaustive()
    }
}

impl FinalizedSink {
    pub fn new<E: Clock + Send + Sync + 'static>(
        clock: E,
    ) -> (Self, mpsc::UnboundedReceiver<Delivered>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let now = Arc::new(move || clock.current());
        (FinalizedSink { tx, now }, rx)
    }
}

impl Reporter for FinalizedSink {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Update<Block>) -> Feedback {
        match activity {
            Update::Tip(..) => Feedback::Ok,
            Update::Block(block, ack) => match self.tx.send((block, ack, (self.now)())) {
                Ok(()) => Feedback::Ok,
                Err(_) => Feedback::Closed,
            },
        }
    }
}

/// Runs until marshal closes the queue, or until a finalized block cannot be committed: then
/// the block is not acknowledged, the reason goes to `state.fatal` (the node stops with it)
/// and nothing more is applied. The store committed nothing of that block, so a restart with
/// room on the disk replays it from marshal.
pub async fn run<E: Clock>(
    clock: E,
    state: Arc<NodeState>,
    mut rx: mpsc::UnboundedReceiver<Delivered>,
) {
    while let Some((block, ack, delivered)) = rx.recv().await {
        // The runtime's clock, so a simulation's figures are its simulated time.
        let stamped = UNIX_EPOCH + Duration::from_millis(block.inner().header.timestamp_ms);
        let stages = &state.metrics.stages;
        if let Ok(took) = delivered.duration_since(stamped) {
            metrics::observe(&stages.block_timestamp_to_finalized_seconds, took);
        }
        if let Ok(waited) = clock.current().duration_since(delivered) {
            metrics::observe(&stages.block_executor_queue_seconds, waited);
        }
        if let Err(reason) = apply_finalized(&state, block.inner()) {
            error!(%reason, "stopping the node");
            state.fatal.send_replace(Some(reason));
            return;
        }
        if let Ok(took) = clock.current().duration_since(stamped) {
            metrics::observe(&state.metrics.stages.block_timestamp_to_head_seconds, took);
        }
        ack.acknowledge();
    }
    info!("finalized-block stream closed");
}

/// Applies one finalized block (idempotently: blocks at or below the head are checked, not
/// re-applied). Panics where continuing would be unsafe: a finalized block that does not
/// match our chain or state means more than a third of validators are faulty, or a bug.
/// A store that cannot write (a full disk) is an `Err` naming the height and the cause: the
/// node stops cleanly rather than panic, and nothing of the block was committed.
pub fn apply_finalized(state: &NodeState, block: &Block) -> Result<(), String> {
    let head = state.head();
    if block.height() <= head.height {
        let stored = state.store.header(block.height()).expect("store read");
        let stored = stored.expect("every height up to the head is stored");
        assert_eq!(
            stored.hash(),
            block.hash(),
            "finalized block conflicts with the stored chain"
        );
        return Ok(());
    }
    assert_eq!(
        block.height(),
        head.height + 1,
        "finalized blocks arrive without gaps"
    );
    assert_eq!(
        block.header.parent, head.block_hash,
        "finalized block extends the head"
    );
    let executed = execution_of(state, block, &head.block_hash);
    // The receipts already carry every id: no need to re-encode and hash the transactions.
    let included: std::collections::HashSet<_> =
        executed.receipts.iter().map(|r| r.tx_id).collect();
    // Marked until the new head is published (or this returns early, or panics).
    let _committing = Committing::mark(state, block.height());
    // The host's clock, for a metric only: the commit is real work even in a simulation.
    let commit_started = std::time::Instant::now();
    let new_head = state
        .store
        .commit_block(block, &executed)
        .map_err(|e| {
            format!(
                "committing finalized block {} failed: {e} (is the disk full? free space and restart: the block is replayed)",
                block.height()
            )
        })?;
    metrics::observe(
        &state.metrics.stages.block_commit_seconds,
        commit_started.elapsed(),
    );
    state.forget_execution(&block.hash());
    let snapshot = state
        .store
        .snapshot()
        .map_err(|e| format!("reading the state after block {}: {e}", block.height()))?;
    let pending = {
        let mut pool = state.mempool.lock().expect("mempool lock");
        pool.on_block(&snapshot, new_head.height, &included);
        pool.len()
    };
    state.forget_evicted();
    state
        .budget
        .record_finalized(block.header.timestamp_ms, block.txs.len());
    state.metrics.blocks_finalized.inc();
    state.metrics.txs_finalized.inc_by(block.txs.len() as u64);
    state.metrics.height.set(new_head.height as i64);
    state.metrics.mempool_size.set(pending as i64);
    debug!(
        height = new_head.height,
        txs = block.txs.len(),
        "applied finalized block"
    );
    state.head.send_replace(new_head);
    Ok(())
}

/// The execution of the finalized `block` on `parent`: the one this node remembered from
/// building or verifying it, else executed now (checking its signatures first). Panics if its
/// state root differs: more than a third of validators are faulty, or a bug.
fn execution_of(state: &NodeState, block: &Block, parent: &yun_types::BlockHash) -> Arc<Executed> {
    // Read, not taken: until the commit lands, the store's head is still the parent, and a
    // proposal built meanwhile on this block needs its execution as a pending parent.
    // Taking it here made every such proposal execute the block again (half of a single
    // validator's build time under load).
    let executed = match state.execution(&block.hash(), parent) {
        Some(executed) => executed,
        None => {
            assert!(
                verify_signatures(&block.txs, &mut rand::rng()),
                "finalized block at height {} carries an invalid signature",
                block.height()
            );
            let env = BlockEnv::from_block(state.chain_id(), block);
            state.metrics.block_executions_uncached.inc();
            Arc::new(
                state
                    .store
                    .execute(&env, &block.txs)
                    .expect("store read")
                    .unwrap_or_else(|e| {
                        panic!(
                            "finalized block at height {} is invalid: {e}",
                            block.height()
                        )
                    }),
            )
        }
    };
    assert_eq!(
        executed.state_root,
        block.header.state_root,
        "finalized block at height {} has a state root this node does not reproduce",
        block.height()
    );
    executed
}

/// [`NodeState::committing`] set to a height for as long as this lives: cleared on every
/// way out of [`apply_finalized`], so no proposer is left waiting for a commit that ended.
struct Committing<'a>(&'a NodeState);

impl<'a> Committing<'a> {
    fn mark(state: &'a NodeState, height: u64) -> Self {
        *state.committing.lock().expect("committing lock") = Some(height);
        Committing(state)
    }
}

impl Drop for Committing<'_> {
    fn drop(&mut self) {
        // A poisoned lock (a panic elsewhere) still gets cleared.
        *self
            .0
            .committing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}
