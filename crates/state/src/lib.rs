//! The pure state machine of Yun: accounts, transfers, fees, genesis, delegated proof of stake
//! and the compute market.
//!
//! Nothing here performs I/O, reads a clock, iterates a hash map or uses floating point:
//! every input (height, time, proposer) arrives in a [`BlockEnv`], so every node that applies
//! the same blocks to the same state reaches byte-identical state.

#![deny(clippy::float_arithmetic)]

pub mod account;
pub mod exec;
pub mod genesis;
pub mod keys;
pub mod market;
pub mod overlay;
pub mod staking;
pub mod supply;

#[cfg(feature = "scenario")]
pub mod market_sim;
#[cfg(feature = "scenario")]
pub mod scenario;
#[cfg(feature = "scenario")]
pub mod scenario_market;
#[cfg(feature = "scenario")]
pub mod scenario_staking;

pub use account::Account;
pub use exec::{
    BlockEnv, BlockError, BlockOutcome, BuiltBlock, build_block, check_admission, execute_block,
    max_spend, verify_signatures,
};
pub use genesis::{GenesisError, genesis_writes};
pub use keys::StateKey;
pub use overlay::{MemState, Overlay, StateReader, StateWrites, prefix_end};
pub use supply::{Holdings, Supply, SupplyError, check_supply};
