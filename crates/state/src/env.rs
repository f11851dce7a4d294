//! What a block gives its execution from outside the state: chain, height, time, proposer, seed.

use yun_types::signers::SignerRecord;
use yun_types::{Address, Block, Hash32, Header, SeedProof};

/// What the block itself contributes to execution: the only source of height, time and the
/// proposer (who receives what the pro-rata fee shares leave over).
#[derive(Debug, Clone)]
pub struct BlockEnv {
    pub chain_id: String,
    pub height: u64,
    pub timestamp_ms: u64,
    pub proposer: Address,
    /// The block's randomness: the hash of `seed_proof` (verifier selection, spot checks,
    /// tie-breaks). Nobody knows it before the proposer signs, and the proposer has no choice
    /// in it but to withhold the block.
    pub seed: Hash32,
    /// The proposer's unique BLS signature over the previous seed, checked by the state.
    pub seed_proof: SeedProof,
    /// Who signed the finalization of an earlier block, from its certificate (verified by the
    /// node before it proposes or votes); `None` when the block carries no record.
    pub signers: Option<SignerRecord>,
}

impl BlockEnv {
    /// The environment of a block, its seed derived from its proof.
    pub fn new(
        chain_id: &str,
        height: u64,
        timestamp_ms: u64,
        proposer: Address,
        seed_proof: SeedProof,
    ) -> BlockEnv {
        BlockEnv {
            chain_id: chain_id.to_string(),
            height,
            timestamp_ms,
            proposer,
            seed: seed_proof.seed(),
            seed_proof,
            signers: None,
        }
    }

    /// The same environment carrying a signer record.
    pub fn with_signers(mut self, signers: Option<SignerRecord>) -> BlockEnv {
        self.signers = signers;
        self
    }

    /// The environment a block's header alone gives its execution (no signer record).
    pub fn from_header(chain_id: &str, header: &Header) -> BlockEnv {
        BlockEnv::new(
            chain_id,
            header.height,
            header.timestamp_ms,
            header.proposer,
            header.seed_proof,
        )
    }

    /// The environment a whole block gives its execution: its header's, with the signer
    /// record it carries (what verifiers and the executor re-execute with).
    pub fn from_block(chain_id: &str, block: &Block) -> BlockEnv {
        BlockEnv::from_header(chain_id, &block.header)
            .with_signers(block.signers.as_ref().map(|p| p.record.clone()))
    }

    /// The height `blocks` after this block's, at least the next one: where a window or
    /// period that starts in this block ends. A period reaching past the last height
    /// saturates (it never ends) rather than wrapping to a height already past.
    pub fn height_after(&self, blocks: u64) -> u64 {
        self.height.saturating_add(blocks.max(1))
    }
}
