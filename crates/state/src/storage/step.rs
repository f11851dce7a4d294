//! The storage end-of-block step: the deals due at this height turn (a proof window closes,
//! the deal ends, or an epoch opens with this block's seed), then queued deals are matched
//! (`matching`). Only deals whose `storage_due` key is at this height are touched.

use super::life::{end_deal, end_replica, enqueue, set_next_event};
use super::matching::match_deals;
use super::records::*;
use crate::bank;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use yun_types::storage::DealId;
use yun_types::{Address, ChainParams};

/// Runs the whole step. Pure: everything it needs is the state, the block and the parameters.
pub fn end_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    let next = env
        .height
        .checked_add(1)
        .expect("invariant: no block reaches the last height");
    let end = [&[TAG_STORAGE_DUE][..], &next.to_be_bytes()[..]].concat();
    for (key, _) in state.range(&[TAG_STORAGE_DUE], &end) {
        state.delete(key.clone());
        let id = deal_of_tail(&key);
        let mut deal = state.deal(&id).expect("invariant: a due deal exists");
        deal.next_event_height = None;
        turn(state, env, params, &id, &mut deal);
        state.set_deal(&id, &deal);
    }
    match_deals(state, env, params);
}

/// One deal's event at this height, in order: its open window closes; the deal ends; a new
/// epoch opens. Then its next event is indexed.
fn turn<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    id: &DealId,
    deal: &mut Deal,
) {
    let h = env.height;
    if deal.epoch.is_some() && h == deal.window_end_height {
        close_window(state, env, params, id, deal);
    }
    if deal.end_height == Some(h) {
        end_deal(state, env, id, deal, DealStatus::Ended);
        return;
    }
    let start = deal
        .start_height
        .expect("invariant: only a started deal has events");
    let epoch_blocks = params.storage.epoch_blocks;
    let since = h.saturating_sub(start);
    if h >= start && since % epoch_blocks == 0 {
        deal.epoch = Some(since / epoch_blocks);
        deal.challenge_seed = env.seed;
        deal.window_end_height = env.height_after(params.storage.proof_window_blocks);
    }
    let epoch = deal.epoch.unwrap_or(0);
    let next_open = epoch
        .saturating_add(1)
        .saturating_mul(epoch_blocks)
        .saturating_add(start);
    let next = [
        Some(deal.window_end_height).filter(|w| *w > h),
        Some(next_open),
        deal.end_height,
    ]
    .into_iter()
    .flatten()
    .min()
    .expect("the next epoch's opening is always a candidate");
    set_next_event(state, id, deal, Some(next));
}

/// The window of the deal's current epoch closes: a holding replica that did not prove it
/// misses (slashed `miss_slash_ppm` of its provider's bond; replaced after
/// `misses_to_replace` in a row); a fetching one that has had `fetch_epochs_max` windows is
/// released without a slash. A deal short of replicas returns to the queue for repair.
fn close_window<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    id: &DealId,
    deal: &mut Deal,
) {
    let sp = &params.storage;
    let epoch = deal.epoch.expect("a window is open");
    for i in 0..deal.replicas.len() {
        let r = &deal.replicas[i];
        if !r.state.is_live() || r.first_epoch > epoch || r.proven_epoch == Some(epoch) {
            continue;
        }
        match r.state {
            StorageReplicaState::Holding => {
                let slash = slash_miss(state, &r.provider, sp.miss_slash_ppm);
                let r = &mut deal.replicas[i];
                r.slashed = r.slashed.checked_add(slash).expect("within the supply");
                r.misses_total = r.misses_total.saturating_add(1);
                r.misses_in_a_row = r.misses_in_a_row.saturating_add(1);
                if r.misses_in_a_row >= sp.misses_to_replace {
                    end_replica(state, env, id, deal, i, StorageReplicaState::Replaced);
                }
            }
            StorageReplicaState::Fetching => {
                let windows = epoch - r.first_epoch + 1;
                if windows >= u64::from(sp.fetch_epochs_max) {
                    end_replica(state, env, id, deal, i, StorageReplicaState::Released);
                }
            }
            _ => {}
        }
    }
    if deal.replicas_missing() > 0 {
        enqueue(state, id);
    }
}

/// Burns `ppm` of a provider's bond for a missed window; returns the amount.
fn slash_miss<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    provider: &Address,
    ppm: u32,
) -> yun_types::Amount {
    // A provider holding replicas cannot exit, so its record is there.
    let Some(mut p) = state.provider(provider) else {
        return yun_types::Amount::ZERO;
    };
    let slash = p
        .bond
        .mul_div_floor(u128::from(ppm), 1_000_000)
        .expect("ppm of a bond fits");
    p.bond = p
        .bond
        .checked_sub(slash)
        .expect("slash is part of the bond");
    p.slashed = p.slashed.checked_add(slash).expect("within the supply");
    state.set_provider(provider, &p);
    let mut offer = state.storage_offer(provider).unwrap_or_default();
    offer.slashed = offer.slashed.checked_add(slash).expect("within the supply");
    state.set_storage_offer(provider, &offer);
    bank::burn(state, slash);
    slash
}
