//! The web console in a real browser: runs `console/tests/browser/run.mjs` (Playwright driving
//! the system's headless Chromium) against a devnet of this build's `yun` — a rising height,
//! a CLI job followed to settled with its output verified in the page, a transfer and a
//! delegation signed in the page, search messages, 375 px, keyboard and axe checks, and no
//! key material in any request. Anything missing (Node, Chromium, the console's packages, a
//! console built into `yun`) fails with what to do; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[test]
fn the_console_works_in_a_real_browser() {
    let console = repo_root().join("console");
    assert!(
        yun_node::console::console_built(),
        "this yun was built without the web console: run ./scripts/build-console, then the tests again"
    );
    assert!(
        console.join("node_modules/playwright-core").is_dir(),
        "the console's packages are not installed: run ./scripts/build-console"
    );
    let out = Command::new("node")
        .arg("tests/browser/run.mjs")
        .current_dir(&console)
        .env("YUN_BIN", env!("CARGO_BIN_EXE_yun"))
        .output()
        .expect("running node: Node.js 20 or later must be installed");
    let text = support::output_text(&out);
    println!("{text}");
    assert!(out.status.success(), "the browser tests failed:\n{text}");
    assert!(
        text.contains("ok - a job submitted with the CLI is followed to settled"),
        "{text}"
    );
}
