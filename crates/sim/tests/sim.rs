//! Whole-network simulations in the default test run: at least 200 seeds over every fault,
//! with 4 and 7 validators. `YUN_SIM_SEEDS=N` runs N seeds per group instead (long runs);
//! `YUN_SIM_SEED=S` runs one seed of every group (reproducing a failure).

use yun_sim::{Fault, Scenario, run};

/// Seeds per group in the default run (9 groups × 25 = 225).
const DEFAULT_SEEDS_PER_GROUP: u64 = 25;

fn seeds() -> Vec<u64> {
    if let Ok(s) = std::env::var("YUN_SIM_SEED") {
        return vec![s.parse().expect("YUN_SIM_SEED is a number")];
    }
    let n = std::env::var("YUN_SIM_SEEDS")
        .ok()
        .map_or(DEFAULT_SEEDS_PER_GROUP, |s| {
            s.parse().expect("YUN_SIM_SEEDS is a number")
        });
    (0..n).collect()
}

fn group(validators: usize, fault: Fault, salt: u64) {
    // RUST_LOG=yun_node=debug shows what the simulated nodes do.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    for seed in seeds() {
        let s = Scenario::new(
            seed.wrapping_mul(1_000_003).wrapping_add(salt),
            validators,
            fault,
        );
        let r = run(&s);
        assert!(r.common_height > 0, "seed {}: no block finalized", s.seed);
        if fault == Fault::Equivocator {
            assert!(
                r.equivocations_reported > 0,
                "seed {}: the equivocation went unreported",
                s.seed
            );
        }
        eprintln!(
            "seed {} {:?} n={}: height {} txs {} digest {}",
            s.seed,
            fault,
            validators,
            r.common_height,
            r.txs_finalized,
            &r.digest[..16]
        );
    }
}

#[test]
fn rotation_4() {
    group(4, Fault::Rotation, 9);
}

#[test]
fn steady_4() {
    group(4, Fault::Steady, 1);
}

#[test]
fn crashes_4() {
    group(4, Fault::Crashes, 2);
}

#[test]
fn crashes_7() {
    group(7, Fault::Crashes, 3);
}

#[test]
fn partition_4() {
    group(4, Fault::Partition, 4);
}

#[test]
fn partition_7() {
    group(7, Fault::Partition, 5);
}

#[test]
fn lossy_4() {
    group(4, Fault::Lossy, 6);
}

#[test]
fn equivocator_4() {
    group(4, Fault::Equivocator, 7);
}

#[test]
fn equivocator_7() {
    group(7, Fault::Equivocator, 8);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    for fault in [Fault::Crashes, Fault::Partition, Fault::Equivocator] {
        let s = Scenario::new(42, 4, fault);
        let (a, b) = (run(&s), run(&s));
        assert_eq!(
            a.digest, b.digest,
            "{fault:?}: one seed, two different runs"
        );
        assert!(a.txs_finalized > 0);
    }
}
