//! The pure state machine of Yun: accounts, transfers, fees, genesis, delegated proof of stake,
//! the compute market, storage deals, vote-escrowed governance, the faucet and the EVM.
//!
//! Nothing here performs I/O, reads a clock, iterates a hash map or uses floating point:
//! every input (height, time, proposer) arrives in a [`BlockEnv`], so every node that applies
//! the same blocks to the same state reaches byte-identical state (`clippy.toml` bans the
//! types and functions that would break this).
//!
//! The modules form layers; each imports only from layers below it:
//!
//! 1. `arith`, `record`, `keys`, `env`, `account`, `supply`: helpers, encodings, the key
//!    registry and the small records;
//! 2. `overlay`: reading state and collecting writes;
//! 3. `bank`: every movement of a balance or of the burned total;
//! 4. `market`, `staking`, `randomness`: the domains (none imports another), and `storage`
//!    above `market` (it builds on the market's providers and jobs), `governance` above
//!    `staking` (bonded stake votes), and `evm` (Ethereum accounts and contracts on revm);
//! 5. `dispatch`: every action routed to its domain; `genesis`, `conservation`;
//! 6. `exec`: transactions and blocks;
//! 7. with the `scenario` feature, the test helpers on top.

#![deny(clippy::float_arithmetic)]

pub mod account;
pub mod arith;
pub mod bank;
pub mod conservation;
pub mod dispatch;
pub mod env;
pub mod evm;
pub mod exec;
pub mod genesis;
mod genesis_error;
mod genesis_params;
pub mod governance;
pub mod keys;
pub mod market;
pub mod overlay;
pub mod randomness;
pub mod record;
pub mod rewards;
pub mod staking;
pub mod storage;
pub mod supply;

#[cfg(feature = "scenario")]
pub mod market_sim;
#[cfg(feature = "scenario")]
pub mod scenario;
#[cfg(feature = "scenario")]
pub mod scenario_governance;
#[cfg(feature = "scenario")]
pub mod scenario_market;
#[cfg(feature = "scenario")]
pub mod scenario_rewards;
#[cfg(feature = "scenario")]
pub mod scenario_staking;
#[cfg(feature = "scenario")]
pub mod scenario_storage;

pub use account::Account;
pub use conservation::{Holdings, SupplyError, check_supply};
pub use dispatch::max_spend;
pub use env::BlockEnv;
pub use exec::{
    BlockError, BlockOutcome, BuiltBlock, build_block, build_block_signed, check_admission,
    committed_nonce, execute_block, is_eth, is_fee_free, is_free_evidence, is_free_faucet,
    verify_signatures,
};
pub use genesis::{GenesisError, genesis_writes};
pub use keys::StateKey;
pub use overlay::{MemState, Overlay, StateReader, StateWrites, prefix_end, range_first_over};
pub use randomness::{BlockDraft, SeedError, SignedSeed, next_env, sign_seed};
pub use supply::Supply;
