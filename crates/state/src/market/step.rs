//! The market's end-of-block step, in this order: return exited bonds, expire silent replicas,
//! verify and settle revealed tasks, close jobs past their deadline, match pending tasks to
//! free slots in a sealed call auction, and move the price index.

use super::records::*;
use super::{burn, credit, initial_price, replica_cap, settle_job_if_done};
use crate::exec::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use std::collections::BTreeMap;
use yun_types::market::{JobId, TaskRef, Verdict, Verification};
use yun_types::{Address, Amount, ChainParams, Hash32};

/// Runs the whole step. Pure: everything it needs is the state, the block and the parameters.
pub fn end_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    release_exits(state, env);
    expire_replicas(state, env, params);
    verify_ready(state, env, params);
    close_past_deadline(state, env, params);
    match_tasks(state, env, params);
}

/// Keys of an index whose second component is a big-endian height at or below `height`.
fn due<R: StateReader + ?Sized>(state: &Overlay<'_, R>, tag: u8, height: u64) -> Vec<Vec<u8>> {
    let end = [&[tag][..], &(height + 1).to_be_bytes()[..]].concat();
    state
        .range(&[tag], &end)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

fn release_exits<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, env: &BlockEnv) {
    for key in due(state, TAG_EXIT, env.height) {
        state.delete(key.clone());
        let addr = Address(key[9..41].try_into().expect("address"));
        let p = state.provider(&addr).expect("an exiting provider exists");
        credit(state, &addr, p.bond);
        state.delete(provider_key(&addr));
    }
}

fn expire_replicas<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    for key in due(state, TAG_DEADLINE, env.height) {
        state.delete(key.clone());
        let t = task_ref_of_tail(&key);
        let Some(mut task) = state.task(&t) else {
            continue;
        };
        let mut expired_any = false;
        for i in 0..task.replicas.len() {
            let late = match task.replicas[i].state {
                ReplicaState::Assigned { commit_deadline } => commit_deadline <= env.height,
                ReplicaState::Committed {
                    reveal_deadline: Some(d),
                    ..
                } => d <= env.height,
                _ => false,
            };
            if late {
                let provider = task.replicas[i].provider;
                // Committing and then not revealing is withholding a verdict: it costs what a
                // wrong reveal costs, or a liar would keep back a losing verdict.
                let slash_bps = match task.replicas[i].state {
                    ReplicaState::Committed { .. } => params.market.slash_dissent_bps,
                    _ => params.market.slash_silent_bps,
                };
                let held_slot = matches!(task.replicas[i].state, ReplicaState::Assigned { .. });
                task.replicas[i].state = ReplicaState::Expired;
                punish_silence(state, slash_bps, held_slot, &provider, &t);
                expired_any = true;
                task.expirations = task.expirations.saturating_add(1);
            }
        }
        if !expired_any {
            continue;
        }
        let job = state.job(&t.job).expect("a task's job exists");
        super::actions::open_reveals_if_all_committed(state, env, params, &t, &mut task);
        if task.phase == TaskPhase::Open {
            if task.expirations > params.market.task_expirations_max {
                fail_task(state, env, &t, &mut task, FailReason::TooManyExpirations);
            } else if job.status == JobStatus::Open && env.height < job.spec.deadline_height {
                state.mark(queue_key(&t));
            } else if task.replicas.iter().all(|r| !r.state.in_flight()) {
                state.mark(verify_key(&t));
            }
        }
        state.set_task(&t, &task);
    }
}

/// A silent replica: reputation ×2/3, the run of verified results resets, a small slash burned.
fn punish_silence<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    slash_bps: u16,
    held_slot: bool,
    provider: &Address,
    t: &TaskRef,
) {
    state.delete(assigned_key(provider, t));
    let Some(mut p) = state.provider(provider) else {
        return;
    };
    if held_slot {
        p.tasks_in_flight -= 1;
    }
    p.reputation = p.reputation * 2 / 3;
    p.streak = 0;
    let slash = p
        .bond
        .mul_div_floor(u128::from(slash_bps), 10_000)
        .expect("bps of a bond");
    p.bond = p
        .bond
        .checked_sub(slash)
        .expect("slash is part of the bond");
    p.slashed = p.slashed.checked_add(slash).expect("within supply");
    state.set_provider(provider, &p);
    burn(state, slash);
}

fn fail_task<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    t: &TaskRef,
    task: &mut Task,
    reason: FailReason,
) {
    task.phase = TaskPhase::Failed { reason };
    for r in &mut task.replicas {
        if matches!(r.state, ReplicaState::Revealed { .. }) {
            r.state = ReplicaState::Unsettled;
        }
    }
    state.delete(queue_key(t));
    let mut job = state.job(&t.job).expect("a task's job exists");
    job.tasks_open -= 1;
    job.tasks_failed += 1;
    state.set_job(&t.job, &job);
    state.set_task(t, task);
    settle_job_if_done(state, env, &t.job);
}

/// The combined error estimate of agreeing providers, in parts per million: the product of
/// each one's `prior / (streak + 1)`, treating providers as independent.
pub fn group_error_ppm<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    params: &ChainParams,
    providers: &[Address],
) -> u64 {
    let mut error: u128 = 1_000_000;
    for a in providers {
        let streak = state.provider(a).map(|p| p.streak).unwrap_or(0);
        let e = u128::from(params.market.adaptive_prior_error_ppm) / (u128::from(streak) + 1);
        error = error * e / 1_000_000;
    }
    error as u64
}

fn verify_ready<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    for (key, _) in state.scan(&[TAG_VERIFY]) {
        state.delete(key.clone());
        let t = task_ref_of_tail(&key);
        let mut task = state.task(&t).expect("a marked task exists");
        if task.phase != TaskPhase::Open || task.replicas.iter().any(|r| r.state.in_flight()) {
            continue;
        }
        let job = state.job(&t.job).expect("a task's job exists");
        let mut groups: BTreeMap<Verdict, Vec<usize>> = BTreeMap::new();
        for (i, r) in task.replicas.iter().enumerate() {
            if let ReplicaState::Revealed { verdict } = r.state {
                groups.entry(verdict).or_default().push(i);
            }
        }
        // The largest group; among equals the smallest verdict, so every node picks the same.
        let best = groups
            .iter()
            .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)));
        // A tie for the largest group is never accepted: a lone spot check against a trusted
        // replica would otherwise be decided by verdict order, not by evidence.
        let mut sizes: Vec<usize> = groups.values().map(Vec::len).collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let tied = sizes.len() > 1 && sizes[0] == sizes[1];
        let accepted = best.filter(|(_, members)| {
            let n = members.len();
            if tied {
                return false;
            }
            match job.spec.verification {
                Verification::None => n >= 1,
                Verification::Replicate { quorum, .. } => n >= quorum as usize,
                Verification::Adaptive { target_error_ppm } => {
                    let who: Vec<Address> =
                        members.iter().map(|&i| task.replicas[i].provider).collect();
                    group_error_ppm(state, params, &who) <= u64::from(target_error_ppm)
                }
            }
        });
        if let Some((verdict, _)) = accepted {
            let verdict = *verdict;
            settle_verified(state, env, params, (&t, &mut task), verdict, job);
            continue;
        }
        let cap = replica_cap(&job.spec.verification) as usize;
        let live = task.live_replicas();
        if live < cap && job.status == JobStatus::Open && env.height < job.spec.deadline_height {
            task.replicas_wanted = (live + 1) as u8;
            state.mark(queue_key(&t));
            state.set_task(&t, &task);
        } else {
            // Without any revealed verdict the task did not fail for lack of agreement.
            let reason = if !groups.is_empty() {
                FailReason::NoQuorum
            } else if env.height >= job.spec.deadline_height {
                FailReason::DeadlinePassed
            } else {
                FailReason::TooManyExpirations
            };
            fail_task(state, env, &t, &mut task, reason);
        }
    }
}

fn settle_verified<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    (t, task): (&TaskRef, &mut Task),
    verdict: Verdict,
    // Already decoded by the caller: a job record holds its whole spec (tens of KiB).
    mut job: Job,
) {
    let mut stats = state.requester_stats(&job.requester);
    let agreeing = task
        .replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Revealed { verdict })
        .count();
    // Trust grows only from results someone else corroborated: a lone result (no verification,
    // or one trusted replica) is paid but proves nothing.
    let corroborated = agreeing >= 2;
    // Reveals above the fuel limit are refused, but pay is bounded by it regardless.
    let fuel = verdict.fuel_used.min(job.spec.fuel_per_task);
    for r in &mut task.replicas {
        let ReplicaState::Revealed { verdict: v } = r.state else {
            continue;
        };
        r.state = if v == verdict {
            let pay = pay_agreeing(state, env, &mut job, r, fuel, corroborated);
            stats.spent = stats.spent.checked_add(pay).expect("within supply");
            ReplicaState::Paid { amount: pay }
        } else {
            let (slash, to_requester) = slash_dissenter(state, params, &job, &r.provider);
            stats.compensation_received = stats
                .compensation_received
                .checked_add(to_requester)
                .expect("within supply");
            ReplicaState::Slashed { amount: slash }
        };
    }
    stats.tasks_verified += 1;
    stats.fuel_verified = stats.fuel_verified.saturating_add(fuel);
    state.set_requester_stats(&job.requester, &stats);
    task.phase = TaskPhase::Verified { verdict };
    job.tasks_open -= 1;
    job.tasks_verified += 1;
    state.set_job(&t.job, &job);
    state.delete(queue_key(t));
    state.set_task(t, task);
    settle_job_if_done(state, env, &t.job);
}

/// Pays an agreeing replica fuel × its clearing price from escrow. A provider that has exited
/// since revealing is still paid, to its account; only its (deleted) record is not updated.
fn pay_agreeing<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    job: &mut Job,
    r: &Replica,
    fuel: u64,
    corroborated: bool,
) -> Amount {
    let due = r
        .price_per_mfuel
        .mul_div_floor(u128::from(fuel), 1_000_000)
        .unwrap_or(Amount::MAX);
    let pay = due.min(job.escrow);
    job.escrow = job
        .escrow
        .checked_sub(pay)
        .expect("pay is at most the escrow");
    job.spent = job.spent.checked_add(pay).expect("within supply");
    if let Some(mut p) = state.provider(&r.provider) {
        p.earned = p.earned.checked_add(pay).expect("within supply");
        p.tasks_verified += 1;
        p.fuel_verified = p.fuel_verified.saturating_add(fuel);
        if corroborated {
            p.reputation += 1;
            p.streak += 1;
        }
        p.last_paid_height = env.height;
        state.set_provider(&r.provider, &p);
    }
    credit(state, &r.provider, pay);
    pay
}

/// Takes `slash_dissent_bps` of a dissenter's bond: part to the requester, the rest burned.
/// Returns (slashed, paid to the requester); nothing if the provider has exited.
fn slash_dissenter<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    params: &ChainParams,
    job: &Job,
    provider: &Address,
) -> (Amount, Amount) {
    let Some(mut p) = state.provider(provider) else {
        return (Amount::ZERO, Amount::ZERO);
    };
    let slash = p
        .bond
        .mul_div_floor(u128::from(params.market.slash_dissent_bps), 10_000)
        .expect("bps of a bond");
    let to_requester = slash
        .mul_div_floor(u128::from(params.market.slash_to_requester_bps), 10_000)
        .expect("bps");
    p.bond = p
        .bond
        .checked_sub(slash)
        .expect("slash is part of the bond");
    p.slashed = p.slashed.checked_add(slash).expect("within supply");
    p.reputation = p.reputation * 2 / 3;
    p.streak = 0;
    state.set_provider(provider, &p);
    credit(state, &job.requester, to_requester);
    burn(
        state,
        slash.checked_sub(to_requester).expect("share of the slash"),
    );
    (slash, to_requester)
}

fn close_past_deadline<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    for key in due(state, TAG_JOB_DEADLINE, env.height) {
        state.delete(key.clone());
        let job_id = Hash32(key[9..41].try_into().expect("job id"));
        let Some(job) = state.job(&job_id) else {
            continue;
        };
        if job.status == JobStatus::Settled {
            continue;
        }
        for index in 0..job.spec.tasks.len() as u32 {
            let t = TaskRef { job: job_id, index };
            let mut task = state.task(&t).expect("every task of a job exists");
            if task.phase != TaskPhase::Open {
                continue;
            }
            state.delete(queue_key(&t));
            if task.replicas.iter().any(|r| r.state.in_flight()) {
                // Finishes (or expires) within its windows. No more replicas come, so replicas
                // that committed while waiting for another may reveal now.
                super::actions::open_reveals_if_all_committed(state, env, params, &t, &mut task);
                state.set_task(&t, &task);
                continue;
            }
            if task
                .replicas
                .iter()
                .any(|r| matches!(r.state, ReplicaState::Revealed { .. }))
            {
                state.mark(verify_key(&t));
            } else {
                fail_task(state, env, &t, &mut task, FailReason::DeadlinePassed);
            }
        }
    }
}

/// The per-block randomness that breaks ties between otherwise equal providers.
fn tiebreak(env: &BlockEnv, provider: &Address) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("yun/market/tiebreak/v1");
    h.update(env.seed.as_bytes());
    h.update(&env.height.to_be_bytes());
    h.update(provider.as_bytes());
    *h.finalize().as_bytes()
}

struct Seller {
    address: Address,
    provider: Provider,
    changed: bool,
}

struct Buyer {
    task_ref: TaskRef,
    task: Task,
    bid: Amount,
    units: usize,
    posted_height: u64,
    requester: Address,
}

/// Eligible to receive tasks: active, bonded at least the minimum, with a free slot.
fn can_sell(p: &Provider, params: &ChainParams) -> bool {
    p.status == ProviderStatus::Active && p.bond >= params.market.provider_bond_min
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

fn match_tasks<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    let mut market = state.market();
    if market.price_index_per_mfuel.is_zero() {
        market.price_index_per_mfuel = initial_price(params);
    }
    let index = market.price_index_per_mfuel;
    let mut sellers: Vec<Seller> = state
        .scan(&[TAG_PROVIDER])
        .into_iter()
        .map(|(k, v)| Seller {
            address: Address(k[1..33].try_into().expect("address")),
            provider: decode(&v),
            changed: false,
        })
        .filter(|s| can_sell(&s.provider, params))
        .collect();
    // Capacity of sellers, counted once here for the price index (matching only adds to busy).
    let slots_total: u64 = sellers
        .iter()
        .map(|s| u64::from(s.provider.spec.slots))
        .sum();
    let slots_busy: u64 = sellers
        .iter()
        .map(|s| u64::from(s.provider.tasks_in_flight.min(s.provider.spec.slots)))
        .sum();
    let mut jobs: BTreeMap<JobId, Job> = BTreeMap::new();
    let mut buyers: Vec<Buyer> = Vec::new();
    let queue = state.scan(&[TAG_QUEUE]);
    let mut queue_len = queue.len() as u64;
    // With no free slot anywhere nothing can match: skip decoding the whole queue (the
    // dominant cost of a busy block); stale entries are dropped on a later walk.
    let free_slots: u64 = sellers
        .iter()
        .map(|s| u64::from(s.provider.free_slots()))
        .sum();
    let walk = if free_slots == 0 { 0 } else { queue.len() };
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
            queue_len -= 1;
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
    // Sealed call auction: demand units by bid (high first), supply units by ask (low first);
    // the volume is where they cross and one price clears the block.
    buyers.sort_by(|a, b| {
        b.bid
            .cmp(&a.bid)
            .then(a.posted_height.cmp(&b.posted_height))
            .then(a.task_ref.cmp(&b.task_ref))
    });
    let mut asks: Vec<Amount> = Vec::new();
    for s in &sellers {
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
    let mut matched = 0usize;
    let mut clearing = index;
    if volume > 0 {
        clearing = clearing.max(asks[volume - 1]);
        sellers.retain(|s| s.provider.spec.ask_per_mfuel <= clearing);
        // Reputation first: it is earned only by agreeing with other providers and lost by
        // dissenting or going silent, so it cannot be bought the way a low ask can (colluders
        // undercutting the ask would otherwise take every replica; see the market simulation).
        sellers.sort_by_cached_key(|s| {
            (
                std::cmp::Reverse(s.provider.reputation),
                s.provider.spec.ask_per_mfuel,
                s.provider.tasks_in_flight,
                tiebreak(env, &s.address),
            )
        });
        let dequeued;
        (matched, dequeued) = assign(
            state,
            env,
            params,
            &mut sellers,
            &mut buyers,
            &jobs,
            clearing,
            volume,
        );
        queue_len -= dequeued;
    }
    for s in sellers.iter().filter(|s| s.changed) {
        state.set_provider(&s.address, &s.provider);
    }
    let capacity = (slots_total, slots_busy + matched as u64);
    update_index(
        state,
        params,
        &mut market,
        env.height,
        capacity,
        queue_len,
        (matched, clearing),
    );
}

#[allow(clippy::too_many_arguments)]
fn assign<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sellers: &mut [Seller],
    buyers: &mut [Buyer],
    jobs: &BTreeMap<JobId, Job>,
    clearing: Amount,
    volume: usize,
) -> (usize, u64) {
    let commit_deadline = env.height + params.market.commit_window_blocks.max(1);
    let mut matched = 0;
    let mut dequeued = 0;
    let mut free_total: u64 = sellers
        .iter()
        .map(|s| u64::from(s.provider.free_slots()))
        .sum();
    let n = sellers.len();
    let mut first_free = 0;
    for b in buyers.iter_mut().filter(|b| b.bid >= clearing) {
        if free_total == 0 || n == 0 {
            break;
        }
        let job = &jobs[&b.task_ref.job];
        // Sellers before `first_free` are full; skipping them keeps the walk short.
        while first_free < n && sellers[first_free].provider.free_slots() == 0 {
            first_free += 1;
        }
        let start = first_free;
        let mut got = 0;
        for step in 0..n - start {
            if got == b.units || matched == volume {
                break;
            }
            let s = &mut sellers[start + step];
            let taken = b.task.replicas.iter().any(|r| r.provider == s.address);
            if s.provider.free_slots() == 0
                || taken
                || s.address == b.requester
                || !fits(&s.provider, job)
            {
                continue;
            }
            b.task.replicas.push(Replica {
                provider: s.address,
                assigned_height: env.height,
                price_per_mfuel: clearing,
                state: ReplicaState::Assigned { commit_deadline },
            });
            s.provider.tasks_in_flight += 1;
            s.changed = true;
            free_total -= 1;
            state.mark(assigned_key(&s.address, &b.task_ref));
            got += 1;
            matched += 1;
        }
        if got > 0 {
            state.mark(deadline_key(commit_deadline, &b.task_ref));
            if got == b.units {
                state.delete(queue_key(&b.task_ref));
                dequeued += 1;
            }
            state.set_task(&b.task_ref, &b.task);
        }
        if matched == volume {
            break;
        }
    }
    (matched, dequeued)
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
