//! The `yun` binary as the integration tests drive it, against an in-process devnet.

// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::path::Path;
use std::process::Command;

pub struct Yun<'a> {
    pub node: String,
    pub dir: &'a Path,
}

impl Yun<'_> {
    /// Runs `yun ARGS --node … --devnet-dir …`; (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_yun"));
        cmd.args(args)
            .args(["--node", &self.node, "--devnet-dir"])
            .arg(self.dir)
            .env("YUN_HOME", self.dir.join("home"));
        outcome(&mut cmd)
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, 0, "yun {args:?} failed:\n{stderr}\n{stdout}");
        stdout
    }

    /// Runs with `--output json` and parses the answer.
    pub fn json(&self, args: &[&str]) -> Value {
        let stdout = self.ok(&[args, &["--output", "json"]].concat());
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }
}

/// Runs a prepared `yun` command; (exit code, stdout, stderr).
pub fn outcome(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
    )
}
