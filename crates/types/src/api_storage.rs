//! JSON shapes of the storage API: deals (a page, or one with its replicas and their next
//! challenges), what a provider must prove now, storage offers, and a job's sealed keys.

use crate::market::{JobId, Text};
use crate::storage::{DealId, DealSpec};
pub use crate::storage_records::*;
use crate::{Address, Amount, Hash32};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One deal in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DealSummaryView {
    pub id: DealId,
    pub owner: Address,
    pub root: Hash32,
    pub size_bytes: u64,
    pub replicas: u8,
    pub replicas_live: u32,
    pub epochs: u32,
    pub bid_per_mib_epoch: Amount,
    pub status: DealStatus,
    pub posted_height: u64,
    pub end_height: Option<u64>,
    /// Locked and not yet paid or refunded.
    pub escrow: Amount,
    pub paid: Amount,
}

/// `GET /v1/storage/deals`: deals in id order (all, or one owner's).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DealsResponse {
    pub height: u64,
    pub deals: Vec<DealSummaryView>,
    /// Pass as `?after=` for the next page; null when nothing is left after this page.
    pub next_after: Option<DealId>,
}

/// The challenge a replica must answer now: prove chunk `chunk_index` of the deal's file for
/// `epoch` in a block at or below `window_end_height`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChallengeView {
    pub deal: DealId,
    pub replica: u8,
    pub epoch: u64,
    pub chunk_index: u64,
    pub window_end_height: u64,
    /// Already answered with a valid proof (and paid).
    pub proven: bool,
}

/// One replica of a deal, with where its holder serves the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StorageReplicaView {
    /// Its index in the deal (what a proof names).
    pub index: u8,
    /// The provider's endpoint (empty if the provider record is gone).
    pub endpoint: Text,
    /// The state record, its fields inline.
    #[serde(flatten)]
    pub replica: StorageReplica,
    /// The open challenge it must (or did) answer; null when none is open for it.
    pub challenge: Option<ChallengeView>,
}

/// `GET /v1/storage/deals/{id}`: the deal and every replica it had.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DealResponse {
    pub id: DealId,
    pub height: u64,
    pub owner: Address,
    pub spec: DealSpec,
    pub status: DealStatus,
    pub escrow: Amount,
    pub paid: Amount,
    pub refunded: Amount,
    pub posted_height: u64,
    pub start_height: Option<u64>,
    pub end_height: Option<u64>,
    /// The deal epoch whose challenge opened last.
    pub epoch: Option<u64>,
    pub window_end_height: Option<u64>,
    /// When the chain next looks at the deal (an epoch opens, a window closes, the deal ends).
    pub next_event_height: Option<u64>,
    pub ended_height: Option<u64>,
    pub replicas: Vec<StorageReplicaView>,
}

/// Another live holder of the same data (where a new replica copies from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HolderView {
    pub provider: Address,
    pub endpoint: Text,
    pub state: StorageReplicaState,
}

/// A live replica a provider holds, what it must fetch, and what it must prove now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeldReplicaView {
    pub deal: DealId,
    pub replica: u8,
    pub root: Hash32,
    pub size_bytes: u64,
    pub encrypted: bool,
    /// Where the first copy can be fetched (the owner's upload node); empty for "any node".
    pub source_url: Text,
    pub state: StorageReplicaState,
    /// A Fetching replica is released unslashed when the window of this deal epoch closes
    /// without a proof.
    pub fetch_last_epoch: Option<u64>,
    /// The open challenge, unanswered; null when none is open or it is already proven.
    pub challenge: Option<ChallengeView>,
    /// The deal's other live replicas, to copy from.
    pub holders: Vec<HolderView>,
}

/// `GET /v1/storage/challenges?provider=…`: every live replica the provider holds (at most
/// its bounded count), with its open challenge.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChallengesResponse {
    pub provider: Address,
    pub height: u64,
    pub replicas: Vec<HeldReplicaView>,
    /// Pass as `?after=DEAL:REPLICA` for the next page; null on the last page.
    pub next_after: Option<String>,
}

/// A provider's storage offer, with what matching reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StorageOfferView {
    pub provider: Address,
    pub endpoint: Text,
    /// The state record, its fields inline.
    #[serde(flatten)]
    pub offer: StorageOffer,
    pub free_bytes: u64,
    /// Registered, active and bonded at least the minimum: may be matched now.
    pub eligible: bool,
}

/// `GET /v1/storage/offers`: storage offers in provider address order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StorageOffersResponse {
    pub height: u64,
    pub market: StorageMarketState,
    pub offers: Vec<StorageOfferView>,
    /// Pass as `?after=` for the next page; null on the last page.
    pub next_after: Option<Address>,
}

/// `GET /v1/jobs/{id}/keys/{provider}`: a job's data key sealed to one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobKeyResponse {
    pub job: JobId,
    pub provider: Address,
    pub height: u64,
    /// The envelope, as hex; only the provider's secret key opens it.
    #[serde(with = "hex::serde")]
    #[schema(value_type = String)]
    pub sealed: Vec<u8>,
}

/// `GET /v1/sealed-outputs/{digest}` on a provider's endpoint: where it keeps the ciphertext
/// of an encrypted job's output whose plaintext archive hashes to `digest` (the verdict's
/// digest). Each replica encrypts with its own random file key, so ciphertexts differ while
/// the verdicts agree; `root` names this provider's ciphertext in its blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SealedOutputResponse {
    pub digest: Hash32,
    pub root: Hash32,
    pub bytes: u64,
}
