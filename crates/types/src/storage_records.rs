//! The storage market's state records (deal, replica, offer, market-wide numbers): one type
//! each, borsh-encoded in state and served as JSON by the API as is.
//!
//! Field and variant order is the borsh encoding and so part of every state digest: append,
//! never reorder.

use crate::storage::{DealSpec, EncryptionKey};
use crate::{Address, Amount, Hash32};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a deal stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DealStatus {
    /// Waiting for its first replicas (nothing is paid, nothing is challenged).
    Queued,
    /// Its epochs are running: replicas are challenged, paid and repaired.
    Active,
    /// Its epochs are over; the unspent escrow was refunded.
    Ended,
    /// Its owner cancelled it; the unspent escrow was refunded.
    Cancelled,
}

/// Where one replica of a deal stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StorageReplicaState {
    /// Assigned and copying the data: challenged, but a missed window is neither paid nor
    /// slashed, until its first valid proof or `storage.fetch_epochs_max` epochs.
    Fetching,
    /// Proven at least once: every epoch's challenge must be answered in its window.
    Holding,
    /// Never proved within `storage.fetch_epochs_max` epochs: released, not slashed (nobody can
    /// tell data nobody serves from a lazy provider, and it earned nothing).
    Released,
    /// Missed `storage.misses_to_replace` windows in a row: ended and replaced.
    Replaced,
    /// The deal ended or was cancelled while it held the data.
    Ended,
}

impl StorageReplicaState {
    /// Still counts as one of the deal's replicas (and holds the provider's capacity).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            StorageReplicaState::Fetching | StorageReplicaState::Holding
        )
    }
}

/// One provider's copy of a deal's data.
#[derive(
    Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, ToSchema,
)]
pub struct StorageReplica {
    pub provider: Address,
    pub assigned_height: u64,
    /// The first deal epoch whose challenge it must answer (the one after its assignment).
    pub first_epoch: u64,
    /// What one proven epoch pays it, per billed MiB (at most the deal's bid).
    pub price_per_mib_epoch: Amount,
    pub state: StorageReplicaState,
    /// The last deal epoch it proved.
    pub proven_epoch: Option<u64>,
    pub epochs_paid: u32,
    pub paid: Amount,
    /// Windows missed in a row (a valid proof resets it).
    pub misses_in_a_row: u32,
    pub misses_total: u32,
    pub slashed: Amount,
    /// When it stopped being live.
    pub ended_height: Option<u64>,
}

/// A storage deal: what is stored, for how long, at what price, and by whom.
#[derive(
    Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, ToSchema,
)]
pub struct Deal {
    pub owner: Address,
    pub spec: DealSpec,
    /// Locked and not yet paid or refunded.
    pub escrow: Amount,
    /// Paid to providers for proven epochs.
    pub paid: Amount,
    /// Returned to the owner.
    pub refunded: Amount,
    pub status: DealStatus,
    pub posted_height: u64,
    /// The first block of deal epoch 0 (the block after its first replicas were matched).
    pub start_height: Option<u64>,
    /// Where its epochs are over: `start_height + epochs × storage.epoch_blocks`.
    pub end_height: Option<u64>,
    /// The deal epoch whose challenge is the latest opened.
    pub epoch: Option<u64>,
    /// The seed of that epoch's first block: with the deal, the replica and the epoch it picks
    /// each replica's challenged chunk.
    pub challenge_seed: Hash32,
    /// The last height at which a proof for `epoch` is accepted.
    pub window_end_height: u64,
    /// When the end-of-block step next looks at this deal (an epoch opens, a window closes or
    /// the deal ends); its `storage_due` key is at this height.
    pub next_event_height: Option<u64>,
    /// Every replica it ever had, in assignment order (a proof names one by its index).
    pub replicas: Vec<StorageReplica>,
    pub ended_height: Option<u64>,
    /// The least one proven replica-epoch of this deal pays (`storage.replica_epoch_pay_min`
    /// when it was posted; its escrow was locked for it).
    #[serde(default)]
    pub replica_epoch_pay_min: Amount,
}

impl Deal {
    pub fn live_replicas(&self) -> usize {
        self.replicas.iter().filter(|r| r.state.is_live()).count()
    }
    /// Replicas it still wants matched.
    pub fn replicas_missing(&self) -> usize {
        usize::from(self.spec.replicas).saturating_sub(self.live_replicas())
    }
    pub fn is_open(&self) -> bool {
        matches!(self.status, DealStatus::Queued | DealStatus::Active)
    }
    /// What one proven epoch of a replica paid `price_per_mib_epoch` earns: its price for
    /// every billed MiB, and at least the deal's `replica_epoch_pay_min`.
    pub fn replica_epoch_pay(&self, price_per_mib_epoch: Amount) -> Option<Amount> {
        let by_size = price_per_mib_epoch
            .checked_mul(u128::from(crate::storage::billed_mib(self.spec.size_bytes)))
            .ok()?;
        Some(by_size.max(self.replica_epoch_pay_min))
    }
}

/// A provider's storage offer and its x25519 key.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    ToSchema,
)]
pub struct StorageOffer {
    /// Bytes offered in all (held replicas count against it; zero takes no new replicas).
    pub capacity_bytes: u64,
    pub ask_per_mib_epoch: Amount,
    /// Bytes of live replicas it holds.
    pub used_bytes: u64,
    pub replicas_held: u32,
    /// Its x25519 public key for data sealed to it.
    pub encryption_key: Option<EncryptionKey>,
    pub earned: Amount,
    pub slashed: Amount,
    pub updated_height: u64,
}

impl StorageOffer {
    pub fn free_bytes(&self) -> u64 {
        self.capacity_bytes.saturating_sub(self.used_bytes)
    }
}

/// The storage market's chain-wide numbers.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
    ToSchema,
)]
pub struct StorageMarketState {
    /// The least a deal's bid must be to be matched, per MiB-epoch (zero before the first
    /// step: the floor applies).
    pub price_index_per_mib_epoch: Amount,
    /// Capacity offered by every storage offer, in bytes.
    pub capacity_bytes_total: u64,
    /// Bytes held by live replicas.
    pub used_bytes_total: u64,
    /// Deals waiting for (more) replicas.
    pub queue_deals: u64,
    /// (height, clearing price per MiB-epoch) of the most recent blocks that matched anything.
    pub recent_clearing: Vec<(u64, Amount)>,
    /// The last queued deal the matching step read; the next block's walk starts after it
    /// (none: from the start of the queue).
    #[serde(default)]
    pub queue_cursor: Option<Hash32>,
}

/// Most entries kept in `StorageMarketState::recent_clearing`.
pub const STORAGE_RECENT_CLEARING_MAX: usize = 32;

/// Most queued deals the matching step reads in one block. A queued deal costs its owner only
/// a refundable escrow, so the queue can grow without bound; the step reads this many, from
/// where the last block stopped (`StorageMarketState::queue_cursor`), so each block's work is
/// bounded and every queued deal is still looked at in turn.
pub const STORAGE_QUEUE_READ_PER_BLOCK_MAX: usize = 256;
