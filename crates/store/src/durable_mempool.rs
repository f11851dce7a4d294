//! The durable mempool's table in the store: accepted transactions are on disk before their
//! submitter is answered, and are re-admitted after a restart.
//!
//! The table is keyed by arrival (a sequence number), not by transaction id. redb is
//! copy-on-write, so every page a commit touches is written out again; keys at random (ids)
//! put each admission's row and each committed transaction's deletion on a page of its own,
//! while arrival order puts a batch's rows, and a block's deletions, on a few neighbouring
//! pages. The id → sequence map that the deletions need lives in memory, rebuilt at open.

use crate::tables::{PENDING, PENDING_BY_ID_V1};
use crate::{Store, StoreError};
use redb::{Database, ReadableDatabase, ReadableTable, WriteTransaction};
use std::collections::HashMap;
use yun_types::{SignedTx, TxId};

/// Where each listed transaction sits in the table, and the next free place.
#[derive(Debug, Default)]
pub(crate) struct PendingIndex {
    next: u64,
    by_id: HashMap<TxId, u64>,
}

impl PendingIndex {
    /// Reads the table (after adopting an older store's id-keyed one): every row's id, and
    /// the next sequence number past the last row.
    pub(crate) fn load(db: &Database) -> Result<PendingIndex, StoreError> {
        adopt_id_keyed(db)?;
        let rtx = db.begin_read()?;
        let mut index = PendingIndex::default();
        let t = match rtx.open_table(PENDING) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(index),
            Err(e) => return Err(e.into()),
        };
        for item in t.iter()? {
            let (seq, bytes) = item?;
            let tx = SignedTx::decode_untrusted(bytes.value())
                .map_err(|_| StoreError::Corrupt("pending tx"))?;
            index.by_id.insert(tx.id(), seq.value());
            index.next = seq.value() + 1;
        }
        Ok(index)
    }
}

/// Moves the rows of the table an older yun kept by id (`pending`) into the arrival-keyed
/// one, in id order, and deletes the old table, in one durable commit: once, at open.
fn adopt_id_keyed(db: &Database) -> Result<(), StoreError> {
    let rtx = db.begin_read()?;
    let old: Vec<Vec<u8>> = match rtx.open_table(PENDING_BY_ID_V1) {
        Ok(t) => t
            .iter()?
            .map(|item| Ok(item?.1.value().to_vec()))
            .collect::<Result<_, StoreError>>()?,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    drop(rtx);
    let wtx = db.begin_write()?;
    {
        let mut t = wtx.open_table(PENDING)?;
        let first = t.last()?.map_or(0, |(seq, _)| seq.value() + 1);
        for (seq, bytes) in (first..).zip(&old) {
            t.insert(seq, bytes.as_slice())?;
        }
    }
    wtx.delete_table(PENDING_BY_ID_V1)?;
    wtx.commit()?;
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
        // The writer first, then the index: the order every writer takes them in.
        let wtx = self.db.begin_write()?;
        {
            let mut index = self.pending_index();
            let mut t = wtx.open_table(PENDING)?;
            for (id, bytes) in txs {
                // A transaction listed again (re-admitted) keeps its row.
                let next = index.next;
                let seq = *index.by_id.entry(*id).or_insert(next);
                if seq == next {
                    index.next += 1;
                }
                t.insert(seq, bytes.as_slice())?;
            }
        }
        // If this fails, the index names rows that are not there: deleting them later is a
        // no-op, and a restart reads the index again from the table.
        wtx.commit()?;
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
        unlist(&wtx, &mut self.pending_index(), ids.iter())?;
        wtx.commit()?;
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

    pub(crate) fn pending_index(&self) -> std::sync::MutexGuard<'_, PendingIndex> {
        // A panic while holding it leaves at worst rows the index no longer names, which a
        // restart lists and re-checks: carry on rather than fail every later admission.
        self.pending_index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Deletes the rows of `ids` (those listed) within `wtx`, and forgets them in `index`.
pub(crate) fn unlist<'a>(
    wtx: &WriteTransaction,
    index: &mut PendingIndex,
    ids: impl Iterator<Item = &'a TxId>,
) -> Result<(), StoreError> {
    let mut t = wtx.open_table(PENDING)?;
    for id in ids {
        if let Some(seq) = index.by_id.remove(id) {
            t.remove(seq)?;
        }
    }
    Ok(())
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
    fn an_older_stores_id_keyed_table_is_adopted_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let txs: Vec<SignedTx> = (0..3).map(|n| transfer_to_fresh("alice", n, 10)).collect();
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
        let mut by_id: Vec<TxId> = txs.iter().map(SignedTx::id).collect();
        by_id.sort();
        for _ in 0..2 {
            let store = Store::open(&path).unwrap();
            assert_eq!(
                ids(&store),
                by_id,
                "adopted, and listed once after a reopen"
            );
            let r: ReadTransaction = store.db.begin_read().unwrap();
            let gone = r.list_tables().unwrap().all(|t| t.name() != "pending");
            assert!(gone, "the old table is deleted");
        }
        let store = Store::open(&path).unwrap();
        store.remove_pending(&[txs[1].id()]).unwrap();
        assert_eq!(ids(&store).len(), 2, "an adopted row is found by its id");
    }
}
