//! The market's end-of-block step on a large state: N providers (varied asks, 4 slots, varied
//! memory, some labels) and M pending tasks (jobs of 1,000 tasks, varied bids, some below the
//! index, some needing memory or labels few providers have). The state is written directly
//! (records, escrow, queue and deadline index entries) and checked for supply conservation,
//! then `market::end_block` runs on it for several blocks: the first matches as much as fits,
//! the later ones find every slot busy. Prints what it measured, and the cost of the scans the
//! step makes, reproduced on their own.
//!
//! `cargo bench -p yun-state --features scenario --bench market`

// A benchmark measures wall time and names the machine it ran on (from /proc/cpuinfo): the
// clock and that one file read are its job, and none of it runs in consensus. The state it
// drives stays pure (clippy.toml bans these in src/).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::time::Instant;
use yun_state::market::{
    self, Job, JobStatus, MarketState, Provider, ProviderStatus, ReplicaState, TAG_ASSIGNED,
    TAG_PROVIDER, TAG_QUEUE, TAG_VERIFY, Task, TaskPhase, decode, escrow_for, initial_replicas,
    job_deadline_key, queue_key, task_ref_of_tail, verify_key,
};
use yun_state::scenario::{addr, genesis_with};
use yun_state::{
    BlockEnv, MemState, Overlay, StateReader, check_supply, genesis_writes, prefix_end,
};
use yun_types::market::{
    JobSpec, Label, ProviderSpec, TaskRef, TaskSpec, Text, Verdict, Verification,
};
use yun_types::{Address, Amount, ChainParams, Hash32};

const MIB: u64 = 1024 * 1024;
const TASKS_PER_JOB: usize = 1_000;
const BLOCKS: u64 = 6;
const INDEX: u128 = 20;

/// splitmix64, for reproducible variety.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn label(k: &str, v: &str) -> Label {
    Label {
        key: Text(k.into()),
        value: Text(v.into()),
    }
}

#[derive(Clone, Copy)]
struct Shape {
    providers: usize,
    tasks: usize,
    /// Jobs (of 1,000 tasks) that need the `gpu` label only 1 % of providers have, bidding
    /// above everyone else.
    gpu_jobs: usize,
    /// Every job fits every provider (64 MiB, no labels): isolates the cost of skipping
    /// providers that do not fit.
    uniform: bool,
    /// Before every block after the first, this many assigned replicas reveal (as
    /// `RevealResults` would leave them: revealed, slot freed, task marked for verification),
    /// so the block verifies and settles them and matches the freed slots.
    reveals: usize,
}

struct Built {
    state: MemState,
    params: ChainParams,
    build_s: f64,
}

fn build(shape: Shape) -> Built {
    let t = Instant::now();
    let mut rng = Mix(42);
    let genesis = genesis_with(&[("bench-rich", 1u128 << 100)]);
    let params = genesis.params.clone();
    let mut state = MemState::default();
    state.apply(genesis_writes(&genesis).expect("genesis"));
    let rich = addr("bench-rich");
    let mut writes = {
        let mut o = Overlay::new(&state);
        let mut locked = 0u128;
        for i in 0..shape.providers {
            let a = Address(*Hash32::digest(format!("provider{i}").as_bytes()).as_bytes());
            let mut labels = Vec::new();
            if i % 100 == 0 {
                labels.push(label("gpu", "a100"));
            }
            if i % 3 == 0 {
                labels.push(label("region", "eu"));
            }
            let bond = params.market.provider_bond_min;
            locked += bond.base_units();
            let p = Provider {
                spec: ProviderSpec {
                    slots: 4,
                    memory_bytes_per_slot: [512, 1024, 2048, 4096][i % 4] * MIB,
                    storage_bytes: 0,
                    labels,
                    ask_per_mfuel: Amount::new(1 + u128::from(rng.below(50))),
                    endpoint: Text("http://127.0.0.1:9000".into()),
                    engine_class: Hash32::digest(b"engine class A"),
                },
                bond,
                status: ProviderStatus::Active,
                reputation: rng.below(1_000),
                streak: rng.below(100),
                tasks_in_flight: 0,
                tasks_verified: 0,
                fuel_verified: 0,
                earned: Amount::ZERO,
                slashed: Amount::ZERO,
                last_paid_height: 0,
                registered_height: 0,
                slots_changed_height: 0,
                slots_proven: 0,
                spot_checks_passed: 0,
            };
            o.set_provider(&a, &p);
        }
        let jobs = shape.tasks / TASKS_PER_JOB;
        for j in 0..jobs {
            let gpu = j < shape.gpu_jobs;
            let verification = match j % 3 {
                0 => Verification::None,
                1 => Verification::Replicate { k: 3, quorum: 2 },
                _ => Verification::Adaptive {
                    target_error_ppm: 1_000,
                },
            };
            // Bids 5..=104 per million fuel: about 15 % below the index of 20; the gpu jobs bid
            // 200 so they come first in the auction.
            let bid = if gpu {
                200
            } else {
                5 + u128::from(rng.below(100))
            };
            let spec = JobSpec {
                program_hash: Hash32::digest(b"program"),
                program_bytes: 1_000,
                tasks: (0..TASKS_PER_JOB as u32)
                    .map(|i| TaskSpec {
                        input_hash: Hash32::digest(&i.to_be_bytes()),
                        input_bytes: 4,
                        args: Vec::new(),
                    })
                    .collect(),
                fuel_per_task: 1_000_000,
                memory_bytes_per_task: if shape.uniform {
                    64 * MIB
                } else {
                    [64, 256, 1024, 3072][j % 4] * MIB
                },
                verification,
                bid_per_mfuel: Amount::new(bid),
                deadline_height: 100_000,
                required_labels: if gpu {
                    vec![label("gpu", "a100")]
                } else if j % 10 == 7 && !shape.uniform {
                    vec![label("region", "eu")]
                } else {
                    Vec::new()
                },
                reduce: None,
                data_sources: Vec::new(),
                encryption_key: None,
            };
            let escrow = escrow_for(&spec).expect("escrow");
            locked += escrow.base_units();
            let id = Hash32::digest(format!("job{j}").as_bytes());
            for index in 0..TASKS_PER_JOB as u32 {
                let t = TaskRef { job: id, index };
                o.set_task(
                    &t,
                    &Task {
                        phase: TaskPhase::Open,
                        replicas: Vec::new(),
                        replicas_wanted: initial_replicas(&spec.verification),
                        expirations: 0,
                        engine_class: None,
                        spot_checked: None,
                    },
                );
                o.mark(queue_key(&t));
            }
            o.mark(job_deadline_key(spec.deadline_height, &id));
            o.set_job(
                &id,
                &Job {
                    requester: rich,
                    spec,
                    escrow,
                    spent: Amount::ZERO,
                    refunded: Amount::ZERO,
                    status: JobStatus::Open,
                    posted_height: j as u64 / 10,
                    tasks_open: TASKS_PER_JOB as u32,
                    tasks_verified: 0,
                    tasks_failed: 0,
                    settled_height: None,
                    cancelled_height: None,
                },
            );
        }
        // Bonds and escrow came out of the rich account, so the books still balance.
        let mut acct = o.account(&rich);
        acct.balance = acct
            .balance
            .checked_sub(Amount::new(locked))
            .expect("rich enough");
        o.set_account(&rich, acct);
        o.set_market(&MarketState {
            price_index_per_mfuel: Amount::new(INDEX),
            ..MarketState::default()
        });
        o.into_writes()
    };
    state.apply(std::mem::take(&mut writes));
    check_supply(
        state
            .entries
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice())),
    )
    .expect("the built state conserves supply");
    Built {
        state,
        params,
        build_s: t.elapsed().as_secs_f64(),
    }
}

/// A block's env (the step alone runs here, so the seed proof is not checked; it is a real
/// signature all the same, so the seed is as random as on a chain).
fn env(height: u64) -> BlockEnv {
    let proof = yun_state::scenario::seed_signer_of("validator").prove_seed(
        "yun-scenario",
        height,
        &Hash32::digest(&height.to_be_bytes()),
    );
    BlockEnv::new(
        "yun-scenario",
        height,
        height * 1_000,
        addr("validator"),
        proof,
    )
}

fn ms(s: f64) -> f64 {
    s * 1e3
}

/// The reads the step makes, reproduced alone on the committed state (ms): the provider scan
/// with decoding, the queue scan, and the queue walk's task and job lookups and decodes.
/// Also the queue range read straight from the store, without the overlay's merge.
fn scans(state: &MemState) -> (f64, f64, f64, f64) {
    let o = Overlay::new(state);
    let t = Instant::now();
    let n = o
        .scan(&[TAG_PROVIDER])
        .into_iter()
        .map(|(_, v)| decode::<Provider>(&v).free_slots() as usize)
        .sum::<usize>();
    std::hint::black_box(n);
    let providers = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let queue = o.scan(&[TAG_QUEUE]);
    let queue_scan = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut jobs: BTreeMap<Hash32, Job> = BTreeMap::new();
    let mut live = 0usize;
    for (k, _) in &queue {
        let r = task_ref_of_tail(k);
        jobs.entry(r.job)
            .or_insert_with(|| o.job(&r.job).expect("job"));
        live += o.task(&r).expect("task").live_replicas();
    }
    std::hint::black_box(live);
    let queue_walk = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let raw = state.range(&[TAG_QUEUE], &prefix_end(&[TAG_QUEUE])).len();
    std::hint::black_box(raw);
    let store_range = t.elapsed().as_secs_f64();
    (providers, queue_scan, queue_walk, store_range)
}

/// Shapes whose description contains the first non-flag argument (all without one).
fn selected(shape: Shape) -> bool {
    std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .is_none_or(|f| describe(shape).contains(&f))
}

/// (block 1 ms, median of the later blocks ms).
fn run(shape: Shape) -> (f64, f64) {
    let Built {
        mut state,
        params,
        build_s,
    } = build(shape);
    println!("\n{}, built in {:.1} s", describe(shape), build_s);
    let mut times = Vec::new();
    println!(
        "block | end_block ms | apply ms | writes | matched | busy slots | queue | scan providers | scan queue (store alone) | queue walk (task+job decode) | rest (auction, assign, writes) | tasks to verify | state digest"
    );
    for height in 1..=BLOCKS {
        if height > 1 && shape.reveals > 0 {
            reveal(&mut state, shape.reveals);
        }
        let (p, qs, qw, raw) = scans(&state);
        let to_verify = Overlay::new(&state).scan(&[TAG_VERIFY]).len();
        let mut o = Overlay::new(&state);
        let t = Instant::now();
        market::end_block(&mut o, &env(height), &params);
        let step = t.elapsed().as_secs_f64();
        times.push(ms(step));
        let m = o.market();
        let writes = o.into_writes();
        let n_writes = writes.len();
        let t = Instant::now();
        state.apply(writes);
        let apply = t.elapsed().as_secs_f64();
        let matched = m
            .recent_clearing
            .last()
            .filter(|(h, _)| *h == height)
            .map(|_| "yes")
            .unwrap_or("no");
        println!(
            "{height:>5} | {:>12.1} | {:>8.1} | {:>6} | {:>7} | {:>10} | {:>6} | {:>17.1} | {:>24} | {:>28.1} | {:>6.1} | {:>15} | {}",
            ms(step),
            ms(apply),
            n_writes,
            matched,
            m.slots_busy,
            m.queue_tasks,
            ms(p),
            format!("{:.1} ({:.1})", ms(qs), ms(raw)),
            ms(qw),
            ms(step - p - qs - qw).max(0.0),
            to_verify,
            digest(&state),
        );
    }
    let o = Overlay::new(&state);
    let any_job = o
        .scan(&[market::TAG_JOB])
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .expect("a job");
    let t = Instant::now();
    for _ in 0..100 {
        std::hint::black_box(decode::<Job>(&any_job));
    }
    println!(
        "one job record ({} bytes, its spec lists {TASKS_PER_JOB} tasks): {:.1} µs to decode",
        any_job.len(),
        t.elapsed().as_secs_f64() * 1e6 / 100.0
    );
    let mut later = times[1..].to_vec();
    later.sort_by(f64::total_cmp);
    (times[0], later[later.len() / 2])
}

/// `n` in-flight replicas reveal the correct verdict, as `reveal_results` leaves them (the
/// commit step is skipped: verification only looks at revealed verdicts).
fn reveal(state: &mut MemState, n: usize) {
    let writes = {
        let mut o = Overlay::new(&*state);
        let assigned = o.scan(&[TAG_ASSIGNED]);
        // Spread over providers: every k-th assignment.
        let step = (assigned.len() / n.max(1)).max(1);
        for (key, _) in assigned.iter().step_by(step).take(n) {
            let provider = Address(key[1..33].try_into().expect("address"));
            let t = task_ref_of_tail(key);
            let mut task = o.task(&t).expect("task");
            let Some(r) = task
                .replicas
                .iter_mut()
                .find(|r| r.provider == provider && r.state.in_flight())
            else {
                continue;
            };
            r.state = ReplicaState::Revealed {
                verdict: Verdict {
                    status_tag: 0,
                    status_value: 0,
                    fuel_used: 400_000,
                    output_digest: Hash32::digest(&t.index.to_be_bytes()),
                },
            };
            let mut p = o.provider(&provider).expect("provider");
            p.tasks_in_flight -= 1;
            o.set_provider(&provider, &p);
            o.delete(key.clone());
            if task.replicas.iter().all(|r| !r.state.in_flight()) {
                o.mark(verify_key(&t));
            }
            o.set_task(&t, &task);
        }
        o.into_writes()
    };
    state.apply(writes);
}

/// The first bytes of a hash over every entry: equal digests, equal states (so a faster step
/// can be checked to change nothing).
fn digest(state: &MemState) -> String {
    state.content_digest().to_string()[..12].to_string()
}

fn describe(shape: Shape) -> String {
    let kind = if shape.uniform {
        "every task fits every provider".to_string()
    } else if shape.gpu_jobs > 0 {
        format!(
            "varied memory/labels, {} top-bid jobs need a label 1 % of providers have",
            shape.gpu_jobs
        )
    } else {
        "varied memory/labels".to_string()
    };
    let churn = if shape.reveals > 0 {
        format!(", {} reveals before each later block", shape.reveals)
    } else {
        String::new()
    };
    format!(
        "{} providers × 4 slots, {} pending tasks in {} jobs ({kind}{churn})",
        shape.providers,
        shape.tasks,
        shape.tasks / TASKS_PER_JOB
    )
}

fn main() {
    println!(
        "machine: {}",
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(
                |s| s.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_string())
            )
            .unwrap_or_default()
    );
    println!(
        "each block: market::end_block on an Overlay over a MemState, no transactions; unless reveals are injected nobody commits, so slots stay busy after block 1; price index {INDEX}, bids 5–104 (gpu jobs 200), asks 1–50"
    );
    let mut summary = Vec::new();
    for (providers, tasks) in [
        (1_000, 10_000),
        (1_000, 100_000),
        (10_000, 10_000),
        (10_000, 100_000),
    ] {
        let shape = Shape {
            providers,
            tasks,
            gpu_jobs: 0,
            uniform: false,
            reveals: 0,
        };
        if selected(shape) {
            summary.push((shape, run(shape)));
        }
    }
    // Steady churn: a tenth of the slots reveal before each block, so every block verifies,
    // settles and matches about 4,000 replicas.
    let shape = Shape {
        providers: 10_000,
        tasks: 100_000,
        gpu_jobs: 0,
        uniform: false,
        reveals: 4_000,
    };
    if selected(shape) {
        summary.push((shape, run(shape)));
    }
    // The large state where every task fits every provider: no walking past unfit providers.
    let shape = Shape {
        providers: 10_000,
        tasks: 100_000,
        gpu_jobs: 0,
        uniform: true,
        reveals: 0,
    };
    if selected(shape) {
        summary.push((shape, run(shape)));
    }
    // The large state where the best-paying jobs need a label only 1 % of providers have:
    // each of their tasks walks the whole seller list once the few labelled providers are full.
    let shape = Shape {
        providers: 10_000,
        tasks: 100_000,
        gpu_jobs: 5,
        uniform: false,
        reveals: 0,
    };
    if selected(shape) {
        summary.push((shape, run(shape)));
    }
    println!("\nsummary (goal: ≤ 50 ms a block at 10,000 providers / 100,000 pending tasks)");
    println!("{:<112} | block 1 ms | later blocks ms (median)", "state");
    for (shape, (first, later)) in summary {
        println!("{:<112} | {first:>10.1} | {later:>10.1}", describe(shape));
    }
}
