//! Running a test's body on a small disk of its own: the test re-executes itself in a private
//! user and mount namespace (`unshare`), where it may mount a tmpfs of the size it asks for.

use std::path::Path;
use std::process::Command;

/// A test that runs `body` on a fresh tmpfs of `size` (as `mount -o size=` takes it).
/// `test_name` is the test's own name (the child runs only it); `child_env` marks the
/// re-executed child; `body` prints `checked` once every check passed, so the parent knows
/// the namespaced run really ran.
pub fn on_a_small_tmpfs(
    test_name: &str,
    child_env: &str,
    checked: &str,
    size: &str,
    body: impl FnOnce(&Path),
) {
    if std::env::var_os(child_env).is_some() {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs failed: {status}");
        body(dir.path());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--map-root-user", "--mount", "--"])
        .arg(exe)
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(child_env, "1")
        .output()
        .expect("util-linux `unshare` runs (this test needs it and user namespaces)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains(checked),
        "the namespaced run failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
