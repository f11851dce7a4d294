//! Property tests over random market histories: supply is conserved at every block (the
//! scenario checks it), no replica is paid twice, every job is settled by its deadline plus the
//! commit and reveal windows, and no provider that always answers correctly is ever slashed.

use proptest::prelude::*;
use yun_state::market::{
    JobStatus, ReplicaState, TAG_ASSIGNED, TAG_REVEALED, TaskPhase, task_ref_of_tail,
};
use yun_state::scenario::{Scenario, addr};
use yun_state::scenario_market::{Commitments, JobDraft, job_spec, offer, verdict};
use yun_types::Action;
use yun_types::market::JobId;

const HONEST: [&str; 4] = ["h1", "h2", "h3", "h4"];
const SILENT: [&str; 2] = ["s1", "s2"];
const REQUESTERS: [&str; 2] = ["alice", "bob"];

#[derive(Debug, Clone)]
enum Op {
    Register {
        who: usize,
        slots: u32,
        ask: u128,
        memory_mb: u64,
    },
    Post {
        who: usize,
        tasks: u32,
        policy: u8,
        bid: u128,
        memory_mb: u64,
        deadline_in: u64,
    },
    Cancel {
        job: usize,
    },
    Pause {
        who: usize,
        paused: bool,
    },
    Idle {
        blocks: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..6usize, 1..4u32, 1..20u128, prop_oneof![Just(64u64), Just(1024)])
            .prop_map(|(who, slots, ask, memory_mb)| Op::Register { who, slots, ask, memory_mb }),
        4 => (0..2usize, 1..4u32, 0..4u8, 1..30u128, prop_oneof![Just(32u64), Just(512)], 3..60u64)
            .prop_map(|(who, tasks, policy, bid, memory_mb, deadline_in)| Op::Post { who, tasks, policy, bid, memory_mb, deadline_in }),
        1 => (0..8usize).prop_map(|job| Op::Cancel { job }),
        1 => (0..6usize, any::<bool>()).prop_map(|(who, paused)| Op::Pause { who, paused }),
        2 => (1..5u64).prop_map(|blocks| Op::Idle { blocks }),
    ]
}

fn provider_name(i: usize) -> &'static str {
    if i < HONEST.len() {
        HONEST[i]
    } else {
        SILENT[i - HONEST.len()]
    }
}

fn draft(tasks: u32, policy: u8, bid: u128, memory_mb: u64, deadline_in: u64) -> JobDraft {
    let d = job_spec()
        .tasks(tasks)
        .bid(bid)
        .memory_mb(memory_mb)
        .deadline_in(deadline_in)
        .fuel(100_000_000);
    match policy {
        0 => d,
        1 => d.replicate(2, 2),
        2 => d.replicate(3, 2),
        _ => d.adaptive(10_000),
    }
}

/// Honest providers answer every assignment at once; silent ones never do.
fn honest_round(s: &mut Scenario, book: &mut Commitments) {
    s.work_round(&HONEST, book, |_, t| verdict(t.index as u8, 50_000_000));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_market_histories_keep_the_books_and_treat_honest_providers_fairly(
        ops in proptest::collection::vec(op(), 1..25),
    ) {
        let mut s = Scenario::new();
        for name in REQUESTERS {
            s.fund(name, 1_000_000_000);
        }
        for name in HONEST.iter().chain(&SILENT) {
            s.fund(name, 100_000_000);
        }
        let mut book = Commitments::default();
        let mut jobs: Vec<JobId> = Vec::new();
        let mut last_deadline = 0;
        for op in ops {
            match op {
                Op::Register { who, slots, ask, memory_mb } => {
                    let o = offer().slots(slots).ask(ask).memory_mb(memory_mb);
                    let _ = s.tx(provider_name(who)).act(o.register(1_000_000));
                }
                Op::Post { who, tasks, policy, bid, memory_mb, deadline_in } => {
                    let d = draft(tasks, policy, bid, memory_mb, deadline_in);
                    last_deadline = last_deadline.max(s.height + 1 + deadline_in);
                    if let yun_state::scenario::Step::Included(r) = s.post(&d, REQUESTERS[who]) {
                        jobs.push(r.tx_id);
                    }
                }
                Op::Cancel { job } => {
                    if let Some(id) = jobs.get(job) {
                        let owner = s.job(id).requester;
                        let name = REQUESTERS.iter().find(|n| addr(n) == owner).unwrap();
                        let _ = s.tx(name).act(Action::CancelJob { job: *id });
                    }
                }
                Op::Pause { who, paused } => {
                    let _ = s.tx(provider_name(who)).act(Action::PauseProvider { paused });
                }
                Op::Idle { blocks } => {
                    s.blocks(blocks);
                }
            }
            honest_round(&mut s, &mut book);
            if let Err(e) = keys_follow_their_tasks(&mut s) {
                prop_assert!(false, "{}", e);
            }
        }
        // Past every deadline plus the windows a running replica may still use, all is settled.
        let m = s.params.market.clone();
        while s.height <= last_deadline + m.commit_window_blocks + m.reveal_window_blocks + 2 {
            honest_round(&mut s, &mut book);
        }
        let mut spent = 0u128;
        for id in &jobs {
            let job = s.job(id);
            prop_assert_eq!(job.status, JobStatus::Settled, "job {} open after its deadline", id);
            prop_assert!(job.escrow.is_zero());
            spent += job.spent.base_units();
            for index in 0..job.spec.tasks.len() as u32 {
                let task = s.task(id, index);
                for p in HONEST.iter().chain(&SILENT) {
                    let paid = task.replicas.iter()
                        .filter(|r| r.provider == addr(p) && matches!(r.state, ReplicaState::Paid { .. }))
                        .count();
                    prop_assert!(paid <= 1, "a replica of {} paid twice on {}:{}", p, id, index);
                }
            }
        }
        let mut earned = 0u128;
        for p in HONEST.iter().chain(&SILENT) {
            if let Some(prov) = s.view().provider(&addr(p)) {
                earned += prov.earned.base_units();
                if HONEST.contains(p) {
                    prop_assert!(prov.slashed.is_zero(), "honest {} was slashed", p);
                }
            }
        }
        // What jobs spent reached the providers, less the protocol fee (burned, rounded down
        // per payment).
        let fee = spent * u128::from(s.params.market.protocol_fee_bps) / 10_000;
        prop_assert!(earned <= spent, "providers got more than jobs spent");
        prop_assert!(spent - earned <= fee, "providers got less than jobs spent less the fee");
        // Every assignment ended with its task, and every provider can leave.
        prop_assert!(s.view().scan(&[TAG_ASSIGNED]).is_empty(), "an assignment outlived its task");
        prop_assert!(s.view().scan(&[TAG_REVEALED]).is_empty(), "a reveal awaits a verdict forever");
        for p in HONEST.iter().chain(&SILENT) {
            if s.view().provider(&addr(p)).is_some() {
                let step = s.tx(p).act(Action::ExitProvider);
                prop_assert!(
                    matches!(&step, yun_state::scenario::Step::Included(r) if r.outcome == yun_types::TxOutcome::Success),
                    "{} cannot exit: {:?}", p, step
                );
            }
        }
    }
}

/// An assignment key exists only for a replica still working on an open task, and a
/// revealed-awaiting key only for a replica whose verdict is sealed or revealed: so bonds
/// cover every slash still to come, and no key outlives its task.
fn keys_follow_their_tasks(s: &mut Scenario) -> Result<(), String> {
    let view = s.view();
    for (tag, what) in [(TAG_ASSIGNED, "assigned"), (TAG_REVEALED, "revealed")] {
        for (k, _) in view.scan(&[tag]) {
            let provider = yun_types::Address(k[1..33].try_into().expect("address"));
            let t = task_ref_of_tail(&k);
            let task = view.task(&t).ok_or(format!("{what} key without a task"))?;
            let live = task.replicas.iter().any(|r| {
                r.provider == provider
                    && match tag {
                        TAG_ASSIGNED => r.state.in_flight(),
                        _ => matches!(
                            r.state,
                            ReplicaState::Sealed | ReplicaState::Revealed { .. }
                        ),
                    }
            });
            if task.phase != TaskPhase::Open || !live {
                return Err(format!(
                    "{what} key of {t:?} outlived its replica: {task:?}"
                ));
            }
        }
    }
    Ok(())
}
