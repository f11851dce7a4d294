//! Token supply bookkeeping and the conservation check run after every block in tests.

use crate::account::Account;
use crate::keys::StateKey;
use crate::market;
use commonware_codec::{EncodeSize, Error, Read, ReadExt, Write};
use yun_types::{Amount, AmountError};

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

/// How the books failed to balance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupplyError {
    #[error(
        "balances {balances} + bonds {bonds} + escrow {escrow} + burned {burned} != total {total}"
    )]
    NotConserved {
        balances: Amount,
        bonds: Amount,
        escrow: Amount,
        burned: Amount,
        total: Amount,
    },
    #[error("supply sum overflowed: {0}")]
    Overflow(#[from] AmountError),
    #[error("supply record missing")]
    Missing,
}

/// Checks balances + provider bonds + job escrow + burned == total over a full scan of the
/// state (key order).
pub fn check_supply<'a>(
    entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<Supply, SupplyError> {
    let mut balances = Amount::ZERO;
    let mut bonds = Amount::ZERO;
    let mut escrow = Amount::ZERO;
    let mut supply = None;
    let supply_key = StateKey::Supply.bytes();
    for (k, v) in entries {
        if StateKey::account_of(k).is_some() {
            balances = balances.checked_add(Account::from_bytes(v).balance)?;
        } else if k.first() == Some(&market::TAG_PROVIDER) {
            bonds = bonds.checked_add(market::decode::<market::Provider>(v).bond)?;
        } else if k.first() == Some(&market::TAG_JOB) {
            escrow = escrow.checked_add(market::decode::<market::Job>(v).escrow)?;
        } else if k == supply_key.as_slice() {
            supply = Some(
                <Supply as commonware_codec::DecodeExt<()>>::decode(commonware_codec::Copying(v))
                    .map_err(|_| SupplyError::Missing)?,
            );
        }
    }
    let supply = supply.ok_or(SupplyError::Missing)?;
    let held = Amount::checked_sum([balances, bonds, escrow, supply.burned])?;
    if held != supply.total {
        return Err(SupplyError::NotConserved {
            balances,
            bonds,
            escrow,
            burned: supply.burned,
            total: supply.total,
        });
    }
    Ok(supply)
}
