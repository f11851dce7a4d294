//! Market verbs for the scenario helper, so market tests read like the story they pin:
//!
//! ```text
//! s.tx("p1").act(offer().slots(2).register(1_000_000)).expect_ok();
//! let job = s.post(&job_spec().tasks(2).replicate(3, 2), "alice").expect_ok().tx_id;
//! s.empty_block();                       // the auction assigns replicas
//! s.commit_all("p1", verdict(7));        // one commit transaction per provider
//! s.reveal_all("p1");
//! ```

use crate::market::records::*;
use crate::market::why::{TaskWhy, explain_job};
pub use crate::scenario::{ENGINE_CLASS_DEFAULT, engine_class};
use crate::scenario::{Scenario, Step, addr};
use std::collections::BTreeMap;
use yun_types::market::{
    JobId, JobSpec, Label, ProviderSpec, ReduceSpec, ResultCommit, ResultReveal, TaskRef, TaskSpec,
    Text, Verdict, Verification,
};
use yun_types::{Action, Amount, Hash32};

const MIB: u64 = 1024 * 1024;

/// A provider offer being described: 1 slot, 1 GiB, ask 1 per million fuel, engine class
/// [`ENGINE_CLASS_DEFAULT`].
#[derive(Debug, Clone)]
pub struct Offer(pub ProviderSpec);

pub fn offer() -> Offer {
    Offer(ProviderSpec {
        slots: 1,
        memory_bytes_per_slot: 1024 * MIB,
        storage_bytes: 0,
        labels: Vec::new(),
        ask_per_mfuel: Amount::new(1),
        endpoint: Text("http://127.0.0.1:9000".into()),
        engine_class: engine_class(ENGINE_CLASS_DEFAULT),
    })
}

impl Offer {
    pub fn slots(mut self, n: u32) -> Self {
        self.0.slots = n;
        self
    }
    pub fn memory_mb(mut self, mb: u64) -> Self {
        self.0.memory_bytes_per_slot = mb * MIB;
        self
    }
    pub fn ask(mut self, price: u128) -> Self {
        self.0.ask_per_mfuel = Amount::new(price);
        self
    }
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.0.labels.push(Label {
            key: key.into(),
            value: value.into(),
        });
        self
    }
    /// Declares the engine class named `name` (see [`engine_class`]).
    pub fn class(mut self, name: &str) -> Self {
        self.0.engine_class = engine_class(name);
        self
    }
    /// Declares no engine class at all (the zero hash), as an old client would.
    pub fn no_class(mut self) -> Self {
        self.0.engine_class = Hash32::ZERO;
        self
    }
    pub fn update(self) -> Action {
        Action::UpdateProvider { spec: self.0 }
    }
    pub fn register(self, bond: u128) -> Action {
        Action::RegisterProvider {
            spec: self.0,
            bond: Amount::new(bond),
        }
    }
}

/// A job being described: 1 task, 1,000,000 fuel, 64 MiB, bid 10, no verification, deadline
/// 100 blocks after posting (set relative to the scenario height by [`Scenario::post`]).
#[derive(Debug, Clone)]
pub struct JobDraft {
    pub spec: JobSpec,
    pub deadline_in: u64,
}

pub fn job_spec() -> JobDraft {
    JobDraft {
        spec: JobSpec {
            program_hash: Hash32::digest(b"program"),
            program_bytes: 1_000,
            tasks: vec![task_spec(0)],
            fuel_per_task: 1_000_000,
            memory_bytes_per_task: 64 * MIB,
            verification: Verification::None,
            bid_per_mfuel: Amount::new(10),
            deadline_height: 0,
            required_labels: Vec::new(),
            reduce: None,
            data_sources: Vec::new(),
            encryption_key: None,
        },
        deadline_in: 100,
    }
}

fn task_spec(i: u32) -> TaskSpec {
    TaskSpec {
        input_hash: Hash32::digest(&i.to_be_bytes()),
        input_bytes: 4,
        args: Vec::new(),
    }
}

impl JobDraft {
    /// Adds a data source (a URL providers may fetch the job's blobs from).
    pub fn source(mut self, url: &str) -> Self {
        self.spec
            .data_sources
            .push(yun_types::market::Text::from(url));
        self
    }
    pub fn tasks(mut self, n: u32) -> Self {
        self.spec.tasks = (0..n).map(task_spec).collect();
        self
    }
    pub fn fuel(mut self, f: u64) -> Self {
        self.spec.fuel_per_task = f;
        self
    }
    pub fn memory_mb(mut self, mb: u64) -> Self {
        self.spec.memory_bytes_per_task = mb * MIB;
        self
    }
    pub fn bid(mut self, price: u128) -> Self {
        self.spec.bid_per_mfuel = Amount::new(price);
        self
    }
    pub fn replicate(mut self, k: u8, quorum: u8) -> Self {
        self.spec.verification = Verification::Replicate { k, quorum };
        self
    }
    pub fn adaptive(mut self, target_error_ppm: u32) -> Self {
        self.spec.verification = Verification::Adaptive { target_error_ppm };
        self
    }
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.spec.required_labels.push(Label {
            key: key.into(),
            value: value.into(),
        });
        self
    }
    /// Adds a reduce step (its program is never run in `state`: only its hash is recorded).
    pub fn reduce(mut self) -> Self {
        self.spec.reduce = Some(ReduceSpec {
            program_hash: Hash32::digest(b"reduce program"),
            program_bytes: 1_000,
            args: vec!["--merge".into()],
        });
        self
    }
    pub fn deadline_in(mut self, blocks: u64) -> Self {
        self.deadline_in = blocks;
        self
    }
}

/// A successful run's verdict with output digest `digest_seed` and the given fuel.
pub fn verdict(digest_seed: u8, fuel_used: u64) -> Verdict {
    Verdict {
        status_tag: 0,
        status_value: 0,
        fuel_used,
        output_digest: Hash32([digest_seed; 32]),
    }
}

/// Salts and verdicts providers committed to, so they can reveal later.
#[derive(Debug, Default)]
pub struct Commitments(pub BTreeMap<(String, TaskRef), (Verdict, Hash32)>);

impl Scenario {
    /// Admits the engine class named `name` besides the default one (only before the first
    /// block: the list is a genesis parameter).
    pub fn admit_engine_class(&mut self, name: &str) -> &mut Self {
        assert!(
            !self.started,
            "admit_engine_class() is a genesis step: call it before any transaction"
        );
        self.params.market.engine_classes.push(engine_class(name));
        self
    }

    /// Posts a job from `requester` with its deadline relative to the next block.
    pub fn post(&mut self, draft: &JobDraft, requester: &str) -> Step {
        let mut spec = draft.spec.clone();
        spec.deadline_height = self.height + 1 + draft.deadline_in;
        self.tx(requester).act(Action::PostJob { spec })
    }

    pub fn provider(&mut self, name: &str) -> Provider {
        self.view()
            .provider(&addr(name))
            .expect("a registered provider")
    }

    pub fn job(&mut self, id: &JobId) -> Job {
        self.view().job(id).expect("a posted job")
    }

    pub fn task(&mut self, job: &JobId, index: u32) -> Task {
        self.view()
            .task(&TaskRef { job: *job, index })
            .expect("a task of the job")
    }

    pub fn market(&mut self) -> MarketState {
        self.view().market()
    }

    pub fn why(&mut self, job: &JobId) -> Vec<TaskWhy> {
        let params = self.params.clone();
        explain_job(&self.view(), &params, job).expect("a posted job")
    }

    /// Tasks currently assigned to `name` (in flight), in key order.
    pub fn assigned(&mut self, name: &str) -> Vec<TaskRef> {
        let prefix = [&[TAG_ASSIGNED][..], addr(name).as_bytes()].concat();
        self.view()
            .scan(&prefix)
            .into_iter()
            .map(|(k, _)| task_ref_of_tail(&k))
            .collect()
    }

    /// Signs one commit transaction for every task `name` still has to commit, each to
    /// `verdict_of(task)`, remembering the salts in `book`. Not executed: put it in a block.
    pub fn sign_commits(
        &mut self,
        name: &str,
        book: &mut Commitments,
        verdict_of: impl Fn(&TaskRef) -> Verdict,
    ) -> Option<yun_types::SignedTx> {
        let who = addr(name);
        let mut commits = Vec::new();
        for t in self.assigned(name) {
            let task = self.view().task(&t).expect("assigned task exists");
            let waiting = task
                .replicas
                .iter()
                .any(|r| r.provider == who && matches!(r.state, ReplicaState::Assigned { .. }));
            if !waiting {
                continue;
            }
            let v = verdict_of(&t);
            let salt = Hash32::digest(
                &[name.as_bytes(), t.job.as_bytes(), &t.index.to_be_bytes()].concat(),
            );
            book.0.insert((name.to_string(), t), (v, salt));
            commits.push(ResultCommit {
                task: t,
                commitment: v.commitment(&salt, &who, &t),
            });
        }
        (!commits.is_empty()).then(|| self.tx(name).sign(Action::CommitResults { commits }))
    }

    /// Signs one reveal transaction for every committed task of `name` whose reveal is open.
    pub fn sign_reveals(&mut self, name: &str, book: &Commitments) -> Option<yun_types::SignedTx> {
        let who = addr(name);
        let mut reveals = Vec::new();
        for t in self.assigned(name) {
            let task = self.view().task(&t).expect("assigned task exists");
            let open = task.replicas.iter().any(|r| {
                r.provider == who
                    && matches!(
                        r.state,
                        ReplicaState::Committed {
                            reveal_deadline: Some(_),
                            ..
                        }
                    )
            });
            if let (true, Some((v, salt))) = (open, book.0.get(&(name.to_string(), t))) {
                reveals.push(ResultReveal {
                    task: t,
                    verdict: *v,
                    salt: *salt,
                });
            }
        }
        (!reveals.is_empty()).then(|| self.tx(name).sign(Action::RevealResults { reveals }))
    }

    /// One round of honest-or-not work: every named provider commits what it must (one block),
    /// then reveals what it can (one block).
    pub fn work_round(
        &mut self,
        providers: &[&str],
        book: &mut Commitments,
        verdict_of: impl Fn(&str, &TaskRef) -> Verdict,
    ) {
        let commits: Vec<_> = providers
            .iter()
            .filter_map(|p| self.sign_commits(p, book, |t| verdict_of(p, t)))
            .collect();
        self.block(&commits).expect("commits are includable");
        let reveals: Vec<_> = providers
            .iter()
            .filter_map(|p| self.sign_reveals(p, book))
            .collect();
        self.block(&reveals).expect("reveals are includable");
    }
}

/// The bond every provider of [`Scenario::market`] registers with.
pub const MARKET_BOND: u128 = 1_000_000;

impl Scenario {
    /// A chain with a rich requester `alice` and `providers` funded providers p1…pn (ten
    /// bonds each, not yet registered): the opening of most market stories.
    pub fn with_providers(providers: usize) -> Scenario {
        let mut s = Scenario::new();
        s.fund("alice", 1_000_000_000_000);
        for i in 1..=providers {
            s.fund(&format!("p{i}"), 10 * MARKET_BOND);
        }
        s
    }

    /// Registers each named provider with offer `o` and [`MARKET_BOND`]; each must succeed.
    pub fn register_all(&mut self, names: &[&str], o: Offer) {
        for name in names {
            self.tx(name)
                .act(o.clone().register(MARKET_BOND))
                .expect_ok();
        }
    }
}
