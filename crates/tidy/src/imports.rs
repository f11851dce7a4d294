//! Import loops between the files of one crate: every `crate::…` and `super::…` path a file
//! names is an edge to the module it reaches, and the modules must form a DAG. Edges between a
//! module and its own ancestors (a facade re-exporting its parts, a part using its facade) are
//! not loops the reader has to untangle, so they are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path inside a crate, `""` for the root.
pub type Module = String;

/// The module a file under `src` defines.
pub fn module_of(rel: &Path) -> Module {
    let parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let parts: Vec<&str> = match parts.last().map(String::as_str) {
        Some("lib" | "main") if parts.len() == 1 => Vec::new(),
        Some("mod") => parts[..parts.len() - 1]
            .iter()
            .map(String::as_str)
            .collect(),
        _ => parts.iter().map(String::as_str).collect(),
    };
    parts.join("::")
}

/// The source without line comments and without a trailing `#[cfg(test)] mod tests`.
fn code_only(source: &str) -> String {
    let mut out = String::new();
    let lines: Vec<&str> = source.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]")
            && lines
                .get(i + 1)
                .is_some_and(|n| n.trim_start().starts_with("mod tests"))
        {
            break;
        }
        if !t.starts_with("//") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Every path (as segments) following `crate::` or `super::` in `code`, with `{…}` groups
/// expanded; a `super` path starts with as many `"super"` segments as it names.
pub fn paths_in(code: &str) -> Vec<Vec<String>> {
    let bytes: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let ident_before = i > 0 && (bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        if !ident_before && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let (j, paths) = parse_tree(&bytes, i, Vec::new());
            out.extend(paths);
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Parses `seg(::seg)*` or `…::{tree, tree}` from `i`; returns the end and the leaf paths.
fn parse_tree(b: &[char], mut i: usize, mut prefix: Vec<String>) -> (usize, Vec<Vec<String>>) {
    loop {
        while i < b.len() && b[i].is_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == '{' {
            let mut out = Vec::new();
            i += 1;
            loop {
                let (j, paths) = parse_tree(b, i, prefix.clone());
                out.extend(paths);
                i = j;
                while i < b.len() && (b[i].is_whitespace() || b[i] == ',') {
                    i += 1;
                }
                if i >= b.len() || b[i] == '}' {
                    return (i + 1, out);
                }
                if j == i && !(b[i].is_alphanumeric() || b[i] == '_' || b[i] == '{') {
                    i += 1;
                }
            }
        }
        let start = i;
        while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
            i += 1;
        }
        if i == start {
            return (i, vec![prefix]);
        }
        prefix.push(b[start..i].iter().collect());
        if i + 1 < b.len() && b[i] == ':' && b[i + 1] == ':' {
            i += 2;
        } else {
            return (i, vec![prefix]);
        }
    }
}

fn is_ancestor(a: &str, b: &str) -> bool {
    a.is_empty() || b.starts_with(&format!("{a}::"))
}

/// The module `path` reaches from `from`: the longest prefix that names a known module.
fn resolve(from: &str, path: &[String], modules: &BTreeSet<Module>) -> Module {
    let mut base: Vec<String> = if path.first().is_some_and(|s| s == "crate") {
        Vec::new()
    } else {
        from.split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    let mut segs = path;
    if segs.first().is_some_and(|s| s == "crate") {
        segs = &segs[1..];
    }
    while segs.first().is_some_and(|s| s == "super") {
        base.pop();
        segs = &segs[1..];
    }
    let mut best = base.join("::");
    for s in segs {
        base.push(s.clone());
        let candidate = base.join("::");
        if modules.contains(&candidate) {
            best = candidate;
        } else {
            break;
        }
    }
    best
}

/// Module → the modules it imports from (ancestor edges left out), for the crate at `crate_dir`.
pub fn import_graph(crate_dir: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let src = crate_dir.join("src");
    let files = crate::rust_files(&src);
    let modules: BTreeSet<Module> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(&src).unwrap_or(f)))
        .collect();
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for f in &files {
        let from = module_of(f.strip_prefix(&src).unwrap_or(f));
        let code = code_only(&std::fs::read_to_string(f).unwrap_or_default());
        let edges = graph.entry(from.clone()).or_default();
        for p in paths_in(&code) {
            let to = resolve(&from, &p, &modules);
            if to != from && !is_ancestor(&to, &from) && !is_ancestor(&from, &to) {
                edges.insert(to);
            }
        }
    }
    graph
}

/// The import loops of a graph: each strongly connected set of two or more modules, sorted.
pub fn loops(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    // Kosaraju: finish order on the graph, then components on the reversed graph.
    let nodes: Vec<&Module> = graph.keys().collect();
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for n in &nodes {
        visit(n, graph, &mut seen, &mut order);
    }
    let mut reverse: BTreeMap<&Module, Vec<&Module>> = BTreeMap::new();
    for (from, tos) in graph {
        for to in tos {
            reverse.entry(to).or_default().push(from);
        }
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for n in order.into_iter().rev() {
        if assigned.contains(n) {
            continue;
        }
        let mut component = Vec::new();
        let mut stack = vec![n];
        assigned.insert(n);
        while let Some(m) = stack.pop() {
            component.push(m.clone());
            for &p in reverse.get(m).map(Vec::as_slice).unwrap_or_default() {
                if assigned.insert(p) {
                    stack.push(p);
                }
            }
        }
        if component.len() > 1 {
            component.sort();
            out.push(component);
        }
    }
    out.sort();
    out
}

fn visit<'a>(
    n: &'a Module,
    graph: &'a BTreeMap<Module, BTreeSet<Module>>,
    seen: &mut BTreeSet<&'a Module>,
    order: &mut Vec<&'a Module>,
) {
    // Iterative DFS: (node, next child index).
    if !seen.insert(n) {
        return;
    }
    let mut stack: Vec<(&Module, Vec<&Module>)> = vec![(
        n,
        graph.get(n).map(|s| s.iter().collect()).unwrap_or_default(),
    )];
    while let Some((node, children)) = stack.last_mut() {
        if let Some(c) = children.pop() {
            if graph.contains_key(c) && seen.insert(c) {
                let next = graph.get(c).map(|s| s.iter().collect()).unwrap_or_default();
                stack.push((c, next));
            }
        } else {
            order.push(node);
            stack.pop();
        }
    }
}
