//! The compute market as deterministic state: providers with bonds, jobs with escrow, a
//! per-block sealed call auction with a price index, commit-reveal verification, settlement,
//! slashing, reputation, and the explanation of why a task is still waiting.
//!
//! Money never appears or vanishes: a bond or escrow leaves a balance when it is locked and
//! returns to a balance (or to `burned`) when released, always through `crate::bank`, so
//! balances + bonds + escrow + burned stays equal to the supply (see
//! `conservation::check_supply`).
//!
//! The parts, lowest first: `records` (what is stored, and its keys), `escrow` (what a job
//! locks and gets back), `verification` (trust in agreeing providers, when reveals open),
//! `reduce` (adding a job's reduce task once its map tasks ended), then `actions` (the
//! transactions), `auction` (matching and the price index), `step` (the
//! end-of-block step) and `why` (explanations). This file only names them; transactions are
//! dispatched to `actions` from `crate::dispatch`.

pub mod actions;
pub mod auction;
pub mod draw;
pub mod escrow;
pub mod prune;
pub mod records;
pub mod reduce;
pub mod step;
pub mod verification;
pub mod why;

pub use actions::{check_job_spec, initial_replicas};
pub use auction::{fits, initial_price};
pub use escrow::{escrow_for, replica_cap};
pub use records::*;
pub use step::end_block;
pub use verification::{
    SPOT_CHECK_ONE_IN, contested_error_ppm, group_error_ppm, provider_error_ppm, spot_check_ppm,
};
