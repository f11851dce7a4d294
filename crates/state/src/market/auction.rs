//! Matching: the sealed call auction that assigns replicas, and the price index it moves.
//!
//! These are the last two parts of the market's end-of-block step. Matching runs in named
//! steps, in this order: the sell side (providers that may take work, and the capacity the
//! index needs), the buy side (queued tasks that may be matched), the clearing (volume and
//! price), the ranking of the cleared sellers, the assignment of replicas, and the index
//! update.

use super::draw;
use super::records::*;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use std::collections::BTreeMap;
use yun_types::market::{JobId, Label, TaskRef};
use yun_types::{Address, Amount, ChainParams, Hash32};

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

/// What the sellers hold: declared slots that are free (whether matching may find any).
struct Capacity {
    free: u64,
}

/// What the price index reads: the slots busy after this block's matching, out of the slots
/// each seller has shown it really holds ([`Provider::slots_counted`]: its declared slots, but
/// no more than it has committed replicas in one transaction).
struct Occupancy {
    total: u64,
    busy: u64,
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
    let occupied = occupancy(&sellers);
    update_index(
        state,
        params,
        &mut market,
        env.height,
        (occupied.total, occupied.busy),
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

/// The sellers' free declared slots, before matching.
fn capacity_of(sellers: &[Seller]) -> Capacity {
    Capacity {
        free: sellers
            .iter()
            .map(|s| u64::from(s.provider.free_slots()))
            .sum(),
    }
}

/// The occupancy the index reads, after matching.
///
/// Why not the declared slots. A declaration costs nothing, so a provider that declared the
/// most slots allowed (or paused and resumed every block) moved the index at will: many idle
/// declared slots pulled utilization, and with it the price, down to the floor (table G of
/// the market simulation). Counted slots are ones the provider has shown by delivering that
/// many commitments at once, which it can only do for work it was drawn and assigned (and a
/// replica it was assigned and left silent costs `slash_silent_bps` of its bond); a declared
/// slot above that adds nothing.
fn occupancy(sellers: &[Seller]) -> Occupancy {
    let sum = |slots: fn(&Provider) -> u32| -> u64 {
        sellers.iter().map(|s| u64::from(slots(&s.provider))).sum()
    };
    Occupancy {
        total: sum(Provider::slots_counted),
        busy: sum(|p| p.tasks_in_flight.min(p.slots_counted())),
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

/// Fills the buyers that bid at least the clearing price, in order, by drawing each task's
/// providers at random from the sellers that fit it and ask at most its bid (see `draw`),
/// until the volume is matched or no slot is free. A replica is paid the clearing price, or
/// its provider's ask if higher (never above the bid): an ask below the others' buys no
/// better chance of being drawn, so colluders who undercut do not take the replicas. A task gets every replica it wants in one block or
/// none: it never runs on fewer independent providers than its policy needs, and all of them
/// are of one engine class (see [`Pools::choose`]). Returns (replicas matched, tasks that left
/// the queue).
fn assign<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sellers: &mut [Seller],
    demand: &mut Demand,
    clearing: Clearing,
) -> (usize, u64) {
    let commit_deadline = env.height_after(params.market.commit_window_blocks);
    let mut pools = Pools::default();
    let (mut matched, mut dequeued) = (0usize, 0u64);
    for b in demand.buyers.iter_mut().filter(|b| b.bid >= clearing.price) {
        let room = clearing.volume - matched;
        if room == 0 {
            break;
        }
        if b.units > room {
            continue;
        }
        let job = &demand.jobs[&b.task_ref.job];
        let Some((class, chosen)) = pools.choose(sellers, params, env, job, b) else {
            continue;
        };
        b.task.engine_class = Some(class);
        for si in chosen {
            let s = &mut sellers[si];
            b.task.replicas.push(Replica {
                provider: s.address,
                assigned_height: env.height,
                price_per_mfuel: clearing.price.max(s.provider.spec.ask_per_mfuel),
                state: ReplicaState::Assigned { commit_deadline },
                deadline_ms: env
                    .timestamp_ms
                    .saturating_add(params.market.commit_window_ms(job.spec.fuel_per_task)),
            });
            s.provider.take_slot();
            s.changed = true;
            state.mark(assigned_key(&s.address, &b.task_ref));
        }
        matched += b.units;
        state.mark(deadline_key(commit_deadline, &b.task_ref));
        state.delete(queue_key(&b.task_ref));
        dequeued += 1;
        state.set_task(&b.task_ref, &b.task);
    }
    (matched, dequeued)
}

/// The kind of task a pool serves: memory per task, required labels, bid.
type Kind = (u64, Vec<Label>, Amount);

/// This block's draw pools: for each kind of task met so far, one [`ClassPool`] per engine
/// class among the sellers that fit it.
#[derive(Default)]
struct Pools {
    by_kind: BTreeMap<Kind, BTreeMap<Hash32, ClassPool>>,
}

impl Pools {
    /// Draws a task's providers, all of one engine class. A task whose earlier replicas fixed
    /// its class draws from that class only. A task's first draw picks the class at random,
    /// weighted by each class's (capped) total weight, which is the class of a provider drawn
    /// by weight from the whole kind; a class that cannot give the task every replica it
    /// wants now does not qualify and the next class is drawn from the rest. Returns the class
    /// and the sellers; `None` (nothing taken) if no class qualifies.
    fn choose(
        &mut self,
        sellers: &[Seller],
        params: &ChainParams,
        env: &BlockEnv,
        job: &Job,
        b: &Buyer,
    ) -> Option<(Hash32, Vec<usize>)> {
        let kind = (
            job.spec.memory_bytes_per_task,
            job.spec.required_labels.clone(),
            b.bid,
        );
        let classes = self
            .by_kind
            .entry(kind)
            .or_insert_with(|| ClassPool::split(sellers, params, job, b.bid));
        if let Some(class) = b.task.engine_class {
            let pool = classes.get_mut(&class)?;
            return pool.choose(sellers, env, b).map(|c| (class, c));
        }
        let mut candidates: Vec<Hash32> = classes.keys().copied().collect();
        let mut attempt = 0u32;
        while !candidates.is_empty() {
            let totals: Vec<u128> = candidates.iter().map(|c| classes[c].pool.total()).collect();
            let sum: u128 = totals.iter().sum();
            if sum == 0 {
                return None;
            }
            let mut x = draw::draw_class(env, &b.task_ref, attempt, sum);
            attempt += 1;
            let at = totals
                .iter()
                .position(|t| {
                    let here = x < *t;
                    x = x.saturating_sub(*t);
                    here
                })
                .expect("x < the sum of the totals");
            let class = candidates.remove(at);
            let pool = classes.get_mut(&class).expect("a candidate has a pool");
            if let Some(chosen) = pool.choose(sellers, env, b) {
                return Some((class, chosen));
            }
        }
        None
    }
}

/// The sellers of one engine class that fit one kind of task (memory, labels, an ask at or
/// below its bid), as a weighted pool whose weights are capped at `selection_weight_cap_bps`
/// of this pool's own total: the cap holds among the providers a task is actually drawn from.
/// Built the first time a task of that kind is filled in a block; a seller found full is taken
/// out for good, one that may not serve a given task only for that task.
struct ClassPool {
    members: Vec<usize>,
    pool: draw::Pool,
}

impl ClassPool {
    /// The pools of every engine class among the sellers that fit a kind of task.
    fn split(
        sellers: &[Seller],
        params: &ChainParams,
        job: &Job,
        bid: Amount,
    ) -> BTreeMap<Hash32, ClassPool> {
        let mut members: BTreeMap<Hash32, Vec<usize>> = BTreeMap::new();
        for (i, s) in sellers.iter().enumerate() {
            let p = &s.provider;
            if p.spec.ask_per_mfuel <= bid && p.free_slots() > 0 && fits(p, job) {
                members.entry(p.spec.engine_class).or_default().push(i);
            }
        }
        members
            .into_iter()
            .map(|(class, members)| {
                let mut w: Vec<u128> = members
                    .iter()
                    .map(|&i| draw::weight(&sellers[i].provider, params))
                    .collect();
                draw::cap_weights(&mut w, params.market.selection_weight_cap_bps);
                let pool = ClassPool {
                    members,
                    pool: draw::Pool::new(w),
                };
                (class, pool)
            })
            .collect()
    }

    /// Draws `b.units` distinct providers for the task, none of them the requester or already
    /// on the task, each with a free slot; `None` (and nothing taken) if there are not enough.
    /// A provider whose replica of this task expired is drawn only if the others are not
    /// enough: it is not barred (a task that expired at every provider must still be matched,
    /// and so reach `task_expirations_max` and fail), but it is the last resort.
    fn choose(&mut self, sellers: &[Seller], env: &BlockEnv, b: &Buyer) -> Option<Vec<usize>> {
        let mut out: Vec<(usize, usize, u128)> = Vec::with_capacity(b.units);
        let mut aside: Vec<(usize, u128)> = Vec::new();
        let mut expired_here: Vec<(usize, usize, u128)> = Vec::new();
        let mut i = 0u32;
        while out.len() < b.units
            && self.pool.live() > 0
            && self.pool.live() + expired_here.len() >= b.units - out.len()
        {
            let pos = self
                .pool
                .find(draw::draw(env, &b.task_ref, i, self.pool.total()));
            i += 1;
            let si = self.members[pos];
            let s = &sellers[si];
            if s.provider.free_slots() == 0 {
                self.pool.remove(pos);
                continue;
            }
            let w = self.pool.remove(pos);
            let (live, expired) = b
                .task
                .replicas
                .iter()
                .filter(|r| r.provider == s.address)
                .fold((false, false), |(l, e), r| {
                    let x = r.state == ReplicaState::Expired;
                    (l || !x, e || x)
                });
            if live || s.address == b.requester {
                aside.push((pos, w));
            } else if expired {
                expired_here.push((pos, si, w));
            } else {
                out.push((pos, si, w));
            }
        }
        let short = (b.units - out.len()).min(expired_here.len());
        out.extend(expired_here.drain(..short));
        let enough = out.len() == b.units;
        for (pos, si, w) in &out {
            // A chosen seller stays in the pool if it will still have a free slot after this one.
            if sellers[*si].provider.free_slots() > 1 || !enough {
                self.pool.restore(*pos, *w);
            }
        }
        for (pos, _, w) in expired_here {
            self.pool.restore(pos, w);
        }
        for (pos, w) in aside {
            self.pool.restore(pos, w);
        }
        enough.then(|| out.iter().map(|(_, si, _)| *si).collect())
    }
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
