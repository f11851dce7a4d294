//! The durable mempool: transactions the node accepted and has not yet seen committed or
//! dropped, in a redb file of their own beside the chain's.
//!
//! Why a file of its own: redb has one writer per file, and a block's commit holds it for
//! tens of milliseconds under load. In the chain's file, every admission's durable write
//! waited for that commit, and a client's submission with it. Here admissions only wait for
//! each other, and concurrent ones share a transaction ([`crate::group`]).
//!
//! Nothing needs the two files to agree at a crash: a committed transaction still listed
//! here is refused when it is re-admitted after a restart (its nonce is used) and dropped
//! then, and an accepted one is listed here before its submitter is answered.

use crate::StoreError;
use crate::group::GroupCommit;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use yun_types::{SignedTx, TxId};

/// Accepted transactions by id: the signed bytes.
const PENDING: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("pending");

/// The durable mempool's file.
pub(crate) struct MempoolFile {
    db: Database,
    /// Admissions' writes, shared between concurrent submitters.
    admitted: GroupCommit<(TxId, Vec<u8>)>,
}

impl std::fmt::Debug for MempoolFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MempoolFile").field("db", &self.db).finish()
    }
}

impl MempoolFile {
    pub(crate) fn on(db: Database) -> Result<MempoolFile, StoreError> {
        let wtx = db.begin_write()?;
        wtx.open_table(PENDING)?;
        wtx.commit()?;
        Ok(MempoolFile {
            db,
            admitted: GroupCommit::default(),
        })
    }

    /// Records `txs` durably (returns once they are on disk, or with the error that kept
    /// them from it).
    pub(crate) fn add(&self, txs: Vec<(TxId, Vec<u8>)>) -> Result<(), StoreError> {
        if txs.is_empty() {
            return Ok(());
        }
        self.admitted.submit(txs, |all| self.write(&all))
    }

    fn write(&self, txs: &[(TxId, Vec<u8>)]) -> Result<(), StoreError> {
        let wtx = self.db.begin_write()?;
        {
            let mut t = wtx.open_table(PENDING)?;
            for (id, bytes) in txs {
                t.insert(id.as_bytes(), bytes.as_slice())?;
            }
        }
        wtx.commit()?;
        Ok(())
    }

    /// Forgets `ids`. Not forced to disk: if a crash loses this, the transactions are
    /// re-checked on restart and dropped again.
    pub(crate) fn remove(&self, ids: &[TxId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut wtx = self.db.begin_write()?;
        wtx.set_durability(redb::Durability::None)?;
        {
            let mut t = wtx.open_table(PENDING)?;
            for id in ids {
                t.remove(id.as_bytes())?;
            }
        }
        wtx.commit()?;
        Ok(())
    }

    /// Every listed transaction, for re-admission after a restart.
    pub(crate) fn all(&self) -> Result<Vec<SignedTx>, StoreError> {
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

    /// Moves what an older yun listed in the chain's own file (a table of the same name
    /// there) into this one, durably, then deletes it there: once, at open.
    pub(crate) fn adopt_from(&self, chain: &Database) -> Result<(), StoreError> {
        let rtx = chain.begin_read()?;
        let old: Vec<(TxId, Vec<u8>)> = match rtx.open_table(PENDING) {
            Ok(t) => t
                .iter()?
                .map(|item| {
                    let (k, v) = item?;
                    Ok((yun_types::Hash32(*k.value()), v.value().to_vec()))
                })
                .collect::<Result<_, StoreError>>()?,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        drop(rtx);
        if old.is_empty() {
            return Ok(());
        }
        self.write(&old)?;
        let wtx = chain.begin_write()?;
        wtx.delete_table(PENDING)?;
        wtx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use commonware_codec::Encode;
    use redb::{Database, ReadTransaction, ReadableDatabase, TableDefinition, TableHandle};
    use std::time::Duration;
    use yun_state::scenario::transfer_to_fresh;

    fn listed(tx: &yun_types::SignedTx) -> (yun_types::TxId, Vec<u8>) {
        (tx.id(), tx.encode().to_vec())
    }

    #[test]
    fn an_admission_is_durable_while_a_block_commit_holds_the_chain_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb")).unwrap();
        // A block's commit in progress: the chain file's one writer is taken.
        let commit = store.db.begin_write().unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let admitting = store.clone();
        let tx = transfer_to_fresh("alice", 0, 10);
        let expected = tx.id();
        std::thread::spawn(move || done_tx.send(admitting.add_pending(vec![listed(&tx)])));
        let answered = done_rx.recv_timeout(Duration::from_secs(10));
        drop(commit);
        answered
            .expect("the admission waited for the block's commit")
            .unwrap();
        let ids: Vec<_> = store.pending().unwrap().iter().map(|t| t.id()).collect();
        assert_eq!(ids, vec![expected]);
    }

    #[test]
    fn what_an_older_yun_listed_in_the_chain_file_is_adopted_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let tx = transfer_to_fresh("alice", 0, 10);
        {
            // The layout before the mempool had a file of its own.
            let old: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("pending");
            let db = Database::create(&path).unwrap();
            let w = db.begin_write().unwrap();
            w.open_table(old)
                .unwrap()
                .insert(tx.id().as_bytes(), tx.encode().to_vec().as_slice())
                .unwrap();
            w.commit().unwrap();
        }
        for _ in 0..2 {
            let store = Store::open(&path).unwrap();
            let ids: Vec<_> = store.pending().unwrap().iter().map(|t| t.id()).collect();
            assert_eq!(
                ids,
                vec![tx.id()],
                "adopted, and listed once after a reopen"
            );
            let r: ReadTransaction = store.db.begin_read().unwrap();
            let gone = r.list_tables().unwrap().all(|t| t.name() != "pending");
            assert!(gone, "the chain file no longer lists it");
        }
        assert!(Store::mempool_file_path(&path).exists());
    }
}
