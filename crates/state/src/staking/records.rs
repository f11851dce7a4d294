//! What staking keeps in state: validator, delegation and unbonding records, the epoch's
//! active set, used evidence, the index keys the end-of-block step and slashing walk, and
//! typed access to them through the overlay.
//!
//! Key layout (one tag byte, then fixed-width parts; heights big-endian so key order is
//! height order):
//!
//! | key                                             | value                         |
//! |-------------------------------------------------|-------------------------------|
//! | `v` ‖ validator                                 | [`Validator`]                 |
//! | `d` ‖ delegator ‖ validator                     | [`Delegation`]                |
//! | `w` ‖ validator ‖ delegator                     | empty (delegations of a validator) |
//! | `u` ‖ delegator ‖ validator ‖ release height    | [`Unbonding`]                 |
//! | `r` ‖ release height ‖ delegator ‖ validator    | empty (the release queue)     |
//! | `n` ‖ validator ‖ release height ‖ delegator    | empty (unbondings of a validator) |
//! | `q` ‖ validator ‖ epoch ‖ view                  | height the evidence was used  |
//! | `k`                                             | [`ActiveSet`]                 |
//! | `c` ‖ epoch                                     | the epoch's consensus set     |
//!
//! The tag bytes themselves are registered in `crate::keys`.

// The tags live in the one registry (`keys`); re-exported so `staking::TAG_…` keeps naming them.
pub use crate::keys::{
    TAG_ACTIVE_SET, TAG_CONSENSUS_SET, TAG_DELEGATED_TO, TAG_DELEGATION, TAG_EVIDENCE, TAG_RELEASE,
    TAG_UNBONDING, TAG_UNBONDING_OF, TAG_VALIDATOR,
};
use crate::overlay::{Overlay, StateReader};
use crate::record::{decode, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use yun_types::{Address, Amount};

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorStatus {
    /// Eligible for the active set whenever its self bond is at least the minimum.
    Active,
    /// Slashed for an equivocation; out of every active set chosen until it sends `Unjail`
    /// at or after `jailed_until_height`.
    Jailed,
}

/// A validator: its consensus key is its address (the key that registered it).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Validator {
    pub address: Address,
    /// `host:port` of its p2p listener.
    pub p2p_address: String,
    /// Bonded by the validator itself (slashable, unbonds like a delegation).
    pub self_bond: Amount,
    /// Sum of every delegation to it (not counting unbonding amounts).
    pub delegated: Amount,
    pub status: ValidatorStatus,
    /// Last height of the latest jail (0: never jailed).
    pub jailed_until_height: u64,
    /// Fees received as an active validator, in total.
    pub fees_earned: Amount,
    /// Burned from its self bond by slashing, in total (delegators' losses not counted).
    pub slashed: Amount,
    pub registered_height: u64,
    /// Share of the block rewards of its stake the validator keeps before the rest is split
    /// between its self bond and its delegators, in basis points (`SetCommission`).
    pub commission_bps: u16,
    /// The epoch of its last commission raise (a raise is limited per epoch).
    pub commission_raised_epoch: u64,
    /// Block rewards paid to its balance (commission and its self bond's share), in total.
    pub rewards_earned: Amount,
    /// Its delegators' share of this epoch's block rewards, owed (not yet minted): compounded
    /// into their delegations at the epoch's end (see `crate::rewards::delegators`).
    pub delegator_rewards_owed: Amount,
}

impl Validator {
    /// Bonded stake: self bond plus delegations.
    pub fn stake(&self) -> Amount {
        self.self_bond
            .checked_add(self.delegated)
            .expect("stake is part of the supply")
    }

    pub fn is_jailed(&self) -> bool {
        self.status == ValidatorStatus::Jailed
    }
}

/// One account's bond to one validator.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Delegation {
    pub amount: Amount,
    /// Height of the first `Delegate` of this (delegator, validator) pair still bonded.
    pub since_height: u64,
    /// The least `amount` held during epoch `low_epoch` (what earns that epoch's rewards, so
    /// a delegation made just before an epoch's end earns nothing for it).
    pub low_amount: Amount,
    pub low_epoch: u64,
    /// Block rewards compounded into this delegation, in total.
    pub rewards_earned: Amount,
}

impl Delegation {
    /// A new, empty delegation made in `epoch`.
    pub fn new(height: u64, epoch: u64) -> Delegation {
        Delegation {
            amount: Amount::ZERO,
            since_height: height,
            low_amount: Amount::ZERO,
            low_epoch: epoch,
            rewards_earned: Amount::ZERO,
        }
    }

    /// Sets the amount in `epoch`, keeping the epoch's low mark: the amount held since the
    /// epoch began, or less if it fell.
    pub fn set_amount(&mut self, amount: Amount, epoch: u64) {
        if self.low_epoch != epoch {
            self.low_amount = self.amount;
            self.low_epoch = epoch;
        }
        self.amount = amount;
        self.low_amount = self.low_amount.min(amount);
    }

    /// What earns rewards in `epoch`: the least amount held throughout it.
    pub fn earning_in(&self, epoch: u64) -> Amount {
        if self.low_epoch == epoch {
            self.low_amount
        } else {
            self.amount
        }
    }
}

/// An amount on its way back to a balance; slashable until released. Undelegations of one
/// pair that release at the same height share one entry.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Unbonding {
    pub delegator: Address,
    pub validator: Address,
    pub amount: Amount,
    pub release_height: u64,
}

/// One member of an epoch's active set with the stake it had when the set was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ActiveValidator {
    pub address: Address,
    pub stake: Amount,
}

/// The validators of one epoch, by stake (high to low), ties by address bytes (low first).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Default)]
pub struct ActiveSet {
    pub epoch: u64,
    pub validators: Vec<ActiveValidator>,
}

pub fn validator_key(v: &Address) -> Vec<u8> {
    [&[TAG_VALIDATOR][..], v.as_bytes()].concat()
}
pub fn delegation_key(delegator: &Address, validator: &Address) -> Vec<u8> {
    [
        &[TAG_DELEGATION][..],
        delegator.as_bytes(),
        validator.as_bytes(),
    ]
    .concat()
}
pub fn delegated_to_key(validator: &Address, delegator: &Address) -> Vec<u8> {
    [
        &[TAG_DELEGATED_TO][..],
        validator.as_bytes(),
        delegator.as_bytes(),
    ]
    .concat()
}
pub fn unbonding_key(delegator: &Address, validator: &Address, release: u64) -> Vec<u8> {
    [
        &[TAG_UNBONDING][..],
        delegator.as_bytes(),
        validator.as_bytes(),
        &release.to_be_bytes(),
    ]
    .concat()
}
pub fn release_key(release: u64, delegator: &Address, validator: &Address) -> Vec<u8> {
    [
        &[TAG_RELEASE][..],
        &release.to_be_bytes(),
        delegator.as_bytes(),
        validator.as_bytes(),
    ]
    .concat()
}
pub fn unbonding_of_key(validator: &Address, release: u64, delegator: &Address) -> Vec<u8> {
    [
        &[TAG_UNBONDING_OF][..],
        validator.as_bytes(),
        &release.to_be_bytes(),
        delegator.as_bytes(),
    ]
    .concat()
}
pub fn evidence_key(validator: &Address, epoch: u64, view: u64) -> Vec<u8> {
    [
        &[TAG_EVIDENCE][..],
        validator.as_bytes(),
        &epoch.to_be_bytes(),
        &view.to_be_bytes(),
    ]
    .concat()
}
pub fn consensus_set_key(epoch: u64) -> Vec<u8> {
    [&[TAG_CONSENSUS_SET][..], &epoch.to_be_bytes()].concat()
}

/// The address at `offset` of a raw key.
pub fn address_at(key: &[u8], offset: usize) -> Address {
    Address(
        key[offset..offset + 32]
            .try_into()
            .expect("staking keys hold whole addresses"),
    )
}

/// The big-endian height at `offset` of a raw key.
pub fn height_at(key: &[u8], offset: usize) -> u64 {
    u64::from_be_bytes(
        key[offset..offset + 8]
            .try_into()
            .expect("staking keys hold whole heights"),
    )
}

/// Typed staking access on an overlay.
impl<R: StateReader + ?Sized> Overlay<'_, R> {
    pub fn validator(&self, v: &Address) -> Option<Validator> {
        self.get(&validator_key(v)).map(|raw| decode(&raw))
    }
    pub fn set_validator(&mut self, v: &Validator) {
        self.put(validator_key(&v.address), encode(v));
    }
    pub fn delegation(&self, delegator: &Address, validator: &Address) -> Option<Delegation> {
        self.get(&delegation_key(delegator, validator))
            .map(|raw| decode(&raw))
    }
    /// Writes a delegation and its index entry, or deletes both when the amount is zero.
    pub fn set_delegation(&mut self, delegator: &Address, validator: &Address, d: &Delegation) {
        if d.amount.is_zero() {
            self.delete(delegation_key(delegator, validator));
            self.delete(delegated_to_key(validator, delegator));
        } else {
            self.put(delegation_key(delegator, validator), encode(d));
            self.mark(delegated_to_key(validator, delegator));
        }
    }
    pub fn unbonding(
        &self,
        delegator: &Address,
        validator: &Address,
        release: u64,
    ) -> Option<Unbonding> {
        self.get(&unbonding_key(delegator, validator, release))
            .map(|raw| decode(&raw))
    }
    /// Writes an unbonding entry and its two index entries, or deletes all three when the
    /// amount is zero.
    pub fn set_unbonding(&mut self, u: &Unbonding) {
        let (d, v, h) = (&u.delegator, &u.validator, u.release_height);
        if u.amount.is_zero() {
            self.delete(unbonding_key(d, v, h));
            self.delete(release_key(h, d, v));
            self.delete(unbonding_of_key(v, h, d));
        } else {
            self.put(unbonding_key(d, v, h), encode(u));
            self.mark(release_key(h, d, v));
            self.mark(unbonding_of_key(v, h, d));
        }
    }
    /// The active set of the current epoch (empty before genesis has written one).
    pub fn active_set(&self) -> ActiveSet {
        self.get(&[TAG_ACTIVE_SET])
            .map(|raw| decode(&raw))
            .unwrap_or_default()
    }
    pub fn set_active_set(&mut self, set: &ActiveSet) {
        self.put(vec![TAG_ACTIVE_SET], encode(set));
    }
    /// The consensus set of `epoch` (empty once it is older than the kept window).
    pub fn consensus_set(&self, epoch: u64) -> Vec<Address> {
        self.get(&consensus_set_key(epoch))
            .map(|raw| decode(&raw))
            .unwrap_or_default()
    }
    pub fn set_consensus_set(&mut self, epoch: u64, set: &Vec<Address>) {
        self.put(consensus_set_key(epoch), encode(set));
    }
    pub fn remove_consensus_set(&mut self, epoch: u64) {
        self.delete(consensus_set_key(epoch));
    }
}
