//! WASI errno numbers Yun's wrappers use, and the table of errnos that only the host's resources
//! or health can cause: those end a run as a host fault instead of reaching the guest.
//!
//! A guest-visible errno is part of a verdict, so it must be the same on every host. The errnos
//! below depend on the provider's disk, inode table, descriptor limit, memory or hardware, never
//! on the task alone. Where a task could provoke one of them deterministically, Yun's own named
//! limit answers first (with a status or a deterministic errno, see `host`), so that once a
//! WASI call has reached the host, one of these errnos can only be the host's fault.

pub(crate) const ERRNO_SUCCESS: i32 = 0;
pub(crate) const ERRNO_BADF: i32 = 8;
pub(crate) const ERRNO_FAULT: i32 = 21;
pub(crate) const ERRNO_MFILE: i32 = 33;
pub(crate) const ERRNO_NAMETOOLONG: i32 = 37;
pub(crate) const ERRNO_NOMEM: i32 = 48;
pub(crate) const ERRNO_NOTSUP: i32 = 58;

/// Errnos that mean "the host could not", with their POSIX names. `EINTR` is deliberately not
/// here: wasmtime-wasi itself answers a zero-length `fd_pread` with it, and file I/O on local
/// filesystems is not interruptible. `ENOMEM` and `ENAMETOOLONG` are here because Yun answers
/// their deterministic causes (a call copying more than `HOSTCALL_BYTES_MAX`, a path or name
/// over `PATH_BYTES_MAX`/`NAME_BYTES_MAX`) before the host is asked; `EMFILE` because
/// `OPEN_FILES_MAX` does; `EFBIG`, `ENOSPC`, `EDQUOT` and `EMLINK` because the `/out` budgets
/// (`OUT_BYTES_MAX`, `OUT_ENTRIES_MAX`) stop a task long before any filesystem's limits;
/// `EACCES` and `EROFS` because wasmtime-wasi refuses what a task may not do with `EPERM`,
/// so those two only come from the host's permissions (its umask, a security module, a
/// read-only mount). wasmtime-wasi reports host errors it has no WASI name for (`EMFILE`,
/// `ENFILE`, `EDQUOT`, `ESTALE`…) as `EIO`, which is here too.
pub(crate) const HOST_FAULT_ERRNOS: &[(i32, &str)] = &[
    (2, "EACCES"),
    (6, "EAGAIN"),
    (10, "EBUSY"),
    (19, "EDQUOT"),
    (22, "EFBIG"),
    (29, "EIO"),
    (ERRNO_MFILE, "EMFILE"),
    (34, "EMLINK"),
    (ERRNO_NAMETOOLONG, "ENAMETOOLONG"),
    (41, "ENFILE"),
    (42, "ENOBUFS"),
    (43, "ENODEV"),
    (46, "ENOLCK"),
    (ERRNO_NOMEM, "ENOMEM"),
    (51, "ENOSPC"),
    (60, "ENXIO"),
    (67, "EROFS"),
    (70, "ESTALE"),
    (71, "ETIMEDOUT"),
    (73, "EXDEV"),
];

/// The POSIX name of `errno` if it is a host-resource errno, which must never reach the guest.
pub(crate) fn host_fault_name(errno: i32) -> Option<&'static str> {
    HOST_FAULT_ERRNOS
        .iter()
        .find(|(e, _)| *e == errno)
        .map(|(_, name)| *name)
}

/// The host-fault name of an I/O error Yun's own wrappers met (for example while listing a
/// directory), or `None` for errors the task's own actions explain.
pub(crate) fn io_fault_name(error: &std::io::Error) -> Option<&'static str> {
    use std::io::ErrorKind as K;
    match error.kind() {
        K::NotFound | K::NotADirectory => None,
        K::StorageFull => Some("ENOSPC"),
        K::QuotaExceeded => Some("EDQUOT"),
        K::OutOfMemory => Some("ENOMEM"),
        _ => Some("EIO"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_resource_errnos_are_faults_and_task_errnos_are_not() {
        // WASI numbering: ENOSPC 51, EMFILE 33, ENFILE 41, EFBIG 22, EIO 29, ENOMEM 48, EDQUOT 19.
        for (errno, name) in [
            (51, "ENOSPC"),
            (33, "EMFILE"),
            (41, "ENFILE"),
            (22, "EFBIG"),
            (29, "EIO"),
            (48, "ENOMEM"),
            (19, "EDQUOT"),
        ] {
            assert_eq!(host_fault_name(errno), Some(name));
        }
        // ENOENT 44, EEXIST 20, EBADF 8, EINVAL 28, ENOTEMPTY 55, EPERM 63, EISDIR 31,
        // ENOTCAPABLE 76, EINTR 27: the task's own doing, identical everywhere.
        for errno in [0, 44, 20, 8, 28, 55, 63, 31, 76, 27] {
            assert_eq!(host_fault_name(errno), None, "errno {errno}");
        }
    }

    #[test]
    fn io_errors_of_the_task_are_not_faults() {
        let not_found = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(io_fault_name(&not_found), None);
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert_eq!(io_fault_name(&full), Some("ENOSPC"));
        assert_eq!(io_fault_name(&std::io::Error::other("x")), Some("EIO"));
    }
}
