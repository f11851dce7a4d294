//! The supply record: what genesis minted and what has been burned since.
//!
//! Only the record lives here, low in the crate, because the overlay reads it and the bank
//! writes it; the check that the books balance reads every domain's records and lives above
//! them, in `conservation`.

use commonware_codec::{EncodeSize, Error, Read, ReadExt, Write};
use yun_types::Amount;

/// Totals kept in state: what genesis minted and what fees have burned since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Supply {
    /// Fixed at genesis; nothing mints after it (yet).
    pub total: Amount,
    pub burned: Amount,
}

impl Write for Supply {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.total.write(buf);
        self.burned.write(buf);
    }
}
impl EncodeSize for Supply {
    fn encode_size(&self) -> usize {
        32
    }
}
impl Read for Supply {
    type Cfg = ();
    fn read_cfg(buf: &mut impl commonware_codec::Buf, _: &()) -> Result<Self, Error> {
        Ok(Supply {
            total: Amount::read(buf)?,
            burned: Amount::read(buf)?,
        })
    }
}
