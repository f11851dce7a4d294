//! Whole-network simulations in the default test run: at least 200 seeds over every fault,
//! with 4 and 7 validators (the downtime groups, slower per run, fewer). `YUN_SIM_SEEDS=N`
//! runs N seeds per group instead (long runs); `YUN_SIM_SEED=S` runs one seed of every group
//! (reproducing a failure).

use yun_sim::{Fault, Scenario, run};

/// Seeds per group in the default run (9 groups × 25 = 225).
const DEFAULT_SEEDS_PER_GROUP: u64 = 25;
/// Seeds per downtime group in the default run: each run waits for an epoch's end (the
/// silent validator) or sits through a halt, several times longer than a steady run.
const DEFAULT_SEEDS_PER_DOWNTIME_GROUP: u64 = 3;

fn seeds() -> Vec<u64> {
    seeds_or(DEFAULT_SEEDS_PER_GROUP)
}

fn seeds_or(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("YUN_SIM_SEED") {
        return vec![s.parse().expect("YUN_SIM_SEED is a number")];
    }
    let n = std::env::var("YUN_SIM_SEEDS")
        .ok()
        .map_or(default, |s| s.parse().expect("YUN_SIM_SEEDS is a number"));
    (0..n).collect()
}

fn group(validators: usize, fault: Fault, salt: u64) {
    group_of(validators, fault, salt, seeds());
}

fn group_of(validators: usize, fault: Fault, salt: u64, seeds: Vec<u64>) {
    // RUST_LOG=yun_node=debug shows what the simulated nodes do.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    for seed in seeds {
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
        if let Some(d) = &r.downtime {
            eprintln!(
                "  downtime: jailed {:?}, missed records {:?} of {}",
                d.jailed,
                d.missed_total,
                d.records_by_faulty + d.records_by_others
            );
        }
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

/// One validator of four never starts: at the first epoch's end it is jailed and slashed
/// `slash_downtime_bps` of its bond, nobody else is, and the other three keep finalizing
/// (the run's checks, `yun_sim::liveness::check`).
#[test]
fn silent_4() {
    group_of(
        4,
        Fault::Silent,
        12,
        seeds_or(DEFAULT_SEEDS_PER_DOWNTIME_GROUP),
    );
}

/// Two of four seats (more than a third) go silent for 6 s: nothing finalizes meanwhile,
/// nobody is jailed, and the chain resumes when they return.
#[test]
fn halt_4() {
    group_of(
        4,
        Fault::Halt,
        13,
        seeds_or(DEFAULT_SEEDS_PER_DOWNTIME_GROUP),
    );
}

/// Three of seven seats go silent: the same halt with a larger set.
#[test]
fn halt_7() {
    group_of(7, Fault::Halt, 14, seeds_or(1));
}

/// A proposer that clears the bit of a validator who signed: verifiers refuse its blocks
/// (none with a record is finalized), nobody is framed, the chain goes on.
#[test]
fn signers_drop_4() {
    group_of(4, Fault::SignersDrop, 15, seeds_or(1));
}

/// A proposer that sets the bit of a validator who did not sign: refused the same way.
#[test]
fn signers_add_4() {
    group_of(4, Fault::SignersAdd, 16, seeds_or(1));
}

/// A proposer that omits every record: its blocks are finalized, nobody is framed.
#[test]
fn signers_omit_4() {
    group_of(4, Fault::SignersOmit, 17, seeds_or(1));
}

/// An honest validator whose votes always arrive last (40 ms after everyone's): it is in no
/// quorum certificate, yet the records name it (proposers add the late votes) and it is never
/// jailed, through epochs that would have jailed it otherwise.
#[test]
fn slow_voter_4() {
    group_of(
        4,
        Fault::SlowVoter,
        18,
        seeds_or(DEFAULT_SEEDS_PER_DOWNTIME_GROUP),
    );
}

/// A validator whose clock runs 5 s fast stamps its proposals past the 500 ms the others
/// accept: none of its blocks is finalized, the rest of the network keeps finalizing, and
/// every accepted transaction is final everywhere (the run's own checks).
#[test]
fn fast_clock_4() {
    let s = Scenario::new(11, 4, Fault::FastClock);
    let r = run(&s);
    let (own, others) = r.fast_clock_blocks.expect("a fast-clock run counts blocks");
    assert_eq!(
        own, 0,
        "seed {}: a block stamped 5 s ahead was finalized",
        s.seed
    );
    assert!(others > 0, "seed {}: nothing was finalized", s.seed);
}

/// A Byzantine proposer that withholds every block whose seed it dislikes. A unique signature
/// leaves it nothing else: its own blocks all carry seeds it likes (so the test sees the
/// attack run), the other proposers' seeds stay fair coins, and the chain stays live. The
/// measured bias over all blocks is printed: with n validators its expected share of liked
/// seeds is (1/2 · (n−1)/n + 1/(2n)) / ((n−1)/n + 1/(2n)), 57.1 % for n = 4.
#[test]
fn seed_bias_4() {
    let mut total = yun_sim::SeedBiasReport::default();
    for seed in seeds() {
        let s = Scenario::new(
            seed.wrapping_mul(1_000_003).wrapping_add(10),
            4,
            Fault::SeedBias,
        );
        let r = run(&s);
        let b = r.seed_bias.expect("a seed-bias run reports its bias");
        assert_eq!(
            b.own_liked, b.own_blocks,
            "seed {}: the biased proposer finalized a seed it dislikes",
            s.seed
        );
        total.own_blocks += b.own_blocks;
        total.own_liked += b.own_liked;
        total.other_blocks += b.other_blocks;
        total.other_liked += b.other_liked;
    }
    // Everyone else's seeds are fair coins: within 4 standard deviations of half.
    let (n, k) = (total.other_blocks as f64, total.other_liked as f64);
    let sigma = (n * 0.25).sqrt();
    assert!(
        (k - n / 2.0).abs() <= 4.0 * sigma,
        "honest proposers' seeds are biased: {total:?}"
    );
    assert!(
        total.own_blocks > 0,
        "the biased proposer never proposed: {total:?}"
    );
    eprintln!(
        "seed bias, 4 validators, one withholding: {} of {} blocks liked ({}.{:04} %); its own {} of {}, others {} of {}",
        total.own_liked + total.other_liked,
        total.own_blocks + total.other_blocks,
        total.liked_ppm() / 10_000,
        total.liked_ppm() % 10_000,
        total.own_liked,
        total.own_blocks,
        total.other_liked,
        total.other_blocks,
    );
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
