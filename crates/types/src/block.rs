//! Blocks: a header committing to the parent, the transactions and the post-state root.

use crate::limits::BLOCK_TXS_MAX;
use crate::signers::SignerProof;
use crate::{Address, Hash32, SeedProof, SignedTx, TxId};
use bytes::BufMut;
use commonware_codec::{Buf, Encode, EncodeSize, Error, RangeCfg, Read, ReadExt, Write};

/// A block's identity: blake3 of its encoded header.
pub type BlockHash = Hash32;

/// Everything a light client needs to follow the chain and check state proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub parent: BlockHash,
    pub height: u64,
    /// Proposer's clock, in milliseconds since the Unix epoch; never earlier than the parent's.
    pub timestamp_ms: u64,
    pub proposer: Address,
    /// The proposer's BLS signature over the previous block's seed: this block's randomness
    /// is its hash (see [`crate::seed`]). Zero bytes in the genesis block.
    pub seed_proof: SeedProof,
    /// Root of the authenticated state after applying this block's transactions.
    pub state_root: Hash32,
    /// Commitment to the ordered transaction ids (see [`txs_root`]).
    pub txs_root: Hash32,
    pub tx_count: u32,
    /// Commitment to the block's signer record and its certificate ([`SignerProof::root`];
    /// zero bytes when the block carries none).
    pub signers_root: Hash32,
}

impl Write for Header {
    fn write(&self, buf: &mut impl BufMut) {
        self.parent.write(buf);
        self.height.write(buf);
        self.timestamp_ms.write(buf);
        self.proposer.write(buf);
        self.seed_proof.write(buf);
        self.state_root.write(buf);
        self.txs_root.write(buf);
        self.tx_count.write(buf);
        self.signers_root.write(buf);
    }
}

impl commonware_codec::FixedSize for Header {
    const SIZE: usize =
        32 + 8 + 8 + 32 + <SeedProof as commonware_codec::FixedSize>::SIZE + 32 + 32 + 4 + 32;
}

impl Read for Header {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Header {
            parent: Hash32::read(buf)?,
            height: u64::read(buf)?,
            timestamp_ms: u64::read(buf)?,
            proposer: Address::read(buf)?,
            seed_proof: SeedProof::read(buf)?,
            state_root: Hash32::read(buf)?,
            txs_root: Hash32::read(buf)?,
            tx_count: u32::read(buf)?,
            signers_root: Hash32::read(buf)?,
        })
    }
}

impl Header {
    pub fn hash(&self) -> BlockHash {
        Hash32::digest(&self.encode())
    }
}

/// A header, its transactions in execution order, and the signer record it carries (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub header: Header,
    pub txs: Vec<SignedTx>,
    pub signers: Option<SignerProof>,
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.header.write(buf);
        self.txs.write(buf);
        self.signers.write(buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        self.header.encode_size() + self.txs.encode_size() + self.signers.encode_size()
    }
}

impl Read for Block {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        let header = Header::read(buf)?;
        let txs = Vec::<SignedTx>::read_cfg(buf, &(RangeCfg::new(0..=BLOCK_TXS_MAX), ()))?;
        if txs.len() != header.tx_count as usize {
            return Err(Error::Invalid(
                "Block",
                "tx_count does not match the transactions",
            ));
        }
        let signers = Option::<SignerProof>::read(buf)?;
        if SignerProof::root(signers.as_ref()) != header.signers_root {
            return Err(Error::Invalid(
                "Block",
                "signers_root does not match the signer record",
            ));
        }
        Ok(Block {
            header,
            txs,
            signers,
        })
    }
}

impl Block {
    /// A block over `txs` and `signers`, filling in the commitments and count its header needs.
    #[allow(clippy::too_many_arguments)]
    pub fn assemble(
        parent: BlockHash,
        height: u64,
        timestamp_ms: u64,
        proposer: Address,
        seed_proof: SeedProof,
        state_root: Hash32,
        txs: Vec<SignedTx>,
        signers: Option<SignerProof>,
    ) -> Block {
        let header = Header {
            parent,
            height,
            timestamp_ms,
            proposer,
            seed_proof,
            state_root,
            txs_root: txs_root(txs.iter().map(SignedTx::id)),
            tx_count: txs.len() as u32,
            signers_root: SignerProof::root(signers.as_ref()),
        };
        Block {
            header,
            txs,
            signers,
        }
    }

    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    pub fn height(&self) -> u64 {
        self.header.height
    }
}

/// blake3 over the concatenated ids, in order: binds the header to exactly these transactions.
pub fn txs_root(ids: impl IntoIterator<Item = TxId>) -> Hash32 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"yun/txs-root/v1");
    for id in ids {
        hasher.update(id.as_bytes());
    }
    Hash32(*hasher.finalize().as_bytes())
}

/// The digest consensus orders: the same bytes as [`Header::hash`], in commonware's type.
pub type ConsensusDigest = commonware_cryptography::blake3::Digest;

impl commonware_consensus::Heightable for Block {
    fn height(&self) -> commonware_consensus::types::Height {
        commonware_consensus::types::Height::new(self.header.height)
    }
}

impl commonware_cryptography::Digestible for Block {
    type Digest = ConsensusDigest;
    fn digest(&self) -> ConsensusDigest {
        commonware_cryptography::blake3::Digest(self.header.hash().0)
    }
}

impl commonware_consensus::Block for Block {
    fn parent(&self) -> ConsensusDigest {
        commonware_cryptography::blake3::Digest(self.header.parent.0)
    }
}

/// The height-0 block every node derives from `genesis.json` and its state root.
pub fn genesis_block(genesis: &crate::Genesis, state_root: Hash32) -> Block {
    Block {
        header: Header {
            parent: Hash32::ZERO,
            height: 0,
            timestamp_ms: genesis.genesis_time_ms,
            proposer: Address([0; 32]),
            seed_proof: SeedProof::GENESIS,
            state_root,
            txs_root: txs_root([]),
            tx_count: 0,
            signers_root: Hash32::ZERO,
        },
        txs: Vec::new(),
        signers: None,
    }
}
