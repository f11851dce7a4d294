//! Content-addressed blob storage: files named by the blake3 of their bytes, and the HTTP
//! routes (`/v1/blobs`) that a node or a provider agent serves them with.
//!
//! Bytes are verified on the way in (hashed while written, refused on a mismatch with the
//! expected hash) and on the way out (re-hashed when read; a file that no longer matches its
//! name is deleted and never handed out as a complete, successful answer).

mod error;
mod http;
mod store;

pub use error::BlobError;
pub use http::{BlobsApiDoc, openapi_with_limits, read_routes, routes};
pub use store::{BlobLimits, BlobStore, CollectReport, PutReceipt};
