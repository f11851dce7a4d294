//! Numbers that are protocol: rejection codes (unique, and the range ARCHITECTURE.md states is
//! the enum's) and the one-byte state key tags (unique, all in `state`'s one registry).

use std::collections::BTreeMap;
use std::path::Path;

/// `Name = N` discriminants of `enum NAME` in `source`, in order.
pub fn enum_codes(source: &str, name: &str) -> Vec<(String, u32)> {
    let Some(body) = source.split(&format!("enum {name} {{")).nth(1) else {
        return Vec::new();
    };
    let body = body.split("\n}").next().unwrap_or_default();
    let variant = regex::Regex::new(r"(?m)^\s*([A-Z][A-Za-z0-9]*)\s*=\s*(\d+)\s*,").expect("ok");
    variant
        .captures_iter(body)
        .map(|c| (c[1].to_string(), c[2].parse().expect("digits")))
        .collect()
}

/// `Enum::Variant { .. } => N` arms (codes given by a match, as the sandbox's `Refusal`).
pub fn match_codes(source: &str, name: &str) -> Vec<(String, u32)> {
    let arm =
        regex::Regex::new(&format!(r"{name}::([A-Za-z0-9]+)[^=\n]*=>\s*(\d+)\s*,")).expect("ok");
    arm.captures_iter(source)
        .map(|c| (c[1].to_string(), c[2].parse().expect("digits")))
        .collect()
}

/// Codes a comment in `enum NAME`'s body retires (`// N was Name, …`): never reused, and not
/// a gap.
pub fn retired_codes(source: &str, name: &str) -> Vec<u32> {
    let Some(body) = source.split(&format!("enum {name} {{")).nth(1) else {
        return Vec::new();
    };
    let body = body.split("\n}").next().unwrap_or_default();
    let retired = regex::Regex::new(r"(?m)^\s*// (\d+) was ").expect("ok");
    retired
        .captures_iter(body)
        .map(|c| c[1].parse().expect("digits"))
        .collect()
}

/// What is wrong with one numbered enum against the range documented as "`NAME` LO–HI":
/// duplicate codes (a retired code reused counts), a gap, or a documented range that is not
/// the enum's.
pub fn check_codes(
    name: &str,
    codes: &[(String, u32)],
    retired: &[u32],
    architecture: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    if codes.is_empty() {
        return vec![format!("{name}: no numbered variants found")];
    }
    let mut seen: BTreeMap<u32, &str> = retired.iter().map(|c| (*c, "a retired code")).collect();
    for (v, c) in codes {
        if let Some(other) = seen.insert(*c, v) {
            out.push(format!("{name}: {other} and {v} both have code {c}"));
        }
    }
    let (lo, hi) = (
        *seen.keys().next().expect("non-empty"),
        *seen.keys().last().expect("non-empty"),
    );
    if (hi - lo + 1) as usize != seen.len() {
        out.push(format!("{name}: codes {lo}–{hi} have gaps"));
    }
    let doc = regex::Regex::new(&format!(r"`{name}` (\d+)[–-](\d+)")).expect("ok");
    match doc.captures(architecture) {
        Some(c) if (c[1].parse::<u32>(), c[2].parse::<u32>()) == (Ok(lo), Ok(hi)) => {}
        Some(c) => out.push(format!(
            "{name}: ARCHITECTURE.md says {}–{}, the enum has {lo}–{hi}",
            &c[1], &c[2]
        )),
        None => out.push(format!(
            "{name}: ARCHITECTURE.md states no `{name}` LO–HI range"
        )),
    }
    out
}

/// Every numbered-reason rule broken in the tree at `root`.
pub fn rejection_violations(root: &Path) -> Vec<String> {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_default();
    let arch = read("ARCHITECTURE.md");
    let rejections = read("crates/types/src/rejection.rs");
    let mut out = check_codes(
        "TxRejection",
        &enum_codes(&rejections, "TxRejection"),
        &retired_codes(&rejections, "TxRejection"),
        &arch,
    );
    let api = read("crates/types/src/api.rs");
    out.extend(check_codes(
        "ApiErrorKind",
        &enum_codes(&api, "ApiErrorKind"),
        &retired_codes(&api, "ApiErrorKind"),
        &arch,
    ));
    out.extend(check_codes(
        "Refusal",
        &match_codes(&read("crates/exec/src/admission.rs"), "Refusal"),
        &[],
        &arch,
    ));
    out
}

/// Every state key tag constant (`const TAG_…: u8 = b'x';`) under `crates/state/src`:
/// (file, name, tag byte).
pub fn state_tags(root: &Path) -> Vec<(String, String, u8)> {
    let tag = regex::Regex::new(r"const (TAG_[A-Z0-9_]+): u8 = b'(.)';").expect("ok");
    let mut out = Vec::new();
    let src = root.join("crates/state/src");
    for f in crate::rust_files(&src) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let rel = f.strip_prefix(&src).unwrap_or(&f).display().to_string();
        for c in tag.captures_iter(&text) {
            out.push((rel.clone(), c[1].to_string(), c[2].as_bytes()[0]));
        }
    }
    out
}

/// Tags defined outside `keys.rs` (the one registry) and tag bytes used twice.
pub fn tag_violations(root: &Path) -> Vec<String> {
    let tags = state_tags(root);
    let mut out = Vec::new();
    if tags.is_empty() {
        out.push("no state key tags found in crates/state/src".to_string());
    }
    let mut seen: BTreeMap<u8, &str> = BTreeMap::new();
    for (file, name, byte) in &tags {
        if file != "keys.rs" {
            out.push(format!(
                "{name} is defined in {file}: state key tags live in keys.rs"
            ));
        }
        if let Some(other) = seen.insert(*byte, name) {
            out.push(format!(
                "{other} and {name} share the tag b'{}'",
                *byte as char
            ));
        }
    }
    out
}
