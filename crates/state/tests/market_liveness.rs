//! Liveness of adaptive verification under load. Adaptive tasks add replicas while verdicts are
//! sealed; if a committed replica kept its provider's slot until it revealed, every slot could
//! end up held by committed replicas waiting for one more replica of their own task, and nothing
//! would be matched or revealed until the jobs' deadlines (hold-and-wait). A commit frees the
//! slot, and these stories pin that.

use yun_state::market::{JobStatus, TaskPhase};
use yun_state::scenario::Scenario;
use yun_state::scenario_market::{Commitments, job_spec, offer, verdict};

const BOND: u128 = 1_000_000;

/// Two one-slot providers, one adaptive job of two tasks that each need two agreeing replicas
/// (40,000 ppm: one new provider is 200,000, two are 40,000). Each provider takes one task,
/// commits, and its slot stays held while its task waits for a second replica, which only the
/// other, equally held, provider could run.
#[test]

fn two_adaptive_tasks_on_two_one_slot_providers_both_verify() {
    let mut s = Scenario::new();
    s.fund("alice", 1_000_000_000_000);
    for p in ["p1", "p2"] {
        s.fund(p, 10 * BOND);
    }
    for p in ["p1", "p2"] {
        s.tx(p).act(offer().slots(1).register(BOND)).expect_ok();
    }
    let job = s
        .post(
            &job_spec().tasks(2).adaptive(40_000).deadline_in(60),
            "alice",
        )
        .expect_ok()
        .tx_id;
    let mut book = Commitments::default();
    for _ in 0..20 {
        s.work_round(&["p1", "p2"], &mut book, |_, _| verdict(7, 400_000));
    }
    for index in 0..2 {
        let task = s.task(&job, index);
        assert!(
            matches!(task.phase, TaskPhase::Verified { .. }),
            "task {index} after 40 blocks: {:?}, replicas {:?}",
            task.phase,
            task.replicas
        );
    }
    assert_eq!(s.job(&job).status, JobStatus::Settled);
}

/// The same deadlock in the market simulation: adaptive 10⁻⁴ (six agreeing new providers) with
/// 20 % liars, seed 7. Every slot ends up held by committed replicas waiting for a sixth, and
/// not one of the 300 tasks verifies (the example: `--tasks 300 --seed 7 --policy adaptive-100
/// --liars 20`).
#[test]

fn adaptive_1e4_with_20_percent_liars_keeps_verifying() {
    use yun_state::market_sim::{SimConfig, SimReport, simulate};
    use yun_types::market::Verification;
    let mut cfg = SimConfig::new(
        Verification::Adaptive {
            target_error_ppm: 100,
        },
        20,
    );
    cfg.tasks = 300;
    cfg.seed = 7;
    let r = simulate(&cfg);
    println!("{}\n{r}", SimReport::HEADER);
    let t = r.total();
    assert!(t.verified * 10 >= t.tasks * 9, "{r}");
}
