//! The store's host state and the WASI functions Yun wraps around wasmtime-wasi's: metadata
//! masking, sorted directory listings, and byte and entry budgets for `/out`, because the
//! stock implementation passes host facts (inode numbers, times, directory order) to the guest
//! and bounds nothing written to disk.

use crate::limits::{OUT_BYTES_MAX, OUT_ENTRIES_MAX};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::{AsContextMut, Caller, Linker, Memory, ResourceLimiter};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p1::wasi_snapshot_preview1::{self, WasiSnapshotPreview1};
use wasmtime_wasi::runtime::in_tokio;

const WASI: &str = crate::admission::WASI_MODULE;
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_IO: i32 = 29;
const ERRNO_NOTSUP: i32 = 58;
/// `oflags` bit asking `path_open` to create the file.
const OFLAGS_CREAT: i32 = 1;
/// fds 3 and 4 are the preopens `/in` and `/out`, in the order the world opens them.
const FD_IN: u32 = 3;
const FD_OUT: u32 = 4;

/// Per-store state: the WASI context, the resource limiter and the `/out` accounting.
pub(crate) struct Host {
    pub wasi: WasiP1Ctx,
    pub limiter: Limiter,
    /// Set by the stdout/stderr pipes and the `/out` budget when a task writes too much.
    pub output_limit_hit: Arc<AtomicBool>,
    /// Host path of every open directory or file fd, so listings can be produced in sorted
    /// order without consulting wasmtime-wasi's host-ordered iterator.
    fd_paths: BTreeMap<u32, PathBuf>,
    out_root: PathBuf,
    out_bytes_written: u64,
    out_entries_created: u32,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("out_bytes_written", &self.out_bytes_written)
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
        let fd_paths = BTreeMap::from([(FD_IN, in_root), (FD_OUT, out_root.clone())]);
        Host {
            wasi,
            limiter,
            output_limit_hit,
            fd_paths,
            out_root,
            out_bytes_written: 0,
            out_entries_created: 0,
        }
    }

    fn hit_output_limit(&self) -> wasmtime::Error {
        self.output_limit_hit.store(true, Ordering::SeqCst);
        wasmtime::format_err!("output limit reached")
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
/// how much guest data one call may copy).
macro_rules! original {
    ($caller:expr, $name:ident($($arg:expr),*)) => {{
        let caller: &mut Caller<'_, Host> = $caller;
        let fuel = caller.as_context_mut().hostcall_fuel();
        match caller.get_export("memory") {
            Some(wasmtime::Extern::Memory(m)) => {
                let (mem, host) = m.data_and_store_mut(&mut *caller);
                WasiSnapshotPreview1::set_hostcall_fuel(&mut host.wasi, fuel);
                let mut mem = wiggle::GuestMemory::Unshared(mem);
                in_tokio(wasi_snapshot_preview1::$name(&mut host.wasi, &mut mem $(, $arg)*))
            }
            _ => Ok(ERRNO_FAULT),
        }
    }};
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

/// Overwrites the host-specific fields of a WASI `filestat` (dev, ino, nlink, times) with
/// fixed values; type and size stay, because they are the task's own data.
fn mask_filestat(caller: &mut Caller<'_, Host>, buf: i32) -> i32 {
    let buf = buf as u32;
    let ok = write_bytes(caller, buf, &[0u8; 16]) // dev, ino
        && write_bytes(caller, buf + 24, &1u64.to_le_bytes()) // nlink
        && write_bytes(caller, buf + 40, &[0u8; 24]); // atim, mtim, ctim
    if ok { ERRNO_SUCCESS } else { ERRNO_FAULT }
}

/// Replaces the metadata- and directory-related WASI functions in `linker` (which already
/// holds wasmtime-wasi's versions) with wrappers.
pub(crate) fn add_wrappers(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
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
            let errno = original!(&mut caller, path_filestat_get(fd, flags, path, len, buf))?;
            if errno != ERRNO_SUCCESS {
                return Ok(errno);
            }
            wasmtime::Result::<i32>::Ok(mask_filestat(&mut caller, buf))
        },
    )?;
    linker.func_wrap(WASI, "fd_readdir", fd_readdir)?;
    linker.func_wrap(WASI, "path_open", path_open)?;
    linker.func_wrap(
        WASI,
        "path_create_directory",
        |mut caller: Caller<'_, Host>, fd: i32, path: i32, len: i32| -> wasmtime::Result<i32> {
            charge_new_entry(&mut caller, fd, path, len)?;
            original!(&mut caller, path_create_directory(fd, path, len))
        },
    )?;
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
    linker.func_wrap(
        WASI,
        "fd_write",
        |mut caller: Caller<'_, Host>, fd: i32, iovs: i32, n: i32, nwritten: i32| {
            precharge_write(&mut caller, fd, iovs, n)?;
            let errno = original!(&mut caller, fd_write(fd, iovs, n, nwritten))?;
            settle_write(&mut caller, fd, errno, nwritten)
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_pwrite",
        |mut caller: Caller<'_, Host>, fd: i32, iovs: i32, n: i32, off: i64, nwritten: i32| {
            precharge_write(&mut caller, fd, iovs, n)?;
            let errno = original!(&mut caller, fd_pwrite(fd, iovs, n, off, nwritten))?;
            settle_write(&mut caller, fd, errno, nwritten)
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

/// Refuses a write into a file before it happens if the first non-empty iovec (the most WASI
/// writes at once) would take `/out` past its byte budget. Stdio is bounded by its pipes.
fn precharge_write(
    caller: &mut Caller<'_, Host>,
    fd: i32,
    iovs: i32,
    n: i32,
) -> wasmtime::Result<()> {
    if fd < 3 {
        return Ok(());
    }
    let mut first = 0u64;
    for i in 0..n.clamp(0, 1024) {
        let Some(len) = read_u32(caller, iovs.wrapping_add(i * 8 + 4)) else {
            return Ok(()); // the original reports the fault
        };
        if len > 0 {
            first = u64::from(len);
            break;
        }
    }
    if caller.data().out_bytes_written.saturating_add(first) > OUT_BYTES_MAX {
        return Err(caller.data().hit_output_limit());
    }
    Ok(())
}

fn settle_write(
    caller: &mut Caller<'_, Host>,
    fd: i32,
    errno: i32,
    nwritten: i32,
) -> wasmtime::Result<i32> {
    if errno == ERRNO_SUCCESS && fd >= 3 {
        let n = read_u32(caller, nwritten).unwrap_or(0);
        let host = caller.data_mut();
        host.out_bytes_written = host.out_bytes_written.saturating_add(u64::from(n));
    }
    Ok(errno)
}

/// Counts a new `/out` entry (file or directory) against the entry budget, before creating it.
fn charge_new_entry(
    caller: &mut Caller<'_, Host>,
    dirfd: i32,
    path: i32,
    len: i32,
) -> wasmtime::Result<()> {
    let Some(host_path) = resolve(caller, dirfd, path, len) else {
        return Ok(()); // unknown fd or bad pointer: the original reports the error
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

fn resolve(caller: &mut Caller<'_, Host>, dirfd: i32, path: i32, len: i32) -> Option<PathBuf> {
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l <= crate::limits::PATH_BYTES_MAX)?;
    let bytes = read_bytes(caller, path, len)?;
    let rel = String::from_utf8(bytes).ok()?;
    let base = caller.data().fd_paths.get(&(dirfd as u32))?;
    Some(base.join(rel.trim_start_matches('/')))
}

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
    if oflags & OFLAGS_CREAT != 0 {
        charge_new_entry(&mut caller, dirfd, path, len)?;
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
        && let (Some(fd), Some(host_path)) = (
            read_u32(&mut caller, fd_out),
            resolve(&mut caller, dirfd, path, len),
        )
    {
        caller.data_mut().fd_paths.insert(fd, host_path);
    }
    Ok(errno)
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
    let Ok(read) = std::fs::read_dir(&dir) else {
        return Ok(ERRNO_BADF);
    };
    let mut entries: Vec<(Vec<u8>, u8)> = vec![(b".".to_vec(), 3), (b"..".to_vec(), 3)];
    for entry in read {
        let Ok(entry) = entry else {
            return Ok(ERRNO_IO);
        };
        let Ok(kind) = entry.file_type() else {
            return Ok(ERRNO_IO);
        };
        // WASI filetype: 3 directory, 4 regular file; nothing else is ever created.
        let filetype = if kind.is_dir() { 3 } else { 4 };
        entries.push((entry.file_name().into_encoded_bytes(), filetype));
    }
    entries[2..].sort();
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
