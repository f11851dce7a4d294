//! Named bounds on everything a job can make the host hold: protocol constants, because any of
//! them can change a task's deterministic verdict and every replica must apply the same ones.

/// Largest module accepted for admission (bytes of the `.wasm` file).
pub const MODULE_BYTES_MAX: usize = 32 * 1024 * 1024;
/// Most functions a module may define or import (bounds compile time and code memory).
pub const MODULE_FUNCTIONS_MAX: u32 = 100_000;

/// Stdout is part of the verified output; writing more than this ends the task with `OutputLimit`.
pub const STDOUT_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Stderr is diagnostic only, but still bounded: writing more ends the task with `OutputLimit`.
pub const STDERR_BYTES_MAX: usize = 256 * 1024;
/// Total bytes a task may write into `/out` (counted as written, and checked again at collection).
pub const OUT_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Files and directories a task may create under `/out`.
pub const OUT_ENTRIES_MAX: u32 = 1_024;

/// Task input on stdin.
pub const STDIN_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Files materialised under `/in`.
pub const IN_FILES_MAX: usize = 1_024;
/// Total bytes of the files under `/in`.
pub const IN_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Length of one path under `/in` or `/out`, in bytes.
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
