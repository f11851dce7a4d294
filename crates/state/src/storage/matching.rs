//! Storage matching: the sealed call auction that assigns deals' replicas to storage offers,
//! in the compute market's style (sell side, buy side, clearing, weighted random draw with
//! the block's seed), and the storage price index per MiB-epoch it moves.

use super::life::{dequeue, set_next_event};
use super::records::*;
use crate::env::BlockEnv;
use crate::market::draw;
use crate::overlay::{Overlay, StateReader};
use yun_types::market_records::ProviderStatus;
use yun_types::storage::DealId;
use yun_types::{Address, Amount, ChainParams};

struct Seller {
    address: Address,
    offer: StorageOffer,
    /// The market's selection weight (bond and reputation), capped per draw.
    weight: u128,
    changed: bool,
}

struct Buyer {
    id: DealId,
    deal: Deal,
    units: usize,
}

/// The index a storage market starts from: its floor.
pub fn initial_storage_price(params: &ChainParams) -> Amount {
    params.storage.price_floor_per_mib_epoch.max(Amount::new(1))
}

/// Matches queued deals to offers with free capacity and moves the price index.
pub(crate) fn match_deals<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    let before = state.storage_market();
    if before.price_index_per_mib_epoch.is_zero() && before.capacity_bytes_total == 0 {
        // No offer has ever been made: nothing can match and there is no index to move.
        return;
    }
    let index = if before.price_index_per_mib_epoch.is_zero() {
        initial_storage_price(params)
    } else {
        before.price_index_per_mib_epoch
    };
    let mut cleared = None;
    if before.queue_deals > 0 {
        let mut sellers = sell_side(state, params);
        if !sellers.is_empty() {
            let mut buyers = buy_side(state, index);
            if let Some(price) = clear(&sellers, &mut buyers, index)
                && assign(state, env, params, &mut sellers, &mut buyers, price) > 0
            {
                cleared = Some(price);
            }
            for s in sellers.iter().filter(|s| s.changed) {
                state.set_storage_offer(&s.address, &s.offer);
            }
        }
    }
    // Matching and the queue walk may have written the record: read it again.
    let written = state.storage_market();
    let mut market = written.clone();
    if let Some(price) = cleared {
        market.recent_clearing.push((env.height, price));
        if market.recent_clearing.len() > STORAGE_RECENT_CLEARING_MAX {
            market.recent_clearing.remove(0);
        }
    }
    market.price_index_per_mib_epoch = next_index(params, &market, index);
    if market != written {
        state.set_storage_market(&market);
    }
}

/// Offers with free capacity whose provider may take work (active, bonded at least the
/// market's minimum), in address order.
fn sell_side<R: StateReader + ?Sized>(state: &Overlay<'_, R>, params: &ChainParams) -> Vec<Seller> {
    let mut out = Vec::new();
    for (k, v) in state.scan(&[TAG_STORAGE_OFFER]) {
        let offer: StorageOffer = decode(&v);
        if offer.free_bytes() == 0 {
            continue;
        }
        let address = Address(k[1..33].try_into().expect("address"));
        let Some(p) = state.provider(&address) else {
            continue;
        };
        if p.status != ProviderStatus::Active || p.bond < params.market.provider_bond_min {
            continue;
        }
        out.push(Seller {
            address,
            offer,
            weight: draw::weight(&p, params),
            changed: false,
        });
    }
    out
}

/// Queued deals that want replicas and bid at least the index, high bid first (then older,
/// then id), among at most `STORAGE_QUEUE_READ_PER_BLOCK_MAX` read from the queue's cursor on.
/// Entries of deals that no longer want any leave the queue.
fn buy_side<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, index: Amount) -> Vec<Buyer> {
    let mut buyers = Vec::new();
    for id in queue_window(state) {
        let deal = state.deal(&id).expect("invariant: a queued deal exists");
        let units = deal.replicas_missing();
        if !deal.is_open() || units == 0 {
            dequeue(state, &id);
            continue;
        }
        if deal.spec.bid_per_mib_epoch < index {
            continue;
        }
        buyers.push(Buyer { id, deal, units });
    }
    buyers.sort_by(|a, b| {
        b.deal
            .spec
            .bid_per_mib_epoch
            .cmp(&a.deal.spec.bid_per_mib_epoch)
            .then(a.deal.posted_height.cmp(&b.deal.posted_height))
            .then(a.id.cmp(&b.id))
    });
    buyers
}

/// This block's window of the queue: at most `STORAGE_QUEUE_READ_PER_BLOCK_MAX` deals after
/// the market's cursor, wrapping to the start, and the cursor moved to the last one read
/// (cleared when the window held the whole queue).
fn queue_window<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>) -> Vec<DealId> {
    let limit = STORAGE_QUEUE_READ_PER_BLOCK_MAX;
    let mut market = state.storage_market();
    let prefix = [TAG_STORAGE_QUEUE];
    let end = crate::overlay::prefix_end(&prefix);
    let after = market
        .queue_cursor
        .map(|c| crate::overlay::prefix_end(&queue_key(&c)))
        .unwrap_or_else(|| prefix.to_vec());
    let mut ids: Vec<DealId> = state
        .range_first(&after, &end, limit)
        .iter()
        .map(|(k, _)| deal_of_tail(k))
        .collect();
    let wrapped = ids.len() < limit;
    if wrapped {
        let rest = state.range_first(&prefix, &after, limit - ids.len());
        ids.extend(rest.iter().map(|(k, _)| deal_of_tail(k)));
    }
    let cursor = if wrapped && ids.len() < limit {
        None
    } else {
        ids.last().copied()
    };
    if market.queue_cursor != cursor {
        market.queue_cursor = cursor;
        state.set_storage_market(&market);
    }
    ids
}

/// The sealed call auction, as the compute market clears: demand units (replicas wanted) by
/// bid, high first; supply units by ask, low first, each seller offering as many replicas as
/// its free capacity holds of the smallest deal waiting. The volume is where they cross and
/// one price clears the block: the index, or the ask of the last matched unit if higher.
/// `None` when nothing crosses.
fn clear(sellers: &[Seller], buyers: &mut [Buyer], index: Amount) -> Option<Amount> {
    let smallest = buyers.iter().map(|b| b.deal.spec.size_bytes).min()?;
    let demand: usize = buyers.iter().map(|b| b.units).sum();
    let mut asks: Vec<Amount> = Vec::new();
    for s in sellers {
        let units = (s.offer.free_bytes() / smallest.max(1)).min(demand as u64) as usize;
        asks.extend(std::iter::repeat_n(s.offer.ask_per_mib_epoch, units));
    }
    asks.sort();
    let bids = buyers
        .iter()
        .flat_map(|b| std::iter::repeat_n(b.deal.spec.bid_per_mib_epoch, b.units));
    let volume = bids
        .zip(asks.iter())
        .take_while(|(bid, ask)| bid >= ask)
        .count();
    (volume > 0).then(|| index.max(asks[volume - 1]))
}

/// Fills the deals that bid at least the clearing price, in bid order, at most
/// `deals_matched_per_block_max` of them: each deal gets every replica it is missing in one
/// block or none, drawn at random by weight among the offers that ask at most its bid, have
/// room for it, are not its owner and hold no replica of it (nor held one that failed). A replica is paid the
/// clearing price, or its provider's ask if higher (never above the bid). Returns the
/// replicas matched.
fn assign<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sellers: &mut [Seller],
    buyers: &mut [Buyer],
    price: Amount,
) -> usize {
    let mut matched = 0usize;
    let mut deals = 0u32;
    for b in buyers
        .iter_mut()
        .filter(|b| b.deal.spec.bid_per_mib_epoch >= price)
    {
        if deals >= params.storage.deals_matched_per_block_max {
            break;
        }
        let Some(chosen) = draw_sellers(sellers, params, env, b) else {
            continue;
        };
        let first_epoch = b.deal.epoch.map_or(0, |e| e.saturating_add(1));
        let size = b.deal.spec.size_bytes;
        for si in chosen {
            let s = &mut sellers[si];
            let index = b.deal.replicas.len() as u8;
            b.deal.replicas.push(StorageReplica {
                provider: s.address,
                assigned_height: env.height,
                first_epoch,
                price_per_mib_epoch: price.max(s.offer.ask_per_mib_epoch),
                state: StorageReplicaState::Fetching,
                proven_epoch: None,
                epochs_paid: 0,
                paid: Amount::ZERO,
                misses_in_a_row: 0,
                misses_total: 0,
                slashed: Amount::ZERO,
                ended_height: None,
            });
            s.offer.used_bytes = s.offer.used_bytes.checked_add(size).expect("≤ capacity");
            s.offer.replicas_held = s.offer.replicas_held.saturating_add(1);
            s.changed = true;
            state.mark(held_key(&s.address, &b.id, index));
        }
        let mut market = state.storage_market();
        market.used_bytes_total = market
            .used_bytes_total
            .checked_add(size.saturating_mul(b.units as u64))
            .expect("invariant: used bytes fit the offered capacity");
        state.set_storage_market(&market);
        if b.deal.status == DealStatus::Queued {
            start_deal(state, env, params, b);
        }
        dequeue(state, &b.id);
        state.set_deal(&b.id, &b.deal);
        matched += b.units;
        deals += 1;
    }
    matched
}

/// A deal's first replicas are matched: its epochs start in the next block.
fn start_deal<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    b: &mut Buyer,
) {
    let start = env.height_after(1);
    b.deal.status = DealStatus::Active;
    b.deal.start_height = Some(start);
    b.deal.end_height = Some(
        u64::from(b.deal.spec.epochs)
            .saturating_mul(params.storage.epoch_blocks)
            .saturating_add(start),
    );
    set_next_event(state, &b.id, &mut b.deal, Some(start));
}

/// Draws `b.units` distinct eligible sellers by capped weight; `None` if too few are eligible
/// (nothing is taken).
fn draw_sellers(
    sellers: &[Seller],
    params: &ChainParams,
    env: &BlockEnv,
    b: &Buyer,
) -> Option<Vec<usize>> {
    // Providers that hold a replica of the deal now, or held one that failed (released
    // without ever proving, or replaced after misses): drawing them again would not add a
    // copy the deal can count on.
    let barred: Vec<Address> = b
        .deal
        .replicas
        .iter()
        .filter(|r| r.state != StorageReplicaState::Ended)
        .map(|r| r.provider)
        .collect();
    let members: Vec<usize> = (0..sellers.len())
        .filter(|&i| {
            let s = &sellers[i];
            s.offer.ask_per_mib_epoch <= b.deal.spec.bid_per_mib_epoch
                && s.offer.free_bytes() >= b.deal.spec.size_bytes
                && s.address != b.deal.owner
                && !barred.contains(&s.address)
        })
        .collect();
    if members.len() < b.units {
        return None;
    }
    let mut w: Vec<u128> = members.iter().map(|&i| sellers[i].weight).collect();
    draw::cap_weights(&mut w, params.market.selection_weight_cap_bps);
    let mut pool = draw::Pool::new(w);
    let mut chosen = Vec::with_capacity(b.units);
    let mut i = 0u32;
    while chosen.len() < b.units && pool.live() > 0 {
        let pos = pool.find(uniform(env, &b.id, i, pool.total()));
        i += 1;
        pool.remove(pos);
        chosen.push(members[pos]);
    }
    (chosen.len() == b.units).then_some(chosen)
}

/// The `i`-th draw for a deal in this block: uniform in `0..total` from the block's seed.
fn uniform(env: &BlockEnv, deal: &DealId, i: u32, total: u128) -> u128 {
    let mut h = blake3::Hasher::new_derive_key("yun/storage/select/v1");
    h.update(env.seed.as_bytes());
    h.update(&env.height.to_be_bytes());
    h.update(deal.as_bytes());
    h.update(&i.to_be_bytes());
    let x = u128::from_le_bytes(h.finalize().as_bytes()[..16].try_into().expect("16 bytes"));
    x % total.max(1)
}

/// EIP-1559-style, as the compute index: toward the market's utilization target (bytes held
/// out of bytes offered) by at most 1/`price_step_divisor` a block, never below the floor.
fn next_index(params: &ChainParams, m: &StorageMarketState, current: Amount) -> Amount {
    let target = u128::from(params.market.price_target_utilization_bps.max(1));
    let util = if m.capacity_bytes_total == 0 {
        0
    } else {
        u128::from(m.used_bytes_total.min(m.capacity_bytes_total)) * 10_000
            / u128::from(m.capacity_bytes_total)
    };
    let div = u128::from(params.market.price_step_divisor.max(1));
    let den = div * target;
    let num = den + util - target;
    let c = current.base_units();
    let next = if num >= den {
        c.saturating_mul(num).div_ceil(den)
    } else {
        c.saturating_mul(num) / den
    };
    Amount::new(next).max(initial_storage_price(params))
}
