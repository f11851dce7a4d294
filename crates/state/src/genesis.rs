//! Turning a genesis file into the first state.
//!
//! Genesis validators may bond nothing (`self_bond` 0, the default, so files written before
//! staking still load) or at least `validator_self_bond_min`. Either way they form epoch 0's
//! active set; from epoch 1 on only validators with at least the minimum self bond are
//! eligible (if none is, the set carries over).

use crate::bank;
use crate::overlay::{MemState, Overlay, StateWrites};
use crate::randomness;
use crate::staking::{
    ActiveSet, ActiveValidator, Validator, ValidatorStatus, check_p2p_address, sort_by_stake,
};
use crate::supply::Supply;
use std::collections::BTreeSet;
use yun_types::limits::{CHAIN_ID_BYTES_MAX, NAME_BYTES_MAX};
use yun_types::{Amount, Genesis};

pub use crate::genesis_error::GenesisError;

/// Validates `genesis` and returns the writes that form the state at height 0.
pub fn genesis_writes(genesis: &Genesis) -> Result<StateWrites, GenesisError> {
    check_genesis(genesis)?;
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
        bank::open_account(&mut state, &a.address, a.balance);
    }
    let mut seen_evm = BTreeSet::new();
    for a in &genesis.evm_accounts {
        if !seen_evm.insert(a.address) {
            return Err(GenesisError::DuplicateAccount(a.address.to_string()));
        }
        total = total
            .checked_add(a.balance)
            .map_err(|_| GenesisError::Overflow)?;
        state.set_evm_account(
            &a.address,
            &crate::evm::EvmAccount {
                balance: a.balance,
                ..crate::evm::EvmAccount::default()
            },
        );
    }
    // Genesis validators: self bonds are minted into the supply; together they are epoch 0's
    // active set, in the canonical order (stake high to low, then address bytes), whatever
    // order the file lists them in.
    let mut active = Vec::with_capacity(genesis.validators.len());
    for v in &genesis.validators {
        total = total
            .checked_add(v.self_bond)
            .map_err(|_| GenesisError::Overflow)?;
        state.set_validator(&Validator {
            address: v.address,
            p2p_address: v.p2p_address.clone(),
            self_bond: v.self_bond,
            delegated: Amount::ZERO,
            status: ValidatorStatus::Active,
            jailed_until_height: 0,
            fees_earned: Amount::ZERO,
            slashed: Amount::ZERO,
            registered_height: 0,
            commission_bps: 0,
            commission_raised_epoch: 0,
            rewards_earned: Amount::ZERO,
            delegator_rewards_owed: Amount::ZERO,
        });
        active.push(ActiveValidator {
            address: v.address,
            stake: v.self_bond,
        });
    }
    sort_by_stake(&mut active);
    state.set_active_set(&ActiveSet {
        epoch: 0,
        validators: active,
    });
    state.set_consensus_set(0, &genesis.validators.iter().map(|v| v.address).collect());
    state.set_params(&genesis.params);
    randomness::write_genesis(
        &mut state,
        &genesis.chain_id,
        genesis.genesis_time_ms,
        genesis.validators.iter().map(|v| (v.address, v.seed_key)),
    );
    state.set_supply(&Supply {
        total,
        ..Supply::default()
    });
    Ok(state.into_writes())
}

/// The rules a genesis must meet before anything is written: a chain id, parameters in range
/// (`genesis_params`), and a validator list that can form epoch 0's set (the accounts are checked as they are
/// written).
fn check_genesis(genesis: &Genesis) -> Result<(), GenesisError> {
    if genesis.chain_id.is_empty() || genesis.chain_id.len() > CHAIN_ID_BYTES_MAX {
        return Err(GenesisError::ChainId);
    }
    if genesis.validators.is_empty() {
        return Err(GenesisError::NoValidators);
    }
    crate::genesis_params::check_params(&genesis.params)?;
    let sp = &genesis.params.staking;
    if genesis.validators.len() > sp.active_validators_max as usize {
        return Err(GenesisError::TooManyValidators {
            count: genesis.validators.len(),
            max: sp.active_validators_max,
        });
    }
    let mut seen = BTreeSet::new();
    for v in &genesis.validators {
        if v.name.len() > NAME_BYTES_MAX {
            return Err(GenesisError::NameTooLong);
        }
        if !seen.insert(v.address) {
            return Err(GenesisError::DuplicateValidator(v.address.to_string()));
        }
        if check_p2p_address(&v.p2p_address).is_err() {
            return Err(GenesisError::P2pAddress(v.address.to_string()));
        }
        if !v.self_bond.is_zero() && v.self_bond < sp.validator_self_bond_min {
            return Err(GenesisError::SelfBond(v.address.to_string()));
        }
        if !v.seed_key.is_valid() {
            return Err(GenesisError::SeedKey(v.address.to_string()));
        }
    }
    Ok(())
}
