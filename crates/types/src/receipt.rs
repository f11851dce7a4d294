//! Receipts: what happened to a committed transaction.

use crate::{Amount, TxId, TxRejection};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, Read, ReadExt, Write};

/// The result of executing an included transaction. Its fee is charged either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxOutcome {
    Success,
    /// The action failed; only the fee and nonce changed.
    Failed(TxRejection),
}

/// Stored per committed transaction and served by `GET /v1/txs/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub tx_id: TxId,
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    pub outcome: TxOutcome,
    pub fee_paid: Amount,
}

impl Write for Receipt {
    fn write(&self, buf: &mut impl BufMut) {
        self.tx_id.write(buf);
        self.height.write(buf);
        self.index.write(buf);
        let code: u16 = match self.outcome {
            TxOutcome::Success => 0,
            TxOutcome::Failed(r) => r.code(),
        };
        code.write(buf);
        self.fee_paid.write(buf);
    }
}

impl EncodeSize for Receipt {
    fn encode_size(&self) -> usize {
        32 + 8 + 4 + 2 + 16
    }
}

impl Read for Receipt {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        let tx_id = TxId::read(buf)?;
        let height = u64::read(buf)?;
        let index = u32::read(buf)?;
        let code = u16::read(buf)?;
        let outcome = match code {
            0 => TxOutcome::Success,
            c => TxOutcome::Failed(
                TxRejection::from_code(c).ok_or(Error::Invalid("Receipt", "unknown code"))?,
            ),
        };
        Ok(Receipt {
            tx_id,
            height,
            index,
            outcome,
            fee_paid: Amount::read(buf)?,
        })
    }
}
