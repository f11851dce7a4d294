//! Matching: the sealed call auction that assigns replicas, and the price index it moves.
//!
//! These are the last two parts of the market's end-of-block step. Matching runs in named
//! steps, in this order: the sell side (providers that may take work, and the capacity the
//! index needs), the buy side (queued tasks that may be matched), the clearing (volume and
//! price), the ranking of the cleared sellers, the assignment of replicas, and the index
//! update.

use super::records::*;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use yun_types::market::{JobId, TaskRef};
use yun_types::{Address, Amount, ChainParams};

/// The index a market starts from: the floor.
pub fn initial_price(params: &ChainParams) -> Amount {
    params.market.price_floor_per_mfuel.max(Amount::new(1))
}

/// Whether a provider could ever take this task (memory and labels), regardless of load.
pub fn fits(p: &Provider, job: &Job) -> bool {
    p.spec.memory_bytes_per_slot >= job.spec.memory_bytes_per_task
        && job
            .spec
            .required_labels
            .iter()
            .all(|l| p.spec.labels.contains(l))
}

struct Seller {
    address: Address,
    provider: Provider,
    /// Written back at the end of matching only if it got a replica.
    changed: bool,
}

struct Buyer {
    task_ref: TaskRef,
    task: Task,
    bid: Amount,
    /// Replicas the task still wants.
    units: usize,
    posted_height: u64,
    requester: Address,
}

/// What the sellers hold: slots in all, busy and free (busy and total feed the index).
struct Capacity {
    total: u64,
    busy: u64,
    free: u64,
}

/// The queued tasks that may be matched this block, the jobs they belong to, and how long the
/// queue is once stale entries are dropped.
struct Demand {
    buyers: Vec<Buyer>,
    jobs: BTreeMap<JobId, Job>,
    queue_len: u64,
}

/// The auction's outcome: one price for every matched replica, and how many may match.
#[derive(Clone, Copy)]
struct Clearing {
    price: Amount,
    volume: usize,
}

/// Matches queued tasks to free slots and moves the price index (steps 5 and 6 of the
/// market's end-of-block step).
pub(crate) fn match_tasks<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    let mut market = state.market();
    if market.price_index_per_mfuel.is_zero() {
        market.price_index_per_mfuel = initial_price(params);
    }
    let index = market.price_index_per_mfuel;
    let mut sellers = sell_side(state, params);
    let capacity = capacity_of(&sellers);
    // With no free slot anywhere nothing can match: skip decoding the whole queue (the
    // dominant cost of a busy block); stale entries are dropped on a later walk.
    let mut demand = buy_side(state, env, index, capacity.free > 0);
    let clearing = clear(&sellers, &mut demand.buyers, index);
    let mut matched = 0usize;
    if clearing.volume > 0 {
        rank_sellers(&mut sellers, env, clearing.price);
        let dequeued;
        (matched, dequeued) = assign(state, env, params, &mut sellers, &mut demand, clearing);
        demand.queue_len = demand
            .queue_len
            .checked_sub(dequeued)
            .expect("invariant: only queued tasks leave the queue");
    }
    for s in sellers.iter().filter(|s| s.changed) {
        state.set_provider(&s.address, &s.provider);
    }
    let busy = capacity
        .busy
        .checked_add(matched as u64)
        .expect("invariant: matched replicas fill free slots");
    update_index(
        state,
        params,
        &mut market,
        env.height,
        (capacity.total, busy),
        demand.queue_len,
        (matched, clearing.price),
    );
}

/// Eligible to receive tasks: active, bonded at least the minimum, with a free slot.
fn can_sell(p: &Provider, params: &ChainParams) -> bool {
    p.status == ProviderStatus::Active && p.bond >= params.market.provider_bond_min
}

/// The providers that may take work this block, in key order.
fn sell_side<R: StateReader + ?Sized>(state: &Overlay<'_, R>, params: &ChainParams) -> Vec<Seller> {
    state
        .scan(&[TAG_PROVIDER])
        .into_iter()
        .map(|(k, v)| Seller {
            address: Address(k[1..33].try_into().expect("address")),
            provider: decode(&v),
            changed: false,
        })
        .filter(|s| can_sell(&s.provider, params))
        .collect()
}

/// Capacity of the sellers, counted once here for the price index (matching only adds to
/// busy).
fn capacity_of(sellers: &[Seller]) -> Capacity {
    let sum = |slots: fn(&Provider) -> u32| -> u64 {
        sellers.iter().map(|s| u64::from(slots(&s.provider))).sum()
    };
    Capacity {
        total: sum(|p| p.spec.slots),
        busy: sum(|p| p.tasks_in_flight.min(p.spec.slots)),
        free: sum(Provider::free_slots),
    }
}

/// Walks the queue (only if `walk`, see the caller) for tasks that may be matched: open, short
/// of replicas, in an open job before its deadline that bids at least the index. Entries whose
/// task no longer wants replicas are deleted as they are met.
fn buy_side<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    index: Amount,
    walk: bool,
) -> Demand {
    let mut jobs: BTreeMap<JobId, Job> = BTreeMap::new();
    let mut buyers: Vec<Buyer> = Vec::new();
    let queue = state.scan(&[TAG_QUEUE]);
    let mut queue_len = queue.len() as u64;
    let walk = if walk { queue.len() } else { 0 };
    for (key, _) in queue.iter().take(walk) {
        let t = task_ref_of_tail(key);
        let job = match jobs.get(&t.job) {
            Some(j) => j,
            None => jobs
                .entry(t.job)
                .or_insert(state.job(&t.job).expect("a queued task's job exists")),
        };
        let task = state.task(&t).expect("a queued task exists");
        let live = task.live_replicas();
        if task.phase != TaskPhase::Open || live >= task.replicas_wanted as usize {
            state.delete(key.clone());
            queue_len = queue_len
                .checked_sub(1)
                .expect("invariant: the entry is one of the queue's");
            continue;
        }
        if job.status != JobStatus::Open
            || env.height >= job.spec.deadline_height
            || job.spec.bid_per_mfuel < index
        {
            continue;
        }
        buyers.push(Buyer {
            task_ref: t,
            units: task.replicas_wanted as usize - live,
            task,
            bid: job.spec.bid_per_mfuel,
            posted_height: job.posted_height,
            requester: job.requester,
        });
    }
    Demand {
        buyers,
        jobs,
        queue_len,
    }
}

/// The sealed call auction: demand units by bid (high first; then older jobs, then task),
/// supply units by ask (low first); the volume is where they cross, and one price clears the
/// block: the index, or the ask of the last matched unit if higher (at or below every matched
/// bid). Leaves `buyers` in bid order, the order they are filled in.
fn clear(sellers: &[Seller], buyers: &mut [Buyer], index: Amount) -> Clearing {
    buyers.sort_by(|a, b| {
        b.bid
            .cmp(&a.bid)
            .then(a.posted_height.cmp(&b.posted_height))
            .then(a.task_ref.cmp(&b.task_ref))
    });
    let mut asks: Vec<Amount> = Vec::new();
    for s in sellers {
        asks.extend(std::iter::repeat_n(
            s.provider.spec.ask_per_mfuel,
            s.provider.free_slots() as usize,
        ));
    }
    asks.sort();
    let bids = buyers
        .iter()
        .flat_map(|b| std::iter::repeat_n(b.bid, b.units));
    let volume = bids
        .zip(asks.iter())
        .take_while(|(bid, ask)| bid >= ask)
        .count();
    let price = match volume {
        0 => index,
        v => index.max(asks[v - 1]),
    };
    Clearing { price, volume }
}

/// Keeps the sellers whose ask clears and puts them in the order replicas are handed out:
/// reputation first (it is earned only by agreeing with other providers and lost by
/// dissenting or going silent, so it cannot be bought the way a low ask can: colluders
/// undercutting the ask would otherwise take every replica; see the market simulation), then
/// ask, then load, then the block's tie-break.
fn rank_sellers(sellers: &mut Vec<Seller>, env: &BlockEnv, clearing: Amount) {
    sellers.retain(|s| s.provider.spec.ask_per_mfuel <= clearing);
    sellers.sort_by_cached_key(|s| {
        (
            Reverse(s.provider.reputation),
            s.provider.spec.ask_per_mfuel,
            s.provider.tasks_in_flight,
            tiebreak(env, &s.address),
        )
    });
}

/// The per-block randomness that breaks ties between otherwise equal providers.
fn tiebreak(env: &BlockEnv, provider: &Address) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("yun/market/tiebreak/v1");
    h.update(env.seed.as_bytes());
    h.update(&env.height.to_be_bytes());
    h.update(provider.as_bytes());
    *h.finalize().as_bytes()
}

/// Fills the buyers that bid at least the clearing price, in order, from the ranked sellers,
/// until the volume is matched or no slot is free. Returns (replicas matched, tasks that got
/// every replica they wanted and left the queue).
fn assign<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sellers: &mut [Seller],
    demand: &mut Demand,
    clearing: Clearing,
) -> (usize, u64) {
    let commit_deadline = env.height_after(params.market.commit_window_blocks);
    let mut matched = 0;
    let mut dequeued = 0;
    let mut free_total: u64 = sellers
        .iter()
        .map(|s| u64::from(s.provider.free_slots()))
        .sum();
    let replica = |provider| Replica {
        provider,
        assigned_height: env.height,
        price_per_mfuel: clearing.price,
        state: ReplicaState::Assigned { commit_deadline },
    };
    let n = sellers.len();
    let mut first_free = 0;
    for b in demand.buyers.iter_mut().filter(|b| b.bid >= clearing.price) {
        if free_total == 0 || n == 0 {
            break;
        }
        let job = &demand.jobs[&b.task_ref.job];
        // Sellers before `first_free` are full; skipping them keeps the walk short.
        while first_free < n && sellers[first_free].provider.free_slots() == 0 {
            first_free += 1;
        }
        let room = clearing.volume - matched;
        let got = fill(state, &mut sellers[first_free..], b, job, &replica, room);
        matched += got;
        free_total = free_total
            .checked_sub(got as u64)
            .expect("invariant: each replica took one free slot");
        if got > 0 {
            state.mark(deadline_key(commit_deadline, &b.task_ref));
            if got == b.units {
                state.delete(queue_key(&b.task_ref));
                dequeued += 1;
            }
            state.set_task(&b.task_ref, &b.task);
        }
        if matched == clearing.volume {
            break;
        }
    }
    (matched, dequeued)
}

/// Gives one buyer up to `room` replicas (and at most the units it wants) from `sellers` in
/// their order, skipping sellers that are full, already on the task, the requester itself, or
/// without the memory or labels; `replica` makes a new replica for a provider. Returns how
/// many it got.
fn fill<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    sellers: &mut [Seller],
    b: &mut Buyer,
    job: &Job,
    replica: &impl Fn(Address) -> Replica,
    room: usize,
) -> usize {
    let mut got = 0;
    for s in sellers {
        if got == b.units || got == room {
            break;
        }
        let taken = b.task.replicas.iter().any(|r| r.provider == s.address);
        if s.provider.free_slots() == 0
            || taken
            || s.address == b.requester
            || !fits(&s.provider, job)
        {
            continue;
        }
        b.task.replicas.push(replica(s.address));
        s.provider.take_slot();
        s.changed = true;
        state.mark(assigned_key(&s.address, &b.task_ref));
        got += 1;
    }
    got
}

/// EIP-1559-style: the index moves toward the utilization target by at most 1/divisor per
/// block, rounding away from the current value so it can leave small numbers, never below the
/// floor.
fn update_index<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    params: &ChainParams,
    market: &mut MarketState,
    height: u64,
    (total, busy): (u64, u64),
    queue: u64,
    (matched, clearing): (usize, Amount),
) {
    let target = u128::from(params.market.price_target_utilization_bps.max(1));
    let util = if total == 0 {
        0
    } else {
        u128::from(busy) * 10_000 / u128::from(total)
    };
    let div = u128::from(params.market.price_step_divisor.max(1));
    let den = div * target;
    let num = den + util - target; // den >= target, so never negative
    let current = market.price_index_per_mfuel.base_units();
    let next = if num >= den {
        current.saturating_mul(num).div_ceil(den)
    } else {
        current.saturating_mul(num) / den
    };
    market.price_index_per_mfuel = Amount::new(next).max(params.market.price_floor_per_mfuel);
    market.slots_total = total;
    market.slots_busy = busy;
    market.queue_tasks = queue;
    if matched > 0 {
        market.recent_clearing.push((height, clearing));
        if market.recent_clearing.len() > RECENT_CLEARING_MAX {
            market.recent_clearing.remove(0);
        }
    }
    state.set_market(market);
}
