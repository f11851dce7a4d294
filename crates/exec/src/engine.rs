//! The sandbox's settings and the one deterministic engine configuration they give, shared by
//! the sandbox and the compile-free checker.

use crate::fingerprint::TARGET;
use crate::limits::{POOL_INSTANCES, TABLE_ELEMENTS_MAX, WASM_STACK_BYTES_MAX};
use std::path::PathBuf;
use std::time::Duration;
use wasmtime::{Config, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

/// Provider-local settings: none of them changes a verdict (fuel metering off is for benchmarks
/// only and yields `fuel_used = 0`).
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Meter fuel. Always on for real tasks; off only to measure its overhead.
    pub fuel_metering: bool,
    /// Use wasmtime's pooling allocator (pre-reserved instance slots) instead of on-demand.
    pub pooling: bool,
    /// Wall-clock limit per run; exceeding it is a host fault, never a verdict.
    pub wall_time_max: Duration,
    /// Where task directories are created (removed after each run).
    pub work_dir: PathBuf,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            fuel_metering: true,
            pooling: false,
            wall_time_max: Duration::from_secs(300),
            work_dir: std::env::temp_dir(),
        }
    }
}

/// The engine settings that make execution deterministic, as one description that is also
/// part of the engine fingerprint. Wasm is compiled for the bare target triple: no CPU feature
/// the host happens to have changes the machine code, so frame sizes (and the depth at which a
/// recursion overflows the fixed stack) are the same on every host of one triple.
pub(crate) fn engine_config(config: &SandboxConfig) -> wasmtime::Result<(Config, String)> {
    let mut c = Config::new();
    c.target(TARGET)?;
    c.consume_fuel(config.fuel_metering)
        .epoch_interruption(true)
        .cranelift_nan_canonicalization(true)
        .cranelift_opt_level(OptLevel::Speed)
        .wasm_relaxed_simd(false)
        .relaxed_simd_deterministic(true)
        .wasm_simd(true)
        .wasm_memory64(false)
        .wasm_multi_memory(false)
        .wasm_gc(false)
        .wasm_stack_switching(false)
        .wasm_wide_arithmetic(false)
        .wasm_custom_page_sizes(false)
        .wasm_component_model(false)
        .max_wasm_stack(WASM_STACK_BYTES_MAX)
        .parallel_compilation(true);
    if config.pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(POOL_INSTANCES)
            .total_memories(POOL_INSTANCES)
            .total_tables(POOL_INSTANCES)
            .max_memory_size(crate::limits::MEMORY_BYTES_MAX as usize)
            .table_elements(TABLE_ELEMENTS_MAX);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    // Only settings that can change a verdict belong in the description; pooling cannot.
    let description = format!(
        "fuel={},nan_canonical=1,simd=1,relaxed_simd=0,threads=0,stack={},opt=speed,\
         cpu_features=baseline",
        config.fuel_metering, WASM_STACK_BYTES_MAX,
    );
    Ok((c, description))
}
