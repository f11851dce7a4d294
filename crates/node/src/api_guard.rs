//! The API's protection in front of every route: per-IP rate limits (GCRA, `governor`), a
//! global concurrency limit, request and body timeouts, a cap on event-stream subscribers,
//! JSON-only writes and a CORS policy that opens reads to every origin but refuses
//! cross-origin writes. Every refusal is a numbered `ApiErrorKind` in the usual JSON shape.

use crate::api_common::{ApiError, api_err};
use crate::api_limits::ApiLimitsConfig;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use yun_types::api::ApiErrorKind;

/// The route of server-sent events, whose open streams are capped.
const EVENTS_PATH: &str = "/v1/events";
/// The blob upload route: raw bytes, not JSON, and a longer time limit.
const BLOB_UPLOAD_PATH: &str = "/v1/blobs";
/// The binary transaction batch (`api::submit_batch_binary`).
const TX_BATCH_BINARY_PATH: &str = "/v1/txs/batch/binary";
/// What a refused subscriber or an overloaded node tells the client to wait, in seconds.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// The shared counters and limiters behind [`guard`].
pub(crate) struct Guard {
    limits: ApiLimitsConfig,
    remote: DefaultKeyedRateLimiter<IpAddr>,
    loopback: DefaultKeyedRateLimiter<IpAddr>,
    in_flight: Arc<Semaphore>,
    subscribers: Arc<Semaphore>,
}

fn quota(per_second: u32, burst: u32) -> Quota {
    let nz = |n: u32| NonZeroU32::new(n.max(1)).expect("at least 1");
    Quota::per_second(nz(per_second)).allow_burst(nz(burst))
}

impl Guard {
    pub(crate) fn new(limits: &ApiLimitsConfig) -> Arc<Guard> {
        Arc::new(Guard {
            remote: RateLimiter::dashmap(quota(
                limits.requests_per_second_per_ip,
                limits.burst_per_ip,
            )),
            loopback: RateLimiter::dashmap(quota(
                limits.loopback_requests_per_second,
                limits.loopback_burst,
            )),
            in_flight: Arc::new(Semaphore::new(limits.concurrent_requests_max as usize)),
            subscribers: Arc::new(Semaphore::new(limits.event_subscribers_max as usize)),
            limits: limits.clone(),
        })
    }

    /// Forgets the IP addresses whose bucket is full again, so the limiter's memory follows
    /// the clients of the last seconds, not every address ever seen.
    pub(crate) fn forget_idle(&self) {
        for l in [&self.remote, &self.loopback] {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// `Ok` if `ip` may send one more request now, else how long it must wait.
    fn admit(&self, ip: IpAddr) -> Result<(), Duration> {
        let (limiter, key) = if ip.is_loopback() {
            (&self.loopback, ip)
        } else {
            (&self.remote, rate_key(ip))
        };
        limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The address a client is limited under: an IPv4 address, or the /64 of an IPv6 one (one
/// subscriber's network, which holds more addresses than any client could use up).
fn rate_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// A refusal with a `Retry-After` header, in whole seconds (at least 1).
fn retry_later(e: ApiError, wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut resp = e.into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    resp
}

/// Whether a request's method changes state (everything but reads and CORS preflights).
fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A cross-origin write's refusal, or `None` for a program (no `Origin`), the node's own
/// pages (the origin's host is the request's `Host`) and the operator's `write_origins`.
fn cross_origin(headers: &HeaderMap, write_origins: &[String]) -> Option<ApiError> {
    let origin = headers.get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or("null");
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let own = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|o| host.is_some_and(|h| o.eq_ignore_ascii_case(h)));
    if own || write_origins.iter().any(|w| w.eq_ignore_ascii_case(origin)) {
        return None;
    }
    Some(api_err(
        ApiErrorKind::CrossOriginRefused,
        format!("a page from {origin} may not write to this node"),
    ))
}

/// The body type a write must declare: raw bytes for blob uploads and binary transaction
/// batches, JSON for the rest. Form and text bodies are what a foreign web page may send
/// without asking, so they are refused (both of these need the browser to ask first).
fn media_type_refusal(path: &str, headers: &HeaderMap) -> Option<ApiError> {
    let want = wanted_media_type(path);
    let got = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = got.split(';').next().unwrap_or("").trim();
    (!essence.eq_ignore_ascii_case(want)).then(|| {
        api_err(
            ApiErrorKind::UnsupportedMediaType,
            format!("{path} takes `Content-Type: {want}`, not `{got}`"),
        )
    })
}

/// The body type writes to `path` must declare.
fn wanted_media_type(path: &str) -> &'static str {
    if path == BLOB_UPLOAD_PATH || path == TX_BATCH_BINARY_PATH {
        "application/octet-stream"
    } else {
        "application/json"
    }
}

/// The middleware: rate limit, write checks, the subscriber cap, a turn among the
/// concurrent requests, then the route under its time limit.
pub(crate) async fn guard(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    if let Err(wait) = g.admit(ip) {
        let e = api_err(
            ApiErrorKind::RateLimited,
            format!(
                "too many requests from {ip}; try again in {} ms",
                wait.as_millis()
            ),
        );
        return retry_later(e, wait);
    }
    let path = req.uri().path().to_string();
    if is_write(req.method()) {
        let refusal = cross_origin(req.headers(), &g.limits.write_origins)
            .or_else(|| media_type_refusal(&path, req.headers()));
        if let Some(e) = refusal {
            return e.into_response();
        }
    }
    let subscriber = if path == EVENTS_PATH {
        match g.subscribers.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let max = g.limits.event_subscribers_max;
                let e = api_err(
                    ApiErrorKind::TooManySubscribers,
                    format!("this node serves at most {max} event streams at once"),
                );
                return retry_later(e, Duration::from_secs(BUSY_RETRY_AFTER_SECS));
            }
        }
    } else {
        None
    };
    let turn = tokio::time::timeout(
        g.limits.concurrency_wait(),
        g.in_flight.clone().acquire_owned(),
    )
    .await;
    let Ok(Ok(_turn)) = turn else {
        let e = api_err(
            ApiErrorKind::Overloaded,
            format!(
                "{} requests are being answered; none finished within {} ms",
                g.limits.concurrent_requests_max, g.limits.concurrency_wait_ms
            ),
        );
        return retry_later(e, Duration::from_secs(BUSY_RETRY_AFTER_SECS));
    };
    let limit = if path == BLOB_UPLOAD_PATH && is_write(req.method()) {
        g.limits.blob_upload_timeout()
    } else {
        g.limits.request_timeout()
    };
    let Ok(resp) = tokio::time::timeout(limit, next.run(req)).await else {
        let e = api_err(
            ApiErrorKind::RequestTimeout,
            format!("the request took over {} ms", limit.as_millis()),
        );
        let mut resp = e.into_response();
        // Whatever of the body is still coming is not read: the connection cannot be reused.
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return resp;
    };
    match subscriber {
        // The stream holds its place among the subscribers until the client goes away.
        Some(permit) => resp.map(|body| {
            Body::from_stream(body.into_data_stream().map(move |chunk| {
                let _held = &permit;
                chunk
            }))
        }),
        None => resp,
    }
}

/// Reads open to every origin (the chain is public and no cookie is involved); a browser
/// is told no other method is allowed, and the guard refuses the writes it sends anyway.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::HEAD])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(3_600))
}

/// `app` behind the guard, the body idle timeout and the CORS policy.
pub(crate) fn protect(app: Router, guard_state: Arc<Guard>) -> Router {
    let body_idle = guard_state.limits.body_idle_timeout();
    app.layer(RequestBodyTimeoutLayer::new(body_idle))
        .layer(axum::middleware::from_fn_with_state(guard_state, guard))
        .layer(cors())
}

/// Adds the guard's refusals to every operation of the OpenAPI document: 429 `RateLimited`
/// (117) and 503 `Overloaded` (118, both with `Retry-After`), 408 `RequestTimeout` (119) on
/// every route; 403 `CrossOriginRefused` (122) and 415 `UnsupportedMediaType` (121) on writes;
/// 503 `TooManySubscribers` (120) on the event stream.
pub(crate) fn document_refusals(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, header::Header};
    let refusal = |status: &str, text: &str, retry: bool| {
        let mut r = ResponseBuilder::new().description(text).content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorResponse")))
                .build(),
        );
        if retry {
            let seconds = utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Integer)
                .minimum(Some(1))
                .build();
            let mut h = Header::new(RefOr::T(utoipa::openapi::Schema::Object(seconds)));
            h.description = Some("seconds to wait before sending again".into());
            r = r.header("Retry-After", h);
        }
        (status.to_string(), r.build())
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            (false, item.get.as_mut()),
            (false, item.head.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.delete.as_mut()),
            (true, item.patch.as_mut()),
        ];
        for (write, op) in ops {
            let Some(op) = op else { continue };
            let mut add = vec![
                refusal(
                    "429",
                    "RateLimited (117): this IP address sent more than the node's `[api]` rate allows",
                    true,
                ),
                refusal(
                    "408",
                    "RequestTimeout (119): the request (its headers, body or answer) took longer than the node's limit",
                    false,
                ),
            ];
            let busy = if path == EVENTS_PATH {
                "Overloaded (118): the node is answering as many requests as it takes at once; or TooManySubscribers (120): as many event streams are open as the node serves"
            } else {
                "Overloaded (118): the node is answering as many requests as it takes at once"
            };
            add.push(refusal("503", busy, true));
            if write {
                add.push(refusal(
                    "403",
                    "CrossOriginRefused (122): a web page of another origin may not write",
                    false,
                ));
                let media = format!(
                    "UnsupportedMediaType (121): send `Content-Type: {}`",
                    wanted_media_type(path)
                );
                add.push(refusal("415", &media, false));
            }
            for (status, resp) in add {
                match op.responses.responses.get_mut(&status) {
                    Some(RefOr::T(existing)) => {
                        existing.description =
                            format!("{}; or {}", existing.description, resp.description);
                        existing.headers.extend(resp.headers);
                    }
                    Some(RefOr::Ref(_)) => {}
                    None => {
                        op.responses.responses.insert(status, RefOr::T(resp));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_openapi_document_names_every_refusal() {
        let doc = serde_json::to_value(crate::api::openapi_doc()).unwrap();
        let submit = &doc["paths"]["/v1/txs"]["post"]["responses"];
        for (status, name) in [
            ("429", "RateLimited"),
            ("503", "Overloaded"),
            ("408", "RequestTimeout"),
            ("403", "CrossOriginRefused"),
            ("415", "UnsupportedMediaType"),
        ] {
            let text = submit[status]["description"].as_str().unwrap_or_default();
            assert!(text.contains(name), "POST /v1/txs {status}: {text}");
        }
        assert!(submit["429"]["headers"]["Retry-After"].is_object());
        let events = doc["paths"]["/v1/events"]["get"]["responses"]["503"]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(events.contains("TooManySubscribers"), "{events}");
        let blob = doc["paths"]["/v1/blobs"]["post"]["responses"]["415"]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(blob.contains("octet-stream"), "{blob}");
    }

    #[test]
    fn a_page_may_write_only_to_its_own_node() {
        let own = headers(&[
            (header::ORIGIN, "http://127.0.0.1:8545"),
            (header::HOST, "127.0.0.1:8545"),
        ]);
        assert!(cross_origin(&own, &[]).is_none());
        let evil = headers(&[
            (header::ORIGIN, "http://evil.example"),
            (header::HOST, "127.0.0.1:8545"),
        ]);
        assert!(cross_origin(&evil, &[]).is_some());
        assert!(cross_origin(&evil, &["http://evil.example".into()]).is_none());
        // A program sends no Origin at all.
        assert!(cross_origin(&headers(&[(header::HOST, "x")]), &[]).is_none());
    }

    #[test]
    fn writes_take_json_and_blob_uploads_and_binary_batches_take_bytes() {
        let json = headers(&[(header::CONTENT_TYPE, "application/json; charset=utf-8")]);
        let text = headers(&[(header::CONTENT_TYPE, "text/plain")]);
        let bytes = headers(&[(header::CONTENT_TYPE, "application/octet-stream")]);
        assert!(media_type_refusal("/v1/txs", &json).is_none());
        assert!(media_type_refusal("/v1/txs", &text).is_some());
        assert!(media_type_refusal("/v1/txs", &HeaderMap::new()).is_some());
        assert!(media_type_refusal(BLOB_UPLOAD_PATH, &bytes).is_none());
        assert!(media_type_refusal(BLOB_UPLOAD_PATH, &json).is_some());
        // A foreign page's form or text post cannot reach the binary batch either.
        assert!(media_type_refusal(TX_BATCH_BINARY_PATH, &bytes).is_none());
        assert!(media_type_refusal(TX_BATCH_BINARY_PATH, &text).is_some());
        assert!(media_type_refusal(TX_BATCH_BINARY_PATH, &json).is_some());
        assert!(media_type_refusal("/v1/txs/batch", &bytes).is_some());
    }

    #[test]
    fn an_ipv6_client_is_limited_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(rate_key(a), rate_key(b));
        assert_ne!(rate_key(a), rate_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(rate_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_client_past_its_burst_waits_and_loopback_has_its_own_limit() {
        let g = Guard::new(&ApiLimitsConfig {
            requests_per_second_per_ip: 1,
            burst_per_ip: 2,
            loopback_requests_per_second: 1,
            loopback_burst: 5,
            ..ApiLimitsConfig::default()
        });
        let remote: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(g.admit(remote).is_ok() && g.admit(remote).is_ok());
        let wait = g.admit(remote).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another address has its own bucket.
        assert!(g.admit("192.0.2.2".parse().unwrap()).is_ok());
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!((0..6).filter(|_| g.admit(local).is_ok()).count(), 5);
    }
}
