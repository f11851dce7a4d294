//! JSON shapes of what a node tells about its place in the network: its role, its peers and
//! the other nodes' APIs that serve blobs.

use crate::Address;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A validator votes and proposes; a full node follows finalized blocks and serves the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    Validator,
    FullNode,
}

impl std::fmt::Display for NodeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NodeRole::Validator => "validator",
            NodeRole::FullNode => "full node",
        })
    }
}

/// One p2p peer as this node's network layer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PeerView {
    /// The peer's identity (its p2p key as an address; for a validator, its validator address).
    pub address: Address,
    /// When the current connection was established, if connected (ms since the Unix epoch).
    pub connected_since_ms: Option<u64>,
    /// Until when the peer is blocked for sending invalid messages, if it is.
    pub blocked_until_ms: Option<u64>,
}

/// Most peer API URLs a node is configured with and lists in `GET /v1/network/sources`.
pub const PEER_API_URLS_MAX: usize = 16;

/// `GET /v1/network/sources`: other nodes' API base URLs that serve `GET /v1/blobs/{root}`,
/// in the order this node's operator listed them (a provider tries them after this node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DataSourcesResponse {
    /// At most [`PEER_API_URLS_MAX`], each at most `URL_BYTES_MAX` bytes.
    pub peer_api_urls: Vec<String>,
}
