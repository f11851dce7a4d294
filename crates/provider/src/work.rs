//! Running one assignment: fetch the program and input (each checked against its hash, from
//! the followed node, else from any other holder) — for a reduce task, the verified map
//! outputs from the providers paid for them — run the task in the sandbox with the job's
//! limits, keep the output archive for serving. An encrypted job's input (and map outputs) are
//! decrypted in memory with the job's key once the requester shared it, and its output is
//! kept only as ciphertext to the job's key (`sealed`).

use crate::journal::WorkResult;
use crate::sealed::{JobKey, SealedOutputs, undecryptable, wait_for_job_key};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use yun_blobs::BlobStore;
use yun_client::seal::{SealIdentity, decrypt_bytes};
use yun_client::{Client, OutputFetcher, SourceFailure, SourcesExhausted, fetch_blob_from_sources};
use yun_exec::{InputFile, Outcome, Program, RunError, Sandbox, Status, Task, add_reduce_input};
use yun_types::api::{AssignmentView, ReduceInput};
use yun_types::market::{CannotRun, TaskRef, Verdict, task_seed};
use yun_types::{Address, Hash32};

/// Largest output archive fetched for one map task: the sandbox's stdout and `/out` limits
/// plus room for the archive's headers. Anything larger is no honest output.
pub const OUTPUT_BYTES_MAX: u64 =
    (yun_exec::limits::STDOUT_BYTES_MAX as u64) + yun_exec::limits::OUT_BYTES_MAX + (1 << 20);

/// Why the job's own data cannot be run (see [`Runner::blob`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unfit {
    WrongSize,
    Missing,
}

/// A task's program: compiled (found by hash in the sandbox's cache) or bytes to admit.
enum Code {
    Compiled(Program),
    Bytes(Vec<u8>),
}

/// Most other providers' endpoints tried for one blob (they hold a job's program and inputs
/// once they fetched them, and serve their store).
pub const PROVIDER_SOURCES_MAX: usize = 4;
/// How long the followed node's list of other nodes is reused before it is asked again.
pub const PEER_SOURCES_TTL: Duration = Duration::from_secs(60);

/// The followed node's `GET /v1/network/sources`, as last read.
#[derive(Debug, Default)]
pub struct PeerSources(tokio::sync::Mutex<Option<(std::time::Instant, Vec<String>)>>);

/// A deliberate misbehaviour, for tests and demonstrations of verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Report a wrong output digest for every task (a provider that cheats or is broken).
    WrongOutput,
    /// Report a wrong output digest for reduce tasks only (a lying reducer).
    WrongReduceOutput,
    /// Never fetch again a storage replica's data once stored here: a provider that lost its
    /// copy and does not repair it, so it misses its challenges.
    NoStorageRepair,
}

/// The verdict replicas compare, from a sandbox outcome.
pub fn verdict_of(o: &Outcome) -> Verdict {
    let status_value = match o.status {
        Status::Ok(code) => code,
        Status::Trap(kind) => kind as i32,
        Status::OutOfFuel | Status::MemoryLimit | Status::OutputLimit => 0,
    };
    Verdict {
        status_tag: o.status.tag(),
        status_value,
        fuel_used: o.fuel_used,
        output_digest: Hash32(o.output_digest),
    }
}

/// Everything a worker needs; shared by all slots.
#[derive(Debug)]
pub struct Runner {
    pub sandbox: Arc<Sandbox>,
    pub blobs: Arc<BlobStore>,
    pub node: Client,
    pub fault: Option<Fault>,
    /// Waits this long before each task (simulates a slow machine in tests).
    pub run_delay: Duration,
    /// Keys the commitment salts: secret, and the same after a restart.
    pub salt_key: [u8; 32],
    /// Sandbox runs at once: one per core, however many slots the offer has (a slot is a
    /// promise to the market; the cores are what runs it).
    pub cores: tokio::sync::Semaphore,
    /// Sandbox runs since start.
    pub runs: std::sync::atomic::AtomicU64,
    /// The engine class this provider declared on chain (its sandbox's, at registration).
    pub declared_class: Hash32,
    /// This provider's account (its own endpoint is no source to fetch from).
    pub address: Address,
    pub peer_sources: PeerSources,
    /// This provider's x25519 identity (its public key is on chain): opens job keys.
    pub identity: SealIdentity,
    /// Encrypted jobs' outputs, kept as ciphertext.
    pub sealed: Arc<SealedOutputs>,
}

impl Runner {
    /// Runs one assignment to a verdict or a host fault (never an invented verdict).
    pub async fn run(&self, a: &AssignmentView) -> WorkResult {
        let task = TaskRef {
            job: a.job,
            index: a.index,
        };
        match self.try_run(a, &task).await {
            Ok(verdict) => WorkResult::Verdict {
                verdict,
                salt: self.salt(&task),
            },
            Err(e) => WorkResult::HostFault {
                message: format!("{e:#}"),
            },
        }
    }

    async fn try_run(&self, a: &AssignmentView, t: &TaskRef) -> anyhow::Result<Verdict> {
        // A task drawn for another engine class than this sandbox's (the binary changed under
        // the declaration, or the offer was changed elsewhere) must not get a verdict from
        // here: its replicas compare verdicts within one class. The provider's fault, so a
        // host fault (never committed), not a verdict.
        let declared = a.engine_class.unwrap_or(self.declared_class);
        self.sandbox
            .engine_fingerprint()
            .require(declared.as_bytes())
            .map_err(|f| anyhow::anyhow!("host fault: {f}"))?;
        // An encrypted job waits for its key: before it arrives nothing can run, and the
        // chain does not slash that silence.
        let job_identity = match a.encryption_key {
            None => None,
            Some(key) => {
                match wait_for_job_key(&self.node, &self.identity, &self.address, a, &key).await? {
                    JobKey::Open(identity) => Some(identity),
                    JobKey::Unusable => return Ok(undecryptable(0)),
                }
            }
        };
        if !self.run_delay.is_zero() {
            tokio::time::sleep(self.run_delay).await;
        }
        // The job's own data unfit to run is a verdict (cannot-run), not silence: every honest
        // replica finds the same, so it is verified and paid like any other.
        let program = match self.program(a).await? {
            Ok(p) => p,
            Err(Unfit::WrongSize) => {
                return Ok(Verdict::cannot_run(CannotRun::ProgramSizeMismatch, 0));
            }
            Err(Unfit::Missing) => return Ok(Verdict::cannot_run(CannotRun::DataMissing, 0)),
        };
        let files = match &a.reduce_inputs {
            None => Vec::new(),
            Some(inputs) => match self
                .reduce_files(&a.job, inputs, job_identity.as_ref())
                .await?
            {
                Ok(files) => files,
                Err(cannot_run) => return Ok(cannot_run),
            },
        };
        let stdin = match self.blob(a, &a.task.input_hash, a.task.input_bytes).await? {
            Ok(b) => b,
            Err(Unfit::WrongSize) => {
                return Ok(Verdict::cannot_run(CannotRun::InputSizeMismatch, 0));
            }
            Err(Unfit::Missing) => return Ok(Verdict::cannot_run(CannotRun::DataMissing, 1)),
        };
        let stdin = match &job_identity {
            Some(identity) if !stdin.is_empty() => match decrypt_bytes(identity, &stdin) {
                Ok(plain) => plain,
                Err(_) => return Ok(undecryptable(1)),
            },
            _ => stdin,
        };
        let task = Task {
            args: a.task.args.iter().map(|t| t.0.clone()).collect(),
            stdin,
            files,
            seed: task_seed(t),
            fuel: a.fuel_per_task,
            memory_bytes_max: a.memory_bytes_per_task,
        };
        let (sandbox, blobs, sealed) = (
            self.sandbox.clone(),
            self.blobs.clone(),
            self.sealed.clone(),
        );
        let job_key = a.encryption_key;
        let _core = self.cores.acquire().await.context("agent stopping")?;
        self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let outcome = crate::blocking(move || {
            let ran = match &program {
                Code::Compiled(p) => sandbox.run(p, &task).map_err(RunError::Fault),
                Code::Bytes(b) => sandbox.run_module(b, &task),
            };
            let outcome = match ran {
                Ok(o) => o,
                // Admission is deterministic: every replica refuses the same module alike.
                Err(RunError::Refused(r)) => {
                    return Ok(Err(Verdict::cannot_run(CannotRun::ModuleRefused, r.code())));
                }
                Err(RunError::Fault(f)) => anyhow::bail!("host fault: {f}"),
            };
            // Kept before anything is committed, so every committed verdict can be served;
            // the agent syncs the store once for a batch of finished tasks before journaling
            // them.
            match job_key {
                Some(key) => {
                    sealed.put(&key, &Hash32(outcome.output_digest), &outcome.archive)?;
                }
                None => {
                    blobs
                        .put_bytes_unsynced_if_absent(&outcome.archive)
                        .context("storing the output archive")?;
                }
            }
            Ok(Ok(outcome))
        })
        .await?;
        let outcome = match outcome {
            Ok(o) => o,
            Err(cannot_run) => return Ok(cannot_run),
        };
        let mut verdict = verdict_of(&outcome);
        let lies = match self.fault {
            Some(Fault::WrongOutput) => true,
            Some(Fault::WrongReduceOutput) => a.reduce_inputs.is_some(),
            Some(Fault::NoStorageRepair) | None => false,
        };
        if lies {
            verdict.output_digest =
                Hash32(*blake3::hash(verdict.output_digest.as_bytes()).as_bytes());
        }
        Ok(verdict)
    }

    /// A reduce task's `/in`: each verified map output from this agent's own store (it may
    /// have computed it) or from a provider paid for it, checked against the accepted digest
    /// and unpacked. An output no holder serves is a `DataMissing` cannot-run verdict, outputs
    /// past the sandbox's input limits a `ReduceInputTooLarge` one: never silence.
    async fn reduce_files(
        &self,
        job: &yun_types::market::JobId,
        inputs: &[ReduceInput],
        job_identity: Option<&SealIdentity>,
    ) -> anyhow::Result<Result<Vec<InputFile>, Verdict>> {
        let view = self
            .node
            .job(job)
            .await
            .context("reading the job's map tasks")?;
        let mut fetcher = OutputFetcher::new(self.node.clone());
        let mut files = Vec::new();
        for input in inputs {
            let digest = input.output_digest;
            let local = self.local_output(&digest, job_identity).await?;
            let archive = match local {
                Some(b) => b,
                None => {
                    let holders = view
                        .tasks
                        .iter()
                        .find(|t| t.index == input.index)
                        .map(|t| yun_client::paid_holders(&t.task))
                        .unwrap_or_default();
                    let fetched = match job_identity {
                        None => fetcher.fetch(&holders, &digest, OUTPUT_BYTES_MAX).await?,
                        Some(identity) => {
                            fetcher
                                .fetch_sealed(&holders, &digest, identity, OUTPUT_BYTES_MAX)
                                .await?
                        }
                    };
                    match fetched {
                        Ok(b) => b,
                        Err(gone) if gone.too_large => {
                            return Ok(Err(Verdict::cannot_run(CannotRun::ReduceInputTooLarge, 1)));
                        }
                        Err(gone) => {
                            tracing::warn!(task = input.index, %gone, "no provider serves a map output");
                            return Ok(Err(Verdict::cannot_run(CannotRun::DataMissing, 2)));
                        }
                    }
                }
            };
            if let Err(unfit) = add_reduce_input(&mut files, input.index, &archive) {
                return Ok(Err(Verdict::cannot_run(
                    CannotRun::ReduceInputTooLarge,
                    unfit as u16,
                )));
            }
        }
        Ok(Ok(files))
    }

    /// A map output this agent computed itself: the archive, or for an encrypted job its
    /// ciphertext decrypted and checked against the digest.
    async fn local_output(
        &self,
        digest: &Hash32,
        job_identity: Option<&SealIdentity>,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let (blobs, sealed, d) = (self.blobs.clone(), self.sealed.clone(), *digest);
        let identity = job_identity.cloned();
        crate::blocking(move || match identity {
            None => Ok(blobs.get(&d)?),
            Some(identity) => Ok(sealed
                .ciphertext(&d)?
                .and_then(|c| decrypt_bytes(&identity, &c).ok())
                .filter(|plain| Hash32::digest(plain) == d)),
        })
        .await
    }

    /// Whether blob `hash` is a program the sandbox still holds compiled: in use even though
    /// its file is not read (tasks find it by hash), so the collector keeps its bytes, which
    /// are also what the agent serves to peers.
    pub(crate) fn in_use(&self, hash: &Hash32) -> bool {
        self.sandbox.caches(hash.as_bytes())
    }

    /// The task's program: compiled already if this sandbox admitted bytes with its hash
    /// (most tasks of a job, without reading or hashing a byte), else its bytes. The size
    /// check is the one [`Runner::blob`] makes, so a cached program gets the verdict its
    /// bytes would.
    async fn program(&self, a: &AssignmentView) -> anyhow::Result<Result<Code, Unfit>> {
        if a.program_bytes > 0
            && let Some(p) = self.sandbox.admitted(a.program_hash.as_bytes())
        {
            return Ok(if p.module_bytes == a.program_bytes {
                Ok(Code::Compiled(p))
            } else {
                Err(Unfit::WrongSize)
            });
        }
        Ok(self
            .blob(a, &a.program_hash, a.program_bytes)
            .await?
            .map(Code::Bytes))
    }

    /// A blob from the local store, else from the followed node, else from any other holder
    /// (the node's peers, the job's data sources, other providers of the job), verified
    /// against its hash and then kept. `Unfit` if its size is not the one the job declares
    /// (content-addressed, so every replica sees the same: the requester's mistake) or the
    /// node does not hold it and no other holder serves it: both are cannot-run verdicts, not
    /// silence. The node unreachable and nobody else serving it is a host fault.
    async fn blob(
        &self,
        a: &AssignmentView,
        hash: &Hash32,
        bytes: u64,
    ) -> anyhow::Result<Result<Vec<u8>, Unfit>> {
        if bytes == 0 {
            return Ok(Ok(Vec::new()));
        }
        let (blobs, h) = (self.blobs.clone(), *hash);
        // Reading a local blob checks its hash: blocking work.
        if let Some(b) = crate::blocking(move || Ok(blobs.get(&h)?)).await? {
            return Ok(if b.len() as u64 == bytes {
                Ok(b)
            } else {
                Err(Unfit::WrongSize)
            });
        }
        let node = [self.node.base_url().to_string()];
        let b = match fetch_blob_from_sources(&node, hash, bytes).await {
            Ok(f) => f.bytes,
            Err(at_node) => {
                let others = self.other_sources(a).await;
                match fetch_blob_from_sources(&others, hash, bytes).await {
                    Ok(f) => {
                        tracing::info!(%hash, source = %others[f.source_index], "fetched from another holder");
                        f.bytes
                    }
                    Err(elsewhere) => return unfit(hash, &at_node, &elsewhere),
                }
            }
        };
        if b.len() as u64 != bytes {
            return Ok(Err(Unfit::WrongSize));
        }
        let blobs = self.blobs.clone();
        crate::blocking(move || {
            blobs.put_bytes(&b)?;
            Ok(Ok(b))
        })
        .await
    }

    /// Holders to try after the followed node, in order: the job's data sources the network
    /// lists (the requester's upload node first), the nodes the followed node names, then
    /// other providers of the job. A data source the network does not list is refused
    /// ([`listed_sources`]).
    async fn other_sources(&self, a: &AssignmentView) -> Vec<String> {
        let peers = self.peer_sources().await;
        let providers = self.provider_sources(a).await;
        let listed: Vec<&str> = std::iter::once(self.node.base_url())
            .chain(peers.iter().map(String::as_str))
            .chain(providers.iter().map(String::as_str))
            .collect();
        let requested: Vec<&str> = a
            .data_sources
            .iter()
            .take(yun_types::market::DATA_SOURCES_MAX)
            .map(|t| t.0.as_str())
            .collect();
        let (mut out, refused) = listed_sources(&requested, &listed);
        for url in refused {
            tracing::warn!(job = %a.job, %url, "{}", SourceNotListed);
        }
        for url in peers.into_iter().chain(providers) {
            if !out.contains(&url) {
                out.push(url);
            }
        }
        out
    }

    /// The followed node's peers (`GET /v1/network/sources`), reused for [`PEER_SOURCES_TTL`];
    /// none if the node cannot say.
    async fn peer_sources(&self) -> Vec<String> {
        let mut cached = self.peer_sources.0.lock().await;
        if let Some((at, urls)) = cached.as_ref()
            && at.elapsed() < PEER_SOURCES_TTL
        {
            return urls.clone();
        }
        let urls = match self.node.data_sources().await {
            Ok(r) => r
                .peer_api_urls
                .into_iter()
                .take(yun_types::api::PEER_API_URLS_MAX)
                .collect(),
            Err(e) => {
                tracing::warn!("the node names no other data sources: {e}");
                Vec::new()
            }
        };
        *cached = Some((std::time::Instant::now(), urls.clone()));
        urls
    }

    /// Endpoints of up to [`PROVIDER_SOURCES_MAX`] other providers of the job, those of this
    /// very task first: each fetched the same program (and a replica of this task the same
    /// input) and serves its store.
    async fn provider_sources(&self, a: &AssignmentView) -> Vec<String> {
        let Ok(job) = self.node.job(&a.job).await else {
            return Vec::new();
        };
        let tasks = job
            .tasks
            .iter()
            .map(|t| (t.index, &t.task))
            .chain(job.reduce.as_ref().map(|r| (r.index, &r.task)));
        let (mine, rest): (Vec<_>, Vec<_>) = tasks.partition(|(i, _)| *i == a.index);
        let mut holders: Vec<Address> = Vec::new();
        for (_, task) in mine.into_iter().chain(rest) {
            for r in &task.replicas {
                if r.provider != self.address && !holders.contains(&r.provider) {
                    holders.push(r.provider);
                }
            }
            if holders.len() >= PROVIDER_SOURCES_MAX {
                break;
            }
        }
        let mut urls = Vec::new();
        for p in holders.into_iter().take(PROVIDER_SOURCES_MAX) {
            if let Ok(view) = self.node.provider(&p).await {
                urls.push(view.provider.spec.endpoint.0);
            }
        }
        urls
    }

    fn salt(&self, t: &TaskRef) -> Hash32 {
        let mut h = blake3::Hasher::new_keyed(&self.salt_key);
        h.update(t.job.as_bytes());
        h.update(&t.index.to_be_bytes());
        Hash32(*h.finalize().as_bytes())
    }
}

/// Why a job's data source was not fetched from: a requester could otherwise make every
/// assigned provider send requests to an address of its choice (a service inside the
/// provider's network, say). Providers fetch only from addresses the network itself names:
/// the followed node, the nodes it lists, and providers the chain assigned to the job, so a
/// data source only says which of those to try first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "SourceNotListed: a data source of the job is not a node or provider the network lists; not fetched from"
)]
pub struct SourceNotListed;

/// Splits `requested` data sources into those `listed` by the network (compared without a
/// trailing slash), in the requester's order, and the refused rest.
pub fn listed_sources(requested: &[&str], listed: &[&str]) -> (Vec<String>, Vec<String>) {
    let norm = |u: &str| u.trim_end_matches('/').to_string();
    let listed: Vec<String> = listed.iter().map(|u| norm(u)).collect();
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for url in requested.iter().map(|u| norm(u)) {
        if listed.contains(&url) {
            if !kept.contains(&url) {
                kept.push(url);
            }
        } else {
            refused.push(url);
        }
    }
    (kept, refused)
}

/// What no holder serving a blob means: the followed node's own answer decides, so replicas
/// following honest nodes agree (it does not hold it: `DataMissing`; its copy is larger than
/// declared: the wrong size); the node unreachable is this provider's problem, a host fault.
fn unfit(
    hash: &Hash32,
    at_node: &SourcesExhausted,
    elsewhere: &SourcesExhausted,
) -> anyhow::Result<Result<Vec<u8>, Unfit>> {
    match at_node.attempts.first().map(|a| &a.failure) {
        Some(SourceFailure::NotFound) => {
            tracing::warn!(%hash, %elsewhere, "no holder serves a blob of the job");
            Ok(Err(Unfit::Missing))
        }
        Some(SourceFailure::TooLarge) => Ok(Err(Unfit::WrongSize)),
        _ => Err(anyhow::anyhow!(
            "fetching blob {hash}: from the node: {at_node}; elsewhere: {elsewhere}"
        )),
    }
}

#[cfg(test)]
#[path = "work_tests.rs"]
mod tests;
