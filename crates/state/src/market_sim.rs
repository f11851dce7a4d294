//! A seeded, many-block simulation of the compute market, driven through the scenario helper
//! (real signed transactions, the real end-of-block step, the supply check after every block).
//!
//! Providers are honest (reveal the task's correct verdict), *colluding liars* (all reveal the
//! same wrong verdict, so liars agree with each other) or *silent* (never commit). Requesters
//! post jobs of a few tasks at random intervals under one verification policy. The report
//! counts, per half of the run (by posting order), tasks verified and failed, verified tasks
//! whose accepted verdict is wrong, and the replicas that ran; and over the whole run, slash
//! events by provider role.
//!
//! Rates are integers (parts per million, or thousandths for the replication cost): the crate
//! forbids floating point.

pub mod adversaries;

use crate::market::records::*;
use crate::market::{group_error_ppm, replica_cap};
use crate::overlay::{MemState, Overlay};
use crate::scenario::{Scenario, addr};
use crate::scenario_market::{job_spec, offer};
use std::collections::BTreeMap;
use std::fmt;
use yun_types::market::{JobId, ResultCommit, ResultReveal, TaskRef, Verdict, Verification};
use yun_types::{Action, Address, ChainParams, Hash32, SignedTx, TxOutcome};

/// How the liars behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiarStrategy {
    /// Reveal the shared wrong verdict on every task.
    Always,
    /// Answer honestly until the liar's own streak makes it trusted alone under the job's
    /// adaptive target (`group_error_ppm([self]) <= target`), then lie (on non-adaptive jobs:
    /// always lie).
    Patient,
    /// Late replicas that copy (table H): before committing, read the task record for any
    /// other replica's revealed verdict and commit that; if none is visible (reveals are
    /// sealed until the round closes), commit the shared wrong verdict. `SimReport::copied`
    /// counts the verdicts it could read.
    Copy,
    /// Sybils of an attacking requester (table E): honest on the attacker's own jobs (posted
    /// as `replicate{2,2}`), where they farm trust whenever both replicas are theirs; on every
    /// other requester's job they lie as soon as they are trusted alone (as `Patient`).
    Farm,
    /// Table F: as `Farm`, but the attacker's jobs require a governed label (`gpu=l4`) that only
    /// its Sybils declare, so every replica of its jobs is a Sybil's and every one builds trust.
    FarmLabel,
    /// Table G: providers that answer honestly but declare the most slots a provider may
    /// (`provider_slots_max`) while really running `SimConfig::slots` at once (they commit at
    /// most that many a block and let the rest expire), to pull the compute price index down
    /// with idle declared capacity.
    SlotInflate,
}

impl LiarStrategy {
    /// Whether an attacking requester posts jobs for its Sybils to farm.
    pub fn farms(self) -> bool {
        matches!(self, LiarStrategy::Farm | LiarStrategy::FarmLabel)
    }
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub providers: usize,
    /// Share of providers that are colluding liars, in percent (rounded to whole providers).
    pub liar_percent: u32,
    /// Share of providers that never commit, in percent (at least one if non-zero).
    pub silent_percent: u32,
    pub policy: Verification,
    /// Tasks to post in total; then the chain runs until every job is settled.
    pub tasks: u32,
    /// Each task is posted in a job of `tasks_min..=tasks_max` tasks...
    pub job_tasks_min: u32,
    pub job_tasks_max: u32,
    /// ...and a job is posted in a block with probability `post_percent` %.
    pub post_percent: u32,
    pub slots: u32,
    pub liar_strategy: LiarStrategy,
    /// Liars ask 1 per million fuel while everyone else asks 2, so the auction (cheapest
    /// first) gives them first pick of every replica.
    pub liars_undercut: bool,
    /// Job deadline, in blocks after posting.
    pub deadline_in: u64,
    /// Every provider's bond, in multiples of the minimum (so a provider survives many
    /// silence and withheld-reveal slashes before it drops below the minimum).
    pub bond_multiple: u128,
    /// Under `Farm`/`FarmLabel`: the attacking requester posts this many of its own tasks for
    /// every 100 the honest requesters post.
    pub attacker_tasks_percent: u32,
}

impl SimConfig {
    /// 30 providers with 4 slots, 5 % silent, jobs of 4–12 tasks in half the blocks (about 4
    /// tasks a block), 300 tasks.
    pub fn new(policy: Verification, liar_percent: u32) -> Self {
        SimConfig {
            seed: 1,
            providers: 30,
            liar_percent,
            silent_percent: 5,
            policy,
            tasks: 300,
            job_tasks_min: 4,
            job_tasks_max: 12,
            post_percent: 50,
            slots: 4,
            liar_strategy: LiarStrategy::Always,
            liars_undercut: false,
            deadline_in: 200,
            bond_multiple: 1_000_000,
            attacker_tasks_percent: 100,
        }
    }
}

/// Counts over the tasks of the jobs posted in one half of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HalfReport {
    pub tasks: u64,
    pub verified: u64,
    /// Verified with an accepted verdict that is not the correct one.
    pub wrong: u64,
    pub failed_no_quorum: u64,
    pub failed_expirations: u64,
    pub failed_deadline: u64,
    /// Replicas that computed and revealed (paid, slashed or unsettled).
    pub replicas_run: u64,
    /// Of those, run by liars.
    pub replicas_run_by_liars: u64,
    /// Replicas assigned to a provider that stayed silent.
    pub replicas_expired: u64,
    /// Distinct providers that ran at least one replica.
    pub workers: u64,
}

impl HalfReport {
    pub fn failed(&self) -> u64 {
        self.failed_no_quorum + self.failed_expirations + self.failed_deadline
    }
    /// Wrong accepts per million verified tasks.
    pub fn wrong_ppm(&self) -> u64 {
        ratio(self.wrong, self.verified, 1_000_000)
    }
    /// Replicas that ran per verified task, in thousandths (1000 = one replica a task).
    pub fn cost_milli(&self) -> u64 {
        ratio(self.replicas_run, self.verified, 1_000)
    }
    fn add(&mut self, o: &HalfReport) {
        self.tasks += o.tasks;
        self.verified += o.verified;
        self.wrong += o.wrong;
        self.failed_no_quorum += o.failed_no_quorum;
        self.failed_expirations += o.failed_expirations;
        self.failed_deadline += o.failed_deadline;
        self.replicas_run += o.replicas_run;
        self.replicas_run_by_liars += o.replicas_run_by_liars;
        self.replicas_expired += o.replicas_expired;
        // Not the union of the halves: the larger of the two.
        self.workers = self.workers.max(o.workers);
    }
}

pub(crate) fn ratio(num: u64, den: u64, scale: u64) -> u64 {
    if den == 0 {
        0
    } else {
        (u128::from(num) * u128::from(scale) / u128::from(den)) as u64
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReport {
    pub policy: Verification,
    pub liar_percent: u32,
    pub liars: usize,
    pub silent: usize,
    pub honest: usize,
    pub blocks: u64,
    pub jobs: usize,
    pub first_half: HalfReport,
    pub second_half: HalfReport,
    /// Honest providers whose bond the chain took any part of (for any reason), and replicas of
    /// honest providers punished as silent (neither should ever happen: an honest provider
    /// never loses money).
    pub honest_slashed: u64,
    pub honest_silence_punished: u64,
    /// What the attacking requester spent in all (tables E and F): its jobs' payments and its
    /// transaction fees.
    pub attacker_spent: u128,
    /// Tasks the attacking requester posted (not counted in the halves).
    pub attacker_tasks: u64,
    /// Outvoted replicas (unpaid, trust lost, bond kept), by role.
    pub honest_outvoted: u64,
    pub liars_outvoted: u64,
    /// What the liars lost in all, in base units: what they were funded with, less their
    /// balances and bonds at the end (transaction fees + slashes − net pay; the burned
    /// protocol fee is already out of the pay). Negative: they earned.
    pub liar_cost: i128,
    pub silent_punished: u64,
    /// Verdicts of other replicas a copying liar could read from the task record.
    pub copied: u64,
    /// Liars whose bond fell below the minimum (they no longer receive tasks).
    pub liars_ejected: usize,
    /// The largest streak any liar reached at the end, and any honest provider.
    pub liar_streak_max: u64,
    pub honest_streak_max: u64,
    pub final_price_index: u128,
    /// The compute price index averaged over every block of the run, and its highest value.
    pub mean_price_index: u128,
    pub max_price_index: u128,
}

impl SimReport {
    pub fn total(&self) -> HalfReport {
        let mut t = self.first_half.clone();
        t.add(&self.second_half);
        t
    }
}

/// `1.234` from thousandths.
pub fn milli(v: u64) -> String {
    format!("{}.{:03}", v / 1000, v % 1000)
}

/// `0.1234 %` from parts per million.
pub fn ppm_percent(v: u64) -> String {
    format!("{}.{:04}%", v / 10_000, v % 10_000)
}

pub fn policy_name(v: &Verification) -> String {
    match v {
        Verification::None => "none".into(),
        Verification::Replicate { k, quorum } => format!("replicate k={k} q={quorum}"),
        Verification::Adaptive { target_error_ppm } => {
            format!("adaptive {target_error_ppm} ppm")
        }
    }
}

impl SimReport {
    pub const HEADER: &'static str = "policy                 | liars | tasks | verified | wrong | wrong-accept | failed nq/exp/dl | cost all | cost 1st | cost 2nd | liar share | expired | workers 1st/2nd | honest slashed | outvoted h/l | liar cost | liars out | blocks";

    pub fn row(&self) -> String {
        let t = self.total();
        format!(
            "{:<22} | {:>4}% | {:>5} | {:>8} | {:>5} | {:>12} | {:>16} | {:>8} | {:>8} | {:>8} | {:>10} | {:>7} | {:>15} | {:>14} | {:>12} | {:>9} | {:>9} | {:>6}",
            policy_name(&self.policy),
            self.liar_percent,
            t.tasks,
            t.verified,
            t.wrong,
            ppm_percent(t.wrong_ppm()),
            format!(
                "{}/{}/{}",
                t.failed_no_quorum, t.failed_expirations, t.failed_deadline
            ),
            milli(t.cost_milli()),
            milli(self.first_half.cost_milli()),
            milli(self.second_half.cost_milli()),
            ppm_percent(ratio(t.replicas_run_by_liars, t.replicas_run, 1_000_000)),
            t.replicas_expired,
            format!("{}/{}", self.first_half.workers, self.second_half.workers),
            self.honest_slashed + self.honest_silence_punished,
            format!("{}/{}", self.honest_outvoted, self.liars_outvoted),
            self.liar_cost,
            format!("{}/{}", self.liars_ejected, self.liars),
            self.blocks,
        )
    }
}

impl fmt::Display for SimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.row())
    }
}

/// splitmix64: a small seeded generator (the sim's own choices; the chain's tie-breaks come
/// from the block seeds).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Honest,
    Liar,
    Silent,
}

const FUEL_USED: u64 = 400_000;
/// Asks (per million fuel) of honest providers and of liars that undercut: a replica's pay
/// (400,000 fuel × the clearing price) is at least the default `trust_payment_min`.
const ASK: u128 = 5_000;
const ASK_UNDERCUT: u128 = 2_500;
const BID: u128 = 1_000_000;
const REQUESTERS: usize = 3;
/// The attacking requester of tables E and F.
const ATTACKER: &str = "sim-attacker";
/// The governed label only the Sybils of table F declare.
fn capture_label() -> (&'static str, &'static str) {
    ("gpu", "l4")
}

/// The verdict an honest provider computes for a task.
pub fn correct_verdict(t: &TaskRef) -> Verdict {
    Verdict {
        status_tag: 0,
        status_value: 0,
        fuel_used: FUEL_USED,
        output_digest: Hash32::digest(&[t.job.as_bytes(), &t.index.to_be_bytes()[..]].concat()),
    }
}

/// The liars' shared wrong verdict. Its digest is all zeros, the smallest verdict with the
/// same status and fuel, so it wins every tie between equally large groups (the worst case).
pub fn wrong_verdict() -> Verdict {
    Verdict {
        status_tag: 0,
        status_value: 0,
        fuel_used: FUEL_USED,
        output_digest: Hash32([0; 32]),
    }
}

struct Sim {
    s: Scenario,
    cfg: SimConfig,
    names: Vec<String>,
    roles: Vec<Role>,
    /// (provider index, task) → what it committed to and the salt.
    book: BTreeMap<(usize, TaskRef), (Verdict, Hash32)>,
    /// Jobs in posting order, with whether they belong to the first half.
    jobs: Vec<(JobId, bool)>,
    /// What each provider was funded with (bond included).
    funded: u128,
    copied: u64,
    attacker_funded: u128,
    /// The attacking requester's jobs (tables E and F), kept out of the halves.
    attacker_jobs: Vec<JobId>,
}

/// What provider `who` commits to for task `t`.
fn choose_verdict(
    cfg: &SimConfig,
    role: Role,
    view: &Overlay<'_, MemState>,
    params: &ChainParams,
    who: &Address,
    t: &TaskRef,
    attacker_job: bool,
) -> Verdict {
    let patient = matches!(
        cfg.liar_strategy,
        LiarStrategy::Patient | LiarStrategy::Farm | LiarStrategy::FarmLabel
    );
    match role {
        Role::Honest | Role::Silent => correct_verdict(t),
        // Sybils farm trust on their owner's jobs by answering them honestly.
        Role::Liar if attacker_job || cfg.liar_strategy == LiarStrategy::SlotInflate => {
            correct_verdict(t)
        }
        Role::Liar => match (patient, cfg.policy) {
            (true, Verification::Adaptive { target_error_ppm }) => {
                let alone = group_error_ppm(view, params, std::slice::from_ref(who));
                if alone <= u64::from(target_error_ppm) {
                    wrong_verdict()
                } else {
                    correct_verdict(t)
                }
            }
            _ => wrong_verdict(),
        },
    }
}

/// Another replica's verdict, if the task record shows one (it never should: reveals are
/// sealed until the round closes).
fn visible_verdict(task: &Task, who: &Address) -> Option<Verdict> {
    task.replicas.iter().find_map(|r| match r.state {
        ReplicaState::Revealed { verdict } if r.provider != *who => Some(verdict),
        _ => None,
    })
}

/// Runs one simulation. Panics if any transaction the simulated parties send fails (that
/// would be a market bug or a sim bug) or if the supply check fails after a block.
pub fn simulate(cfg: &SimConfig) -> SimReport {
    let mut rng = SplitMix::new(cfg.seed);
    let n = cfg.providers;
    let liars = (n * cfg.liar_percent as usize + 50) / 100;
    let silent = if cfg.silent_percent == 0 {
        0
    } else {
        ((n * cfg.silent_percent as usize + 50) / 100).max(1)
    };
    assert!(liars + silent <= n, "more liars and silent than providers");
    // A seeded shuffle decides who is who.
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let mut roles = vec![Role::Honest; n];
    for &i in &order[..liars] {
        roles[i] = Role::Liar;
    }
    for &i in &order[liars..liars + silent] {
        roles[i] = Role::Silent;
    }
    let names: Vec<String> = (0..n).map(|i| format!("sim-p{i}")).collect();

    let mut s = Scenario::new();
    let bond = s
        .params
        .market
        .provider_bond_min
        .base_units()
        .checked_mul(cfg.bond_multiple)
        .expect("bond fits");
    let funded = bond + 1_000_000_000;
    for name in &names {
        s.fund(name, funded);
    }
    for r in 0..REQUESTERS {
        s.fund(&format!("sim-req{r}"), 1u128 << 100);
    }
    let attacker_funded = 1u128 << 100;
    s.fund(ATTACKER, attacker_funded);
    // Registration: one block of every provider's RegisterProvider.
    let registrations: Vec<SignedTx> = names
        .iter()
        .zip(&roles)
        .map(|(name, role)| {
            let ask = if cfg.liars_undercut && *role == Role::Liar {
                ASK_UNDERCUT
            } else {
                ASK
            };
            let slots = if cfg.liar_strategy == LiarStrategy::SlotInflate && *role == Role::Liar {
                s.params.market.provider_slots_max
            } else {
                cfg.slots
            };
            let mut o = offer().slots(slots).ask(ask);
            if cfg.liar_strategy == LiarStrategy::FarmLabel && *role == Role::Liar {
                let (k, v) = capture_label();
                o = o.label(k, v);
            }
            s.tx(name).sign(o.register(bond))
        })
        .collect();
    let outcome = s.block(&registrations).expect("registrations are valid");
    assert!(
        outcome
            .receipts
            .iter()
            .all(|r| r.outcome == TxOutcome::Success)
    );

    let mut sim = Sim {
        s,
        cfg: cfg.clone(),
        names,
        roles,
        book: BTreeMap::new(),
        jobs: Vec::new(),
        funded,
        copied: 0,
        attacker_funded,
        attacker_jobs: Vec::new(),
    };
    let mut attacker_posted = 0u64;
    let (mut index_sum, mut index_max) = (0u128, 0u128);
    let mut posted = 0u32;
    let mut next_requester = 0usize;
    let mut last_deadline = 0u64;
    loop {
        let mut txs = Vec::new();
        if posted < cfg.tasks && rng.below(100) < u64::from(cfg.post_percent) {
            let span = u64::from(cfg.job_tasks_max - cfg.job_tasks_min + 1);
            let tasks = (cfg.job_tasks_min + rng.below(span) as u32).min(cfg.tasks - posted);
            let mut spec = job_spec().tasks(tasks).fuel(1_000_000).bid(BID).spec;
            spec.verification = cfg.policy;
            spec.deadline_height = sim.s.height + 1 + cfg.deadline_in;
            last_deadline = spec.deadline_height;
            let requester = format!("sim-req{}", next_requester % REQUESTERS);
            next_requester += 1;
            let stx = sim.s.tx(&requester).sign(Action::PostJob { spec });
            sim.jobs.push((stx.id(), posted < cfg.tasks / 2));
            posted += tasks;
            txs.push(stx);
        }
        // The attacker keeps its own tasks at `attacker_tasks_percent` of the honest ones.
        if cfg.liar_strategy.farms()
            && posted < cfg.tasks
            && attacker_posted * 100 < u64::from(posted) * u64::from(cfg.attacker_tasks_percent)
        {
            let tasks = cfg.job_tasks_max;
            let mut draft = job_spec()
                .tasks(tasks)
                .fuel(1_000_000)
                .bid(BID)
                .replicate(2, 2);
            if cfg.liar_strategy == LiarStrategy::FarmLabel {
                let (k, v) = capture_label();
                draft = draft.label(k, v);
            }
            let mut spec = draft.spec;
            spec.deadline_height = sim.s.height + 1 + cfg.deadline_in;
            last_deadline = last_deadline.max(spec.deadline_height);
            let stx = sim.s.tx(ATTACKER).sign(Action::PostJob { spec });
            sim.attacker_jobs.push(stx.id());
            attacker_posted += u64::from(tasks);
            txs.push(stx);
        }
        for p in 0..n {
            txs.extend(sim.provider_txs(p));
        }
        let outcome = sim
            .s
            .block(&txs)
            .expect("the sim only sends includable txs");
        let index = Overlay::new(&sim.s.state)
            .market()
            .price_index_per_mfuel
            .base_units();
        index_sum += index;
        index_max = index_max.max(index);
        for r in &outcome.receipts {
            assert_eq!(
                r.outcome,
                TxOutcome::Success,
                "a simulated tx failed at height {}",
                sim.s.height
            );
        }
        if posted >= cfg.tasks && sim.all_settled() {
            break;
        }
        let m = &sim.s.params.market;
        assert!(
            sim.s.height <= last_deadline + m.commit_window_blocks + m.reveal_window_blocks + 4,
            "jobs still open long after their deadline"
        );
    }
    let mut report = sim.report();
    report.mean_price_index = index_sum / u128::from(report.blocks.max(1));
    report.max_price_index = index_max;
    report
}

impl Sim {
    fn all_settled(&self) -> bool {
        let view = Overlay::new(&self.s.state);
        self.jobs
            .iter()
            .map(|(id, _)| id)
            .chain(&self.attacker_jobs)
            .all(|id| view.job(id).expect("posted job exists").status == JobStatus::Settled)
    }

    /// What provider `p` sends this block: reveals of its open commitments, then commits of its
    /// new assignments (silent providers send nothing).
    fn provider_txs(&mut self, p: usize) -> Vec<SignedTx> {
        if self.roles[p] == Role::Silent {
            return Vec::new();
        }
        let name = self.names[p].clone();
        let who = addr(&name);
        let prefix = [&[TAG_ASSIGNED][..], who.as_bytes()].concat();
        let view = Overlay::new(&self.s.state);
        let assigned: Vec<TaskRef> = view
            .scan(&prefix)
            .into_iter()
            .map(|(k, _)| task_ref_of_tail(&k))
            .collect();
        let mut commits = Vec::new();
        let mut reveals = Vec::new();
        for t in assigned {
            let task = view.task(&t).expect("assigned task exists");
            let Some(r) = task
                .replicas
                .iter()
                .find(|r| r.provider == who && r.state.in_flight())
            else {
                continue;
            };
            match r.state {
                ReplicaState::Assigned { .. }
                    if self.roles[p] == Role::Liar
                        && self.cfg.liar_strategy == LiarStrategy::SlotInflate
                        && commits.len() >= self.cfg.slots as usize => {}
                ReplicaState::Assigned { .. } => {
                    let attacker_job =
                        view.job(&t.job).expect("a task's job exists").requester == addr(ATTACKER);
                    let mut v = choose_verdict(
                        &self.cfg,
                        self.roles[p],
                        &view,
                        &self.s.params,
                        &who,
                        &t,
                        attacker_job,
                    );
                    if self.roles[p] == Role::Liar
                        && self.cfg.liar_strategy == LiarStrategy::Copy
                        && let Some(seen) = visible_verdict(&task, &who)
                    {
                        v = seen;
                        self.copied += 1;
                    }
                    let salt = Hash32::digest(
                        &[name.as_bytes(), t.job.as_bytes(), &t.index.to_be_bytes()].concat(),
                    );
                    self.book.insert((p, t), (v, salt));
                    commits.push(ResultCommit {
                        task: t,
                        commitment: v.commitment(&salt, &who, &t),
                    });
                }
                ReplicaState::Committed {
                    reveal_deadline: Some(_),
                    ..
                } => {
                    let (verdict, salt) = self.book[&(p, t)];
                    reveals.push(ResultReveal {
                        task: t,
                        verdict,
                        salt,
                    });
                }
                _ => {}
            }
        }
        drop(view);
        let nonce = self.s.nonce(&name);
        let mut txs = Vec::new();
        if !reveals.is_empty() {
            txs.push(
                self.s
                    .tx(&name)
                    .nonce(nonce)
                    .sign(Action::RevealResults { reveals }),
            );
        }
        if !commits.is_empty() {
            let n = nonce + txs.len() as u64;
            txs.push(
                self.s
                    .tx(&name)
                    .nonce(n)
                    .sign(Action::CommitResults { commits }),
            );
        }
        txs
    }

    fn report(self) -> SimReport {
        let cfg = self.cfg.clone();
        let role_of: BTreeMap<Address, Role> = self
            .names
            .iter()
            .zip(&self.roles)
            .map(|(n, r)| (addr(n), *r))
            .collect();
        let mut halves = [HalfReport::default(), HalfReport::default()];
        let mut workers = [
            std::collections::BTreeSet::new(),
            std::collections::BTreeSet::new(),
        ];
        let (mut honest_silence, mut silent_punished) = (0u64, 0u64);
        let (mut honest_outvoted, mut liars_outvoted) = (0u64, 0u64);
        let cap = replica_cap(&cfg.policy) as usize;
        let view = Overlay::new(&self.s.state);
        for (id, first) in &self.jobs {
            let half = usize::from(!*first);
            let h = &mut halves[half];
            let job = view.job(id).expect("posted job exists");
            assert!(job.escrow.is_zero(), "a settled job keeps no escrow");
            for index in 0..job.spec.tasks.len() as u32 {
                let t = TaskRef { job: *id, index };
                let task = view.task(&t).expect("task exists");
                h.tasks += 1;
                assert!(
                    task.live_replicas() <= cap,
                    "task {t:?} has more live replicas than the cap"
                );
                match task.phase {
                    TaskPhase::Verified { verdict } => {
                        h.verified += 1;
                        if verdict != correct_verdict(&t) {
                            h.wrong += 1;
                        }
                    }
                    TaskPhase::Failed { reason } => match reason {
                        FailReason::NoQuorum => h.failed_no_quorum += 1,
                        FailReason::TooManyExpirations => h.failed_expirations += 1,
                        FailReason::DeadlinePassed => h.failed_deadline += 1,
                        FailReason::Cancelled => unreachable!("the sim never cancels"),
                    },
                    TaskPhase::Open => panic!("task {t:?} still open in a settled job"),
                }
                let verified = matches!(task.phase, TaskPhase::Verified { .. });
                for r in &task.replicas {
                    let role = role_of[&r.provider];
                    match r.state {
                        ReplicaState::Unsettled if verified => match role {
                            Role::Liar => liars_outvoted += 1,
                            _ => honest_outvoted += 1,
                        },
                        ReplicaState::Paid { .. } | ReplicaState::Unsettled => {}
                        ReplicaState::Expired => {
                            h.replicas_expired += 1;
                            match role {
                                Role::Silent | Role::Liar => silent_punished += 1,
                                Role::Honest => honest_silence += 1,
                            }
                            continue;
                        }
                        // Its task ended (failed) before it committed: it neither ran nor
                        // was punished (row G's providers leave replicas uncommitted).
                        ReplicaState::Closed => continue,
                        other => panic!("replica in state {other:?} after settlement"),
                    }
                    h.replicas_run += 1;
                    workers[half].insert(r.provider);
                    if role == Role::Liar {
                        h.replicas_run_by_liars += 1;
                    }
                }
            }
        }
        let bond_min = self.s.params.market.provider_bond_min;
        let (mut liars_ejected, mut liar_streak_max, mut honest_streak_max) = (0, 0, 0);
        let mut honest_slashed = 0u64;
        let mut liar_cost = 0i128;
        for (name, role) in self.names.iter().zip(&self.roles) {
            let p = view.provider(&addr(name)).expect("providers never exit");
            match role {
                Role::Liar => {
                    let held = view
                        .account(&addr(name))
                        .balance
                        .checked_add(p.bond)
                        .expect("within supply");
                    liar_cost += self.funded as i128 - held.base_units() as i128;
                    liar_streak_max = liar_streak_max.max(p.streak);
                    if p.bond < bond_min {
                        liars_ejected += 1;
                    }
                }
                Role::Honest => {
                    honest_streak_max = honest_streak_max.max(p.streak);
                    honest_slashed += u64::from(!p.slashed.is_zero());
                }
                Role::Silent => {}
            }
        }
        let final_price_index = view.market().price_index_per_mfuel.base_units();
        let attacker_spent =
            self.attacker_funded - view.account(&addr(ATTACKER)).balance.base_units();
        let attacker_tasks = self
            .attacker_jobs
            .iter()
            .map(|id| view.job(id).expect("posted job exists").spec.tasks.len() as u64)
            .sum();
        let [mut first_half, mut second_half] = halves;
        first_half.workers = workers[0].len() as u64;
        second_half.workers = workers[1].len() as u64;
        drop(view);
        let liars = self.roles.iter().filter(|r| **r == Role::Liar).count();
        let silent = self.roles.iter().filter(|r| **r == Role::Silent).count();
        SimReport {
            policy: cfg.policy,
            liar_percent: cfg.liar_percent,
            liars,
            silent,
            honest: cfg.providers - liars - silent,
            blocks: self.s.height,
            jobs: self.jobs.len(),
            first_half,
            second_half,
            honest_slashed,
            honest_silence_punished: honest_silence,
            attacker_spent,
            attacker_tasks,
            honest_outvoted,
            liars_outvoted,
            liar_cost,
            silent_punished,
            copied: self.copied,
            liars_ejected,
            liar_streak_max,
            honest_streak_max,
            final_price_index,
            mean_price_index: 0,
            max_price_index: 0,
        }
    }
}
