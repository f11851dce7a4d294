//! The canonical output archive: a tar with fixed metadata holding `stdout` and then every
//! entry of `/out` in byte order of its path, so equal outputs give equal bytes and digests.

use crate::limits::{OUT_BYTES_MAX, OUT_ENTRIES_MAX, PATH_BYTES_MAX};
use crate::outcome::{HostFault, Outcome};
use std::path::Path;
use tar::{Builder, EntryType, Header};

/// Why collection stopped short: the outputs exceed a named limit (a deterministic verdict).
#[derive(Debug)]
pub(crate) struct OverLimit;

/// Builds the archive, or reports that `/out` holds more than the limits allow (a file may have
/// been extended with seeks or truncation past the bytes counted while writing).
pub(crate) fn collect(
    out_root: &Path,
    stdout: &[u8],
) -> Result<Result<Vec<u8>, OverLimit>, HostFault> {
    let mut files = Vec::new();
    let mut budget = Budget {
        bytes: 0,
        entries: 0,
    };
    if walk(out_root, "", &mut files, &mut budget)?.is_err() {
        return Ok(Err(OverLimit));
    }
    let mut builder = Builder::new(Vec::new());
    append(&mut builder, "stdout", EntryType::Regular, stdout)?;
    for (rel, is_dir) in files {
        if is_dir {
            append(
                &mut builder,
                &format!("out/{rel}/"),
                EntryType::Directory,
                &[],
            )?;
        } else {
            let bytes = std::fs::read(out_root.join(&rel))?;
            append(
                &mut builder,
                &format!("out/{rel}"),
                EntryType::Regular,
                &bytes,
            )?;
        }
    }
    Ok(Ok(builder.into_inner()?))
}

struct Budget {
    bytes: u64,
    entries: u32,
}

/// Lists `dir` depth-first in byte order of names, counting entries and file sizes as it goes.
fn walk(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(String, bool)>,
    budget: &mut Budget,
) -> Result<Result<(), OverLimit>, HostFault> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry
            .file_name()
            .into_string()
            .map_err(|n| HostFault::Internal(format!("non-UTF-8 output name {n:?}")))?;
        entries.push((name, entry.file_type()?, entry.metadata()?.len()));
    }
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (name, kind, len) in entries {
        budget.entries += 1;
        if budget.entries > OUT_ENTRIES_MAX {
            return Ok(Err(OverLimit));
        }
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        // Renaming a deep tree into another can nest entries past what any call could name;
        // such an output is over the limit before its host path could grow past the host's.
        if rel.len() > PATH_BYTES_MAX {
            return Ok(Err(OverLimit));
        }
        if kind.is_dir() {
            out.push((rel.clone(), true));
            if walk(&dir.join(&name), &rel, out, budget)?.is_err() {
                return Ok(Err(OverLimit));
            }
        } else if kind.is_file() {
            budget.bytes = budget.bytes.saturating_add(len);
            if budget.bytes > OUT_BYTES_MAX {
                return Ok(Err(OverLimit));
            }
            out.push((rel, false));
        }
        // Symlinks and special files cannot be created: the imports that make them are refused
        // at admission.
    }
    Ok(Ok(()))
}

fn append(
    builder: &mut Builder<Vec<u8>>,
    path: &str,
    kind: EntryType,
    data: &[u8],
) -> Result<(), HostFault> {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(if kind == EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    builder.append_data(&mut header, path, data)?;
    Ok(())
}

/// Reads an archive back into (path, bytes) pairs in archive order; directories have no bytes.
pub fn read_archive(archive: &[u8]) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    use std::io::Read;
    let mut out = Vec::new();
    for entry in tar::Archive::new(archive).entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        out.push((path, bytes));
    }
    Ok(out)
}

/// Reading an outcome's archive lives with the archive format (the outcome is plain data).
impl Outcome {
    /// The archive's entries: `stdout` first, then `out/…` in sorted order.
    pub fn entries(&self) -> Vec<(String, Vec<u8>)> {
        read_archive(&self.archive).expect("archives are built by this crate")
    }

    /// The captured stdout (the `stdout` entry of the archive).
    pub fn stdout(&self) -> Vec<u8> {
        self.entries()
            .into_iter()
            .next()
            .map(|(_, b)| b)
            .unwrap_or_default()
    }
}
