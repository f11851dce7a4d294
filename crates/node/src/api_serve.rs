//! The API's connection loop: HTTP/1.1 with a header-read timeout (which `axum::serve` has no
//! setting for), each request tagged with its peer address for the per-IP limits, and a
//! graceful stop.

use crate::api_guard::{Guard, protect};
use crate::api_limits::ApiLimitsConfig;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// How often the rate limiter forgets clients whose bucket refilled.
const LIMITER_SWEEP: Duration = Duration::from_secs(60);
/// How long accepting pauses after an error (out of file descriptors, mostly).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `app` behind the limits on `listener` until `shutdown` resolves, then lets open
/// connections finish their requests (the caller bounds how long it waits for that).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &ApiLimitsConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let guard = Guard::new(limits);
    let sweeper = tokio::spawn({
        let guard = guard.clone();
        async move {
            let mut tick = tokio::time::interval(LIMITER_SWEEP);
            loop {
                tick.tick().await;
                guard.forget_idle();
            }
        }
    });
    let app = protect(app, guard);
    let header_read_timeout = limits.header_read_timeout();
    // `stop` tells connections to finish; every connection holds a `done` receiver, so the
    // sender sees them all closed once the last one ends.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!("accepting an API connection failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (app, stop_rx, done_rx) = (app.clone(), stop_rx.clone(), done_rx.clone());
        tokio::spawn(async move {
            connection(stream, peer, app, header_read_timeout, stop_rx).await;
            drop(done_rx);
        });
    }
    sweeper.abort();
    let _ = stop_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// Serves one connection until the client closes it or the server stops.
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::trace!("API connection from {peer} ended: {e}");
            }
        }
        // (The guard `wait_for` answers is not `Send`: drop it inside the block.)
        () = async { drop(stop.wait_for(|stopping| *stopping).await) } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
