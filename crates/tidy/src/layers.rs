//! The layer rule: ARCHITECTURE.md's "Layers" table gives every crate a layer, and a crate may
//! depend (normally or for tests) only on workspace crates of a lower layer.

use std::collections::BTreeMap;
use std::path::Path;

/// Crate package name → layer, from the rows `| N | \`yun-a\`, \`yun-b\` | … |` of the table
/// under the `## Layers` heading.
pub fn layer_table(architecture: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    let Some(section) = architecture.split("\n## Layers").nth(1) else {
        return out;
    };
    let section = section.split("\n## ").next().unwrap_or_default();
    let name = regex::Regex::new(r"`(yun-[a-z0-9-]+)`").expect("a valid pattern");
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 {
            continue;
        }
        let Ok(layer) = cells[1].parse::<u32>() else {
            continue;
        };
        for c in name.captures_iter(cells[2]) {
            out.insert(c[1].to_string(), layer);
        }
    }
    out
}

/// The workspace crates a manifest depends on, from `[dependencies]`, `[build-dependencies]`
/// and `[dev-dependencies]` (itself excluded: a crate may enable its own test features).
pub fn workspace_deps(manifest: &str, own: &str) -> Vec<String> {
    let Ok(doc) = manifest.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for table in ["dependencies", "build-dependencies", "dev-dependencies"] {
        if let Some(deps) = doc.get(table).and_then(|d| d.as_table()) {
            for (name, spec) in deps {
                let in_workspace = spec.get("workspace").is_some()
                    || spec
                        .get("path")
                        .and_then(|p| p.as_str())
                        .is_some_and(|p| !p.contains("guest"));
                if name.starts_with("yun-") && name != own && in_workspace {
                    out.push(name.clone());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every rule the layer table breaks: crates with no layer, and dependencies on a crate of
/// the same or a higher layer.
pub fn layer_violations(root: &Path) -> Vec<String> {
    let arch = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    let layers = layer_table(&arch);
    let mut out = Vec::new();
    for (dir, name) in crate::crates(root) {
        let Some(&mine) = layers.get(&name) else {
            out.push(format!(
                "{name} has no row in ARCHITECTURE.md's Layers table"
            ));
            continue;
        };
        let manifest = std::fs::read_to_string(root.join("crates").join(&dir).join("Cargo.toml"))
            .unwrap_or_default();
        for dep in workspace_deps(&manifest, &name) {
            match layers.get(&dep) {
                Some(&theirs) if theirs < mine => {}
                Some(&theirs) => out.push(format!(
                    "{name} (layer {mine}) depends on {dep} (layer {theirs}): only lower layers"
                )),
                None => out.push(format!("{name} depends on {dep}, which has no layer")),
            }
        }
    }
    out
}
