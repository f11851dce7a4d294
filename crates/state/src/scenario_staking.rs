//! Staking verbs for the scenario helper, so staking tests read like the story they pin:
//!
//! ```text
//! s.tx("val1").act(register_validator("val1", 1_000_000)).expect_ok();
//! s.tx("alice").act(delegate("val1", 5_000)).expect_ok();
//! s.to_epoch_end();                       // the next active set is chosen
//! s.slash("val1", 7).unwrap();            // an equivocation in epoch 0, view 7, reported in a block
//! ```

use crate::scenario::{Scenario, addr, seed_signer_of};
use crate::staking::{self, Delegation, Unbonding, Validator};
use yun_types::{Action, Address, Amount, TxRejection};

/// The p2p address scenario validators register with.
pub const SCENARIO_P2P: &str = "127.0.0.1:9000";

/// Registers `name` (the signer) as a validator bonding `self_bond`, with the seed key its
/// node key derives.
pub fn register_validator(name: &str, self_bond: u128) -> Action {
    let seed = seed_signer_of(name);
    Action::RegisterValidator {
        p2p_address: SCENARIO_P2P.into(),
        self_bond: Amount::new(self_bond),
        seed_key: seed.key(),
        seed_key_possession: seed.possession(&addr(name)),
    }
}

pub fn delegate(validator: &str, amount: u128) -> Action {
    Action::Delegate {
        validator: addr(validator),
        amount: Amount::new(amount),
    }
}

pub fn undelegate(validator: &str, amount: u128) -> Action {
    Action::Undelegate {
        validator: addr(validator),
        amount: Amount::new(amount),
    }
}

impl Scenario {
    /// The validator record of `name` (panics if it is not one).
    #[track_caller]
    pub fn validator(&mut self, name: &str) -> Validator {
        staking::validator(self.view_state(), &addr(name))
            .unwrap_or_else(|| panic!("{name} is not a validator"))
    }

    /// What `delegator` has bonded to `validator` (0 if nothing).
    pub fn delegated(&mut self, delegator: &str, validator: &str) -> u128 {
        staking::delegations_of(self.view_state(), &addr(delegator))
            .into_iter()
            .find(|(v, _)| *v == addr(validator))
            .map_or(0, |(_, d): (Address, Delegation)| d.amount.base_units())
    }

    /// Everything `delegator` has on its way back.
    pub fn unbondings(&mut self, delegator: &str) -> Vec<Unbonding> {
        staking::unbondings_of(self.view_state(), &addr(delegator))
    }

    /// The stored active set: its epoch and members (address, stake in base units).
    pub fn active_set(&mut self) -> (u64, Vec<(Address, u128)>) {
        let (epoch, set) = staking::active_set(self.view_state());
        (
            epoch,
            set.into_iter().map(|(a, s)| (a, s.base_units())).collect(),
        )
    }

    /// Runs empty blocks until the last block of the current epoch has been applied (so the
    /// next epoch's active set is stored); does nothing if it just was.
    pub fn to_epoch_end(&mut self) -> &mut Self {
        let epoch_blocks = self.params.staking.epoch_blocks.max(1);
        while !(self.height + 1).is_multiple_of(epoch_blocks) {
            self.empty_block();
        }
        self
    }

    /// Reports an equivocation of `validator` in epoch 0, view `view`, at the start of a block of its own,
    /// as a `ReportEquivocation` action would; returns what was burned.
    pub fn slash(&mut self, validator: &str, view: u64) -> Result<Amount, TxRejection> {
        let v = addr(validator);
        let (_, result) = self
            .block_with(&[], |state, env| {
                staking::slash_equivocation(state, v, 0, view, env)
            })
            .expect("an empty block is valid");
        result
    }

    fn view_state(&mut self) -> &crate::overlay::MemState {
        self.start();
        &self.state
    }
}
