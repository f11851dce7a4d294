//! The market's paths, each as a short story: providers register, a requester posts, the
//! auction assigns, providers commit and reveal, the chain verifies, pays, slashes and refunds.
//! Every block also checks balances + bonds + escrow + burned = supply.

use yun_state::market::why::WaitReason;
use yun_state::market::{FailReason, JobStatus, ReplicaState, TaskPhase};
use yun_state::scenario::{Scenario, addr};
use yun_state::scenario_market::{Commitments, MARKET_BOND, job_spec, offer, verdict};
use yun_types::TxRejection;
use yun_types::market::{JobId, TaskRef};

const BOND: u128 = MARKET_BOND;

fn post(s: &mut Scenario, draft: yun_state::scenario_market::JobDraft) -> JobId {
    s.post(&draft, "alice").expect_ok().tx_id
}

fn honest(_: &str, _: &TaskRef) -> yun_types::market::Verdict {
    verdict(7, 400_000)
}

#[test]
fn happy_path_with_three_replicas_pays_each_provider_its_fuel_and_refunds_the_rest() {
    let mut s = Scenario::with_providers(3);
    s.register_all(&["p1", "p2", "p3"], offer().slots(2).ask(2_500));
    let alice_before = s.balance("alice");
    let supply_burned = s.burned();
    let job = post(
        &mut s,
        job_spec()
            .tasks(2)
            .replicate(3, 2)
            .bid(10_000)
            .fuel(1_000_000),
    );
    // Escrow: 2 tasks × cap 5 replicas × 1,000,000 fuel × 10,000 per million.
    assert_eq!(s.job(&job).escrow.base_units(), 100_000);
    assert_eq!(s.balance("alice"), alice_before - 10 - 100_000);
    // Matching ran at the end of the posting block: 6 replicas on 3 providers with 2 slots.
    assert_eq!(s.assigned("p1").len(), 2);
    let mut book = Commitments::default();
    s.work_round(&["p1", "p2", "p3"], &mut book, honest);
    let job_now = s.job(&job);
    assert_eq!(job_now.status, JobStatus::Settled);
    assert_eq!(job_now.tasks_verified, 2);
    // Clearing price = the highest matched ask (2,500): each replica is due 400,000 × 2,500 /
    // 1e6 = 1,000, of which the protocol fee (5 %) is burned: 950 reaches the provider.
    for p in ["p1", "p2", "p3"] {
        let prov = s.provider(p);
        assert_eq!(prov.earned.base_units(), 1_900, "{p}");
        assert_eq!(prov.tasks_verified, 2);
        // Each payment reached `trust_payment_min` (1,000): trust grew.
        assert_eq!(prov.reputation, 2);
        assert_eq!(prov.tasks_in_flight, 0);
    }
    assert_eq!(job_now.spent.base_units(), 6_000);
    assert_eq!(job_now.refunded.base_units(), 94_000);
    assert_eq!(s.balance("alice"), alice_before - 10 - 6_000);
    assert!(s.burned() >= supply_burned + 6 * 50);
}

/// A vote never takes a bond (the honest minority could be the one outvoted): the liar is
/// unpaid and loses its trust, and keeps its bond.
#[test]
fn a_liar_is_outvoted_unpaid_and_loses_trust_but_no_vote_slashes() {
    let mut s = Scenario::with_providers(3);
    s.register_all(&["p1", "p2", "p3"], offer().ask(5));
    let job = post(&mut s, job_spec().replicate(3, 2));
    let alice_before = s.balance("alice");
    let mut book = Commitments::default();
    s.work_round(&["p1", "p2", "p3"], &mut book, |p, _| {
        if p == "p3" {
            verdict(66, 400_000)
        } else {
            verdict(7, 400_000)
        }
    });
    let task = s.task(&job, 0);
    assert_eq!(
        task.phase,
        TaskPhase::Verified {
            verdict: verdict(7, 400_000)
        }
    );
    let liar = s.provider("p3");
    assert_eq!(liar.slashed.base_units(), 0);
    assert_eq!(liar.bond.base_units(), BOND);
    assert_eq!(liar.earned.base_units(), 0);
    assert_eq!(liar.streak, 0);
    assert_eq!(
        task.replicas
            .iter()
            .find(|r| r.provider == addr("p3"))
            .unwrap()
            .state,
        ReplicaState::Unsettled
    );
    assert_eq!(s.provider("p1").earned.base_units(), 2);
    let refund = s.job(&job).refunded.base_units();
    assert_eq!(s.balance("alice"), alice_before + refund);
}

#[test]
fn no_quorum_escalates_to_the_cap_then_fails_and_refunds() {
    let mut s = Scenario::with_providers(5);
    s.register_all(&["p1", "p2", "p3", "p4", "p5"], offer());
    let alice_before = s.balance("alice");
    let job = post(&mut s, job_spec().replicate(3, 3));
    let mut book = Commitments::default();
    // Everyone disagrees: no quorum, a 4th replica, still none, a 5th (the cap), then failure.
    let each_own = |p: &str, _: &TaskRef| verdict(p.as_bytes()[1], 400_000);
    let all = ["p1", "p2", "p3", "p4", "p5"];
    s.work_round(&all, &mut book, each_own);
    assert_eq!(s.task(&job, 0).replicas_wanted, 4);
    s.empty_block();
    s.work_round(&["p1", "p2", "p3", "p4", "p5"], &mut book, each_own);
    s.empty_block();
    s.work_round(&["p1", "p2", "p3", "p4", "p5"], &mut book, each_own);
    let task = s.task(&job, 0);
    assert_eq!(task.replicas.len(), 5);
    assert_eq!(
        task.phase,
        TaskPhase::Failed {
            reason: FailReason::NoQuorum
        }
    );
    let j = s.job(&job);
    assert_eq!(j.status, JobStatus::Settled);
    assert_eq!(j.spent.base_units(), 0);
    assert_eq!(
        s.balance("alice"),
        alice_before - 10,
        "everything but the fee came back"
    );
    assert_eq!(
        s.provider("p1").slashed.base_units(),
        0,
        "no quorum, nobody slashed"
    );
}

#[test]
fn a_silent_provider_loses_reputation_and_its_task_is_reassigned() {
    let mut s = Scenario::with_providers(2);
    s.register_all(&["p1"], offer());
    let job = post(&mut s, job_spec());
    assert_eq!(s.assigned("p1").len(), 1);
    s.register_all(&["p2"], offer().ask(2));
    // p1 never commits; after the commit window its replica expires and p2 gets the task.
    let window = s.params.market.commit_window_blocks;
    s.blocks(window);
    let p1 = s.provider("p1");
    assert_eq!(p1.tasks_in_flight, 0);
    assert_eq!(p1.slashed.base_units(), BOND / 100);
    assert_eq!(s.assigned("p2").len(), 1);
    let mut book = Commitments::default();
    s.work_round(&["p2"], &mut book, honest);
    assert_eq!(s.job(&job).tasks_verified, 1);
    assert_eq!(s.task(&job, 0).expirations, 1);
}

#[test]
fn a_deadline_with_no_capacity_refunds_everything_and_says_why() {
    let mut s = Scenario::with_providers(0);
    let alice_before = s.balance("alice");
    let job = post(&mut s, job_spec().tasks(3).deadline_in(5));
    let why = s.why(&job);
    assert_eq!(why.len(), 3);
    assert_eq!(why[0].reason, WaitReason::NoActiveProvider);
    s.blocks(6);
    let j = s.job(&job);
    assert_eq!(j.status, JobStatus::Settled);
    assert_eq!(j.tasks_failed, 3);
    assert_eq!(
        s.task(&job, 2).phase,
        TaskPhase::Failed {
            reason: FailReason::DeadlinePassed
        }
    );
    assert_eq!(s.balance("alice"), alice_before - 10);
}

#[test]
fn cancelling_a_waiting_job_refunds_its_escrow() {
    let mut s = Scenario::with_providers(1);
    let alice_before = s.balance("alice");
    let job = post(&mut s, job_spec().tasks(4));
    s.tx("alice")
        .act(yun_types::Action::CancelJob { job })
        .expect_ok();
    assert_eq!(s.job(&job).status, JobStatus::Settled);
    assert!(
        s.job(&job).cancelled_height.is_some(),
        "a settled job remembers it was cancelled"
    );
    assert_eq!(s.balance("alice"), alice_before - 20);
    s.tx("alice")
        .act(yun_types::Action::CancelJob { job })
        .expect_failed(TxRejection::JobClosed);
    s.tx("p1")
        .act(yun_types::Action::CancelJob { job })
        .expect_failed(TxRejection::NotRequester);
}

#[test]
fn escrow_beyond_the_balance_is_refused_with_its_reason() {
    let mut s = Scenario::new();
    s.fund("bob", 1_000);
    s.post(&job_spec().tasks(100).bid(1_000), "bob")
        .expect_failed(TxRejection::InsufficientEscrow);
    assert_eq!(s.balance("bob"), 990, "only the fee was taken");
}

#[test]
fn invalid_offers_and_jobs_are_refused_by_name() {
    let mut s = Scenario::with_providers(1);
    s.tx("p1")
        .act(offer().register(BOND - 1))
        .expect_failed(TxRejection::BondTooLow);
    s.tx("p1")
        .act(offer().slots(0).register(BOND))
        .expect_failed(TxRejection::InvalidProviderSpec);
    s.tx("p1").act(offer().register(BOND)).expect_ok();
    s.tx("p1")
        .act(offer().register(BOND))
        .expect_failed(TxRejection::AlreadyProvider);
    s.post(&job_spec().replicate(3, 4), "alice")
        .expect_rejected(TxRejection::InvalidJobSpec);
    s.post(&job_spec().deadline_in(10_000_000), "alice")
        .expect_rejected(TxRejection::DeadlineOutOfRange);
}

#[test]
fn a_bid_below_the_index_waits_and_runs_when_the_index_falls() {
    let mut s = Scenario::with_providers(1);
    s.register_all(&["p1"], offer().ask(1));
    // A well-paying job keeps the only slot busy, so utilization is 100 % and the index climbs.
    let busy = post(&mut s, job_spec().bid(1_000).deadline_in(200));
    s.blocks(15);
    let index = s.market().price_index_per_mfuel.base_units();
    assert!(index > 5, "index climbed to {index}");
    let cheap = post(&mut s, job_spec().bid(5).deadline_in(500));
    assert!(matches!(
        s.why(&cheap)[0].reason,
        WaitReason::BidBelowIndex { .. }
    ));
    // The busy job finishes; the slot idles, the index falls, and the cheap job is matched.
    let mut book = Commitments::default();
    s.work_round(&["p1"], &mut book, honest);
    assert_eq!(s.job(&busy).status, JobStatus::Settled);
    let mut waited = 0;
    while s.assigned("p1").is_empty() {
        s.empty_block();
        waited += 1;
        assert!(waited < 100, "the cheap job never ran");
    }
    // Matched at a clearing price within its bid, once the index fell to it.
    assert!(s.task(&cheap, 0).replicas[0].price_per_mfuel.base_units() <= 5);
    s.work_round(&["p1"], &mut book, honest);
    assert_eq!(s.job(&cheap).tasks_verified, 1);
}

#[test]
fn why_names_memory_labels_busy_and_too_few_providers() {
    let mut s = Scenario::with_providers(2);
    s.register_all(&["p1", "p2"], offer().memory_mb(256).label("region", "eu"));
    let big = post(&mut s, job_spec().memory_mb(512));
    let why = &s.why(&big)[0];
    assert_eq!(why.reason, WaitReason::NoProviderWithEnoughMemory);
    assert_eq!(
        why.excluded
            .iter()
            .find(|e| e.constraint == "memory")
            .unwrap()
            .providers,
        2
    );

    let gpu = post(&mut s, job_spec().label("gpu", "a100"));
    assert_eq!(s.why(&gpu)[0].reason, WaitReason::NoProviderWithLabels);

    let three = post(&mut s, job_spec().replicate(3, 2));
    // Two providers cannot make three independent replicas: the task waits whole, it is not
    // run on the two that are there.
    assert_eq!(s.task(&three, 0).live_replicas(), 0);
    assert_eq!(
        s.why(&three)[0].reason,
        WaitReason::TooFewIndependentProviders {
            eligible: 2,
            needed: 3
        }
    );

    let _busy = post(&mut s, job_spec().tasks(2));
    let queued = post(&mut s, job_spec());
    assert_eq!(s.why(&queued)[0].reason, WaitReason::AllEligibleBusy);
}

#[test]
fn commits_and_reveals_are_checked() {
    let mut s = Scenario::with_providers(2);
    s.register_all(&["p1"], offer());
    let job = post(&mut s, job_spec());
    let t = TaskRef { job, index: 0 };
    let mut book = Commitments::default();
    // Someone who holds no replica cannot commit.
    let c = yun_types::market::ResultCommit {
        task: t,
        commitment: yun_types::Hash32::ZERO,
    };
    s.tx("p2")
        .act(yun_types::Action::CommitResults {
            commits: vec![c.clone()],
        })
        .expect_failed(TxRejection::NotAssigned);
    // A wrong opening is refused.
    let commit = s.sign_commits("p1", &mut book, |_| verdict(7, 1)).unwrap();
    s.block(&[commit]).unwrap();
    let wrong = yun_types::market::ResultReveal {
        task: t,
        verdict: verdict(8, 1),
        salt: yun_types::Hash32::ZERO,
    };
    s.tx("p1")
        .act(yun_types::Action::RevealResults {
            reveals: vec![wrong],
        })
        .expect_failed(TxRejection::CommitmentMismatch);
    s.tx("p1")
        .act(yun_types::Action::CommitResults { commits: vec![c] })
        .expect_failed(TxRejection::CommitClosed);
    let reveal = s.sign_reveals("p1", &book).unwrap();
    s.block(&[reveal]).unwrap();
    assert_eq!(s.job(&job).tasks_verified, 1);
}

#[test]
fn a_provider_exits_only_when_idle_and_gets_its_bond_back_after_unbonding() {
    let mut s = Scenario::with_providers(1);
    s.register_all(&["p1"], offer());
    let _job = post(&mut s, job_spec());
    s.tx("p1")
        .act(yun_types::Action::ExitProvider)
        .expect_failed(TxRejection::TasksInFlight);
    let mut book = Commitments::default();
    s.work_round(&["p1"], &mut book, honest);
    let before = s.balance("p1");
    s.tx("p1").act(yun_types::Action::ExitProvider).expect_ok();
    s.blocks(s.params.market.unbonding_blocks);
    assert_eq!(s.balance("p1"), before - 10 + BOND);
    assert!(s.view().provider(&addr("p1")).is_none());
}
