//! Market behaviour found wrong while simulating it, each as the smallest story that shows it,
//! now pinning the fix.

use yun_state::market::{ReplicaState, TaskPhase};
use yun_state::scenario::{Scenario, addr};
use yun_state::scenario_market::{Commitments, job_spec, offer, verdict};
use yun_types::Action;
use yun_types::market::{TaskRef, Verdict};

const BOND: u128 = 1_000_000;

fn market(providers: &[&str]) -> Scenario {
    let mut s = Scenario::new();
    s.fund("alice", 1_000_000_000_000);
    s.fund("mallory", 1_000_000_000_000);
    for p in providers {
        s.fund(p, 10 * BOND);
    }
    s
}

fn honest(_: &str, _: &TaskRef) -> Verdict {
    verdict(7, 400_000)
}

/// A revealed `fuel_used` above the task's fuel limit is refused (no sandbox run can use more),
/// so one replica cannot claim the escrow of every task.
#[test]
fn a_replica_cannot_claim_more_fuel_than_its_task_allows() {
    let mut s = market(&["p1", "p2"]);
    for p in ["p1", "p2"] {
        s.tx(p).act(offer().ask(10).register(BOND)).expect_ok();
    }
    let job = s
        .post(&job_spec().tasks(2).bid(10), "alice")
        .expect_ok()
        .tx_id;
    let mut book = Commitments::default();
    let claim = |p: &str, _: &TaskRef| {
        if p == "p1" {
            verdict(7, u64::MAX)
        } else {
            verdict(7, 400_000)
        }
    };
    let commits: Vec<_> = ["p1", "p2"]
        .iter()
        .filter_map(|p| s.sign_commits(p, &mut book, |t| claim(p, t)))
        .collect();
    s.block(&commits).unwrap();
    let reveal = s.sign_reveals("p1", &book).unwrap();
    let receipt = s.block(&[reveal]).unwrap().receipts.remove(0);
    assert_eq!(
        receipt.outcome,
        yun_types::TxOutcome::Failed(yun_types::TxRejection::FuelAboveLimit)
    );
    let reveal = s.sign_reveals("p2", &book).unwrap();
    s.block(&[reveal]).unwrap();
    assert_eq!(s.provider("p1").earned.base_units(), 0);
    assert_eq!(s.provider("p2").earned.base_units(), 4);
    assert_eq!(s.job(&job).tasks_verified, 1);
}

/// A provider whose replica revealed cannot leave while the task waits for more replicas (no
/// quorum yet): its bond stays until the verdict (issue 15). Once the verdict is in, it is
/// paid — or, outvoted, unpaid and distrusted (a vote never slashes: issue 14) — and only
/// then may it exit.
#[test]
fn a_provider_awaiting_a_verdict_cannot_leave_until_it_is_in() {
    let mut s = market(&["p1", "p2", "p3"]);
    for p in ["p1", "p2"] {
        s.tx(p).act(offer().ask(10).register(BOND)).expect_ok();
    }
    let job = s
        .post(&job_spec().replicate(2, 2).deadline_in(500), "alice")
        .expect_ok()
        .tx_id;
    let mut book = Commitments::default();
    // p1 and p2 disagree: no quorum, a third replica is wanted. p2 is the liar.
    s.work_round(&["p1", "p2"], &mut book, |p, _| {
        if p == "p2" {
            verdict(9, 400_000)
        } else {
            verdict(7, 400_000)
        }
    });
    assert_eq!(s.task(&job, 0).replicas_wanted, 3);
    for p in ["p1", "p2"] {
        s.tx(p)
            .act(Action::ExitProvider)
            .expect_failed(yun_types::TxRejection::TasksInFlight);
    }
    s.blocks(s.params.market.unbonding_blocks);
    s.tx("p3").act(offer().ask(10).register(BOND)).expect_ok();
    assert_eq!(s.assigned("p3").len(), 1);
    s.work_round(&["p3"], &mut book, |_, _| verdict(7, 400_000));
    assert_eq!(s.job(&job).tasks_verified, 1);
    let state_of = |s: &mut Scenario, p: &str| {
        s.task(&job, 0)
            .replicas
            .iter()
            .find(|r| r.provider == addr(p))
            .map(|r| r.state)
    };
    assert!(matches!(
        state_of(&mut s, "p1"),
        Some(ReplicaState::Paid { .. })
    ));
    assert_eq!(state_of(&mut s, "p2"), Some(ReplicaState::Unsettled));
    assert!(
        s.provider("p2").earned.is_zero(),
        "the outvoted is not paid"
    );
    // With its verdicts in, each may go.
    for p in ["p1", "p2"] {
        s.tx(p).act(Action::ExitProvider).expect_ok();
    }
}

/// A quorum of at most half the replicas would let two disjoint groups both reach it, and the
/// tie-break would then pick a side; such policies are refused at posting.
#[test]
fn a_quorum_must_be_a_majority_of_the_replicas() {
    let mut s = market(&[]);
    for (k, q) in [(2, 1), (4, 2), (6, 3)] {
        s.post(&job_spec().replicate(k, q), "alice")
            .expect_rejected(yun_types::TxRejection::InvalidJobSpec);
    }
    s.post(&job_spec().replicate(3, 2), "alice").expect_ok();
}

/// Results nobody checked (`Verification::None`) pay, but build no trust: a provider cannot
/// farm a streak on a sybil requester's cheap jobs and then be accepted alone on adaptive ones.
#[test]
fn trust_is_not_built_from_results_nobody_checked() {
    let mut s = market(&["p1"]);
    s.tx("p1")
        .act(offer().slots(200).ask(1).register(BOND))
        .expect_ok();
    s.post(&job_spec().tasks(200).bid(1), "mallory").expect_ok();
    let mut book = Commitments::default();
    s.work_round(&["p1"], &mut book, |_, _| verdict(0, 1));
    assert_eq!(s.provider("p1").tasks_verified, 200);
    assert_eq!(s.provider("p1").streak, 0);
    let job = s
        .post(&job_spec().adaptive(1_000), "alice")
        .expect_ok()
        .tx_id;
    s.work_round(&["p1"], &mut book, |_, _| verdict(0, 400_000));
    let task = s.task(&job, 0);
    assert_eq!(
        task.phase,
        TaskPhase::Open,
        "a lone, untrusted provider is not accepted"
    );
    assert_eq!(
        task.replicas_wanted, 2,
        "a second replica is wanted before anyone reveals"
    );
    assert!(
        !task
            .replicas
            .iter()
            .any(|r| matches!(r.state, ReplicaState::Revealed { .. }))
    );
}

/// Adaptive replicas are added while the earlier ones' verdicts are still sealed (the number
/// needed depends on who committed, not on what), so a new replica cannot copy a revealed one.
#[test]
fn a_new_replica_cannot_read_an_earlier_verdict_of_its_task() {
    let mut s = market(&["p1", "p2"]);
    for p in ["p1", "p2"] {
        s.tx(p).act(offer().register(BOND)).expect_ok();
    }
    let job = s
        .post(&job_spec().adaptive(1_000), "alice")
        .expect_ok()
        .tx_id;
    let mut book = Commitments::default();
    let first = s.assigned("p1").len() == 1;
    let (a, b) = if first { ("p1", "p2") } else { ("p2", "p1") };
    s.work_round(&[a], &mut book, honest);
    // `b` was assigned at the end of the reveal block; what can it see?
    assert_eq!(s.assigned(b).len(), 1);
    let task = s.task(&job, 0);
    let visible = task
        .replicas
        .iter()
        .any(|r| matches!(r.state, ReplicaState::Revealed { .. }));
    assert!(
        !visible,
        "{b} can read {a}'s verdict before committing: {:?}",
        task.replicas
    );
}

/// A replica that committed but does not reveal loses `slash_dissent_bps` (10 %), not the
/// silent rate (1 %), while a revealed wrong verdict is only outvoted (no vote slashes):
/// withholding a losing verdict never pays.
#[test]
fn withholding_a_committed_verdict_costs_as_much_as_revealing_a_wrong_one() {
    let mut s = market(&["p1", "p2", "p3"]);
    for p in ["p1", "p2", "p3"] {
        s.tx(p).act(offer().register(BOND)).expect_ok();
    }
    s.post(&job_spec().replicate(3, 2), "alice").expect_ok();
    let mut book = Commitments::default();
    let liar = |p: &str, _: &TaskRef| {
        if p == "p3" {
            verdict(0, 400_000)
        } else {
            verdict(7, 400_000)
        }
    };
    // Everyone commits; only p1 and p2 reveal; p3 withholds.
    let commits: Vec<_> = ["p1", "p2", "p3"]
        .iter()
        .filter_map(|p| s.sign_commits(p, &mut book, |t| liar(p, t)))
        .collect();
    s.block(&commits).unwrap();
    let reveals: Vec<_> = ["p1", "p2"]
        .iter()
        .filter_map(|p| s.sign_reveals(p, &book))
        .collect();
    s.block(&reveals).unwrap();
    s.blocks(s.params.market.reveal_window_blocks + 1);
    let slashed = s.provider("p3").slashed.base_units();
    assert!(
        slashed >= BOND / 10,
        "withholding cost {slashed}, a wrong reveal costs {}",
        BOND / 10
    );
}
