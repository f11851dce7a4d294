//! Epoch arithmetic, and how many epochs of consensus sets the state keeps for evidence.
//!
//! Which epoch a height is in, where an epoch starts and which block ends it (the one whose
//! end-of-block step chooses the next epoch's set).

use yun_types::StakingParams;

/// The epoch a height belongs to.
pub fn epoch_of_height(params: &StakingParams, height: u64) -> u64 {
    height / params.epoch_blocks.max(1)
}

/// The first height of an epoch.
pub fn first_height_of_epoch(params: &StakingParams, epoch: u64) -> u64 {
    epoch.saturating_mul(params.epoch_blocks.max(1))
}

/// Whether `height` is the last block of its epoch (the one whose end-of-block step chooses
/// the next epoch's active set).
pub fn is_last_block_of_epoch(params: &StakingParams, height: u64) -> bool {
    (height % params.epoch_blocks.max(1)) == params.epoch_blocks.max(1) - 1
}

/// How many epochs' consensus sets the state keeps (the current one included): evidence from
/// an older epoch no longer verifies (`EvidenceInvalid`). Validators report within seconds;
/// the window only bounds the state.
pub const EVIDENCE_EPOCHS_KEPT: u64 = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_split_heights() {
        let p = StakingParams {
            epoch_blocks: 10,
            ..StakingParams::default()
        };
        assert_eq!(epoch_of_height(&p, 0), 0);
        assert_eq!(epoch_of_height(&p, 9), 0);
        assert_eq!(epoch_of_height(&p, 10), 1);
        assert!(is_last_block_of_epoch(&p, 9));
        assert!(!is_last_block_of_epoch(&p, 10));
        assert_eq!(first_height_of_epoch(&p, 3), 30);
    }
}
