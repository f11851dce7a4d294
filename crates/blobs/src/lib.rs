//! Content-addressed blob storage: files named by the blake3 of their bytes, and the HTTP
//! routes (`/v1/blobs`) that a node or a provider agent serves them with.
//!
//! Bytes are verified on the way in (hashed while written, refused on a mismatch with the
//! expected hash) and on the way out (re-hashed when read; a file that no longer matches its
//! name is deleted and never handed out as a complete, successful answer).
//!
//! Each blob keeps its BLAKE3 tree (a bao outboard, 16 KiB groups) beside it, so a byte range
//! is served with the hashes that prove it (`GET /v1/blobs/{hash}/bao`) and a storage proof of
//! one 1 KiB chunk costs one group's read (`BlobStore::prove_chunk`).

mod error;
mod http;
mod http_bao;
mod http_error;
mod store;
mod store_tree;
pub mod tree;

pub use error::BlobError;
pub use http::{BlobsApiDoc, openapi_with_limits, read_routes, routes};
pub use http_bao::BLOB_BYTES_HEADER;
pub use store::{BlobLimits, BlobStore, CollectReport, PutReceipt};
pub use store_tree::BlobTree;
