//! A job's reduce step on the network (issue 15, item 7), as stories: the reduce task appears
//! only once every map task ended, runs over the accepted outputs, is verified by the job's
//! policy (k = 3: a lying reducer is outvoted — unpaid, distrusted, never slashed) and paid
//! from the escrow locked at posting; the job settles only after it. No accepted output, no
//! reduce; a reduce the deadline overtakes fails and the rest is refunded.

use yun_state::arith::bps_of;
use yun_state::market::why::WaitReason;
use yun_state::market::{
    FailReason, JobStatus, ReduceInput, ReplicaState, TaskPhase, escrow_for, replica_cap,
};
use yun_state::scenario::{Scenario, addr};
use yun_state::scenario_market::{Commitments, JobDraft, job_spec, offer, verdict};
use yun_types::market::{CannotRun, JobId, TaskRef, Verdict};
use yun_types::{Action, Amount};

const MAP_FUEL: u64 = 400_000;
const REDUCE_FUEL: u64 = 300_000;

/// Two map tasks and a reduce at k = 3, quorum 2, bid 10,000 on providers asking 2,500.
fn mapreduce() -> JobDraft {
    job_spec()
        .tasks(2)
        .replicate(3, 2)
        .bid(10_000)
        .reduce()
        .deadline_in(200)
}

/// Map task i's honest output.
fn map_output(t: &TaskRef) -> Verdict {
    verdict(t.index as u8 + 1, MAP_FUEL)
}

/// What replicas of a task were due from escrow (fuel × their price / 10⁶) and got (less the
/// burned protocol fee), by provider.
fn paid(s: &mut Scenario, job: &JobId, index: u32, fuel: u64) -> Vec<(String, u128, u128)> {
    let fee_bps = s.params.market.protocol_fee_bps;
    let task = s.task(job, index);
    let mut out = Vec::new();
    for r in &task.replicas {
        if let ReplicaState::Paid { amount } = r.state {
            let due = r.price_per_mfuel.base_units() * u128::from(fuel) / 1_000_000;
            let net = due - bps_of(Amount::new(due), fee_bps).base_units();
            assert_eq!(
                amount.base_units(),
                net,
                "a replica is paid its due less the fee"
            );
            out.push((name_of(&r.provider), due, net));
        }
    }
    out
}

fn name_of(a: &yun_types::Address) -> String {
    (1..=9)
        .map(|i| format!("p{i}"))
        .find(|n| addr(n) == *a)
        .expect("a provider of the scenario")
}

#[test]
fn the_reduce_runs_on_the_network_after_every_map_and_outvotes_a_lying_reducer() {
    let mut s = Scenario::with_providers(3);
    s.register_all(&["p1", "p2", "p3"], offer().slots(4).ask(2_500));
    let draft = mapreduce();
    let before = s.balance("alice");
    let post = s.post(&draft, "alice").expect_ok();
    let job = post.tx_id;

    // The worst case is locked: (2 maps + the reduce) × the replica cap × fuel × bid.
    let cap = u128::from(replica_cap(&draft.spec.verification));
    let escrow = 3 * cap * u128::from(draft.spec.fuel_per_task) * 10_000 / 1_000_000;
    assert_eq!(escrow_for(&draft.spec).unwrap().base_units(), escrow);
    assert_eq!(s.job(&job).escrow.base_units(), escrow);
    assert_eq!(
        before - s.balance("alice"),
        escrow + post.fee_paid.base_units()
    );

    // While maps run there is no reduce task, and `why` says what it waits for.
    let reduce = TaskRef { job, index: 2 };
    assert!(s.view().task(&reduce).is_none());
    let why = s.why(&job);
    let last = why.last().unwrap();
    assert_eq!(last.index, 2);
    assert_eq!(last.reason, WaitReason::WaitingForMaps { maps_open: 2 });

    // The maps are verified honestly; the reduce task is added over their outputs and drawn
    // in the same block, on all three providers.
    let mut book = Commitments::default();
    s.work_round(&["p1", "p2", "p3"], &mut book, |_, t| map_output(t));
    assert_eq!(s.job(&job).tasks_verified, 2);
    assert_eq!(
        s.job(&job).status,
        JobStatus::Open,
        "not settled before the reduce"
    );
    let inputs: Vec<ReduceInput> = (0..2)
        .map(|index| ReduceInput {
            index,
            output_digest: map_output(&TaskRef { job, index }).output_digest,
        })
        .collect();
    assert_eq!(s.view().reduce_inputs(&job), inputs);
    let task = s.task(&job, 2);
    assert_eq!(task.phase, TaskPhase::Open);
    assert_eq!(task.live_replicas(), 3);
    let liar_before = s.provider("p3");
    assert!(liar_before.streak > 0, "the liar earned trust on the maps");

    // p3 lies about the reduce: outvoted 2 to 1.
    let honest = verdict(50, REDUCE_FUEL);
    s.work_round(&["p1", "p2", "p3"], &mut book, |p, t| {
        if t.index < 2 {
            map_output(t)
        } else if p == "p3" {
            verdict(66, REDUCE_FUEL)
        } else {
            honest
        }
    });
    let task = s.task(&job, 2);
    assert_eq!(task.phase, TaskPhase::Verified { verdict: honest });
    for r in &task.replicas {
        match name_of(&r.provider).as_str() {
            "p3" => assert_eq!(r.state, ReplicaState::Unsettled, "the liar is unpaid"),
            _ => assert!(matches!(r.state, ReplicaState::Paid { .. })),
        }
    }
    let liar = s.provider("p3");
    assert_eq!(liar.streak, 0, "the liar loses its trust");
    assert_eq!(liar.reputation, liar_before.reputation * 2 / 3);
    assert_eq!(liar.bond, liar_before.bond, "a vote never takes a bond");
    assert_eq!(liar.slashed, Amount::ZERO);
    assert_eq!(liar.earned, liar_before.earned, "nothing for the lie");

    // Settled after the reduce: spent is exactly what the replicas were due, the rest
    // went back, and each provider earned exactly its nets.
    let mut rows = paid(&mut s, &job, 0, MAP_FUEL);
    rows.extend(paid(&mut s, &job, 1, MAP_FUEL));
    let reduce_rows = paid(&mut s, &job, 2, REDUCE_FUEL);
    assert_eq!(reduce_rows.len(), 2, "the two honest reducers are paid");
    rows.extend(reduce_rows);
    let spent: u128 = rows.iter().map(|(_, due, _)| due).sum();
    let j = s.job(&job);
    assert_eq!(j.status, JobStatus::Settled);
    assert_eq!((j.tasks_verified, j.tasks_failed, j.tasks_open), (3, 0, 0));
    assert_eq!(j.spent.base_units(), spent);
    assert_eq!(j.escrow, Amount::ZERO);
    assert_eq!(j.refunded.base_units(), escrow - spent);
    assert_eq!(
        before - s.balance("alice"),
        spent + post.fee_paid.base_units()
    );
    for p in ["p1", "p2", "p3"] {
        let nets: u128 = rows.iter().filter(|r| r.0 == p).map(|r| r.2).sum();
        assert_eq!(s.provider(p).earned.base_units(), nets, "{p}");
    }
    assert!(s.why(&job).is_empty(), "nothing left to explain");
}

#[test]
fn a_job_with_no_accepted_map_output_gets_no_reduce_and_is_refunded_in_full() {
    let mut s = Scenario::with_providers(1);
    // Nobody registers: the map task fails at the deadline.
    let draft = mapreduce().deadline_in(3);
    let job = s.post(&draft, "alice").expect_ok().tx_id;
    s.blocks(5);
    let j = s.job(&job);
    assert_eq!(j.status, JobStatus::Settled);
    assert_eq!((j.tasks_verified, j.tasks_failed), (0, 2));
    assert_eq!(j.spent, Amount::ZERO);
    assert_eq!(j.refunded, escrow_for(&draft.spec).unwrap());
    assert!(s.view().task(&TaskRef { job, index: 2 }).is_none());
}

#[test]
fn map_tasks_that_could_not_run_give_the_reduce_nothing_to_run_over() {
    let mut s = Scenario::with_providers(3);
    s.register_all(&["p1", "p2", "p3"], offer().slots(4).ask(2_500));
    let job = s.post(&mapreduce(), "alice").expect_ok().tx_id;
    let mut book = Commitments::default();
    let missing = Verdict::cannot_run(CannotRun::DataMissing, 1);
    s.work_round(&["p1", "p2", "p3"], &mut book, |_, _| missing);
    let j = s.job(&job);
    assert_eq!(j.status, JobStatus::Settled, "{j:?}");
    assert_eq!(j.tasks_verified, 2);
    assert!(s.view().task(&TaskRef { job, index: 2 }).is_none());
}

#[test]
fn reducers_that_cannot_fetch_the_outputs_say_so_and_are_paid_for_checking() {
    // Every map provider stopped serving: the reducers agree the data is missing. That is a
    // verdict, verified and paid like any other (cannot_run_fuel), never silence or a slash.
    let mut s = Scenario::with_providers(3);
    s.register_all(&["p1", "p2", "p3"], offer().slots(4).ask(2_500));
    let job = s.post(&mapreduce(), "alice").expect_ok().tx_id;
    let mut book = Commitments::default();
    s.work_round(&["p1", "p2", "p3"], &mut book, |_, t| map_output(t));
    let bonds: Vec<Amount> = ["p1", "p2", "p3"]
        .iter()
        .map(|p| s.provider(p).bond)
        .collect();
    let missing = Verdict::cannot_run(CannotRun::DataMissing, 2);
    s.work_round(&["p1", "p2", "p3"], &mut book, |_, _| missing);
    assert_eq!(
        s.task(&job, 2).phase,
        TaskPhase::Verified { verdict: missing }
    );
    // Paid cannot_run_fuel, bounded like any payment by the job's fuel limit.
    let fuel = s
        .params
        .market
        .cannot_run_fuel
        .min(s.job(&job).spec.fuel_per_task);
    assert_eq!(paid(&mut s, &job, 2, fuel).len(), 3);
    assert_eq!(s.job(&job).status, JobStatus::Settled);
    for (p, bond) in ["p1", "p2", "p3"].iter().zip(bonds) {
        assert_eq!(s.provider(p).bond, bond, "{p} keeps its bond");
    }
}

/// One provider p1 (ask 2,500) runs the single map task of `draft` honestly and pauses in the
/// block its map is verified, so the reduce task that block adds finds no provider.
fn map_verified_as_its_lone_provider_pauses(draft: &JobDraft) -> (Scenario, JobId) {
    let mut s = Scenario::with_providers(1);
    s.register_all(&["p1"], offer().slots(4).ask(2_500));
    let job = s.post(draft, "alice").expect_ok().tx_id;
    let mut book = Commitments::default();
    let commit = s.sign_commits("p1", &mut book, map_output).unwrap();
    s.block(&[commit]).unwrap();
    let reveal = s.sign_reveals("p1", &book).unwrap();
    let next = s.nonce("p1") + 1;
    let pause = s
        .tx("p1")
        .nonce(next)
        .sign(Action::PauseProvider { paused: true });
    s.block(&[reveal, pause]).unwrap();
    (s, job)
}

#[test]
fn a_reduce_the_deadline_overtakes_fails_and_the_rest_of_the_escrow_goes_back() {
    let draft = job_spec().bid(10_000).reduce().deadline_in(10);
    let (mut s, job) = map_verified_as_its_lone_provider_pauses(&draft);
    // The reduce task is added but no provider may take it, and `why` says so.
    let reduce = s.task(&job, 1);
    assert_eq!(reduce.phase, TaskPhase::Open);
    assert_eq!(reduce.live_replicas(), 0);
    let why = s.why(&job);
    assert_eq!(why.len(), 1);
    assert_eq!(why[0].reason, WaitReason::NoActiveProvider);
    s.blocks(12);
    assert_eq!(
        s.task(&job, 1).phase,
        TaskPhase::Failed {
            reason: FailReason::DeadlinePassed
        }
    );
    let j = s.job(&job);
    assert_eq!(j.status, JobStatus::Settled);
    assert_eq!((j.tasks_verified, j.tasks_failed), (1, 1));
    let spent: u128 = paid(&mut s, &job, 0, MAP_FUEL).iter().map(|r| r.1).sum();
    assert_eq!(j.spent.base_units(), spent);
    assert_eq!(
        j.refunded.base_units(),
        escrow_for(&draft.spec).unwrap().base_units() - spent
    );
}

#[test]
fn a_job_cancelled_while_its_reduce_waits_fails_the_reduce_and_refunds_the_rest() {
    let draft = job_spec().bid(10_000).reduce();
    let (mut s, job) = map_verified_as_its_lone_provider_pauses(&draft);
    assert_eq!(s.task(&job, 1).phase, TaskPhase::Open, "the reduce waits");
    s.tx("alice").act(Action::CancelJob { job }).expect_ok();
    assert_eq!(
        s.task(&job, 1).phase,
        TaskPhase::Failed {
            reason: FailReason::Cancelled
        }
    );
    let j = s.job(&job);
    assert_eq!(j.status, JobStatus::Settled);
    let spent: u128 = paid(&mut s, &job, 0, MAP_FUEL).iter().map(|r| r.1).sum();
    assert_eq!(j.spent.base_units(), spent);
    assert_eq!(
        j.refunded.base_units(),
        escrow_for(&draft.spec).unwrap().base_units() - spent
    );
}
