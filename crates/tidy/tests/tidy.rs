//! Tidy: the rules ARCHITECTURE.md promises, checked over the source tree in the default test
//! run, and each check shown to fail on a planted violation.

use std::path::Path;
use yun_tidy::*;

fn assert_none(what: &str, found: Vec<String>) {
    assert!(found.is_empty(), "{what}:\n  {}", found.join("\n  "));
}

#[test]
fn crates_depend_only_on_lower_layers() {
    assert_none(
        "layer violations",
        layers::layer_violations(&workspace_root()),
    );
}

#[test]
fn every_source_file_starts_with_a_purpose_line() {
    let missing = files_without_purpose_line(&workspace_root());
    assert_none(
        "files without a `//!` first line",
        missing.iter().map(|p| p.display().to_string()).collect(),
    );
}

#[test]
fn every_crate_is_in_the_code_map() {
    assert_none(
        "crates without a `### crates/NAME` section in ARCHITECTURE.md",
        crates_missing_from_code_map(&workspace_root()),
    );
}

#[test]
fn rejection_numbers_are_unique_and_documented() {
    assert_none(
        "numbered reasons",
        numbers::rejection_violations(&workspace_root()),
    );
}

#[test]
fn state_key_tags_are_unique_and_in_one_registry() {
    assert_none("state key tags", numbers::tag_violations(&workspace_root()));
}

#[test]
fn no_import_loops_between_files() {
    let root = workspace_root();
    let mut found = Vec::new();
    for (dir, _) in crates(&root) {
        for l in imports::loops(&imports::import_graph(&root.join("crates").join(&dir))) {
            found.push(format!("crates/{dir}: {}", l.join(" ↔ ")));
        }
    }
    assert_none("import loops", found);
}

/// A copy of the manifests and ARCHITECTURE.md, to plant violations in.
fn planted_tree() -> tempfile::TempDir {
    let root = workspace_root();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        root.join("ARCHITECTURE.md"),
        tmp.path().join("ARCHITECTURE.md"),
    )
    .unwrap();
    for (dir, _) in crates(&root) {
        let to = tmp.path().join("crates").join(&dir);
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(
            root.join("crates").join(&dir).join("Cargo.toml"),
            to.join("Cargo.toml"),
        )
        .unwrap();
    }
    tmp
}

#[test]
fn an_upward_dependency_is_caught() {
    let tmp = planted_tree();
    assert_none("the copy is clean", layers::layer_violations(tmp.path()));
    let manifest = tmp.path().join("crates/types/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let planted = text.replace(
        "[dependencies]\n",
        "[dependencies]\nyun-node.workspace = true\n",
    );
    assert_ne!(text, planted);
    std::fs::write(&manifest, planted).unwrap();
    let found = layers::layer_violations(tmp.path());
    assert!(
        found
            .iter()
            .any(|v| v.contains("yun-types") && v.contains("yun-node")),
        "{found:?}"
    );
}

#[test]
fn an_unnamed_crate_is_caught() {
    let tmp = planted_tree();
    let dir = tmp.path().join("crates/planted");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"yun-planted\"\n[dependencies]\n",
    )
    .unwrap();
    assert_eq!(crates_missing_from_code_map(tmp.path()), vec!["planted"]);
    let found = layers::layer_violations(tmp.path());
    assert!(
        found.iter().any(|v| v.contains("yun-planted has no row")),
        "{found:?}"
    );
}

#[test]
fn a_planted_import_loop_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("b")).unwrap();
    std::fs::write(src.join("lib.rs"), "//! root\nmod a;\nmod b;\n").unwrap();
    std::fs::write(src.join("a.rs"), "//! a\nuse crate::b::{c::C, D};\n").unwrap();
    std::fs::write(src.join("b/mod.rs"), "//! b\npub mod c;\npub struct D;\n").unwrap();
    std::fs::write(src.join("b/c.rs"), "//! c\nuse super::super::a::X;\n").unwrap();
    let graph = imports::import_graph(tmp.path());
    assert_eq!(
        imports::loops(&graph),
        vec![vec!["a".to_string(), "b::c".to_string()]],
        "{graph:?}"
    );
    // A test module's imports are not the file's.
    std::fs::write(
        src.join("b/c.rs"),
        "//! c\n#[cfg(test)]\nmod tests {\n    use crate::a::X;\n}\n",
    )
    .unwrap();
    assert!(imports::loops(&imports::import_graph(tmp.path())).is_empty());
}

#[test]
fn paths_expand_groups() {
    let p = imports::paths_in("use crate::{a::{B, c::D}, e};\nlet x = super::f::g();");
    let p: Vec<String> = p.iter().map(|s| s.join("::")).collect();
    assert_eq!(
        p,
        ["crate::a::B", "crate::a::c::D", "crate::e", "super::f::g"]
    );
    assert_eq!(imports::module_of(Path::new("a/mod.rs")), "a");
    assert_eq!(imports::module_of(Path::new("a/b.rs")), "a::b");
    assert_eq!(imports::module_of(Path::new("lib.rs")), "");
}

#[test]
fn rejection_ranges_must_match_the_docs() {
    let codes = vec![("A".to_string(), 1), ("B".to_string(), 2)];
    assert!(numbers::check_codes("X", &codes, &[], "`X` 1–2").is_empty());
    assert!(!numbers::check_codes("X", &codes, &[], "`X` 1–3").is_empty());
    let dup = vec![("A".to_string(), 1), ("B".to_string(), 1)];
    assert!(!numbers::check_codes("X", &dup, &[], "`X` 1–1").is_empty());
    // A retired code fills its gap, and may never be reused.
    let gap = vec![("A".to_string(), 1), ("C".to_string(), 3)];
    assert!(!numbers::check_codes("X", &gap, &[], "`X` 1–3").is_empty());
    assert!(numbers::check_codes("X", &gap, &[2], "`X` 1–3").is_empty());
    assert!(!numbers::check_codes("X", &codes, &[2], "`X` 1–2").is_empty());
    let source = "enum X {\n    A = 1,\n    // 2 was B, retired\n    C = 3,\n}";
    assert_eq!(numbers::retired_codes(source, "X"), vec![2]);
}
