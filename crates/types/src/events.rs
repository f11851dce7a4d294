//! Server-sent events of `GET /v1/events`: what agents, the CLI and the dashboard follow
//! instead of polling.
use crate::{BlockHash, Hash32};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The SSE event name of [`HeadEvent`].
pub const HEAD_EVENT: &str = "head";

/// A new finalized head. Events are coalesced: a slow subscriber sees the latest head, not
/// every height, so a consumer re-reads whatever state it follows on each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeadEvent {
    pub height: u64,
    pub block_hash: BlockHash,
    pub state_root: Hash32,
    pub timestamp_ms: u64,
}
