//! The provider agent: registers a machine's offer, follows its assignments, runs each task in
//! the sandbox (one per slot), commits and then reveals the verdicts in per-block batches, and
//! serves the outputs from its endpoint; with a storage offer it also keeps the deal replicas
//! assigned to it and answers their challenges (`storage`).
//!
//! Durability: a verdict, its salt and the output archive are on disk before the commitment
//! is sent, so a restarted agent reveals what it committed and never runs a finished task
//! again; a task interrupted mid-run left nothing and simply runs again.

mod batch;
pub mod chain;
pub mod journal;
pub mod sealed;
mod storage;
mod storage_api;
pub mod work;

use crate::batch::Send;
use crate::chain::{Landed, Sent, TxSigner, landed};
use crate::journal::{Journal, WorkRecord, WorkResult};
pub use crate::storage_api::StorageOffer;
use crate::work::Runner;
pub use crate::work::{Fault, OUTPUT_BYTES_MAX, verdict_of};
use anyhow::Context;
use commonware_cryptography::ed25519::PrivateKey;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};
use yun_blobs::{BlobLimits, BlobStore};
use yun_client::{Client, HeadFollower};
use yun_exec::{Sandbox, SandboxConfig};
use yun_types::api::{AssignmentView, AssignmentsResponse, ReplicaState};
use yun_types::market::{Label, ProviderSpec, TaskRef, Text};
use yun_types::{Action, Address, Amount, Hash32};

/// Re-reads assignments at least this often even if no event arrives.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// A commit or reveal that has not taken effect this many blocks after it was sent is sent again.
pub const RESEND_AFTER_BLOCKS: u64 = 3;
/// How long a graceful shutdown waits for running tasks to finish and be committed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// A sealed output's `.tmp` older than this is a crash's leftover, not a write in progress.
const SEALED_TMP_STALE: Duration = Duration::from_secs(3600);
/// Outputs are served at least this long after they were last read or written.
pub const OUTPUT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most commits or reveals in one transaction (the chain's limit).
const BATCH_MAX: usize = yun_types::market::RESULTS_PER_TX_MAX;
/// The agent looks at its own bond (and warns if it is below the minimum) this often.
pub const BOND_CHECK_BLOCKS: u64 = 30;
/// How long [`AgentHandle::kill`] waits for blocking journal work already under way to let go
/// of the journal.
const KILL_RELEASE_WAIT: Duration = Duration::from_secs(10);
/// How often [`AgentHandle::kill`] looks whether the journal was let go.
const KILL_RELEASE_POLL: Duration = Duration::from_millis(10);

/// What the machine offers; becomes the on-chain `ProviderSpec` with the endpoint.
#[derive(Debug, Clone)]
pub struct Offer {
    pub slots: u32,
    pub memory_bytes_per_slot: u64,
    pub storage_bytes: u64,
    pub labels: Vec<Label>,
    pub ask_per_mfuel: Amount,
}

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub node_url: String,
    /// The provider's account key; used only to sign here, never sent anywhere.
    pub key: PrivateKey,
    /// Journal, blob store (programs, inputs, outputs) and sandbox scratch space.
    pub data_dir: PathBuf,
    /// Where outputs are served (`GET /v1/blobs/{digest}`); port 0 picks one.
    pub serve_listen: SocketAddr,
    /// The URL registered on chain; default `http://` + the bound serve address.
    pub endpoint: Option<String>,
    pub offer: Offer,
    /// Bond locked at registration.
    pub bond: Amount,
    pub wall_time_max: Duration,
    pub fault: Option<Fault>,
    pub run_delay: Duration,
    /// Storage offered for deals (`OfferStorage`, with the encryption key published); `None`
    /// offers none.
    pub storage: Option<StorageOffer>,
}

/// A running agent.
#[derive(Debug)]
pub struct AgentHandle {
    pub address: Address,
    pub endpoint: String,
    runner: Arc<Runner>,
    /// Gone once the agent and any blocking work it started have dropped the journal.
    journal: std::sync::Weak<Journal>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl AgentHandle {
    /// Stops taking work, lets running tasks finish and commit (up to [`SHUTDOWN_GRACE`]).
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await.context("agent task panicked")?
    }

    /// Stops at once, as a crash would: nothing more is sent or persisted. Returns once the
    /// agent's state is dropped (its journal closed), so the same data directory can be
    /// reopened (blocking journal work already under way finishes first, as it would
    /// before a real crash took the process).
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
        let deadline = tokio::time::Instant::now() + KILL_RELEASE_WAIT;
        while self.journal.strong_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(KILL_RELEASE_POLL).await;
        }
    }

    /// Tasks this agent has run in the sandbox since it started.
    pub fn tasks_run(&self) -> u64 {
        self.runner.runs.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Outputs are public, content-addressed reads: any page may fetch them (the web console
/// downloads a job's outputs from its providers and checks them against the chain's digest).
/// Only reads are routed here, so no other method is offered.
fn outputs_cors() -> tower_http::cors::CorsLayer {
    use axum::http::Method;
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::any())
        .allow_methods([Method::GET, Method::HEAD])
}

/// Opens the agent's state, registers (or updates) the offer, starts serving outputs and
/// following assignments.
pub async fn start(cfg: AgentConfig) -> anyhow::Result<AgentHandle> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    let journal = Journal::open(&cfg.data_dir.join("agent.redb"))
        .context("opening the agent journal (is another agent using this data directory?)")?;
    let blobs = Arc::new(BlobStore::open(
        &cfg.data_dir.join("blobs"),
        blob_limits(cfg.storage.as_ref()),
    )?);
    let listener = tokio::net::TcpListener::bind(cfg.serve_listen)
        .await
        .with_context(|| format!("binding the output server on {}", cfg.serve_listen))?;
    let endpoint = cfg
        .endpoint
        .clone()
        .unwrap_or_else(|| format!("http://{}", listener.local_addr().expect("bound")));
    let sealed_outputs = Arc::new(sealed::SealedOutputs::open(
        cfg.data_dir.join("sealed-outputs"),
        blobs.clone(),
    )?);
    let routes = yun_blobs::read_routes(blobs.clone())
        .merge(sealed::routes(sealed_outputs.clone()))
        .layer(outputs_cors());
    let (stop_serving, serving_stopped) = oneshot::channel::<()>();
    let server = axum::serve(listener, routes).with_graceful_shutdown(async move {
        let _ = serving_stopped.await;
    });
    tokio::spawn(async move { server.await });

    let signer = TxSigner::new(cfg.key.clone());
    let node = Client::new(&cfg.node_url);
    let work_dir = cfg.data_dir.join("scratch");
    std::fs::create_dir_all(&work_dir)?;
    let sandbox = Sandbox::new(SandboxConfig {
        wall_time_max: cfg.wall_time_max,
        work_dir,
        ..SandboxConfig::default()
    })?;
    let declared_class = Hash32(sandbox.engine_fingerprint().hash());
    register(&node, &signer, &cfg, &endpoint, declared_class).await?;
    // Every provider publishes its encryption key (derived from its account key, as the CLI
    // derives an account's), so requesters can seal encrypted jobs' keys to it.
    let identity =
        yun_client::seal::SealIdentity::derive(&commonware_codec::Encode::encode(&cfg.key));
    if let Err(e) = publish_encryption_key(&node, &signer, &identity).await {
        warn!(error = %format!("{e:#}"), "publishing the encryption key failed; encrypted jobs cannot share their keys with this provider");
    }
    info!(class = %sandbox.engine_fingerprint(), hash = %declared_class, "engine class declared");
    let salt_key = blake3::derive_key(
        "yun/provider/salt/v1",
        &commonware_codec::Encode::encode(&cfg.key),
    );
    let runner = Arc::new(Runner {
        sandbox: Arc::new(sandbox),
        blobs: blobs.clone(),
        node: node.clone(),
        fault: cfg.fault,
        run_delay: cfg.run_delay,
        salt_key,
        cores: tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
        runs: std::sync::atomic::AtomicU64::new(0),
        declared_class,
        address: signer.address,
        peer_sources: Default::default(),
        identity: identity.clone(),
        sealed: sealed_outputs,
    });
    let runner_handle = runner.clone();
    let (done_tx, done_rx) = mpsc::channel(cfg.offer.slots.max(1) as usize);
    let journal = Arc::new(journal);
    let journal_handle = Arc::downgrade(&journal);
    let storage = match cfg.storage {
        None => None,
        Some(offer) => {
            let storage = storage::Storage::new(storage::StorageParts {
                offer,
                identity,
                node: node.clone(),
                endpoint: endpoint.clone(),
                blobs: blobs.clone(),
                journal: journal.clone(),
                scratch: cfg.data_dir.join("scratch"),
                no_repair: cfg.fault == Some(Fault::NoStorageRepair),
            });
            // Compute goes on without storage: a refused offer is logged, not fatal.
            if let Err(e) = storage.announce(&signer).await {
                warn!(error = %format!("{e:#}"), "offering storage failed; this agent keeps no deals");
            }
            Some(storage)
        }
    };
    let agent = Agent {
        node,
        signer,
        journal,
        runner,
        blobs,
        running: BTreeSet::new(),
        finished: Vec::new(),
        done_tx,
        done_rx,
        in_flight: [None, None],
        bond_checked_height: None,
        storage,
    };
    let (stop, stopped) = oneshot::channel();
    let address = agent.signer.address;
    info!(%address, %endpoint, "provider agent running");
    let node_url = cfg.node_url.clone();
    let task = tokio::spawn(async move {
        let r = agent.run(&node_url, stopped).await;
        let _ = stop_serving.send(());
        r
    });
    Ok(AgentHandle {
        address,
        endpoint,
        runner: runner_handle,
        journal: journal_handle,
        stop: Some(stop),
        task,
    })
}

/// The blob store's limits: a storage offer raises them to hold the offered capacity (and a
/// deal's file, up to that capacity, as one blob) beside the compute data.
fn blob_limits(storage: Option<&StorageOffer>) -> BlobLimits {
    let base = BlobLimits::default();
    match storage {
        None => base,
        Some(s) => BlobLimits {
            blob_bytes_max: base.blob_bytes_max.max(s.capacity_bytes),
            store_bytes_max: base.store_bytes_max.saturating_add(s.capacity_bytes),
        },
    }
}

/// Sends `SetEncryptionKey` unless the chain already shows this identity's key.
async fn publish_encryption_key(
    node: &Client,
    signer: &TxSigner,
    identity: &yun_client::seal::SealIdentity,
) -> anyhow::Result<()> {
    let key = identity.public_key();
    let (_, published) = storage_api::announced(node, &signer.address).await?;
    if published != Some(key) {
        let action = Action::Storage(yun_types::storage::StorageAction::SetEncryptionKey { key });
        let h = signer.submit_and_wait(node, action).await?;
        info!(height = h, %key, "encryption key published");
    }
    Ok(())
}

fn desired_spec(cfg: &AgentConfig, endpoint: &str, engine_class: Hash32) -> ProviderSpec {
    ProviderSpec {
        slots: cfg.offer.slots,
        memory_bytes_per_slot: cfg.offer.memory_bytes_per_slot,
        storage_bytes: cfg.offer.storage_bytes,
        labels: cfg.offer.labels.clone(),
        ask_per_mfuel: cfg.offer.ask_per_mfuel,
        endpoint: Text(endpoint.to_string()),
        engine_class,
    }
}

/// Registers the offer, or updates it if the registered one differs (a new endpoint port
/// after a restart, say, or a new build whose sandbox is of another engine class: the chain
/// refuses that while tasks drawn for the old class are in flight, and the agent does not
/// start, so it never runs them on the wrong class).
async fn register(
    node: &Client,
    signer: &TxSigner,
    cfg: &AgentConfig,
    endpoint: &str,
    engine_class: Hash32,
) -> anyhow::Result<()> {
    let spec = desired_spec(cfg, endpoint, engine_class);
    match node.provider(&signer.address).await {
        Ok(p) if p.provider.spec == spec => Ok(()),
        Ok(_) => {
            let h = signer
                .submit_and_wait(node, Action::UpdateProvider { spec })
                .await?;
            info!(height = h, "provider offer updated");
            Ok(())
        }
        Err(e) if e.code() == Some(yun_types::api::ApiErrorKind::NotFound as u16) => {
            let action = Action::RegisterProvider {
                spec,
                bond: cfg.bond,
            };
            let h = signer.submit_and_wait(node, action).await?;
            info!(height = h, "provider registered");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

struct Agent {
    node: Client,
    signer: TxSigner,
    journal: Arc<Journal>,
    runner: Arc<Runner>,
    blobs: Arc<BlobStore>,
    running: BTreeSet<TaskRef>,
    /// Finished on this machine, not yet persisted (a subset of `running`).
    finished: Vec<WorkRecord>,
    /// Workers send what they finished; the loop persists it (batched) before any commit.
    done_tx: mpsc::Sender<WorkRecord>,
    done_rx: mpsc::Receiver<WorkRecord>,
    /// The last commit and reveal transactions sent and not yet seen finalized: one of each
    /// at a time, so a batch is built only from a view that already reflects the previous one.
    in_flight: [Option<InFlight>; 2],
    /// Height of the last look at this provider's bond.
    bond_checked_height: Option<u64>,
    /// The storage duties, if the agent offers storage.
    storage: Option<storage::Storage>,
}

/// A commit or reveal transaction on its way, and the replicas it carries.
struct InFlight {
    sent: Sent,
    tasks: Vec<TaskRef>,
}

pub(crate) fn task_of(a: &AssignmentView) -> TaskRef {
    TaskRef {
        job: a.job,
        index: a.index,
    }
}

/// Runs blocking work (disk, hashing, the sandbox) on the blocking pool, off the async workers
/// that follow the chain.
pub(crate) async fn blocking<T: std::marker::Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + std::marker::Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("blocking worker panicked")?
}

impl Agent {
    async fn run(mut self, node_url: &str, mut stop: oneshot::Receiver<()>) -> anyhow::Result<()> {
        let mut heads = HeadFollower::start(node_url);
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        let mut collect = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = heads.next() => {}
                Some(done) = self.done_rx.recv() => {
                    self.finished.push(done);
                    // Commit at once when nothing else runs (latency); otherwise gather a
                    // block's worth and persist and commit them together on the next head.
                    if self.finished.len() < self.running.len() {
                        continue;
                    }
                }
                _ = poll.tick() => {}
                _ = collect.tick() => self.collect_outputs(),
            }
            if let Err(e) = self.pass(true).await {
                warn!(error = %format!("{e:#}"), "agent pass failed; retrying on the next block");
            }
        }
        self.drain().await
    }

    /// Graceful end: wait for running tasks, then send what they produced.
    async fn drain(mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while !self.running.is_empty() {
            if self.finished.len() >= self.running.len() {
                break;
            }
            match tokio::time::timeout_at(deadline, self.done_rx.recv()).await {
                Ok(Some(done)) => self.finished.push(done),
                _ => break,
            }
        }
        self.in_flight[Send::Commit as usize] = None;
        self.pass(false).await?;
        info!(address = %self.signer.address, "provider agent stopped");
        Ok(())
    }

    /// Makes every finished task durable — their output archives with one sync of the blob
    /// store, then their records in one journal transaction, both on the blocking pool — and
    /// only then adds them to `journal`, the map batches are picked from. This is where the
    /// invariant "no commit before the journal entry of its salt and verdict is on disk"
    /// holds: `journal` is otherwise only ever read back from disk.
    async fn persist_finished(
        &mut self,
        journal: &mut BTreeMap<TaskRef, WorkRecord>,
    ) -> anyhow::Result<()> {
        while let Ok(more) = self.done_rx.try_recv() {
            self.finished.push(more);
        }
        if self.finished.is_empty() {
            return Ok(());
        }
        let (blobs, store, records) = (
            self.blobs.clone(),
            self.journal.clone(),
            self.finished.clone(),
        );
        blocking(move || {
            blobs.sync().context("syncing output archives")?;
            store.put_many(&records)
        })
        .await?;
        for r in std::mem::take(&mut self.finished) {
            self.running.remove(&r.task);
            journal.insert(r.task, r);
        }
        Ok(())
    }

    fn collect_outputs(&self) {
        // Programs, inputs and outputs alike: whatever nobody read for the retention period,
        // except the data of storage replicas the chain still lists (an ended deal's data is
        // released: collected like any other blob) and programs still compiled in the cache.
        let blobs = self.blobs.clone();
        let sealed = self.runner.sealed.clone();
        let live = self.storage.as_ref().map(|s| s.live.clone());
        let runner = self.runner.clone();
        tokio::task::spawn_blocking(move || {
            let keep = |h: &Hash32| {
                runner.in_use(h)
                    || live.as_ref().is_some_and(|l| {
                        l.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .contains(h)
                    })
            };
            if let Err(e) = blobs.collect(keep, OUTPUT_RETENTION) {
                warn!(error = %e, "collecting old outputs failed");
            }
            // Then the pointers to encrypted outputs whose ciphertext just went.
            if let Err(e) = sealed.collect(SEALED_TMP_STALE) {
                warn!(error = %e, "collecting sealed-output pointers failed");
            }
        });
    }

    /// One look at the chain: reveal, persist what finished, forget finished replicas, start
    /// new work, commit. Reveals go first and each kind is sent whatever became of the other:
    /// a reveal needs nothing this pass produces, and a late one is slashed. `start_new` is
    /// off while shutting down.
    async fn pass(&mut self, start_new: bool) -> anyhow::Result<()> {
        let view = self.node.provider_assignments(&self.signer.address).await?;
        let store = self.journal.clone();
        let mut journal = blocking(move || store.all()).await?;
        let mut sent = Vec::new();
        let revealed = self
            .send(Send::Reveal, &view, &mut journal, &mut sent)
            .await;
        let persisted = self.persist_finished(&mut journal).await;
        let forgotten = self.forget_finished(&view, &mut journal).await;
        if start_new {
            for a in &view.assignments {
                if matches!(a.state, ReplicaState::Assigned { .. })
                    && !journal.contains_key(&task_of(a))
                {
                    self.start(a, view.height);
                }
            }
        }
        let committed = self
            .send(Send::Commit, &view, &mut journal, &mut sent)
            .await;
        let recorded = self.record_sent(sent).await;
        self.check_bond(view.height).await;
        let stored = match &mut self.storage {
            Some(s) if start_new => s.pass(&self.signer, view.height).await,
            _ => Ok(()),
        };
        revealed
            .and(committed)
            .and(persisted)
            .and(forgotten)
            .and(recorded)
            .and(stored)
    }

    /// Journals when each record was last sent (a crash before this merely sends it again).
    async fn record_sent(&self, sent: Vec<WorkRecord>) -> anyhow::Result<()> {
        if sent.is_empty() {
            return Ok(());
        }
        let store = self.journal.clone();
        blocking(move || store.put_many(&sent)).await
    }

    /// Drops journal records of replicas the chain no longer lists as in flight.
    async fn forget_finished(
        &self,
        view: &AssignmentsResponse,
        journal: &mut BTreeMap<TaskRef, WorkRecord>,
    ) -> anyhow::Result<()> {
        let listed: BTreeSet<TaskRef> = view.assignments.iter().map(task_of).collect();
        let gone: Vec<TaskRef> = journal
            .values()
            .filter(|r| {
                !listed.contains(&r.task)
                    && r.seen_height < view.height
                    && !self.running.contains(&r.task)
            })
            .map(|r| r.task)
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        for t in &gone {
            journal.remove(t);
        }
        let store = self.journal.clone();
        blocking(move || store.remove(&gone)).await
    }

    fn start(&mut self, a: &AssignmentView, height: u64) {
        let task = task_of(a);
        if !self.running.insert(task) {
            return;
        }
        let (runner, done) = (self.runner.clone(), self.done_tx.clone());
        let a = a.clone();
        tokio::spawn(async move {
            let result = runner.run(&a).await;
            if let WorkResult::HostFault { message } = &result {
                warn!(job = %a.job, index = a.index, %message, "host fault: committing nothing for this task");
            }
            let record = WorkRecord {
                task,
                seen_height: height,
                result,
                commit_sent_height: None,
                reveal_sent_height: None,
            };
            let _ = done.send(record).await;
        });
    }

    /// Whether the last transaction of `kind` has taken effect in `view` (or never will). One
    /// that failed on chain or was dropped is logged, and the replicas it carried are due again
    /// at once (the next batch leaves out any whose deadline has passed).
    async fn settled(
        &mut self,
        kind: Send,
        view_height: u64,
        journal: &mut BTreeMap<TaskRef, WorkRecord>,
    ) -> bool {
        let Some(f) = &self.in_flight[kind as usize] else {
            return true;
        };
        let why = match landed(&self.node, &f.sent, view_height).await {
            Landed::Pending => return false,
            Landed::Finalized { height, .. } if height > view_height => return false,
            Landed::Finalized { failure: None, .. } => None,
            Landed::Finalized {
                failure: Some(name),
                ..
            } => Some(name),
            Landed::Dropped { reason } => Some(reason),
        };
        if let Some(rejection) = why {
            warn!(tx = %f.sent.id, tasks = f.tasks.len(), %rejection,
                "{} transaction did not take effect; re-sending its live replicas", kind.verb());
            for t in &f.tasks {
                if let Some(r) = journal.get_mut(t) {
                    *kind.sent_mut(r) = None;
                }
            }
        }
        self.in_flight[kind as usize] = None;
        true
    }

    /// Sends the next batch of `kind` (see [`batch::pick`]) unless one is still in flight;
    /// what was sent goes to `sent`, to be journaled with its sent height.
    async fn send(
        &mut self,
        kind: Send,
        view: &AssignmentsResponse,
        journal: &mut BTreeMap<TaskRef, WorkRecord>,
        sent: &mut Vec<WorkRecord>,
    ) -> anyhow::Result<()> {
        if !self.settled(kind, view.height, journal).await {
            return Ok(());
        }
        let records = batch::pick(kind, view, journal);
        if records.is_empty() {
            return Ok(());
        }
        let action = kind.action(&records, &self.signer.address);
        let tx = self.signer.submit_tracked(&self.node, action).await?;
        info!(tasks = records.len(), tx = %tx.id, "{} verdicts", kind.verb());
        let tasks = records.iter().map(|r| r.task).collect();
        self.in_flight[kind as usize] = Some(InFlight { sent: tx, tasks });
        sent.extend(records);
        Ok(())
    }

    /// Warns (every [`BOND_CHECK_BLOCKS`]) while this provider's bond is below the market's
    /// minimum: the market then assigns it nothing.
    async fn check_bond(&mut self, height: u64) {
        if self
            .bond_checked_height
            .is_some_and(|h| height < h + BOND_CHECK_BLOCKS)
        {
            return;
        }
        self.bond_checked_height = Some(height);
        let me = self.signer.address;
        match tokio::try_join!(self.node.provider(&me), self.node.market()) {
            Ok((p, m)) if p.provider.bond < m.params.provider_bond_min => warn!(
                bond = %p.provider.bond,
                provider_bond_min = %m.params.provider_bond_min,
                slashed = %p.provider.slashed,
                "this provider's bond is below provider_bond_min: it receives no new tasks"
            ),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "reading this provider's bond failed"),
        }
    }
}
