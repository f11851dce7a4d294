//! The store's host state and the WASI functions Yun wraps around wasmtime-wasi's: metadata
//! masking, sorted directory listings, byte, entry, descriptor and path bounds answered by Yun
//! before the host is asked, and the screening of every filesystem call's errno, because the
//! stock implementation passes host facts (inode numbers, times, directory sizes, directory
//! order, the host's resource errors) to the guest and bounds nothing written to disk.

use crate::errno::{
    ERRNO_BADF, ERRNO_FAULT, ERRNO_MFILE, ERRNO_NAMETOOLONG, ERRNO_NOMEM, ERRNO_NOTSUP,
    ERRNO_SUCCESS, host_fault_name, io_fault_name,
};
use crate::limits::{HOSTCALL_BYTES_MAX, OPEN_FILES_MAX, OUT_BYTES_MAX, OUT_ENTRIES_MAX};
use crate::paths::{GuestPath, judge};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::{AsContextMut, Caller, Linker, Memory, ResourceLimiter};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p1::wasi_snapshot_preview1::{self, WasiSnapshotPreview1};
use wasmtime_wasi::runtime::in_tokio;

const WASI: &str = crate::admission::WASI_MODULE;
/// `oflags` bit asking `path_open` to create the file.
const OFLAGS_CREAT: i32 = 1;
/// `fdflags` bit of a descriptor opened for appending.
const FDFLAGS_APPEND: u16 = 1;
/// WASI filetypes.
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;
/// fds 3 and 4 are the preopens `/in` and `/out`, in the order the world opens them.
const FD_IN: u32 = 3;
const FD_OUT: u32 = 4;
/// Bytes of the scratch buffer Yun's own queries (`fdstat`, `filestat`, `tell`) write into.
const SCRATCH_BYTES: usize = 64;

/// A host-resource error a WASI call met: the call and the errno's POSIX name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostErrno {
    pub call: &'static str,
    pub errno: &'static str,
}

/// Per-store state: the WASI context, the resource limiter and the `/out` accounting.
pub(crate) struct Host {
    pub wasi: WasiP1Ctx,
    pub limiter: Limiter,
    /// Set by the stdout/stderr pipes and the `/out` budget when a task writes too much.
    pub output_limit_hit: Arc<AtomicBool>,
    /// The host-resource error that ended the run, if one did: a host fault, never a verdict.
    pub host_fault: Option<HostErrno>,
    /// Host path of every open directory or file fd (the preopens included), so listings can
    /// be produced in sorted order and open descriptors counted against `OPEN_FILES_MAX`.
    fd_paths: BTreeMap<u32, PathBuf>,
    in_root: PathBuf,
    out_root: PathBuf,
    out_bytes_written: u64,
    out_entries_created: u32,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("out_bytes_written", &self.out_bytes_written)
            .field("host_fault", &self.host_fault)
            .finish_non_exhaustive()
    }
}

impl Host {
    pub fn new(
        wasi: WasiP1Ctx,
        limiter: Limiter,
        output_limit_hit: Arc<AtomicBool>,
        in_root: PathBuf,
        out_root: PathBuf,
    ) -> Host {
        let fd_paths = BTreeMap::from([(FD_IN, in_root.clone()), (FD_OUT, out_root.clone())]);
        Host {
            wasi,
            limiter,
            output_limit_hit,
            host_fault: None,
            fd_paths,
            in_root,
            out_root,
            out_bytes_written: 0,
            out_entries_created: 0,
        }
    }

    fn hit_output_limit(&self) -> wasmtime::Error {
        self.output_limit_hit.store(true, Ordering::SeqCst);
        wasmtime::format_err!("output limit reached")
    }

    /// Records a host-resource error and returns the trap that ends the run.
    fn hit_host_fault(&mut self, call: &'static str, errno: &'static str) -> wasmtime::Error {
        self.host_fault.get_or_insert(HostErrno { call, errno });
        wasmtime::format_err!("host fault: {call} failed with {errno}")
    }

    /// Whether `fd` is a descriptor below `/out` (the only writable tree).
    fn is_out_fd(&self, fd: i32) -> bool {
        self.fd_paths
            .get(&(fd as u32))
            .is_some_and(|p| p.starts_with(&self.out_root))
    }

    fn root_of(&self, base: &Path) -> &Path {
        if base.starts_with(&self.out_root) {
            &self.out_root
        } else {
            &self.in_root
        }
    }
}

/// Bounds linear memory and tables; a growth past the bound records which limit was hit and
/// traps, so the verdict is `MemoryLimit` rather than a guest-visible failed allocation.
#[derive(Debug)]
pub(crate) struct Limiter {
    pub memory_bytes_max: usize,
    pub table_elements_max: usize,
    pub hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes_max {
            self.hit = true;
            wasmtime::bail!("memory limit of {} bytes reached", self.memory_bytes_max);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements_max {
            self.hit = true;
            wasmtime::bail!(
                "table limit of {} elements reached",
                self.table_elements_max
            );
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }
    fn memories(&self) -> usize {
        1
    }
    fn tables(&self) -> usize {
        16
    }
}

/// Calls wasmtime-wasi's own implementation of a WASI function on the calling instance's
/// memory, exactly as its generated linker glue does (including the host-call fuel that bounds
/// how much guest data one call may copy), then screens the errno it returns.
macro_rules! original {
    ($caller:expr, $name:ident($($arg:expr),*)) => {{
        let caller: &mut Caller<'_, Host> = $caller;
        let fuel = caller.as_context_mut().hostcall_fuel();
        let errno = match caller.get_export("memory") {
            Some(wasmtime::Extern::Memory(m)) => {
                let (mem, host) = m.data_and_store_mut(&mut *caller);
                WasiSnapshotPreview1::set_hostcall_fuel(&mut host.wasi, fuel);
                let mut mem = wiggle::GuestMemory::Unshared(mem);
                in_tokio(wasi_snapshot_preview1::$name(&mut host.wasi, &mut mem $(, $arg)*))
            }
            _ => Ok(ERRNO_FAULT),
        };
        errno.and_then(|errno| screen(caller, stringify!($name), errno))
    }};
}

/// Asks wasmtime-wasi about a descriptor on Yun's own behalf (`fd_fdstat_get`, `fd_tell`,
/// `fd_filestat_get`), writing into a scratch buffer rather than guest memory. The result is
/// the buffer on success, `None` on a task errno (the call Yun checks will report it).
macro_rules! query {
    ($caller:expr, $name:ident($fd:expr)) => {{
        let caller: &mut Caller<'_, Host> = $caller;
        let mut scratch = [0u8; SCRATCH_BYTES];
        let errno = {
            let host = caller.data_mut();
            WasiSnapshotPreview1::set_hostcall_fuel(&mut host.wasi, HOSTCALL_BYTES_MAX);
            let mut mem = wiggle::GuestMemory::Unshared(&mut scratch[..]);
            in_tokio(wasi_snapshot_preview1::$name(
                &mut host.wasi,
                &mut mem,
                $fd,
                0,
            ))
        };
        errno
            .and_then(|errno| screen(caller, stringify!($name), errno))
            .map(|errno| (errno == ERRNO_SUCCESS).then_some(scratch))
    }};
}

/// Registers a wrapper that only screens the errno of a filesystem call with no path argument.
macro_rules! screened {
    ($linker:expr, $name:ident($($arg:ident: $ty:ty),*)) => {
        $linker.func_wrap(
            WASI,
            stringify!($name),
            |mut caller: Caller<'_, Host>, $($arg: $ty),*| -> wasmtime::Result<i32> {
                original!(&mut caller, $name($($arg),*))
            },
        )?
    };
}

/// Passes a task's errno through; a host-resource errno instead ends the run as a host fault,
/// so the guest never sees it.
fn screen(caller: &mut Caller<'_, Host>, call: &'static str, errno: i32) -> wasmtime::Result<i32> {
    match host_fault_name(errno) {
        None => Ok(errno),
        Some(name) => Err(caller.data_mut().hit_host_fault(call, name)),
    }
}

fn memory(caller: &mut Caller<'_, Host>) -> Option<Memory> {
    caller.get_export("memory").and_then(|e| e.into_memory())
}

fn read_bytes(caller: &mut Caller<'_, Host>, ptr: i32, len: usize) -> Option<Vec<u8>> {
    let mem = memory(caller)?;
    let mut out = vec![0u8; len];
    mem.read(&*caller, ptr as u32 as usize, &mut out).ok()?;
    Some(out)
}

fn read_u32(caller: &mut Caller<'_, Host>, ptr: i32) -> Option<u32> {
    read_bytes(caller, ptr, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn write_bytes(caller: &mut Caller<'_, Host>, ptr: u32, bytes: &[u8]) -> bool {
    match memory(caller) {
        Some(mem) => mem.write(&mut *caller, ptr as usize, bytes).is_ok(),
        None => false,
    }
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Overwrites the host-specific fields of a WASI `filestat` with fixed values: dev, ino and
/// times zero, nlink one, and a directory's size zero (ext4 says 4096, tmpfs counts entries,
/// btrfs sums name lengths). Type and a file's size stay: they are the task's own data.
fn mask_filestat(caller: &mut Caller<'_, Host>, buf: i32) -> i32 {
    let buf = buf as u32;
    let is_dir = read_bytes(caller, (buf + 16) as i32, 1) == Some(vec![FILETYPE_DIRECTORY]);
    let ok = write_bytes(caller, buf, &[0u8; 16]) // dev, ino
        && write_bytes(caller, buf + 24, &1u64.to_le_bytes()) // nlink
        && (!is_dir || write_bytes(caller, buf + 32, &0u64.to_le_bytes())) // size
        && write_bytes(caller, buf + 40, &[0u8; 24]); // atim, mtim, ctim
    if ok { ERRNO_SUCCESS } else { ERRNO_FAULT }
}

/// Replaces the filesystem-related WASI functions in `linker` (which already holds
/// wasmtime-wasi's versions) with wrappers; only args, environ, clocks, randomness, preopen
/// names, descriptor flags and positions (`fd_fdstat_set_flags`, `fd_tell`: kept in memory),
/// `sched_yield` and `proc_exit` reach wasmtime-wasi unwrapped, none of which touches the
/// host's filesystem.
pub(crate) fn add_wrappers(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    add_stat_wrappers(linker)?;
    add_path_wrappers(linker)?;
    add_io_wrappers(linker)?;
    screened!(linker, fd_advise(fd: i32, offset: i64, len: i64, advice: i32));
    screened!(linker, fd_datasync(fd: i32));
    screened!(linker, fd_sync(fd: i32));
    screened!(linker, fd_fdstat_get(fd: i32, buf: i32));
    screened!(linker, fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, fst: i32));
    screened!(linker, fd_seek(fd: i32, offset: i64, whence: i32, newoffset: i32));
    linker.func_wrap(WASI, "fd_readdir", fd_readdir)?;
    linker.func_wrap(
        WASI,
        "fd_close",
        |mut caller: Caller<'_, Host>, fd: i32| -> wasmtime::Result<i32> {
            let errno = original!(&mut caller, fd_close(fd))?;
            if errno == ERRNO_SUCCESS {
                caller.data_mut().fd_paths.remove(&(fd as u32));
            }
            Ok(errno)
        },
    )?;
    // Sleeping would need a clock that advances; refuse it so a task cannot stall the host
    // inside a host call where the wall-clock kill switch cannot reach it.
    linker.func_wrap(
        WASI,
        "poll_oneoff",
        |_: Caller<'_, Host>, _in: i32, _out: i32, _n: i32, _nevents: i32| ERRNO_NOTSUP,
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

fn add_stat_wrappers(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        WASI,
        "fd_filestat_get",
        |mut caller: Caller<'_, Host>, fd: i32, buf: i32| -> wasmtime::Result<i32> {
            let errno = original!(&mut caller, fd_filestat_get(fd, buf))?;
            if errno != ERRNO_SUCCESS || fd < 3 {
                return Ok(errno);
            }
            Ok(mask_filestat(&mut caller, buf))
        },
    )?;
    linker.func_wrap(
        WASI,
        "path_filestat_get",
        |mut caller: Caller<'_, Host>, fd: i32, flags: i32, path: i32, len: i32, buf: i32| {
            if guest_path(&mut caller, fd, path, len) == GuestPath::TooLong {
                return Ok(ERRNO_NAMETOOLONG);
            }
            let errno = original!(&mut caller, path_filestat_get(fd, flags, path, len, buf))?;
            if errno != ERRNO_SUCCESS {
                return Ok(errno);
            }
            wasmtime::Result::<i32>::Ok(mask_filestat(&mut caller, buf))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_filestat_set_size",
        |mut caller: Caller<'_, Host>, fd: i32, size: i64| -> wasmtime::Result<i32> {
            if caller.data().is_out_fd(fd) && size as u64 > OUT_BYTES_MAX {
                return Err(caller.data().hit_output_limit());
            }
            original!(&mut caller, fd_filestat_set_size(fd, size))
        },
    )?;
    Ok(())
}

/// The path functions: each path is judged by Yun first (`ENAMETOOLONG` for over-long ones).
fn add_path_wrappers(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(WASI, "path_open", path_open)?;
    linker.func_wrap(
        WASI,
        "path_create_directory",
        |mut caller: Caller<'_, Host>, fd: i32, path: i32, len: i32| -> wasmtime::Result<i32> {
            let target = guest_path(&mut caller, fd, path, len);
            if target == GuestPath::TooLong {
                return Ok(ERRNO_NAMETOOLONG);
            }
            charge_new_entry(&mut caller, &target)?;
            original!(&mut caller, path_create_directory(fd, path, len))
        },
    )?;
    linker.func_wrap(
        WASI,
        "path_remove_directory",
        |mut caller: Caller<'_, Host>, fd: i32, path: i32, len: i32| -> wasmtime::Result<i32> {
            if guest_path(&mut caller, fd, path, len) == GuestPath::TooLong {
                return Ok(ERRNO_NAMETOOLONG);
            }
            original!(&mut caller, path_remove_directory(fd, path, len))
        },
    )?;
    linker.func_wrap(
        WASI,
        "path_unlink_file",
        |mut caller: Caller<'_, Host>, fd: i32, path: i32, len: i32| -> wasmtime::Result<i32> {
            if guest_path(&mut caller, fd, path, len) == GuestPath::TooLong {
                return Ok(ERRNO_NAMETOOLONG);
            }
            original!(&mut caller, path_unlink_file(fd, path, len))
        },
    )?;
    linker.func_wrap(WASI, "path_rename", path_rename)?;
    linker.func_wrap(WASI, "path_filestat_set_times", path_filestat_set_times)?;
    Ok(())
}

/// Reads and writes: the copy size is bounded (`HOSTCALL_BYTES_MAX`), and writes into `/out`
/// by its byte budget and where they end.
fn add_io_wrappers(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        WASI,
        "fd_read",
        |mut caller: Caller<'_, Host>, fd: i32, iovs: i32, n: i32, nread: i32| {
            if iovec_copy(&mut caller, iovs, n) == IovecCopy::TooLarge {
                return Ok(ERRNO_NOMEM);
            }
            original!(&mut caller, fd_read(fd, iovs, n, nread))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_pread",
        |mut caller: Caller<'_, Host>, fd: i32, iovs: i32, n: i32, off: i64, nread: i32| {
            if iovec_copy(&mut caller, iovs, n) == IovecCopy::TooLarge {
                return Ok(ERRNO_NOMEM);
            }
            original!(&mut caller, fd_pread(fd, iovs, n, off, nread))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_write",
        |mut caller: Caller<'_, Host>, fd: i32, iovs: i32, n: i32, nwritten: i32| {
            if let Some(errno) = before_write(&mut caller, fd, iovs, n, None)? {
                return Ok(errno);
            }
            let errno = original!(&mut caller, fd_write(fd, iovs, n, nwritten))?;
            settle_write(&mut caller, fd, errno, nwritten)
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_pwrite",
        |mut caller: Caller<'_, Host>, fd: i32, iovs: i32, n: i32, off: i64, nwritten: i32| {
            if let Some(errno) = before_write(&mut caller, fd, iovs, n, Some(off as u64))? {
                return Ok(errno);
            }
            let errno = original!(&mut caller, fd_pwrite(fd, iovs, n, off, nwritten))?;
            settle_write(&mut caller, fd, errno, nwritten)
        },
    )?;
    Ok(())
}

/// What wasmtime-wasi would copy for an iovec call.
#[derive(Debug, PartialEq, Eq)]
enum IovecCopy {
    /// The array and its first non-empty buffer fit `HOSTCALL_BYTES_MAX`; the buffer's length.
    Fits(u64),
    /// They do not: Yun answers `ENOMEM`, as wasmtime-wasi would, but before the host is asked.
    TooLarge,
    /// The array is not in memory: the original reports the fault.
    Unreadable,
}

/// Sizes an iovec call the way wasmtime-wasi charges host-call fuel: `n` 8-byte iovecs, then
/// the first non-empty buffer.
fn iovec_copy(caller: &mut Caller<'_, Host>, iovs: i32, n: i32) -> IovecCopy {
    let limit = HOSTCALL_BYTES_MAX as u64;
    let array = u64::from(n as u32) * 8;
    if array > limit {
        return IovecCopy::TooLarge;
    }
    let Some(mem) = memory(caller) else {
        return IovecCopy::Unreadable;
    };
    let start = iovs as u32 as usize;
    let Some(array_bytes) = mem.data(&*caller).get(start..start + array as usize) else {
        return IovecCopy::Unreadable;
    };
    let first = array_bytes
        .chunks_exact(8)
        .map(|iov| u32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]))
        .find(|len| *len > 0)
        .map_or(0, u64::from);
    if array + first > limit {
        IovecCopy::TooLarge
    } else {
        IovecCopy::Fits(first)
    }
}

/// Yun's checks before a write (`fd_write` when `at` is `None`, `fd_pwrite` at `at`): the copy
/// size, then for `/out` files the byte budget and where the write would end, both bounded by
/// `OUT_BYTES_MAX`, so no filesystem's maximum file size is ever reached. `Some(errno)`
/// answers the guest without calling the host.
fn before_write(
    caller: &mut Caller<'_, Host>,
    fd: i32,
    iovs: i32,
    n: i32,
    at: Option<u64>,
) -> wasmtime::Result<Option<i32>> {
    let first = match iovec_copy(caller, iovs, n) {
        IovecCopy::TooLarge => return Ok(Some(ERRNO_NOMEM)),
        IovecCopy::Unreadable => return Ok(None),
        IovecCopy::Fits(first) => first,
    };
    let Some(start) = write_start(caller, fd, at)? else {
        return Ok(None);
    };
    let host = caller.data();
    if host.out_bytes_written.saturating_add(first) > OUT_BYTES_MAX
        || start.saturating_add(first) > OUT_BYTES_MAX
    {
        return Err(host.hit_output_limit());
    }
    Ok(None)
}

/// Where a write to an `/out` file would start: the file's end if it was opened for appending,
/// else `at` (`fd_pwrite`) or the descriptor's position. `None` for any other descriptor.
fn write_start(
    caller: &mut Caller<'_, Host>,
    fd: i32,
    at: Option<u64>,
) -> wasmtime::Result<Option<u64>> {
    if !caller.data().is_out_fd(fd) {
        return Ok(None);
    }
    let Some(stat) = query!(caller, fd_fdstat_get(fd))? else {
        return Ok(None);
    };
    if stat[0] != FILETYPE_REGULAR_FILE {
        return Ok(None);
    }
    if u16::from_le_bytes([stat[2], stat[3]]) & FDFLAGS_APPEND != 0 {
        return Ok(query!(caller, fd_filestat_get(fd))?.map(|st| u64_at(&st, 32)));
    }
    if at.is_some() {
        return Ok(at);
    }
    Ok(position(caller, fd))
}

/// A descriptor's position, which wasmtime-wasi keeps in memory (no host call).
fn position(caller: &mut Caller<'_, Host>, fd: i32) -> Option<u64> {
    let mut scratch = [0u8; 8];
    let mut mem = wiggle::GuestMemory::Unshared(&mut scratch[..]);
    let errno = wasi_snapshot_preview1::fd_tell(&mut caller.data_mut().wasi, &mut mem, fd, 0);
    (errno.ok()? == ERRNO_SUCCESS).then(|| u64::from_le_bytes(scratch))
}

fn settle_write(
    caller: &mut Caller<'_, Host>,
    fd: i32,
    errno: i32,
    nwritten: i32,
) -> wasmtime::Result<i32> {
    if errno == ERRNO_SUCCESS && caller.data().is_out_fd(fd) {
        let n = read_u32(caller, nwritten).unwrap_or(0);
        let host = caller.data_mut();
        host.out_bytes_written = host.out_bytes_written.saturating_add(u64::from(n));
    }
    Ok(errno)
}

/// Judges the path argument of a call relative to its directory descriptor.
fn guest_path(caller: &mut Caller<'_, Host>, dirfd: i32, path: i32, len: i32) -> GuestPath {
    let len = len as u32 as usize;
    if len > crate::limits::PATH_BYTES_MAX {
        return GuestPath::TooLong;
    }
    let Some(bytes) = read_bytes(caller, path, len) else {
        return GuestPath::Unjudged;
    };
    let host = caller.data();
    let Some(base) = host.fd_paths.get(&(dirfd as u32)) else {
        return GuestPath::Unjudged;
    };
    judge(host.root_of(base), base, &bytes)
}

/// Counts a new `/out` entry (file or directory) against the entry budget, before creating it.
fn charge_new_entry(caller: &mut Caller<'_, Host>, target: &GuestPath) -> wasmtime::Result<()> {
    let GuestPath::Resolved(host_path) = target else {
        return Ok(()); // the original refuses the path with its own errno
    };
    let host = caller.data();
    if !host_path.starts_with(&host.out_root) || host_path.symlink_metadata().is_ok() {
        return Ok(());
    }
    if host.out_entries_created >= OUT_ENTRIES_MAX {
        return Err(host.hit_output_limit());
    }
    caller.data_mut().out_entries_created += 1;
    Ok(())
}

/// Opens a file or directory: path judged, descriptor count bounded by `OPEN_FILES_MAX` (one
/// more gets `EMFILE` from Yun, so the host's own `EMFILE` is only ever a host fault), a new
/// `/out` entry charged, and the new descriptor's host path remembered.
#[allow(clippy::too_many_arguments)]
fn path_open(
    mut caller: Caller<'_, Host>,
    dirfd: i32,
    dirflags: i32,
    path: i32,
    len: i32,
    oflags: i32,
    rights_base: i64,
    rights_inheriting: i64,
    fdflags: i32,
    fd_out: i32,
) -> wasmtime::Result<i32> {
    let target = guest_path(&mut caller, dirfd, path, len);
    if target == GuestPath::TooLong {
        return Ok(ERRNO_NAMETOOLONG);
    }
    if caller.data().fd_paths.len() >= OPEN_FILES_MAX {
        return Ok(ERRNO_MFILE);
    }
    if oflags & OFLAGS_CREAT != 0 {
        charge_new_entry(&mut caller, &target)?;
    }
    let errno = original!(
        &mut caller,
        path_open(
            dirfd,
            dirflags,
            path,
            len,
            oflags,
            rights_base,
            rights_inheriting,
            fdflags,
            fd_out
        )
    )?;
    if errno == ERRNO_SUCCESS
        && let Some(fd) = read_u32(&mut caller, fd_out)
    {
        // Every open descriptor counts; one whose path Yun could not judge lists as empty.
        let host_path = match target {
            GuestPath::Resolved(p) => p,
            _ => PathBuf::new(),
        };
        caller.data_mut().fd_paths.insert(fd, host_path);
    }
    Ok(errno)
}

fn path_rename(
    mut caller: Caller<'_, Host>,
    fd: i32,
    path: i32,
    len: i32,
    new_fd: i32,
    new_path: i32,
    new_len: i32,
) -> wasmtime::Result<i32> {
    if guest_path(&mut caller, fd, path, len) == GuestPath::TooLong
        || guest_path(&mut caller, new_fd, new_path, new_len) == GuestPath::TooLong
    {
        return Ok(ERRNO_NAMETOOLONG);
    }
    original!(
        &mut caller,
        path_rename(fd, path, len, new_fd, new_path, new_len)
    )
}

#[allow(clippy::too_many_arguments)]
fn path_filestat_set_times(
    mut caller: Caller<'_, Host>,
    fd: i32,
    flags: i32,
    path: i32,
    len: i32,
    atim: i64,
    mtim: i64,
    fst: i32,
) -> wasmtime::Result<i32> {
    if guest_path(&mut caller, fd, path, len) == GuestPath::TooLong {
        return Ok(ERRNO_NAMETOOLONG);
    }
    original!(
        &mut caller,
        path_filestat_set_times(fd, flags, path, len, atim, mtim, fst)
    )
}

/// Lists a directory in byte order of names, with `.` and `..` first, inode numbers zero and
/// cookies equal to entry positions, so listings and their pagination are identical everywhere.
fn fd_readdir(
    mut caller: Caller<'_, Host>,
    fd: i32,
    buf: i32,
    buf_len: i32,
    cookie: i64,
    bufused: i32,
) -> wasmtime::Result<i32> {
    let Some(dir) = caller.data().fd_paths.get(&(fd as u32)).cloned() else {
        return original!(&mut caller, fd_readdir(fd, buf, buf_len, cookie, bufused));
    };
    let entries = match list_sorted(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            return match io_fault_name(&e) {
                Some(name) => Err(caller.data_mut().hit_host_fault("fd_readdir", name)),
                None => Ok(ERRNO_BADF), // removed, renamed, or not a directory
            };
        }
    };
    let mut out = Vec::new();
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    let cap = buf_len.max(0) as usize;
    for (i, (name, filetype)) in entries.iter().enumerate().skip(start) {
        if out.len() >= cap {
            break;
        }
        out.extend_from_slice(&(i as u64 + 1).to_le_bytes()); // d_next
        out.extend_from_slice(&0u64.to_le_bytes()); // d_ino
        out.extend_from_slice(&(name.len() as u32).to_le_bytes()); // d_namlen
        out.push(*filetype); // d_type
        out.extend_from_slice(&[0u8; 3]); // padding to 24 bytes
        out.extend_from_slice(name);
    }
    out.truncate(cap);
    let used = out.len() as u32;
    let ok = write_bytes(&mut caller, buf as u32, &out)
        && write_bytes(&mut caller, bufused as u32, &used.to_le_bytes());
    Ok(if ok { ERRNO_SUCCESS } else { ERRNO_FAULT })
}

/// A directory's entries as (name, WASI filetype), `.` and `..` first, the rest in byte order.
fn list_sorted(dir: &Path) -> std::io::Result<Vec<(Vec<u8>, u8)>> {
    let mut entries = vec![
        (b".".to_vec(), FILETYPE_DIRECTORY),
        (b"..".to_vec(), FILETYPE_DIRECTORY),
    ];
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        // Only directories and regular files can ever be created.
        let filetype = if entry.file_type()?.is_dir() {
            FILETYPE_DIRECTORY
        } else {
            FILETYPE_REGULAR_FILE
        };
        entries.push((entry.file_name().into_encoded_bytes(), filetype));
    }
    entries[2..].sort();
    Ok(entries)
}
