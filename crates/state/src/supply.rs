//! The supply record: what genesis created, what has been minted and burned since, and the treasury.
//!
//! Only the record lives here, low in the crate, because the overlay reads it and the bank
//! writes it; the check that the books balance reads every domain's records and lives above
//! them, in `conservation`.

use commonware_codec::{EncodeSize, Error, Read, ReadExt, Write};
use yun_types::Amount;

/// Totals kept in state. The books balance when every holding (balances, bonds, escrow,
/// locks, `treasury`, `burned`) adds up to `total + minted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Supply {
    /// Created by genesis (the opening balances and bonds); fixed after it.
    pub total: Amount,
    /// Issued after genesis (block rewards); only [`crate::bank::mint`] raises it.
    pub minted: Amount,
    pub burned: Amount,
    /// The community treasury's balance: it has no key and no address; only governance
    /// spends it (through [`crate::bank::treasury_pay`]).
    pub treasury: Amount,
}

impl Supply {
    /// Everything that exists now: genesis plus what was minted since.
    pub fn issued(&self) -> Amount {
        self.total
            .checked_add(self.minted)
            .expect("invariant: minting is capped far below u128::MAX")
    }
}

impl Write for Supply {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.total.write(buf);
        self.minted.write(buf);
        self.burned.write(buf);
        self.treasury.write(buf);
    }
}
impl EncodeSize for Supply {
    fn encode_size(&self) -> usize {
        64
    }
}
impl Read for Supply {
    type Cfg = ();
    fn read_cfg(buf: &mut impl commonware_codec::Buf, _: &()) -> Result<Self, Error> {
        Ok(Supply {
            total: Amount::read(buf)?,
            minted: Amount::read(buf)?,
            burned: Amount::read(buf)?,
            treasury: Amount::read(buf)?,
        })
    }
}
