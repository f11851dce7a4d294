//! Staking's transactions: register a validator, delegate, undelegate, unjail. Each checks
//! everything before writing anything.

use super::epoch::epoch_of_height;
use super::records::*;
use crate::bank::debit;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use yun_types::limits::P2P_ADDRESS_BYTES_MAX;
use yun_types::{Address, Amount, ChainParams, TxRejection};

type Result<T> = std::result::Result<T, TxRejection>;

/// `host:port`: printable ASCII without spaces, at most [`P2P_ADDRESS_BYTES_MAX`] bytes, a
/// non-empty host and a decimal port 1–65535 after the last colon (`[::1]:9000` is fine).
pub fn check_p2p_address(address: &str) -> Result<()> {
    let printable = address.bytes().all(|b| b.is_ascii_graphic());
    let port_ok = |port: &str| {
        !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && matches!(port.parse::<u16>(), Ok(p) if p > 0)
    };
    let ok = address.len() <= P2P_ADDRESS_BYTES_MAX
        && printable
        && matches!(address.rsplit_once(':'), Some((host, port)) if !host.is_empty() && port_ok(port));
    if ok {
        Ok(())
    } else {
        Err(TxRejection::InvalidP2pAddress)
    }
}

/// Makes the sender a validator. `check_key` (the seed key's proof of possession, a pairing
/// check that costs milliseconds) runs only once every cheap check passed (not a validator
/// yet, a good p2p address, the bond at least the minimum and in the balance), so a flood of
/// doomed registrations costs a node lookups, not pairings; nothing is written before it.
pub(crate) fn register_validator<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    p2p_address: &str,
    self_bond: Amount,
    check_key: impl FnOnce() -> Result<()>,
) -> Result<()> {
    if state.validator(sender).is_some() {
        return Err(TxRejection::ValidatorExists);
    }
    check_p2p_address(p2p_address)?;
    if self_bond < params.staking.validator_self_bond_min || self_bond.is_zero() {
        return Err(TxRejection::SelfBondBelowMin);
    }
    if state.account(sender).balance < self_bond {
        return Err(TxRejection::InsufficientBalance);
    }
    check_key()?;
    debit(state, sender, self_bond)?;
    state.set_validator(&Validator {
        address: *sender,
        p2p_address: p2p_address.to_string(),
        self_bond,
        delegated: Amount::ZERO,
        status: ValidatorStatus::Active,
        jailed_until_height: 0,
        fees_earned: Amount::ZERO,
        slashed: Amount::ZERO,
        registered_height: env.height,
        commission_bps: 0,
        commission_raised_epoch: epoch_of_height(&params.staking, env.height),
        rewards_earned: Amount::ZERO,
        delegator_rewards_owed: Amount::ZERO,
    });
    Ok(())
}

pub(crate) fn delegate<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    validator: &Address,
    amount: Amount,
) -> Result<()> {
    let mut v = state
        .validator(validator)
        .ok_or(TxRejection::UnknownValidator)?;
    if v.is_jailed() {
        return Err(TxRejection::ValidatorJailed);
    }
    let overflow = |_| TxRejection::AmountOverflow;
    if sender == validator {
        // Adding to one's own self bond: the result must reach the minimum (it may have been
        // unbonded to zero, or slashed below it).
        let self_bond = v.self_bond.checked_add(amount).map_err(overflow)?;
        if self_bond < params.staking.validator_self_bond_min {
            return Err(TxRejection::SelfBondBelowMin);
        }
        debit(state, sender, amount)?;
        v.self_bond = self_bond;
    } else {
        if amount < params.staking.delegation_min {
            return Err(TxRejection::DelegationBelowMin);
        }
        let epoch = epoch_of_height(&params.staking, env.height);
        let mut d = state
            .delegation(sender, validator)
            .unwrap_or_else(|| Delegation::new(env.height, epoch));
        d.set_amount(d.amount.checked_add(amount).map_err(overflow)?, epoch);
        v.delegated = v.delegated.checked_add(amount).map_err(overflow)?;
        debit(state, sender, amount)?;
        state.set_delegation(sender, validator, &d);
    }
    state.set_validator(&v);
    Ok(())
}

pub(crate) fn undelegate<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    validator: &Address,
    amount: Amount,
) -> Result<()> {
    let mut v = state
        .validator(validator)
        .ok_or(TxRejection::UnknownValidator)?;
    if sender == validator {
        let rest = v
            .self_bond
            .checked_sub(amount)
            .map_err(|_| TxRejection::NotEnoughDelegated)?;
        if !rest.is_zero() && rest < params.staking.validator_self_bond_min {
            return Err(TxRejection::SelfBondBelowMin);
        }
        v.self_bond = rest;
    } else {
        let mut d = state
            .delegation(sender, validator)
            .ok_or(TxRejection::NotEnoughDelegated)?;
        let rest = d
            .amount
            .checked_sub(amount)
            .map_err(|_| TxRejection::NotEnoughDelegated)?;
        d.set_amount(rest, epoch_of_height(&params.staking, env.height));
        v.delegated = v
            .delegated
            .checked_sub(amount)
            .expect("a validator's delegated total includes every delegation to it");
        state.set_delegation(sender, validator, &d);
    }
    state.set_validator(&v);
    let release_height = env.height_after(params.staking.unbonding_blocks);
    let mut entry = state
        .unbonding(sender, validator, release_height)
        .unwrap_or(Unbonding {
            delegator: *sender,
            validator: *validator,
            amount: Amount::ZERO,
            release_height,
        });
    entry.amount = entry
        .amount
        .checked_add(amount)
        .expect("unbonding amounts are part of the supply");
    state.set_unbonding(&entry);
    Ok(())
}

pub(crate) fn unjail<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    sender: &Address,
) -> Result<()> {
    let mut v = state
        .validator(sender)
        .ok_or(TxRejection::UnknownValidator)?;
    if !v.is_jailed() {
        return Err(TxRejection::NotJailed);
    }
    if env.height < v.jailed_until_height {
        return Err(TxRejection::JailNotOver);
    }
    v.status = ValidatorStatus::Active;
    state.set_validator(&v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_p2p_address;

    #[test]
    fn p2p_addresses_must_be_host_and_port() {
        for ok in ["127.0.0.1:9000", "node.example.org:1", "[::1]:65535"] {
            assert!(check_p2p_address(ok).is_ok(), "{ok}");
        }
        let long = format!("{}:9000", "a".repeat(300));
        for bad in [
            "",
            "127.0.0.1",
            ":9000",
            "host:",
            "host:0",
            "host:65536",
            "host:+80",
            "host:9000 ",
            "ho st:9000",
            "hóst:9000",
            long.as_str(),
        ] {
            assert!(check_p2p_address(bad).is_err(), "{bad:?}");
        }
    }
}
