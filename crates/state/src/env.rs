//! What a block gives its execution from outside the state: chain, height, time, proposer, seed.

use yun_types::{Address, Hash32};

/// What the block itself contributes to execution: the only source of height, time and the
/// proposer (who receives what the pro-rata fee shares leave over).
#[derive(Debug, Clone)]
pub struct BlockEnv {
    pub chain_id: String,
    pub height: u64,
    pub timestamp_ms: u64,
    pub proposer: Address,
    /// The parent block's hash: the block's randomness (market tie-breaks). A proposer can
    /// influence it only by choosing among its own candidate blocks.
    pub seed: Hash32,
}

impl BlockEnv {
    /// The height `blocks` after this block's, at least the next one: where a window or
    /// period that starts in this block ends. A period reaching past the last height
    /// saturates (it never ends) rather than wrapping to a height already past.
    pub fn height_after(&self, blocks: u64) -> u64 {
        self.height.saturating_add(blocks.max(1))
    }
}
