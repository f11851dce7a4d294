//! The source-tree checks behind `tests/tidy.rs` (rust-analyzer's tidy idea): each function
//! reads files under the workspace root and returns what breaks a rule, so a test can also
//! plant a violation in a temporary copy and see it caught.

pub mod imports;
pub mod layers;
pub mod numbers;

use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// Every `.rs` file under `dir`, in path order.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The workspace crates: (directory name, package name), in directory order.
pub fn crates(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root.join("crates")) else {
        return out;
    };
    for e in entries.flatten() {
        let manifest = e.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let Ok(doc) = text.parse::<toml::Table>() else {
            continue;
        };
        if let Some(name) = doc
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
        {
            out.push((
                e.file_name().to_string_lossy().into_owned(),
                name.to_string(),
            ));
        }
    }
    out.sort();
    out
}

/// Files under `crates/*/src` whose first line is not a `//!` purpose line.
pub fn files_without_purpose_line(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (dir, _) in crates(root) {
        for f in rust_files(&root.join("crates").join(&dir).join("src")) {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            if !text.trim_start().starts_with("//!") {
                out.push(f.strip_prefix(root).unwrap_or(&f).to_path_buf());
            }
        }
    }
    out
}

/// Crates that ARCHITECTURE.md's code map has no `### \`crates/NAME\`` section for.
pub fn crates_missing_from_code_map(root: &Path) -> Vec<String> {
    let arch = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    crates(root)
        .into_iter()
        .filter(|(dir, _)| !arch.contains(&format!("### `crates/{dir}`")))
        .map(|(dir, _)| dir)
        .collect()
}
