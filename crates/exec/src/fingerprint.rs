//! The engine fingerprint: everything that can make two hosts disagree on a verdict, as one
//! documented class string and its blake3 hash, which a provider declares and which replicas of
//! one task must share.
//!
//! The class is `|`-separated sections in a fixed order:
//!
//! - `yun-exec/N`: [`SANDBOX_SEMANTICS_VERSION`], bumped whenever Yun's own code changes a
//!   verdict (a WASI wrapper, the archive format, the classification of a run);
//! - `target=…`: the target triple, which fixes the architecture, the OS and its filesystem
//!   semantics, pointer width and endianness. Wasm is compiled for this triple *without* the
//!   host's optional CPU features, so every host of one triple runs the same machine code;
//! - `crates=…`: the versions of the crates whose behaviour reaches verdicts (the compiler,
//!   the WASI implementation, its path resolution, the archive format);
//! - `engine=…`: the engine settings that change results (fuel metering, NaN
//!   canonicalisation, SIMD, the wasm stack size, the optimisation level);
//! - `limits=…`: every limit in [`crate::limits`] that can change a verdict;
//! - `codegen=…`: a hash of wasmtime's own compilation environment (triple, Cranelift and ISA
//!   flags, tunables, enabled features, wasmtime version): two engines with equal codegen
//!   hashes emit identical machine code, so frame sizes and thus stack-overflow depths agree;
//! - `build=…`: a hash of the host build (rustc version, profile, optimisation level, debug
//!   assertions, panic strategy, target features, rustflags), because the host frames between
//!   wasmtime's stack-limit check and the first wasm frame also count against the wasm stack.
//!
//! What is deliberately *not* in it: the filesystem under the task directory, the kernel
//! version, the CPU model, the descriptor and disk limits of the host. Those are neutralised by
//! the WASI wrappers instead (masked metadata, Yun's own limits answered before the host's,
//! host-resource errnos turned into host faults), and the hostile-module catalogue checks it.

use crate::outcome::HostFault;
use wasmtime::Engine;

/// Version of Yun's sandbox semantics; bump it with any change that can alter a verdict.
/// 2: directory sizes masked, descriptor/name/copy limits, host-resource errnos as host faults,
/// wasm compiled for the bare target triple.
pub const SANDBOX_SEMANTICS_VERSION: u32 = 2;

/// The crates (and exact versions, as in `Cargo.lock`) whose behaviour reaches verdicts.
pub const VERDICT_CRATES: &[(&str, &str)] = &[
    ("wasmtime", "48.0.8"),
    ("wasmtime-wasi", "48.0.8"),
    ("wiggle", "48.0.8"),
    ("cranelift-codegen", "0.135.8"),
    ("cap-primitives", "4.0.3"),
    ("tar", "0.4.46"),
];

/// The target triple wasm is compiled for: the build's own target, without host-inferred CPU
/// features.
pub(crate) const TARGET: &str = env!("YUN_EXEC_TARGET");
/// The host build's identity, recorded by `build.rs`.
const BUILD: &str = env!("YUN_EXEC_BUILD");

/// A sandbox's fingerprint class; providers with equal classes give equal verdicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineFingerprint {
    class: String,
    hash: [u8; 32],
}

impl EngineFingerprint {
    /// The fingerprint of `engine`, configured as `settings` describes.
    pub(crate) fn new(engine: &Engine, settings: &str) -> EngineFingerprint {
        let crates: Vec<String> = VERDICT_CRATES
            .iter()
            .map(|(name, version)| format!("{name}-{version}"))
            .collect();
        let mut codegen = Blake3Hasher(blake3::Hasher::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut codegen);
        let class = format!(
            "yun-exec/{SANDBOX_SEMANTICS_VERSION}|target={TARGET}|crates={}|engine={settings}|\
             limits={}|codegen={}|build={}",
            crates.join(","),
            crate::limits::described(),
            short_hex(codegen.0.finalize().as_bytes()),
            short_hex(blake3::hash(BUILD.as_bytes()).as_bytes()),
        );
        let hash = *blake3::hash(class.as_bytes()).as_bytes();
        EngineFingerprint { class, hash }
    }

    /// The class, human-readable: the string a provider declares (see the module docs).
    pub fn class(&self) -> &str {
        &self.class
    }

    /// blake3 of [`class`](Self::class): what the chain records and replicas compare.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// The hash in lowercase hex.
    pub fn hash_hex(&self) -> String {
        blake3::Hash::from_bytes(self.hash).to_hex().to_string()
    }

    /// The host build facts hashed into the class's `build` section, for diagnostics.
    pub fn build_facts() -> &'static str {
        BUILD
    }

    /// Refuses to run tasks for a class this sandbox is not: a provider that declared `declared`
    /// and finds another class here (a different binary, CPU architecture or OS) must not
    /// produce verdicts for it.
    pub fn require(&self, declared: &[u8; 32]) -> Result<(), HostFault> {
        if *declared == self.hash {
            return Ok(());
        }
        Err(HostFault::ClassMismatch {
            declared: blake3::Hash::from_bytes(*declared).to_hex().to_string(),
            actual: self.class.clone(),
        })
    }
}

impl std::fmt::Display for EngineFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.class)
    }
}

/// Feeds `std::hash::Hash` output into blake3, so wasmtime's compilation-environment hash
/// becomes a stable digest.
struct Blake3Hasher(blake3::Hasher);

impl std::hash::Hasher for Blake3Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0.finalize().as_bytes()[..8]);
        u64::from_le_bytes(b)
    }
}

/// The first 16 bytes of a digest in hex: enough to tell classes apart, short enough to read.
fn short_hex(digest: &[u8; 32]) -> String {
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_crate_versions_match_the_lock_file() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
                .expect("the workspace's Cargo.lock");
        for (name, version) in VERDICT_CRATES {
            let entry = format!("name = \"{name}\"\nversion = \"{version}\"\n");
            assert!(
                lock.contains(&entry),
                "{name} is not at {version} in Cargo.lock: update VERDICT_CRATES and bump \
                 SANDBOX_SEMANTICS_VERSION if it can change a verdict"
            );
        }
    }
}
