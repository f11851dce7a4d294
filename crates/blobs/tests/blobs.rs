//! The blob store and its routes, driven through a real server on 127.0.0.1 and the real client.

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, ETAG, RANGE};
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tempfile::TempDir;
use yun_blobs::{BlobError, BlobLimits, BlobStore, CollectReport, routes};
use yun_client::{Client, ClientError};
use yun_types::Hash32;
use yun_types::api::ErrorResponse;

struct Server {
    dir: TempDir,
    store: Arc<BlobStore>,
    client: Client,
    http: reqwest::Client,
}

impl Server {
    async fn start(limits: BlobLimits) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(BlobStore::open(dir.path(), limits).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(axum::serve(listener, routes(store.clone())).into_future());
        Server {
            dir,
            store,
            client: Client::new(&base),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.client.base_url())
    }

    fn tmp_entries(&self) -> usize {
        fs::read_dir(self.dir.path().join("tmp")).unwrap().count()
    }
}

/// Bytes that differ at every offset, so a wrong slice or a flipped byte cannot go unnoticed.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

async fn error_of(resp: reqwest::Response) -> (StatusCode, u16) {
    let status = resp.status();
    let body: ErrorResponse = resp.json().await.unwrap();
    (status, body.error.code)
}

fn set_age(path: &Path, age: Duration) {
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

fn age_of(path: &Path) -> Duration {
    let mtime = fs::metadata(path).unwrap().modified().unwrap();
    SystemTime::now().duration_since(mtime).unwrap_or_default()
}

/// Flips one byte in the middle of a stored blob, keeping its length.
fn corrupt(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn put_get_round_trip_and_headers() {
    let s = Server::start(BlobLimits::default()).await;
    let blob = pattern(300_000);
    let hash = s.client.put_blob(blob.clone()).await.unwrap();
    assert_eq!(hash, Hash32::digest(&blob));
    assert_eq!(s.client.get_blob(&hash, 300_000).await.unwrap(), blob);
    assert_eq!(s.store.get(&hash).unwrap().unwrap(), blob);
    assert_eq!(s.store.len(&hash), Some(300_000));
    assert_eq!(s.store.stats(), (1, 300_000));

    let head = s
        .http
        .head(s.url(&format!("/v1/blobs/{hash}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[CONTENT_LENGTH], "300000");
    assert_eq!(head.headers()[ACCEPT_RANGES], "bytes");
    assert_eq!(head.headers()[ETAG], format!("\"{hash}\"").as_str());

    let refused = s.client.get_blob(&hash, 299_999).await.unwrap_err();
    assert!(
        matches!(refused, ClientError::BlobTooLarge { bytes_max: 299_999 }),
        "{refused}"
    );
}

#[tokio::test]
async fn put_file_streams_and_fetch_blob_works_on_any_base_url() {
    let s = Server::start(BlobLimits::default()).await;
    let blob = pattern(1_000_000);
    let path = s.dir.path().join("input.bin");
    fs::write(&path, &blob).unwrap();
    let (hash, bytes) = s.client.put_blob_file(&path).await.unwrap();
    assert_eq!((hash, bytes), (Hash32::digest(&blob), 1_000_000));
    let fetched = yun_client::fetch_blob(s.client.base_url(), &hash, 1 << 20)
        .await
        .unwrap();
    assert_eq!(fetched, blob);
}

#[tokio::test]
async fn put_is_idempotent() {
    let s = Server::start(BlobLimits::default()).await;
    let first = s.client.put_blob(b"same bytes".to_vec()).await.unwrap();
    let second = s.client.put_blob(b"same bytes".to_vec()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(s.store.put_bytes(b"same bytes").unwrap(), first);
    assert_eq!(s.store.stats(), (1, 10));
    assert_eq!(s.tmp_entries(), 0);
}

#[tokio::test]
async fn too_large_is_refused_and_leaves_nothing() {
    let limits = BlobLimits {
        blob_bytes_max: 1024,
        ..BlobLimits::default()
    };
    let s = Server::start(limits).await;
    let err = s.client.put_blob(pattern(2048)).await.unwrap_err();
    assert_eq!(err.code(), Some(105), "{err}");

    // Without a declared length the refusal comes mid-stream, from the store itself.
    let chunks = || {
        let chunk = Bytes::from(pattern(1000));
        futures::stream::iter((0..3).map(move |_| Ok::<_, std::io::Error>(chunk.clone())))
    };
    let resp = s
        .http
        .post(s.url("/v1/blobs"))
        .body(reqwest::Body::wrap_stream(chunks()))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (StatusCode::PAYLOAD_TOO_LARGE, 105));
    let direct = s.store.put_stream(chunks(), None).await;
    assert!(
        matches!(direct, Err(BlobError::TooLarge { bytes_max: 1024 })),
        "{direct:?}"
    );

    assert_eq!(s.store.stats(), (0, 0));
    assert_eq!(s.tmp_entries(), 0);
    assert_eq!(
        fs::read_dir(s.dir.path()).unwrap().count(),
        1,
        "only tmp/ remains"
    );
}

#[tokio::test]
async fn expected_hash_mismatch_is_refused() {
    let s = Server::start(BlobLimits::default()).await;
    let wrong = Hash32::digest(b"something else");
    let resp = s
        .http
        .post(s.url(&format!("/v1/blobs?expected={wrong}")))
        .body(b"the real bytes".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(resp).await,
        (StatusCode::UNPROCESSABLE_ENTITY, 107)
    );
    assert!(!s.store.contains(&Hash32::digest(b"the real bytes")));
    assert_eq!(s.store.stats(), (0, 0));
    assert_eq!(s.tmp_entries(), 0);

    let resp = s
        .http
        .post(s.url("/v1/blobs?expected=zz"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (StatusCode::BAD_REQUEST, 103));
}

#[tokio::test]
async fn range_returns_exactly_the_slice() {
    let s = Server::start(BlobLimits::default()).await;
    let blob = pattern(1000);
    let hash = s.client.put_blob(blob.clone()).await.unwrap();
    let url = s.url(&format!("/v1/blobs/{hash}"));
    for (range, start, end) in [
        ("bytes=100-199", 100, 199),
        ("bytes=-10", 990, 999),
        ("bytes=995-", 995, 999),
    ] {
        let resp = s.http.get(&url).header(RANGE, range).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        let content_range = format!("bytes {start}-{end}/1000");
        assert_eq!(resp.headers()[CONTENT_RANGE], content_range.as_str());
        assert_eq!(
            resp.bytes().await.unwrap().as_ref(),
            &blob[start..=end],
            "{range}"
        );
    }
}

#[tokio::test]
async fn unsatisfiable_range_is_416() {
    let s = Server::start(BlobLimits::default()).await;
    let hash = s.client.put_blob(pattern(1000)).await.unwrap();
    let url = s.url(&format!("/v1/blobs/{hash}"));
    for range in ["bytes=1000-1100", "bytes=abc", "bytes=0-1,5-9", "items=0-1"] {
        let resp = s.http.get(&url).header(RANGE, range).send().await.unwrap();
        assert_eq!(resp.headers()[CONTENT_RANGE], "bytes */1000", "{range}");
        assert_eq!(
            error_of(resp).await,
            (StatusCode::RANGE_NOT_SATISFIABLE, 108),
            "{range}"
        );
    }
    let empty = s.client.put_blob(Vec::new()).await.unwrap();
    let resp = s
        .http
        .get(s.url(&format!("/v1/blobs/{empty}")))
        .header(RANGE, "bytes=0-0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(resp).await,
        (StatusCode::RANGE_NOT_SATISFIABLE, 108)
    );
    assert_eq!(
        s.client.get_blob(&empty, 0).await.unwrap(),
        Vec::<u8>::new()
    );
}

#[tokio::test]
async fn unknown_hash_is_404_and_a_bad_hash_400() {
    let s = Server::start(BlobLimits::default()).await;
    let err = s
        .client
        .get_blob(&Hash32::digest(b"never stored"), 1 << 20)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(106), "{err}");
    let resp = s
        .http
        .head(s.url(&format!("/v1/blobs/{}", Hash32::digest(b"no"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = s
        .http
        .get(s.url("/v1/blobs/not-a-hash"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (StatusCode::BAD_REQUEST, 103));
}

#[tokio::test]
async fn corruption_is_caught_by_get() {
    let s = Server::start(BlobLimits::default()).await;
    let hash = s.store.put_bytes(&pattern(5000)).unwrap();
    corrupt(&s.store.path(&hash));
    let err = s.store.get(&hash).unwrap_err();
    assert!(
        matches!(err, BlobError::Corrupt { hash: h } if h == hash),
        "{err}"
    );
    assert_eq!(err.code(), 106);
    assert!(!s.store.contains(&hash), "a corrupt copy is deleted");
    assert_eq!(s.store.stats(), (0, 0));
    assert!(s.store.get(&hash).unwrap().is_none());
}

#[tokio::test]
async fn corruption_never_reaches_a_client_as_a_complete_download() {
    let s = Server::start(BlobLimits::default()).await;
    // Many chunks: the server has sent some before it finds the copy corrupt, and cuts the
    // connection before the last.
    let blob = pattern(300_000);
    let hash = s.client.put_blob(blob.clone()).await.unwrap();
    corrupt(&s.store.path(&hash));
    let download = match s.http.get(s.url(&format!("/v1/blobs/{hash}"))).send().await {
        Ok(resp) => resp.bytes().await.map(|b| b.len()),
        Err(e) => Err(e),
    };
    assert!(
        download.is_err(),
        "a corrupt blob arrived whole: {download:?}"
    );
    assert!(
        !s.store.contains(&hash),
        "the server removed its corrupt copy"
    );

    s.client.put_blob(blob).await.unwrap();
    corrupt(&s.store.path(&hash));
    let err = s.client.get_blob(&hash, 1 << 20).await.unwrap_err();
    assert!(matches!(err, ClientError::Interrupted { .. }), "{err}");

    // One chunk: verified before the headers, so the answer is a clean 404.
    let small = s.client.put_blob(pattern(5000)).await.unwrap();
    corrupt(&s.store.path(&small));
    let resp = s
        .http
        .get(s.url(&format!("/v1/blobs/{small}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (StatusCode::NOT_FOUND, 106));
    assert!(!s.store.contains(&small));
}

#[tokio::test]
async fn collect_removes_old_unreferenced_blobs_only() {
    let s = Server::start(BlobLimits::default()).await;
    let old = s.store.put_bytes(b"old and unreferenced").unwrap();
    let referenced = s.store.put_bytes(b"old but referenced").unwrap();
    let fresh = s.store.put_bytes(b"fresh").unwrap();
    let two_hours = Duration::from_secs(7200);
    set_age(&s.store.path(&old), two_hours);
    set_age(&s.store.path(&referenced), two_hours);

    let report = s
        .store
        .collect(|h| *h == referenced, Duration::from_secs(3600))
        .unwrap();
    assert_eq!(
        report,
        CollectReport {
            removed_blobs: 1,
            removed_bytes: 20,
            kept_blobs: 2,
            kept_bytes: 18 + 5
        }
    );
    assert!(!s.store.contains(&old));
    assert!(s.store.contains(&referenced) && s.store.contains(&fresh));
    assert_eq!(s.store.stats(), (2, 23));
}

#[tokio::test]
async fn get_and_put_mark_a_blob_used() {
    let s = Server::start(BlobLimits::default()).await;
    let hash = s.store.put_bytes(b"used").unwrap();
    let path = s.store.path(&hash);
    let day = Duration::from_secs(86_400);
    set_age(&path, day);
    s.store.get(&hash).unwrap();
    assert!(age_of(&path) < Duration::from_secs(60));
    set_age(&path, day);
    s.client.get_blob(&hash, 100).await.unwrap();
    assert!(age_of(&path) < Duration::from_secs(60));
    set_age(&path, day);
    s.client.put_blob(b"used".to_vec()).await.unwrap();
    assert!(age_of(&path) < Duration::from_secs(60));
    let report = s
        .store
        .collect(|_| false, Duration::from_secs(3600))
        .unwrap();
    assert_eq!(report.removed_blobs, 0);
}

#[test]
fn open_removes_crash_leftovers_and_counts_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path(), BlobLimits::default()).unwrap();
    let hash = store.put_bytes(b"kept across restarts").unwrap();
    drop(store);
    let leftover = dir.path().join("tmp").join("1234-0.part");
    fs::write(&leftover, b"half an upload").unwrap();
    fs::write(dir.path().join("README"), b"not a blob").unwrap();

    let store = BlobStore::open(dir.path(), BlobLimits::default()).unwrap();
    assert!(!leftover.exists());
    assert_eq!(store.stats(), (1, 20));
    assert_eq!(store.get(&hash).unwrap().unwrap(), b"kept across restarts");
}

/// A repeated output is not written again, only marked used (so the collector keeps it); a
/// stored copy of the wrong length is replaced.
#[test]
fn an_output_stored_already_is_only_marked_used() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path(), BlobLimits::default()).unwrap();
    let output = pattern(5_000);
    let hash = store.put_bytes_unsynced_if_absent(&output).unwrap();
    let path = store.path(&hash);
    let inode = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&path).unwrap());
    set_age(&path, Duration::from_secs(3_600));
    assert_eq!(store.put_bytes_unsynced_if_absent(&output).unwrap(), hash);
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&fs::metadata(&path).unwrap()),
        inode,
        "the same file, not a new copy"
    );
    assert!(age_of(&path) < Duration::from_secs(60), "marked used now");
    assert_eq!(store.stats(), (1, 5_000));

    fs::write(&path, &output[..100]).unwrap();
    assert_eq!(store.put_bytes_unsynced_if_absent(&output).unwrap(), hash);
    store.sync().unwrap();
    assert_eq!(
        store.get(&hash).unwrap().unwrap(),
        output,
        "a short copy was replaced"
    );
}

#[tokio::test]
async fn store_overflow_is_refused_with_507() {
    let limits = BlobLimits {
        blob_bytes_max: 1000,
        store_bytes_max: 1500,
    };
    let s = Server::start(limits).await;
    s.client.put_blob(pattern(800)).await.unwrap();
    let err = s.client.put_blob(vec![7; 800]).await.unwrap_err();
    assert_eq!(err.code(), Some(109), "{err}");
    let resp = s
        .http
        .post(s.url("/v1/blobs"))
        .body(vec![9; 800])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(resp).await,
        (StatusCode::INSUFFICIENT_STORAGE, 109)
    );
    assert_eq!(s.store.stats(), (1, 800));
    assert_eq!(s.tmp_entries(), 0);
    // Space freed by an aborted upload is available again.
    s.client.put_blob(pattern(700)).await.unwrap();
    assert_eq!(s.store.stats(), (2, 1500));
}

#[test]
fn openapi_lists_the_routes_and_limits() {
    let limits = BlobLimits {
        blob_bytes_max: 4242,
        store_bytes_max: 9999,
    };
    let doc = serde_json::to_value(yun_blobs::openapi_with_limits(&limits)).unwrap();
    let paths = &doc["paths"];
    assert!(paths["/v1/blobs"]["post"].is_object());
    assert!(paths["/v1/blobs/{hash}"]["get"].is_object());
    assert!(paths["/v1/blobs/{hash}"]["head"].is_object());
    let bao = &paths["/v1/blobs/{hash}/bao"]["get"];
    let params: Vec<&str> = bao["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["hash", "offset", "len"]);
    let description = paths["/v1/blobs"]["post"]["description"].as_str().unwrap();
    assert!(
        description.contains("blob_bytes_max = 4242 bytes"),
        "{description}"
    );
}
