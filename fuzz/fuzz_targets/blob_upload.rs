//! Fuzzes the blob upload path end to end: `POST /v1/blobs` on the real router over a fresh
//! store, the body arriving in fuzzer-chosen chunks, with or without a (right, wrong or
//! malformed) `expected` hash and a size limit. A stored blob must be exactly the bytes sent,
//! under their BLAKE3 hash, with the outboard bao_tree itself builds, and must prove any chunk;
//! a refused upload must leave nothing behind. The streaming tree hasher must give the same
//! root and outboard whatever the chunking.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt as _;
use yun_blobs::tree::{TreeHasher, blob_tree};
use yun_blobs::{BlobLimits, BlobStore};
use yun_types::Hash32;
use yun_types::api::PutBlobResponse;

/// Largest blob the fuzzer builds: a few 16 KiB groups, so trees have inner nodes.
const BLOB_BYTES_FUZZ_MAX: usize = 100_000;

#[derive(Debug, Arbitrary)]
enum Expected {
    None,
    Right,
    Wrong([u8; 32]),
    Malformed(String),
}

#[derive(Debug)]
struct Upload {
    blob: Vec<u8>,
    chunk_bytes: Vec<u16>,
    expected: Expected,
    blob_bytes_max: u64,
    declare_length: bool,
}

impl<'a> Arbitrary<'a> for Upload {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.int_in_range(0..=BLOB_BYTES_FUZZ_MAX as u32)? as usize;
        let chunk_bytes: Vec<u16> = u.arbitrary()?;
        let expected = u.arbitrary()?;
        let blob_bytes_max = u.int_in_range(0..=BLOB_BYTES_FUZZ_MAX as u64 + 1)?;
        let declare_length = u.arbitrary()?;
        // The rest of the input, repeated to the chosen length.
        let pattern = u.bytes(u.len())?;
        let blob = if pattern.is_empty() {
            vec![0; len]
        } else {
            pattern.iter().copied().cycle().take(len).collect()
        };
        Ok(Upload {
            blob,
            chunk_bytes,
            expected,
            blob_bytes_max,
            declare_length,
        })
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// `blob` cut at the fuzzer's chunk sizes (zero-sized chunks included: a client may send them).
fn chunks(blob: &[u8], sizes: &[u16]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = blob;
    for &n in sizes {
        let n = (n as usize).min(rest.len());
        out.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    out.push(rest.to_vec());
    out
}

fn check_tree_hasher(blob: &[u8], parts: &[Vec<u8>]) -> (Hash32, Vec<u8>) {
    let mut expected = Vec::new();
    let root =
        bao_tree::io::sync::outboard_post_order(blob, blob_tree(blob.len() as u64), &mut expected)
            .expect("in-memory outboard");
    let mut hasher = TreeHasher::new();
    for part in parts {
        hasher.update(part);
    }
    assert_eq!(hasher.bytes(), blob.len() as u64);
    let (hash, bytes, outboard) = hasher.finish();
    assert_eq!(hash, Hash32(*blake3::hash(blob).as_bytes()));
    assert_eq!(
        hash.0,
        *root.as_bytes(),
        "the bao root is the plain BLAKE3 hash"
    );
    assert_eq!(bytes, blob.len() as u64);
    assert_eq!(outboard, expected, "same outboard whatever the chunking");
    (hash, outboard)
}

fn upload(
    dir: &Path,
    up: &Upload,
    parts: Vec<Vec<u8>>,
    hash: Hash32,
) -> (StatusCode, Vec<u8>, Arc<BlobStore>) {
    let limits = BlobLimits {
        blob_bytes_max: up.blob_bytes_max,
        store_bytes_max: 1 << 30,
    };
    let store = Arc::new(BlobStore::open(dir, limits).expect("open store"));
    let query = match &up.expected {
        Expected::None => String::new(),
        Expected::Right => format!("?expected={hash}"),
        Expected::Wrong(h) => format!("?expected={}", Hash32(*h)),
        Expected::Malformed(s) => format!("?expected={}", hex::encode(s)),
    };
    let stream = futures::stream::iter(
        parts
            .into_iter()
            .map(|p| Ok::<_, std::io::Error>(bytes::Bytes::from(p))),
    );
    let mut req = Request::post(format!("/v1/blobs{query}"));
    if up.declare_length {
        req = req.header("content-length", up.blob.len());
    }
    let req = req.body(Body::from_stream(stream)).unwrap();
    let router = yun_blobs::routes(store.clone());
    runtime().block_on(async {
        let resp = router.oneshot(req).await.expect("infallible");
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("answer body");
        (status, body.to_vec(), store)
    })
}

fuzz_target!(|up: Upload| {
    let parts = chunks(&up.blob, &up.chunk_bytes);
    let (hash, outboard) = check_tree_hasher(&up.blob, &parts);
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let (status, body, store) = upload(dir.path(), &up, parts, hash);
    let too_large = up.blob.len() as u64 > up.blob_bytes_max;
    // A "malformed" string of 32 bytes hex-encodes to a well-formed (wrong) hash.
    let given = match &up.expected {
        Expected::Wrong(h) => Some(Ok(Hash32(*h))),
        Expected::Malformed(s) => Some(hex::encode(s).parse::<Hash32>().map_err(|_| ())),
        _ => None,
    };
    let mismatch = matches!(given, Some(Ok(h)) if h != hash);
    let malformed = matches!(given, Some(Err(())));
    if status != StatusCode::OK {
        assert!(
            too_large || mismatch || malformed,
            "refused a good upload: {status} {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice::<yun_types::api::ErrorResponse>(&body)
            .expect("a refusal is a JSON error");
        assert_eq!(store.stats(), (0, 0), "a refused upload leaves nothing");
        return;
    }
    assert!(
        !too_large && !mismatch && !malformed,
        "accepted a bad upload"
    );
    let put: PutBlobResponse = serde_json::from_slice(&body).expect("a JSON receipt");
    assert_eq!((put.hash, put.bytes), (hash, up.blob.len() as u64));
    assert_eq!(
        store.get(&hash).expect("read back").as_deref(),
        Some(&up.blob[..])
    );
    assert_eq!(
        std::fs::read(store.outboard_path(&hash)).expect("outboard"),
        outboard
    );
    // Deals are never on empty files (the chain refuses a 0-byte deal), and the store has no
    // chunk to prove in one, although `chunk_count(0)` counts one empty chunk.
    let chunks = yun_types::storage::chunk_count(up.blob.len() as u64);
    if !up.blob.is_empty() {
        let index = (up.blob.len() as u64 * 7 + 3) % chunks;
        let proof = store.prove_chunk(&hash, index).expect("prove a chunk");
        yun_types::storage::verify_chunk_proof(&hash, up.blob.len() as u64, index, &proof)
            .expect("the store's proof verifies");
    }
});
