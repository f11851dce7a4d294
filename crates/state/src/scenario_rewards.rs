//! Rewards and downtime verbs for the scenario helper:
//!
//! ```text
//! s.tx("val1").act(set_commission(500)).expect_ok();
//! s.signed_by(&["a", "b", "c"]);     // the next block records who signed the last one
//! s.rewards().issued                  // where every issued unit went
//! ```

use crate::scenario::{Scenario, addr};
use crate::staking::epoch_of_height;
use yun_types::Action;
use yun_types::signers::SignerRecord;

pub fn set_commission(commission_bps: u16) -> Action {
    Action::SetCommission { commission_bps }
}

impl Scenario {
    /// The chain-wide rewards record.
    pub fn rewards(&mut self) -> crate::rewards::RewardsRecord {
        self.view().rewards_record()
    }

    /// A validator's liveness record.
    pub fn liveness(&mut self, name: &str) -> crate::rewards::Liveness {
        self.view().liveness(&addr(name))
    }

    /// The treasury's balance.
    pub fn treasury(&mut self) -> u128 {
        self.view().supply().treasury.base_units()
    }

    /// Units minted since genesis.
    pub fn minted(&mut self) -> u128 {
        self.view().supply().minted.base_units()
    }

    /// Makes the next block carry the signer record of the last block: of the consensus set
    /// of its epoch, the members named in `signers` signed. Genesis (height 0) is not
    /// finalized by consensus, so the first block carries no record.
    pub fn signed_by(&mut self, signers: &[&str]) -> &mut Self {
        let height = self.height;
        if height == 0 {
            self.view();
            self.signers = None;
            return self;
        }
        let epoch = epoch_of_height(&self.params.staking, height);
        let set = self.view().consensus_set(epoch);
        let signed = set
            .iter()
            .enumerate()
            .filter(|(_, a)| signers.iter().any(|n| addr(n) == **a))
            .map(|(i, _)| i);
        self.signers = Some(SignerRecord::from_signed(height, set.len(), signed));
        self
    }

    /// Runs `n` empty blocks, each recording that `signers` signed the one before it.
    pub fn blocks_signed_by(&mut self, n: u64, signers: &[&str]) -> &mut Self {
        for _ in 0..n {
            self.signed_by(signers).empty_block();
        }
        self
    }
}
