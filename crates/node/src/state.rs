//! What the consensus application, the finalized-block executor and the HTTP API share.

use crate::block_budget::BlockBudget;
use crate::mempool::{Mempool, MempoolLimits};
use crate::metrics::NodeMetrics;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use yun_store::{Executed, Head, Store};
use yun_types::{Address, BlockHash, Genesis, Hash32, SignedTx, TxId, TxRejection};

/// Most transactions waiting to be gossiped; past it the oldest are not gossiped (they stay
/// in this node's mempool and are proposed when this node leads).
pub const GOSSIP_QUEUE_TXS_MAX: usize = 65_536;

/// The default [`BlockTiming::block_build_target`], in milliseconds.
pub const BLOCK_BUILD_TARGET_MS_DEFAULT: u64 = 200;
/// The default [`BlockTiming::backlog_wait`], in milliseconds.
pub const BACKLOG_WAIT_MS_DEFAULT: u64 = 1_000;

/// How the proposer paces blocks.
#[derive(Debug, Clone)]
pub struct BlockTiming {
    /// A block with transactions is proposed no sooner than this after its parent.
    pub min_block_interval: Duration,
    /// With nothing to include, an empty block is proposed this long after its parent, so
    /// finality (and pruning of consensus journals) keeps moving on an idle chain.
    pub idle_block_interval: Duration,
    /// While the market has work (queued tasks or busy slots), a block is proposed this long
    /// after its parent even without transactions: market deadlines are heights, and a chain
    /// that waits for transactions would otherwise never reach them.
    pub busy_block_interval: Duration,
    /// Longest a validator waits in a view before voting to nullify it. Below
    /// `idle_block_interval`, an idle chain nullifies one view per timeout instead of making
    /// empty blocks; it must stay finite, because a whole network restarted right after voting
    /// (a devnet's one validator) recovers only through this timeout.
    pub leader_timeout: Duration,
    /// How long building one block should take (see [`crate::block_budget`]): the proposer
    /// takes as many transactions as its measured cost per transaction fits in this.
    pub block_build_target: Duration,
    /// How long, at the measured throughput, the mempool's backlog takes to finalize: past
    /// it the lowest fee per byte is evicted and a newcomer that pays no more is refused
    /// (`MempoolFeeRateTooLow`). It bounds the wait of an admitted transaction under any load.
    pub backlog_wait: Duration,
}

impl Default for BlockTiming {
    fn default() -> Self {
        BlockTiming {
            min_block_interval: Duration::from_millis(50),
            idle_block_interval: Duration::from_secs(2),
            busy_block_interval: Duration::from_millis(500),
            leader_timeout: Duration::from_secs(4),
            block_build_target: Duration::from_millis(BLOCK_BUILD_TARGET_MS_DEFAULT),
            backlog_wait: Duration::from_millis(BACKLOG_WAIT_MS_DEFAULT),
        }
    }
}

/// Executions this node computed itself while proposing or verifying, kept so the finalized
/// block need not be executed twice. Bounded; entries are only used on the exact same parent.
const VERIFIED_CACHE_MAX: usize = 32;

/// Shared node state.
#[derive(Debug)]
pub struct NodeState {
    pub store: Store,
    pub genesis: Genesis,
    pub genesis_hash: Hash32,
    pub validators: Vec<Address>,
    /// This node's consensus identity.
    pub me: Address,
    pub mempool: Mutex<Mempool>,
    pub tx_arrived: Notify,
    pub head: watch::Sender<Head>,
    pub timing: BlockTiming,
    /// What the proposer's builds cost per transaction, and the block and backlog sizes that
    /// follow from it.
    pub budget: BlockBudget,
    pub metrics: NodeMetrics,
    /// Transactions this node's clients submitted, waiting to be gossiped to peers.
    pub gossip_queue: Mutex<VecDeque<SignedTx>>,
    pub gossip_ready: Notify,
    /// Equivocations consensus reported, waiting to go on chain.
    pub evidence: std::sync::Arc<crate::evidence::EvidencePool>,
    /// Finalize votes consensus reported, the late ones too, for the signer records.
    pub late_votes: std::sync::Arc<crate::late_votes::LateVotes>,
    /// Why the node must stop (a finalized block it could not commit, say the disk is full):
    /// set once, and the node then shuts down with that reason instead of panicking.
    pub fatal: watch::Sender<Option<String>>,
    /// The height of the finalized block being committed right now, if any: a proposer
    /// waits for that commit instead of building on the block as a pending parent.
    pub committing: Mutex<Option<u64>>,
    verified: Mutex<VecDeque<(BlockHash, Arc<Executed>)>>,
}

impl NodeState {
    pub fn new(
        store: Store,
        genesis: Genesis,
        me: Address,
        timing: BlockTiming,
        limits: MempoolLimits,
    ) -> Result<NodeState, yun_store::StoreError> {
        let head = store.init_genesis(&genesis)?;
        let (head_tx, _) = watch::channel(head);
        let recovered = store.pending()?;
        let state = NodeState {
            genesis_hash: genesis.hash(),
            validators: genesis.validators.iter().map(|v| v.address).collect(),
            genesis,
            store,
            me,
            mempool: Mutex::new(Mempool::new(limits)),
            tx_arrived: Notify::new(),
            head: head_tx,
            budget: BlockBudget::new(timing.block_build_target, timing.backlog_wait),
            timing,
            metrics: NodeMetrics::default(),
            gossip_queue: Mutex::new(VecDeque::new()),
            gossip_ready: Notify::new(),
            evidence: Default::default(),
            late_votes: Default::default(),
            fatal: watch::channel(None).0,
            committing: Mutex::new(None),
            verified: Mutex::new(VecDeque::new()),
        };
        state.recover_pending(recovered)?;
        Ok(state)
    }

    /// Re-admits what the mempool had accepted before a restart; what no longer passes is
    /// forgotten (it was committed, or became invalid, while the node was down).
    fn recover_pending(&self, txs: Vec<SignedTx>) -> Result<(), yun_store::StoreError> {
        let snapshot = self.store.snapshot()?;
        let next_height = snapshot.head.height + 1;
        let mut stale = Vec::new();
        let mut regossip = Vec::new();
        {
            let mut pool = self.mempool.lock().expect("mempool lock");
            // Nonce order per sender, so each finds its predecessor already admitted.
            let mut txs = txs;
            txs.sort_by_key(|t| (t.sender(), t.tx.nonce));
            for tx in txs {
                let id = tx.id();
                let copy = tx.clone();
                // The file is ours, but a signature is cheap insurance against a corrupt disk.
                if !tx.verify_signature()
                    || pool
                        .admit(&snapshot, self.chain_id(), next_height, tx)
                        .is_err()
                {
                    stale.push(id);
                } else {
                    regossip.push(copy);
                }
            }
            stale.extend(pool.take_evicted());
        }
        // Peers may never have heard of them (this node may have stopped before gossiping).
        self.queue_gossip(regossip);
        self.store.remove_pending(&stale)
    }

    /// Drops the durable copies of transactions that left the mempool.
    pub fn forget_evicted(&self) {
        let evicted = self.mempool.lock().expect("mempool lock").take_evicted();
        if let Err(e) = self.store.remove_pending(&evicted) {
            tracing::warn!(error = %e, "could not clear pending transactions (they are re-checked on restart)");
        }
    }

    pub fn chain_id(&self) -> &str {
        &self.genesis.chain_id
    }

    pub fn head(&self) -> Head {
        *self.head.borrow()
    }

    /// Admits signed transactions into the mempool against the latest committed state:
    /// signatures are checked in one batch (one by one only if the batch fails), then each
    /// transaction against state and the mempool. Accepted transactions are durable on return.
    pub fn submit(&self, txs: Vec<SignedTx>) -> Vec<Result<TxId, TxRejection>> {
        // The host's clock, for a metric only (admission is real work in a simulation too).
        let started = std::time::Instant::now();
        let results = self.admit(&txs, true);
        crate::metrics::observe(&self.metrics.stages.admission_seconds, started.elapsed());
        let accepted = txs
            .into_iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(tx, _)| tx)
            .collect();
        self.queue_gossip(accepted);
        results
    }

    /// Queues transactions for gossip, dropping the oldest past `GOSSIP_QUEUE_TXS_MAX`.
    fn queue_gossip(&self, txs: Vec<SignedTx>) {
        if txs.is_empty() {
            return;
        }
        let mut queue = self.gossip_queue.lock().expect("gossip queue lock");
        queue.extend(txs);
        let excess = queue.len().saturating_sub(GOSSIP_QUEUE_TXS_MAX);
        queue.drain(..excess);
        self.gossip_ready.notify_one();
    }

    /// Whether transaction `id` is in a committed block.
    fn is_committed(&self, id: &TxId) -> bool {
        match self.store.tx(id) {
            Ok(found) => found.is_some(),
            Err(e) => panic!("transaction lookup failed (storage is broken): {e}"),
        }
    }

    /// Admits transactions a peer gossiped (like [`Self::submit`], but not gossiped again, and
    /// kept in memory only: the node that answered the client made them durable and gossips
    /// them again after a restart, so a copy on every node's disk bought nothing but an fsync
    /// per gossip batch on each of them).
    pub fn admit_from_peer(&self, txs: Vec<SignedTx>) -> Vec<Result<TxId, TxRejection>> {
        self.admit(&txs, false)
    }

    /// `durable_on_return`: accepted transactions are on disk before this returns.
    fn admit(&self, txs: &[SignedTx], durable_on_return: bool) -> Vec<Result<TxId, TxRejection>> {
        let signatures_ok: Vec<bool> = if yun_state::verify_signatures(txs, &mut rand::rng()) {
            vec![true; txs.len()]
        } else {
            txs.iter().map(SignedTx::verify_signature).collect()
        };
        let mut durable = Vec::new();
        let results: Vec<_> = {
            // The mempool first, then the state: a finalized block is committed to the store
            // before the mempool forgets its transactions, so a snapshot taken under the lock
            // is never older than the pending set (the other order could judge a correct
            // nonce too far ahead of a stale committed one).
            let mut pool = self.mempool.lock().expect("mempool lock");
            let snapshot = match self.store.snapshot() {
                Ok(s) => s,
                Err(e) => panic!("state snapshot failed (storage is broken): {e}"),
            };
            let next_height = snapshot.head.height + 1;
            let chain_txs_max = yun_state::Overlay::new(&snapshot).params().block_txs_max;
            let backlog_txs_max = self.budget.backlog_txs_max(chain_txs_max as usize);
            txs.iter()
                .zip(signatures_ok)
                .map(|(tx, signature_ok)| {
                    if !signature_ok {
                        return Err(TxRejection::BadSignature);
                    }
                    let r = pool.admit_within(
                        &snapshot,
                        self.chain_id(),
                        next_height,
                        tx.clone(),
                        backlog_txs_max,
                    );
                    // A client retrying what was already included gets the answer its retry
                    // means (the stale nonce alone would say BadNonce).
                    let r = match r {
                        Err(TxRejection::BadNonce) if self.is_committed(&tx.id()) => {
                            Err(TxRejection::AlreadyKnown)
                        }
                        r => r,
                    };
                    if let Ok(id) = r
                        && durable_on_return
                    {
                        durable.push((id, commonware_codec::Encode::encode(tx).to_vec()));
                    }
                    r
                })
                .collect()
        };
        self.make_durable(durable);
        self.forget_evicted();
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        for r in &results {
            match r {
                Ok(_) => {
                    self.metrics.txs_accepted.inc();
                }
                Err(reason) => self.metrics.rejected(*reason),
            };
        }
        if accepted > 0 {
            self.tx_arrived.notify_one();
        }
        results
    }

    /// Accepted means durable: returns once `durable` is on disk (timed, when there was
    /// anything to write).
    fn make_durable(&self, durable: Vec<(TxId, Vec<u8>)>) {
        if durable.is_empty() {
            return;
        }
        // The host's clock, for a metric only.
        let started = std::time::Instant::now();
        if let Err(e) = self.store.add_pending(durable) {
            panic!("recording accepted transactions failed (storage is broken): {e}");
        }
        crate::metrics::observe(
            &self.metrics.stages.admission_durable_write_seconds,
            started.elapsed(),
        );
    }

    /// The height of the finalized block whose commit a proposer should wait for before it
    /// builds: one is being committed, and the mempool holds at least half a budgeted block,
    /// the committing block's own transactions included (they leave it when the commit lands;
    /// see `commit_wait::await_commit`: with a lighter mempool a block sooner is worth more). A
    /// block is what the next one may take: the node's measured budget within the chain's
    /// `block_txs_max`, as the proposer will take it; half of an odd count rounds up.
    pub fn commit_worth_awaiting(&self) -> Option<u64> {
        let height = (*self.committing.lock().expect("committing lock"))?;
        let chain_txs_max = match self.store.snapshot() {
            Ok(snapshot) => yun_state::Overlay::new(&snapshot).params().block_txs_max as usize,
            Err(e) => panic!("state snapshot failed (storage is broken): {e}"),
        };
        let waiting = self.mempool.lock().expect("mempool lock").len();
        let block_txs = self.budget.block_txs_max(chain_txs_max);
        (waiting >= block_txs.div_ceil(2)).then_some(height)
    }

    pub fn remember_execution(&self, hash: BlockHash, executed: Arc<Executed>) {
        let mut cache = self.verified.lock().expect("cache lock");
        cache.retain(|(h, _)| *h != hash);
        cache.push_back((hash, executed));
        while cache.len() > VERIFIED_CACHE_MAX {
            cache.pop_front();
        }
    }

    /// Drops the remembered executions of `hash`: called once that block is committed, so
    /// the store's head carries its state and no pending chain needs it.
    pub fn forget_execution(&self, hash: &BlockHash) {
        let mut cache = self.verified.lock().expect("cache lock");
        cache.retain(|(h, _)| h != hash);
    }

    /// A remembered execution of `hash` on `parent`, left in place (a child may build on it
    /// before it is finalized).
    pub fn execution(&self, hash: &BlockHash, parent: &BlockHash) -> Option<Arc<Executed>> {
        let cache = self.verified.lock().expect("cache lock");
        cache
            .iter()
            .find(|(h, e)| h == hash && e.parent == *parent)
            .map(|(_, e)| e.clone())
    }
}

/// A block finalized while a reader waits for the mempool: the interleaving that decides
/// whether readers take their state snapshot under the mempool lock.
#[cfg(test)]
pub(crate) mod race {
    use super::*;
    use yun_state::BlockDraft;
    use yun_state::scenario::{SCENARIO_CHAIN_ID, addr, genesis_with, key_of, seed_signer_of};
    use yun_types::{Action, Amount, Tx};

    /// How long the reader gets to reach the mempool lock before the block commits.
    const REACH_LOCK: Duration = Duration::from_millis(200);

    /// A node whose only account, alice, has transaction nonce 0 pending.
    pub(crate) fn node_with_pending() -> (Arc<NodeState>, SignedTx) {
        let store = Store::in_memory().expect("in-memory store");
        let genesis = genesis_with(&[("alice", 1_000_000)]);
        let limits = MempoolLimits::default();
        let node = NodeState::new(
            store,
            genesis,
            addr("validator"),
            BlockTiming::default(),
            limits,
        )
        .expect("node state");
        let tx = transfer(0);
        assert_eq!(node.submit(vec![tx.clone()]), [Ok(tx.id())]);
        (Arc::new(node), tx)
    }

    pub(crate) fn transfer(nonce: u64) -> SignedTx {
        Tx {
            chain_id: SCENARIO_CHAIN_ID.into(),
            nonce,
            fee: Amount::new(10),
            expires_at_height: 1_000,
            action: Action::Transfer {
                to: addr("bob"),
                amount: Amount::new(1),
            },
        }
        .sign(&key_of("alice"))
    }

    /// A node funding `accounts` whose build budget is a microsecond: builds of a few hundred
    /// transactions take longer, so before any build its blocks hold the floor,
    /// `BUDGET_TXS_MIN` transactions.
    pub(crate) fn node_with_floor_budget(accounts: &[(&str, u128)]) -> NodeState {
        let timing = BlockTiming {
            block_build_target: Duration::from_micros(1),
            ..BlockTiming::default()
        };
        NodeState::new(
            Store::in_memory().expect("in-memory store"),
            genesis_with(accounts),
            addr("validator"),
            timing,
            MempoolLimits::default(),
        )
        .expect("node state")
    }

    /// A node on `genesis` with the default timing (its budget well above a small chain's
    /// `block_txs_max`).
    pub(crate) fn node_on_genesis(genesis: Genesis) -> NodeState {
        NodeState::new(
            Store::in_memory().expect("in-memory store"),
            genesis,
            addr("validator"),
            BlockTiming::default(),
            MempoolLimits::default(),
        )
        .expect("node state")
    }

    /// `from`'s first transaction (nonce 0): 1 to bob, paying `fee`.
    pub(crate) fn first_transfer(from: &str, fee: u128) -> SignedTx {
        Tx {
            chain_id: SCENARIO_CHAIN_ID.into(),
            nonce: 0,
            fee: Amount::new(fee),
            expires_at_height: 1_000,
            action: Action::Transfer {
                to: addr("bob"),
                amount: Amount::new(1),
            },
        }
        .sign(&key_of(from))
    }

    /// Runs `read` on another thread while the test holds the mempool; once `read` had time
    /// to reach the lock, commits a block with `included` to the store and then updates the
    /// mempool, as the executor does; returns what `read` saw.
    pub(crate) fn while_a_block_commits<T: Send + 'static>(
        node: &Arc<NodeState>,
        included: SignedTx,
        read: impl FnOnce(Arc<NodeState>) -> T + Send + 'static,
    ) -> T {
        let mut pool = node.mempool.lock().expect("mempool lock");
        let reader = {
            let node = node.clone();
            std::thread::spawn(move || read(node))
        };
        std::thread::sleep(REACH_LOCK);
        let head = node.store.head().expect("head");
        let draft = BlockDraft {
            chain_id: SCENARIO_CHAIN_ID.into(),
            height: head.height + 1,
            timestamp_ms: head.timestamp_ms + 1,
            proposer: addr("validator"),
        };
        let id = included.id();
        let p = node
            .store
            .build(&draft, &seed_signer_of("validator"), vec![included])
            .expect("block builds");
        assert!(p.left_out.is_empty(), "{:?}", p.left_out);
        let new_head = node
            .store
            .commit_block(&p.block, &p.executed)
            .expect("commit");
        let snapshot = node.store.snapshot().expect("snapshot");
        pool.on_block(&snapshot, new_head.height, &[id].into_iter().collect());
        drop(pool);
        reader.join().expect("reader thread")
    }

    #[test]
    fn admission_during_a_block_judges_nonces_against_that_block() {
        let (node, tx0) = node_with_pending();
        let tx1 = transfer(1);
        let id = tx1.id();
        let admitted = while_a_block_commits(&node, tx0, move |n| n.submit(vec![tx1]));
        assert_eq!(admitted, [Ok(id)]);
    }

    /// What `yun bench transfers` reports as the admission stages: a client's calls, not a
    /// peer's gossip (which is not written to disk).
    #[test]
    fn a_clients_admission_is_timed_and_a_peers_gossip_is_not() {
        let node = node_with_floor_budget(&[("alice", 1_000_000), ("bob", 1_000_000)]);
        let stages = &node.metrics.stages;
        let alice = first_transfer("alice", 10);
        assert_eq!(node.submit(vec![alice.clone()]), [Ok(alice.id())]);
        assert_eq!(stages.admission_seconds.count(), 1);
        assert_eq!(stages.admission_durable_write_seconds.count(), 1);
        let bob = first_transfer("bob", 10);
        assert_eq!(node.admit_from_peer(vec![bob.clone()]), [Ok(bob.id())]);
        assert_eq!(
            stages.admission_seconds.count(),
            1,
            "gossip is not a client's call"
        );
        assert_eq!(stages.admission_durable_write_seconds.count(), 1);
    }

    /// A flood at one fee from many accounts meets the backlog bound: the node admits what its
    /// blocks take in `backlog_wait` (here the floor, two blocks of `BUDGET_TXS_MIN`), refuses
    /// the rest, and loses nothing it admitted. An honest sender who pays more still gets in:
    /// the flood cannot buy the backlog at the minimum rate.
    #[test]
    fn a_flood_is_refused_past_the_backlog_and_a_better_payer_still_gets_in() {
        use crate::block_budget::{BACKLOG_BLOCKS_MIN, BUDGET_TXS_MIN};
        let names: Vec<String> = (0..700).map(|i| format!("flooder{i}")).collect();
        let mut funded: Vec<(&str, u128)> = names.iter().map(|n| (n.as_str(), 1_000_000)).collect();
        funded.push(("honest", 1_000_000));
        let node = node_with_floor_budget(&funded);
        let transfer = first_transfer;
        let flood: Vec<SignedTx> = names.iter().map(|n| transfer(n, 10)).collect();
        let results = node.submit(flood.clone());
        let bound = BUDGET_TXS_MIN * BACKLOG_BLOCKS_MIN;
        assert!(results[..bound].iter().all(Result::is_ok));
        assert!(
            results[bound..]
                .iter()
                .all(|r| *r == Err(TxRejection::MempoolFeeRateTooLow)),
            "past the bound every new transaction at the same fee waits outside"
        );
        assert_eq!(node.mempool.lock().expect("mempool").len(), bound);
        let durable = node.store.pending().expect("pending table");
        assert_eq!(durable.len(), bound, "what was admitted is on disk");

        let honest = transfer("honest", 20);
        assert_eq!(node.submit(vec![honest.clone()]), [Ok(honest.id())]);
        let pool = node.mempool.lock().expect("mempool");
        assert_eq!(pool.len(), bound, "one flood transaction made way");
        let evicted = flood[..bound]
            .iter()
            .filter(|t| pool.dropped_reason(&t.id()) == Some(TxRejection::MempoolFeeRateTooLow))
            .count();
        assert_eq!(evicted, 1);
        drop(pool);
        let durable = node.store.pending().expect("pending table");
        assert_eq!(durable.len(), bound, "the evicted copy left the disk");
        assert!(durable.iter().any(|t| t.id() == honest.id()));
    }
}
