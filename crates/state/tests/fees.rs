//! Fees that follow cost (issue 17, item 2): a transaction pays a base, its bytes and the
//! state keys its action writes, at most its declared fee (the rest refunded); commits and
//! reveals of assigned work are free; jobs must bid at least the price floor and fit the
//! queue; settled jobs leave state after their retention, a bounded number of records a block.

use commonware_codec::EncodeSize;
use yun_state::market::{JobStatus, TAG_JOB, TAG_PRUNE, TAG_TASK};
use yun_state::scenario::Scenario;
use yun_state::scenario_market::{Commitments, job_spec, offer, verdict};
use yun_types::fee::writes_bound;
use yun_types::market::Text;
use yun_types::{Action, Amount, TxOutcome, TxRejection};

const BASE: u128 = 100;
const PER_BYTE: u128 = 2;
const PER_WRITE: u128 = 5;

/// A chain with the fee schedule 100 + 2/byte + 5/write, a rich requester and providers.
fn priced(providers: usize) -> Scenario {
    let mut s = Scenario::with_providers(providers);
    s.params.min_fee = Amount::new(BASE);
    s.params.fee_per_byte = Amount::new(PER_BYTE);
    s.params.fee_per_write = Amount::new(PER_WRITE);
    s
}

/// A one-task job whose single argument is `arg_bytes` long: the size grows, the writes don't.
fn job_with_arg(arg_bytes: usize) -> yun_state::scenario_market::JobDraft {
    let mut d = job_spec();
    d.spec.tasks[0].args = vec![Text("x".repeat(arg_bytes))];
    d
}

#[test]
fn a_bigger_transaction_pays_more_for_the_same_writes() {
    let mut s = priced(0);
    let small = s.post(&job_with_arg(10), "alice").expect_ok();
    let big = s.post(&job_with_arg(110), "alice").expect_ok();
    assert!(big.fee_paid > small.fee_paid, "{big:?} vs {small:?}");
    // The same keys written, 100 bytes more (both lengths fit a one-byte prefix): exactly
    // 100 × fee_per_byte more.
    assert_eq!(
        big.fee_paid.base_units() - small.fee_paid.base_units(),
        100 * PER_BYTE
    );
}

#[test]
fn a_fee_below_base_plus_bytes_is_refused_with_its_number() {
    let mut s = priced(0);
    let stx = s.tx("alice").sign(Action::Transfer {
        to: yun_state::scenario::addr("bob"),
        amount: Amount::new(1),
    });
    let size_fee = BASE + PER_BYTE * stx.encode_size() as u128;
    s.tx("alice")
        .fee(size_fee - 1)
        .transfer("bob", 1)
        .expect_rejected(TxRejection::FeeTooLow);
    assert_eq!(TxRejection::FeeTooLow.code(), 6);
    assert_eq!(s.nonce("alice"), 0, "refused: not included, nonce kept");
}

#[test]
fn the_unused_part_of_a_declared_fee_is_refunded() {
    let mut s = priced(0);
    let before = s.balance("alice");
    let r = s
        .tx("alice")
        .fee(1_000_000)
        .transfer("bob", 300)
        .expect_ok();
    // A transfer writes two accounts.
    let stx_bytes = s
        .tx("alice")
        .sign(Action::Transfer {
            to: yun_state::scenario::addr("bob"),
            amount: Amount::new(300),
        })
        .encode_size() as u128;
    let owed = BASE + PER_BYTE * stx_bytes + PER_WRITE * 2;
    assert_eq!(r.fee_paid.base_units(), owed);
    assert_eq!(before - s.balance("alice"), 300 + owed);
    assert_eq!(s.balance("bob"), 300);
}

#[test]
fn writes_the_declared_fee_cannot_pay_are_undone_and_the_fee_kept() {
    let mut s = priced(0);
    let probe = s.tx("alice").sign(Action::Transfer {
        to: yun_state::scenario::addr("bob"),
        amount: Amount::new(300),
    });
    // Covers the base and the bytes, and one of the two writes.
    let declared = BASE + PER_BYTE * probe.encode_size() as u128 + PER_WRITE;
    let before = s.balance("alice");
    let r = s
        .tx("alice")
        .fee(declared)
        .transfer("bob", 300)
        .expect_failed(TxRejection::WritesExceedFee);
    assert_eq!(r.fee_paid.base_units(), declared);
    assert_eq!(
        before - s.balance("alice"),
        declared,
        "the transfer was undone"
    );
    assert_eq!(s.balance("bob"), 0);
    assert_eq!(s.nonce("alice"), 1, "the nonce is spent");
}

#[test]
fn the_clients_bound_covers_what_market_actions_write() {
    let mut s = priced(2);
    s.register_all(&["p1", "p2"], offer().slots(16));
    // The scenario declares what a client declares (FeeSchedule::estimate); every action
    // below must succeed on it (none undone as WritesExceedFee), so the bound holds for each.
    let job = s
        .post(&job_spec().tasks(12).replicate(2, 2), "alice")
        .expect_ok()
        .tx_id;
    let mut book = Commitments::default();
    let commits: Vec<_> = ["p1", "p2"]
        .iter()
        .filter_map(|p| s.sign_commits(p, &mut book, |t| verdict(t.index as u8, 1_000)))
        .collect();
    assert_eq!(commits.len(), 2, "both providers hold replicas");
    let out = s.block(&commits).unwrap();
    assert!(
        out.receipts.iter().all(|r| r.outcome == TxOutcome::Success),
        "{out:?}"
    );
    let reveals: Vec<_> = ["p1", "p2"]
        .iter()
        .filter_map(|p| s.sign_reveals(p, &book))
        .collect();
    let out = s.block(&reveals).unwrap();
    assert!(
        out.receipts.iter().all(|r| r.outcome == TxOutcome::Success),
        "{out:?}"
    );
    assert_eq!(s.job(&job).status, JobStatus::Settled);
    let open = s
        .post(&job_spec().tasks(40).deadline_in(500), "alice")
        .expect_ok()
        .tx_id;
    s.tx("alice")
        .act(Action::CancelJob { job: open })
        .expect_ok();
    // A cancel's bound grows with the tasks the client counts for it.
    let cancel = Action::CancelJob { job: open };
    assert!(writes_bound(&cancel, 41) > writes_bound(&cancel, 0));
}

#[test]
fn honest_providers_pay_nothing_for_their_commits_and_reveals_at_the_price_floor() {
    let mut s = priced(1);
    s.register_all(&["p1"], offer().ask(1));
    let floor = s.params.market.price_floor_per_mfuel.base_units();
    // The worst case for a provider: a task at the floor that used almost no fuel, paid 0.
    let job = s
        .post(&job_spec().bid(floor).fuel(1_000_000), "alice")
        .expect_ok()
        .tx_id;
    let before = s.balance("p1");
    let mut book = Commitments::default();
    let commits = s
        .sign_commits("p1", &mut book, |_| verdict(1, 1))
        .expect("p1 was assigned the task");
    let out = s.block(&[commits]).unwrap();
    assert_eq!(out.receipts[0].outcome, TxOutcome::Success);
    assert!(out.receipts[0].fee_paid.is_zero(), "{:?}", out.receipts[0]);
    let reveals = s.sign_reveals("p1", &book).expect("reveal open");
    let out = s.block(&[reveals]).unwrap();
    assert_eq!(out.receipts[0].outcome, TxOutcome::Success);
    assert!(out.receipts[0].fee_paid.is_zero());
    assert_eq!(s.job(&job).status, JobStatus::Settled);
    assert!(
        s.balance("p1") >= before,
        "an honest provider never ends poorer"
    );
    // A failed commit is not free: it pays its size like any transaction.
    let late = s.tx("p1").act(Action::CommitResults {
        commits: vec![yun_types::market::ResultCommit {
            task: yun_types::market::TaskRef { job, index: 0 },
            commitment: yun_types::Hash32::digest(b"late"),
        }],
    });
    match late {
        yun_state::scenario::Step::Included(r) => {
            assert!(matches!(r.outcome, TxOutcome::Failed(_)), "{r:?}");
            assert!(!r.fee_paid.is_zero(), "{r:?}");
        }
        other => panic!("a late commit is included and fails: {other:?}"),
    }
}

#[test]
fn a_job_bidding_below_the_price_floor_is_refused() {
    let mut s = Scenario::with_providers(0);
    s.params.market.price_floor_per_mfuel = Amount::new(5);
    s.post(&job_spec().bid(4), "alice")
        .expect_rejected(TxRejection::BidBelowPriceFloor);
    s.post(&job_spec().bid(0), "alice")
        .expect_rejected(TxRejection::BidBelowPriceFloor);
    assert_eq!(TxRejection::BidBelowPriceFloor.code(), 70);
    s.post(&job_spec().bid(5), "alice").expect_ok();
}

#[test]
fn a_job_that_would_overfill_the_queue_is_refused() {
    let mut s = Scenario::with_providers(0);
    s.params.market.queued_tasks_max = 6;
    // No provider: every task stays queued.
    s.post(&job_spec().tasks(3), "alice").expect_ok();
    s.post(&job_spec().tasks(4), "alice")
        .expect_failed(TxRejection::QueuedTasksFull);
    assert_eq!(TxRejection::QueuedTasksFull.code(), 71);
    s.post(&job_spec().tasks(2), "alice").expect_ok();
    assert_eq!(s.market().queue_tasks, 5);
    // Two one-task jobs in one block are counted together: the first fits, the second not.
    let (first, second) = (post_action(&mut s, 1), post_action(&mut s, 1));
    let nonce = s.nonce("alice");
    let a = s.tx("alice").sign(first);
    let b = s.tx("alice").nonce(nonce + 1).sign(second);
    let out = s.block(&[a, b]).unwrap();
    assert_eq!(out.receipts[0].outcome, TxOutcome::Success);
    assert_eq!(
        out.receipts[1].outcome,
        TxOutcome::Failed(TxRejection::QueuedTasksFull)
    );
}

fn post_action(s: &mut Scenario, tasks: u32) -> Action {
    let mut spec = job_spec().tasks(tasks).spec;
    spec.deadline_height = s.height + 100;
    Action::PostJob { spec }
}

#[test]
fn a_settled_job_leaves_state_after_its_retention_a_bounded_number_of_records_a_block() {
    let mut s = Scenario::with_providers(1);
    s.params.market.settled_retention_blocks = 10;
    s.params.market.prune_records_per_block_max = 3;
    s.register_all(&["p1"], offer().slots(8));
    let job = s.post(&job_spec().tasks(5), "alice").expect_ok().tx_id;
    let mut book = Commitments::default();
    s.work_round(&["p1"], &mut book, |_, t| verdict(t.index as u8, 1_000));
    let settled = s.job(&job);
    assert_eq!(settled.status, JobStatus::Settled);
    let at = settled.settled_height.expect("settled");
    let p1_before = s.balance("p1");
    let alice_before = s.balance("alice");
    let keys = |s: &mut Scenario| {
        let view = s.view();
        let tasks = view.scan(&[&[TAG_TASK][..], job.as_bytes()].concat()).len();
        let jobs = view.scan(&[&[TAG_JOB][..], job.as_bytes()].concat()).len();
        (jobs, tasks)
    };
    // Kept for the retention period...
    while s.height < at + 9 {
        s.empty_block();
    }
    assert_eq!(keys(&mut s), (1, 5));
    // ...then three records a block: three tasks, then two tasks and the job.
    s.empty_block();
    assert_eq!(keys(&mut s), (1, 2));
    s.empty_block();
    assert_eq!(keys(&mut s), (0, 0));
    assert!(s.view().scan(&[TAG_PRUNE]).is_empty(), "no marker left");
    assert!(s.view().job(&job).is_none());
    // Pruning moves no money (the scenario checks the supply after every block).
    assert_eq!(s.balance("p1"), p1_before);
    assert_eq!(s.balance("alice"), alice_before);
    assert_eq!(s.provider("p1").slashed, Amount::ZERO);
    // The provider can still leave: nothing of the job holds it.
    s.tx("p1").act(Action::ExitProvider).expect_ok();
}
