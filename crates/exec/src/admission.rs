//! Module admission: the checks a module passes before it is compiled into the cache, each
//! refusal a numbered, named reason with what to do next.

use crate::limits::{MODULE_BYTES_MAX, MODULE_FUNCTIONS_MAX};
use serde::Serialize;
use wasmtime::wasmparser::{Validator, WasmFeatures};
use wasmtime::{Engine, ExternType, Module};

/// The WASI preview 1 module every import must come from.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// The WASI preview 1 functions a job may import. Everything else (sockets, symlinks, hard links,
/// `fd_renumber`, `proc_raise`) is refused at admission rather than failing at run time.
pub const ALLOWED_WASI_IMPORTS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_open",
    "path_remove_directory",
    "path_rename",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "random_get",
    "sched_yield",
];

/// Why a module was not admitted. The numbers are stable; they appear in the API and CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    #[error("module is {bytes} bytes; the limit is {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error("not a valid WebAssembly module: {reason}")]
    Invalid { reason: String },
    #[error("uses a WebAssembly feature the sandbox does not allow: {reason}")]
    FeatureNotAllowed { reason: String },
    #[error("imports `{module}::{name}`, which the sandbox does not provide")]
    ImportNotAllowed { module: String, name: String },
    #[error("an import has the wrong type: {reason}")]
    ImportTypeMismatch { reason: String },
    #[error("exports no `_start` function taking and returning nothing")]
    NoEntryPoint,
    #[error("has {functions} functions; the limit is {limit}")]
    TooManyFunctions { functions: u32, limit: u32 },
}

impl Refusal {
    /// Stable number of this refusal.
    pub fn code(&self) -> u16 {
        match self {
            Refusal::TooLarge { .. } => 1,
            Refusal::Invalid { .. } => 2,
            Refusal::FeatureNotAllowed { .. } => 3,
            Refusal::ImportNotAllowed { .. } => 4,
            Refusal::ImportTypeMismatch { .. } => 5,
            Refusal::NoEntryPoint => 6,
            Refusal::TooManyFunctions { .. } => 7,
        }
    }

    /// Stable snake_case name of this refusal.
    pub fn name(&self) -> &'static str {
        match self {
            Refusal::TooLarge { .. } => "too_large",
            Refusal::Invalid { .. } => "invalid",
            Refusal::FeatureNotAllowed { .. } => "feature_not_allowed",
            Refusal::ImportNotAllowed { .. } => "import_not_allowed",
            Refusal::ImportTypeMismatch { .. } => "import_type_mismatch",
            Refusal::NoEntryPoint => "no_entry_point",
            Refusal::TooManyFunctions { .. } => "too_many_functions",
        }
    }

    /// What the job author can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Refusal::TooLarge { .. } => {
                "build with --release, strip debug info (strip = true), or move data into task inputs"
            }
            Refusal::Invalid { .. } => "upload the .wasm file itself, built for wasm32-wasip1",
            Refusal::FeatureNotAllowed { .. } => {
                "build without threads, atomics, shared memory, relaxed SIMD, memory64, GC or exceptions"
            }
            Refusal::ImportNotAllowed { .. } => {
                "jobs may import only WASI preview 1 file, clock, random, args and exit functions; \
                 remove networking, symlinks and other host access"
            }
            Refusal::ImportTypeMismatch { .. } => {
                "build against the standard wasi_snapshot_preview1 signatures (target wasm32-wasip1)"
            }
            Refusal::NoEntryPoint => "build a command (a `main` function) for wasm32-wasip1",
            Refusal::TooManyFunctions { .. } => "split the program or enable LTO to drop dead code",
        }
    }
}

/// Checks size and validity, compiles with the sandbox's engine, and checks imports and the
/// entry point. Compilation is part of admission because the engine's validator is the one
/// that decides which features are allowed.
pub fn admit(engine: &Engine, bytes: &[u8]) -> Result<Module, Refusal> {
    if bytes.len() > MODULE_BYTES_MAX {
        return Err(Refusal::TooLarge {
            bytes: bytes.len(),
            limit: MODULE_BYTES_MAX,
        });
    }
    if wasmtime::wasmparser::Parser::is_component(bytes) {
        return Err(Refusal::Invalid {
            reason: "this is a component, not a core module".to_string(),
        });
    }
    let types = Validator::new_with_features(WasmFeatures::all())
        .validate_all(bytes)
        .map_err(|e| Refusal::Invalid {
            // wasmparser pretty-prints some messages over several lines; keep one.
            reason: format!(
                "{} (at byte {})",
                e.message().split_whitespace().collect::<Vec<_>>().join(" "),
                e.offset()
            ),
        })?;
    // Counted before compiling so a huge module costs a validation pass, not a compilation.
    let functions = types.as_ref().function_count();
    if functions > MODULE_FUNCTIONS_MAX {
        return Err(Refusal::TooManyFunctions {
            functions,
            limit: MODULE_FUNCTIONS_MAX,
        });
    }
    let module = Module::new(engine, bytes).map_err(|e| Refusal::FeatureNotAllowed {
        reason: format!("{e:#}"),
    })?;
    check_imports(&module)?;
    check_entry_point(&module)?;
    Ok(module)
}

fn check_imports(module: &Module) -> Result<(), Refusal> {
    for import in module.imports() {
        let allowed = import.module() == WASI_MODULE
            && ALLOWED_WASI_IMPORTS.contains(&import.name())
            && matches!(import.ty(), ExternType::Func(_));
        if !allowed {
            return Err(Refusal::ImportNotAllowed {
                module: import.module().to_string(),
                name: import.name().to_string(),
            });
        }
    }
    Ok(())
}

fn check_entry_point(module: &Module) -> Result<(), Refusal> {
    match module.get_export("_start") {
        Some(ExternType::Func(f)) if f.params().len() == 0 && f.results().len() == 0 => Ok(()),
        _ => Err(Refusal::NoEntryPoint),
    }
}
