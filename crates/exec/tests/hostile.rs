//! The hostile-module catalogue: each module attacks the host or probes for nondeterminism and
//! must end in its deterministic verdict or a named refusal, with the host unharmed.

use yun_exec::{
    InputFile, Outcome, Refusal, RunError, Sandbox, SandboxConfig, Status, Task, TrapKind,
};

const MIB: u64 = 1024 * 1024;

fn sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig::default()).expect("sandbox")
}

fn task() -> Task {
    Task::new(50_000_000, 64 * MIB)
}

fn run(sb: &Sandbox, wat: &str, task: &Task) -> Result<Outcome, RunError> {
    let bytes = wat::parse_str(wat).expect("test module is valid WAT");
    sb.run_module(&bytes, task)
}

fn verdict(sb: &Sandbox, wat: &str) -> Outcome {
    let o = run(sb, wat, &task()).expect("a verdict");
    eprintln!(
        "status {:?} fuel {} trap {:?}",
        o.status, o.fuel_used, o.diagnostics.trap_message
    );
    o
}

fn refusal(sb: &Sandbox, bytes: &[u8]) -> Refusal {
    match sb.run_module(bytes, &task()) {
        Err(RunError::Refused(r)) => r,
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
    let sb2 = Sandbox::new(SandboxConfig {
        work_dir: work.path().into(),
        ..SandboxConfig::default()
    })
    .unwrap();
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
    // The run's directory is gone (deleted by the reaper, which a dropped sandbox drains) and
    // nothing escaped next to it.
    drop(sb2);
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
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
