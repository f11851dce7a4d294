//! What a run produces: a deterministic verdict that replicas compare byte for byte, a
//! diagnostic part that may differ between machines, and host faults that are never verdicts.

use serde::Serialize;
use std::time::Duration;

/// How a task ended. Together with `fuel_used` and `output_digest` this is what replicas agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Status {
    /// `_start` returned (exit code 0) or the module called `proc_exit(code)`.
    Ok(i32),
    /// The module trapped.
    Trap(TrapKind),
    /// The task used all its fuel.
    OutOfFuel,
    /// The module tried to grow memory or a table past its limit.
    MemoryLimit,
    /// The module wrote more stdout, stderr or `/out` data, or more `/out` entries, than allowed.
    OutputLimit,
}

impl Status {
    /// Stable one-byte tag used in verdict encodings (the exit code or trap kind follows).
    pub fn tag(&self) -> u8 {
        match self {
            Status::Ok(_) => 0,
            Status::Trap(_) => 1,
            Status::OutOfFuel => 2,
            Status::MemoryLimit => 3,
            Status::OutputLimit => 4,
        }
    }

    /// Canonical bytes: tag, then the exit code (little-endian) or trap kind.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.tag()];
        match self {
            Status::Ok(code) => out.extend_from_slice(&code.to_le_bytes()),
            Status::Trap(kind) => out.push(*kind as u8),
            _ => {}
        }
        out
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Ok(code) => write!(f, "ok (exit code {code})"),
            Status::Trap(kind) => write!(f, "trap ({})", kind.name()),
            Status::OutOfFuel => f.write_str("out of fuel"),
            Status::MemoryLimit => f.write_str("memory limit"),
            Status::OutputLimit => f.write_str("output limit"),
        }
    }
}

/// Why a module trapped; a stable subset of wasmtime's trap codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum TrapKind {
    Unreachable = 1,
    MemoryOutOfBounds = 2,
    TableOutOfBounds = 3,
    IndirectCallToNull = 4,
    BadSignature = 5,
    IntegerOverflow = 6,
    IntegerDivisionByZero = 7,
    BadConversionToInteger = 8,
    StackOverflow = 9,
    NullReference = 10,
    HeapMisaligned = 11,
    /// A host function refused the call in a way that ends the task (for example a WASI call
    /// with arguments it cannot represent).
    HostCall = 12,
    Other = 13,
}

impl TrapKind {
    pub fn name(&self) -> &'static str {
        match self {
            TrapKind::Unreachable => "unreachable",
            TrapKind::MemoryOutOfBounds => "memory_out_of_bounds",
            TrapKind::TableOutOfBounds => "table_out_of_bounds",
            TrapKind::IndirectCallToNull => "indirect_call_to_null",
            TrapKind::BadSignature => "bad_signature",
            TrapKind::IntegerOverflow => "integer_overflow",
            TrapKind::IntegerDivisionByZero => "integer_division_by_zero",
            TrapKind::BadConversionToInteger => "bad_conversion_to_integer",
            TrapKind::StackOverflow => "stack_overflow",
            TrapKind::NullReference => "null_reference",
            TrapKind::HeapMisaligned => "heap_misaligned",
            TrapKind::HostCall => "host_call",
            TrapKind::Other => "other",
        }
    }

    pub(crate) fn from_wasmtime(trap: wasmtime::Trap) -> TrapKind {
        use wasmtime::Trap as T;
        match trap {
            T::UnreachableCodeReached => TrapKind::Unreachable,
            T::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            T::TableOutOfBounds => TrapKind::TableOutOfBounds,
            T::IndirectCallToNull => TrapKind::IndirectCallToNull,
            T::BadSignature => TrapKind::BadSignature,
            T::IntegerOverflow => TrapKind::IntegerOverflow,
            T::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
            T::BadConversionToInteger => TrapKind::BadConversionToInteger,
            T::StackOverflow => TrapKind::StackOverflow,
            T::NullReference => TrapKind::NullReference,
            T::HeapMisaligned => TrapKind::HeapMisaligned,
            _ => TrapKind::Other,
        }
    }
}

/// The deterministic part of a run plus its diagnostics and the output archive itself.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub status: Status,
    pub fuel_used: u64,
    /// blake3 of the canonical output archive.
    #[serde(serialize_with = "hex32")]
    pub output_digest: [u8; 32],
    /// The canonical output archive (a deterministic tar: `stdout`, then `out/…` in sorted order).
    #[serde(skip)]
    pub archive: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl Outcome {
    /// Canonical verdict bytes: status, fuel used and output digest; what commitments hash.
    pub fn verdict_bytes(&self) -> Vec<u8> {
        let mut out = self.status.encode();
        out.extend_from_slice(&self.fuel_used.to_le_bytes());
        out.extend_from_slice(&self.output_digest);
        out
    }
}

/// What may differ between machines and is never compared: excerpts and timing.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostics {
    /// The first bytes of stdout (lossy UTF-8).
    pub stdout_excerpt: String,
    /// The first bytes of stderr (lossy UTF-8).
    pub stderr_excerpt: String,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    /// Host time spent in the module (instantiation and execution).
    #[serde(serialize_with = "micros")]
    pub wall_time: Duration,
    /// For traps: wasmtime's message with the wasm backtrace, for the job author.
    pub trap_message: Option<String>,
}

/// The host could not produce a verdict. Never reported as a job result: the provider says it
/// failed rather than claiming an outcome.
#[derive(Debug, thiserror::Error)]
pub enum HostFault {
    #[error("the run exceeded the provider's wall-clock limit of {0:?}")]
    WallClockExceeded(Duration),
    #[error("task input refused: {0}")]
    BadTask(String),
    #[error("host I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("sandbox failure: {0}")]
    Internal(String),
    /// A filesystem call met an error only the host's resources or health explain (a full
    /// disk, the descriptor limit, an I/O error). The guest never sees such an errno.
    #[error("the host's filesystem failed: {call} got {errno}")]
    HostResource {
        call: &'static str,
        errno: &'static str,
    },
    /// The sandbox is not of the fingerprint class the provider declared.
    #[error("this sandbox is not of the declared class {declared}; it is {actual}")]
    ClassMismatch { declared: String, actual: String },
}

fn hex32<S: serde::Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&blake3::Hash::from_bytes(*bytes).to_hex())
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
