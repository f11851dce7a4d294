//! Issue 15's chain-side rules, each as a short story: what no honest provider could run is
//! refused at posting, windows are time (fast blocks cannot shrink them), every assignment
//! ends with its task (the stuck adaptive replica drains), and a silent provider can be drawn
//! again for a task it let expire.

use yun_state::market::{FailReason, ReplicaState, TAG_ASSIGNED, TaskPhase};
use yun_state::scenario::Scenario;
use yun_state::scenario_market::{Commitments, job_spec, offer, verdict};
use yun_types::{Action, TxRejection};

const BOND: u128 = 1_000_000;

fn market(names: &[&str]) -> Scenario {
    let mut s = Scenario::new();
    s.fund("alice", 1_000_000_000_000);
    for n in names {
        s.fund(n, 10 * BOND);
    }
    s
}

#[test]
fn a_job_no_sandbox_could_run_is_refused_at_posting() {
    let mut s = market(&[]);
    let m = s.params.market.clone();
    let mut big_program = job_spec();
    big_program.spec.program_bytes = m.program_bytes_max + 1;
    s.post(&big_program, "alice")
        .expect_rejected(TxRejection::ProgramTooLarge);
    let mut big_input = job_spec().tasks(3);
    big_input.spec.tasks[2].input_bytes = m.input_bytes_max + 1;
    s.post(&big_input, "alice")
        .expect_rejected(TxRejection::InputTooLarge);
    let wall = m.task_fuel_wall_clock_max();
    s.post(&job_spec().fuel(wall + 1), "alice")
        .expect_rejected(TxRejection::FuelOutlastsWallClock);
    // At the limits, all is well.
    let mut at_limits = job_spec().fuel(wall);
    at_limits.spec.program_bytes = m.program_bytes_max;
    at_limits.spec.tasks[0].input_bytes = m.input_bytes_max;
    s.post(&at_limits, "alice").expect_ok();
}

#[test]
fn a_long_task_on_a_chain_of_fast_blocks_still_commits_in_time() {
    let mut s = market(&["p1"]);
    // Blocks every 20 ms: the 20-block commit window is 0.4 s of block time, while this task
    // runs 30 s at the slowest admitted speed.
    s.block_ms = 20;
    s.tx("p1").act(offer().register(BOND)).expect_ok();
    let fuel = 30 * s.params.market.fuel_per_second_min;
    let job = s
        .post(
            &job_spec().fuel(fuel).bid(1_000).deadline_in(10_000),
            "alice",
        )
        .expect_ok()
        .tx_id;
    assert_eq!(s.assigned("p1").len(), 1);
    // 25 s of block time later (1,250 blocks, sixty windows' worth) it is still assigned...
    s.blocks(1_250);
    assert!(matches!(
        s.task(&job, 0).replicas[0].state,
        ReplicaState::Assigned { .. }
    ));
    // ...and commits, reveals and is paid, unpunished.
    let mut book = Commitments::default();
    s.work_round(&["p1"], &mut book, |_, _| verdict(1, fuel / 2));
    assert!(matches!(s.task(&job, 0).phase, TaskPhase::Verified { .. }));
    assert!(s.provider("p1").slashed.is_zero());
}

#[test]
fn a_silent_replica_still_expires_once_its_time_has_passed() {
    let mut s = market(&["mute"]);
    s.block_ms = 20;
    s.tx("mute").act(offer().register(BOND)).expect_ok();
    let fuel = s.params.market.fuel_per_second_min; // 1 s of work: an 11 s window
    let job = s
        .post(&job_spec().fuel(fuel).deadline_in(10_000), "alice")
        .expect_ok()
        .tx_id;
    s.blocks(500); // 10 s: not yet
    assert!(matches!(
        s.task(&job, 0).replicas[0].state,
        ReplicaState::Assigned { .. }
    ));
    s.blocks(150); // 13 s
    assert_eq!(s.task(&job, 0).replicas[0].state, ReplicaState::Expired);
    assert!(!s.provider("mute").slashed.is_zero());
}

/// The stuck adaptive replica of the issue: p1 commits, adaptive wants another replica before
/// anyone reveals, and the only other provider never commits. The task fails after too many
/// expirations (the silent provider is drawn again each time: it may be, once its replica
/// expired), and p1's committed replica is closed with it: no key remains, p1 may leave.
#[test]
fn the_stuck_adaptive_replica_drains() {
    let mut s = market(&["p1", "mute"]);
    s.tx("p1").act(offer().register(BOND)).expect_ok();
    let job = s
        .post(
            &job_spec().adaptive(1_000).bid(1_000).deadline_in(10_000),
            "alice",
        )
        .expect_ok()
        .tx_id;
    let mut book = Commitments::default();
    let commit = s
        .sign_commits("p1", &mut book, |_| verdict(1, 400_000))
        .unwrap();
    s.block(&[commit]).unwrap();
    // Not trusted alone yet: another replica is wanted, and reveals stay closed.
    assert_eq!(s.task(&job, 0).replicas_wanted, 2);
    // Bonded well above the minimum, so its silence slashes (1 % each) leave it eligible.
    s.tx("mute").act(offer().register(5 * BOND)).expect_ok();
    let expirations_max = u64::from(s.params.market.task_expirations_max);
    s.blocks((expirations_max + 2) * (s.params.market.commit_window_blocks + 12));
    let task = s.task(&job, 0);
    assert_eq!(
        task.phase,
        TaskPhase::Failed {
            reason: FailReason::TooManyExpirations
        },
        "{task:?}"
    );
    assert_eq!(task.replicas[0].state, ReplicaState::Closed);
    assert!(
        s.view().scan(&[TAG_ASSIGNED]).is_empty(),
        "no assignment outlives its task"
    );
    assert!(s.provider("p1").slashed.is_zero(), "p1 did nothing wrong");
    s.tx("p1").act(Action::ExitProvider).expect_ok();
}

/// The requester's module is refused by every sandbox: the replicas say so in a cannot-run
/// verdict, which is verified like any other. They are paid `cannot_run_fuel`, nobody is
/// punished, and the requester gets the rest of the escrow back.
#[test]
fn replicas_agreeing_the_job_cannot_run_are_paid_not_punished() {
    use yun_types::market::{CannotRun, Verdict};
    let mut s = market(&["p1", "p2"]);
    for p in ["p1", "p2"] {
        s.tx(p).act(offer().ask(10).register(BOND)).expect_ok();
    }
    let before = s.balance("alice");
    let job = s
        .post(
            &job_spec().replicate(2, 2).bid(1_000).deadline_in(500),
            "alice",
        )
        .expect_ok()
        .tx_id;
    let refused = Verdict::cannot_run(CannotRun::ModuleRefused, 3);
    let mut book = Commitments::default();
    s.work_round(&["p1", "p2"], &mut book, |_, _| refused);
    let task = s.task(&job, 0);
    assert_eq!(task.phase, TaskPhase::Verified { verdict: refused });
    // Paid for `cannot_run_fuel`, at most the task's own fuel limit.
    let cannot_run_fuel = u128::from(s.params.market.cannot_run_fuel.min(1_000_000));
    for p in ["p1", "p2"] {
        let prov = s.provider(p);
        assert!(
            prov.slashed.is_zero(),
            "{p} was punished for the requester's module"
        );
        assert!(!prov.earned.is_zero(), "{p} was not paid for checking");
        assert_eq!(prov.streak, 0, "a cannot-run verdict builds no trust");
    }
    let j = s.job(&job);
    let due: u128 = task
        .replicas
        .iter()
        .map(|r| r.price_per_mfuel.base_units() * cannot_run_fuel / 1_000_000)
        .sum();
    assert!(due > 0);
    assert_eq!(j.spent.base_units(), due, "paid for checking, from escrow");
    // The posting fee and the two payments; everything else came back.
    assert_eq!(
        before - s.balance("alice"),
        due + s.params.min_fee.base_units()
    );
}
