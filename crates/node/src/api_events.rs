//! `GET /v1/events`: finalized heads as server-sent events, for agents, the CLI and the
//! dashboard.

use crate::api_common::ApiState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use std::convert::Infallible;
use std::time::Duration;
use yun_store::Head;
use yun_types::events::{HEAD_EVENT, HeadEvent};

/// How often an idle stream sends a comment, so proxies and clients notice a dead peer.
pub const EVENTS_KEEPALIVE: Duration = Duration::from_secs(15);

fn head_event(h: &Head) -> Event {
    let ev = HeadEvent {
        height: h.height,
        block_hash: h.block_hash,
        state_root: h.state_root,
        timestamp_ms: h.timestamp_ms,
    };
    Event::default()
        .event(HEAD_EVENT)
        .id(h.height.to_string())
        .json_data(ev)
        .expect("a HeadEvent serializes")
}

/// Streams the current head at once, then every new finalized head. A subscriber that falls
/// behind gets the latest head (the stream holds one value, never a backlog), so a slow
/// client costs the node nothing.
#[utoipa::path(get, path = "/v1/events",
    responses((status = 200, description = "text/event-stream of `head` events", body = HeadEvent)))]
pub(crate) async fn events(
    State(s): State<ApiState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = s.node.head.subscribe();
    let stream = futures::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None; // the node is shutting down
        }
        let ev = head_event(&rx.borrow_and_update());
        Some((Ok(ev), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(EVENTS_KEEPALIVE))
}
