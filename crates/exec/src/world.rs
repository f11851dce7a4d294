//! The virtual world a task sees: argv, stdin, captured stdout/stderr, read-only `/in`,
//! writable `/out`, fixed clocks and task-seeded randomness; nothing from the host's ambient
//! environment.

use crate::limits::{
    ARGS_BYTES_MAX, ARGS_MAX, IN_BYTES_MAX, IN_FILES_MAX, PATH_BYTES_MAX, STDIN_BYTES_MAX,
};
use crate::outcome::HostFault;
use bytes::Bytes;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

/// One file under `/in`, materialised in manifest order.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Relative path under `/in`, `/`-separated, without `.` or `..` components.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Everything a task is given. Two runs of the same module with equal tasks produce equal
/// verdicts.
#[derive(Debug, Clone)]
pub struct Task {
    /// Arguments after argv[0] (argv[0] is always `job`).
    pub args: Vec<String>,
    pub stdin: Vec<u8>,
    pub files: Vec<InputFile>,
    /// Seeds `random_get`; the network derives it from the task's identity.
    pub seed: [u8; 32],
    pub fuel: u64,
    pub memory_bytes_max: u64,
}

impl Task {
    /// A task with no input, the given fuel and memory, and a zero seed.
    pub fn new(fuel: u64, memory_bytes_max: u64) -> Task {
        Task {
            args: Vec::new(),
            stdin: Vec::new(),
            files: Vec::new(),
            seed: [0; 32],
            fuel,
            memory_bytes_max,
        }
    }

    /// Refuses tasks whose inputs exceed the named limits or whose paths could escape `/in`.
    pub fn check(&self) -> Result<(), HostFault> {
        let bad = |m: String| Err(HostFault::BadTask(m));
        if self.args.len() > ARGS_MAX {
            return bad(format!("{} args; the limit is {ARGS_MAX}", self.args.len()));
        }
        let arg_bytes: usize = self.args.iter().map(|a| a.len() + 1).sum();
        if arg_bytes > ARGS_BYTES_MAX {
            return bad(format!(
                "args take {arg_bytes} bytes; the limit is {ARGS_BYTES_MAX}"
            ));
        }
        if self.stdin.len() > STDIN_BYTES_MAX {
            return bad(format!(
                "stdin is {} bytes; the limit is {STDIN_BYTES_MAX}",
                self.stdin.len()
            ));
        }
        if self.files.len() > IN_FILES_MAX {
            return bad(format!(
                "{} input files; the limit is {IN_FILES_MAX}",
                self.files.len()
            ));
        }
        let in_bytes: u64 = self.files.iter().map(|f| f.bytes.len() as u64).sum();
        if in_bytes > IN_BYTES_MAX {
            return bad(format!(
                "input files take {in_bytes} bytes; the limit is {IN_BYTES_MAX}"
            ));
        }
        if self.memory_bytes_max > crate::limits::MEMORY_BYTES_MAX {
            return bad(format!(
                "memory limit {} exceeds the sandbox maximum {}",
                self.memory_bytes_max,
                crate::limits::MEMORY_BYTES_MAX
            ));
        }
        for file in &self.files {
            check_relative_path(&file.path).map_err(HostFault::BadTask)?;
        }
        Ok(())
    }
}

/// A path is acceptable under `/in` if it is relative, bounded, and made only of normal parts.
pub fn check_relative_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.len() > PATH_BYTES_MAX {
        return Err(format!(
            "input path {path:?} is empty or longer than {PATH_BYTES_MAX} bytes"
        ));
    }
    let ok = path
        .split('/')
        .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\0'));
    if !ok || path.starts_with('/') {
        return Err(format!(
            "input path {path:?} must be relative, without empty, `.` or `..` parts"
        ));
    }
    Ok(())
}

/// The host directories behind `/in` and `/out`, removed when dropped.
#[derive(Debug)]
pub(crate) struct Dirs {
    /// Behind `/out`.
    out: tempfile::TempDir,
    /// Behind `/in` when the task has input files; `None` when it reads the sandbox's shared
    /// empty `/in`.
    own_in: Option<tempfile::TempDir>,
    pub in_root: PathBuf,
    pub out_root: PathBuf,
}

impl Dirs {
    /// Writes the task's files in manifest order; metadata the guest could observe (times,
    /// inode numbers, directory sizes and order) is masked by the WASI layer, not here.
    ///
    /// Each directory is `spare()`, an emptied one of an earlier run, if there is one. A task
    /// without input files gets `empty_in` (one empty directory a sandbox shares; `/in` is
    /// read-only to the guest) and one directory as `/out`. Making and deleting directories was
    /// most of what a short task cost the host: ext4 looks for a free inode past every recently
    /// deleted one.
    pub fn materialise(
        task: &Task,
        work_dir: &Path,
        empty_in: &Path,
        mut spare: impl FnMut() -> Option<tempfile::TempDir>,
    ) -> Result<Dirs, HostFault> {
        let mut take = || spare().map_or_else(|| new_task_dir(work_dir), Ok);
        let out = take()?;
        let own_in = if task.files.is_empty() {
            None
        } else {
            let dir = take()?;
            for file in &task.files {
                let path = dir.path().join(&file.path);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, &file.bytes)?;
            }
            Some(dir)
        };
        Ok(Dirs {
            in_root: own_in
                .as_ref()
                .map_or_else(|| empty_in.to_path_buf(), |d| d.path().to_path_buf()),
            out_root: out.path().to_path_buf(),
            out,
            own_in,
        })
    }

    /// The run's directories, emptied, for later tasks; one that cannot be emptied (or was not
    /// left empty) is deleted instead.
    pub fn into_spare(self) -> Vec<tempfile::TempDir> {
        std::iter::once(self.out)
            .chain(self.own_in)
            .filter(|d| empty_dir(d.path()).is_ok())
            .collect()
    }
}

fn new_task_dir(work_dir: &Path) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("yun-task-")
        .tempdir_in(work_dir)
}

/// Deletes everything under `dir` (never following a link); Ok only if it is empty after.
fn empty_dir(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    match std::fs::read_dir(dir)?.next() {
        None => Ok(()),
        Some(_) => Err(std::io::Error::other("still holds an entry")),
    }
}

/// Builds the WASI context: nothing is inherited from the host process.
pub(crate) fn wasi_ctx(
    task: &Task,
    dirs: &Dirs,
    stdout: CapturePipe,
    stderr: CapturePipe,
) -> Result<wasmtime_wasi::p1::WasiP1Ctx, HostFault> {
    let mut argv = Vec::with_capacity(task.args.len() + 1);
    argv.push("job".to_string());
    argv.extend(task.args.iter().cloned());
    let mut builder = WasiCtxBuilder::new();
    builder
        // Blocking file I/O on the calling thread: the task already runs on its own thread.
        .allow_blocking_current_thread(true)
        .args(&argv)
        .stdin(MemoryInputPipe::new(Bytes::from(task.stdin.clone())))
        .stdout(stdout)
        .stderr(stderr)
        .wall_clock(FixedClock)
        .monotonic_clock(FixedClock)
        .secure_random(TaskRng::new(&task.seed, "secure"))
        .insecure_random(TaskRng::new(&task.seed, "insecure"))
        .insecure_random_seed(seed_u128(&task.seed))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    let internal = |e: wasmtime::Error| HostFault::Internal(format!("{e:#}"));
    builder
        .preopened_dir(&dirs.in_root, "/in", FsPerms::ReadOnly)
        .map_err(internal)?;
    builder
        .preopened_dir(&dirs.out_root, "/out", FsPerms::ReadWrite)
        .map_err(internal)?;
    Ok(builder.build_p1())
}

/// Both clocks stand still at the Unix epoch, so time cannot make replicas differ.
struct FixedClock;

impl HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FixedClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        0
    }
}

/// `random_get` output: the blake3 XOF keyed by the task seed and a purpose label, so the same
/// task always sees the same bytes and different tasks unrelated ones.
struct TaskRng(blake3::OutputReader);

impl TaskRng {
    fn new(seed: &[u8; 32], purpose: &str) -> TaskRng {
        let mut hasher = blake3::Hasher::new_derive_key("yun/exec/random/v1");
        hasher.update(purpose.as_bytes());
        hasher.update(seed);
        TaskRng(hasher.finalize_xof())
    }
}

impl rand_core::TryRng for TaskRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill(dst);
        Ok(())
    }
}

fn seed_u128(seed: &[u8; 32]) -> u128 {
    let mut b = [0u8; 16];
    b.copy_from_slice(&seed[..16]);
    u128::from_le_bytes(b)
}

/// Captures stdout or stderr up to a limit; a write past it sets the shared output-limit flag
/// and traps, so the verdict is `OutputLimit` at a deterministic point.
#[derive(Debug, Clone)]
pub(crate) struct CapturePipe {
    buf: Arc<Mutex<Vec<u8>>>,
    limit: usize,
    limit_hit: Arc<AtomicBool>,
}

/// The most a single write is offered; larger guest writes are split by WASI.
const WRITE_PERMIT_BYTES: usize = 64 * 1024;

impl CapturePipe {
    pub fn new(limit: usize, limit_hit: Arc<AtomicBool>) -> CapturePipe {
        CapturePipe {
            buf: Arc::new(Mutex::new(Vec::new())),
            limit,
            limit_hit,
        }
    }

    pub fn contents(&self) -> Vec<u8> {
        self.buf.lock().expect("capture lock").clone()
    }

    fn append(&self, bytes: &[u8]) -> Result<(), ()> {
        let mut buf = self.buf.lock().expect("capture lock");
        if buf.len().saturating_add(bytes.len()) > self.limit {
            self.limit_hit.store(true, Ordering::SeqCst);
            return Err(());
        }
        buf.extend_from_slice(bytes);
        Ok(())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturePipe {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes)
            .map_err(|()| StreamError::Trap(wasmtime::format_err!("output limit reached")))
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT_BYTES)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturePipe {
    async fn ready(&mut self) {}
}

impl IsTerminal for CapturePipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturePipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for CapturePipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(
            self.append(buf)
                .map(|()| buf.len())
                .map_err(|()| std::io::Error::other("output limit reached")),
        )
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
