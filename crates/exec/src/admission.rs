//! Module admission: the checks a module passes before it is compiled into the cache (and,
//! without compiling, before a job is posted), each refusal a numbered, named reason with what
//! to do next.

use crate::limits::{MODULE_BYTES_MAX, MODULE_FUNCTIONS_MAX};
use serde::Serialize;
use wasmtime::wasmparser::types::{EntityType, Types, TypesRef};
use wasmtime::wasmparser::{self, CompositeInnerType, Validator, WasmFeatures};
use wasmtime::{Engine, Module};

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

/// Checks size and validity, compiles with the sandbox's engine, then checks the imports and
/// the entry point; the import types are checked against the linker by the caller
/// (`Linker::instantiate_pre`). The order decides which refusal a module with several faults
/// gets, and its code is part of a cannot-run verdict that replicas compare: it is the order
/// this function always had, and [`admit_without_compiling`] keeps it.
pub fn admit(engine: &Engine, bytes: &[u8]) -> Result<Module, Refusal> {
    let types = inspect(engine, bytes)?;
    // Past `inspect` only the compiler's own limits refuse (a function too large for it).
    let module = Module::new(engine, bytes).map_err(|e| Refusal::FeatureNotAllowed {
        reason: format!("{e:#}"),
    })?;
    check_imports(types.as_ref())?;
    check_entry_point(types.as_ref())?;
    Ok(module)
}

/// [`admit`]'s answer without compiling, but for a module only the compiler refuses (past its
/// implementation limits; or, on a pooling sandbox, past the pool's sizes), which this
/// accepts. Validation is milliseconds where Cranelift takes ~100 ms for a 100 KB program, so a
/// requester's client can refuse a program without compiling it. The import types are the
/// caller's to check, as for `admit` (on [`import_shim`]).
pub fn admit_without_compiling(engine: &Engine, bytes: &[u8]) -> Result<(), Refusal> {
    let types = inspect(engine, bytes)?;
    check_imports(types.as_ref())?;
    check_entry_point(types.as_ref())
}

/// Custom sections wasmtime refuses to compile (`translate_payload`): interface types.
const REFUSED_CUSTOM_SECTIONS: &[&str] = &["webidl-bindings", "wasm-interface-types"];

/// The checks before compiling, in `admit`'s order: size, a core module, validity, the
/// function count, the engine's features and the custom sections wasmtime refuses. Returns the
/// module's types, which the import and entry-point checks read.
fn inspect(engine: &Engine, bytes: &[u8]) -> Result<Types, Refusal> {
    if bytes.len() > MODULE_BYTES_MAX {
        return Err(Refusal::TooLarge {
            bytes: bytes.len(),
            limit: MODULE_BYTES_MAX,
        });
    }
    if wasmparser::Parser::is_component(bytes) {
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
    // Counted before anything heavier, so a huge module costs one validation pass.
    let functions = types.as_ref().function_count();
    if functions > MODULE_FUNCTIONS_MAX {
        return Err(Refusal::TooManyFunctions {
            functions,
            limit: MODULE_FUNCTIONS_MAX,
        });
    }
    // The engine's validator decides which features are allowed (threads, memory64, …).
    Module::validate(engine, bytes).map_err(|e| Refusal::FeatureNotAllowed {
        reason: format!("{e:#}"),
    })?;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let Ok(wasmparser::Payload::CustomSection(s)) = payload
            && REFUSED_CUSTOM_SECTIONS.contains(&s.name())
        {
            return Err(Refusal::FeatureNotAllowed {
                reason: format!(
                    "custom section `{}`: wasmtime has no interface types",
                    s.name()
                ),
            });
        }
    }
    Ok(types)
}

/// The module's type and import sections alone, as a module: compiling it is cheap (there is no
/// function body), and the linker checks its imports exactly as it would the whole module's.
/// `bytes` passed [`admit_without_compiling`].
pub fn import_shim(bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    let invalid = |e: wasmparser::BinaryReaderError| Refusal::Invalid {
        reason: e.message().to_string(),
    };
    let mut shim = wasm_encoder::Module::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let (id, range) = match payload.map_err(invalid)? {
            wasmparser::Payload::TypeSection(s) => (wasm_encoder::SectionId::Type, s.range()),
            wasmparser::Payload::ImportSection(s) => (wasm_encoder::SectionId::Import, s.range()),
            _ => continue,
        };
        shim.section(&wasm_encoder::RawSection {
            id: id as u8,
            data: &bytes[range],
        });
    }
    Ok(shim.finish())
}

fn check_imports(types: TypesRef<'_>) -> Result<(), Refusal> {
    for (module, name, ty) in types.core_imports().into_iter().flatten() {
        let allowed = module == WASI_MODULE
            && ALLOWED_WASI_IMPORTS.contains(&name)
            && matches!(ty, EntityType::Func(_) | EntityType::FuncExact(_));
        if !allowed {
            return Err(Refusal::ImportNotAllowed {
                module: module.to_string(),
                name: name.to_string(),
            });
        }
    }
    Ok(())
}

fn check_entry_point(types: TypesRef<'_>) -> Result<(), Refusal> {
    let start = types
        .core_exports()
        .into_iter()
        .flatten()
        .find(|(name, _)| *name == "_start");
    let takes_and_returns_nothing = match start {
        Some((_, EntityType::Func(id) | EntityType::FuncExact(id))) => {
            match &types[id].composite_type.inner {
                CompositeInnerType::Func(f) => f.params().is_empty() && f.results().is_empty(),
                _ => false,
            }
        }
        _ => false,
    };
    if takes_and_returns_nothing {
        Ok(())
    } else {
        Err(Refusal::NoEntryPoint)
    }
}
