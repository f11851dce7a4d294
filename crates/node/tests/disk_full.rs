//! A disk that fills up in the middle of an upload: the write fails with ENOSPC, which is an
//! error answered `DiskFull` (never a panic), and no partial file stays behind. The disk is a
//! 1 MiB tmpfs mounted in a private user and mount namespace (`unshare`), which this test
//! re-executes itself in.

mod common;

use bytes::Bytes;
use std::path::Path;
use yun_blobs::{BlobError, BlobLimits, BlobStore};
use yun_node::api_data::store_refusal_kind;
use yun_types::api::ApiErrorKind;

/// Set in the re-executed child, which runs inside the namespace.
const CHILD_ENV: &str = "YUN_DISK_FULL_CHILD";
const TEST_NAME: &str = "a_write_that_fills_the_disk_is_disk_full_and_leaves_no_partial_file";
/// Printed by the child once every check passed, so the parent knows it really ran.
const CHECKED: &str = "disk-full checks passed";
/// The tmpfs's size: far smaller than the upload.
const TMPFS_SIZE: &str = "1m";
const UPLOAD_BYTES: usize = 4 << 20;
const CHUNK_BYTES: usize = 64 << 10;

#[test]
fn a_write_that_fills_the_disk_is_disk_full_and_leaves_no_partial_file() {
    common::on_a_small_tmpfs(TEST_NAME, CHILD_ENV, CHECKED, TMPFS_SIZE, in_a_small_tmpfs);
}

fn in_a_small_tmpfs(dir: &Path) {
    let limits = BlobLimits {
        blob_bytes_max: 64 << 20,
        store_bytes_max: 1 << 30,
    };
    let store = BlobStore::open(&dir.join("blobs"), limits).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let chunks = (0..UPLOAD_BYTES / CHUNK_BYTES)
        .map(|i| Ok::<_, std::io::Error>(Bytes::from(vec![i as u8; CHUNK_BYTES])));
    let err = rt
        .block_on(store.put_stream(futures::stream::iter(chunks), None))
        .expect_err("4 MiB cannot fit a 1 MiB disk");
    assert!(
        matches!(&err, BlobError::Io(io) if io.kind() == std::io::ErrorKind::StorageFull),
        "{err:?}"
    );
    assert_eq!(store_refusal_kind(&err), ApiErrorKind::DiskFull);
    // Nothing left: no temp file, no blob, nothing counted.
    assert_eq!(files_under(&dir.join("blobs")), 0);
    assert_eq!(store.stats(), (0, 0));
    // The space came back: a small blob still fits.
    let small = vec![7u8; 1024];
    let chunk = std::iter::once(Ok::<_, std::io::Error>(Bytes::from(small.clone())));
    let stored = rt
        .block_on(store.put_stream(futures::stream::iter(chunk), None))
        .unwrap();
    assert_eq!(stored.bytes, 1024);
    assert_eq!(store.get(&stored.hash).unwrap(), Some(small));
    println!("{CHECKED}");
}

/// Regular files anywhere under `dir`.
fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                files_under(&e.path())
            } else {
                1
            }
        })
        .sum()
}
