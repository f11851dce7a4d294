//! What the storage domain keeps in state: deal, offer and market records (defined once in
//! `yun_types::storage_records`), the index keys the end-of-block step walks, typed access
//! through the overlay, and the challenge each replica must answer.

pub use crate::keys::{
    TAG_DEAL, TAG_DEAL_OWNER, TAG_JOB_KEY, TAG_STORAGE_DUE, TAG_STORAGE_HELD, TAG_STORAGE_MARKET,
    TAG_STORAGE_OFFER, TAG_STORAGE_QUEUE,
};
use crate::overlay::{Overlay, StateReader};
pub use crate::record::{decode, encode};
use yun_types::market::JobId;
use yun_types::storage::{DealId, chunk_count};
pub use yun_types::storage_records::*;
use yun_types::{Address, Hash32};

pub fn deal_key(d: &DealId) -> Vec<u8> {
    [&[TAG_DEAL][..], d.as_bytes()].concat()
}
pub fn deal_owner_key(owner: &Address, d: &DealId) -> Vec<u8> {
    [&[TAG_DEAL_OWNER][..], owner.as_bytes(), d.as_bytes()].concat()
}
pub fn offer_key(p: &Address) -> Vec<u8> {
    [&[TAG_STORAGE_OFFER][..], p.as_bytes()].concat()
}
pub fn queue_key(d: &DealId) -> Vec<u8> {
    [&[TAG_STORAGE_QUEUE][..], d.as_bytes()].concat()
}
pub fn due_key(height: u64, d: &DealId) -> Vec<u8> {
    [
        &[TAG_STORAGE_DUE][..],
        &height.to_be_bytes()[..],
        d.as_bytes(),
    ]
    .concat()
}
pub fn held_key(p: &Address, d: &DealId, replica: u8) -> Vec<u8> {
    [
        &[TAG_STORAGE_HELD][..],
        p.as_bytes(),
        d.as_bytes(),
        &[replica],
    ]
    .concat()
}
pub fn job_key_key(job: &JobId, p: &Address) -> Vec<u8> {
    [&[TAG_JOB_KEY][..], job.as_bytes(), p.as_bytes()].concat()
}

/// The deal id at the end of a `… ‖ deal id` key.
pub fn deal_of_tail(key: &[u8]) -> DealId {
    Hash32(key[key.len() - 32..].try_into().expect("32 bytes"))
}

/// The (deal, replica) of a `storage_held` key.
pub fn held_of(key: &[u8]) -> (DealId, u8) {
    let n = key.len();
    (
        Hash32(key[n - 33..n - 1].try_into().expect("32 bytes")),
        key[n - 1],
    )
}

/// The chunk replica `replica` of `deal` must prove for deal epoch `epoch`: blake3 of the
/// seed of that epoch's first block, the deal, the replica and the epoch, modulo the file's
/// chunk count. The seed is unknown until that block is signed, so no provider can keep only
/// the chunks it will be asked for.
pub fn challenge_chunk(seed: &Hash32, deal: &DealId, replica: u8, epoch: u64, size: u64) -> u64 {
    let mut h = blake3::Hasher::new_derive_key("yun/storage/challenge/v1");
    h.update(seed.as_bytes());
    h.update(deal.as_bytes());
    h.update(&[replica]);
    h.update(&epoch.to_be_bytes());
    let x = u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
    x % chunk_count(size)
}

/// The challenge open for one replica of a deal now, if any: the deal's current epoch, while
/// its window is open at `height` and the replica was assigned before the epoch opened.
/// Returns (epoch, chunk index, proven already).
pub fn open_challenge(
    deal_id: &DealId,
    deal: &Deal,
    replica: u8,
    height: u64,
) -> Option<(u64, u64, bool)> {
    let epoch = deal.epoch?;
    let r = deal.replicas.get(usize::from(replica))?;
    if !deal.is_open() || !r.state.is_live() || r.first_epoch > epoch {
        return None;
    }
    if height > deal.window_end_height {
        return None;
    }
    let chunk = challenge_chunk(
        &deal.challenge_seed,
        deal_id,
        replica,
        epoch,
        deal.spec.size_bytes,
    );
    Some((epoch, chunk, r.proven_epoch == Some(epoch)))
}

/// Typed storage access on an overlay.
impl<R: StateReader + ?Sized> Overlay<'_, R> {
    pub fn deal(&self, d: &DealId) -> Option<Deal> {
        self.get(&deal_key(d)).map(|v| decode(&v))
    }
    pub fn set_deal(&mut self, d: &DealId, deal: &Deal) {
        self.put(deal_key(d), encode(deal));
    }
    pub fn storage_offer(&self, p: &Address) -> Option<StorageOffer> {
        self.get(&offer_key(p)).map(|v| decode(&v))
    }
    pub fn set_storage_offer(&mut self, p: &Address, o: &StorageOffer) {
        self.put(offer_key(p), encode(o));
    }
    pub fn storage_market(&self) -> StorageMarketState {
        self.get(&[TAG_STORAGE_MARKET])
            .map(|v| decode(&v))
            .unwrap_or_default()
    }
    pub fn set_storage_market(&mut self, m: &StorageMarketState) {
        self.put(vec![TAG_STORAGE_MARKET], encode(m));
    }
    pub fn job_key(&self, job: &JobId, p: &Address) -> Option<Vec<u8>> {
        self.get(&job_key_key(job, p)).map(|v| decode(&v))
    }
    /// Whether the storage domain waits on a later block: a live deal has its next event at a
    /// height, or a deal waits in the queue. The node keeps making blocks while this holds.
    pub fn storage_awaits_blocks(&self) -> bool {
        self.any_under(&[TAG_STORAGE_DUE]) || self.any_under(&[TAG_STORAGE_QUEUE])
    }
    /// Whether a provider holds any live storage replica.
    pub fn holds_storage(&self, p: &Address) -> bool {
        self.any_under(&[&[TAG_STORAGE_HELD][..], p.as_bytes()].concat())
    }
}
