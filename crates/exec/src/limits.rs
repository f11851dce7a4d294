//! Named bounds on everything a job can make the host hold. Those up to the excerpt size are
//! protocol constants, because any of them can change a task's deterministic verdict and every
//! replica must apply the same ones ([`described`] lists them for the engine fingerprint); the
//! ones after it bound only the host's own caches and queues.

/// Largest module accepted for admission (bytes of the `.wasm` file).
pub const MODULE_BYTES_MAX: usize = 32 * 1024 * 1024;
/// Most functions a module may define or import (bounds compile time and code memory).
pub const MODULE_FUNCTIONS_MAX: u32 = 100_000;

/// Stdout is part of the verified output; writing more than this ends the task with `OutputLimit`.
pub const STDOUT_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Stderr is diagnostic only, but still bounded: writing more ends the task with `OutputLimit`.
pub const STDERR_BYTES_MAX: usize = 256 * 1024;
/// Total bytes a task may write into `/out` (counted as written, and checked again at collection).
/// It also bounds where a write may end and how far a file may be grown (`fd_pwrite` at an
/// offset, `fd_filestat_set_size`), so no filesystem's maximum file size (`EFBIG`) is reached.
pub const OUT_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Files and directories a task may create under `/out`.
pub const OUT_ENTRIES_MAX: u32 = 1_024;

/// Files and directories a task may hold open at once, the `/in` and `/out` preopens included.
/// One more `path_open` gets `EMFILE` from Yun, identically on every host; a provider's
/// descriptor limit must leave room for this many per concurrent task, so the host's own
/// `EMFILE` is only ever a host fault.
pub const OPEN_FILES_MAX: usize = 128;
/// Length of one path component (file or directory name), in bytes. Longer names get
/// `ENAMETOOLONG` from Yun before the host is asked, so filesystems with shorter name limits
/// cannot answer differently; 255 is what ext4, tmpfs, btrfs and xfs all accept.
pub const NAME_BYTES_MAX: usize = 255;
/// Bytes one WASI call may copy between guest memory and the host (an iovec array plus its
/// first non-empty buffer, or a path). Larger calls get `ENOMEM` from Yun; the store's
/// host-call fuel is set to the same value, so wasmtime-wasi never answers `ENOMEM` itself.
pub const HOSTCALL_BYTES_MAX: usize = 128 * 1024 * 1024;

/// Task input on stdin.
pub const STDIN_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Files materialised under `/in`.
pub const IN_FILES_MAX: usize = 1_024;
/// Total bytes of the files under `/in`.
pub const IN_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Length of one path under `/in` or `/out`, in bytes; also of any path a task passes to a WASI
/// call (longer ones get `ENAMETOOLONG` from Yun).
pub const PATH_BYTES_MAX: usize = 1_024;
/// Arguments passed to a task, and bytes in all of them together.
pub const ARGS_MAX: usize = 256;
pub const ARGS_BYTES_MAX: usize = 64 * 1024;

/// Linear memory one task may use; the per-task limit must be at or below this.
pub const MEMORY_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024 - 65_536;
/// Elements across a task's tables; growing past it ends the task with `MemoryLimit`.
pub const TABLE_ELEMENTS_MAX: usize = 1_000_000;
/// Native stack available to wasm code. Deep recursion past it traps with `StackOverflow` at a
/// depth that depends on compiled frame sizes, so it is fixed here together with the engine.
pub const WASM_STACK_BYTES_MAX: usize = 1024 * 1024;

/// Bytes of stdout and stderr kept in an outcome's diagnostic excerpts.
pub const EXCERPT_BYTES_MAX: usize = 4 * 1024;
/// Compiled modules kept in a sandbox's in-memory cache.
pub const MODULE_CACHE_ENTRIES_MAX: usize = 64;
/// Task directories waiting for the reaper thread to delete them; past this, the run that
/// finished deletes its own (removal costs hundreds of µs on some filesystems, more than the
/// whole rest of a small run, so it stays off the caller's path when it can).
pub const REAP_QUEUE_MAX: usize = 256;
/// Emptied task directories kept for the next tasks' `/in` and `/out` (runs in flight at once
/// are far fewer: one per core, two directories each).
pub const SPARE_DIRS_MAX: usize = 64;
/// Instances the pooling allocator keeps ready when pooling is on.
pub const POOL_INSTANCES: u32 = 64;

/// Every limit that can change a verdict, as `name=value` pairs in a fixed order: part of the
/// engine fingerprint's class. (The excerpt size and the host-side bounds after it change no verdict.)
pub(crate) fn described() -> String {
    let limits: [(&str, u64); 18] = [
        ("module_bytes", MODULE_BYTES_MAX as u64),
        ("module_functions", u64::from(MODULE_FUNCTIONS_MAX)),
        ("stdout_bytes", STDOUT_BYTES_MAX as u64),
        ("stderr_bytes", STDERR_BYTES_MAX as u64),
        ("out_bytes", OUT_BYTES_MAX),
        ("out_entries", u64::from(OUT_ENTRIES_MAX)),
        ("open_files", OPEN_FILES_MAX as u64),
        ("name_bytes", NAME_BYTES_MAX as u64),
        ("hostcall_bytes", HOSTCALL_BYTES_MAX as u64),
        ("stdin_bytes", STDIN_BYTES_MAX as u64),
        ("in_files", IN_FILES_MAX as u64),
        ("in_bytes", IN_BYTES_MAX),
        ("path_bytes", PATH_BYTES_MAX as u64),
        ("args", ARGS_MAX as u64),
        ("args_bytes", ARGS_BYTES_MAX as u64),
        ("memory_bytes", MEMORY_BYTES_MAX),
        ("table_elements", TABLE_ELEMENTS_MAX as u64),
        ("wasm_stack_bytes", WASM_STACK_BYTES_MAX as u64),
    ];
    limits
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}
