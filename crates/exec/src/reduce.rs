//! The reduce step's `/in`: verified map output archives unpacked into one flat directory,
//! `NNNNN.stdout` and `NNNNN.NAME` (a file `out/a/b` of task 7 is `00007.a.b`), bounded by the
//! sandbox's input limits. The requester's local reduce and a provider's reduce task both
//! build it here, so both run the reduce over the same files.

use crate::limits::{IN_BYTES_MAX, IN_FILES_MAX, NAME_BYTES_MAX, PATH_BYTES_MAX};
use crate::world::InputFile;

/// Why a set of outputs cannot be a reduce's `/in` (the detail of a cannot-run verdict):
/// fixed by the archives, so every replica finds the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReduceInputUnfit {
    #[error("the outputs take more than the {IN_BYTES_MAX} bytes the sandbox takes under /in")]
    TooManyBytes = 1,
    #[error("the outputs hold more than the {IN_FILES_MAX} files the sandbox takes under /in")]
    TooManyFiles = 2,
    #[error("an output file's flattened name is longer than {NAME_BYTES_MAX} bytes")]
    NameTooLong = 3,
    #[error("an output archive does not unpack")]
    NotAnArchive = 4,
}

/// The `/in` name of an output archive entry of task `index`.
pub fn reduce_input_name(index: u32, entry: &str) -> String {
    let flat = entry
        .strip_prefix("out/")
        .unwrap_or(entry)
        .replace('/', ".");
    format!("{index:05}.{flat}")
}

/// Adds the files of task `index`'s output archive to `files`, refusing (with nothing
/// added) what would take `/in` past the sandbox's limits.
pub fn add_reduce_input(
    files: &mut Vec<InputFile>,
    index: u32,
    archive: &[u8],
) -> Result<(), ReduceInputUnfit> {
    let entries = crate::read_archive(archive).map_err(|_| ReduceInputUnfit::NotAnArchive)?;
    if files.len() + entries.len() > IN_FILES_MAX {
        return Err(ReduceInputUnfit::TooManyFiles);
    }
    let held: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
    let more: u64 = entries.iter().map(|(_, b)| b.len() as u64).sum();
    if held + more > IN_BYTES_MAX {
        return Err(ReduceInputUnfit::TooManyBytes);
    }
    let named: Vec<InputFile> = entries
        .into_iter()
        .map(|(name, bytes)| InputFile {
            path: reduce_input_name(index, &name),
            bytes,
        })
        .collect();
    if named
        .iter()
        .any(|f| f.path.len() > NAME_BYTES_MAX.min(PATH_BYTES_MAX))
    {
        return Err(ReduceInputUnfit::NameTooLong);
    }
    files.extend(named);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, bytes) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, &bytes[..]).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn outputs_are_flattened_by_task_index() {
        let mut files = Vec::new();
        let a = archive(&[("stdout", b"1\n".to_vec()), ("out/x/y", b"z".to_vec())]);
        add_reduce_input(&mut files, 7, &a).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, ["00007.stdout", "00007.x.y"]);
    }

    #[test]
    fn outputs_past_the_sandbox_input_limits_are_refused_whole() {
        let big = archive(&[("stdout", vec![0; 1 << 20])]);
        let mut files = Vec::new();
        let fits = (IN_BYTES_MAX >> 20) as u32;
        for i in 0..fits {
            add_reduce_input(&mut files, i, &big).unwrap();
        }
        assert_eq!(
            add_reduce_input(&mut files, fits, &big),
            Err(ReduceInputUnfit::TooManyBytes)
        );
        assert_eq!(
            files.len(),
            fits as usize,
            "nothing of the refused one added"
        );

        let one = archive(&[("stdout", Vec::new())]);
        let mut files = Vec::new();
        for i in 0..IN_FILES_MAX as u32 {
            add_reduce_input(&mut files, i, &one).unwrap();
        }
        assert_eq!(
            add_reduce_input(&mut files, 9_999, &one),
            Err(ReduceInputUnfit::TooManyFiles)
        );

        let long = archive(&[(&format!("out/{}", "n".repeat(250)), Vec::new())]);
        assert_eq!(
            add_reduce_input(&mut Vec::new(), 0, &long),
            Err(ReduceInputUnfit::NameTooLong)
        );
    }
}
