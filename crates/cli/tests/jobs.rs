//! End to end on an in-process devnet with provider agents: an 8-task job with k = 3 is
//! verified and reduced on the network, its outputs equal the native computation, every
//! provider is paid exactly its verified fuel at the clearing price and the rest of the escrow
//! goes back; a provider that lies is outvoted (unpaid, distrusted; a vote never slashes); a
//! reduce run on the network at k = 3 outvotes a lying reducer and equals the local reduce; a
//! provider killed mid-task is replaced; a job nobody can run is refunded at its deadline and
//! `yun job why` says why; a module every sandbox refuses is a verified, paid cannot-run
//! verdict, not a slash.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use yun_cli::keys::key_from_mnemonic;
use yun_cli::results::ReduceWhere;
use yun_cli::submit::{Submission, SubmitArgs, run_submit};
use yun_cli::{ClientOpts, Output};
use yun_client::Client;
use yun_node::run::NodeHandle;
use yun_provider::{AgentHandle, Fault};
use yun_types::api::{JobStatus, ReplicaState, TaskPhase, WaitReason};
use yun_types::{Address, Amount};

const PROVIDERS: usize = 4;
const COMMIT_WINDOW_BLOCKS: u64 = 30;

mod support;
use support::guest;

struct Net {
    dir: tempfile::TempDir,
    node: NodeHandle,
    client: Client,
}

impl Net {
    /// A devnet with 2 dev accounts and funded provider accounts, fast blocks and a short
    /// commit window so expirations happen within the test.
    fn start() -> Net {
        let d = support::Devnet::start(PROVIDERS, 200, |g| {
            g["params"]["market"]["commit_window_blocks"] = COMMIT_WINDOW_BLOCKS.into();
        });
        Net {
            dir: d.dir,
            node: d.node,
            client: d.client,
        }
    }

    fn opts(&self) -> ClientOpts {
        ClientOpts {
            node: self.node.api_url(),
            output: Output::Json,
            devnet_dir: Some(self.dir.path().to_path_buf()),
        }
    }

    async fn agent(&self, i: usize, fault: Option<Fault>, run_delay: Duration) -> AgentHandle {
        let mut cfg = support::agent_config(&self.node.api_url(), self.dir.path(), i);
        cfg.offer.slots = 2;
        cfg.wall_time_max = Duration::from_secs(120);
        cfg.fault = fault;
        cfg.run_delay = run_delay;
        yun_provider::start(cfg).await.unwrap()
    }

    /// Writes a job file for `tasks` pi tasks with the given verification table and a
    /// `pi --merge` reduce step.
    fn pi_job(
        &self,
        name: &str,
        tasks: u32,
        verification: &str,
        extra: &str,
        deadline_blocks: u64,
    ) -> PathBuf {
        let pi = guest("pi");
        let path = self.pi_job_without_reduce(name, tasks, verification, extra, deadline_blocks);
        let mut body = std::fs::read_to_string(&path).unwrap();
        body.push_str(&format!(
            "\n[reduce]\nprogram = {pi:?}\nargs = [\"--merge\"]\n"
        ));
        std::fs::write(&path, body).unwrap();
        path
    }

    fn pi_job_without_reduce(
        &self,
        name: &str,
        tasks: u32,
        verification: &str,
        extra: &str,
        deadline_blocks: u64,
    ) -> PathBuf {
        let pi = guest("pi");
        let body = format!(
            "program = {pi:?}\nargs = [\"--samples\", \"200000\", \"--seed\", \"{{index}}\"]\n\
             fuel_per_task = 500000000\nmemory_mb = 32\nbid_per_mfuel = \"1000\"\n\
             deadline_blocks = {deadline_blocks}\n{extra}\n[verification]\n{verification}\n\
             [inputs]\ncount = {tasks}\n"
        );
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, body).unwrap();
        path
    }

    async fn submit(&self, job_file: PathBuf, out: &Path, detach: bool) -> Submission {
        self.submit_reducing(job_file, out, detach, ReduceWhere::Network)
            .await
    }

    async fn submit_reducing(
        &self,
        job_file: PathBuf,
        out: &Path,
        detach: bool,
        reduce: ReduceWhere,
    ) -> Submission {
        let args = SubmitArgs {
            job_file,
            out: Some(out.to_path_buf()),
            detach,
            timeout_secs: 300,
            reduce,
            keep_outputs_epochs: 0,
            keep_outputs_replicas: 3,
            encrypt: false,
            sign: support::sign("dev0"),
        };
        run_submit(args, &self.opts()).await.unwrap()
    }

    /// Signs upload tickets as dev0, the requester.
    fn uploader(&self) -> yun_client::Uploader {
        let dev0 = yun_cli::keys::dev_account(0);
        yun_client::Uploader::new(key_from_mnemonic(&dev0.mnemonic.parse().unwrap()))
    }

    async fn balance(&self, a: &Address) -> Amount {
        self.client.account(a).await.unwrap().balance
    }
}

#[test]
fn verified_job_pays_exactly_and_the_liar_is_outvoted() {
    let net = Net::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut agents = Vec::new();
        for i in 0..PROVIDERS {
            let fault = (i == PROVIDERS - 1).then_some(Fault::WrongOutput);
            agents.push(net.agent(i, fault, Duration::ZERO).await);
        }
        let liar = agents[PROVIDERS - 1].address;
        let requester = yun_cli::keys::dev_account(0).address;
        let before = net.balance(&requester).await;
        let job_file = net.pi_job(
            "pi",
            8,
            "policy = \"replicate\"\nk = 3\nquorum = 2",
            "",
            400,
        );
        let out = net.dir.path().join("out");
        let Submission::Finished(report) = net.submit(job_file, &out, false).await else {
            panic!("not detached")
        };
        let job = net.client.job(&report.job).await.unwrap();
        assert_eq!(job.job.status, JobStatus::Settled);
        assert_eq!(
            job.job.tasks_verified, 9,
            "every map task and the reduce verified: {job:?}"
        );
        let reduce = job.reduce.as_ref().expect("the reduce ran on the network");

        // Outputs equal the native computation, and the reduce adds them up.
        let (mut inside, mut total) = (0, 0);
        for i in 0..8u64 {
            let s = yun_kernels::pi_monte_carlo(i, 200_000);
            let stdout = std::fs::read_to_string(out.join(format!("tasks/{i:05}/stdout"))).unwrap();
            assert_eq!(stdout, format!("{} {}\n", s.inside, s.total), "task {i}");
            inside += s.inside;
            total += s.total;
        }
        let reduced = report.reduce_stdout.clone().expect("reduce ran");
        let TaskPhase::Verified { verdict } = reduce.task.phase else {
            panic!("the reduce is verified: {reduce:?}")
        };
        assert_eq!(report.reduce_digest, Some(verdict.output_digest));
        assert_eq!(
            std::fs::read_to_string(out.join("reduce/stdout")).unwrap(),
            reduced,
            "the reduce output is downloaded"
        );
        assert!(
            reduced.starts_with(&format!("{inside} {total} ")),
            "{reduced}"
        );

        // Each paid replica was due floor(fuel × its price / 10⁶) from escrow and got that less
        // the burned protocol fee; the nets are the providers' earnings; escrow is empty and
        // the requester paid spent + one fee. The liar is outvoted: unpaid, never slashed for a
        // vote (issue 14).
        let fee_bps = net
            .client
            .genesis()
            .await
            .unwrap()
            .params
            .market
            .protocol_fee_bps;
        let net_of =
            |due: u128| due - yun_state::arith::bps_of(Amount::new(due), fee_bps).base_units();
        let mut gross = 0u128;
        let mut paid = std::collections::BTreeMap::<Address, u128>::new();
        let mut liar_outvoted = 0;
        let maps = job.tasks.iter().map(|t| (t.index, &t.task));
        for (index, task) in maps.chain([(reduce.index, &reduce.task)]) {
            let TaskPhase::Verified { verdict } = task.phase else {
                unreachable!()
            };
            for r in &task.replicas {
                match r.state {
                    ReplicaState::Paid { amount } => {
                        let due = r.price_per_mfuel.base_units() * u128::from(verdict.fuel_used)
                            / 1_000_000;
                        assert_eq!(
                            amount.base_units(),
                            net_of(due),
                            "task {index} replica {}",
                            r.provider
                        );
                        gross += due;
                        *paid.entry(r.provider).or_default() += amount.base_units();
                        assert_ne!(r.provider, liar, "the liar is never paid");
                    }
                    ReplicaState::Unsettled => {
                        assert_eq!(r.provider, liar, "only the liar is outvoted");
                        liar_outvoted += 1;
                    }
                    ref s => panic!("task {index} replica in state {s:?}"),
                }
            }
        }
        let spent = gross;
        assert_eq!(job.job.spent.base_units(), spent);
        assert_eq!(job.job.escrow, Amount::ZERO);
        for (p, amount) in &paid {
            assert_eq!(
                net.client
                    .provider(p)
                    .await
                    .unwrap()
                    .provider
                    .earned
                    .base_units(),
                *amount
            );
        }
        // What the PostJob paid (fees follow its size and writes; its receipt says).
        let posted = net.client.tx(&report.job).await.unwrap();
        let fee = posted.receipt.expect("committed").fee_paid.base_units();
        let after = net.balance(&requester).await;
        assert_eq!(after.base_units() + spent + fee, before.base_units());
        assert_eq!(
            report
                .paid_by_provider
                .values()
                .map(|a| a.base_units())
                .sum::<u128>(),
            paid.values().sum::<u128>(),
            "the report lists what each provider received"
        );

        let liar_view = net.client.provider(&liar).await.unwrap();
        assert!(
            liar_outvoted > 0,
            "the liar was on some task (4 providers, 3 per task)"
        );
        assert_eq!(
            liar_view.provider.slashed,
            Amount::ZERO,
            "a vote never slashes"
        );
        assert_eq!(liar_view.provider.earned, Amount::ZERO);
        assert_eq!(liar_view.provider.streak, 0, "and the liar lost its trust");
        for a in agents {
            a.shutdown().await.unwrap();
        }
    });
}

/// Issue 15, item 7: the reduce step is a task on the network. Three providers, k = 3, one of
/// them honest on every map task but lying about the reduce: the reduce is verified by the
/// two honest reducers, the liar is outvoted (unpaid for it, its trust gone, its bond
/// untouched: a vote never slashes), and `yun job submit` downloads the verified reduce
/// output, which equals what `--reduce local` computes over the same outputs.
#[test]
fn a_network_reduce_outvotes_a_lying_reducer_and_equals_the_local_reduce() {
    let net = Net::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut agents = Vec::new();
        for i in 0..3 {
            let fault = (i == 2).then_some(Fault::WrongReduceOutput);
            agents.push(net.agent(i, fault, Duration::ZERO).await);
        }
        let liar = agents[2].address;
        let k3 = "policy = \"replicate\"\nk = 3\nquorum = 2";
        let job_file = net.pi_job("net-reduce", 4, k3, "", 400);
        let out = net.dir.path().join("out-net-reduce");
        let Submission::Finished(report) = net.submit(job_file.clone(), &out, false).await else {
            panic!("not detached")
        };
        let job = net.client.job(&report.job).await.unwrap();
        assert_eq!(job.job.status, JobStatus::Settled);
        let reduce = job.reduce.as_ref().expect("the reduce ran on the network");
        assert_eq!(reduce.index, 4);
        assert_eq!(
            reduce.inputs.iter().map(|i| i.index).collect::<Vec<_>>(),
            [0, 1, 2, 3],
            "over every map output, in order"
        );
        let TaskPhase::Verified { verdict } = reduce.task.phase else {
            panic!("the reduce is verified: {reduce:?}")
        };
        assert_eq!(report.reduce_digest, Some(verdict.output_digest));
        let mut paid = 0;
        for r in &reduce.task.replicas {
            if r.provider == liar {
                assert_eq!(
                    r.state,
                    ReplicaState::Unsettled,
                    "the lying reducer is outvoted"
                );
            } else {
                assert!(matches!(r.state, ReplicaState::Paid { .. }), "{r:?}");
                paid += 1;
            }
        }
        assert_eq!(paid, 2, "both honest reducers are paid");
        let liar_view = net.client.provider(&liar).await.unwrap().provider;
        assert_eq!(liar_view.slashed, Amount::ZERO, "a vote never slashes");
        assert_eq!(liar_view.streak, 0, "the lying reducer loses its trust");
        assert_eq!(
            liar_view.tasks_verified, 4,
            "paid for its four honest map results, not for the lie"
        );

        // The reduce output is the sum of the map outputs, and the same as a local reduce.
        let (mut inside, mut total) = (0, 0);
        for i in 0..4u64 {
            let s = yun_kernels::pi_monte_carlo(i, 200_000);
            inside += s.inside;
            total += s.total;
        }
        let network = report.reduce_stdout.clone().expect("the reduce output");
        assert!(
            network.starts_with(&format!("{inside} {total} ")),
            "{network}"
        );
        let out_local = net.dir.path().join("out-local-reduce");
        let Submission::Finished(local) = net
            .submit_reducing(job_file, &out_local, false, ReduceWhere::Local)
            .await
        else {
            panic!("not detached")
        };
        let local_job = net.client.job(&local.job).await.unwrap();
        assert!(
            local_job.job.spec.reduce.is_none(),
            "posted without a reduce"
        );
        assert!(local_job.reduce.is_none());
        assert_eq!(local.reduce_stdout, Some(network));
        for a in agents {
            a.shutdown().await.unwrap();
        }
    });
}

/// A map provider that stops serving its output (here: it crashes right after its map result
/// is verified) leaves the reducer nothing to fetch. The reducer says so in a `DataMissing`
/// cannot-run verdict, which is verified and paid like any other, never silence.
#[test]
fn a_reduce_whose_map_output_nobody_serves_is_a_paid_cannot_run_verdict() {
    use yun_types::market::{CannotRun, Verdict};
    let net = Net::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Alone, and slow to start each task: it takes the map, then the reduce, and is
        // killed before it runs the reduce.
        let mapper = net.agent(0, None, Duration::from_secs(2)).await;
        let mapper_address = mapper.address;
        let job_file = net.pi_job("gone", 1, "policy = \"none\"", "", 400);
        let out = net.dir.path().join("out-gone");
        let Submission::Posted(id) = net.submit(job_file, &out, true).await else {
            panic!("detached")
        };
        wait_until(&net.client, &id, |j| j.reduce.is_some()).await;
        mapper.kill().await;
        let reducer = net.agent(1, None, Duration::ZERO).await;
        let job = wait_until(&net.client, &id, |j| j.job.status == JobStatus::Settled).await;
        let reduce = job.reduce.as_ref().unwrap();
        assert_eq!(
            reduce.task.phase,
            TaskPhase::Verified {
                verdict: Verdict::cannot_run(CannotRun::DataMissing, 2)
            },
            "{reduce:?}"
        );
        let mine = reduce
            .task
            .replicas
            .iter()
            .find(|r| r.provider == reducer.address)
            .unwrap();
        assert!(matches!(mine.state, ReplicaState::Paid { .. }), "{mine:?}");
        assert!(
            reduce
                .task
                .replicas
                .iter()
                .any(|r| r.provider == mapper_address && r.state == ReplicaState::Expired),
            "the crashed mapper's reduce replica expired"
        );
        let reducer_view = net
            .client
            .provider(&reducer.address)
            .await
            .unwrap()
            .provider;
        assert_eq!(reducer_view.slashed, Amount::ZERO);
        reducer.shutdown().await.unwrap();
    });
}

#[test]
fn killed_provider_is_replaced_and_an_unrunnable_job_is_refunded() {
    let net = Net::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Only a slow provider exists when the job is posted, so it takes the task; it is
        // killed mid-task and a second provider finishes it after the replica expires.
        let slow = net.agent(0, None, Duration::from_secs(3600)).await;
        let slow_address = slow.address;
        let out = net.dir.path().join("out-kill");
        let job_file = net.pi_job("one", 1, "policy = \"none\"", "", 400);
        let Submission::Posted(id) = net.submit(job_file, &out, true).await else {
            panic!("detached")
        };
        wait_until(&net.client, &id, |j| {
            j.tasks[0]
                .task
                .replicas
                .iter()
                .any(|r| r.provider == slow_address)
        })
        .await;
        slow.kill().await;
        let fresh = net.agent(1, None, Duration::ZERO).await;
        let job = wait_until(&net.client, &id, |j| j.job.status == JobStatus::Settled).await;
        let t = &job.tasks[0];
        assert!(matches!(t.task.phase, TaskPhase::Verified { .. }), "{t:?}");
        assert_eq!(t.task.replicas[0].provider, slow_address);
        assert_eq!(t.task.replicas[0].state, ReplicaState::Expired);
        assert_eq!(t.task.replicas[1].provider, fresh.address);
        assert!(matches!(
            t.task.replicas[1].state,
            ReplicaState::Paid { .. }
        ));

        // A job needing a label nobody carries waits, fails at its deadline, and is refunded.
        let job_file = net.pi_job(
            "gpu",
            2,
            "policy = \"none\"",
            "required_labels = [\"gpu=a100\"]",
            10,
        );
        let Submission::Posted(id) = net.submit(job_file, &out, true).await else {
            panic!("detached")
        };
        let job = wait_until(&net.client, &id, |j| j.job.status == JobStatus::Settled).await;
        assert_eq!(job.job.tasks_failed, 2);
        assert_eq!(job.job.spent, Amount::ZERO);
        assert_eq!(job.job.escrow, Amount::ZERO);
        assert!(job.job.refunded > Amount::ZERO);
        let why = net.client.job_why(&id).await.unwrap();
        assert_eq!(why.tasks.len(), 2);
        let WaitReason::Failed {
            unmet: Some(unmet), ..
        } = &why.tasks[0].reason
        else {
            panic!("{why:?}")
        };
        assert_eq!(**unmet, WaitReason::NoProviderWithLabels);
        let text = Command::new(env!("CARGO_BIN_EXE_yun"))
            .args(["job", "why", &id.to_string(), "--node", &net.node.api_url()])
            .output()
            .unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        assert!(
            text.contains("deadline passed") && text.contains("label"),
            "{text}"
        );
        fresh.shutdown().await.unwrap();
    });
}

#[test]
fn a_provider_restarted_after_committing_reveals_from_its_journal_without_rerunning() {
    let net = Net::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Reveals open only when all three replicas committed; the third provider is slow, so
        // the first sits committed when it is killed.
        let first = net.agent(0, None, Duration::ZERO).await;
        let second = net.agent(1, None, Duration::ZERO).await;
        let slow = net.agent(2, None, Duration::from_secs(4)).await;
        let first_address = first.address;
        // No reduce: the restarted agent must run nothing at all.
        let job_file = net.pi_job_without_reduce(
            "restart",
            1,
            "policy = \"replicate\"\nk = 3\nquorum = 2",
            "",
            400,
        );
        let out = net.dir.path().join("out-restart");
        let Submission::Posted(id) = net.submit(job_file, &out, true).await else {
            panic!("detached")
        };
        let committed = |j: &yun_types::api::JobResponse| {
            j.tasks[0].task.replicas.iter().any(|r| {
                r.provider == first_address
                    && matches!(
                        r.state,
                        ReplicaState::Committed {
                            reveal_deadline: None,
                            ..
                        }
                    )
            })
        };
        wait_until(&net.client, &id, committed).await;
        assert_eq!(first.tasks_run(), 1);
        first.kill().await;
        let restarted = net.agent(0, None, Duration::ZERO).await;
        let job = wait_until(&net.client, &id, |j| j.job.status == JobStatus::Settled).await;
        let mine = job.tasks[0]
            .task
            .replicas
            .iter()
            .find(|r| r.provider == first_address)
            .unwrap();
        assert!(matches!(mine.state, ReplicaState::Paid { .. }), "{job:?}");
        assert_eq!(
            restarted.tasks_run(),
            0,
            "the verdict came from the journal"
        );
        // And its output is served from the agent's store after the restart.
        let TaskPhase::Verified { verdict } = job.tasks[0].task.phase else {
            unreachable!()
        };
        let archive = yun_client::fetch_blob(&restarted.endpoint, &verdict.output_digest, 1 << 20)
            .await
            .unwrap();
        let s = yun_kernels::pi_monte_carlo(0, 200_000);
        let entries = yun_exec::read_archive(&archive).unwrap();
        assert_eq!(
            entries[0].1,
            format!("{} {}\n", s.inside, s.total).into_bytes()
        );
        for a in [restarted, second, slow] {
            a.shutdown().await.unwrap();
        }
    });
}

/// Polls the job until `done` holds (each head takes at most a fraction of a second).
async fn wait_until(
    client: &Client,
    id: &yun_types::market::JobId,
    done: impl Fn(&yun_types::api::JobResponse) -> bool,
) -> yun_types::api::JobResponse {
    for _ in 0..1_200 {
        let j = client.job(id).await.unwrap();
        if done(&j) {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "job {id} never reached the expected state: {:?}",
        client.job(id).await
    )
}

/// The requester posts, straight through the API (past the CLI's own module check), a job
/// whose module every sandbox refuses. The providers say so in a cannot-run verdict instead
/// of going silent: it is verified by the job's policy (k = 2), both are paid for checking,
/// nobody is slashed, and the rest of the escrow goes back (issue 15).
#[test]
fn a_refused_module_is_a_paid_cannot_run_verdict_not_a_slash() {
    let net = Net::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // A wasm header and then garbage: admission refuses it, the same on every host.
        let garbage = b"\0asm\x01\0\0\0not a module at all".to_vec();
        let program_hash = net
            .client
            .put_blob_as(garbage.clone(), &net.uploader())
            .await
            .unwrap();
        cannot_run_is_paid(&net, program_hash, garbage.len() as u64, 0).await;
    });
}

/// The same for an input the requester never uploaded: the replicas agree it is missing.
#[test]
fn a_missing_input_is_a_paid_cannot_run_verdict_not_a_slash() {
    let net = Net::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pi = std::fs::read(guest("pi")).unwrap();
        let program_hash = net
            .client
            .put_blob_as(pi.clone(), &net.uploader())
            .await
            .unwrap();
        cannot_run_is_paid(&net, program_hash, pi.len() as u64, 1_000).await;
    });
}

/// Posts one task of `program` (with a never-uploaded input of `input_bytes`, if any) at
/// k = 2 on two providers, and checks it ends as a paid cannot-run verdict, no one slashed.
async fn cannot_run_is_paid(
    net: &Net,
    program_hash: yun_types::Hash32,
    program_bytes: u64,
    input_bytes: u64,
) {
    use yun_types::market::{JobSpec, TaskSpec, Verification};
    use yun_types::{Action, Hash32, Tx};
    let agents = [
        net.agent(0, None, Duration::ZERO).await,
        net.agent(1, None, Duration::ZERO).await,
    ];
    let status = net.client.status().await.unwrap();
    let dev0 = yun_cli::keys::dev_account(0);
    let key = key_from_mnemonic(&dev0.mnemonic.parse().unwrap());
    let spec = JobSpec {
        program_hash,
        program_bytes,
        tasks: vec![TaskSpec {
            input_hash: Hash32::digest(b"an input nobody uploaded"),
            input_bytes,
            args: Vec::new(),
        }],
        fuel_per_task: 100_000_000,
        memory_bytes_per_task: 32 << 20,
        verification: Verification::Replicate { k: 2, quorum: 2 },
        bid_per_mfuel: Amount::new(1_000),
        deadline_height: status.height + 2_000,
        required_labels: Vec::new(),
        reduce: None,
        data_sources: Vec::new(),
        encryption_key: None,
    };
    let before = net.balance(&dev0.address).await;
    let tx = Tx {
        chain_id: status.chain_id.clone(),
        nonce: net.client.account(&dev0.address).await.unwrap().next_nonce,
        fee: status.min_fee,
        expires_at_height: status.height + 600,
        action: Action::PostJob { spec },
    };
    let tx = yun_types::fee::FeeSchedule::from(&status).sign(tx, &key, 0);
    let id = net.client.submit(&tx).await.unwrap();
    // The job exists once its transaction is committed; a refusal is reported as such.
    let landed = net
        .client
        .wait_for_tx(&id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        landed.state,
        yun_types::api::TxState::Committed,
        "{landed:?}"
    );
    let job = wait_until(&net.client, &id, |j| j.job.status == JobStatus::Settled).await;
    let t = &job.tasks[0];
    let TaskPhase::Verified { verdict } = t.task.phase else {
        panic!("not verified: {t:?}")
    };
    assert!(verdict.is_cannot_run(), "{verdict:?}");
    assert_eq!(t.task.replicas.len(), 2);
    for r in &t.task.replicas {
        assert!(matches!(r.state, ReplicaState::Paid { .. }), "{r:?}");
    }
    for a in &agents {
        let p = net.client.provider(&a.address).await.unwrap().provider;
        assert_eq!(p.slashed, Amount::ZERO, "an honest provider was slashed");
        assert!(p.earned > Amount::ZERO, "checking was not paid");
    }
    assert_eq!(job.job.escrow, Amount::ZERO);
    let after = net.balance(&dev0.address).await;
    assert_eq!(
        before.base_units() - after.base_units(),
        job.job.spent.base_units() + landed.receipt.as_ref().unwrap().fee_paid.base_units(),
        "the requester paid the checking and the fee, and got the rest back"
    );
    for a in agents {
        a.shutdown().await.unwrap();
    }
}
