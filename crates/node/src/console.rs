//! Serves the web console (embedded at build time from `console/dist`) at `/`: the files by
//! path, `index.html` for any other page path, and a page saying how to build it when the
//! binary was built without it. API paths never reach here.

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/console_files.rs"));

/// What a page of the console may load: only this node's own files and API, plus the output
/// servers of providers (a job's outputs are downloaded from them and checked in the page).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self' http: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Yun console not built</title></head><body><h1>The Yun console was not built into this binary</h1><p>Build it, then rebuild <code>yun</code>:</p><pre>./scripts/build-console &amp;&amp; cargo build --release --bin yun</pre><p>The JSON API works without it: <a href=\"/v1/status\">/v1/status</a>, <a href=\"/v1/openapi.json\">/v1/openapi.json</a>.</p></body></html>";

/// Whether this binary carries the console.
pub fn console_built() -> bool {
    CONSOLE_FILES.iter().any(|(p, _)| *p == "/index.html")
}

fn file(path: &str) -> Option<&'static [u8]> {
    CONSOLE_FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, b)| *b)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `body`, or its gzip twin (`scripts/build-console` writes `NAME.gz`) when the browser takes
/// gzip: the bundle is text and shrinks to about a third.
fn respond(status: StatusCode, path: &str, body: &'static [u8], gzip_ok: bool) -> Response {
    let gz = if gzip_ok {
        file(&format!("{path}.gz"))
    } else {
        None
    };
    let mut resp = (status, gz.unwrap_or(body)).into_response();
    let h = resp.headers_mut();
    if gz.is_some() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    // Vite names built assets by content hash: they never change under one name.
    let cache = if path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// A GET of a non-API path: the file, or the console's index (its pages are `#/…` routes, so
/// any other path is a typo or an old link and lands on the overview).
pub fn serve(uri: &Uri, headers: &HeaderMap) -> Response {
    let gzip_ok = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let path = uri.path();
    if !console_built() {
        return respond(StatusCode::OK, "/index.html", NOT_BUILT.as_bytes(), false);
    }
    let wanted = if path == "/" { "/index.html" } else { path };
    match file(wanted) {
        Some(body) => respond(StatusCode::OK, wanted, body, gzip_ok),
        None if wanted.starts_with("/assets/") => respond(
            StatusCode::NOT_FOUND,
            "/x.txt",
            b"no such console file",
            false,
        ),
        None => respond(
            StatusCode::OK,
            "/index.html",
            file("/index.html").expect("console_built checked it"),
            gzip_ok,
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::api::{ApiState, router};
    use crate::state::race::node_with_pending;
    use axum::body::Body;
    use axum::http::{HeaderMap, Request, StatusCode, header};
    use std::sync::Arc;
    use tower::ServiceExt as _;

    /// The answer (status, content type, CSP, body) of one request to the node's router.
    fn ask(method: &str, uri: &str) -> (StatusCode, String, bool, String) {
        let (node, _) = node_with_pending();
        let app = router(ApiState {
            node,
            metrics_text: Arc::new(String::new),
            peers: Arc::new(Vec::new),
        });
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let ct = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let csp = resp.headers().contains_key(header::CONTENT_SECURITY_POLICY);
            let body = axum::body::to_bytes(resp.into_body(), 8 << 20)
                .await
                .unwrap();
            (status, ct, csp, String::from_utf8_lossy(&body).into_owned())
        })
    }

    #[test]
    fn an_unknown_api_path_stays_a_numbered_json_error() {
        for (method, uri) in [("GET", "/v1/nope"), ("GET", "/v1"), ("POST", "/anything")] {
            let (status, ct, _, body) = ask(method, uri);
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}");
            assert!(ct.starts_with("application/json"), "{method} {uri}: {ct}");
            assert!(body.contains("\"NotFound\""), "{body}");
        }
    }

    #[test]
    fn the_root_and_any_page_path_serve_the_console_with_a_content_security_policy() {
        for uri in ["/", "/explorer", "/some/old/link"] {
            let (status, ct, csp, body) = ask("GET", uri);
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert!(ct.starts_with("text/html"), "{uri}: {ct}");
            assert!(csp, "{uri} has no Content-Security-Policy");
            if super::console_built() {
                assert!(body.contains("<script type=\"module\""), "{body}");
            } else {
                assert!(body.contains("./scripts/build-console"), "{body}");
            }
        }
    }

    #[test]
    fn a_browser_that_takes_gzip_gets_the_same_script_compressed() {
        let (_, _, _, index) = ask("GET", "/");
        let Some(script) = index.split('"').find(|s| s.ends_with(".js")) else {
            assert!(
                !super::console_built(),
                "a built console's index names its script"
            );
            return;
        };
        let plain = super::serve(&script.parse().unwrap(), &HeaderMap::new());
        let mut accept = HeaderMap::new();
        accept.insert(
            header::ACCEPT_ENCODING,
            "gzip, deflate, br".parse().unwrap(),
        );
        let gz = super::serve(&script.parse().unwrap(), &accept);
        assert_eq!(gz.headers().get(header::CONTENT_ENCODING).unwrap(), "gzip");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (plain, gz) = rt.block_on(async {
            (
                axum::body::to_bytes(plain.into_body(), 8 << 20)
                    .await
                    .unwrap(),
                axum::body::to_bytes(gz.into_body(), 8 << 20).await.unwrap(),
            )
        });
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped)
            .unwrap();
        assert_eq!(unzipped, plain.to_vec());
        assert!(
            gz.len() * 2 < plain.len(),
            "{} vs {}",
            gz.len(),
            plain.len()
        );
    }

    #[test]
    fn every_asset_the_index_names_is_served_with_its_type() {
        let (_, _, _, index) = ask("GET", "/");
        let assets: Vec<&str> = index
            .split('"')
            .filter(|s| s.starts_with("/assets/"))
            .collect();
        // A binary built without the console names no assets; with it, the index names its
        // script and stylesheet.
        assert_eq!(super::console_built(), assets.len() >= 2, "{index}");
        for a in assets {
            let (status, ct, _, _) = ask("GET", a);
            assert_eq!(status, StatusCode::OK, "{a}");
            let want = if a.ends_with(".js") {
                "text/javascript"
            } else {
                "text/css"
            };
            assert!(ct.starts_with(want), "{a}: {ct}");
        }
        let (status, _, _, _) = ask("GET", "/assets/missing-0000.js");
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
