//! Host faults: a host-resource error a WASI call meets (here the process's own descriptor
//! limit, lowered below what `OPEN_FILES_MAX` allows) ends the run as
//! `HostFault::HostResource`, never as an errno the guest could see and print. The only test
//! in its own binary, because it changes the limits of the whole process.

use std::process::Command;
use yun_exec::limits::OPEN_FILES_MAX;
use yun_exec::{HostFault, InputFile, RunError, Sandbox, SandboxConfig, Status, Task};

/// Descriptors the process may open beyond those it holds when the limit is lowered: enough to
/// create the task directory and its preopens, far fewer than `OPEN_FILES_MAX`.
const DESCRIPTOR_HEADROOM: usize = 24;

/// Opens `/in/data` until `path_open` fails, then prints the count and the errno (u32 each).
const OPEN_FILES_PROBE: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "data")
  (func (export "_start") (local $n i32) (local $e i32)
    (block $done (loop $l
      (local.set $e (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 4) (i32.const 0) (i64.const 0x200006) (i64.const 0) (i32.const 0) (i32.const 16)))
      (br_if $done (local.get $e))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $n) (i32.const 100000)))))
    (i32.store (i32.const 64) (local.get $n))
    (i32.store (i32.const 68) (local.get $e))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 8))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

fn task() -> Task {
    let mut t = Task::new(50_000_000, 64 * 1024 * 1024);
    t.files.push(InputFile {
        path: "data".into(),
        bytes: b"data".to_vec(),
    });
    t
}

/// The soft limit on open files of this process, from `/proc/self/limits`.
fn soft_nofile() -> String {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("procfs");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a descriptor limit");
    line.split_whitespace()
        .nth(3)
        .expect("soft limit")
        .to_string()
}

/// Sets this process's soft limit on open files with util-linux `prlimit`.
fn set_soft_nofile(limit: &str) {
    let status = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={limit}:"))
        .status()
        .expect("util-linux `prlimit` runs (this test needs it)");
    assert!(status.success(), "prlimit --nofile={limit}:");
}

#[test]
fn the_hosts_descriptor_limit_is_a_host_fault_not_an_errno() {
    let sb = Sandbox::new(SandboxConfig::default()).unwrap();
    let bytes = wat::parse_str(OPEN_FILES_PROBE).unwrap();
    // With the host's limit high, Yun's own limit answers: a verdict, the same everywhere.
    let o = sb.run_module(&bytes, &task()).expect("a verdict");
    assert_eq!(o.status, Status::Ok(0));
    let out = o.stdout();
    assert_eq!(out[..4], ((OPEN_FILES_MAX - 2) as u32).to_le_bytes());
    assert_eq!(out[4..8], 33u32.to_le_bytes(), "Yun's EMFILE");

    let original = soft_nofile();
    let open_now = std::fs::read_dir("/proc/self/fd").unwrap().count();
    set_soft_nofile(&(open_now + DESCRIPTOR_HEADROOM).to_string());
    let result = sb.run_module(&bytes, &task());
    set_soft_nofile(&original);
    match result {
        Err(RunError::Fault(HostFault::HostResource { call, errno })) => {
            eprintln!("host fault: {call} got {errno}");
            assert_eq!(call, "path_open");
        }
        other => panic!("expected a host fault, got {other:?}"),
    }
}
