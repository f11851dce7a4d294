//! Turning a genesis file into the first state.

use crate::overlay::{MemState, Overlay, StateWrites};
use crate::supply::Supply;
use std::collections::BTreeSet;
use yun_types::limits::{CHAIN_ID_BYTES_MAX, NAME_BYTES_MAX};
use yun_types::{Amount, Genesis};

/// A genesis file that cannot start a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    #[error("chain id must be 1..={CHAIN_ID_BYTES_MAX} bytes")]
    ChainId,
    #[error("account {0} appears twice")]
    DuplicateAccount(String),
    #[error("validator {0} appears twice")]
    DuplicateValidator(String),
    #[error("at least one validator is required")]
    NoValidators,
    #[error("validator name longer than {NAME_BYTES_MAX} bytes")]
    NameTooLong,
    #[error("total supply overflows")]
    Overflow,
    #[error("parameter {0} is out of range")]
    BadParam(&'static str),
}

/// Validates `genesis` and returns the writes that form the state at height 0.
pub fn genesis_writes(genesis: &Genesis) -> Result<StateWrites, GenesisError> {
    if genesis.chain_id.is_empty() || genesis.chain_id.len() > CHAIN_ID_BYTES_MAX {
        return Err(GenesisError::ChainId);
    }
    if genesis.validators.is_empty() {
        return Err(GenesisError::NoValidators);
    }
    let p = &genesis.params;
    if p.fee_burn_bps > 10_000 {
        return Err(GenesisError::BadParam("fee_burn_bps"));
    }
    if p.block_txs_max == 0 || p.block_txs_max as usize > yun_types::limits::BLOCK_TXS_MAX {
        return Err(GenesisError::BadParam("block_txs_max"));
    }
    if p.tx_bytes_max < 256 || p.tx_bytes_max as usize > yun_types::limits::TX_BYTES_MAX {
        return Err(GenesisError::BadParam("tx_bytes_max"));
    }
    let mut seen = BTreeSet::new();
    for v in &genesis.validators {
        if v.name.len() > NAME_BYTES_MAX {
            return Err(GenesisError::NameTooLong);
        }
        if !seen.insert(v.address) {
            return Err(GenesisError::DuplicateValidator(v.address.to_string()));
        }
    }
    let empty = MemState::default();
    let mut state = Overlay::new(&empty);
    let mut seen = BTreeSet::new();
    let mut total = Amount::ZERO;
    for a in &genesis.accounts {
        if !seen.insert(a.address) {
            return Err(GenesisError::DuplicateAccount(a.address.to_string()));
        }
        total = total
            .checked_add(a.balance)
            .map_err(|_| GenesisError::Overflow)?;
        let mut account = state.account(&a.address);
        account.balance = a.balance;
        state.set_account(&a.address, account);
    }
    state.set_params(&genesis.params);
    state.set_supply(&Supply {
        total,
        burned: Amount::ZERO,
    });
    Ok(state.into_writes())
}
