//! Fuzzes `job.toml` loading as `yun job submit` does it: the fuzzer's bytes are the job file,
//! in a directory holding a program, a reduce program, an input directory and a splittable
//! file, so paths can resolve. A loaded plan must obey the limits the loader promises; the line
//! splitter must keep every byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use yun_cli::jobfile::{self, Input};
use yun_types::market::{TASK_ARG_BYTES_MAX, TASK_ARGS_MAX, TASKS_PER_JOB_MAX};

/// A directory in memory (tmpfs when there is one) with the files a job file may name.
fn job_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("temp dir");
        let p = dir.path();
        std::fs::write(p.join("p.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(p.join("r.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::create_dir(p.join("in")).unwrap();
        std::fs::write(p.join("in/a.txt"), b"a\n").unwrap();
        std::fs::write(p.join("in/b.txt"), b"b\nbb\n").unwrap();
        std::fs::write(p.join("lines.txt"), b"one\ntwo three\nfour\n\nfive\n").unwrap();
        dir
    })
    .path()
}

fn check_plan(plan: &jobfile::JobPlan) {
    assert!((1..=TASKS_PER_JOB_MAX).contains(&plan.tasks.len()));
    assert!(plan.fuel_per_task >= 1);
    assert!(plan.deadline_blocks >= 1);
    assert!(plan.program.is_file());
    for (input, args) in &plan.tasks {
        assert!(args.len() <= TASK_ARGS_MAX);
        assert!(args.iter().all(|a| a.len() <= TASK_ARG_BYTES_MAX));
        if let Input::File(f) = input {
            assert!(f.is_file());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let pieces = data.len() % 17 + 1;
    let parts = jobfile::split_lines(data, pieces);
    assert!(parts.len() <= pieces);
    assert!(parts.iter().all(|p| !p.is_empty()));
    assert_eq!(parts.concat(), data, "splitting keeps every byte in order");

    let path: PathBuf = job_dir().join("job.toml");
    std::fs::write(&path, data).expect("write job file");
    if let Ok(plan) = jobfile::load(&path) {
        check_plan(&plan);
    }
});
