//! The verification rules shared by transactions and the end-of-block step.
//!
//! How much a group of agreeing providers is trusted, and when a task's reveals open:
//! adaptive verification may first ask for another replica while every verdict is still
//! sealed, so the new replica cannot copy a revealed one.

use super::escrow::replica_cap;
use super::records::*;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use yun_types::market::{TaskRef, Verification};
use yun_types::{Address, ChainParams};

/// One in this many tasks accepted on a single trusted replica gets a second one anyway, so
/// trust keeps being checked (BOINC-style spot checks).
pub const SPOT_CHECK_ONE_IN: u64 = 10;

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

/// When no replica is still committing, every committed replica gets its reveal deadline.
pub(crate) fn open_reveals_if_all_committed<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    t: &TaskRef,
    task: &mut Task,
) {
    if task
        .replicas
        .iter()
        .any(|r| matches!(r.state, ReplicaState::Assigned { .. }))
    {
        return;
    }
    if adaptive_wants_another(state, env, params, t, task) {
        // Reveals stay closed until the new replica has committed too, so it cannot copy.
        task.replicas_wanted = u8::try_from(task.live_replicas() + 1)
            .expect("invariant: another replica is asked for only below the replica cap");
        state.mark(queue_key(t));
        return;
    }
    let deadline = env.height_after(params.market.reveal_window_blocks);
    let mut opened = false;
    for r in &mut task.replicas {
        if let ReplicaState::Committed {
            reveal_deadline: d @ None,
            ..
        } = &mut r.state
        {
            *d = Some(deadline);
            opened = true;
        }
    }
    if opened {
        state.mark(deadline_key(deadline, t));
    }
}

/// Adaptive verification decides how many replicas a task needs while verdicts are still
/// sealed: if the committed replicas, were they to agree, would not be trusted enough (or a
/// spot check falls on a lone one), another replica is added before anyone reveals.
fn adaptive_wants_another<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    t: &TaskRef,
    task: &Task,
) -> bool {
    let job = state.job(&t.job).expect("a task's job exists");
    let Verification::Adaptive { target_error_ppm } = job.spec.verification else {
        return false;
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
        return false;
    }
    let trusted = group_error_ppm(state, params, &committed) <= u64::from(target_error_ppm);
    !trusted || (committed.len() == 1 && spot_check(env, t))
}

fn spot_check(env: &BlockEnv, t: &TaskRef) -> bool {
    let mut h = blake3::Hasher::new_derive_key("yun/market/spot-check/v1");
    h.update(env.seed.as_bytes());
    h.update(t.job.as_bytes());
    h.update(&t.index.to_be_bytes());
    let x = u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
    x % SPOT_CHECK_ONE_IN == 0
}
