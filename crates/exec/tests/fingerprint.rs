//! The engine fingerprint class a provider declares: stable for one build on one target,
//! different whenever a verdict could differ, and enforced by `EngineFingerprint::require`.

use yun_exec::{EngineFingerprint, HostFault, SANDBOX_SEMANTICS_VERSION, Sandbox, SandboxConfig};

fn fingerprint(config: SandboxConfig) -> EngineFingerprint {
    Sandbox::new(config).unwrap().engine_fingerprint().clone()
}

#[test]
fn the_class_is_stable_and_names_everything_a_verdict_depends_on() {
    let a = fingerprint(SandboxConfig::default());
    let b = fingerprint(SandboxConfig {
        pooling: true,
        wall_time_max: std::time::Duration::from_secs(1),
        ..SandboxConfig::default()
    });
    eprintln!("class {}\nhash {}", a.class(), a.hash_hex());
    eprintln!("build facts {}", EngineFingerprint::build_facts());
    assert_eq!(
        a, b,
        "provider-local settings change no verdict, so not the class"
    );
    assert_eq!(a.hash(), *blake3::hash(a.class().as_bytes()).as_bytes());
    let sections: Vec<&str> = a.class().split('|').collect();
    let names: Vec<&str> = sections
        .iter()
        .map(|s| s.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            &format!("yun-exec/{SANDBOX_SEMANTICS_VERSION}") as &str,
            "target",
            "crates",
            "engine",
            "limits",
            "codegen",
            "build"
        ]
    );
    let target = format!("target={}-", std::env::consts::ARCH);
    assert!(sections[1].starts_with(&target), "{}", sections[1]);
    assert!(sections[2].contains("wasmtime-48.0.8") && sections[2].contains("tar-0.4.46"));
    assert!(sections[3].contains("stack=1048576") && sections[3].contains("cpu_features=baseline"));
    assert!(sections[4].contains("open_files=128") && sections[4].contains("out_bytes=67108864"));
}

#[test]
fn a_setting_that_changes_verdicts_changes_the_class() {
    let metered = fingerprint(SandboxConfig::default());
    let unmetered = fingerprint(SandboxConfig {
        fuel_metering: false,
        ..SandboxConfig::default()
    });
    assert_ne!(metered.hash(), unmetered.hash());
    let codegen = |f: &EngineFingerprint| f.class().split('|').nth(5).unwrap().to_string();
    assert_ne!(
        codegen(&metered),
        codegen(&unmetered),
        "fuel changes machine code"
    );
}

#[test]
fn a_sandbox_refuses_a_class_it_is_not() {
    let f = fingerprint(SandboxConfig::default());
    assert!(f.require(&f.hash()).is_ok());
    let mut other = f.hash();
    other[0] ^= 1;
    match f.require(&other) {
        Err(HostFault::ClassMismatch { declared, actual }) => {
            assert_eq!(
                declared,
                blake3::Hash::from_bytes(other).to_hex().to_string()
            );
            assert_eq!(actual, f.class());
        }
        r => panic!("expected a class mismatch, got {r:?}"),
    }
}
