//! Issue 14's market fixes, each as a short story: governed labels, whole-or-nothing matching,
//! sealed reveals, the protocol fee and the trust minimum, the slot change interval (pause
//! and resume included) and a price index counted from slots really occupied.

use yun_state::market::why::WaitReason;
use yun_state::market::{JobStatus, ReplicaState};
use yun_state::scenario::Scenario;
use yun_state::scenario_market::{Commitments, JobDraft, job_spec, offer, verdict};
use yun_types::market::{JobId, TaskRef};
use yun_types::{Action, TxRejection};

fn post(s: &mut Scenario, draft: JobDraft) -> JobId {
    s.post(&draft, "alice").expect_ok().tx_id
}

#[test]
fn a_job_requiring_a_label_the_chain_does_not_govern_is_refused() {
    let mut s = Scenario::with_providers(1);
    s.register_all(&["p1"], offer().label("owner", "alice-sybil"));
    s.post(&job_spec().label("owner", "alice-sybil"), "alice")
        .expect_rejected(TxRejection::LabelNotGoverned);
    // Refused before it reaches a block (the stateless check: it needs only the parameters).
    // A governed label is fine.
    s.post(&job_spec().label("region", "eu"), "alice")
        .expect_ok();
}

#[test]
fn a_job_naming_a_data_source_that_is_not_a_plain_http_address_is_refused() {
    let mut s = Scenario::with_providers(1);
    s.register_all(&["p1"], offer());
    for bad in [
        "file:///etc/passwd",
        "gopher://10.0.0.1:70/",
        "http://",
        "http://admin:secret@10.0.0.1/",
        "http://10.0.0.1/flush?all=1",
        "http://10.0.0.1/#x",
        "http://10.0.0.1/ a",
    ] {
        s.post(&job_spec().source(bad), "alice")
            .expect_rejected(TxRejection::DataSourceInvalid);
    }
    // A node's API address, with a port and a path, is fine.
    s.post(
        &job_spec()
            .source("http://127.0.0.1:8545")
            .source("https://node.example/yun"),
        "alice",
    )
    .expect_ok();
}

#[test]
fn a_task_waits_whole_when_its_policy_needs_more_independent_providers_than_exist() {
    let mut s = Scenario::with_providers(3);
    s.register_all(&["p1", "p2"], offer().slots(4));
    let job = post(&mut s, job_spec().replicate(3, 2));
    s.empty_block();
    assert_eq!(s.task(&job, 0).live_replicas(), 0, "never run on fewer");
    assert_eq!(
        s.why(&job)[0].reason,
        WaitReason::TooFewIndependentProviders {
            eligible: 2,
            needed: 3
        }
    );
    // A third provider arrives: all three replicas are drawn at once, on distinct providers.
    s.register_all(&["p3"], offer().slots(4));
    let task = s.task(&job, 0);
    assert_eq!(task.live_replicas(), 3);
    let mut who: Vec<_> = task.replicas.iter().map(|r| r.provider).collect();
    who.sort();
    who.dedup();
    assert_eq!(who.len(), 3);
}

#[test]
fn revealed_verdicts_stay_out_of_the_task_record_until_the_round_closes() {
    let mut s = Scenario::with_providers(3);
    s.register_all(&["p1", "p2", "p3"], offer().ask(2_500));
    let job = post(&mut s, job_spec().replicate(3, 2).bid(10_000));
    let t = TaskRef { job, index: 0 };
    let mut book = Commitments::default();
    let commits: Vec<_> = ["p1", "p2", "p3"]
        .iter()
        .filter_map(|p| s.sign_commits(p, &mut book, |_| verdict(7, 400_000)))
        .collect();
    s.block(&commits).unwrap();
    // Two reveal; the third waits. The two verdicts are nowhere in the record.
    let reveals: Vec<_> = ["p1", "p2"]
        .iter()
        .filter_map(|p| s.sign_reveals(p, &book))
        .collect();
    s.block(&reveals).unwrap();
    let task = s.task(&t.job, 0);
    let sealed = task
        .replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Sealed)
        .count();
    assert_eq!(sealed, 2);
    assert!(
        !task
            .replicas
            .iter()
            .any(|r| matches!(r.state, ReplicaState::Revealed { .. }))
    );
    let last = s.sign_reveals("p3", &book).unwrap();
    s.block(&[last]).unwrap();
    assert_eq!(s.job(&job).status, JobStatus::Settled);
    assert!(
        s.task(&job, 0)
            .replicas
            .iter()
            .all(|r| matches!(r.state, ReplicaState::Paid { .. }))
    );
}

#[test]
fn every_payment_burns_the_protocol_fee_and_cheap_results_build_no_trust() {
    let mut s = Scenario::with_providers(2);
    s.register_all(&["p1", "p2"], offer().ask(5));
    // Pay 400,000 × 5 / 1e6 = 2 per replica: below trust_payment_min.
    let cheap = post(&mut s, job_spec().replicate(2, 2).bid(10));
    let mut book = Commitments::default();
    s.work_round(&["p1", "p2"], &mut book, |_, _| verdict(7, 400_000));
    assert_eq!(s.job(&cheap).tasks_verified, 1);
    assert_eq!(s.provider("p1").streak, 0, "a cheap result builds no trust");
    // Pay 400,000 × 2,500 / 1e6 = 1,000: trust grows, and 5 % of it is burned.
    s.tx("p1")
        .act(Action::UpdateProvider {
            spec: offer().ask(2_500).0,
        })
        .expect_ok();
    s.tx("p2")
        .act(Action::UpdateProvider {
            spec: offer().ask(2_500).0,
        })
        .expect_ok();
    let burned = s.burned();
    let earned = s.provider("p1").earned.base_units();
    let paid = post(&mut s, job_spec().replicate(2, 2).bid(10_000));
    s.work_round(&["p1", "p2"], &mut book, |_, _| verdict(7, 400_000));
    assert_eq!(s.job(&paid).tasks_verified, 1);
    assert_eq!(s.provider("p1").streak, 1);
    assert_eq!(s.provider("p1").earned.base_units() - earned, 950);
    // Two replicas' fees (50 each), besides the transaction fees' burned share.
    assert!(s.burned() - burned >= 100);
}

#[test]
fn slots_may_change_only_once_per_interval() {
    let mut s = Scenario::with_providers(1);
    s.register_all(&["p1"], offer().slots(2));
    s.tx("p1")
        .act(Action::UpdateProvider {
            spec: offer().slots(8).0,
        })
        .expect_failed(TxRejection::SlotsChangeTooSoon);
    // Other fields may change any time.
    s.tx("p1")
        .act(Action::UpdateProvider {
            spec: offer().slots(2).ask(3).0,
        })
        .expect_ok();
    s.blocks(s.params.market.slots_change_interval_blocks);
    s.tx("p1")
        .act(Action::UpdateProvider {
            spec: offer().slots(8).0,
        })
        .expect_ok();
    assert_eq!(s.provider("p1").spec.slots, 8);
}

#[test]
fn a_paused_provider_may_resume_only_once_per_interval() {
    let mut s = Scenario::with_providers(1);
    s.register_all(&["p1"], offer().slots(2));
    s.blocks(s.params.market.slots_change_interval_blocks);
    // Pausing is always allowed; resuming at once would flip capacity in and out of the
    // price index every block.
    s.tx("p1")
        .act(Action::PauseProvider { paused: true })
        .expect_ok();
    s.tx("p1")
        .act(Action::PauseProvider { paused: false })
        .expect_failed(TxRejection::ResumeTooSoon);
    s.blocks(s.params.market.slots_change_interval_blocks);
    s.tx("p1")
        .act(Action::PauseProvider { paused: false })
        .expect_ok();
    // A resume is a capacity change: the slot count waits its interval too.
    s.tx("p1")
        .act(Action::UpdateProvider {
            spec: offer().slots(8).0,
        })
        .expect_failed(TxRejection::SlotsChangeTooSoon);
}

#[test]
fn idle_declared_slots_do_not_hold_the_price_index_down() {
    let mut s = Scenario::with_providers(2);
    s.register_all(&["p1"], offer().slots(2).ask(1));
    // p2 declares a thousand slots but asks more than any job here bids: never busy.
    s.register_all(&["p2"], offer().slots(1_000).ask(1_000_000));
    let mut book = Commitments::default();
    let first = post(&mut s, job_spec().tasks(2).bid(1_000));
    s.empty_block();
    assert_eq!(s.assigned("p1").len(), 2);
    // p1 commits both at once: it has shown two slots.
    s.work_round(&["p1"], &mut book, |_, t| verdict(t.index as u8, 400_000));
    assert_eq!(s.job(&first).status, JobStatus::Settled);
    assert_eq!(s.provider("p1").slots_proven, 2);
    let before = s.market().price_index_per_mfuel.base_units();
    // Both of p1's slots busy: 2 of the 3 counted slots (p1's two, p2's one unproven), so
    // utilization is above the 50 % target and the index climbs; counted by declarations it
    // would be 2 of 1,002 and the index would sink.
    post(&mut s, job_spec().tasks(2).bid(1_000).deadline_in(200));
    s.blocks(15);
    let m = s.market();
    assert_eq!((m.slots_total, m.slots_busy), (3, 2));
    assert!(
        m.price_index_per_mfuel.base_units() > before,
        "index {} after {before}",
        m.price_index_per_mfuel.base_units()
    );
}
