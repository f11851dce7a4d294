//! The Yun node: consensus wiring, mempool, block production and verification, the
//! finalized-block executor, the HTTP API and the Ethereum JSON-RPC.

pub mod api;
pub mod api_common;
pub mod api_data;
pub mod api_events;
pub mod api_governance;
pub mod api_guard;
pub mod api_limits;
pub mod api_lists;
pub mod api_market;
pub mod api_serve;
pub mod api_staking;
pub mod api_storage;
pub mod api_txs;
pub mod app;
pub mod blob_gc;
pub mod block_budget;
pub mod commit_wait;
pub mod console;
pub mod engine;
pub mod epochs;
pub mod eth_rpc;
pub mod eth_rpc_methods;
pub mod evidence;
pub mod evidence_submit;
pub mod executor;
pub mod gossip;
pub mod late_votes;
pub mod mempool;
pub mod metrics;
pub mod peers;
pub mod private_file;
pub mod run;
pub mod signers;
pub mod state;
pub mod upload_quota;

pub use state::{BlockTiming, NodeState};
