//! The sandbox: one deterministic wasmtime engine, the WASI linker, a compiled-module cache and
//! the wall-clock kill switch; `run` turns a program and a task into an outcome.

use crate::admission::{Refusal, admit};
use crate::archive::collect;
use crate::checker::Checker;
use crate::engine::{SandboxConfig, engine_config};
use crate::fingerprint::EngineFingerprint;
use crate::host::{Host, HostErrno, Limiter};
use crate::limits::{
    EXCERPT_BYTES_MAX, HOSTCALL_BYTES_MAX, MODULE_CACHE_ENTRIES_MAX, REAP_QUEUE_MAX,
    SPARE_DIRS_MAX, STDERR_BYTES_MAX, STDOUT_BYTES_MAX, TABLE_ELEMENTS_MAX,
};
use crate::outcome::{Diagnostics, HostFault, Outcome, Status, TrapKind};
use crate::world::{CapturePipe, Dirs, Task, wasi_ctx};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::{InstancePre, Store, Trap};
use wasmtime_wasi::I32Exit;

/// How often the kill switch advances the engine's epoch.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A module that passed admission, compiled and linked, ready to instantiate.
#[derive(Clone)]
pub struct Program {
    /// blake3 of the module bytes.
    pub module_hash: [u8; 32],
    /// Length of the module bytes: a caller that finds the program by hash alone still
    /// checks the size it was promised.
    pub module_bytes: u64,
    pre: InstancePre<Host>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field(
                "module_hash",
                &blake3::Hash::from_bytes(self.module_hash).to_hex(),
            )
            .field("module_bytes", &self.module_bytes)
            .finish()
    }
}

/// Either refusal or fault, for callers that admit and run in one step.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("module refused ({code} {name}): {0}", code = .0.code(), name = .0.name())]
    Refused(Refusal),
    #[error(transparent)]
    Fault(#[from] HostFault),
}

type CacheKey = ([u8; 32], [u8; 32]);

/// Compiled programs by (engine fingerprint, module hash), least recently used evicted first.
#[derive(Default)]
struct ModuleCache {
    entries: BTreeMap<CacheKey, (Program, u64)>,
    clock: u64,
}

pub struct Sandbox {
    /// The engine and the linker every program is admitted, checked and run with.
    checker: Checker,
    fingerprint: EngineFingerprint,
    cache: Mutex<ModuleCache>,
    config: SandboxConfig,
    /// The empty directory behind `/in` of every task without input files: made at the first
    /// such run, removed with the sandbox (after the reaper, which the drop joins first).
    empty_in: Mutex<Option<tempfile::TempDir>>,
    /// Emptied task directories (at most [`SPARE_DIRS_MAX`]), refilled by the reaper.
    spare_dirs: Arc<Mutex<Vec<tempfile::TempDir>>>,
    ticker_stop: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
    reaper: Option<(
        std::sync::mpsc::SyncSender<Dirs>,
        std::thread::JoinHandle<()>,
    )>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Result<Sandbox, HostFault> {
        let internal = |e: wasmtime::Error| HostFault::Internal(format!("{e:#}"));
        let (engine_config, description) = engine_config(&config).map_err(internal)?;
        let checker = Checker::with_engine_config(&engine_config)?;
        let engine = checker.engine.clone();
        let fingerprint = EngineFingerprint::new(&engine, &description);
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("yun-exec-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })?
        };
        let (reap_tx, reap_rx) = std::sync::mpsc::sync_channel::<Dirs>(REAP_QUEUE_MAX);
        let spare_dirs: Arc<Mutex<Vec<tempfile::TempDir>>> = Arc::default();
        let reaper = {
            let spare_dirs = spare_dirs.clone();
            std::thread::Builder::new()
                .name("yun-exec-reaper".into())
                .spawn(move || {
                    for dirs in reap_rx {
                        for dir in dirs.into_spare() {
                            let mut spare = spare_dirs.lock().expect("spare dirs lock");
                            if spare.len() < SPARE_DIRS_MAX {
                                spare.push(dir);
                            }
                        }
                    }
                })?
        };
        Ok(Sandbox {
            checker,
            fingerprint,
            cache: Mutex::new(ModuleCache::default()),
            empty_in: Mutex::new(None),
            spare_dirs,
            config,
            ticker_stop,
            ticker: Some(ticker),
            reaper: Some((reap_tx, reaper)),
        })
    }

    /// Everything about this sandbox that can change a verdict: replicas compare verdicts only
    /// within one fingerprint class (see [`EngineFingerprint`]).
    pub fn engine_fingerprint(&self) -> &EngineFingerprint {
        &self.fingerprint
    }

    /// Admits and compiles a module, or returns the cached program for the same bytes.
    pub fn admit(&self, bytes: &[u8]) -> Result<Program, Refusal> {
        let module_hash = *blake3::hash(bytes).as_bytes();
        if let Some(program) = self.admitted(&module_hash) {
            return Ok(program);
        }
        let key = (self.fingerprint.hash(), module_hash);
        let module = admit(&self.checker.engine, bytes)?;
        let pre = self.checker.linker.instantiate_pre(&module).map_err(|e| {
            Refusal::ImportTypeMismatch {
                reason: format!("{e:#}"),
            }
        })?;
        let program = Program {
            module_hash,
            module_bytes: bytes.len() as u64,
            pre,
        };
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.entries.len() >= MODULE_CACHE_ENTRIES_MAX
            && let Some(oldest) = cache
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
        {
            cache.entries.remove(&oldest);
        }
        let now = cache.clock;
        cache.entries.insert(key, (program.clone(), now));
        Ok(program)
    }

    /// The compiled program whose bytes hash to `module_hash`, if this sandbox admitted it
    /// and still caches it: a caller that knows the hash (a task names its program by hash)
    /// need not read and hash the bytes again. A miss says nothing about the module; admit
    /// its bytes then.
    pub fn admitted(&self, module_hash: &[u8; 32]) -> Option<Program> {
        let key = (self.fingerprint.hash(), *module_hash);
        let mut cache = self.cache.lock().expect("cache lock");
        cache.clock += 1;
        let now = cache.clock;
        let (program, used) = cache.entries.get_mut(&key)?;
        *used = now;
        Some(program.clone())
    }

    /// Whether a program whose bytes hash to `module_hash` is compiled and cached, without
    /// counting as a use (the agent's blob collector asks, to keep the bytes of programs it
    /// still runs: [`Sandbox::admitted`] lets a task skip reading them, so their files are
    /// not touched by use).
    pub fn caches(&self, module_hash: &[u8; 32]) -> bool {
        let key = (self.fingerprint.hash(), *module_hash);
        self.cache
            .lock()
            .expect("cache lock")
            .entries
            .contains_key(&key)
    }

    /// What [`Sandbox::admit`] would decide about `bytes`, without compiling them
    /// ([`Checker::check`] with this sandbox's engine and linker).
    pub fn check(&self, bytes: &[u8]) -> Result<(), Refusal> {
        self.checker.check(bytes)
    }

    /// The shared empty `/in`, made on first use.
    fn empty_in(&self) -> Result<PathBuf, HostFault> {
        let mut slot = self.empty_in.lock().expect("empty-in lock");
        if slot.is_none() {
            *slot = Some(
                tempfile::Builder::new()
                    .prefix("yun-empty-in-")
                    .tempdir_in(&self.config.work_dir)?,
            );
        }
        Ok(slot.as_ref().expect("made above").path().to_path_buf())
    }

    /// Emptied task directories waiting for the next tasks' `/in` and `/out`.
    pub fn spare_dirs(&self) -> usize {
        self.spare_dirs.lock().expect("spare dirs lock").len()
    }

    /// Programs currently compiled and cached.
    pub fn cached_programs(&self) -> usize {
        self.cache.lock().expect("cache lock").entries.len()
    }

    /// Admits (or finds in the cache) and runs.
    pub fn run_module(&self, bytes: &[u8], task: &Task) -> Result<Outcome, RunError> {
        let program = self.admit(bytes).map_err(RunError::Refused)?;
        Ok(self.run(&program, task)?)
    }

    /// Runs one task to its verdict. Blocks the calling thread for the whole run.
    pub fn run(&self, program: &Program, task: &Task) -> Result<Outcome, HostFault> {
        task.check()?;
        let dirs = Dirs::materialise(task, &self.config.work_dir, &self.empty_in()?, || {
            self.spare_dirs.lock().expect("spare dirs lock").pop()
        })?;
        let output_limit_hit = Arc::new(AtomicBool::new(false));
        let stdout = CapturePipe::new(STDOUT_BYTES_MAX, output_limit_hit.clone());
        let stderr = CapturePipe::new(STDERR_BYTES_MAX, output_limit_hit.clone());
        let wasi = wasi_ctx(task, &dirs, stdout.clone(), stderr.clone())?;
        let limiter = Limiter {
            memory_bytes_max: usize::try_from(task.memory_bytes_max).unwrap_or(usize::MAX),
            table_elements_max: TABLE_ELEMENTS_MAX,
            hit: false,
        };
        let host = Host::new(
            wasi,
            limiter,
            output_limit_hit.clone(),
            dirs.in_root.clone(),
            dirs.out_root.clone(),
        );
        let mut store = Store::new(&self.checker.engine, host);
        store.limiter(|h| &mut h.limiter);
        store.set_hostcall_fuel(HOSTCALL_BYTES_MAX);
        let internal = |e: wasmtime::Error| HostFault::Internal(format!("{e:#}"));
        if self.config.fuel_metering {
            store.set_fuel(task.fuel).map_err(internal)?;
        }
        let ticks = self.config.wall_time_max.as_millis() / EPOCH_TICK.as_millis() + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();

        let started = Instant::now();
        let result = program.pre.instantiate(&mut store).and_then(|instance| {
            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
            start.call(&mut store, ())
        });
        let wall_time = started.elapsed();

        let fuel_used = if self.config.fuel_metering {
            task.fuel - store.get_fuel().map_err(internal)?
        } else {
            0
        };
        let limiter_hit = store.data().limiter.hit;
        let host_fault = store.data().host_fault;
        drop(store);
        let (mut status, trap_message) = match result {
            Ok(()) => (Status::Ok(0), None),
            Err(e) => self.classify(e, host_fault, limiter_hit, &output_limit_hit)?,
        };
        let stdout_bytes = stdout.contents();
        let stderr_bytes = stderr.contents();
        let archive = match collect(&dirs.out_root, &stdout_bytes)? {
            Ok(archive) => archive,
            Err(_) => {
                status = Status::OutputLimit;
                collect_empty()?
            }
        };
        if let Some((reap, _)) = &self.reaper
            && let Err(std::sync::mpsc::TrySendError::Full(dirs)) = reap.try_send(dirs)
        {
            drop(dirs);
        }
        Ok(Outcome {
            status,
            fuel_used,
            output_digest: *blake3::hash(&archive).as_bytes(),
            archive,
            diagnostics: Diagnostics {
                stdout_excerpt: excerpt(&stdout_bytes),
                stderr_excerpt: excerpt(&stderr_bytes),
                stdout_bytes: stdout_bytes.len() as u64,
                stderr_bytes: stderr_bytes.len() as u64,
                wall_time,
                trap_message,
            },
        })
    }

    /// Maps a failed run to its verdict. Order matters: a host-resource error is a host fault
    /// whatever else happened, and an exit request and the limits Yun enforces are recognised
    /// before wasmtime's trap codes, because they surface as traps too.
    fn classify(
        &self,
        error: wasmtime::Error,
        host_fault: Option<HostErrno>,
        limiter_hit: bool,
        output_limit_hit: &AtomicBool,
    ) -> Result<(Status, Option<String>), HostFault> {
        if let Some(HostErrno { call, errno }) = host_fault {
            return Err(HostFault::HostResource { call, errno });
        }
        if let Some(exit) = error.downcast_ref::<I32Exit>() {
            return Ok((Status::Ok(exit.0), None));
        }
        let message = Some(format!("{error:?}"));
        if limiter_hit {
            return Ok((Status::MemoryLimit, message));
        }
        if output_limit_hit.load(Ordering::SeqCst) {
            return Ok((Status::OutputLimit, message));
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => Err(HostFault::WallClockExceeded(self.config.wall_time_max)),
            Some(Trap::OutOfFuel) => Ok((Status::OutOfFuel, message)),
            Some(trap) => Ok((Status::Trap(TrapKind::from_wasmtime(*trap)), message)),
            None => Ok((Status::Trap(TrapKind::HostCall), message)),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        // Closing the channel ends the reaper once it has deleted what is queued.
        if let Some((reap, thread)) = self.reaper.take() {
            drop(reap);
            let _ = thread.join();
        }
    }
}

fn collect_empty() -> Result<Vec<u8>, HostFault> {
    Ok(tar::Builder::new(Vec::new()).into_inner()?)
}

fn excerpt(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT_BYTES_MAX)]).into_owned()
}
