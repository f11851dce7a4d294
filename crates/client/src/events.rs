//! Following a node's `GET /v1/events` stream of finalized heads, reconnecting on its own.

use eventsource_stream::Eventsource;
use futures::StreamExt;
use std::time::Duration;
use tokio::sync::watch;
use yun_types::events::{HEAD_EVENT, HeadEvent};

/// How long to wait before reconnecting a dropped event stream.
pub const EVENTS_RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// The latest finalized head a node announced. Coalescing, like the server: whoever reads
/// slowly sees the newest head, never a backlog. Dropping it stops the background reader.
#[derive(Debug)]
pub struct HeadFollower {
    rx: watch::Receiver<Option<HeadEvent>>,
}

impl HeadFollower {
    /// Starts following `base_url`'s events on the current tokio runtime.
    pub fn start(base_url: &str) -> HeadFollower {
        let (tx, rx) = watch::channel(None);
        tokio::spawn(follow(
            format!("{}/v1/events", base_url.trim_end_matches('/')),
            tx,
        ));
        HeadFollower { rx }
    }

    /// Waits for a head newer than the last one returned (the first call returns the current
    /// head as soon as the stream delivers it).
    pub async fn next(&mut self) -> HeadEvent {
        loop {
            if self.rx.changed().await.is_err() {
                // The reader only stops when this follower is dropped.
                std::future::pending::<()>().await;
            }
            if let Some(h) = *self.rx.borrow_and_update() {
                return h;
            }
        }
    }

    /// The newest head seen so far, without waiting.
    pub fn latest(&self) -> Option<HeadEvent> {
        *self.rx.borrow()
    }
}

async fn follow(url: String, tx: watch::Sender<Option<HeadEvent>>) {
    // No overall timeout: the stream is meant to stay open; keep-alives arrive every 15 s.
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("http client builds");
    while !tx.is_closed() {
        if let Ok(resp) = http.get(&url).send().await
            && resp.status().is_success()
        {
            let mut events = resp.bytes_stream().eventsource();
            loop {
                // Stop as soon as the follower is dropped, not at the next event: a node
                // shutting down waits for its open streams.
                let ev = tokio::select! {
                    ev = events.next() => ev,
                    _ = tx.closed() => return,
                };
                let Some(Ok(ev)) = ev else { break };
                if ev.event != HEAD_EVENT {
                    continue;
                }
                if let Ok(head) = serde_json::from_str::<HeadEvent>(&ev.data)
                    && tx.send(Some(head)).is_err()
                {
                    return;
                }
            }
        }
        tokio::time::sleep(EVENTS_RECONNECT_DELAY).await;
    }
}
