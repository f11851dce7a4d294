//! Storage deals as deterministic state: offers of capacity backed by provider bonds, deals
//! with escrow, a sealed-auction match per block, a challenge per replica per epoch answered
//! by a chunk proof, pay per proven epoch, slashes for missed windows, repair, refunds, and
//! jobs' keys sealed to their providers.
//!
//! The domain builds on the market's providers (registration, bond, endpoint, the selection
//! weight) and jobs (who may share a job's key, with whom), so it sits above `market` and
//! reads its records; the market never imports it (the one link back, a provider holding
//! replicas may not exit, reads the `storage_held` keys through the key registry).
//!
//! Money never appears or vanishes: a deal's escrow leaves the owner's balance when posted,
//! pays providers per proven replica-epoch, and returns when the deal ends or is cancelled
//! (see `conservation::check_supply`, which counts deal escrow).
//!
//! The parts, lowest first: `records` (what is stored, its keys, the challenge), `life`
//! (ending replicas and deals, the due index, the queue), `matching` (the auction and the
//! price index), `step` (the
//! end-of-block step: windows, ends, epochs), `actions` (the transactions).

pub mod actions;
pub mod life;
pub mod matching;
pub mod records;
pub mod step;

pub use actions::{check_deal_spec, check_storage_stateless, deal_escrow_for};
pub use matching::initial_storage_price;
pub use records::*;
pub use step::end_block;
