//! The job sandbox: deterministic, fuel-metered WebAssembly execution on wasmtime with a
//! virtual WASI world, where the same module and task give the same verdict on every machine
//! and nothing a module does can hurt the host.
//!
//! Determinism comes from the engine settings (NaN canonicalisation, no threads or relaxed
//! SIMD, fixed stack), from a world with nothing ambient (fixed clocks, task-seeded randomness,
//! masked file metadata, sorted listings) and from limits that end a run at a deterministic
//! point (fuel, memory, output). The only nondeterministic stop, the wall-clock kill switch,
//! is a [`HostFault`], never a verdict.

mod admission;
mod archive;
mod host;
pub mod limits;
mod outcome;
mod sandbox;
mod world;

pub use admission::{ALLOWED_WASI_IMPORTS, Refusal, WASI_MODULE};
pub use archive::read_archive;
pub use outcome::{Diagnostics, HostFault, Outcome, Status, TrapKind};
pub use sandbox::{Program, RunError, Sandbox, SandboxConfig};
pub use world::{InputFile, Task, check_relative_path};
