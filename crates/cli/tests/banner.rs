//! The commands a newcomer copies: every command the `yun devnet` banner prints runs as
//! printed in a fresh shell in the repo root, and so do the README's first-screen commands
//! (with `./target/release/yun` standing for this build's binary, and `YUN_NODE` pointing at
//! the test's devnet, since the README assumes the default port).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A `yun devnet` child process; killed when dropped.
struct Devnet(Child);

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `yun devnet` in the repo root and returns it with the banner's "Try:" commands.
fn start_devnet(data: &Path, home: &Path, port: u16) -> (Devnet, Vec<String>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yun"))
        .args(["devnet", "--data-dir"])
        .arg(data)
        .args(["--port", &port.to_string()])
        .current_dir(repo_root())
        .env("YUN_HOME", home)
        .env_remove("YUN_NODE")
        .env_remove("YUN_DEVNET_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let devnet = Devnet(child);
    let (mut commands, mut banner, mut in_try) = (Vec::new(), String::new(), false);
    for line in stdout.lines() {
        let line = line.unwrap();
        banner += &line;
        banner.push('\n');
        if let Some(cmd) = line.strip_prefix("Try:  ") {
            in_try = true;
            commands.push(cmd.to_string());
        } else if in_try && let Some(cmd) = line.strip_prefix("      ") {
            commands.push(cmd.to_string());
        } else if line.starts_with("Stop with Ctrl-C") {
            break;
        }
    }
    (devnet, commands, banner)
}

/// Runs `line` with bash in the repo root, as a fresh shell would: no Yun variables but the
/// ones given.
fn run_shell(line: &str, home: &Path, envs: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new("bash")
        .args(["-c", line])
        .current_dir(repo_root())
        .env("YUN_HOME", home)
        .env_remove("YUN_NODE")
        .env_remove("YUN_DEVNET_DIR")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The commands in the README's first screen that call the built binary.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let first_screen = readme.split("\n---").next().unwrap();
    first_screen
        .lines()
        .map(|l| l.split(" # ").next().unwrap().trim())
        .filter(|l| l.starts_with("./target/release/yun "))
        .map(str::to_string)
        .collect()
}

#[test]
fn banner_and_readme_commands_run_as_printed() {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let (_devnet, commands, banner) = start_devnet(data.path(), home.path(), port);
    assert!(commands.len() >= 3, "no Try: commands in\n{banner}");
    let console_line = format!("  Console   http://127.0.0.1:{port}/");
    assert!(
        banner.lines().any(|l| l.starts_with(&console_line)),
        "the banner names the web console's URL:\n{banner}"
    );
    assert!(
        banner.contains("Ethereum JSON-RPC: ") && banner.contains("TEST KEYS"),
        "the banner names the Ethereum RPC and its test keys before its last line:\n{banner}"
    );
    let binary = Path::new(env!("CARGO_BIN_EXE_yun")).canonicalize().unwrap();
    for cmd in &commands {
        assert!(
            cmd.contains("./target/debug/yun ") || cmd.contains(&binary.display().to_string()),
            "the banner names the binary that runs: {cmd}"
        );
        assert!(
            !cmd.contains("build-guest"),
            "the tests built the guests: {cmd}"
        );
        let (ok, out) = run_shell(cmd, home.path(), &[]);
        assert!(ok, "banner command failed: {cmd}\n{out}");
    }

    let readme = readme_commands();
    assert!(
        readme.len() >= 4,
        "README's first screen lost its commands: {readme:?}"
    );
    let node = format!("http://127.0.0.1:{port}");
    for cmd in &readme {
        let line = cmd.replace("./target/release/yun", &binary.display().to_string());
        let (ok, out) = run_shell(&line, home.path(), &[("YUN_NODE", &node)]);
        assert!(ok, "README command failed: {cmd}\n{out}");
    }
}
