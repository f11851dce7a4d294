//! The durable mempool's table in the store: accepted transactions are on disk before their
//! submitter is answered, and are re-admitted after a restart.
//!
//! The table is keyed by arrival (a sequence number), not by transaction id. redb is
//! copy-on-write, so every page a commit touches is written out again; keys at random (ids)
//! put each admission's row and each committed transaction's deletion on a page of its own,
//! while arrival order puts a batch's rows, and a block's deletions, on a few neighbouring
//! pages. The id → sequence map that the deletions need lives in memory, read again at open,
//! and changes only once the write transaction that changed the table has committed.

use crate::tables::{PENDING, PENDING_BY_ID_V1, TXS};
use crate::{Store, StoreError};
use redb::{Database, ReadableDatabase, ReadableTable, WriteTransaction};
use std::collections::HashMap;
use yun_types::{Hash32, SignedTx, TxId};

/// Where each listed transaction sits in the table, and the next free place.
#[derive(Debug, Default)]
pub(crate) struct PendingIndex {
    next_seq: u64,
    by_id: HashMap<TxId, u64>,
}

impl PendingIndex {
    /// Reads the table (adopting an older store's id-keyed one first): every row's id, and
    /// the next sequence number past the last row. A row is named by the digest of its bytes
    /// (a transaction's id), so opening decodes nothing.
    pub(crate) fn load(db: &Database) -> Result<PendingIndex, StoreError> {
        let mut index = PendingIndex::default();
        let mut repeats = Vec::new();
        {
            let rtx = db.begin_read()?;
            match rtx.open_table(PENDING) {
                Ok(t) => {
                    for item in t.iter()? {
                        let (seq, bytes) = item?;
                        let id = Hash32::digest(bytes.value());
                        match index.by_id.entry(id) {
                            std::collections::hash_map::Entry::Occupied(_) => {
                                repeats.push(seq.value())
                            }
                            std::collections::hash_map::Entry::Vacant(v) => {
                                v.insert(seq.value());
                            }
                        }
                        index.next_seq = seq.value() + 1;
                    }
                }
                Err(redb::TableError::TableDoesNotExist(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        // No writer lists an id twice; a repeat would be a stray copy the index cannot name.
        if !repeats.is_empty() {
            let wtx = db.begin_write()?;
            {
                let mut t = wtx.open_table(PENDING)?;
                for seq in repeats {
                    t.remove(seq)?;
                }
            }
            wtx.commit()?;
        }
        adopt_id_keyed(db, &mut index)?;
        Ok(index)
    }

    /// Each of `ids` that is listed, with its row.
    fn rows_of<'a>(&self, ids: impl Iterator<Item = &'a TxId>) -> Vec<(TxId, u64)> {
        ids.filter_map(|id| self.by_id.get(id).map(|seq| (*id, *seq)))
            .collect()
    }

    /// Forgets rows whose deletion has committed.
    fn forget(&mut self, rows: &[(TxId, u64)]) {
        for (id, _) in rows {
            self.by_id.remove(id);
        }
    }
}

/// Moves the rows of the table an older yun kept by id (`pending`) after the arrival-keyed
/// ones (skipping an id already listed there), and deletes the old table, in one durable
/// commit: once, at open.
fn adopt_id_keyed(db: &Database, index: &mut PendingIndex) -> Result<(), StoreError> {
    let rtx = db.begin_read()?;
    let old: Vec<(TxId, Vec<u8>)> = match rtx.open_table(PENDING_BY_ID_V1) {
        Ok(t) => t
            .iter()?
            .map(|item| {
                let (id, bytes) = item?;
                Ok((Hash32(*id.value()), bytes.value().to_vec()))
            })
            .collect::<Result<_, StoreError>>()?,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    drop(rtx);
    let mut adopted = Vec::new();
    let wtx = db.begin_write()?;
    {
        let mut t = wtx.open_table(PENDING)?;
        for (id, bytes) in &old {
            if index.by_id.contains_key(id) {
                continue;
            }
            let seq = index.next_seq + adopted.len() as u64;
            t.insert(seq, bytes.as_slice())?;
            adopted.push((*id, seq));
        }
    }
    wtx.delete_table(PENDING_BY_ID_V1)?;
    wtx.commit()?;
    index.next_seq += adopted.len() as u64;
    index.by_id.extend(adopted);
    Ok(())
}

impl Store {
    /// Durably records transactions the mempool accepted (before the submitter is answered).
    /// Concurrent callers share one transaction (group commit): a caller that finds a write
    /// in progress queues behind it, and the next write takes everything queued.
    pub fn add_pending(&self, txs: Vec<(TxId, Vec<u8>)>) -> Result<(), StoreError> {
        if txs.is_empty() {
            return Ok(());
        }
        self.admitted.submit(txs, |all| self.write_pending(&all))
    }

    fn write_pending(&self, txs: &[(TxId, Vec<u8>)]) -> Result<(), StoreError> {
        // The writer first, then the index (held until the commit): every writer's order.
        let wtx = self.db.begin_write()?;
        let mut index = self.pending_index();
        let mut added: HashMap<TxId, u64> = HashMap::new();
        {
            let committed = wtx.open_table(TXS)?;
            let mut t = wtx.open_table(PENDING)?;
            for (id, bytes) in txs {
                // A block may have taken it from the mempool and committed it while this
                // write waited for the writer: listing it now would keep it until a restart.
                if committed.get(id.as_bytes())?.is_some() {
                    continue;
                }
                // A transaction listed again (re-admitted) keeps its row.
                let next_seq = index.next_seq + added.len() as u64;
                let seq = match index.by_id.get(id) {
                    Some(seq) => *seq,
                    None => *added.entry(*id).or_insert(next_seq),
                };
                t.insert(seq, bytes.as_slice())?;
            }
        }
        wtx.commit()?;
        index.next_seq += added.len() as u64;
        index.by_id.extend(added);
        Ok(())
    }

    /// Forgets pending transactions the mempool dropped. Not forced to disk: if a crash loses
    /// this, the transactions are re-checked on restart and dropped again.
    pub fn remove_pending(&self, ids: &[TxId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut wtx = self.db.begin_write()?;
        wtx.set_durability(redb::Durability::None)?;
        let mut index = self.pending_index();
        let rows = delete_rows(&wtx, &index, ids.iter())?;
        wtx.commit()?;
        index.forget(&rows);
        Ok(())
    }

    /// Every recorded pending transaction, in the order they arrived, for re-admission after
    /// a restart.
    pub fn pending(&self) -> Result<Vec<SignedTx>, StoreError> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(PENDING)?;
        let mut out = Vec::new();
        for item in t.iter()? {
            let (_, v) = item?;
            out.push(
                SignedTx::decode_untrusted(v.value())
                    .map_err(|_| StoreError::Corrupt("pending tx"))?,
            );
        }
        Ok(out)
    }

    /// The index, for a writer that holds redb's writer (see the module's order).
    pub(crate) fn pending_index(&self) -> std::sync::MutexGuard<'_, PendingIndex> {
        // Changes land only after their commit, so a panic mid-write leaves the index as the
        // table was: carry on rather than fail every later admission.
        self.pending_index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Deletes the rows of those of `ids` that are listed, within `wtx`; returns them, for
/// [`PendingIndex::forget`] once `wtx` has committed.
pub(crate) fn delete_rows<'a>(
    wtx: &WriteTransaction,
    index: &PendingIndex,
    ids: impl Iterator<Item = &'a TxId>,
) -> Result<Vec<(TxId, u64)>, StoreError> {
    let rows = index.rows_of(ids);
    let mut t = wtx.open_table(PENDING)?;
    for (_, seq) in &rows {
        t.remove(*seq)?;
    }
    Ok(rows)
}

/// Forgets `rows` in the index once the commit that deleted them has landed.
pub(crate) fn forget_rows(index: &mut PendingIndex, rows: &[(TxId, u64)]) {
    index.forget(rows);
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Encode;
    use redb::{ReadTransaction, TableDefinition, TableHandle};
    use yun_state::scenario::transfer_to_fresh;

    fn listed(tx: &SignedTx) -> (TxId, Vec<u8>) {
        (tx.id(), tx.encode().to_vec())
    }

    fn ids(store: &Store) -> Vec<TxId> {
        store.pending().unwrap().iter().map(SignedTx::id).collect()
    }

    #[test]
    fn rows_keep_arrival_order_and_a_reopened_store_still_finds_each_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let txs: Vec<SignedTx> = (0..4).map(|n| transfer_to_fresh("alice", n, 10)).collect();
        let arrival: Vec<TxId> = txs.iter().map(SignedTx::id).collect();
        {
            let store = Store::open(&path).unwrap();
            store
                .add_pending(vec![listed(&txs[0]), listed(&txs[1])])
                .unwrap();
            store
                .add_pending(vec![listed(&txs[2]), listed(&txs[3])])
                .unwrap();
            store.add_pending(vec![listed(&txs[1])]).unwrap();
            assert_eq!(
                ids(&store),
                arrival,
                "arrival order; listed again, kept once"
            );
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(ids(&store), arrival, "the same rows after a reopen");
        store.remove_pending(&[arrival[2], arrival[0]]).unwrap();
        assert_eq!(
            ids(&store),
            vec![arrival[1], arrival[3]],
            "the reopened index found the rows by id"
        );
        let late = transfer_to_fresh("bob", 0, 10);
        store.add_pending(vec![listed(&late)]).unwrap();
        assert_eq!(
            ids(&store).last(),
            Some(&late.id()),
            "a new row goes after the last one, not over a freed place"
        );
    }

    #[test]
    fn an_older_stores_id_keyed_table_is_adopted_once_beside_rows_already_listed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let txs: Vec<SignedTx> = (0..3).map(|n| transfer_to_fresh("alice", n, 10)).collect();
        // This version listed txs[1] (say, before a downgrade that listed it again).
        Store::open(&path)
            .unwrap()
            .add_pending(vec![listed(&txs[1])])
            .unwrap();
        {
            // The layout before `pending_by_arrival`.
            let old: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("pending");
            let db = Database::create(&path).unwrap();
            let w = db.begin_write().unwrap();
            let mut t = w.open_table(old).unwrap();
            for tx in &txs {
                t.insert(tx.id().as_bytes(), tx.encode().to_vec().as_slice())
                    .unwrap();
            }
            drop(t);
            w.commit().unwrap();
        }
        let mut older: Vec<TxId> = vec![txs[0].id(), txs[2].id()];
        older.sort();
        let expected = [vec![txs[1].id()], older].concat();
        for _ in 0..2 {
            let store = Store::open(&path).unwrap();
            assert_eq!(
                ids(&store),
                expected,
                "adopted after what was listed, each once, and once after a reopen"
            );
            let r: ReadTransaction = store.db.begin_read().unwrap();
            let gone = r.list_tables().unwrap().all(|t| t.name() != "pending");
            assert!(gone, "the old table is deleted");
        }
        let store = Store::open(&path).unwrap();
        store.remove_pending(&[txs[2].id(), txs[1].id()]).unwrap();
        assert_eq!(
            ids(&store),
            vec![txs[0].id()],
            "adopted rows are found by id"
        );
    }
}
