//! Guest path rules that do not depend on the host: a bounded path length and name length, and
//! a lexical resolution below a directory descriptor, so that Yun answers an over-long path
//! (`ENAMETOOLONG`) before a filesystem with different limits, or a task directory at a
//! different depth on the host, could answer differently.

use crate::limits::{NAME_BYTES_MAX, PATH_BYTES_MAX};
use std::path::{Path, PathBuf};

/// How Yun judges a path a task passes to a WASI call.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GuestPath {
    /// The host path it names, below the descriptor's directory.
    Resolved(PathBuf),
    /// Over `PATH_BYTES_MAX` bytes, a name over `NAME_BYTES_MAX`, or a target more than
    /// `PATH_BYTES_MAX` bytes below its preopen: Yun answers `ENAMETOOLONG` itself.
    TooLong,
    /// Not UTF-8, absolute, or climbing above its directory: wasmtime-wasi refuses these with
    /// errnos that do not depend on the host, so the call goes ahead and it decides.
    Unjudged,
}

/// Judges `path`, relative to the directory `base` that lies below the preopen `root`.
pub(crate) fn judge(root: &Path, base: &Path, path: &[u8]) -> GuestPath {
    if path.len() > PATH_BYTES_MAX {
        return GuestPath::TooLong;
    }
    let Ok(text) = std::str::from_utf8(path) else {
        return GuestPath::Unjudged;
    };
    if text.split('/').any(|name| name.len() > NAME_BYTES_MAX) {
        return GuestPath::TooLong;
    }
    if text.starts_with('/') {
        return GuestPath::Unjudged;
    }
    let mut resolved = base.to_path_buf();
    let mut depth = 0usize;
    for name in text.split('/') {
        match name {
            "" | "." => {}
            ".." if depth == 0 => return GuestPath::Unjudged,
            ".." => {
                resolved.pop();
                depth -= 1;
            }
            name => {
                resolved.push(name);
                depth += 1;
            }
        }
    }
    match resolved.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().len() > PATH_BYTES_MAX => GuestPath::TooLong,
        Ok(_) => GuestPath::Resolved(resolved),
        Err(_) => GuestPath::Unjudged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge_str(base: &str, path: &str) -> GuestPath {
        judge(Path::new("/t/out"), Path::new(base), path.as_bytes())
    }

    #[test]
    fn paths_resolve_lexically_below_their_directory() {
        assert_eq!(
            judge_str("/t/out", "a/./b/../c"),
            GuestPath::Resolved("/t/out/a/c".into())
        );
        assert_eq!(
            judge_str("/t/out/a", "b"),
            GuestPath::Resolved("/t/out/a/b".into())
        );
        assert_eq!(judge_str("/t/out", "../in/x"), GuestPath::Unjudged);
        assert_eq!(judge_str("/t/out", "/etc"), GuestPath::Unjudged);
    }

    #[test]
    fn long_paths_names_and_depths_are_refused_by_yun() {
        let name = "n".repeat(NAME_BYTES_MAX);
        assert!(matches!(judge_str("/t/out", &name), GuestPath::Resolved(_)));
        assert_eq!(judge_str("/t/out", &format!("{name}x")), GuestPath::TooLong);
        let long = "a/".repeat(PATH_BYTES_MAX / 2 + 1);
        assert_eq!(judge_str("/t/out", &long), GuestPath::TooLong);
        // Each call's path is short, but the target lies too deep below the preopen.
        let deep = format!("/t/out/{}", "d/".repeat(PATH_BYTES_MAX / 2));
        assert_eq!(judge_str(&deep, "x"), GuestPath::TooLong);
    }
}
