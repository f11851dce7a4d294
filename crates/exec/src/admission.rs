//! Module admission: the checks a module passes before it is compiled into the cache (and,
//! without compiling, before a job is posted), each refusal a numbered, named reason with what
//! to do next.

use crate::limits::{MODULE_BYTES_MAX, MODULE_FUNCTIONS_MAX};
use serde::Serialize;
use std::ops::Range;
use wasmtime::wasmparser::types::{EntityType, Types, TypesRef};
use wasmtime::wasmparser::{
    self, CompositeInnerType, FuncValidatorAllocations, ValidPayload, Validator, WasmFeatures,
};
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
    let types = inspect(engine, bytes)?.types;
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
/// caller's to check, as for `admit`: on the returned [`ImportShim`].
pub fn admit_without_compiling(engine: &Engine, bytes: &[u8]) -> Result<ImportShim, Refusal> {
    let inspected = inspect(engine, bytes)?;
    check_imports(inspected.types.as_ref())?;
    check_entry_point(inspected.types.as_ref())?;
    Ok(import_shim(bytes, &inspected.shim_sections))
}

/// Custom sections wasmtime refuses to compile (`translate_payload`): interface types.
const REFUSED_CUSTOM_SECTIONS: &[&str] = &["webidl-bindings", "wasm-interface-types"];

/// What the one parsing pass over a valid module found.
struct Inspected {
    /// The module's types, which the import and entry-point checks read.
    types: Types,
    /// Where the type and import sections are, for [`import_shim`].
    shim_sections: Vec<(wasm_encoder::SectionId, Range<usize>)>,
}

/// The checks before compiling, in `admit`'s order: size, a core module, validity, the
/// function count, the engine's features and the custom sections wasmtime refuses. Validity,
/// the custom sections and the shim's sections come from one parsing pass; the engine's
/// feature check (`Module::validate`) is wasmtime's own second pass.
fn inspect(engine: &Engine, bytes: &[u8]) -> Result<Inspected, Refusal> {
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
    let invalid = |e: wasmparser::BinaryReaderError| Refusal::Invalid {
        // wasmparser pretty-prints some messages over several lines; keep one.
        reason: format!(
            "{} (at byte {})",
            e.message().split_whitespace().collect::<Vec<_>>().join(" "),
            e.offset()
        ),
    };
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    let mut bodies = Vec::new();
    let mut types = None;
    let mut shim_sections = Vec::new();
    let mut refused_section = None;
    // The same steps as `Validator::validate_all` (every payload, then every function body),
    // so a module's refusal and its wording are what they were with it.
    let mut parser = wasmparser::Parser::new(0);
    parser.set_features(WasmFeatures::all());
    for payload in parser.parse_all(bytes) {
        let payload = payload.map_err(invalid)?;
        match &payload {
            wasmparser::Payload::TypeSection(s) => {
                shim_sections.push((wasm_encoder::SectionId::Type, s.range()));
            }
            wasmparser::Payload::ImportSection(s) => {
                shim_sections.push((wasm_encoder::SectionId::Import, s.range()));
            }
            wasmparser::Payload::CustomSection(s)
                if REFUSED_CUSTOM_SECTIONS.contains(&s.name()) =>
            {
                refused_section.get_or_insert_with(|| s.name().to_string());
            }
            _ => {}
        }
        match validator.payload(&payload).map_err(invalid)? {
            ValidPayload::Func(func, body) => bodies.push((func, body)),
            ValidPayload::End(end) => types = Some(end),
            _ => {}
        }
    }
    let mut allocations = FuncValidatorAllocations::default();
    for (func, body) in bodies {
        let mut func = func.into_validator(allocations);
        func.validate(&body).map_err(invalid)?;
        allocations = func.into_allocations();
    }
    let types = types.expect("a valid module's last payload is its end");
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
    if let Some(name) = refused_section {
        return Err(Refusal::FeatureNotAllowed {
            reason: format!("custom section `{name}`: wasmtime has no interface types"),
        });
    }
    Ok(Inspected {
        types,
        shim_sections,
    })
}

/// A module of a program's type and import sections alone: compiling it is cheap (there is no
/// function body), and a linker checks its imports exactly as it would the whole program's.
pub struct ImportShim(pub Vec<u8>);

fn import_shim(bytes: &[u8], sections: &[(wasm_encoder::SectionId, Range<usize>)]) -> ImportShim {
    let mut shim = wasm_encoder::Module::new();
    for (id, range) in sections {
        shim.section(&wasm_encoder::RawSection {
            id: *id as u8,
            data: &bytes[range.clone()],
        });
    }
    ImportShim(shim.finish())
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
