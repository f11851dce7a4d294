//! The fee schedule's arithmetic, shared by the chain (what a transaction owes) and clients
//! (what to declare so a transaction pays enough).
//!
//! A transaction owes `base + per_byte × encoded bytes + per_write × state keys written`. Its
//! declared `fee` is the most it pays: the chain refuses one that cannot cover the base and
//! the bytes, charges the writes after execution from what is left (undoing the action when
//! that is not enough: `WritesExceedFee`), and refunds the rest. Declaring more than needed
//! therefore costs nothing, which is why clients declare a generous bound on the writes.

use crate::storage::StorageAction;
use crate::{Action, Amount, ChainParams, SignedTx};
use commonware_codec::EncodeSize;

/// The three prices of the schedule, as `ChainParams` and `GET /v1/status` carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSchedule {
    pub base: Amount,
    pub per_byte: Amount,
    pub per_write: Amount,
}

impl FeeSchedule {
    pub fn of(params: &ChainParams) -> Self {
        FeeSchedule {
            base: params.min_fee,
            per_byte: params.fee_per_byte,
            per_write: params.fee_per_write,
        }
    }

    /// What a transaction of `bytes` owes before its writes: checked at admission against its
    /// declared fee. `None` only on overflow (which no declared fee can cover).
    pub fn size_fee(&self, bytes: usize) -> Option<Amount> {
        self.base
            .checked_add(self.per_byte.checked_mul(bytes as u128).ok()?)
            .ok()
    }

    /// What a transaction of `bytes` that wrote `writes` keys owes in all.
    pub fn fee_for(&self, bytes: usize, writes: u64) -> Option<Amount> {
        self.size_fee(bytes)?
            .checked_add(self.per_write.checked_mul(u128::from(writes)).ok()?)
            .ok()
    }

    /// A fee to declare for `stx` (its own declared fee does not change its size: an amount
    /// always encodes in 16 bytes): the size fee plus [`writes_bound`] writes, where
    /// `extra_items` counts what the action touches that its bytes do not show (the tasks a
    /// `CancelJob` ends). Saturates rather than failing: the chain then refuses it by number.
    pub fn estimate(&self, stx: &SignedTx, extra_items: u64) -> Amount {
        self.fee_for(stx.encode_size(), writes_bound(&stx.tx.action, extra_items))
            .unwrap_or(Amount::MAX)
    }
}

/// Keys an action writes besides its items, at most (accounts, records, counters, indexes).
pub const WRITES_BOUND_BASE: u64 = 16;
/// Keys written per item (a task posted or cancelled, a result committed or revealed, a
/// storage proof, a sealed key), at most.
pub const WRITES_BOUND_PER_ITEM: u64 = 8;

/// A generous bound on the state keys `action` writes, for clients to declare enough (the
/// unused part is refunded). `crates/state/tests/fees.rs` checks it against what actions
/// really write.
pub fn writes_bound(action: &Action, extra_items: u64) -> u64 {
    let items = match action {
        Action::PostJob { spec } => spec.tasks.len() as u64 + 1,
        Action::CommitResults { commits } => commits.len() as u64,
        Action::RevealResults { reveals } => reveals.len() as u64,
        Action::Storage(StorageAction::ProveStorage { proofs }) => proofs.len() as u64,
        Action::Storage(StorageAction::ShareJobKeys { keys, .. }) => keys.len() as u64,
        _ => 0,
    };
    WRITES_BOUND_BASE
        .saturating_add(WRITES_BOUND_PER_ITEM.saturating_mul(items.saturating_add(extra_items)))
}

impl From<&crate::api::StatusResponse> for FeeSchedule {
    fn from(s: &crate::api::StatusResponse) -> Self {
        FeeSchedule {
            base: s.min_fee,
            per_byte: s.fee_per_byte,
            per_write: s.fee_per_write,
        }
    }
}

impl FeeSchedule {
    /// Signs `tx` declaring [`FeeSchedule::estimate`] (whatever fee it carried is replaced):
    /// how every client pays enough without knowing the writes in advance.
    pub fn sign(
        &self,
        mut tx: crate::Tx,
        key: &commonware_cryptography::ed25519::PrivateKey,
        extra_items: u64,
    ) -> SignedTx {
        let draft = tx.clone().sign(key);
        tx.fee = self.estimate(&draft, extra_items);
        tx.sign(key)
    }
}
