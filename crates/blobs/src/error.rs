//! Why a blob operation failed, and the numbered API error each reason is answered with.

use yun_types::Hash32;
use yun_types::api::ApiErrorKind;

/// Why a blob could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the blob is over the limit of {bytes_max} bytes")]
    TooLarge { bytes_max: u64 },
    #[error("the blob store is full (at most {store_bytes_max} bytes)")]
    StoreFull { store_bytes_max: u64 },
    #[error("the bytes hash to {got}, not the expected {expected}")]
    HashMismatch { expected: Hash32, got: Hash32 },
    #[error("no blob {hash} here")]
    NotFound { hash: Hash32 },
    /// The file no longer hashes to its name; it has been deleted.
    #[error("blob {hash} was corrupt on disk and has been removed")]
    Corrupt { hash: Hash32 },
    #[error("bytes {offset}..+{len} are not inside the blob's {blob_bytes} bytes")]
    OutOfRange {
        offset: u64,
        len: u64,
        blob_bytes: u64,
    },
    #[error("chunk {chunk_index} is not in the blob (it has {chunks} chunks of 1 KiB)")]
    ChunkOutOfRange { chunk_index: u64, chunks: u64 },
    /// The blob is fine but its outboard was damaged; it has been rebuilt, so asking again works.
    #[error("the outboard of blob {hash} was damaged and has been rebuilt; ask again")]
    OutboardRebuilt { hash: Hash32 },
    #[error("the upload broke off: {0}")]
    Upload(String),
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
}

impl BlobError {
    /// The numbered API error this is answered with.
    pub fn kind(&self) -> ApiErrorKind {
        match self {
            BlobError::TooLarge { .. } => ApiErrorKind::BlobTooLarge,
            BlobError::StoreFull { .. } => ApiErrorKind::StoreFull,
            BlobError::HashMismatch { .. } => ApiErrorKind::BlobHashMismatch,
            // A corrupt copy is gone: to the caller the blob is simply not here any more.
            BlobError::NotFound { .. } | BlobError::Corrupt { .. } => ApiErrorKind::BlobNotFound,
            BlobError::OutOfRange { .. } | BlobError::ChunkOutOfRange { .. } => {
                ApiErrorKind::BadRange
            }
            BlobError::Upload(_) => ApiErrorKind::BadParameter,
            BlobError::OutboardRebuilt { .. } | BlobError::Io(_) => ApiErrorKind::Unavailable,
        }
    }

    /// The API error code (`ApiErrorKind` as a number).
    pub fn code(&self) -> u16 {
        self.kind() as u16
    }
}
