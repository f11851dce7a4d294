//! What rewards keep in state: the chain-wide rewards record and each validator's liveness,
//! and typed access to them through the overlay.
//!
//! | key             | value              |
//! |-----------------|--------------------|
//! | `x`             | [`RewardsRecord`]  |
//! | `e` ‖ validator | [`Liveness`]       |

pub use crate::keys::{TAG_LIVENESS, TAG_REWARDS};
use crate::overlay::{Overlay, StateReader};
use crate::record::{decode, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use yun_types::{Address, Amount};

/// Where every issued unit went. Issued units are promised when a block issues them and
/// minted when paid, so `issued = to_treasury + to_validators + to_delegators + to_providers +
/// provider_pool + Σ validators' delegator_rewards_owed` (checked by the property tests).
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct RewardsRecord {
    /// Issued by block rewards in total (what `issuance_max_total` caps).
    pub issued: Amount,
    /// Minted to the treasury: its share, the rounding dust, and rewards nobody could earn.
    pub to_treasury: Amount,
    /// Minted to validators' balances (commission and their self bonds' share).
    pub to_validators: Amount,
    /// Minted and compounded into delegations.
    pub to_delegators: Amount,
    /// Minted to providers for verified work.
    pub to_providers: Amount,
    /// The providers' share issued and not yet earned (minted as verified work earns it).
    pub provider_pool: Amount,
    /// The highest block whose finalization signers have been recorded (0: none yet).
    pub signers_recorded_height: u64,
}

/// A validator's liveness in one epoch: of the signer records counted this epoch that
/// covered it, how many it was in and how many it was missing from.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Liveness {
    pub epoch: u64,
    pub signed_blocks: u64,
    pub missed_blocks: u64,
    /// Missed in every epoch, in total.
    pub missed_blocks_total: u64,
    /// Times it was jailed for downtime.
    pub downtime_jails: u32,
}

impl Liveness {
    /// The record as of `epoch`: this epoch's counts start at zero.
    pub fn in_epoch(mut self, epoch: u64) -> Liveness {
        if self.epoch != epoch {
            self.epoch = epoch;
            self.signed_blocks = 0;
            self.missed_blocks = 0;
        }
        self
    }
}

pub fn liveness_key(v: &Address) -> Vec<u8> {
    [&[TAG_LIVENESS][..], v.as_bytes()].concat()
}

/// Typed rewards access on an overlay.
impl<R: StateReader + ?Sized> Overlay<'_, R> {
    pub fn rewards_record(&self) -> RewardsRecord {
        self.get(&[TAG_REWARDS])
            .map(|raw| decode(&raw))
            .unwrap_or_default()
    }
    pub fn set_rewards_record(&mut self, r: &RewardsRecord) {
        self.put(vec![TAG_REWARDS], encode(r));
    }
    pub fn liveness(&self, v: &Address) -> Liveness {
        self.get(&liveness_key(v))
            .map(|raw| decode(&raw))
            .unwrap_or_default()
    }
    pub fn set_liveness(&mut self, v: &Address, l: &Liveness) {
        self.put(liveness_key(v), encode(l));
    }
}
