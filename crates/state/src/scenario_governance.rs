//! Governance and faucet verbs for the scenario helper, so governance tests read like the
//! story they pin:
//!
//! ```text
//! s.tx("alice").act(lock(5_000, 200)).expect_ok();
//! s.tx("alice").act(propose_params(&[("market.price_step_divisor", "16")], 1_000, 40)).expect_ok();
//! s.tx("alice").act(vote(1, VoteChoice::Yes)).expect_ok();
//! s.to_height(40);
//! ```

use crate::bank;
use crate::governance::{self, Lock, Power, Proposal};
use crate::scenario::{SCENARIO_CHAIN_ID, Scenario, addr};
use crate::staking::epoch_of_height;
use yun_types::governance::{
    GovAction, ParamEdit, ProposalId, ProposalKind, VoteChoice, faucet_solve,
};
use yun_types::{Action, Amount};

pub fn lock(amount: u128, until_height: u64) -> Action {
    Action::Governance(GovAction::Lock {
        amount: Amount::new(amount),
        until_height,
    })
}

pub fn unlock() -> Action {
    Action::Governance(GovAction::Unlock)
}

pub fn propose(kind: ProposalKind, deposit: u128, apply_height: u64) -> Action {
    Action::Governance(GovAction::Propose {
        kind,
        deposit: Amount::new(deposit),
        apply_height,
    })
}

/// A parameter change of `(path, value)` edits.
pub fn param_change(edits: &[(&str, &str)]) -> ProposalKind {
    ProposalKind::ParamChange {
        edits: edits
            .iter()
            .map(|(path, value)| ParamEdit {
                path: (*path).into(),
                value: (*value).into(),
            })
            .collect(),
    }
}

pub fn text(words: &str) -> ProposalKind {
    ProposalKind::Text { text: words.into() }
}

pub fn treasury_spend(to: &str, amount: u128) -> ProposalKind {
    ProposalKind::TreasurySpend {
        to: addr(to),
        amount: Amount::new(amount),
    }
}

pub fn vote(proposal: ProposalId, choice: VoteChoice) -> Action {
    Action::Governance(GovAction::Vote { proposal, choice })
}

impl Scenario {
    /// Runs empty blocks until the last executed block is `height`.
    pub fn to_height(&mut self, height: u64) -> &mut Self {
        while self.height < height {
            self.empty_block();
        }
        self
    }

    /// Proposal `id` (panics if there is none).
    #[track_caller]
    pub fn proposal(&mut self, id: ProposalId) -> Proposal {
        self.view()
            .proposal(id)
            .unwrap_or_else(|| panic!("no proposal {id}"))
    }

    pub fn lock_of(&mut self, name: &str) -> Option<Lock> {
        self.view().lock(&addr(name))
    }

    /// `name`'s voting power after the last block.
    pub fn power(&mut self, name: &str) -> Power {
        let params = self.view().params();
        let height = self.height;
        governance::power_of(&self.view(), &params, height, &addr(name))
    }

    /// Mints `amount` into the treasury at the start of a block of its own (what block
    /// rewards will do).
    pub fn fund_treasury(&mut self, amount: u128) -> &mut Self {
        self.block_with(&[], |o, _| bank::mint_to_treasury(o, Amount::new(amount)))
            .expect("an empty block is valid");
        self
    }

    /// A nonce that solves `name`'s faucet puzzle for the next block's epoch.
    pub fn faucet_nonce(&mut self, name: &str) -> u64 {
        let params = self.view().params();
        let epoch = epoch_of_height(&params.staking, self.height + 1);
        faucet_solve(
            SCENARIO_CHAIN_ID,
            &addr(name),
            epoch,
            params.faucet.work_hashes,
            0,
            u64::MAX,
            |_| {},
        )
        .expect("a nonce exists")
    }
}
