//! The hostile-module catalogue: each module attacks the host or probes for nondeterminism and
//! must end in its deterministic verdict or a named refusal, with the host unharmed.

use yun_exec::limits::{NAME_BYTES_MAX, OPEN_FILES_MAX, PATH_BYTES_MAX};
use yun_exec::{
    Checker, InputFile, Outcome, Refusal, RunError, Sandbox, SandboxConfig, Status, Task, TrapKind,
};

const MIB: u64 = 1024 * 1024;

fn sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig::default()).expect("sandbox")
}

fn task() -> Task {
    Task::new(50_000_000, 64 * MIB)
}

/// The compile-free check, from the sandbox and from the standalone checker `yun job submit`
/// uses, which must agree.
fn check(sb: &Sandbox, bytes: &[u8]) -> Result<(), Refusal> {
    let answer = sb.check(bytes);
    let standalone = Checker::new().expect("checker").check(bytes);
    assert_eq!(
        answer, standalone,
        "the sandbox's check and the checker's differ"
    );
    answer
}

fn run(sb: &Sandbox, wat: &str, task: &Task) -> Result<Outcome, RunError> {
    let bytes = wat::parse_str(wat).expect("test module is valid WAT");
    let outcome = sb.run_module(&bytes, task);
    // The compile-free check `yun job submit` makes agrees with admission on every module.
    match &outcome {
        Err(RunError::Refused(r)) => assert_eq!(check(sb, &bytes), Err(r.clone())),
        _ => assert_eq!(check(sb, &bytes), Ok(()), "admitted, so the check passes"),
    }
    outcome
}

fn verdict(sb: &Sandbox, wat: &str) -> Outcome {
    let o = run(sb, wat, &task()).expect("a verdict");
    eprintln!(
        "status {:?} fuel {} trap {:?}",
        o.status, o.fuel_used, o.diagnostics.trap_message
    );
    o
}

/// The refusal of admission, which the compile-free check (`Sandbox::check`) must give too.
fn refusal(sb: &Sandbox, bytes: &[u8]) -> Refusal {
    match sb.run_module(bytes, &task()) {
        Err(RunError::Refused(r)) => {
            assert_eq!(
                check(sb, bytes),
                Err(r.clone()),
                "check and admission differ"
            );
            r
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A module with the WASI functions the probes need, one page of memory, and `$body` as
/// `_start`. Scratch memory: iovec at 0, results at 16.., strings at 1024...
fn wasi_module(data: &str, body: &str) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $path_create_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pwrite" (func $fd_pwrite (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_size" (func $fd_filestat_set_size (param i32 i64) (result i32)))
  (memory (export "memory") 2)
  {data}
  ;; write(fd, ptr, len): one iovec at address 0, count written at 8
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start") {body}))"#
    )
}

/// Stdout as bytes.
fn stdout(o: &Outcome) -> Vec<u8> {
    o.stdout()
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let sb = sandbox();
    let o = verdict(
        &sb,
        r#"(module (func (export "_start") (loop $l (br $l))))"#,
    );
    assert_eq!(o.status, Status::OutOfFuel);
    assert_eq!(o.fuel_used, task().fuel);
}

#[test]
fn wall_clock_kill_switch_is_a_host_fault_not_a_verdict() {
    let sb = Sandbox::new(SandboxConfig {
        wall_time_max: std::time::Duration::from_millis(200),
        ..SandboxConfig::default()
    })
    .unwrap();
    let mut t = task();
    t.fuel = u64::MAX / 2;
    let bytes = wat::parse_str(r#"(module (func (export "_start") (loop $l (br $l))))"#).unwrap();
    match sb.run_module(&bytes, &t) {
        Err(RunError::Fault(yun_exec::HostFault::WallClockExceeded(_))) => {}
        other => panic!("expected a wall-clock host fault, got {other:?}"),
    }
}

#[test]
fn deep_recursion_overflows_the_stack_deterministically() {
    let sb = sandbox();
    let wat = r#"(module (func $f (param i64) (result i64) (i64.add (call $f (local.get 0)) (i64.const 1)))
                   (func (export "_start") (drop (call $f (i64.const 0)))))"#;
    let a = verdict(&sb, wat);
    let b = verdict(&sandbox(), wat);
    assert_eq!(a.status, Status::Trap(TrapKind::StackOverflow));
    assert_eq!(
        (a.fuel_used, a.output_digest),
        (b.fuel_used, b.output_digest)
    );
}

#[test]
fn memory_grow_bomb_hits_the_memory_limit() {
    let sb = sandbox();
    let o = verdict(
        &sb,
        r#"(module (memory 1) (func (export "_start") (loop $l (drop (memory.grow (i32.const 16))) (br $l))))"#,
    );
    assert_eq!(o.status, Status::MemoryLimit);
}

#[test]
fn initial_memory_above_the_limit_is_a_memory_limit() {
    let sb = sandbox();
    // 2048 pages = 128 MiB > the task's 64 MiB.
    let o = verdict(&sb, r#"(module (memory 2048) (func (export "_start")))"#);
    assert_eq!(o.status, Status::MemoryLimit);
}

#[test]
fn table_grow_bomb_hits_the_limit() {
    let sb = sandbox();
    let o = verdict(
        &sb,
        r#"(module (table 1 funcref)
             (func (export "_start") (loop $l (drop (table.grow (ref.null func) (i32.const 100000))) (br $l))))"#,
    );
    assert_eq!(o.status, Status::MemoryLimit);
}

#[test]
fn stdout_flood_hits_the_output_limit() {
    let sb = sandbox();
    let o = verdict(
        &sb,
        &wasi_module(
            "",
            "(loop $l (drop (call $write (i32.const 1) (i32.const 0) (i32.const 65536))) (br $l))",
        ),
    );
    assert_eq!(o.status, Status::OutputLimit);
    assert!(stdout(&o).len() <= yun_exec::limits::STDOUT_BYTES_MAX);
}

#[test]
fn stderr_flood_hits_the_output_limit() {
    let sb = sandbox();
    let o = verdict(
        &sb,
        &wasi_module(
            "",
            "(loop $l (drop (call $write (i32.const 2) (i32.const 0) (i32.const 65536))) (br $l))",
        ),
    );
    assert_eq!(o.status, Status::OutputLimit);
    assert!(o.diagnostics.stderr_bytes <= yun_exec::limits::STDERR_BYTES_MAX as u64);
}

#[test]
fn unknown_imports_are_refused_by_name() {
    let sb = sandbox();
    let env =
        wat::parse_str(r#"(module (import "env" "open_socket" (func)) (func (export "_start")))"#)
            .unwrap();
    assert_eq!(
        refusal(&sb, &env),
        Refusal::ImportNotAllowed {
            module: "env".into(),
            name: "open_socket".into()
        }
    );
    let sock = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32))) (func (export "_start")))"#,
    )
    .unwrap();
    assert_eq!(refusal(&sb, &sock).name(), "import_not_allowed");
    let wrong_type = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32))) (func (export "_start")))"#,
    )
    .unwrap();
    assert_eq!(refusal(&sb, &wrong_type).name(), "import_type_mismatch");
}

#[test]
fn the_check_refuses_a_wrong_entry_and_a_memory_import_like_admission() {
    let sb = sandbox();
    for wat in [
        r#"(module (func (export "_start") (param i32)))"#,
        r#"(module (func (export "_start") (result i32) (i32.const 0)))"#,
        r#"(module (global (export "_start") i32 (i32.const 0)))"#,
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (memory 1)) (func (export "_start")))"#,
        r#"(module (type (func)) (type (func (param i32 i32 i32 i32) (result i32))) (import "wasi_snapshot_preview1" "fd_write" (func (type 0))) (func (export "_start")))"#,
    ] {
        let bytes = wat::parse_str(wat).unwrap();
        let r = refusal(&sb, &bytes);
        assert!(
            matches!(r.code(), 4..=6),
            "{wat}: {r:?} is not an import or entry refusal"
        );
    }
    // Types the imports do not use, and an import of the right type, pass both.
    let fine = wat::parse_str(
        r#"(module (type (func (param i64))) (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))) (func (export "_start")))"#,
    )
    .unwrap();
    assert_eq!(sb.check(&fine), Ok(()));
    assert!(sb.admit(&fine).is_ok());
}

/// `wat` with a custom section named `name` appended.
fn with_custom_section(wat: &str, name: &str) -> Vec<u8> {
    use wasm_encoder::Section;
    let mut bytes = wat::parse_str(wat).unwrap();
    wasm_encoder::CustomSection {
        name: name.into(),
        data: (&b"x"[..]).into(),
    }
    .append_to(&mut bytes);
    bytes
}

#[test]
fn interface_type_sections_are_refused_before_imports_are_judged() {
    let sb = sandbox();
    for name in ["wasm-interface-types", "webidl-bindings"] {
        let fine = with_custom_section(r#"(module (func (export "_start")))"#, name);
        assert_eq!(refusal(&sb, &fine).name(), "feature_not_allowed", "{name}");
        // A refusal's code is part of a cannot-run verdict: with a bad import as well, the
        // section (what the compiler refuses) still decides it, as before the check existed.
        let also_bad_import = with_custom_section(
            r#"(module (import "env" "open_socket" (func)) (func (export "_start")))"#,
            name,
        );
        assert_eq!(refusal(&sb, &also_bad_import).code(), 3, "{name}");
    }
    // Any other custom section (a name section, producers) is fine.
    let named = with_custom_section(r#"(module (func (export "_start")))"#, "producers-ish");
    assert_eq!(sb.check(&named), Ok(()));
    assert!(sb.admit(&named).is_ok());
}

#[test]
fn only_an_admitted_module_is_found_by_its_hash() {
    let sb = sandbox();
    let module = wat::parse_str(r#"(module (func (export "_start")))"#).unwrap();
    let hash = *blake3::hash(&module).as_bytes();
    assert!(sb.admitted(&hash).is_none(), "nothing admitted yet");
    assert!(!sb.caches(&hash));
    let admitted = sb.admit(&module).unwrap();
    assert!(sb.caches(&hash));
    let found = sb.admitted(&hash).expect("admitted above");
    assert_eq!(found.module_hash, hash);
    assert_eq!(found.module_bytes, module.len() as u64);
    assert_eq!(admitted.module_bytes, found.module_bytes);
    // The found program runs like the bytes do.
    let by_hash = sb.run(&found, &task()).unwrap();
    let by_bytes = sb.run_module(&module, &task()).unwrap();
    assert_eq!(by_hash.verdict_bytes(), by_bytes.verdict_bytes());
    // A refused module is never cached, so its hash finds nothing: its bytes are read and
    // refused again, the same verdict every time.
    let refused = wat::parse_str(r#"(module (func (export "main")))"#).unwrap();
    assert!(sb.admit(&refused).is_err());
    assert!(sb.admitted(blake3::hash(&refused).as_bytes()).is_none());
    assert!(!sb.caches(blake3::hash(&refused).as_bytes()));
}

#[test]
fn oversized_and_invalid_modules_are_refused() {
    let sb = sandbox();
    let huge = vec![0u8; yun_exec::limits::MODULE_BYTES_MAX + 1];
    assert_eq!(refusal(&sb, &huge).code(), 1);
    assert_eq!(refusal(&sb, b"\0asm\x01\0\0\0garbage").name(), "invalid");
    assert_eq!(refusal(&sb, b"MZ not wasm at all").name(), "invalid");
    let no_start = wat::parse_str("(module (func (export \"main\")))").unwrap();
    assert_eq!(refusal(&sb, &no_start), Refusal::NoEntryPoint);
}

#[test]
fn threads_atomics_and_relaxed_simd_are_refused() {
    let sb = sandbox();
    let shared = wat::parse_str(r#"(module (memory 1 1 shared) (func (export "_start") (drop (i32.atomic.load (i32.const 0)))))"#).unwrap();
    assert_eq!(refusal(&sb, &shared).name(), "feature_not_allowed");
    let relaxed = wat::parse_str(
        r#"(module (func (export "_start") (drop (f32x4.relaxed_madd (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0)))))"#,
    )
    .unwrap();
    assert_eq!(refusal(&sb, &relaxed).name(), "feature_not_allowed");
    let mem64 = wat::parse_str(r#"(module (memory i64 1) (func (export "_start")))"#).unwrap();
    assert_eq!(refusal(&sb, &mem64).name(), "feature_not_allowed");
}

#[test]
fn path_escapes_from_in_fail_and_read_nothing() {
    let sb = sandbox();
    // path_open(3 = /in, "../../../../etc/passwd") then print the errno as one byte.
    let data = r#"(data (i32.const 1024) "../../../../etc/passwd")"#;
    let body = "(i32.store8 (i32.const 64) (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 22) (i32.const 0) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
                (drop (call $write (i32.const 1) (i32.const 64) (i32.const 1)))";
    let o = verdict(&sb, &wasi_module(data, body));
    assert_eq!(o.status, Status::Ok(0));
    let errno = stdout(&o)[0];
    assert_ne!(errno, 0, "escaping /in must fail");
}

#[test]
fn writes_outside_out_fail_and_create_nothing() {
    let sb = sandbox();
    let work = tempfile::tempdir().unwrap();
    let sb2 = sandbox_in(work.path());
    // Create "x" in /in (read-only) and "../escaped" from /out; print both errnos.
    let data = r#"(data (i32.const 1024) "x") (data (i32.const 1100) "../escaped")"#;
    let body = "(i32.store8 (i32.const 64) (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
                (i32.store8 (i32.const 65) (call $path_open (i32.const 4) (i32.const 0) (i32.const 1100) (i32.const 10) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
                (drop (call $write (i32.const 1) (i32.const 64) (i32.const 2)))";
    for s in [&sb, &sb2] {
        let o = verdict(s, &wasi_module(data, body));
        assert_eq!(o.status, Status::Ok(0));
        let out = stdout(&o);
        assert!(
            out[0] != 0 && out[1] != 0,
            "both creates must fail: {out:?}"
        );
        assert_eq!(o.entries().len(), 1, "nothing but stdout in the archive");
    }
    // Tasks without input share one empty `/in`: the refused create left it empty.
    let shared_in: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("yun-empty-in-"))
        .collect();
    assert_eq!(shared_in.len(), 1, "one shared /in");
    assert_eq!(std::fs::read_dir(&shared_in[0]).unwrap().count(), 0);
    // The run's directory is gone (deleted by the reaper, which a dropped sandbox drains) and
    // nothing escaped next to it; the shared `/in` goes with the sandbox.
    drop(sb2);
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
}

/// A sandbox whose task directories live under `work`, so a test can count them.
fn sandbox_in(work: &std::path::Path) -> Sandbox {
    Sandbox::new(SandboxConfig {
        work_dir: work.into(),
        ..SandboxConfig::default()
    })
    .expect("sandbox")
}

/// Waits until the reaper has emptied and kept `n` used directories (at most 10 s).
fn wait_for_spares(sb: &Sandbox, n: usize) {
    let waited = std::time::Instant::now();
    while sb.spare_dirs() < n {
        assert!(
            waited.elapsed().as_secs() < 10,
            "the used directories were not kept"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// How many task directories (`/in` or `/out`) exist under `work`.
fn task_dirs(work: &std::path::Path) -> usize {
    std::fs::read_dir(work)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("yun-task-")
        })
        .count()
}

#[test]
fn a_reused_out_directory_starts_empty() {
    let work = tempfile::tempdir().unwrap();
    let sb = sandbox_in(work.path());
    // Creates the file "x" and the directory "d" in /out (fd 4).
    let data = r#"(data (i32.const 1024) "x") (data (i32.const 1100) "d")"#;
    let body = "(drop (call $path_open (i32.const 4) (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
                (drop (call $path_create_directory (i32.const 4) (i32.const 1100) (i32.const 1)))";
    let wrote = verdict(&sb, &wasi_module(data, body));
    assert_eq!(
        wrote.entries().len(),
        3,
        "stdout, x and d: {:?}",
        wrote.entries()
    );
    // The reaper empties that /out and keeps it; the next task without input files runs in it.
    wait_for_spares(&sb, 1);
    let next = verdict(&sb, &wasi_module("", ""));
    wait_for_spares(&sb, 1);
    assert_eq!(
        task_dirs(work.path()),
        1,
        "the second run made no directory of its own"
    );
    let fresh = verdict(&sandbox(), &wasi_module("", ""));
    assert_eq!(
        next.entries(),
        fresh.entries(),
        "only stdout, as in a new sandbox"
    );
    assert_eq!(next.verdict_bytes(), fresh.verdict_bytes());
}

#[test]
fn a_reused_in_directory_holds_only_the_task_s_own_files() {
    let work = tempfile::tempdir().unwrap();
    let sb = sandbox_in(work.path());
    // Lists /in (fd 3) to stdout.
    let listing = "(drop (call $fd_readdir (i32.const 3) (i32.const 2048) (i32.const 1024) (i64.const 0) (i32.const 16)))
                (drop (call $write (i32.const 1) (i32.const 2048) (i32.load (i32.const 16))))";
    let with_files = |names: &[&str]| {
        let mut t = task();
        for name in names {
            t.files.push(InputFile {
                path: (*name).into(),
                bytes: name.as_bytes().to_vec(),
            });
        }
        t
    };
    let first = with_files(&["zeta", "sub/alpha"]);
    run(&sb, &wasi_module("", listing), &first).unwrap();
    wait_for_spares(&sb, 2);
    assert_eq!(task_dirs(work.path()), 2, "an /in and an /out");
    // The next task's /in is one of those two, emptied: it lists only its own file.
    let second = with_files(&["beta"]);
    let reused = run(&sb, &wasi_module("", listing), &second).unwrap();
    wait_for_spares(&sb, 2);
    assert_eq!(
        task_dirs(work.path()),
        2,
        "the second run made no directory of its own"
    );
    let fresh = run(&sandbox(), &wasi_module("", listing), &second).unwrap();
    assert_eq!(reused.verdict_bytes(), fresh.verdict_bytes());
    assert_eq!(
        reused.entries(),
        fresh.entries(),
        "only stdout: the /out it got was emptied"
    );
}

#[test]
fn clocks_are_fixed() {
    let sb = sandbox();
    // realtime (0) and monotonic (1) into 16 and 24; write both.
    let body = "(drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 16)))
                (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 24)))
                (drop (call $write (i32.const 1) (i32.const 16) (i32.const 16)))";
    let o = verdict(&sb, &wasi_module("", body));
    assert_eq!(stdout(&o), vec![0u8; 16]);
}

#[test]
fn sleeping_is_refused_not_waited_for() {
    let sb = sandbox();
    let body = "(i32.store8 (i32.const 64) (call $poll_oneoff (i32.const 128) (i32.const 256) (i32.const 1) (i32.const 16)))
                (drop (call $write (i32.const 1) (i32.const 64) (i32.const 1)))";
    let o = verdict(&sb, &wasi_module("", body));
    assert_eq!(stdout(&o), vec![58], "ENOTSUP");
}

#[test]
fn randomness_is_seeded_by_the_task() {
    let sb = sandbox();
    let body = "(drop (call $random_get (i32.const 16) (i32.const 32)))
                (drop (call $write (i32.const 1) (i32.const 16) (i32.const 32)))";
    let wat = wasi_module("", body);
    let a = run(&sb, &wat, &task()).unwrap();
    let b = run(&sandbox(), &wat, &task()).unwrap();
    let mut other = task();
    other.seed = [7; 32];
    let c = run(&sb, &wat, &other).unwrap();
    assert_eq!(stdout(&a), stdout(&b));
    assert_ne!(stdout(&a), stdout(&c));
    assert_ne!(stdout(&a), vec![0u8; 32]);
}

#[test]
fn nan_bits_are_canonical() {
    let sb = sandbox();
    // 0/0, sqrt(-1), and arithmetic on a NaN with a custom payload, stored as raw bits.
    let body = "(f32.store (i32.const 16) (f32.div (f32.const 0) (f32.const 0)))
                (f64.store (i32.const 24) (f64.sqrt (f64.const -1)))
                (f64.store (i32.const 32) (f64.add (f64.reinterpret_i64 (i64.const 0x7ff4000000000001)) (f64.const 1)))
                (f32.store (i32.const 40) (f32.mul (f32.reinterpret_i32 (i32.const 0xffc00123)) (f32.const 2)))
                (drop (call $write (i32.const 1) (i32.const 16) (i32.const 28)))";
    let out = stdout(&verdict(&sb, &wasi_module("", body)));
    assert_eq!(
        u32::from_le_bytes(out[0..4].try_into().unwrap()),
        0x7fc0_0000
    );
    assert_eq!(
        u64::from_le_bytes(out[8..16].try_into().unwrap()),
        0x7ff8_0000_0000_0000
    );
    assert_eq!(
        u64::from_le_bytes(out[16..24].try_into().unwrap()),
        0x7ff8_0000_0000_0000
    );
    assert_eq!(
        u32::from_le_bytes(out[24..28].try_into().unwrap()),
        0x7fc0_0000
    );
}

#[test]
fn a_trap_in_the_start_function_is_a_verdict_with_fuel() {
    let sb = sandbox();
    let o = verdict(
        &sb,
        r#"(module (func $s (drop (i32.add (i32.const 1) (i32.const 2))) unreachable) (start $s) (func (export "_start")))"#,
    );
    assert_eq!(o.status, Status::Trap(TrapKind::Unreachable));
    assert!(o.fuel_used > 0);
}

#[test]
fn proc_exit_sets_the_exit_code() {
    let sb = sandbox();
    let o = verdict(&sb, &wasi_module("", "(call $proc_exit (i32.const 7))"));
    assert_eq!(o.status, Status::Ok(7));
}

#[test]
fn file_metadata_is_masked() {
    // fd_filestat_get on /in/data: dev, ino and times must be zero, nlink one, size real.
    let data = r#"(data (i32.const 1024) "data")"#;
    // Rights: fd_read | fd_seek | fd_filestat_get; path_open's errno goes to byte 64 of stdout.
    let body = "(i32.store8 (i32.const 192) (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 4) (i32.const 0) (i64.const 0x200006) (i64.const 0) (i32.const 0) (i32.const 16)))
                (drop (call $fd_filestat_get (i32.load (i32.const 16)) (i32.const 128)))
                (drop (call $write (i32.const 1) (i32.const 128) (i32.const 65)))";
    let mut t = task();
    t.files = vec![InputFile {
        path: "data".into(),
        bytes: b"hello".to_vec(),
    }];
    let a = run(&sandbox(), &wasi_module(data, body), &t).unwrap();
    let out = stdout(&a);
    assert_eq!(out[64], 0, "path_open /in/data succeeds");
    assert_eq!(&out[0..16], &[0u8; 16], "dev and ino");
    assert_eq!(out[16], 4, "regular file");
    assert_eq!(
        u64::from_le_bytes(out[24..32].try_into().unwrap()),
        1,
        "nlink"
    );
    assert_eq!(
        u64::from_le_bytes(out[32..40].try_into().unwrap()),
        5,
        "size"
    );
    assert_eq!(&out[40..64], &[0u8; 24], "times");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let b = run(&sandbox(), &wasi_module(data, body), &t).unwrap();
    assert_eq!(a.output_digest, b.output_digest);
}

#[test]
fn directory_listings_are_sorted_whatever_the_manifest_order() {
    let body = "(drop (call $fd_readdir (i32.const 3) (i32.const 2048) (i32.const 1024) (i64.const 0) (i32.const 16)))
                (drop (call $write (i32.const 1) (i32.const 2048) (i32.load (i32.const 16))))";
    let mut t = task();
    for name in ["zeta", "alpha", "mid", "beta"] {
        t.files.push(InputFile {
            path: name.into(),
            bytes: name.as_bytes().to_vec(),
        });
    }
    let o = run(&sandbox(), &wasi_module("", body), &t).unwrap();
    let listing = stdout(&o);
    let mut names = Vec::new();
    let mut at = 0;
    while at + 24 <= listing.len() {
        let len = u32::from_le_bytes(listing[at + 16..at + 20].try_into().unwrap()) as usize;
        assert_eq!(&listing[at + 8..at + 16], &[0u8; 8], "d_ino is masked");
        names.push(String::from_utf8(listing[at + 24..at + 24 + len].to_vec()).unwrap());
        at += 24 + len;
    }
    assert_eq!(names, [".", "..", "alpha", "beta", "mid", "zeta"]);
}

#[test]
fn creating_too_many_out_entries_hits_the_output_limit() {
    // Create /out/fNNNN in a loop, varying 4 digits in the name.
    let data = r#"(data (i32.const 1024) "f0000")"#;
    let body = "(local $i i32)
      (loop $l
        (i32.store8 (i32.const 1025) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $i) (i32.const 1000)) (i32.const 10))))
        (i32.store8 (i32.const 1026) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $i) (i32.const 100)) (i32.const 10))))
        (i32.store8 (i32.const 1027) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $i) (i32.const 10)) (i32.const 10))))
        (i32.store8 (i32.const 1028) (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10))))
        (if (i32.eqz (call $path_open (i32.const 4) (i32.const 0) (i32.const 1024) (i32.const 5) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
          (then (drop (call $fd_close (i32.load (i32.const 16))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 5000))))";
    let o = verdict(&sandbox(), &wasi_module(data, body));
    assert_eq!(o.status, Status::OutputLimit);
}

#[test]
fn sparse_file_bomb_in_out_hits_the_output_limit() {
    // Open /out/big, seek to 1 GiB, write one byte: tiny on disk, huge as an output.
    let data = r#"(data (i32.const 1024) "big")"#;
    let body = "(drop (call $path_open (i32.const 4) (i32.const 0) (i32.const 1024) (i32.const 3) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
                (drop (call $fd_seek (i32.load (i32.const 16)) (i64.const 1073741824) (i32.const 0) (i32.const 24)))
                (drop (call $write (i32.load (i32.const 16)) (i32.const 1024) (i32.const 1)))";
    let o = verdict(&sandbox(), &wasi_module(data, body));
    assert_eq!(o.status, Status::OutputLimit);
}

#[test]
fn out_files_are_collected_in_sorted_order() {
    let data = r#"(data (i32.const 1024) "b") (data (i32.const 1032) "a")"#;
    let body = "(drop (call $path_open (i32.const 4) (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
                (drop (call $write (i32.load (i32.const 16)) (i32.const 1024) (i32.const 1)))
                (drop (call $path_open (i32.const 4) (i32.const 0) (i32.const 1032) (i32.const 1) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
                (drop (call $write (i32.load (i32.const 16)) (i32.const 1032) (i32.const 1)))";
    let o = verdict(&sandbox(), &wasi_module(data, body));
    let names: Vec<String> = o.entries().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["stdout", "out/a", "out/b"]);
}

#[test]
fn the_host_survives_the_whole_catalogue_with_bounded_memory() {
    let rss_before = rss_bytes();
    let sb = sandbox();
    for _ in 0..5 {
        let _ = verdict(
            &sb,
            r#"(module (memory 1) (func (export "_start") (loop $l (drop (memory.grow (i32.const 16))) (br $l))))"#,
        );
        let _ = verdict(
            &sb,
            &wasi_module(
                "",
                "(loop $l (drop (call $write (i32.const 1) (i32.const 0) (i32.const 65536))) (br $l))",
            ),
        );
    }
    let grown = rss_bytes().saturating_sub(rss_before);
    assert!(grown < 512 * MIB, "host RSS grew by {grown} bytes");
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

// Probes for host facts: each runs identically on any filesystem (see
// `host_dependent_probes_agree_on_tmpfs_and_disk`), and each has its own test of what it shows.

/// WASI errnos the probes print.
const ERRNO_MFILE: u8 = 33;
const ERRNO_NAMETOOLONG: u8 = 37;
const ERRNO_NOMEM: u8 = 48;
/// 16 TiB: past ext4's largest file (4 KiB blocks), well inside tmpfs's and btrfs's.
const FAR_OFFSET: &str = "0x100000000000";
/// Names a probe creates inside a directory, so that its host size grows with them.
const DIR_STAT_ENTRIES: u32 = 40;

/// A task whose `/in` holds a file and a subdirectory.
fn task_with_inputs() -> Task {
    let mut t = task();
    for path in ["data", "sub/a", "sub/b"] {
        t.files.push(InputFile {
            path: path.into(),
            bytes: path.as_bytes().to_vec(),
        });
    }
    t
}

/// Creates `/out/d` with entries, then prints the filestats of `/out/d` (by path and by fd),
/// `/in`, `/out` and `/in/sub`: 5 × 64 bytes.
fn probe_directory_stat() -> (String, Task) {
    let data = r#"(data (i32.const 1024) "d") (data (i32.const 1100) "entry-with-a-rather-long-name-00") (data (i32.const 1200) "sub")"#;
    let body = format!("(local $i i32)
      (drop (call $path_create_directory (i32.const 4) (i32.const 1024) (i32.const 1)))
      (drop (call $path_open (i32.const 4) (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 2) (i64.const 2) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
      (loop $l
        (i32.store8 (i32.const 1130) (i32.add (i32.const 48) (i32.div_u (local.get $i) (i32.const 10))))
        (i32.store8 (i32.const 1131) (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10))))
        (if (i32.eqz (call $path_open (i32.load (i32.const 16)) (i32.const 0) (i32.const 1100) (i32.const 32) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 20)))
          (then (drop (call $fd_close (i32.load (i32.const 20))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const {DIR_STAT_ENTRIES}))))
      (drop (call $path_filestat_get (i32.const 4) (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 256)))
      (drop (call $fd_filestat_get (i32.load (i32.const 16)) (i32.const 320)))
      (drop (call $fd_filestat_get (i32.const 3) (i32.const 384)))
      (drop (call $fd_filestat_get (i32.const 4) (i32.const 448)))
      (drop (call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const 1200) (i32.const 3) (i32.const 512)))
      (drop (call $write (i32.const 1) (i32.const 256) (i32.const 320)))");
    (wasi_module(data, &body), task_with_inputs())
}

/// Opens `/in/data` until `path_open` fails; prints the count and the errno (u32 each).
fn probe_open_files() -> (String, Task) {
    let data = r#"(data (i32.const 1024) "data")"#;
    let body = "(local $n i32) (local $e i32)
      (block $done (loop $l
        (local.set $e (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 4) (i32.const 0) (i64.const 0x200006) (i64.const 0) (i32.const 0) (i32.const 16)))
        (br_if $done (local.get $e))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $n) (i32.const 100000)))))
      (i32.store (i32.const 64) (local.get $n))
      (i32.store (i32.const 68) (local.get $e))
      (drop (call $write (i32.const 1) (i32.const 64) (i32.const 8)))";
    (wasi_module(data, body), task_with_inputs())
}

/// Writes 64 KiB chunks into `/out/big` until a write fails, then prints that errno.
fn probe_fill_the_disk() -> (String, Task) {
    let data = r#"(data (i32.const 1024) "big")"#;
    let body = "(local $e i32)
      (drop (call $path_open (i32.const 4) (i32.const 0) (i32.const 1024) (i32.const 3) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
      (loop $l
        (local.set $e (call $write (i32.load (i32.const 16)) (i32.const 1024) (i32.const 65536)))
        (br_if $l (i32.eqz (local.get $e))))
      (i32.store8 (i32.const 64) (local.get $e))
      (drop (call $write (i32.const 1) (i32.const 64) (i32.const 1)))";
    (wasi_module(data, body), task())
}

/// Writes one byte at 16 TiB into `/out/far` and prints the errno.
fn probe_far_write() -> (String, Task) {
    let data = r#"(data (i32.const 1024) "far")"#;
    let body = format!("(drop (call $path_open (i32.const 4) (i32.const 0) (i32.const 1024) (i32.const 3) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 1))
      (i32.store8 (i32.const 64) (call $fd_pwrite (i32.load (i32.const 16)) (i32.const 0) (i32.const 1) (i64.const {FAR_OFFSET}) (i32.const 8)))
      (drop (call $write (i32.const 1) (i32.const 64) (i32.const 1)))");
    (wasi_module(data, &body), task())
}

/// Grows `/out/huge` to 16 TiB with `fd_filestat_set_size` and prints the errno.
fn probe_grow_a_file() -> (String, Task) {
    let data = r#"(data (i32.const 1024) "huge")"#;
    let body = format!("(drop (call $path_open (i32.const 4) (i32.const 0) (i32.const 1024) (i32.const 4) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
      (i32.store8 (i32.const 64) (call $fd_filestat_set_size (i32.load (i32.const 16)) (i64.const {FAR_OFFSET})))
      (drop (call $write (i32.const 1) (i32.const 64) (i32.const 1)))");
    (wasi_module(data, &body), task())
}

/// A 300-byte name to `path_open` and `path_create_directory` (over `NAME_BYTES_MAX`) and a
/// 2000-byte path to `path_filestat_get` (over `PATH_BYTES_MAX`); prints the three errnos.
fn probe_long_names() -> (String, Task) {
    let data = format!(r#"(data (i32.const 2048) "{}")"#, "n".repeat(300));
    let body = "(i32.store8 (i32.const 64) (call $path_open (i32.const 4) (i32.const 0) (i32.const 2048) (i32.const 300) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
      (i32.store8 (i32.const 65) (call $path_create_directory (i32.const 4) (i32.const 2048) (i32.const 256)))
      (i32.store8 (i32.const 66) (call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const 2048) (i32.const 2000) (i32.const 256)))
      (drop (call $write (i32.const 1) (i32.const 64) (i32.const 3)))";
    (wasi_module(&data, body), task())
}

/// Nests 200-byte directory names in `/out` until a call fails; prints depth and errno.
fn probe_deep_directories() -> (String, Task) {
    let data = format!(r#"(data (i32.const 3000) "{}")"#, "d".repeat(200));
    let body = "(local $fd i32) (local $depth i32) (local $e i32)
      (local.set $fd (i32.const 4))
      (block $done (loop $l
        (local.set $e (call $path_create_directory (local.get $fd) (i32.const 3000) (i32.const 200)))
        (br_if $done (local.get $e))
        (local.set $e (call $path_open (local.get $fd) (i32.const 0) (i32.const 3000) (i32.const 200) (i32.const 2) (i64.const 2) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
        (br_if $done (local.get $e))
        (local.set $fd (i32.load (i32.const 16)))
        (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $depth) (i32.const 100)))))
      (i32.store (i32.const 64) (local.get $depth))
      (i32.store (i32.const 68) (local.get $e))
      (drop (call $write (i32.const 1) (i32.const 64) (i32.const 8)))";
    (wasi_module(&data, body), task())
}

/// Reads stdin into a 200 MiB buffer (over `HOSTCALL_BYTES_MAX`); prints the errno.
fn probe_huge_read() -> (String, Task) {
    let body = "(i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 209715200))
      (i32.store8 (i32.const 64) (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (drop (call $write (i32.const 1) (i32.const 64) (i32.const 1)))";
    (wasi_module("", body), task())
}

type Probe = fn() -> (String, Task);

/// Every probe of a host fact, by name. (Directories are opened with `fd_read` rights only:
/// asking to write a directory is `EISDIR`.)
const HOST_PROBES: &[(&str, Probe)] = &[
    ("directory_stat", probe_directory_stat),
    ("open_files", probe_open_files),
    ("fill_the_disk", probe_fill_the_disk),
    ("far_write", probe_far_write),
    ("grow_a_file", probe_grow_a_file),
    ("long_names", probe_long_names),
    ("deep_directories", probe_deep_directories),
    ("huge_read", probe_huge_read),
];

fn run_probe(sb: &Sandbox, probe: Probe) -> Outcome {
    let (wat, task) = probe();
    let o = run(sb, &wat, &task).expect("a verdict, not a host fault");
    eprintln!(
        "status {:?} fuel {} stdout {:?}",
        o.status,
        o.fuel_used,
        stdout(&o)
    );
    o
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[test]
fn directory_stats_show_no_host_size_links_inodes_or_times() {
    let o = run_probe(&sandbox(), probe_directory_stat);
    assert_eq!(o.status, Status::Ok(0));
    let out = stdout(&o);
    assert_eq!(out.len(), 5 * 64);
    for stat in out.chunks(64) {
        assert_eq!(&stat[0..16], &[0u8; 16], "dev and ino");
        assert_eq!(stat[16], 3, "a directory");
        assert_eq!(u64_at(stat, 24), 1, "nlink");
        assert_eq!(u64_at(stat, 32), 0, "a directory's size is masked to 0");
        assert_eq!(&stat[40..64], &[0u8; 24], "times");
    }
    assert_eq!(o.entries().len(), 2 + DIR_STAT_ENTRIES as usize);
}

#[test]
fn holding_too_many_files_open_is_yuns_emfile() {
    let o = run_probe(&sandbox(), probe_open_files);
    let out = stdout(&o);
    assert_eq!(
        u32_at(&out, 0) as usize,
        OPEN_FILES_MAX - 2,
        "beside the preopens"
    );
    assert_eq!(u32_at(&out, 4), u32::from(ERRNO_MFILE));
}

#[test]
fn filling_the_disk_hits_the_output_limit_first() {
    let o = run_probe(&sandbox(), probe_fill_the_disk);
    assert_eq!(o.status, Status::OutputLimit);
}

#[test]
fn writing_or_growing_past_any_file_size_limit_is_an_output_limit() {
    // On ext4 the host would answer EFBIG, on tmpfs succeed: Yun ends both first.
    assert_eq!(
        run_probe(&sandbox(), probe_far_write).status,
        Status::OutputLimit
    );
    assert_eq!(
        run_probe(&sandbox(), probe_grow_a_file).status,
        Status::OutputLimit
    );
}

#[test]
fn long_names_and_paths_are_yuns_enametoolong() {
    let o = run_probe(&sandbox(), probe_long_names);
    const { assert!(300 > NAME_BYTES_MAX && 2000 > PATH_BYTES_MAX) };
    assert_eq!(stdout(&o), vec![ERRNO_NAMETOOLONG; 3]);
    assert_eq!(o.entries().len(), 1, "nothing created");
}

#[test]
fn directories_nest_only_to_the_path_limit() {
    let o = run_probe(&sandbox(), probe_deep_directories);
    let out = stdout(&o);
    // 200-byte names with separators: depth 5 is 1004 bytes below /out, depth 6 would be 1205.
    assert_eq!(u32_at(&out, 0), 5);
    assert_eq!(u32_at(&out, 4), u32::from(ERRNO_NAMETOOLONG));
}

#[test]
fn a_read_larger_than_one_call_may_copy_is_yuns_enomem() {
    let o = run_probe(&sandbox(), probe_huge_read);
    assert_eq!(stdout(&o), vec![ERRNO_NOMEM]);
}

/// The filesystem type of `path` as statfs(2) reports it (through `stat -f`).
fn fs_type(path: &std::path::Path) -> String {
    let out = std::process::Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(path)
        .output()
        .expect("`stat -f` (coreutils) runs");
    assert!(out.status.success(), "stat -f {}", path.display());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The tmpfs this test needs: `/dev/shm`, checked with statfs. Without one the test fails
/// loudly rather than comparing the disk with itself.
fn tmpfs_dir() -> std::path::PathBuf {
    let shm = std::path::PathBuf::from("/dev/shm");
    let kind = if shm.is_dir() {
        fs_type(&shm)
    } else {
        "absent".into()
    };
    assert_eq!(
        kind, "tmpfs",
        "this test needs a tmpfs at /dev/shm to compare with the disk; found {kind}"
    );
    shm
}

#[test]
fn host_dependent_probes_agree_on_tmpfs_and_disk() {
    let tmpfs = tempfile::tempdir_in(tmpfs_dir()).unwrap();
    let disk = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (tmpfs_kind, disk_kind) = (fs_type(tmpfs.path()), fs_type(disk.path()));
    eprintln!(
        "tmpfs: {tmpfs_kind} at {:?}; disk: {disk_kind} at {:?}",
        tmpfs.path(),
        disk.path()
    );
    assert_ne!(
        disk_kind, "tmpfs",
        "the disk side must be another filesystem"
    );
    // The two really differ in what the probes look at: a directory's size.
    for root in [tmpfs.path(), disk.path()] {
        std::fs::create_dir(root.join("sized")).unwrap();
        std::fs::write(root.join("sized/entry"), b"x").unwrap();
    }
    let raw = |root: &std::path::Path| std::fs::metadata(root.join("sized")).unwrap().len();
    assert_ne!(
        raw(tmpfs.path()),
        raw(disk.path()),
        "host directory sizes differ"
    );
    let on = |dir: &std::path::Path| {
        Sandbox::new(SandboxConfig {
            work_dir: dir.into(),
            ..SandboxConfig::default()
        })
        .unwrap()
    };
    let (a, b) = (on(tmpfs.path()), on(disk.path()));
    for (name, probe) in HOST_PROBES {
        let (x, y) = (run_probe(&a, *probe), run_probe(&b, *probe));
        eprintln!("{name}: {} fuel {}", x.status, x.fuel_used);
        assert_eq!(
            x.verdict_bytes(),
            y.verdict_bytes(),
            "{name}: verdicts differ"
        );
        assert_eq!(x.archive, y.archive, "{name}: archives differ");
    }
}
