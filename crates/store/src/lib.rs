//! The redb-backed chain store: current state, its authenticated Jellyfish Merkle tree,
//! finalized blocks, receipts and query indexes, all committed atomically per block.
//!
//! One block is one redb write transaction (durable on return), so a crash at any moment leaves
//! either the whole block applied or none of it; the node then replays from its block source.

mod durable_mempool;
mod group;
pub mod pending;
mod tables;
mod tree;

use commonware_codec::FixedSize;
use commonware_codec::{DecodeExt, Encode};
use jmt::{KeyHash, storage::TreeUpdateBatch};
use redb::{Database, ReadableDatabase, ReadableTable};
use std::path::Path;
use tables::*;
use yun_state::{
    BlockDraft, BlockEnv, BlockError, MemState, Overlay, SignedSeed, StateReader, StateWrites,
    execute_block, genesis_writes,
};
use yun_types::signers::SignerProof;
use yun_types::{
    Address, Block, BlockHash, Genesis, Hash32, Header, Receipt, SeedSigner, SignedTx, TxId,
};

pub use tree::{Blake3Hasher, StateProof, verify_state_proof};

/// Old tree nodes stay readable for this many state versions (for proofs at recent heights),
/// then are deleted so the tree does not grow with every overwrite.
pub const TREE_VERSIONS_KEPT: u64 = 256;

/// A storage failure. These are host problems (disk, corruption), never user errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(String),
    #[error("state tree: {0}")]
    Tree(String),
    #[error("store is not initialized with a genesis")]
    Uninitialized,
    #[error(
        "this data directory holds chain {found}, not the genesis given ({expected}); if it was made by an older yun, start over with `yun devnet --reset` (or point --data-dir elsewhere)"
    )]
    GenesisMismatch { expected: Hash32, found: Hash32 },
    #[error("invalid genesis: {0}")]
    Genesis(#[from] yun_state::GenesisError),
    #[error("block {got} does not extend the head at height {head}")]
    NotNext { head: u64, got: u64 },
    #[error("corrupt record: {0}")]
    Corrupt(&'static str),
    /// The pending chain given does not start at the head (it moved, or the chain is wrong).
    #[error("the pending blocks do not extend the head at height {head}")]
    PendingNotOnHead { head: u64 },
    /// Building a block whose seed this node cannot sign (its key is not the proposer's).
    #[error("cannot sign the block's seed: {0}")]
    Seed(#[from] yun_state::SeedError),
}

/// Uncommitted executions a new block builds on, oldest first: the first extends the head,
/// each next one the block before (by hash).
pub type PendingChain = [(BlockHash, std::sync::Arc<Executed>)];

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Db(e.to_string()) }
        }
    )*};
}
db_err!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// The latest finalized block as far as state is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub height: u64,
    pub block_hash: BlockHash,
    pub state_root: Hash32,
    pub timestamp_ms: u64,
    /// Number of state-changing commits; the Jellyfish tree's version of the current root.
    pub state_version: u64,
}

/// The result of executing a block against the head, ready to commit.
#[derive(Debug)]
pub struct Executed {
    pub writes: StateWrites,
    pub receipts: Vec<Receipt>,
    pub state_root: Hash32,
    tree_batch: Option<TreeUpdateBatch>,
    /// The head this was computed on; committing on any other head is refused.
    pub parent: BlockHash,
}

/// Where a build's seed proof comes from: signed now, or signed and checked before on the
/// same parent.
enum Seed<'a> {
    Sign(&'a SeedSigner),
    Signed(&'a SignedSeed),
}

/// A block built on the head, the candidates it left out (with why), and its execution.
#[derive(Debug)]
pub struct Proposal {
    pub block: Block,
    pub left_out: Vec<(SignedTx, yun_types::TxRejection)>,
    pub executed: Executed,
}

/// The chain store. Clones share one database (a simulated node that crashes and restarts
/// reopens the same store, as a real one reopens its file).
#[derive(Clone)]
pub struct Store {
    db: std::sync::Arc<Database>,
    /// Admission's durable writes, shared between concurrent submitters (see [`group`]).
    admitted: std::sync::Arc<group::GroupCommit<(TxId, Vec<u8>)>>,
    /// Where each pending transaction's row is (`durable_mempool`). Taken after the writer.
    pending_index: std::sync::Arc<std::sync::Mutex<durable_mempool::PendingIndex>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("db", &self.db).finish()
    }
}

impl Store {
    /// Opens (or creates) the store file at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = Database::create(path)?;
        Store::on(db)
    }

    /// A store in memory, for tests and `yun chain verify`.
    pub fn in_memory() -> Result<Store, StoreError> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?;
        Store::on(db)
    }

    /// The same file as a restarted process opens it: the in-memory parts (the durable
    /// mempool's index, the admission group) read again from the file. A simulated node's
    /// store outlives its crashes this way.
    pub fn reopened(&self) -> Result<Store, StoreError> {
        let pending_index = durable_mempool::PendingIndex::load(&self.db)?;
        Ok(Store {
            db: self.db.clone(),
            admitted: Default::default(),
            pending_index: std::sync::Arc::new(std::sync::Mutex::new(pending_index)),
        })
    }

    fn on(db: Database) -> Result<Store, StoreError> {
        let pending_index = durable_mempool::PendingIndex::load(&db)?;
        Ok(Store {
            db: db.into(),
            admitted: Default::default(),
            pending_index: std::sync::Arc::new(std::sync::Mutex::new(pending_index)),
        })
    }

    pub fn is_initialized(&self) -> Result<bool, StoreError> {
        let rtx = self.db.begin_read()?;
        match rtx.open_table(META) {
            Ok(t) => Ok(t.get(META_GENESIS_HASH)?.is_some()),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the genesis state (height 0) if the store is empty; otherwise checks that the
    /// store belongs to this genesis.
    pub fn init_genesis(&self, genesis: &Genesis) -> Result<Head, StoreError> {
        let hash = genesis.hash();
        if self.is_initialized()? {
            let found = self.genesis_hash()?;
            if found != hash {
                return Err(StoreError::GenesisMismatch {
                    expected: hash,
                    found,
                });
            }
            return self.head();
        }
        let writes = genesis_writes(genesis)?;
        let wtx = self.db.begin_write()?;
        {
            create_all_tables(&wtx)?;
            let (root, batch) = tree::compute(&wtx, &writes, 0)?;
            apply_state(&wtx, &writes)?;
            tree::write_batch(&wtx, &batch)?;
            let block = yun_types::block::genesis_block(genesis, root);
            index_block(&wtx, &block, &[])?;
            let head = Head {
                height: 0,
                block_hash: block.hash(),
                state_root: root,
                timestamp_ms: genesis.genesis_time_ms,
                state_version: 0,
            };
            let mut meta = wtx.open_table(META)?;
            meta.insert(META_GENESIS_HASH, hash.as_bytes().as_slice())?;
            meta.insert(META_CHAIN_ID, genesis.chain_id.as_bytes())?;
            write_head(&mut meta, &head)?;
        }
        wtx.commit()?;
        self.head()
    }

    pub fn genesis_hash(&self) -> Result<Hash32, StoreError> {
        let rtx = self.db.begin_read()?;
        let meta = rtx.open_table(META)?;
        let v = meta
            .get(META_GENESIS_HASH)?
            .ok_or(StoreError::Uninitialized)?;
        Ok(Hash32(
            v.value()
                .try_into()
                .map_err(|_| StoreError::Corrupt("genesis hash"))?,
        ))
    }

    pub fn chain_id(&self) -> Result<String, StoreError> {
        let rtx = self.db.begin_read()?;
        let meta = rtx.open_table(META)?;
        let v = meta.get(META_CHAIN_ID)?.ok_or(StoreError::Uninitialized)?;
        String::from_utf8(v.value().to_vec()).map_err(|_| StoreError::Corrupt("chain id"))
    }

    pub fn head(&self) -> Result<Head, StoreError> {
        let rtx = self.db.begin_read()?;
        let meta = rtx
            .open_table(META)
            .map_err(|_| StoreError::Uninitialized)?;
        read_head(&meta)
    }

    /// A consistent read view of the committed state.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let rtx = self.db.begin_read()?;
        let state = rtx.open_table(STATE)?;
        let meta = rtx.open_table(META)?;
        let head = read_head(&meta)?;
        Ok(Snapshot { state, head })
    }

    /// Executes `txs` on top of the head (signatures must already be verified) and computes
    /// the resulting state root, without writing anything.
    pub fn execute(
        &self,
        env: &BlockEnv,
        txs: &[SignedTx],
    ) -> Result<Result<Executed, BlockError>, StoreError> {
        self.execute_at(None, &[], env, txs)
    }

    /// Executes `txs` as a child of `parent`, which is the last of the `pending` (notarized,
    /// not yet finalized) blocks on top of the head, or the head itself when none are
    /// pending; without writing anything. The head can move between a caller resolving the
    /// chain and this call, so the parent is checked here, under one snapshot, rather than
    /// assumed: `PendingNotOnHead` means "resolve again".
    pub fn execute_on(
        &self,
        parent: &BlockHash,
        pending: &PendingChain,
        env: &BlockEnv,
        txs: &[SignedTx],
    ) -> Result<Result<Executed, BlockError>, StoreError> {
        self.execute_at(Some(parent), pending, env, txs)
    }

    fn execute_at(
        &self,
        parent: Option<&BlockHash>,
        pending: &PendingChain,
        env: &BlockEnv,
        txs: &[SignedTx],
    ) -> Result<Result<Executed, BlockError>, StoreError> {
        let snapshot = self.snapshot()?;
        check_pending(&snapshot, pending, parent)?;
        let layered = pending::LayeredState::new(&snapshot, pending.iter().map(|(_, e)| &e.writes));
        let mut overlay = Overlay::new(&layered);
        let outcome = match execute_block(&mut overlay, env, txs) {
            Ok(o) => o,
            Err(e) => return Ok(Err(e)),
        };
        let writes = overlay.into_writes();
        Ok(Ok(self.finish(
            &snapshot,
            pending,
            writes,
            outcome.receipts,
        )?))
    }

    /// Reads the state after `parent`, which is the last of the `pending` blocks on top of
    /// the head, or the head itself (checked as in [`Self::execute_on`]).
    pub fn read_on<T>(
        &self,
        parent: &BlockHash,
        pending: &PendingChain,
        read: impl FnOnce(&dyn StateReader) -> T,
    ) -> Result<T, StoreError> {
        let snapshot = self.snapshot()?;
        check_pending(&snapshot, pending, Some(parent))?;
        let layered = pending::LayeredState::new(&snapshot, pending.iter().map(|(_, e)| &e.writes));
        Ok(read(&layered))
    }

    /// Builds a proposal body on top of the head from `candidates` (signatures already
    /// verified), leaving out what is not includable, and computes its state root.
    pub fn build(
        &self,
        draft: &BlockDraft,
        seed: &SeedSigner,
        candidates: Vec<SignedTx>,
    ) -> Result<Proposal, StoreError> {
        self.build_at(None, &[], (draft, Seed::Sign(seed), None), candidates)
    }

    /// [`Self::build`] as a child of `parent`: the last of the `pending` blocks on top of the
    /// head, or the head itself (checked as in [`Self::execute_on`]).
    pub fn build_on(
        &self,
        parent: &BlockHash,
        pending: &PendingChain,
        draft: &BlockDraft,
        seed: &SeedSigner,
        candidates: Vec<SignedTx>,
    ) -> Result<Proposal, StoreError> {
        self.build_at(
            Some(parent),
            pending,
            (draft, Seed::Sign(seed), None),
            candidates,
        )
    }

    /// [`Self::build_on`] with the seed proof [`Self::sign_seed_on`] made for this parent, so
    /// a proposer that builds again on the same parent neither signs nor verifies again, and
    /// with the signer record (and its certificate) the node checked for this block.
    pub fn build_on_signed(
        &self,
        parent: &BlockHash,
        pending: &PendingChain,
        (draft, seed, signers): (&BlockDraft, &SignedSeed, Option<SignerProof>),
        candidates: Vec<SignedTx>,
    ) -> Result<Proposal, StoreError> {
        self.build_at(
            Some(parent),
            pending,
            (draft, Seed::Signed(seed), signers),
            candidates,
        )
    }

    /// The proposer's seed proof for the block after `parent` (checked as in
    /// [`Self::execute_on`]), signed over the parent's seed and checked once.
    pub fn sign_seed_on(
        &self,
        parent: &BlockHash,
        pending: &PendingChain,
        draft: &BlockDraft,
        seed: &SeedSigner,
    ) -> Result<SignedSeed, StoreError> {
        let snapshot = self.snapshot()?;
        check_pending(&snapshot, pending, Some(parent))?;
        let layered = pending::LayeredState::new(&snapshot, pending.iter().map(|(_, e)| &e.writes));
        Ok(yun_state::sign_seed(&Overlay::new(&layered), draft, seed)?)
    }

    /// Builds on the parent's state, signing the block's seed over the parent's seed there
    /// (or reusing a proof signed and checked on that state).
    fn build_at(
        &self,
        parent: Option<&BlockHash>,
        pending: &PendingChain,
        (draft, seed, signers): (&BlockDraft, Seed<'_>, Option<SignerProof>),
        candidates: Vec<SignedTx>,
    ) -> Result<Proposal, StoreError> {
        let snapshot = self.snapshot()?;
        check_pending(&snapshot, pending, parent)?;
        let layered = pending::LayeredState::new(&snapshot, pending.iter().map(|(_, e)| &e.writes));
        let mut overlay = Overlay::new(&layered);
        let built = match seed {
            Seed::Sign(signer) => yun_state::sign_seed(&overlay, draft, signer)?,
            Seed::Signed(signed) => signed.clone(),
        };
        let env = built
            .env(draft)
            .with_signers(signers.as_ref().map(|p| p.record.clone()));
        let built = yun_state::build_block_signed(&mut overlay, &env, &built, candidates)?;
        let writes = overlay.into_writes();
        let executed = self.finish(&snapshot, pending, writes, built.receipts)?;
        let block = Block::assemble(
            executed.parent,
            env.height,
            env.timestamp_ms,
            env.proposer,
            env.seed_proof,
            executed.state_root,
            built.txs,
            signers,
        );
        Ok(Proposal {
            block,
            left_out: built.left_out,
            executed,
        })
    }

    fn finish(
        &self,
        snapshot: &Snapshot,
        pending: &PendingChain,
        writes: StateWrites,
        receipts: Vec<Receipt>,
    ) -> Result<Executed, StoreError> {
        let (parent, parent_root, parent_version) = match pending.last() {
            None => (
                snapshot.head.block_hash,
                snapshot.head.state_root,
                snapshot.head.state_version,
            ),
            Some((hash, e)) => (
                *hash,
                e.state_root,
                snapshot.head.state_version
                    + pending
                        .iter()
                        .filter(|(_, e)| e.tree_batch.is_some())
                        .count() as u64,
            ),
        };
        let (state_root, tree_batch) = if writes.is_empty() {
            (parent_root, None)
        } else {
            let rtx = self.db.begin_read()?;
            let batches = pending
                .iter()
                .filter_map(|(_, e)| e.tree_batch.as_ref().map(|b| &b.node_batch))
                .collect();
            let (root, batch) = tree::compute_layered(&rtx, batches, &writes, parent_version + 1)?;
            (root, Some(batch))
        };
        Ok(Executed {
            writes,
            receipts,
            state_root,
            tree_batch,
            parent,
        })
    }

    /// Commits a finalized block and its execution in one durable transaction.
    pub fn commit_block(&self, block: &Block, executed: &Executed) -> Result<Head, StoreError> {
        let head = self.head()?;
        if block.height() != head.height + 1 || executed.parent != head.block_hash {
            return Err(StoreError::NotNext {
                head: head.height,
                got: block.height(),
            });
        }
        let wtx = self.db.begin_write()?;
        // After the writer, held until the commit: see `durable_mempool`.
        let mut pending_index = self.pending_index();
        let new_head = Head {
            height: block.height(),
            block_hash: block.hash(),
            state_root: executed.state_root,
            timestamp_ms: block.header.timestamp_ms,
            state_version: head.state_version + u64::from(executed.tree_batch.is_some()),
        };
        {
            apply_state(&wtx, &executed.writes)?;
            if let Some(batch) = &executed.tree_batch {
                tree::write_batch(&wtx, batch)?;
                tree::prune(
                    &wtx,
                    new_head.state_version.saturating_sub(TREE_VERSIONS_KEPT),
                )?;
            }
            index_block(&wtx, block, &executed.receipts)?;
            let mut meta = wtx.open_table(META)?;
            write_head(&mut meta, &new_head)?;
        }
        let ids = executed.receipts.iter().map(|r| &r.tx_id);
        let unlisted = durable_mempool::delete_rows(&wtx, &pending_index, ids)?;
        wtx.commit()?;
        durable_mempool::forget_rows(&mut pending_index, &unlisted);
        Ok(new_head)
    }

    /// A finalized block, reassembled from its header record and its transactions' records.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        self.with_block_record(height, |rtx, raw| {
            let (header, ids_end) = block_record_header(raw)?;
            let signers = if header.signers_root == Hash32::ZERO {
                None
            } else {
                Some(
                    SignerProof::decode(commonware_codec::Copying(&raw[ids_end..]))
                        .map_err(|_| StoreError::Corrupt("block signer proof"))?,
                )
            };
            if signers.is_none() && raw.len() != ids_end {
                return Err(StoreError::Corrupt("block record"));
            }
            let txs_table = rtx.open_table(TXS)?;
            let mut txs = Vec::with_capacity(header.tx_count as usize);
            for id in raw[Header::SIZE..ids_end].chunks_exact(32) {
                let id: &[u8; 32] = id.try_into().expect("32-byte chunk");
                let rec = txs_table
                    .get(id)?
                    .ok_or(StoreError::Corrupt("block lists a missing tx"))?;
                txs.push(decode_tx_record(rec.value())?.0);
            }
            Ok(Block {
                header,
                txs,
                signers,
            })
        })
    }

    /// A finalized block's header and its transactions' ids, from the block record alone. No
    /// transaction is read or decoded: decoding one decompresses its signer's public key, and
    /// a follower that wants only the ids (an explorer, the bench's watcher) paid that for
    /// every transaction of every block.
    pub fn block_header_and_ids(
        &self,
        height: u64,
    ) -> Result<Option<(Header, Vec<TxId>)>, StoreError> {
        self.with_block_record(height, |_, raw| {
            let (header, ids_end) = block_record_header(raw)?;
            let ids = raw[Header::SIZE..ids_end]
                .chunks_exact(32)
                .map(|id| Hash32(id.try_into().expect("32-byte chunk")))
                .collect();
            Ok((header, ids))
        })
    }

    /// Only the header of a finalized block.
    pub fn header(&self, height: u64) -> Result<Option<Header>, StoreError> {
        self.with_block_record(height, |_, raw| Ok(block_record_header(raw)?.0))
    }

    /// Reads the block record at `height` (none past the head) with `read`, inside one read
    /// transaction that `read` may use for the transactions' records.
    fn with_block_record<T>(
        &self,
        height: u64,
        read: impl FnOnce(&redb::ReadTransaction, &[u8]) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let rtx = self.db.begin_read()?;
        let blocks = rtx.open_table(BLOCKS)?;
        let Some(raw) = blocks.get(height)? else {
            return Ok(None);
        };
        read(&rtx, raw.value()).map(Some)
    }

    pub fn height_of(&self, hash: &BlockHash) -> Result<Option<u64>, StoreError> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(BLOCK_BY_HASH)?;
        Ok(t.get(hash.as_bytes())?.map(|v| v.value()))
    }

    /// A committed transaction and its receipt.
    pub fn tx(&self, id: &TxId) -> Result<Option<(SignedTx, Receipt)>, StoreError> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(TXS)?;
        let Some(raw) = t.get(id.as_bytes())? else {
            return Ok(None);
        };
        decode_tx_record(raw.value()).map(Some)
    }

    /// Ids of the transactions that sent to or from `address`, newest first.
    pub fn account_txs(&self, address: &Address, limit: usize) -> Result<Vec<TxId>, StoreError> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(ACCOUNT_TXS)?;
        let lo = account_tx_key(address, 0, 0);
        let hi = account_tx_key(address, u64::MAX, u32::MAX);
        let mut out = Vec::new();
        for item in t.range(lo.as_slice()..=hi.as_slice())?.rev().take(limit) {
            let (_, v) = item?;
            out.push(Hash32(*v.value()));
        }
        Ok(out)
    }

    /// The account's stored value and a proof of it (or of its absence) against the head root.
    pub fn account_proof(&self, address: &Address) -> Result<StateProof, StoreError> {
        let rtx = self.db.begin_read()?;
        let head = read_head(&rtx.open_table(META)?)?;
        let key = yun_state::StateKey::Account(*address).bytes();
        tree::prove(&rtx, &key, head.state_version, head.state_root)
    }

    /// Copies the whole state into memory (tests, supply audits, `chain verify`).
    pub fn state_entries(&self) -> Result<MemState, StoreError> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(STATE)?;
        let mut mem = MemState::default();
        for item in t.iter()? {
            let (k, v) = item?;
            mem.entries.insert(k.value().to_vec(), v.value().to_vec());
        }
        Ok(mem)
    }
}

/// Checks that `pending` starts at the snapshot's head and links by hash.
/// Checks that `pending` extends the snapshot's head block by block and, when given, ends at
/// `parent` (the head itself when nothing is pending).
fn check_pending(
    snapshot: &Snapshot,
    pending: &PendingChain,
    parent: Option<&BlockHash>,
) -> Result<(), StoreError> {
    let not_on_head = StoreError::PendingNotOnHead {
        head: snapshot.head.height,
    };
    let mut tip = snapshot.head.block_hash;
    for (hash, e) in pending {
        if e.parent != tip {
            return Err(not_on_head);
        }
        tip = *hash;
    }
    match parent {
        Some(p) if *p != tip => Err(not_on_head),
        _ => Ok(()),
    }
}

/// A read-only view of the state at one head.
#[derive(Debug)]
pub struct Snapshot {
    state: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub head: Head,
}

impl StateReader for Snapshot {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.state
            .get(key)
            .expect("state table read (disk failure is fatal)")
            .map(|v| v.value().to_vec())
    }
    fn range(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.range_first(start, end, usize::MAX)
    }
    fn range_first(&self, start: &[u8], end: &[u8], limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        if start >= end {
            return Vec::new();
        }
        self.state
            .range(start..end)
            .expect("state table range (disk failure is fatal)")
            .take(limit)
            .map(|e| {
                let (k, v) = e.expect("state table entry");
                (k.value().to_vec(), v.value().to_vec())
            })
            .collect()
    }
}

fn apply_state(wtx: &redb::WriteTransaction, writes: &StateWrites) -> Result<(), StoreError> {
    let mut t = wtx.open_table(STATE)?;
    for (k, v) in writes {
        match v {
            Some(v) => {
                t.insert(k.as_slice(), v.as_slice())?;
            }
            None => {
                t.remove(k.as_slice())?;
            }
        }
    }
    Ok(())
}

fn index_block(
    wtx: &redb::WriteTransaction,
    block: &Block,
    receipts: &[Receipt],
) -> Result<(), StoreError> {
    let height = block.height();
    // A block is stored as its header, its tx ids and its signer proof (if any); the
    // transactions live once, in TXS.
    let mut record = header_record(&block.header);
    for r in receipts {
        record.extend_from_slice(r.tx_id.as_bytes());
    }
    if let Some(proof) = &block.signers {
        record.extend_from_slice(&proof.encode());
    }
    wtx.open_table(BLOCKS)?.insert(height, record.as_slice())?;
    wtx.open_table(BLOCK_BY_HASH)?
        .insert(block.hash().as_bytes(), height)?;
    let mut txs = wtx.open_table(TXS)?;
    let mut by_account = wtx.open_table(ACCOUNT_TXS)?;
    for (stx, receipt) in block.txs.iter().zip(receipts) {
        let id = receipt.tx_id;
        txs.insert(id.as_bytes(), encode_tx_record(stx, receipt).as_slice())?;
        let sender = stx.sender();
        by_account.insert(
            account_tx_key(&sender, height, receipt.index).as_slice(),
            id.as_bytes(),
        )?;
        match &stx.tx.action {
            yun_types::Action::Transfer { to, .. } if *to != sender => {
                by_account.insert(
                    account_tx_key(to, height, receipt.index).as_slice(),
                    id.as_bytes(),
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn header_record(header: &Header) -> Vec<u8> {
    header.encode().to_vec()
}

fn encode_tx_record(stx: &SignedTx, receipt: &Receipt) -> Vec<u8> {
    let mut out = receipt.encode().to_vec();
    out.extend_from_slice(&stx.encode());
    out
}

/// A block record's header and where its transaction ids end (the signer proof, if any,
/// follows them).
fn block_record_header(raw: &[u8]) -> Result<(Header, usize), StoreError> {
    if raw.len() < Header::SIZE {
        return Err(StoreError::Corrupt("block record"));
    }
    let header = Header::decode(commonware_codec::Copying(&raw[..Header::SIZE]))
        .map_err(|_| StoreError::Corrupt("block header"))?;
    let ids_end = Header::SIZE + header.tx_count as usize * 32;
    if raw.len() < ids_end {
        return Err(StoreError::Corrupt("block record"));
    }
    Ok((header, ids_end))
}

fn decode_tx_record(raw: &[u8]) -> Result<(SignedTx, Receipt), StoreError> {
    use commonware_codec::EncodeSize;
    let receipt_len = Receipt {
        tx_id: Hash32::ZERO,
        height: 0,
        index: 0,
        outcome: yun_types::TxOutcome::Success,
        fee_paid: yun_types::Amount::ZERO,
    }
    .encode_size();
    if raw.len() < receipt_len {
        return Err(StoreError::Corrupt("tx record"));
    }
    let receipt = Receipt::decode(commonware_codec::Copying(&raw[..receipt_len]))
        .map_err(|_| StoreError::Corrupt("receipt"))?;
    let stx =
        SignedTx::decode_untrusted(&raw[receipt_len..]).map_err(|_| StoreError::Corrupt("tx"))?;
    Ok((stx, receipt))
}

fn account_tx_key(address: &Address, height: u64, index: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(44);
    k.extend_from_slice(address.as_bytes());
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// Hash of a state key as the tree sees it.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash::with::<Blake3Hasher>(key)
}
