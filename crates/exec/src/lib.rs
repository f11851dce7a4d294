//! The job sandbox: deterministic, fuel-metered WebAssembly execution on wasmtime with a
//! virtual WASI world, where the same module and task give the same verdict on every machine
//! and nothing a module does can hurt the host.
//!
//! Determinism comes from the engine settings (NaN canonicalisation, no threads or relaxed
//! SIMD, fixed stack), from a world with nothing ambient (fixed clocks, task-seeded randomness,
//! masked file metadata, sorted listings) and from limits that end a run at a deterministic
//! point (fuel, memory, output, open files). The nondeterministic stops, the wall-clock kill
//! switch and the host's own resource errors (a full disk, the descriptor limit, I/O errors),
//! are [`HostFault`]s, never verdicts. What remains that can differ between hosts is named by
//! the [`EngineFingerprint`] class, which replicas of one task must share.

mod admission;
mod archive;
mod checker;
mod engine;
mod errno;
mod fingerprint;
mod host;
pub mod limits;
mod outcome;
mod paths;
mod reduce;
mod sandbox;
mod world;

pub use admission::{ALLOWED_WASI_IMPORTS, Refusal, WASI_MODULE};
pub use archive::read_archive;
pub use checker::Checker;
pub use engine::SandboxConfig;
pub use fingerprint::{EngineFingerprint, SANDBOX_SEMANTICS_VERSION, VERDICT_CRATES};
pub use outcome::{Diagnostics, HostFault, Outcome, Status, TrapKind};
pub use reduce::{ReduceInputUnfit, add_reduce_input, reduce_input_name};
pub use sandbox::{Program, RunError, Sandbox};
pub use world::{InputFile, Task, check_relative_path};
