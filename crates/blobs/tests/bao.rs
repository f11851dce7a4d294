//! Verified streaming: the bao route, the client's verified range and parallel downloads
//! (with holders that lie or vanish), outboards kept beside blobs, and storage proofs.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use yun_blobs::tree::blob_tree;
use yun_blobs::{BlobError, BlobLimits, BlobStore, routes};
use yun_client::{ClientError, DOWNLOAD_RANGE_BYTES, download_verified, fetch_range_verified};
use yun_types::Hash32;
use yun_types::storage::{encode_chunk_proof, verify_chunk_proof};

/// A blob store served on 127.0.0.1.
struct Holder {
    _dir: TempDir,
    store: Arc<BlobStore>,
    base: String,
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, app).into_future());
    base
}

impl Holder {
    async fn start() -> Holder {
        let dir = tempfile::tempdir().unwrap();
        let limits = BlobLimits {
            blob_bytes_max: 64 << 20,
            store_bytes_max: 1 << 30,
        };
        let store = Arc::new(BlobStore::open(dir.path(), limits).unwrap());
        let base = serve(routes(store.clone())).await;
        Holder {
            _dir: dir,
            store,
            base,
        }
    }
}

/// How a lying holder spoils the true encoding it got from an honest store.
#[derive(Clone, Copy, Debug)]
enum Lie {
    /// One byte flipped past the first 16 KiB group.
    FlipByte,
    /// Half the answer, then the connection ends.
    Truncate,
}

/// A holder that answers the bao route with a spoiled copy of an honest store's answer.
async fn liar(honest: &Holder, lie: Lie) -> String {
    async fn answer(
        State((honest, lie)): State<(String, Lie)>,
        UrlPath(hash): UrlPath<String>,
        RawQuery(query): RawQuery,
    ) -> Response {
        let url = format!("{honest}/v1/blobs/{hash}/bao?{}", query.unwrap_or_default());
        let mut bytes = reqwest::get(url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec();
        match lie {
            Lie::FlipByte => {
                let at = (bytes.len() / 2).max(20_000).min(bytes.len() - 1);
                bytes[at] ^= 0x01;
            }
            Lie::Truncate => bytes.truncate(bytes.len() / 2),
        }
        Response::new(Body::from(bytes))
    }
    let app = Router::new()
        .route("/v1/blobs/{hash}/bao", get(answer))
        .with_state((honest.base.clone(), lie));
    serve(app).await
}

/// Bytes that differ at every offset, so a wrong slice cannot go unnoticed.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 977) as u8).collect()
}

#[tokio::test]
async fn any_byte_range_downloads_verified_and_equals_the_slice() {
    let h = Holder::start().await;
    let blob = pattern(3 * (1 << 20) + 333);
    let root = h.store.put_bytes(&blob).unwrap();
    let size = blob.len() as u64;
    for (offset, len) in [
        (0, size),
        (0, 1),
        (1000, 50),
        (16_384 * 5 + 7, 40_000),
        (size - 1, 1),
        (size - 333, 333),
    ] {
        let got = fetch_range_verified(&h.base, &root, size, offset, len)
            .await
            .unwrap();
        let want = &blob[offset as usize..(offset + len) as usize];
        assert!(got == want, "range {offset}+{len}");
    }
}

#[tokio::test]
async fn a_range_outside_the_blob_is_refused_with_416() {
    let h = Holder::start().await;
    let root = h.store.put_bytes(&pattern(5000)).unwrap();
    let url = format!("{}/v1/blobs/{root}/bao?offset=4000&len=1001", h.base);
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 416);
    let missing = Hash32::digest(b"not stored");
    let err = fetch_range_verified(&h.base, &missing, 10, 0, 10)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(106), "{err}");
}

/// The size shapes the tree, and the last chunk proves it: a whole-blob fetch with a wrong
/// size never succeeds.
#[tokio::test]
async fn a_whole_blob_fetch_with_the_wrong_size_fails() {
    let h = Holder::start().await;
    let blob = pattern(100_000);
    let root = h.store.put_bytes(&blob).unwrap();
    let short = fetch_range_verified(&h.base, &root, 99_999, 0, 99_999)
        .await
        .unwrap_err();
    assert!(matches!(short, ClientError::Unverified { .. }), "{short}");
    let long = fetch_range_verified(&h.base, &root, 100_001, 0, 100_001)
        .await
        .unwrap_err();
    assert_eq!(long.code(), Some(108), "{long}");
    let out = tempfile::tempdir().unwrap();
    let err = download_verified(
        std::slice::from_ref(&h.base),
        &root,
        99_000,
        &out.path().join("b"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ClientError::NoSourceLeft { .. }), "{err}");
}

#[tokio::test]
async fn the_outboard_is_written_with_the_blob_and_rebuilt_when_missing() {
    let h = Holder::start().await;
    let blob = pattern(200_000);
    let root = h.store.put_bytes(&blob).unwrap();
    let outboard = h.store.outboard_path(&root);
    let expected_bytes = blob_tree(blob.len() as u64).outboard_size();
    assert_eq!(fs::metadata(&outboard).unwrap().len(), expected_bytes);

    // A store from before outboards existed: the first read builds it.
    fs::remove_file(&outboard).unwrap();
    let got = fetch_range_verified(&h.base, &root, 200_000, 0, 200_000)
        .await
        .unwrap();
    assert!(got == blob);
    assert_eq!(fs::metadata(&outboard).unwrap().len(), expected_bytes);
}

#[tokio::test]
async fn a_corrupt_blob_breaks_off_the_stream_and_is_deleted() {
    let h = Holder::start().await;
    let blob = pattern(1 << 20);
    let root = h.store.put_bytes(&blob).unwrap();
    flip_byte(&h.store.path(&root), 700_000);
    let err = fetch_range_verified(&h.base, &root, 1 << 20, 0, 1 << 20)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Interrupted { .. } | ClientError::Unverified { .. }
        ),
        "{err}"
    );
    assert!(!h.store.contains(&root), "the corrupt copy is deleted");
    assert!(!h.store.outboard_path(&root).exists(), "and its outboard");
}

#[tokio::test]
async fn collect_deletes_outboards_with_their_blobs_and_orphans() {
    let h = Holder::start().await;
    let kept = h.store.put_bytes(&pattern(40_000)).unwrap();
    let dropped = h.store.put_bytes(&pattern(50_000)).unwrap();
    let orphan = Hash32::digest(b"blob gone, outboard left");
    fs::write(h.store.outboard_path(&orphan), [0u8; 64]).unwrap();
    let report = h.store.collect(|x| *x == kept, Duration::ZERO).unwrap();
    assert_eq!(report.removed_blobs, 1);
    assert!(h.store.outboard_path(&kept).exists());
    assert!(!h.store.outboard_path(&dropped).exists());
    assert!(!h.store.outboard_path(&orphan).exists());
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at] ^= 0xff;
    fs::write(path, bytes).unwrap();
}

/// Sources `a` and `b` hold the blob; the file written from them must equal it.
async fn download_and_compare(
    sources: &[String],
    blob: &[u8],
    root: &Hash32,
) -> Result<yun_client::DownloadReport, ClientError> {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("blob");
    let report = download_verified(sources, root, blob.len() as u64, &out).await;
    match &report {
        Ok(_) => assert!(fs::read(&out).unwrap() == blob, "byte-identical"),
        Err(_) => {
            assert!(!out.exists(), "no file after a failed download");
            assert_eq!(fs::read_dir(out_dir.path()).unwrap().count(), 0);
        }
    }
    report
}

/// A blob of several download ranges, its size not a multiple of a range.
fn multi_range_blob() -> Vec<u8> {
    pattern(3 * DOWNLOAD_RANGE_BYTES as usize + 12_345)
}

#[tokio::test]
async fn a_parallel_download_uses_every_holder() {
    let (a, b) = (Holder::start().await, Holder::start().await);
    let blob = multi_range_blob();
    let root = a.store.put_bytes(&blob).unwrap();
    b.store.put_bytes(&blob).unwrap();
    let report = download_and_compare(&[a.base.clone(), b.base.clone()], &blob, &root)
        .await
        .unwrap();
    assert_eq!(report.ranges_per_source, vec![2, 2]);
    assert!(report.dropped_sources.is_empty());
}

#[tokio::test]
async fn a_holder_sending_bad_bytes_is_dropped_and_its_ranges_refetched() {
    let honest = Holder::start().await;
    let blob = multi_range_blob();
    let root = honest.store.put_bytes(&blob).unwrap();
    let lying = liar(&honest, Lie::FlipByte).await;
    let report = download_and_compare(&[lying.clone(), honest.base.clone()], &blob, &root)
        .await
        .unwrap();
    assert_eq!(report.dropped_sources, vec![lying]);
    assert_eq!(report.ranges_per_source, vec![0, 4]);
}

#[tokio::test]
async fn a_holder_that_goes_away_mid_range_is_dropped() {
    let honest = Holder::start().await;
    let blob = multi_range_blob();
    let root = honest.store.put_bytes(&blob).unwrap();
    let cut = liar(&honest, Lie::Truncate).await;
    let gone = "http://127.0.0.1:9".to_string(); // discard port: nothing listens
    let sources = [cut.clone(), gone.clone(), honest.base.clone()];
    let report = download_and_compare(&sources, &blob, &root).await.unwrap();
    assert_eq!(report.dropped_sources, vec![cut, gone]);
    assert_eq!(report.ranges_per_source, vec![0, 0, 4]);
}

#[tokio::test]
async fn when_every_holder_is_bad_the_download_fails_with_each_reason() {
    let honest = Holder::start().await;
    let blob = multi_range_blob();
    let root = honest.store.put_bytes(&blob).unwrap();
    let lying = liar(&honest, Lie::FlipByte).await;
    let cut = liar(&honest, Lie::Truncate).await;
    let empty = Holder::start().await; // does not hold the blob: 404
    let sources = [lying.clone(), cut.clone(), empty.base.clone()];
    let err = download_and_compare(&sources, &blob, &root)
        .await
        .unwrap_err();
    let ClientError::NoSourceLeft { root: r, failures } = &err else {
        panic!("{err}");
    };
    assert_eq!(*r, root);
    let urls: Vec<&str> = failures.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(urls, [lying.as_str(), cut.as_str(), empty.base.as_str()]);
    assert!(err.to_string().contains("BlobNotFound"), "{err}");
    let none = download_and_compare(&[], &blob, &root).await.unwrap_err();
    assert!(matches!(none, ClientError::NoSourceLeft { .. }), "{none}");
}

/// What the chain checks a storage proof with.
fn proof_verifies(root: &Hash32, size: u64, chunk_index: u64, proof: &[u8]) -> bool {
    verify_chunk_proof(root, size, chunk_index, proof).is_ok()
}

#[tokio::test]
async fn a_chunk_proof_verifies_only_for_its_chunk_root_and_bytes() {
    let h = Holder::start().await;
    let blob = pattern(5 * 16_384 + 100);
    let size = blob.len() as u64;
    let root = h.store.put_bytes(&blob).unwrap();
    let last = size.div_ceil(1024) - 1;
    for i in [0, 1, 16, 17, last] {
        let proof = h.store.prove_chunk(&root, i).unwrap();
        assert!(proof_verifies(&root, size, i, &proof), "chunk {i}");
        assert_eq!(
            proof,
            encode_chunk_proof(&blob, i),
            "the chain's own encoding"
        );
        assert!(!proof_verifies(&root, size, (i + 1) % (last + 1), &proof));
        let wrong_root = Hash32::digest(b"another blob");
        assert!(!proof_verifies(&wrong_root, size, i, &proof));
        let mut tampered = proof.clone();
        let at = tampered.len() - 7; // inside the chunk's bytes
        tampered[at] ^= 1;
        assert!(!proof_verifies(&root, size, i, &tampered), "chunk {i}");
    }
    let err = h.store.prove_chunk(&root, last + 1).unwrap_err();
    assert!(matches!(err, BlobError::ChunkOutOfRange { .. }), "{err}");
    assert_eq!(err.code(), 108);
}

#[tokio::test]
async fn a_damaged_outboard_is_rebuilt_and_the_proof_still_given() {
    let h = Holder::start().await;
    let blob = pattern(300_000);
    let root = h.store.put_bytes(&blob).unwrap();
    // The root's hash pair (last in post order) is on every proof's path.
    let outboard = h.store.outboard_path(&root);
    flip_byte(
        &outboard,
        fs::metadata(&outboard).unwrap().len() as usize - 10,
    );
    let proof = h.store.prove_chunk(&root, 200).unwrap();
    assert!(proof_verifies(&root, blob.len() as u64, 200, &proof));
    assert!(
        h.store.contains(&root),
        "the blob itself was fine and stays"
    );

    flip_byte(&h.store.path(&root), 200 * 1024 + 5);
    let err = h.store.prove_chunk(&root, 200).unwrap_err();
    assert!(matches!(err, BlobError::Corrupt { .. }), "{err}");
    assert!(!h.store.contains(&root));
}
