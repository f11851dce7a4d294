//! Fuzzes module admission as a provider runs it (`Sandbox::admit`: size, validation with
//! every feature known, compilation with the sandbox's engine, imports, entry point). Half the
//! inputs are raw bytes, half modules wasm-smith builds from them (small, any feature), so
//! compilation and the import and entry checks are reached, not only the parser. Admission
//! must answer the same way twice (the second time from the cache) and never panic, and the
//! compile-free check `yun job submit` makes (`Sandbox::check`) must give admission's answer,
//! except for a module the compiler refuses (a `FeatureNotAllowed` from Cranelift's own
//! limits), which the check passes or refuses for its next fault.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use yun_exec::{Refusal, Sandbox, SandboxConfig};

fn sandbox() -> &'static Sandbox {
    static S: OnceLock<Sandbox> = OnceLock::new();
    S.get_or_init(|| Sandbox::new(SandboxConfig::default()).expect("sandbox"))
}

/// A small module of any feature, from the fuzzer's bytes.
fn smith(data: &[u8]) -> Option<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let mut config = wasm_smith::Config::arbitrary(&mut u).ok()?;
    config.max_funcs = config.max_funcs.min(16);
    config.max_instructions = config.max_instructions.min(200);
    config.max_imports = config.max_imports.min(8);
    config.max_exports = config.max_exports.min(8);
    config.max_data_segments = config.max_data_segments.min(4);
    config.max_element_segments = config.max_element_segments.min(4);
    config.max_elements = config.max_elements.min(64);
    config.max_memory32_bytes = config.max_memory32_bytes.min(1 << 24);
    config.max_memories = config.max_memories.min(2);
    config.max_tables = config.max_tables.min(2);
    let module = wasm_smith::Module::new(config, &mut u).ok()?;
    Some(module.to_bytes())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let Some(bytes) = smith(rest) else { return };
        bytes
    };
    let first = sandbox().admit(&bytes);
    let second = sandbox().admit(&bytes);
    match (&first, &second) {
        (Ok(a), Ok(b)) => assert_eq!(a.module_hash, b.module_hash),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "the same bytes are refused the same way");
            assert!((1..=7).contains(&a.code()));
            let _ = (a.name(), a.hint(), a.to_string());
        }
        _ => panic!("admission changed its answer: {first:?} then {second:?}"),
    }
    let checked = sandbox().check(&bytes);
    match (&first, &checked) {
        (Ok(_), Ok(())) => {}
        (Err(a), Err(c)) if a == c => {}
        (
            Err(Refusal::FeatureNotAllowed { .. }),
            Ok(())
            | Err(
                Refusal::ImportNotAllowed { .. }
                | Refusal::ImportTypeMismatch { .. }
                | Refusal::NoEntryPoint,
            ),
        ) => {
            // Only the compiler refused it; `check` compiles nothing, so it passes the module
            // or names the next fault admission would have found (written on `Checker::check`).
        }
        _ => panic!("check and admission differ: admit {first:?}, check {checked:?}"),
    }
});
