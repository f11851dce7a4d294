//! Block randomness: a chain of unique BLS signatures, each proposer signing the seed before it.
//!
//! A BLS12-381 signature is *unique*: for one key and one message exactly one valid signature
//! exists. So when a block's proposer must sign the previous block's seed (with the chain and
//! height), it has no freedom at all in the value: it cannot grind timestamps or transaction
//! orders for a seed it likes. Its only lever is to withhold its block, which hands the round
//! to the next leader and costs it the block's fees (one bit of influence per round it leads,
//! bought with a lost block). The next seed is unknown to everyone but that proposer until the
//! block is out, so a provider cannot know, when it commits, what a later block will decide.
//!
//! Each validator's seed key is derived from its ed25519 node key (no second secret to keep),
//! registered with a proof of possession, and checked by the state machine on every block.

use crate::codec_util::read_array;
use crate::{Address, Hash32};
use bytes::BufMut;
use commonware_codec::{Buf, DecodeExt, Encode, Error, FixedSize, Read, Write};
use commonware_cryptography::bls12381::{PrivateKey, PublicKey, Signature};
use commonware_cryptography::{Signer as _, Verifier as _};
use commonware_math::algebra::Random as _;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Namespace of the signature over the previous seed.
pub const SEED_NAMESPACE: &[u8] = b"yun/seed/v1";
/// Namespace of the proof of possession a seed key is registered with.
pub const SEED_KEY_POSSESSION_NAMESPACE: &[u8] = b"yun/seed-key/possession/v1";
/// Bytes of a seed key (a compressed BLS12-381 G1 point).
pub const SEED_KEY_BYTES: usize = 48;
/// Bytes of a seed proof (a compressed BLS12-381 G2 point).
pub const SEED_PROOF_BYTES: usize = 96;

/// A validator's registered BLS public key, the one its seed proofs verify under.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeedKey(pub [u8; SEED_KEY_BYTES]);

/// A BLS signature over the previous seed: the block's randomness is its hash. The zero bytes
/// are the genesis block's (nobody signs before the chain exists).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeedProof(pub [u8; SEED_PROOF_BYTES]);

impl SeedProof {
    pub const GENESIS: SeedProof = SeedProof([0; SEED_PROOF_BYTES]);

    /// The block's randomness: the hash of the unique signature.
    pub fn seed(&self) -> Hash32 {
        let mut h = blake3::Hasher::new_derive_key("yun/seed/from-proof/v1");
        h.update(&self.0);
        Hash32(*h.finalize().as_bytes())
    }
}

/// The seed before the first block: fixed by the chain's identity, known to all.
pub fn genesis_seed(chain_id: &str, genesis_time_ms: u64) -> Hash32 {
    let mut h = blake3::Hasher::new_derive_key("yun/seed/genesis/v1");
    h.update(chain_id.as_bytes());
    h.update(&genesis_time_ms.to_be_bytes());
    Hash32(*h.finalize().as_bytes())
}

/// What the proposer of block `height` signs: the chain, the height and the previous seed.
/// The height makes a proof for one block useless at any other.
pub fn seed_message(chain_id: &str, height: u64, previous_seed: &Hash32) -> Vec<u8> {
    let mut m = Vec::with_capacity(chain_id.len() + 8 + 8 + 32);
    m.extend_from_slice(&(chain_id.len() as u64).to_be_bytes());
    m.extend_from_slice(chain_id.as_bytes());
    m.extend_from_slice(&height.to_be_bytes());
    m.extend_from_slice(previous_seed.as_bytes());
    m
}

impl Default for SeedKey {
    /// All zeros: not a key (what a genesis file from before seed keys reads as).
    fn default() -> Self {
        SeedKey([0; SEED_KEY_BYTES])
    }
}

impl SeedKey {
    fn public(&self) -> Option<PublicKey> {
        PublicKey::decode(commonware_codec::Copying(&self.0)).ok()
    }

    /// Whether the bytes are a valid key (a point of the right subgroup, not the identity).
    pub fn is_valid(&self) -> bool {
        self.public().is_some()
    }

    /// Whether `proof` is this key's signature of `message` under `namespace`.
    fn verifies(&self, namespace: &[u8], message: &[u8], proof: &SeedProof) -> bool {
        let (Some(key), Ok(sig)) = (
            self.public(),
            Signature::decode(commonware_codec::Copying(&proof.0)),
        ) else {
            return false;
        };
        key.verify(namespace, message, &sig)
    }

    /// Whether `proof` is the seed of block `height`, signed by this key over `previous_seed`.
    pub fn verify_seed(
        &self,
        chain_id: &str,
        height: u64,
        previous_seed: &Hash32,
        proof: &SeedProof,
    ) -> bool {
        self.verifies(
            SEED_NAMESPACE,
            &seed_message(chain_id, height, previous_seed),
            proof,
        )
    }

    /// Whether `possession` proves that `owner` holds this key's secret (so nobody registers a
    /// key it cannot sign with, or somebody else's).
    pub fn verify_possession(&self, owner: &Address, possession: &SeedProof) -> bool {
        self.verifies(SEED_KEY_POSSESSION_NAMESPACE, owner.as_bytes(), possession)
    }
}

/// The secret half of a seed key, held by a validator's node.
#[derive(Clone)]
pub struct SeedSigner(PrivateKey);

impl SeedSigner {
    /// Derives the seed key from a node's ed25519 secret bytes, so a validator keeps one secret.
    pub fn from_node_secret(node_secret: &[u8]) -> SeedSigner {
        let mut h = blake3::Hasher::new_derive_key("yun/seed-key/from-node-key/v1");
        h.update(node_secret);
        let rng = ChaCha20Rng::from_seed(*h.finalize().as_bytes());
        SeedSigner(PrivateKey::random(rng))
    }

    /// The seed key of an ed25519 node key.
    pub fn from_node_key(key: &commonware_cryptography::ed25519::PrivateKey) -> SeedSigner {
        SeedSigner::from_node_secret(&key.encode())
    }

    pub fn key(&self) -> SeedKey {
        let bytes = self.0.public_key().encode();
        SeedKey(bytes[..].try_into().expect("a BLS public key is 48 bytes"))
    }

    fn sign(&self, namespace: &[u8], message: &[u8]) -> SeedProof {
        let bytes = self.0.sign(namespace, message).encode();
        SeedProof(bytes[..].try_into().expect("a BLS signature is 96 bytes"))
    }

    /// The proof for block `height` over the seed before it.
    pub fn prove_seed(&self, chain_id: &str, height: u64, previous_seed: &Hash32) -> SeedProof {
        self.sign(
            SEED_NAMESPACE,
            &seed_message(chain_id, height, previous_seed),
        )
    }

    /// The proof of possession registered with the key, binding it to `owner`.
    pub fn possession(&self, owner: &Address) -> SeedProof {
        self.sign(SEED_KEY_POSSESSION_NAMESPACE, owner.as_bytes())
    }
}

impl fmt::Debug for SeedSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeedSigner({})", self.key())
    }
}

macro_rules! hex_bytes {
    ($t:ident, $n:expr, $what:literal) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self)
            }
        }
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let mut out = [0u8; $n];
                hex::decode_to_slice(s.trim_start_matches("0x"), &mut out)
                    .map_err(|_| format!("expected {} hex characters ({})", 2 * $n, $what))?;
                Ok($t(out))
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        impl Write for $t {
            fn write(&self, buf: &mut impl BufMut) {
                buf.put_slice(&self.0);
            }
        }
        impl FixedSize for $t {
            const SIZE: usize = $n;
        }
        impl Read for $t {
            type Cfg = ();
            fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
                Ok($t(read_array::<$n>(buf)?))
            }
        }
        impl borsh::BorshSerialize for $t {
            fn serialize<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
                w.write_all(&self.0)
            }
        }
        impl borsh::BorshDeserialize for $t {
            fn deserialize_reader<R: std::io::Read>(r: &mut R) -> std::io::Result<Self> {
                let mut out = [0u8; $n];
                r.read_exact(&mut out)?;
                Ok($t(out))
            }
        }
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^[0-9a-f]{", stringify!($n), "}$")))
                    .description(Some($what))
                    .into()
            }
        }
        impl utoipa::ToSchema for $t {}
    };
}

hex_bytes!(
    SeedKey,
    SEED_KEY_BYTES,
    "a BLS12-381 seed key, 96 hex characters"
);
hex_bytes!(
    SeedProof,
    SEED_PROOF_BYTES,
    "a BLS12-381 seed proof, 192 hex characters"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_proof_verifies_only_for_its_key_chain_height_and_previous_seed() {
        let alice = SeedSigner::from_node_secret(b"alice");
        let bob = SeedSigner::from_node_secret(b"bob");
        let prev = genesis_seed("yun-test", 0);
        let proof = alice.prove_seed("yun-test", 1, &prev);
        assert!(alice.key().verify_seed("yun-test", 1, &prev, &proof));
        assert!(!bob.key().verify_seed("yun-test", 1, &prev, &proof));
        assert!(!alice.key().verify_seed("yun-test", 2, &prev, &proof));
        assert!(!alice.key().verify_seed("yun-other", 1, &prev, &proof));
        assert!(
            !alice
                .key()
                .verify_seed("yun-test", 1, &Hash32::ZERO, &proof)
        );
        assert!(
            !alice
                .key()
                .verify_seed("yun-test", 1, &prev, &SeedProof::GENESIS)
        );
    }

    #[test]
    fn the_signature_is_unique_so_signing_twice_gives_the_same_seed() {
        let alice = SeedSigner::from_node_secret(b"alice");
        let prev = genesis_seed("yun-test", 7);
        let a = alice.prove_seed("yun-test", 5, &prev);
        let b = SeedSigner::from_node_secret(b"alice").prove_seed("yun-test", 5, &prev);
        assert_eq!(a, b);
        assert_eq!(a.seed(), b.seed());
        assert_ne!(a.seed(), alice.prove_seed("yun-test", 6, &prev).seed());
    }

    #[test]
    fn possession_binds_the_key_to_its_owner() {
        let alice = SeedSigner::from_node_secret(b"alice");
        let (a, b) = (Address([1; 32]), Address([2; 32]));
        let pop = alice.possession(&a);
        assert!(alice.key().verify_possession(&a, &pop));
        assert!(!alice.key().verify_possession(&b, &pop));
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(!SeedKey([0xff; SEED_KEY_BYTES]).is_valid());
        assert!(!SeedKey([0; SEED_KEY_BYTES]).is_valid());
        assert!(SeedSigner::from_node_secret(b"x").key().is_valid());
    }
}
