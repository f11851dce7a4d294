//! The durable mempool's table in the store: accepted transactions are on disk before their
//! submitter is answered, and are re-admitted after a restart.

use crate::tables::PENDING;
use crate::{Store, StoreError};
use redb::{ReadableDatabase, ReadableTable};
use yun_types::{SignedTx, TxId};

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

    /// Forgets pending transactions the mempool dropped. Not forced to disk: if a crash loses
    /// this, the transactions are re-checked on restart and dropped again.
    pub fn remove_pending(&self, ids: &[TxId]) -> Result<(), StoreError> {
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

    /// Every recorded pending transaction, for re-admission after a restart.
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
}
