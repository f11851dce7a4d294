//! A deal's and a replica's life in state: ending a replica (capacity freed), ending a deal
//! (escrow refunded), its next event in the `storage_due` index, and the matching queue. Used
//! by the end-of-block step, matching and the transactions alike.

use super::records::*;
use crate::bank;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use yun_types::storage::DealId;

/// Ends one live replica: its provider's capacity is freed and its `storage_held` key goes.
pub(crate) fn end_replica<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    id: &DealId,
    deal: &mut Deal,
    index: usize,
    to: StorageReplicaState,
) {
    let size = deal.spec.size_bytes;
    let r = &mut deal.replicas[index];
    debug_assert!(r.state.is_live() && !to.is_live());
    r.state = to;
    r.ended_height = Some(env.height);
    let provider = r.provider;
    state.delete(held_key(&provider, id, index as u8));
    let mut offer = state
        .storage_offer(&provider)
        .expect("invariant: a replica's provider has an offer");
    offer.used_bytes = offer
        .used_bytes
        .checked_sub(size)
        .expect("invariant: used bytes count live replicas");
    offer.replicas_held = offer
        .replicas_held
        .checked_sub(1)
        .expect("invariant: replicas_held counts live replicas");
    state.set_storage_offer(&provider, &offer);
    let mut market = state.storage_market();
    market.used_bytes_total = market
        .used_bytes_total
        .checked_sub(size)
        .expect("invariant: the total counts live replicas");
    state.set_storage_market(&market);
}

/// Ends a deal (its epochs are over, or its owner cancelled): every live replica ends, the
/// unspent escrow returns to the owner now, and it leaves the queue.
pub(crate) fn end_deal<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    id: &DealId,
    deal: &mut Deal,
    status: DealStatus,
) {
    for i in 0..deal.replicas.len() {
        if deal.replicas[i].state.is_live() {
            end_replica(state, env, id, deal, i, StorageReplicaState::Ended);
        }
    }
    let refund = std::mem::replace(&mut deal.escrow, yun_types::Amount::ZERO);
    bank::credit(state, &deal.owner, refund);
    deal.refunded = deal
        .refunded
        .checked_add(refund)
        .expect("within the supply");
    deal.status = status;
    deal.ended_height = Some(env.height);
    dequeue(state, id);
}

/// Moves a deal's `storage_due` key to `next` (or removes it).
pub(crate) fn set_next_event<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    id: &DealId,
    deal: &mut Deal,
    next: Option<u64>,
) {
    if let Some(old) = deal.next_event_height {
        state.delete(due_key(old, id));
    }
    if let Some(h) = next {
        state.mark(due_key(h, id));
    }
    deal.next_event_height = next;
}

/// Puts a deal in the matching queue (once).
pub(crate) fn enqueue<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, id: &DealId) {
    if state.get(&queue_key(id)).is_some() {
        return;
    }
    state.mark(queue_key(id));
    let mut market = state.storage_market();
    market.queue_deals = market
        .queue_deals
        .checked_add(1)
        .expect("invariant: fewer deals than u64::MAX");
    state.set_storage_market(&market);
}

/// Takes a deal out of the matching queue (if it is there).
pub(crate) fn dequeue<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, id: &DealId) {
    if state.get(&queue_key(id)).is_none() {
        return;
    }
    state.delete(queue_key(id));
    let mut market = state.storage_market();
    market.queue_deals = market
        .queue_deals
        .checked_sub(1)
        .expect("invariant: queue_deals counts the queue");
    state.set_storage_market(&market);
}
