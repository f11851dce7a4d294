//! The conservation check: every holding of the supply summed over a full state scan.
//!
//! It reads the records of every domain (accounts, the market, staking, storage, governance), so it sits above all
//! of them; the supply record it checks against is `supply::Supply`.

use crate::account::Account;
use crate::governance;
use crate::keys::{
    StateKey, TAG_DEAL, TAG_DELEGATION, TAG_EVM_ACCOUNT, TAG_JOB, TAG_LOCK, TAG_PROPOSAL,
    TAG_PROVIDER, TAG_UNBONDING, TAG_VALIDATOR,
};
use crate::market;
use crate::record::decode;
use crate::staking;
use crate::storage;
use crate::supply::Supply;
use std::collections::BTreeMap;
use yun_types::{Address, Amount, AmountError};

/// What holds the supply, summed over a full state scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holdings {
    pub balances: Amount,
    /// Provider bonds (market).
    pub provider_bonds: Amount,
    /// Job escrow (market).
    pub escrow: Amount,
    /// Storage deal escrow.
    pub storage_escrow: Amount,
    /// Validators' self bonds.
    pub self_bonds: Amount,
    pub delegations: Amount,
    /// Unbonding entries not yet released.
    pub unbonding: Amount,
    /// Governance locks.
    pub locks: Amount,
    /// Proposal deposits held until their tally.
    pub deposits: Amount,
    /// EVM account balances (`b` records; one base unit is one wei).
    pub evm_balances: Amount,
    /// The treasury (kept in the supply record).
    pub treasury: Amount,
    pub burned: Amount,
}

impl Holdings {
    pub fn sum(&self) -> Result<Amount, AmountError> {
        Amount::checked_sum([
            self.balances,
            self.provider_bonds,
            self.escrow,
            self.storage_escrow,
            self.self_bonds,
            self.delegations,
            self.unbonding,
            self.locks,
            self.deposits,
            self.evm_balances,
            self.treasury,
            self.burned,
        ])
    }
}

/// How the books failed to balance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupplyError {
    #[error("holdings {holdings:?} do not add up to genesis plus minted, {issued}")]
    NotConserved {
        holdings: Box<Holdings>,
        issued: Amount,
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
/// governance locks + held proposal deposits + EVM balances + treasury + burned == genesis total + minted over a full scan of the state (key order), and that every validator's
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
        } else if k.first() == Some(&TAG_PROVIDER) {
            h.provider_bonds = h
                .provider_bonds
                .checked_add(decode::<market::Provider>(v).bond)?;
        } else if k.first() == Some(&TAG_JOB) {
            h.escrow = h.escrow.checked_add(decode::<market::Job>(v).escrow)?;
        } else if k.first() == Some(&TAG_DEAL) {
            h.storage_escrow = h
                .storage_escrow
                .checked_add(decode::<storage::Deal>(v).escrow)?;
        } else if k.first() == Some(&TAG_VALIDATOR) {
            let val = decode::<staking::Validator>(v);
            h.self_bonds = h.self_bonds.checked_add(val.self_bond)?;
            delegated.entry(val.address).or_default().0 = val.delegated;
        } else if k.first() == Some(&TAG_DELEGATION) {
            let amount = decode::<staking::Delegation>(v).amount;
            h.delegations = h.delegations.checked_add(amount)?;
            let validator = staking::address_at(k, 33);
            let entry = delegated.entry(validator).or_default();
            entry.1 = entry.1.checked_add(amount)?;
        } else if k.first() == Some(&TAG_UNBONDING) {
            h.unbonding = h
                .unbonding
                .checked_add(decode::<staking::Unbonding>(v).amount)?;
        } else if k.first() == Some(&TAG_LOCK) {
            h.locks = h.locks.checked_add(decode::<governance::Lock>(v).amount)?;
        } else if k.first() == Some(&TAG_PROPOSAL) {
            h.deposits = h
                .deposits
                .checked_add(decode::<governance::Proposal>(v).deposit_held)?;
        } else if k.first() == Some(&TAG_EVM_ACCOUNT) {
            h.evm_balances = h
                .evm_balances
                .checked_add(decode::<crate::evm::EvmAccount>(v).balance)?;
        } else if k == supply_key.as_slice() {
            supply = Some(
                <Supply as commonware_codec::DecodeExt<()>>::decode(commonware_codec::Copying(v))
                    .map_err(|_| SupplyError::Missing)?,
            );
        }
    }
    let supply = supply.ok_or(SupplyError::Missing)?;
    h.burned = supply.burned;
    h.treasury = supply.treasury;
    let issued = supply.total.checked_add(supply.minted)?;
    if h.sum()? != issued {
        return Err(SupplyError::NotConserved {
            holdings: Box::new(h),
            issued,
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
