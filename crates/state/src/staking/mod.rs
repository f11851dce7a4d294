//! Delegated proof of stake as deterministic state: validators with self bonds, delegations,
//! unbonding, epochs with an active set chosen by stake, fee sharing and equivocation
//! slashing with jail.
//!
//! Money never appears or vanishes here either: a bond leaves a balance when it is locked,
//! waits in an unbonding entry when it is unbonded, and returns to a balance when released
//! (or goes to `burned` when slashed), always through `crate::bank`, so balances + provider
//! bonds + job escrow + self bonds + delegations + unbonding + burned stays equal to the
//! supply (see `conservation::check_supply`).
//!
//! Epochs: epoch `e` is heights `e × epoch_blocks ..= (e + 1) × epoch_blocks − 1`; genesis
//! (height 0) is in epoch 0 and its validators are epoch 0's set. At the end of the last block
//! of epoch `e` (`(height + 1) % epoch_blocks == 0`) the step stores the set of epoch `e + 1`,
//! which governs the blocks from height `(e + 1) × epoch_blocks` on. [`active_set`] therefore
//! always answers the set of the epoch the *next* block belongs to.
//!
//! The parts, lowest first: `records` (what is stored, and its keys), `epoch` (epoch
//! arithmetic), then `actions` (the transactions), `slash` (equivocation) and `step` (the
//! end-of-block step). This file holds the read functions the node uses; transactions are
//! dispatched to `actions` and `slash` from `crate::dispatch`.

pub mod actions;
pub mod epoch;
pub mod records;
pub mod slash;
pub mod step;

pub use actions::check_p2p_address;
// The share arithmetic is the crate's (`arith`); re-exported where it was first published.
pub use crate::arith::{bps_of, mul_div_floor_wide};
pub use epoch::{
    EVIDENCE_EPOCHS_KEPT, epoch_of_height, first_height_of_epoch, is_last_block_of_epoch,
};
pub use records::*;
pub use slash::{
    check_evidence, evidence_used, report_equivocation, slash_and_jail, slash_equivocation,
};
pub use step::{
    choose_active_set, distribute_fees, earning_members, eligible, end_block, sort_by_stake,
};

use crate::overlay::{Overlay, StateReader};
use crate::record::decode;
use yun_types::{Address, Amount};

/// The stored active set: the epoch it is for and its members with their stake when chosen,
/// by stake high to low, ties by address bytes. After the last block of epoch `e` has been
/// applied this is epoch `e + 1`'s set.
pub fn active_set<R: StateReader + ?Sized>(reader: &R) -> (u64, Vec<(Address, Amount)>) {
    let set = Overlay::new(reader).active_set();
    (
        set.epoch,
        set.validators
            .into_iter()
            .map(|v| (v.address, v.stake))
            .collect(),
    )
}

/// One validator's record.
pub fn validator<R: StateReader + ?Sized>(reader: &R, address: &Address) -> Option<Validator> {
    Overlay::new(reader).validator(address)
}

/// Every validator ever registered (jailed and fully unbonded ones too), by address bytes.
pub fn validators<R: StateReader + ?Sized>(reader: &R) -> Vec<Validator> {
    Overlay::new(reader)
        .scan(&[TAG_VALIDATOR])
        .into_iter()
        .map(|(_, raw)| decode(&raw))
        .collect()
}

/// Every validator ever registered, in the active set's order: stake high to low, then
/// address bytes low to high (what the node tracks as candidates and the API lists).
pub fn validators_by_stake<R: StateReader + ?Sized>(reader: &R) -> Vec<Validator> {
    let mut all = validators(reader);
    all.sort_by(|a, b| {
        b.stake()
            .cmp(&a.stake())
            .then_with(|| a.address.as_bytes().cmp(b.address.as_bytes()))
    });
    all
}

/// An account's delegations, `(validator, delegation)` by validator address bytes. A
/// validator's own self bond is in its [`Validator`] record, not here.
pub fn delegations_of<R: StateReader + ?Sized>(
    reader: &R,
    delegator: &Address,
) -> Vec<(Address, Delegation)> {
    let prefix = [&[TAG_DELEGATION][..], delegator.as_bytes()].concat();
    Overlay::new(reader)
        .scan(&prefix)
        .into_iter()
        .map(|(k, raw)| (address_at(&k, 33), decode(&raw)))
        .collect()
}

/// The delegations to a validator, `(delegator, delegation)` by delegator address bytes.
pub fn delegators_of<R: StateReader + ?Sized>(
    reader: &R,
    validator: &Address,
) -> Vec<(Address, Delegation)> {
    let view = Overlay::new(reader);
    let prefix = [&[TAG_DELEGATED_TO][..], validator.as_bytes()].concat();
    view.scan(&prefix)
        .into_iter()
        .map(|(k, _)| {
            let delegator = address_at(&k, 33);
            let d = view
                .delegation(&delegator, validator)
                .expect("the index names a delegation");
            (delegator, d)
        })
        .collect()
}

/// An account's amounts on their way back (self bond unbondings included), by validator, then
/// release height.
pub fn unbondings_of<R: StateReader + ?Sized>(reader: &R, delegator: &Address) -> Vec<Unbonding> {
    let prefix = [&[TAG_UNBONDING][..], delegator.as_bytes()].concat();
    Overlay::new(reader)
        .scan(&prefix)
        .into_iter()
        .map(|(_, raw)| decode(&raw))
        .collect()
}
