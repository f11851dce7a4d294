//! The adversary table: one row per attacker strategy, colluder share and policy, each with
//! the wrong results accepted per 10,000 tasks against the policy's target, the honest
//! providers slashed, what the attack cost (its providers' loss plus what an attacking
//! requester spent on its own jobs), what it copied and the replicas a task cost.
//!
//! Rows E and F count only the honest requesters' tasks; the attacker's own tasks (posted at
//! the same rate, `replicate{2,2}`, under F requiring the governed label `gpu=l4` that only the
//! Sybils declare) are the farm, and their cost is in the attacker's column.
//!
//! Targets. `adaptive{1e-3}` promises at most 10 wrong per 10,000 whatever the colluders do;
//! `replicate{3,2}` promises only a majority vote, so its target is the rate at which
//! colluders holding a share f of capacity hold two or three of a task's three replicas,
//! 3f²(1−f)+f³ (it cannot be zero when they hold the majority). A row passes when its wrong
//! accepts are at most the 99th percentile of Poisson(verified × target): a policy exactly at
//! its target stays under it 99 % of the time.

use super::{LiarStrategy, SimConfig, SimReport, simulate};
use yun_types::market::Verification;

/// The adaptive policy of the table.
pub const ADAPTIVE_1E3: Verification = Verification::Adaptive {
    target_error_ppm: 1_000,
};
/// The replication policy of the table.
pub const REPLICATE_3_2: Verification = Verification::Replicate { k: 3, quorum: 2 };

/// An attacker strategy: its letter, what it does, and how it changes the simulation.
#[derive(Debug, Clone, Copy)]
pub struct Strategy {
    pub key: char,
    pub name: &'static str,
    pub liar_strategy: LiarStrategy,
    pub undercut: bool,
}

/// The strategies the simulation plays.
pub const STRATEGIES: [Strategy; 8] = [
    Strategy {
        key: 'A',
        name: "naive colluders",
        liar_strategy: LiarStrategy::Always,
        undercut: false,
    },
    Strategy {
        key: 'B',
        name: "colluders who undercut",
        liar_strategy: LiarStrategy::Always,
        undercut: true,
    },
    Strategy {
        key: 'C',
        name: "patient liars",
        liar_strategy: LiarStrategy::Patient,
        undercut: false,
    },
    Strategy {
        key: 'D',
        name: "patient liars who undercut",
        liar_strategy: LiarStrategy::Patient,
        undercut: true,
    },
    Strategy {
        key: 'E',
        name: "Sybils farming on own jobs",
        liar_strategy: LiarStrategy::Farm,
        undercut: false,
    },
    Strategy {
        key: 'F',
        name: "Sybils farming, label capture",
        liar_strategy: LiarStrategy::FarmLabel,
        undercut: false,
    },
    Strategy {
        key: 'G',
        name: "declared slots to sink index",
        liar_strategy: LiarStrategy::SlotInflate,
        undercut: false,
    },
    Strategy {
        key: 'H',
        name: "late replicas that copy",
        liar_strategy: LiarStrategy::Copy,
        undercut: false,
    },
];

/// The colluders' shares of capacity the table is measured at, in percent.
pub const SHARES: [u32; 3] = [10, 20, 33];

/// One measured row.
#[derive(Debug, Clone)]
pub struct Row {
    pub strategy: Strategy,
    pub report: SimReport,
    /// The policy's target, in parts per million of verified tasks.
    pub target_ppm: u64,
    /// The most wrong accepts a policy at its target shows 99 % of the time.
    pub bound: u64,
}

impl Row {
    pub fn within_target(&self) -> bool {
        self.report.total().wrong <= self.bound
    }
}

/// The wrong-accept rate a policy promises against colluders holding `percent` % of capacity,
/// in parts per million.
pub fn target_ppm(policy: &Verification, percent: u32) -> u64 {
    match policy {
        Verification::Adaptive { target_error_ppm } => u64::from(*target_error_ppm),
        Verification::Replicate { k: 3, quorum: 2 } => {
            // 3f²(1−f) + f³ with f in hundredths: parts per 10⁶ = f³ scaled.
            let f = u64::from(percent);
            3 * f * f * (100 - f) + f * f * f
        }
        Verification::Replicate { .. } | Verification::None => 1_000_000,
    }
}

/// The smallest k with P(Poisson(λ) > k) < 1 %, λ given in thousandths. Exact for λ ≤ 30
/// (the cumulative sum, in fixed point); above that, the normal approximation
/// λ + 2.33√λ + 1, which errs on the high side by at most one or two.
pub fn poisson_99(lambda_milli: u64) -> u64 {
    if lambda_milli > 30_000 {
        let l = u128::from(lambda_milli);
        // √λ in thousandths = √(λ_milli × 1000).
        let root_milli = isqrt(l * 1_000);
        return ((l + 2_330 * root_milli / 1_000) / 1_000 + 1) as u64;
    }
    // e^-λ as (e^-(λ/64))^64, each factor by its series (λ/64 < 0.5).
    let scale: u128 = 1_000_000_000_000_000_000;
    let x = u128::from(lambda_milli) * scale / 64_000;
    let (mut term, mut e) = (scale, scale);
    for i in 1..30u128 {
        term = term * x / scale / i;
        e = if i % 2 == 1 { e - term } else { e + term };
    }
    let mut p = scale;
    for _ in 0..64 {
        p = p * e / scale;
    }
    let (mut cum, mut k) = (p, 0u64);
    while cum * 100 < 99 * scale {
        k += 1;
        p = p * u128::from(lambda_milli) / 1_000 / u128::from(k);
        cum += p;
    }
    k
}

fn isqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    let mut x = n;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + n / x) / 2;
    }
    x
}

/// The configuration of one row.
pub fn config(
    s: &Strategy,
    policy: Verification,
    percent: u32,
    tasks: u32,
    seed: u64,
) -> SimConfig {
    let mut cfg = SimConfig::new(policy, percent);
    cfg.tasks = tasks;
    cfg.seed = seed;
    cfg.liar_strategy = s.liar_strategy;
    cfg.liars_undercut = s.undercut;
    if s.liar_strategy == LiarStrategy::SlotInflate {
        g_load(&mut cfg);
    }
    cfg
}

/// Row G's load: a job in every block, so honest capacity is busy enough that the price index
/// leaves its floor (and idle declared slots would have something to pull down).
pub fn g_load(cfg: &mut SimConfig) {
    cfg.post_percent = 100;
    cfg.job_tasks_min = 30;
    cfg.job_tasks_max = 50;
}

/// Runs one row.
pub fn run_row(s: &Strategy, policy: Verification, percent: u32, tasks: u32, seed: u64) -> Row {
    let report = simulate(&config(s, policy, percent, tasks, seed));
    let target = target_ppm(&policy, percent);
    let verified = report.total().verified;
    let bound = poisson_99(verified * target / 1_000);
    Row {
        strategy: *s,
        report,
        target_ppm: target,
        bound,
    }
}

pub const HEADER: &str = "strategy                        | policy                 | share | verified | wrong/10k | target/10k | 99% bound (of run) | ok | honest slashed | honest outvoted | attacker cost | own tasks | copied | replicas/task all | 2nd half | index mean/max";

impl Row {
    /// What the attack cost, in base units: its providers' loss (fees and slashes less their
    /// pay; negative when they earned) plus what the attacking requester spent on its own jobs.
    pub fn attacker_cost(&self) -> i128 {
        self.report.liar_cost + self.report.attacker_spent as i128
    }

    pub fn line(&self) -> String {
        let r = &self.report;
        let t = r.total();
        format!(
            "{} {:<29} | {:<22} | {:>4}% | {:>8} | {:>9} | {:>10} | {:>18} | {:>2} | {:>14} | {:>15} | {:>13} | {:>9} | {:>6} | {:>17} | {:>8} | {:>14}",
            self.strategy.key,
            self.strategy.name,
            super::policy_name(&r.policy),
            r.liar_percent,
            t.verified,
            super::milli(super::ratio(t.wrong, t.verified, 10_000_000)),
            super::milli(self.target_ppm * 10),
            format!("{} (wrong {})", self.bound, t.wrong),
            if self.within_target() { "ok" } else { "NO" },
            r.honest_slashed + r.honest_silence_punished,
            r.honest_outvoted,
            self.attacker_cost(),
            r.attacker_tasks,
            r.copied,
            super::milli(t.cost_milli()),
            super::milli(r.second_half.cost_milli()),
            format!("{}/{}", r.mean_price_index, r.max_price_index),
        )
    }
}
