//! Wire types of the storage market: storage offers, deals, the chunk proofs that answer
//! storage challenges, and the sealed keys that let assigned providers read an encrypted job.
//!
//! A stored file is named by its root (the BLAKE3 hash of its bytes, which is also the root of
//! its bao tree) and its size. A challenge asks for one 1 KiB BLAKE3 chunk; the answer is the
//! bao-tree pre-order encoding of that chunk's range (the chunk plus the sibling hashes on its
//! path), which [`verify_chunk_proof`] checks against the root without any other state.

use crate::market::{JobId, Text, URL_BYTES_MAX, codec_struct, list};
use crate::{Address, Amount, Hash32};
use bao_tree::io::sync::DecodeResponseIter;
use bao_tree::{BaoTree, BlockSize, ChunkNum, ChunkRanges};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, RangeCfg, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// Bytes in one challenged chunk: one BLAKE3 chunk (bao-tree `BlockSize::ZERO`).
pub const STORAGE_CHUNK_BYTES: u64 = 1024;
/// Largest file one deal may store (64 GiB): bounds a proof's depth and the escrow arithmetic.
pub const DEAL_BYTES_MAX: u64 = 64 * 1024 * 1024 * 1024;
/// Most replicas one deal may ask for.
pub const DEAL_REPLICAS_MAX: u8 = 9;
/// Most epochs one deal may last.
pub const DEAL_EPOCHS_MAX: u32 = 1_000_000;
/// Longest chunk proof: one 1 KiB chunk and at most 26 levels of 64-byte sibling pairs for a
/// 64 GiB file, with room to spare.
pub const STORAGE_PROOF_BYTES_MAX: usize = 4 * 1024;
/// Most chunk proofs in one transaction (keeps a full transaction under `TX_BYTES_MAX`).
pub const STORAGE_PROOFS_PER_TX_MAX: usize = 16;
/// Most sealed keys in one transaction: one per replica of every task of a job would be too
/// many, so a requester shares keys per provider, not per task.
pub const SEALED_KEYS_PER_TX_MAX: usize = 64;
/// Longest sealed key (an HPKE/age envelope of a 32-byte key).
pub const SEALED_KEY_BYTES_MAX: usize = 512;

/// The id of a deal: the id of the transaction that posted it.
pub type DealId = Hash32;

/// A provider's x25519 public key for data sealed to it (32 bytes, shown as hex).
pub type EncryptionKey = Hash32;

/// What a requester asks to store.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct DealSpec {
    /// BLAKE3 (bao) root of the stored bytes (the ciphertext, when `encrypted`).
    pub root: Hash32,
    /// Exact size of the stored bytes; with `root` it names the file.
    pub size_bytes: u64,
    /// How many providers keep a copy.
    pub replicas: u8,
    /// How many storage epochs the deal lasts once its replicas are assigned.
    pub epochs: u32,
    /// Highest price the requester pays, per MiB (rounded up) per epoch per replica.
    pub bid_per_mib_epoch: Amount,
    /// The bytes are ciphertext (client-side encryption); providers never hold a key.
    pub encrypted: bool,
    /// Where the first copy can be fetched (the node the requester uploaded to); empty for
    /// "any node".
    pub source_url: Text,
}
codec_struct!(DealSpec {
    root: (),
    size_bytes: (),
    replicas: (),
    epochs: (),
    bid_per_mib_epoch: (),
    encrypted: (),
    source_url: URL_BYTES_MAX,
});

/// One answer to one storage challenge.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct StorageProof {
    pub deal: DealId,
    /// Which replica of the deal this answers for (its index, 0-based).
    pub replica: u8,
    /// The storage epoch whose challenge this answers.
    pub epoch: u64,
    /// The bao-tree encoding of the challenged chunk (see [`verify_chunk_proof`]), as hex.
    #[serde(with = "hex::serde")]
    #[schema(value_type = String)]
    pub encoding: Vec<u8>,
}
codec_struct!(StorageProof {
    deal: (),
    replica: (),
    epoch: (),
    encoding: (RangeCfg::new(0..=STORAGE_PROOF_BYTES_MAX), ()),
});

/// A job's data key sealed to one provider's [`EncryptionKey`].
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct SealedKey {
    pub provider: Address,
    /// The envelope, as hex; only the provider's secret key opens it.
    #[serde(with = "hex::serde")]
    #[schema(value_type = String)]
    pub sealed: Vec<u8>,
}
codec_struct!(SealedKey {
    provider: (),
    sealed: (RangeCfg::new(0..=SEALED_KEY_BYTES_MAX), ()),
});

/// The storage domain's actions (one tag of [`crate::Action`]; the inner tag is part of the
/// protocol too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StorageAction {
    /// A registered provider offers `capacity_bytes` of storage at `ask_per_mib_epoch` or more;
    /// zero capacity withdraws the offer (replicas it holds keep running to their end).
    OfferStorage {
        capacity_bytes: u64,
        ask_per_mib_epoch: Amount,
    },
    /// A registered provider publishes the x25519 key that job keys are sealed to.
    SetEncryptionKey { key: EncryptionKey },
    /// Store a file, locking escrow for the worst case
    /// (replicas × epochs × MiB × bid).
    PostDeal { spec: DealSpec },
    /// The owner ends a deal early: the epochs already proven stay paid, the rest of the escrow
    /// returns in the same block.
    CancelDeal { deal: DealId },
    /// A provider answers storage challenges for replicas it holds.
    ProveStorage { proofs: Vec<StorageProof> },
    /// A requester seals an encrypted job's data key to the providers assigned to it.
    ShareJobKeys { job: JobId, keys: Vec<SealedKey> },
}

impl StorageAction {
    fn tag(&self) -> u8 {
        match self {
            StorageAction::OfferStorage { .. } => 0,
            StorageAction::SetEncryptionKey { .. } => 1,
            StorageAction::PostDeal { .. } => 2,
            StorageAction::CancelDeal { .. } => 3,
            StorageAction::ProveStorage { .. } => 4,
            StorageAction::ShareJobKeys { .. } => 5,
        }
    }

    /// A short name for receipts and logs.
    pub fn name(&self) -> &'static str {
        match self {
            StorageAction::OfferStorage { .. } => "offer_storage",
            StorageAction::SetEncryptionKey { .. } => "set_encryption_key",
            StorageAction::PostDeal { .. } => "post_deal",
            StorageAction::CancelDeal { .. } => "cancel_deal",
            StorageAction::ProveStorage { .. } => "prove_storage",
            StorageAction::ShareJobKeys { .. } => "share_job_keys",
        }
    }
}

impl Write for StorageAction {
    fn write(&self, buf: &mut impl BufMut) {
        self.tag().write(buf);
        match self {
            StorageAction::OfferStorage {
                capacity_bytes,
                ask_per_mib_epoch,
            } => {
                capacity_bytes.write(buf);
                ask_per_mib_epoch.write(buf);
            }
            StorageAction::SetEncryptionKey { key } => key.write(buf),
            StorageAction::PostDeal { spec } => spec.write(buf),
            StorageAction::CancelDeal { deal } => deal.write(buf),
            StorageAction::ProveStorage { proofs } => proofs.write(buf),
            StorageAction::ShareJobKeys { job, keys } => {
                job.write(buf);
                keys.write(buf);
            }
        }
    }
}

impl EncodeSize for StorageAction {
    fn encode_size(&self) -> usize {
        1 + match self {
            StorageAction::OfferStorage {
                capacity_bytes,
                ask_per_mib_epoch,
            } => capacity_bytes.encode_size() + ask_per_mib_epoch.encode_size(),
            StorageAction::SetEncryptionKey { key } => key.encode_size(),
            StorageAction::PostDeal { spec } => spec.encode_size(),
            StorageAction::CancelDeal { deal } => deal.encode_size(),
            StorageAction::ProveStorage { proofs } => proofs.encode_size(),
            StorageAction::ShareJobKeys { job, keys } => job.encode_size() + keys.encode_size(),
        }
    }
}

impl Read for StorageAction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(match u8::read(buf)? {
            0 => StorageAction::OfferStorage {
                capacity_bytes: u64::read(buf)?,
                ask_per_mib_epoch: Amount::read(buf)?,
            },
            1 => StorageAction::SetEncryptionKey {
                key: Hash32::read(buf)?,
            },
            2 => StorageAction::PostDeal {
                spec: DealSpec::read(buf)?,
            },
            3 => StorageAction::CancelDeal {
                deal: Hash32::read(buf)?,
            },
            4 => StorageAction::ProveStorage {
                proofs: Vec::read_cfg(buf, &list(STORAGE_PROOFS_PER_TX_MAX, ()))?,
            },
            5 => StorageAction::ShareJobKeys {
                job: Hash32::read(buf)?,
                keys: Vec::read_cfg(buf, &list(SEALED_KEYS_PER_TX_MAX, ()))?,
            },
            tag => return Err(Error::InvalidEnum(tag)),
        })
    }
}

/// How many 1 KiB chunks a file of `size_bytes` has (an empty file has one, empty, chunk).
pub fn chunk_count(size_bytes: u64) -> u64 {
    size_bytes.div_ceil(STORAGE_CHUNK_BYTES).max(1)
}

/// MiB billed for a file: its size rounded up to whole MiB, at least one.
pub fn billed_mib(size_bytes: u64) -> u64 {
    size_bytes.div_ceil(1024 * 1024).max(1)
}

/// Why a chunk proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkProofError {
    #[error("chunk {index} is past the end of a {size_bytes}-byte file")]
    IndexOutOfRange { index: u64, size_bytes: u64 },
    #[error("the proof does not hash to the deal's root: {0}")]
    Mismatch(String),
    #[error("the proof has {0} bytes after the challenged chunk")]
    TrailingBytes(usize),
    #[error("the proof holds no chunk")]
    NoChunk,
}

/// Checks that `encoding` is the bao-tree encoding (1 KiB leaves) of chunk `index` of the file
/// named by `root` and `size_bytes`: every parent pair on the path hashes to its parent, the
/// chunk's bytes hash to its leaf, and nothing else follows. Pure: no I/O, no clock.
pub fn verify_chunk_proof(
    root: &Hash32,
    size_bytes: u64,
    index: u64,
    encoding: &[u8],
) -> Result<(), ChunkProofError> {
    if index >= chunk_count(size_bytes) {
        return Err(ChunkProofError::IndexOutOfRange { index, size_bytes });
    }
    let tree = BaoTree::new(size_bytes, BlockSize::ZERO);
    let ranges = ChunkRanges::from(ChunkNum(index)..ChunkNum(index + 1));
    let mut reader = encoding;
    let mut leaves = 0usize;
    for item in
        DecodeResponseIter::new(blake3::Hash::from_bytes(root.0), tree, &mut reader, &ranges)
    {
        let item = item.map_err(|e| ChunkProofError::Mismatch(e.to_string()))?;
        if item.is_leaf() {
            leaves += 1;
        }
    }
    if !reader.is_empty() {
        return Err(ChunkProofError::TrailingBytes(reader.len()));
    }
    if leaves == 0 {
        return Err(ChunkProofError::NoChunk);
    }
    Ok(())
}

/// Builds the proof of chunk `index` of an in-memory file by hashing the whole file. A storage
/// provider keeps an outboard instead (`yun_blobs`); this is for tests, benchmarks and
/// simulations.
pub fn encode_chunk_proof(data: &[u8], index: u64) -> Vec<u8> {
    let outboard = bao_tree::io::outboard::PreOrderMemOutboard::create(data, BlockSize::ZERO);
    let ranges = ChunkRanges::from(ChunkNum(index)..ChunkNum(index + 1));
    let mut encoded = Vec::new();
    bao_tree::io::sync::encode_ranges_validated(data, &outboard, &ranges, &mut encoded)
        .expect("an in-memory outboard of the same data encodes every range");
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 1024) as u8).collect()
    }

    #[test]
    fn a_chunk_proof_verifies_and_names_the_plain_blake3_root() {
        let data = file(100 * 1024 + 17);
        let root = Hash32(*blake3::hash(&data).as_bytes());
        for index in [0, 1, 50, 100] {
            let proof = encode_chunk_proof(&data, index);
            assert!(proof.len() <= STORAGE_PROOF_BYTES_MAX);
            assert_eq!(
                verify_chunk_proof(&root, data.len() as u64, index, &proof),
                Ok(())
            );
        }
    }

    #[test]
    fn a_proof_for_another_index_a_tampered_byte_or_another_root_is_refused() {
        let data = file(64 * 1024);
        let size = data.len() as u64;
        let root = Hash32(*blake3::hash(&data).as_bytes());
        let proof = encode_chunk_proof(&data, 5);
        assert!(verify_chunk_proof(&root, size, 6, &proof).is_err());
        let mut tampered = proof.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            verify_chunk_proof(&root, size, 5, &tampered),
            Err(ChunkProofError::Mismatch(_))
        ));
        assert!(verify_chunk_proof(&Hash32([9; 32]), size, 5, &proof).is_err());
        let mut longer = proof.clone();
        longer.push(0);
        assert_eq!(
            verify_chunk_proof(&root, size, 5, &longer),
            Err(ChunkProofError::TrailingBytes(1))
        );
        assert!(matches!(
            verify_chunk_proof(&root, size, 64, &proof),
            Err(ChunkProofError::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn storage_actions_round_trip_through_the_codec() {
        use commonware_codec::{DecodeExt, Encode};
        let actions = [
            StorageAction::OfferStorage {
                capacity_bytes: 1 << 30,
                ask_per_mib_epoch: Amount::new(3),
            },
            StorageAction::PostDeal {
                spec: DealSpec {
                    root: Hash32([1; 32]),
                    size_bytes: 5,
                    replicas: 3,
                    epochs: 10,
                    bid_per_mib_epoch: Amount::new(4),
                    encrypted: true,
                    source_url: Text::from("http://127.0.0.1:1"),
                },
            },
            StorageAction::ProveStorage {
                proofs: vec![StorageProof {
                    deal: Hash32([2; 32]),
                    replica: 1,
                    epoch: 7,
                    encoding: vec![1, 2, 3],
                }],
            },
        ];
        for action in actions {
            let bytes = action.encode();
            assert_eq!(StorageAction::decode(bytes).unwrap(), action);
        }
    }
}
