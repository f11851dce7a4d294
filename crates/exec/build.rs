//! Records build facts the engine fingerprint needs: the target triple the sandbox compiles
//! wasm for, and the identity of the host build (rustc, profile, target features, flags),
//! because the host frames wasmtime runs below the first wasm frame shift the depth at which a
//! deep recursion overflows the fixed wasm stack.

use std::process::Command;

fn main() {
    let env = |key: &str| {
        println!("cargo:rerun-if-env-changed={key}");
        std::env::var(key).unwrap_or_default()
    };
    let rustc = Command::new(env("RUSTC"))
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("unknown ({e})"));
    let build = format!(
        "rustc={rustc};profile={};opt={};debug_assertions={};panic={};features={};rustflags={}",
        env("PROFILE"),
        env("OPT_LEVEL"),
        std::env::var("CARGO_CFG_DEBUG_ASSERTIONS").is_ok(),
        env("CARGO_CFG_PANIC"),
        env("CARGO_CFG_TARGET_FEATURE"),
        env("CARGO_ENCODED_RUSTFLAGS"),
    );
    let one_line: String = build
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    println!("cargo:rustc-env=YUN_EXEC_TARGET={}", env("TARGET"));
    println!("cargo:rustc-env=YUN_EXEC_BUILD={one_line}");
    println!("cargo:rerun-if-changed=build.rs");
}
