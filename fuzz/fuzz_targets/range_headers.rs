//! Fuzzes the blob download's range handling on the real router: `GET /v1/blobs/{hash}` with a
//! fuzzer-written `Range` header, and `GET /v1/blobs/{hash}/bao` with a fuzzer-written query.
//! A 206 answer must be exactly the asked bytes with a matching `Content-Range`; a 200 bao
//! answer must be exactly bao_tree's own encoding of the covering chunks; any refusal is a
//! numbered JSON error, never a server error.
#![no_main]

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use bao_tree::{ChunkNum, ChunkRanges};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt as _;
use yun_blobs::tree::outboard_of;
use yun_blobs::{BlobLimits, BlobStore};
use yun_types::Hash32;

/// Blob sizes around the boundaries that matter: empty, one chunk, one 16 KiB group, one
/// download chunk (64 KiB) and past it.
const BLOB_SIZES: [usize; 6] = [0, 1, 1_000, 16_384, 65_536, 70_001];

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<BlobStore>,
    blobs: Vec<(Hash32, Vec<u8>, Vec<u8>)>,
    rt: tokio::runtime::Runtime,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .unwrap();
        let store = Arc::new(BlobStore::open(dir.path(), BlobLimits::default()).unwrap());
        let blobs = BLOB_SIZES
            .iter()
            .map(|&n| {
                let blob: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
                let hash = store.put_bytes_unsynced(&blob).unwrap();
                let outboard = std::fs::read(store.outboard_path(&hash)).unwrap();
                (hash, blob, outboard)
            })
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Fixture {
            _dir: dir,
            store,
            blobs,
            rt,
        }
    })
}

fn get(f: &Fixture, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let router = yun_blobs::routes(f.store.clone());
    f.rt.block_on(async {
        let resp = router.oneshot(req).await.expect("infallible");
        let (parts, body) = resp.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20)
            .await
            .expect("a whole answer from an intact blob");
        (parts.status, parts.headers, body.to_vec())
    })
}

fn refusal(status: StatusCode, body: &[u8]) {
    assert!(
        !status.is_server_error(),
        "{status}: {}",
        String::from_utf8_lossy(body)
    );
    serde_json::from_slice::<yun_types::api::ErrorResponse>(body)
        .expect("a refusal is a JSON error");
}

fn range_header(f: &Fixture, (hash, blob, _): &(Hash32, Vec<u8>, Vec<u8>), value: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(value) else {
        return;
    };
    let req = Request::get(format!("/v1/blobs/{hash}"))
        .header(header::RANGE, value)
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = get(f, req);
    if status != StatusCode::PARTIAL_CONTENT {
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        return refusal(status, &body);
    }
    let content_range = headers[header::CONTENT_RANGE].to_str().unwrap();
    let (span, total) = content_range
        .strip_prefix("bytes ")
        .unwrap()
        .split_once('/')
        .unwrap();
    let (start, end) = span.split_once('-').unwrap();
    let (start, end): (usize, usize) = (start.parse().unwrap(), end.parse().unwrap());
    assert_eq!(total.parse::<usize>().unwrap(), blob.len());
    assert!(start <= end && end < blob.len());
    assert_eq!(
        body,
        blob[start..=end],
        "a range answer is exactly the asked bytes"
    );
}

fn bao_query(
    f: &Fixture,
    (hash, blob, outboard): &(Hash32, Vec<u8>, Vec<u8>),
    offset: Option<u64>,
    len: Option<u64>,
) {
    let mut query = Vec::new();
    if let Some(o) = offset {
        query.push(format!("offset={o}"));
    }
    if let Some(l) = len {
        query.push(format!("len={l}"));
    }
    let uri = format!("/v1/blobs/{hash}/bao?{}", query.join("&"));
    let (status, headers, body) = get(f, Request::get(uri).body(Body::empty()).unwrap());
    let size = blob.len() as u64;
    let offset = offset.unwrap_or(0);
    let len = len.unwrap_or(size.saturating_sub(offset));
    let inside = offset.checked_add(len).is_some_and(|end| end <= size);
    if status != StatusCode::OK {
        assert!(!inside, "refused a range inside the blob: {status}");
        return refusal(status, &body);
    }
    assert!(inside, "answered a range outside the blob");
    assert_eq!(
        headers[yun_blobs::BLOB_BYTES_HEADER].to_str().unwrap(),
        size.to_string()
    );
    let ranges = ChunkRanges::from(ChunkNum::full_chunks(offset)..ChunkNum::chunks(offset + len));
    let mut expected = Vec::new();
    let ob = outboard_of(hash, size, &outboard[..]);
    bao_tree::io::sync::encode_ranges_validated(&blob[..], ob, &ranges, &mut expected).unwrap();
    assert_eq!(
        body, expected,
        "the bao answer is the covering chunks' encoding"
    );
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let blob = &f.blobs[(sel as usize >> 1) % f.blobs.len()];
    if sel & 1 == 0 {
        range_header(f, blob, rest);
    } else if rest.len() >= 18 {
        let word = |i: usize| u64::from_le_bytes(rest[i..i + 8].try_into().unwrap());
        // Small numbers are the interesting ones; the flags byte also picks which are given.
        let shrink = |v: u64, flag: u8| if flag & 4 != 0 { v % (200_000) } else { v };
        let offset = (rest[16] & 1 != 0).then(|| shrink(word(0), rest[16]));
        let len = (rest[16] & 2 != 0).then(|| shrink(word(8), rest[17]));
        bao_query(f, blob, offset, len);
    }
});
