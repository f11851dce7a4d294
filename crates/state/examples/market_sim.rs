//! The market simulation's whole table: every verification policy against 0–33 % colluding
//! liars (plus silent providers), then the adversarial variants.
//!
//! `cargo run --release -p yun-state --features scenario --example market_sim [-- --tasks N --seed S]`
//! Optional filters: `--table A|B|C|D|adversaries` (adversaries: the issue 14 table, 10,000
//! tasks a row unless `--tasks`), `--policy none|replicate|adaptive-10000|adaptive-1000|adaptive-100`,
//! `--liars P`; load: `--post-percent P` (default 50), `--job-tasks-max N` (default 12).

// This example measures wall time and names the machine it ran on (from /proc/cpuinfo): the
// clock and that one file read are its job, and none of it runs in consensus. The state it
// drives stays pure (clippy.toml bans these in src/).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::time::Instant;
use yun_state::market_sim::{LiarStrategy, SimConfig, SimReport, simulate};
use yun_types::market::Verification;

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn arg_str(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn arg(name: &str) -> Option<u64> {
    arg_str(name).map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} takes a number"))
    })
}

/// `--post-percent P` and `--job-tasks-max N` change the load (defaults: 50, 12).
fn load(cfg: &mut SimConfig) {
    if let Some(p) = arg("--post-percent") {
        cfg.post_percent = p as u32;
    }
    if let Some(n) = arg("--job-tasks-max") {
        cfg.job_tasks_max = n as u32;
    }
}

fn policy_key(v: &Verification) -> String {
    match v {
        Verification::None => "none".into(),
        Verification::Replicate { .. } => "replicate".into(),
        Verification::Adaptive { target_error_ppm } => format!("adaptive-{target_error_ppm}"),
    }
}

const POLICIES: [Verification; 5] = [
    Verification::None,
    Verification::Replicate { k: 3, quorum: 2 },
    Verification::Adaptive {
        target_error_ppm: 10_000,
    },
    Verification::Adaptive {
        target_error_ppm: 1_000,
    },
    Verification::Adaptive {
        target_error_ppm: 100,
    },
];
const LIARS: [u32; 4] = [0, 10, 20, 33];

fn table(key: &str, title: &str, tasks: u32, seed: u64, tweak: impl Fn(&mut SimConfig)) {
    if arg_str("--table").is_some_and(|t| t != key) {
        return;
    }
    println!("\n{key}. {title}");
    println!("{}", SimReport::HEADER);
    let only_policy = arg_str("--policy");
    let only_liars = arg("--liars");
    for policy in POLICIES {
        if only_policy
            .as_ref()
            .is_some_and(|p| *p != policy_key(&policy))
        {
            continue;
        }
        for liars in LIARS {
            if only_liars.is_some_and(|l| l != u64::from(liars)) {
                continue;
            }
            let mut cfg = SimConfig::new(policy, liars);
            cfg.tasks = tasks;
            cfg.seed = seed;
            load(&mut cfg);
            tweak(&mut cfg);
            let t = Instant::now();
            let r = simulate(&cfg);
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(r.honest_silence_punished, 0, "{r}");
            assert_eq!(r.honest_slashed, 0, "{r}");
            println!("{r}   ({secs:.1} s)");
        }
    }
}

/// `--table adversaries`: one row per strategy, colluder share and policy (issue 14), plus
/// each policy's cost with nobody lying.
fn adversaries(tasks: u32, seed: u64) -> usize {
    use yun_state::market_sim::adversaries::*;
    println!("\nadversaries ({tasks} tasks a row, seed {seed})\n{HEADER}");
    let honest = Strategy {
        key: '-',
        name: "nobody lies",
        liar_strategy: LiarStrategy::Always,
        undercut: false,
    };
    // `--rows CDE`, `--policy adaptive-1000` (or `replicate`) and `--liars 33` narrow the table.
    let only_rows = arg_str("--rows");
    let only_liars = arg("--liars");
    let only_policy = arg_str("--policy");
    let mut failed = 0;
    for policy in [ADAPTIVE_1E3, REPLICATE_3_2] {
        if only_policy
            .as_ref()
            .is_some_and(|p| *p != policy_key(&policy))
        {
            continue;
        }
        let row = run_row(&honest, policy, 0, tasks, seed);
        println!("{}", row.line());
        // With nobody lying, adaptive must stay cheap once trust has built (issue 14: at most
        // 1.3 replicas a task).
        if policy == ADAPTIVE_1E3 && row.report.second_half.cost_milli() > 1_300 {
            failed += 1;
            println!("  ^ costs more than 1.3 replicas a task in the second half");
        }
        for s in &STRATEGIES {
            if only_rows.as_ref().is_some_and(|r| !r.contains(s.key)) {
                continue;
            }
            for share in SHARES {
                if only_liars.is_some_and(|l| l != u64::from(share)) {
                    continue;
                }
                let t = Instant::now();
                let row = run_row(s, policy, share, tasks, seed);
                // A bond taken from an honest provider (for anything) or an honest replica
                // punished as silent fails the row, as does a rate above the target.
                let ok = row.within_target()
                    && row.report.honest_slashed == 0
                    && row.report.honest_silence_punished == 0;
                failed += usize::from(!ok);
                println!("{}   ({:.1} s)", row.line(), t.elapsed().as_secs_f64());
            }
        }
    }
    println!(
        "rows outside their target, costing the honest, or too dear with nobody lying: {failed}"
    );
    failed
}

fn main() {
    let tasks = arg("--tasks").unwrap_or(5_000) as u32;
    let seed = arg("--seed").unwrap_or(1);
    let mut base = SimConfig::new(Verification::None, 0);
    load(&mut base);
    println!(
        "machine: {} ({} threads)",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "parameters: {} providers × {} slots, {} % silent, jobs of {}–{} tasks posted in {} % of blocks, {tasks} tasks per row, seed {seed}, deadline {} blocks, bonds {}× the minimum",
        base.providers,
        base.slots,
        base.silent_percent,
        base.job_tasks_min,
        base.job_tasks_max,
        base.post_percent,
        base.deadline_in,
        base.bond_multiple,
    );
    println!(
        "chain: default market params (prior 200,000 ppm, commit/reveal windows 20 blocks, withheld-reveal slash 10 %, silence slash 1 %, no slash for a vote)"
    );
    println!(
        "wrong-accept = verified tasks with the liars' verdict ÷ verified; cost = replicas that ran ÷ verified (1st/2nd = jobs posted in the first/second half); liar share = replicas run by liars ÷ replicas run"
    );
    let t = Instant::now();
    if arg_str("--table").as_deref() == Some("adversaries") {
        let failed = adversaries(arg("--tasks").unwrap_or(10_000) as u32, seed);
        println!("\ntotal {:.1} s", t.elapsed().as_secs_f64());
        // The gate: any failing row makes the run fail.
        if failed > 0 {
            std::process::exit(1);
        }
        return;
    }
    table(
        "A",
        "liars always lie, everyone asks the same",
        tasks,
        seed,
        |_| {},
    );
    table(
        "B",
        "liars always lie and undercut the ask (1 vs 2), so the auction prefers them among providers of equal reputation",
        tasks,
        seed,
        |c| c.liars_undercut = true,
    );
    table(
        "C",
        "patient liars: honest until their own streak makes them trusted alone under the adaptive target, then lie; same ask",
        tasks,
        seed,
        |c| c.liar_strategy = LiarStrategy::Patient,
    );
    table(
        "D",
        "patient liars that also undercut the ask",
        tasks,
        seed,
        |c| {
            c.liars_undercut = true;
            c.liar_strategy = LiarStrategy::Patient;
        },
    );
    println!("\ntotal {:.1} s", t.elapsed().as_secs_f64());
}
