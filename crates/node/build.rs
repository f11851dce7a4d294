//! Embeds the web console's built files (`console/dist`, made by `scripts/build-console`) in
//! the node, so every `yun` serves it with nothing else installed. Without a build the node
//! serves a page saying how to make one, so a plain `cargo build` always works.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let console = manifest.join("../../console");
    let dist = console.join("dist");
    // A build changing re-embeds; without one, a change under console/ (a build appearing)
    // does. (A path that does not exist would rerun this script on every build.)
    if dist.is_dir() {
        println!("cargo:rerun-if-changed={}", dist.display());
    } else {
        println!("cargo:rerun-if-changed={}", console.display());
    }
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        walk(&dist, &dist, &mut files);
    }
    files.sort();
    let mut out = String::from(
        "/// The console's files: (URL path, bytes).\npub static CONSOLE_FILES: &[(&str, &[u8])] = &[\n",
    );
    for (url, path) in &files {
        writeln!(
            out,
            "    ({url:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("string");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("console_files.rs");
    std::fs::write(dest, out).expect("writing console_files.rs");
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).expect("reading console/dist") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("under root");
            let url = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
            out.push((url, path.canonicalize().expect("an existing file")));
        }
    }
}
