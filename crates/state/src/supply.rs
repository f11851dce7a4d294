//! Token supply bookkeeping and the conservation check run after every block in tests.

use crate::account::Account;
use crate::keys::StateKey;
use crate::market;
use crate::staking;
use commonware_codec::{EncodeSize, Error, Read, ReadExt, Write};
use std::collections::BTreeMap;
use yun_types::{Address, Amount, AmountError};

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

/// What holds the supply, summed over a full state scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holdings {
    pub balances: Amount,
    /// Provider bonds (market).
    pub provider_bonds: Amount,
    /// Job escrow (market).
    pub escrow: Amount,
    /// Validators' self bonds.
    pub self_bonds: Amount,
    pub delegations: Amount,
    /// Unbonding entries not yet released.
    pub unbonding: Amount,
    pub burned: Amount,
}

impl Holdings {
    pub fn sum(&self) -> Result<Amount, AmountError> {
        Amount::checked_sum([
            self.balances,
            self.provider_bonds,
            self.escrow,
            self.self_bonds,
            self.delegations,
            self.unbonding,
            self.burned,
        ])
    }
}

/// How the books failed to balance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupplyError {
    #[error("holdings {holdings:?} do not add up to the total {total}")]
    NotConserved {
        holdings: Box<Holdings>,
        total: Amount,
    },
    #[error(
        "validator {validator}: its delegated total {recorded} is not the sum of its delegations {summed}"
    )]
    DelegatedMismatch {
        validator: Address,
        recorded: Amount,
        summed: Amount,
    },
    #[error("supply sum overflowed: {0}")]
    Overflow(#[from] AmountError),
    #[error("supply record missing")]
    Missing,
}

/// Checks balances + provider bonds + job escrow + self bonds + delegations + unbonding +
/// burned == total over a full scan of the state (key order), and that every validator's
/// `delegated` equals the sum of the delegations to it.
pub fn check_supply<'a>(
    entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<Supply, SupplyError> {
    let mut h = Holdings::default();
    let mut supply = None;
    let supply_key = StateKey::Supply.bytes();
    // validator → (recorded delegated total, sum of delegation records)
    let mut delegated: BTreeMap<Address, (Amount, Amount)> = BTreeMap::new();
    for (k, v) in entries {
        if StateKey::account_of(k).is_some() {
            h.balances = h.balances.checked_add(Account::from_bytes(v).balance)?;
        } else if k.first() == Some(&market::TAG_PROVIDER) {
            h.provider_bonds = h
                .provider_bonds
                .checked_add(market::decode::<market::Provider>(v).bond)?;
        } else if k.first() == Some(&market::TAG_JOB) {
            h.escrow = h
                .escrow
                .checked_add(market::decode::<market::Job>(v).escrow)?;
        } else if k.first() == Some(&staking::TAG_VALIDATOR) {
            let val = market::decode::<staking::Validator>(v);
            h.self_bonds = h.self_bonds.checked_add(val.self_bond)?;
            delegated.entry(val.address).or_default().0 = val.delegated;
        } else if k.first() == Some(&staking::TAG_DELEGATION) {
            let amount = market::decode::<staking::Delegation>(v).amount;
            h.delegations = h.delegations.checked_add(amount)?;
            let validator = staking::address_at(k, 33);
            let entry = delegated.entry(validator).or_default();
            entry.1 = entry.1.checked_add(amount)?;
        } else if k.first() == Some(&staking::TAG_UNBONDING) {
            h.unbonding = h
                .unbonding
                .checked_add(market::decode::<staking::Unbonding>(v).amount)?;
        } else if k == supply_key.as_slice() {
            supply = Some(
                <Supply as commonware_codec::DecodeExt<()>>::decode(commonware_codec::Copying(v))
                    .map_err(|_| SupplyError::Missing)?,
            );
        }
    }
    let supply = supply.ok_or(SupplyError::Missing)?;
    h.burned = supply.burned;
    if h.sum()? != supply.total {
        return Err(SupplyError::NotConserved {
            holdings: Box::new(h),
            total: supply.total,
        });
    }
    for (validator, (recorded, summed)) in delegated {
        if recorded != summed {
            return Err(SupplyError::DelegatedMismatch {
                validator,
                recorded,
                summed,
            });
        }
    }
    Ok(supply)
}
