//! The verification rules shared by transactions and the end-of-block step.
//!
//! How much a group of agreeing providers is trusted, when a task's reveals open, and how
//! revealed verdicts are sealed. Adaptive verification may first ask for another replica while
//! every verdict is still committed only, so the new replica cannot copy a revealed one; a
//! lone trusted replica's spot check is decided a block after its commit, with that block's
//! seed. Every revealed verdict is kept out of the task record (`ReplicaState::Sealed`, the
//! verdict under the task's sealed key) until no replica of the task is working: a replica
//! added after a tie or an expiry starts a new commit-reveal round and cannot read the
//! earlier verdicts from the record. (They are still in the blocks that carried the reveals;
//! see ARCHITECTURE.md, "Market randomness and sealing".)

use super::escrow::replica_cap;
use super::records::*;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use yun_types::market::{TaskRef, Verdict, Verification};
use yun_types::{Address, ChainParams};

/// At least one in this many tasks accepted on a single trusted replica gets a second one
/// anyway, so trust keeps being checked (BOINC-style spot checks); a provider that only just
/// became trusted alone is checked far more often ([`spot_check_ppm`]).
pub const SPOT_CHECK_ONE_IN: u64 = 10;

/// Euler's number in thousandths: the `e` of Sarmenta's spot-checking bound.
const E_MILLI: u128 = 2_718;

/// A provider's error estimate, in parts per million, from its run of corroborated results.
///
/// A provider with a *clean history* (it never dissented nor went silent while it had trust to
/// lose: `reputation == streak`) and a run of s corroborated results is estimated to err with
/// prior / (e·(s+1)). This is Sarmenta's bound for spot-checking with blacklisting
/// ("Sabotage-tolerance mechanisms for volunteer computing systems", 2002): a saboteur that
/// errs at any fixed rate ε survives s checks with probability (1−ε)^s, so the errors it slips
/// through are at most max_ε ε(1−ε)^s ≤ 1/(e·s) of the prior share of saboteurs — *provided
/// a caught one is never trusted on the fast curve again*. That proviso is the blacklist here:
/// a provider whose history is not clean gets prior / (s+1), the old, e-times slower curve
/// (about 200 corroborations before it is trusted alone at 10⁻³, against 74). Strategic liars
/// that wait are not a fixed rate: the probation spot checks ([`spot_check_ppm`]) meet them.
pub fn provider_error_ppm(params: &ChainParams, p: Option<&Provider>) -> u128 {
    let prior = u128::from(params.market.adaptive_prior_error_ppm);
    p.map_or(prior, |p| estimate(prior, clean(p), p.streak))
}

/// Never dissented nor went silent while it had trust to lose.
fn clean(p: &Provider) -> bool {
    p.reputation == p.streak
}

fn estimate(prior: u128, clean: bool, streak: u64) -> u128 {
    let runs = u128::from(streak) + 1;
    if clean {
        prior * 1_000 / (E_MILLI * runs)
    } else {
        prior / runs
    }
}

/// The combined error estimate of agreeing providers, in parts per million: the product of
/// each one's slow estimate prior/(s+1), treating them as independent — or, if smaller, the
/// best member's own [`provider_error_ppm`] (the group's verdict is that member's verdict).
///
/// Why the fast curve is not multiplied. Colluders drawn into the same task corroborate each
/// other, so agreeing members are not independent checks of each other; Sarmenta's bound is
/// for checks the provider cannot steer. Multiplying fast estimates let three fresh colluders
/// be trusted together (0.074³ ≈ 400 ppm ≤ 10⁻³) and measured 22 wrong in 3,000 tasks at
/// 20 % colluders; the slow product needs five fresh providers, as before.
pub fn group_error_ppm<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    params: &ChainParams,
    providers: &[Address],
) -> u64 {
    let prior = u128::from(params.market.adaptive_prior_error_ppm);
    let mut product: u128 = 1_000_000;
    let mut best: u128 = 1_000_000;
    for a in providers {
        let p = state.provider(a);
        let streak = p.as_ref().map_or(0, |p| p.streak);
        product = product * estimate(prior, false, streak) / 1_000_000;
        best = best.min(provider_error_ppm(params, p.as_ref()));
    }
    product.min(best) as u64
}

/// The chance, in parts per million, that the largest group's verdict is wrong, given the
/// verdicts the other groups revealed: adaptive verification accepts the group only if this
/// is at most the job's target.
///
/// With no dissent it is the group's own estimate, [`group_error_ppm`]. With dissent, the
/// dissent is evidence too (Sarmenta's credibility, op. cit.): with e the winners' estimate
/// and d the chance that every dissenting group is wrong (the product of their
/// [`group_error_ppm`]), the posterior error is e / (e + (1−e)·d). Dissent by trusted
/// providers (d small) makes the winners' verdict doubtful however many they are; dissent by
/// a lone fresh provider (d = 0.2) asks five times more of the winners. A verdict not trusted
/// enough gets another replica (up to the cap), so the round is settled by more evidence, not
/// by the larger group alone.
///
/// Why. Before this rule the largest group only had to meet the target by itself. Naive
/// colluders at a third of capacity then won enough adaptive groups against honest members
/// (three colluders whose runs had grown against two fresh honest providers) that their
/// shared wrong verdict was accepted 62 times in 3,000 tasks (seed 1; target 3, 99 % bound
/// 8); each win lengthened the colluders' runs and cost the outvoted honest members theirs
/// (147 honest replicas outvoted), so it fed itself. With the rule: 1 wrong in 2,889 verified
/// and no honest member outvoted at 33 % (seed 1; 0 in 2,902 at seed 2), and the cost with
/// nobody lying is unchanged (no dissent, no change). Measured and rejected: letting trust
/// grow only from rounds without dissent (a won vote builds nothing) on top of this rule
/// failed more tasks at 33 % (2,777 verified of 3,000) and let patient liars through more
/// often (7 wrong against 3), because honest providers then build trust more slowly too.
pub fn contested_error_ppm<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    params: &ChainParams,
    winners: &[Address],
    dissent: &[Vec<Address>],
) -> u64 {
    let e = u128::from(group_error_ppm(state, params, winners));
    if dissent.is_empty() {
        return e as u64;
    }
    // d in parts per 10¹², so a product of several small estimates does not round to zero.
    const SCALE: u128 = 1_000_000_000_000;
    let mut all_wrong = SCALE;
    for g in dissent {
        all_wrong = all_wrong * u128::from(group_error_ppm(state, params, g)) / 1_000_000;
    }
    let den = e * SCALE + 1_000_000u128.saturating_sub(e) * all_wrong;
    if den == 0 {
        // Both sides certain (estimates of zero): nothing can be concluded.
        return 1_000_000;
    }
    (e * SCALE * 1_000_000).div_ceil(den) as u64
}

/// How often a lone trusted replica is spot-checked, in parts per million: 2,000,000 / (2+m)
/// where m is how many spot checks of its lone replicas others corroborated since it last lost
/// trust (`Provider::spot_checks_passed`): always when it has only just become trusted alone,
/// then 67 %, 50 %, 40 %, …, never below 1 in [`SPOT_CHECK_ONE_IN`]. A lie on a lone task
/// slips through only if no check falls on it, and a checked lie is outvoted (all trust lost,
/// blacklisted, see [`provider_error_ppm`]), so a liar that lies as soon as it is trusted
/// alone is always caught on its first lie; to be checked less it must first answer honestly
/// on lone tasks that were checked, and with m passed checks a lie slips with probability
/// m/(2+m). Honest providers pay for probation once: about 18 extra replicas each (one per
/// passed check until the floor), whatever their run.
///
/// Why passed checks and not the run. m used to be the run beyond the least that is trusted
/// alone, and any corroborated result lengthens the run: a liar that did honest work between
/// lies (Sybils farming on their owner's `replicate{2,2}` jobs, table E of the market
/// simulation) sat at the floor of 1 in 10, and 50 / 50 / 81 of 10,000 were accepted wrong
/// at 10 / 20 / 33 % (seed 1, 99 % bound of the target 18); patient liars 22 at 33 %. A passed
/// check is bought only by answering honestly on a lone task that was checked, the very thing
/// being measured. With m counting passed checks and the first check at 75 % (1.5/(2+m)) the
/// table gave E 8 / 13 / 23 and patient liars 18 at 33 %; starting at certainty closes the
/// expected third of a lie each newly trusted liar slipped through (see ARCHITECTURE.md).
pub fn spot_check_ppm(params: &ChainParams, p: &Provider, target_error_ppm: u32) -> u64 {
    let floor = 1_000_000 / SPOT_CHECK_ONE_IN;
    // Not trusted alone (a lone replica then always gets another; see `adaptive_need`).
    let prior = u128::from(params.market.adaptive_prior_error_ppm);
    if estimate(prior, clean(p), p.streak) > u128::from(target_error_ppm) {
        return 1_000_000;
    }
    (2_000_000 / (2 + u128::from(p.spot_checks_passed))).max(u128::from(floor)) as u64
}

/// What adaptive verification asks for once every replica has committed.
enum Need {
    /// Open the reveals.
    Reveals,
    /// Another replica first (reveals stay closed so it cannot copy).
    Another,
    /// A spot check may add one: decided in a later block (see [`decide_spot_check`]).
    SpotCheckLater,
    /// The spot check fell on this provider's lone replica: another replica checks it.
    SpotCheck(Address),
}

/// When no replica is still committing: adaptive verification may first ask for another
/// replica (or defer to a spot check a block later); otherwise every committed replica gets
/// its reveal deadline. `job` is the task's job as it stands in state (callers hold it
/// already: a job record holds its whole spec, too large to decode again for every task).
pub(crate) fn open_reveals_if_all_committed<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    (t, task): (&TaskRef, &mut Task),
    job: &Job,
) {
    open_or_wait(state, env, params, (t, task), false, job);
}

/// The spot check of a lone trusted replica, decided in a block strictly after the one holding
/// its commit (the key was written a block earlier), with this block's seed: nobody knew that
/// seed when the commit was sent, so nobody can commit a lie only where no check will fall.
pub(crate) fn decide_spot_check<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    t: &TaskRef,
) {
    let Some(mut task) = state.task(t) else {
        return;
    };
    let undecided = task.phase == TaskPhase::Open
        && task.replicas.iter().any(|r| {
            matches!(
                r.state,
                ReplicaState::Committed {
                    reveal_deadline: None,
                    ..
                }
            )
        });
    if undecided {
        let job = state.job(&t.job).expect("a task's job exists");
        open_or_wait(state, env, params, (t, &mut task), true, &job);
        state.set_task(t, &task);
    }
}

fn open_or_wait<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    (t, task): (&TaskRef, &mut Task),
    spot_check_now: bool,
    job: &Job,
) {
    if task
        .replicas
        .iter()
        .any(|r| matches!(r.state, ReplicaState::Assigned { .. }))
    {
        return;
    }
    match adaptive_need(state, env, params, (t, task), spot_check_now, job) {
        need @ (Need::Another | Need::SpotCheck(_)) => {
            if let Need::SpotCheck(provider) = need {
                task.spot_checked = Some(provider);
            }
            task.replicas_wanted = u8::try_from(task.live_replicas() + 1)
                .expect("invariant: another replica is asked for only below the replica cap");
            state.mark(queue_key(t));
            return;
        }
        Need::SpotCheckLater => {
            state.mark(spot_check_key(env.height_after(1), t));
            return;
        }
        Need::Reveals => {}
    }
    let deadline = env.height_after(params.market.reveal_window_blocks);
    let deadline_ms = env
        .timestamp_ms
        .saturating_add(params.market.reveal_window_ms_min);
    let mut opened = false;
    for r in &mut task.replicas {
        if let ReplicaState::Committed {
            reveal_deadline: d @ None,
            ..
        } = &mut r.state
        {
            *d = Some(deadline);
            r.deadline_ms = deadline_ms;
            opened = true;
        }
    }
    if opened {
        state.mark(deadline_key(deadline, t));
    }
}

/// Adaptive verification decides how many replicas a task needs while verdicts are still
/// sealed: if the committed replicas, were they to agree, would not be trusted enough, another
/// replica is added before anyone reveals; a lone trusted one is spot-checked at the
/// probation rate of [`spot_check_ppm`] (never below one time in [`SPOT_CHECK_ONE_IN`]),
/// decided a block later.
fn adaptive_need<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    (t, task): (&TaskRef, &Task),
    spot_check_now: bool,
    job: &Job,
) -> Need {
    let Verification::Adaptive { target_error_ppm } = job.spec.verification else {
        return Need::Reveals;
    };
    let committed: Vec<Address> = task
        .replicas
        .iter()
        .filter(|r| matches!(r.state, ReplicaState::Committed { .. }))
        .map(|r| r.provider)
        .collect();
    let can_add = !committed.is_empty()
        && task.live_replicas() < replica_cap(&job.spec.verification) as usize
        && job.status == JobStatus::Open
        && env.height < job.spec.deadline_height;
    if !can_add {
        return Need::Reveals;
    }
    let trusted = group_error_ppm(state, params, &committed) <= u64::from(target_error_ppm);
    // Only a task that has never revealed is spot-checked: a later round is checked already.
    let lone = committed.len() == 1 && task.live_replicas() == 1;
    match (trusted, lone, spot_check_now) {
        (false, _, _) => Need::Another,
        (true, false, _) => Need::Reveals,
        (true, true, false) => Need::SpotCheckLater,
        (true, true, true) => {
            let rate = state
                .provider(&committed[0])
                .map_or(1_000_000, |p| spot_check_ppm(params, &p, target_error_ppm));
            if spot_check(env, t, rate) {
                Need::SpotCheck(committed[0])
            } else {
                Need::Reveals
            }
        }
    }
}

/// Whether this block's seed puts a spot check on task `t`, at `rate_ppm`.
fn spot_check(env: &BlockEnv, t: &TaskRef, rate_ppm: u64) -> bool {
    let mut h = blake3::Hasher::new_derive_key("yun/market/spot-check/v2");
    h.update(env.seed.as_bytes());
    h.update(&env.height.to_be_bytes());
    h.update(t.job.as_bytes());
    h.update(&t.index.to_be_bytes());
    let x = u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
    x % 1_000_000 < rate_ppm
}

/// Keeps a revealed verdict out of the task record: the replica shows `Sealed` and the verdict
/// waits under the task's sealed key until [`unsealed`] brings it back for verification.
pub(crate) fn seal<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    t: &TaskRef,
    task: &mut Task,
    i: usize,
    verdict: Verdict,
) {
    let mut sealed = state.sealed(t);
    sealed.push((
        u32::try_from(i).expect("invariant: a task has few replicas"),
        verdict,
    ));
    state.set_sealed(t, &sealed);
    task.replicas[i].state = ReplicaState::Sealed;
}

/// The task with its sealed verdicts back in place (`Revealed`), for verification. The state
/// is not changed: a caller that closes the round also calls [`drop_sealed`].
pub(crate) fn unsealed<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    t: &TaskRef,
    task: &Task,
) -> Task {
    let mut out = task.clone();
    for (i, verdict) in state.sealed(t) {
        let r = &mut out.replicas[i as usize];
        if r.state == ReplicaState::Sealed {
            r.state = ReplicaState::Revealed { verdict };
        }
    }
    out
}

/// The round is over (verified or failed): the sealed verdicts are no longer needed.
pub(crate) fn drop_sealed<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, t: &TaskRef) {
    state.set_sealed(t, &[]);
}

/// Revealed, whether sealed or not: its verdict is in.
pub(crate) fn has_verdict(r: &Replica) -> bool {
    matches!(
        r.state,
        ReplicaState::Revealed { .. } | ReplicaState::Sealed
    )
}
