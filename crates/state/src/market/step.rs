//! The market's end-of-block step, in this order: return exited bonds, decide due spot checks,
//! expire silent replicas, verify and settle revealed tasks, close jobs past their deadline,
//! match pending tasks to free slots in a sealed call auction, and move the price index (those
//! two in `auction`), then prune settled jobs past their retention (`prune`).

use super::auction::match_tasks;
use super::escrow::replica_cap;
use super::records::*;
use super::reduce::settle_or_reduce;
use super::verification::{
    contested_error_ppm, decide_spot_check, drop_sealed, has_verdict,
    open_reveals_if_all_committed, unsealed,
};
use crate::arith::bps_of;
use crate::bank;
use crate::env::BlockEnv;
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
    spot_checks(state, env, params);
    expire_replicas(state, env, params);
    verify_ready(state, env, params);
    close_past_deadline(state, env, params);
    match_tasks(state, env, params);
    super::prune::prune_settled(state, env, params);
}

/// Keys of an index whose second component is a big-endian height at or below `height`.
fn due<R: StateReader + ?Sized>(state: &Overlay<'_, R>, tag: u8, height: u64) -> Vec<Vec<u8>> {
    let next = height
        .checked_add(1)
        .expect("invariant: no block reaches the last height");
    let end = [&[tag][..], &next.to_be_bytes()[..]].concat();
    state
        .range(&[tag], &end)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// Every replica of a task that ended without a verdict ends too: a revealed one is unsettled,
/// one still working is closed (its slot and assignment released), so no key outlives its
/// task and every provider on it can leave.
fn close_replicas<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    t: &TaskRef,
    task: &mut Task,
) {
    for r in &mut task.replicas {
        if has_verdict(r) {
            r.state = ReplicaState::Unsettled;
            state.delete(revealed_key(&r.provider, t));
        } else if r.state.in_flight() {
            if matches!(r.state, ReplicaState::Assigned { .. })
                && let Some(mut p) = state.provider(&r.provider)
            {
                p.release_slots(1);
                state.set_provider(&r.provider, &p);
            }
            state.delete(assigned_key(&r.provider, t));
            r.state = ReplicaState::Closed;
        }
    }
}

fn release_exits<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, env: &BlockEnv) {
    for key in due(state, TAG_EXIT, env.height) {
        state.delete(key.clone());
        let addr = Address(key[9..41].try_into().expect("address"));
        // A reveal still awaiting its verdict keeps the bond (exit refuses them; this is the
        // second line): the release waits a block at a time until the verdict is in.
        let awaiting = [&[TAG_REVEALED][..], addr.as_bytes()].concat();
        if state.any_under(&awaiting) {
            state.mark(exit_key(env.height_after(1), &addr));
            continue;
        }
        let p = state.provider(&addr).expect("an exiting provider exists");
        bank::credit(state, &addr, p.bond);
        state.delete(provider_key(&addr));
    }
}

/// Spot checks due now: tasks whose lone trusted replica committed in an earlier block.
fn spot_checks<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    for key in due(state, TAG_SPOT_CHECK, env.height) {
        state.delete(key.clone());
        decide_spot_check(state, env, params, &task_ref_of_tail(&key));
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
        let mut recheck_ms: Option<u64> = None;
        for i in 0..task.replicas.len() {
            let due_height = match task.replicas[i].state {
                ReplicaState::Assigned { commit_deadline } => commit_deadline <= env.height,
                ReplicaState::Committed {
                    reveal_deadline: Some(d),
                    ..
                } => d <= env.height,
                _ => false,
            };
            // A window is time as well as blocks: due by height, it waits for its block time.
            let wait_ms = task.replicas[i]
                .deadline_ms
                .saturating_sub(env.timestamp_ms);
            if due_height && wait_ms > 0 {
                recheck_ms = Some(recheck_ms.map_or(wait_ms, |w| w.min(wait_ms)));
            }
            let late = due_height && wait_ms == 0;
            if late {
                let provider = task.replicas[i].provider;
                // Committing and then not revealing is withholding a verdict, which the chain
                // sees (unlike a wrong verdict, which only a vote sees): it costs
                // `slash_dissent_bps`, so keeping back a losing verdict never pays.
                let slash_bps = match task.replicas[i].state {
                    ReplicaState::Committed { .. } => params.market.slash_dissent_bps,
                    _ => params.market.slash_silent_bps,
                };
                let held_slot = matches!(task.replicas[i].state, ReplicaState::Assigned { .. });
                task.replicas[i].state = ReplicaState::Expired;
                if held_slot && awaits_job_key(state, &t, &provider) {
                    excuse_silence(state, &provider, &t);
                } else {
                    punish_silence(state, slash_bps, held_slot, &provider, &t);
                }
                expired_any = true;
                task.expirations = task.expirations.saturating_add(1);
            }
        }
        if let Some(wait_ms) = recheck_ms {
            // Look again after about a block per second still to wait (block times vary; a
            // later look only ever favours the provider).
            state.mark(deadline_key(env.height_after(wait_ms / 1_000), &t));
        }
        if !expired_any {
            continue;
        }
        let mut job = state.job(&t.job).expect("a task's job exists");
        state.hold_job(&t.job);
        open_reveals_if_all_committed(state, env, params, (&t, &mut task), &job);
        if task.phase == TaskPhase::Open {
            if task.expirations > params.market.task_expirations_max {
                fail_task(
                    state,
                    &t,
                    &mut task,
                    FailReason::TooManyExpirations,
                    &mut job,
                );
                write_job_and_settle(state, env, &t.job, job);
                continue;
            } else if job.status == JobStatus::Open && env.height < job.spec.deadline_height {
                state.mark(queue_key(&t));
            } else if task.replicas.iter().all(|r| !r.state.in_flight()) {
                state.mark(verify_key(&t));
            }
        }
        state.release_job(&t.job);
        state.set_task(&t, &task);
    }
}

/// Whether `provider` was assigned to an encrypted job whose requester never sealed it the
/// job's key: it could not have run the task, so its silence is the requester's doing. Read by
/// key (the registry's tag), so the market does not import the storage domain above it.
fn awaits_job_key<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    t: &TaskRef,
    provider: &Address,
) -> bool {
    let encrypted = state
        .job(&t.job)
        .is_some_and(|j| j.spec.encryption_key.is_some());
    let key = [
        &[crate::keys::TAG_JOB_KEY][..],
        t.job.as_bytes(),
        provider.as_bytes(),
    ]
    .concat();
    encrypted && state.get(&key).is_none()
}

/// A replica that expired waiting for its job's key: its slot and assignment are released,
/// nothing is slashed and its trust is untouched (an honest provider never loses for a
/// requester that did not share). The task is re-queued like any expired one, so the
/// requester pays in time and, past `task_expirations_max`, in a failed task.
fn excuse_silence<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    provider: &Address,
    t: &TaskRef,
) {
    state.delete(assigned_key(provider, t));
    if let Some(mut p) = state.provider(provider) {
        p.release_slots(1);
        state.set_provider(provider, &p);
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
        p.release_slots(1);
    }
    p.lose_trust();
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
    bank::burn(state, slash);
}

/// A task failed: its replicas close and `job` counts it. The caller writes `job` back and
/// then calls [`settle_or_reduce`] once, after every task of the job it ends in one pass.
fn fail_task<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    t: &TaskRef,
    task: &mut Task,
    reason: FailReason,
    job: &mut Job,
) {
    task.phase = TaskPhase::Failed { reason };
    close_replicas(state, t, task);
    drop_sealed(state, t);
    state.delete(queue_key(t));
    job.task_failed();
    state.set_task(t, task);
}

/// Writes back a held job whose tasks this pass ended, and settles it (or adds its reduce
/// task) if none is open any more.
fn write_job_and_settle<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    job_id: &JobId,
    job: Job,
) {
    state.set_job_held(job_id, &job);
    settle_or_reduce(state, env, job_id, job);
}

/// Judges every task marked for verification. Verify keys sort by job, so the tasks of one job
/// are judged on one decoded copy of it, written back once: a job record holds its whole spec
/// (tens of KiB for hundreds of tasks), and decoding and re-encoding it for every verified task
/// was the market step's largest cost. Nothing judged here reads the job from state meanwhile
/// (the copy is held: a read is a failed assertion in debug builds), and only the last task to
/// end can settle it, so this equals judging them one by one.
fn verify_ready<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    let keys: Vec<Vec<u8>> = state
        .scan(&[TAG_VERIFY])
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for group in keys.chunk_by(|a, b| task_ref_of_tail(a).job == task_ref_of_tail(b).job) {
        let job_id = task_ref_of_tail(&group[0]).job;
        // Decoded at the first task that is ready; `ended` once one of them verified or failed.
        let mut job: Option<Job> = None;
        let mut ended = false;
        for key in group {
            state.delete(key.clone());
            let t = task_ref_of_tail(key);
            let task = state.task(&t).expect("a marked task exists");
            if task.phase != TaskPhase::Open || task.replicas.iter().any(|r| r.state.in_flight()) {
                continue;
            }
            let job = job.get_or_insert_with(|| {
                let job = state.job(&job_id).expect("a task's job exists");
                state.hold_job(&job_id);
                job
            });
            ended |= judge(state, env, params, (&t, task), job);
        }
        match job {
            Some(job) if ended => write_job_and_settle(state, env, &job_id, job),
            Some(_) => state.release_job(&job_id),
            None => {}
        }
    }
}

/// Judges one task whose round closed: verified, failed, or asked for another replica.
/// Returns whether the task ended (and so `job` changed).
fn judge<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    (t, mut task): (&TaskRef, Task),
    job: &mut Job,
) -> bool {
    // The sealed verdicts are judged (and stay sealed if another round is needed).
    let open = unsealed(state, t, &task);
    if let Some(verdict) = accepted_verdict(state, params, job, &open) {
        task = open;
        drop_sealed(state, t);
        settle_verified(state, env, params, (t, &mut task), verdict, job);
        return true;
    }
    let cap = replica_cap(&job.spec.verification) as usize;
    let live = task.live_replicas();
    if live < cap && job.status == JobStatus::Open && env.height < job.spec.deadline_height {
        task.replicas_wanted = u8::try_from(live + 1)
            .expect("invariant: another replica is asked for only below the replica cap");
        state.mark(queue_key(t));
        state.set_task(t, &task);
        return false;
    }
    // Without any revealed verdict the task did not fail for lack of agreement.
    let revealed = task.replicas.iter().any(has_verdict);
    let reason = if revealed {
        FailReason::NoQuorum
    } else if env.height >= job.spec.deadline_height {
        FailReason::DeadlinePassed
    } else {
        FailReason::TooManyExpirations
    };
    fail_task(state, t, &mut task, reason, job);
    true
}

/// The verdict a task's revealed replicas establish, if any: the largest group of equal
/// verdicts (among equals the smallest verdict, so every node picks the same), provided no
/// other group is as large and the group meets the job's policy (under adaptive
/// verification, weighed against the groups that dissent: `contested_error_ppm`).
fn accepted_verdict<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    params: &ChainParams,
    job: &Job,
    task: &Task,
) -> Option<Verdict> {
    let mut groups: BTreeMap<Verdict, Vec<usize>> = BTreeMap::new();
    for (i, r) in task.replicas.iter().enumerate() {
        if let ReplicaState::Revealed { verdict } = r.state {
            groups.entry(verdict).or_default().push(i);
        }
    }
    let best = groups
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)));
    // A tie for the largest group is never accepted: a lone spot check against a trusted
    // replica would otherwise be decided by verdict order, not by evidence.
    let mut sizes: Vec<usize> = groups.values().map(Vec::len).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    if sizes.len() > 1 && sizes[0] == sizes[1] {
        return None;
    }
    let (verdict, members) = best?;
    let n = members.len();
    let meets_policy = match job.spec.verification {
        Verification::None => n >= 1,
        Verification::Replicate { quorum, .. } => n >= quorum as usize,
        Verification::Adaptive { target_error_ppm } => {
            let who_of = |m: &Vec<usize>| -> Vec<Address> {
                m.iter().map(|&i| task.replicas[i].provider).collect()
            };
            let dissent: Vec<Vec<Address>> = groups
                .iter()
                .filter(|(v, _)| *v != verdict)
                .map(|(_, m)| who_of(m))
                .collect();
            contested_error_ppm(state, params, &who_of(members), &dissent)
                <= u64::from(target_error_ppm)
        }
    };
    meets_policy.then_some(*verdict)
}

fn settle_verified<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    (t, task): (&TaskRef, &mut Task),
    verdict: Verdict,
    // The caller's copy, written back after the pass (`verify_ready`).
    job: &mut Job,
) {
    let mut stats = state.requester_stats(&job.requester);
    let agreeing = task
        .replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Revealed { verdict })
        .count();
    // Trust grows only from results someone else corroborated: a lone result (no verification,
    // or one trusted replica) is paid but proves nothing.
    // A cannot-run verdict is paid, but costs nothing to compute: it builds no trust.
    // Nor does agreement on a job that requires labels: a label narrows the draw to the
    // providers that declare it, which may all be the requester's own (table F of the market
    // simulation: Sybils that alone declare a governed label farm trust on every replica of
    // their owner's jobs). Trust is earned in the draw over the whole market.
    let corroborated =
        agreeing >= 2 && !verdict.is_cannot_run() && job.spec.required_labels.is_empty();
    // Reveals above the fuel limit are refused, but pay is bounded by it regardless.
    let fuel = if verdict.is_cannot_run() {
        params.market.cannot_run_fuel
    } else {
        verdict.fuel_used
    }
    .min(job.spec.fuel_per_task);
    for r in &mut task.replicas {
        let ReplicaState::Revealed { verdict: v } = r.state else {
            continue;
        };
        state.delete(revealed_key(&r.provider, t));
        r.state = if v == verdict {
            // The checked replica was corroborated: it passed its spot check.
            let passed = corroborated && task.spot_checked == Some(r.provider);
            let trust = Trust {
                corroborated,
                passed,
            };
            let (pay, net) = pay_agreeing(state, env, params, job, r, fuel, trust);
            stats.spent = stats.spent.checked_add(pay).expect("within supply");
            ReplicaState::Paid { amount: net }
        } else {
            outvote_dissenter(state, &r.provider);
            ReplicaState::Unsettled
        };
    }
    stats.tasks_verified = stats
        .tasks_verified
        .checked_add(1)
        .expect("invariant: one per verified task, far fewer than u64::MAX");
    stats.fuel_verified = stats.fuel_verified.saturating_add(fuel);
    state.set_requester_stats(&job.requester, &stats);
    task.phase = TaskPhase::Verified { verdict };
    job.task_verified();
    state.delete(queue_key(t));
    state.set_task(t, task);
}

/// What an agreeing replica's result proves.
#[derive(Clone, Copy)]
struct Trust {
    /// Others agreed: trust grows.
    corroborated: bool,
    /// It was the lone replica a spot check fell on: its probation relaxes a step.
    passed: bool,
}

/// Pays an agreeing replica fuel × its clearing price from escrow, less the protocol fee,
/// which is burned. A provider that has exited since revealing is still paid, to its account;
/// only its (deleted) record is not updated. Returns (taken from escrow, paid to the provider).
///
/// What reputation costs. Trust (reputation and streak, +1) grows only from a corroborated
/// result whose payment is at least `trust_payment_min`, and `protocol_fee_bps` of every
/// payment is burned. So a provider that farms trust on its owner's jobs (the escrow comes
/// back to the owner, the provider's pay goes to the owner too) still burns at least
/// `trust_payment_min × protocol_fee_bps / 10,000` per point, for each of the two or more
/// agreeing Sybils a corroborated result needs, plus the transaction fees of the commits and
/// reveals. What a point is worth: at most `1 / REPUTATION_WEIGHT_FULL` of extra selection
/// weight (reputation at most doubles the weight, `draw`), i.e. of the provider's future
/// payments, of which the fee takes the same share again; and one step toward being trusted
/// alone under adaptive verification, where a trusted lie is still spot-checked (a block
/// after the commit) and, when caught, loses its pay and all its trust (and `slash_dissent_bps`
/// of its bond only if the reveal is withheld).
/// The market simulation's table E prices a whole farming campaign.
fn pay_agreeing<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    job: &mut Job,
    r: &Replica,
    fuel: u64,
    trust: Trust,
) -> (Amount, Amount) {
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
    let fee = bps_of(pay, params.market.protocol_fee_bps);
    let net = pay.checked_sub(fee).expect("the fee is a share of the pay");
    if let Some(mut p) = state.provider(&r.provider) {
        p.earned = p.earned.checked_add(net).expect("within supply");
        p.count_verified(fuel);
        if trust.corroborated && pay >= params.market.trust_payment_min {
            p.gain_trust();
            if trust.passed {
                p.pass_spot_check();
            }
        }
        p.last_paid_height = env.height;
        state.set_provider(&r.provider, &p);
    }
    bank::credit(state, &r.provider, net);
    bank::burn(state, fee);
    // Verified work earns from the provider pool, at most the fee just burned.
    crate::rewards::reward_verified_compute(state, params, &r.provider, pay);
    (pay, net)
}

/// A dissenter is outvoted, never slashed: it is not paid and loses its trust (reputation
/// ×2/3, streak 0; with its clean history gone `group_error_ppm` gives it only the slow
/// estimate from then on), but it keeps its bond.
///
/// Why no vote slashes. Replicas are drawn at random, so colluders holding a share f of the
/// selection weight hold a `k=3,q=2` task's majority with probability 3f²(1−f)+f³ (26 % at
/// f = ⅓), and any rule "slash the minority when the majority is at least m" is met by
/// colluders with a probability that shrinks but never vanishes (even with escalation to the
/// cap of 5 and slashing only 3 against 1, ~7 % of tasks at f = ⅓). The house rule is absolute
/// (an honest provider that follows the rules never loses money) and a vote cannot tell an
/// honest minority from a lying one, so a vote never takes a bond. Bonds are taken only for
/// what the chain itself sees: silence (`slash_silent_bps`) and a commitment whose reveal was
/// withheld (`slash_dissent_bps`). An outvoted liar loses its pay, its transaction fees and
/// its trust.
fn outvote_dissenter<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, provider: &Address) {
    let Some(mut p) = state.provider(provider) else {
        return;
    };
    p.lose_trust();
    state.set_provider(provider, &p);
}

fn close_past_deadline<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    for key in due(state, TAG_JOB_DEADLINE, env.height) {
        state.delete(key.clone());
        let job_id = Hash32(key[9..41].try_into().expect("job id"));
        let Some(mut job) = state.job(&job_id) else {
            continue;
        };
        if job.status == JobStatus::Settled {
            continue;
        }
        // One decoded copy for all its tasks, held and written back once (as in `verify_ready`).
        state.hold_job(&job_id);
        let mut ended = false;
        for t in state.job_tasks(&job_id, &job) {
            let mut task = state.task(&t).expect("every task of a job exists");
            if task.phase != TaskPhase::Open {
                continue;
            }
            state.delete(queue_key(&t));
            if task.replicas.iter().any(|r| r.state.in_flight()) {
                // Finishes (or expires) within its windows. No more replicas come, so replicas
                // that committed while waiting for another may reveal now.
                open_reveals_if_all_committed(state, env, params, (&t, &mut task), &job);
                state.set_task(&t, &task);
                continue;
            }
            if task.replicas.iter().any(has_verdict) {
                state.mark(verify_key(&t));
            } else {
                fail_task(state, &t, &mut task, FailReason::DeadlinePassed, &mut job);
                ended = true;
            }
        }
        if ended {
            write_job_and_settle(state, env, &job_id, job);
        } else {
            state.release_job(&job_id);
        }
    }
}
