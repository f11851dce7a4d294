//! The program check without a sandbox: the engine and the WASI linker a sandbox runs with, and
//! admission's answer about a module without compiling it, for clients that only check.

use crate::admission::{Refusal, admit_without_compiling};
use crate::host::{Host, add_wrappers};
use crate::outcome::HostFault;
use wasmtime::{Config, Engine, Linker};

/// A sandbox's engine and linker: enough to check a program, with none of a sandbox's own
/// threads (the epoch ticker, the reaper) and no directory.
pub struct Checker {
    pub(crate) engine: Engine,
    /// What modules link against: wasmtime-wasi's preview 1 functions, some wrapped by Yun's.
    pub(crate) linker: Linker<Host>,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker").finish_non_exhaustive()
    }
}

impl Checker {
    /// The checker of the default sandbox: the import types, features and limits every
    /// provider's sandbox admits with.
    pub fn new() -> Result<Checker, HostFault> {
        let (config, _) =
            crate::engine::engine_config(&crate::SandboxConfig::default()).map_err(internal)?;
        Checker::with_engine_config(&config)
    }

    pub(crate) fn with_engine_config(config: &Config) -> Result<Checker, HostFault> {
        let engine = Engine::new(config).map_err(internal)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)
            .map_err(internal)?;
        add_wrappers(&mut linker).map_err(internal)?;
        Ok(Checker { engine, linker })
    }

    /// What a sandbox's `admit` would decide about `bytes`, without compiling them: every check
    /// but the compiler's own, in admission's order, with the import types checked by the
    /// linker on a module of the program's imports alone. A 100 KB program is checked in
    /// milliseconds, so a requester hears of a refusal before anything is paid for without
    /// every job waiting on Cranelift. Not seen: a module the compiler gives up on (past its
    /// implementation limits, or on a pooling sandbox past the pool's sizes). The check passes
    /// it, or, if it also has a bad import or no entry point, names that fault, where admission
    /// (which compiles first) answers `FeatureNotAllowed`; providers refuse it either way.
    pub fn check(&self, bytes: &[u8]) -> Result<(), Refusal> {
        let shim = admit_without_compiling(&self.engine, bytes)?;
        // The shim holds a valid module's own type and import sections, so only the engine's
        // own resources can fail it.
        let imports = wasmtime::Module::new(&self.engine, shim.0).map_err(|e| {
            Refusal::FeatureNotAllowed {
                reason: format!("{e:#}"),
            }
        })?;
        self.linker
            .instantiate_pre(&imports)
            .map(drop)
            .map_err(|e| Refusal::ImportTypeMismatch {
                reason: format!("{e:#}"),
            })
    }
}

fn internal(e: wasmtime::Error) -> HostFault {
    HostFault::Internal(format!("{e:#}"))
}
