//! Why a genesis file cannot start a chain: the one error type the genesis checks return.

use yun_types::limits::{CHAIN_ID_BYTES_MAX, NAME_BYTES_MAX};

/// A genesis file that cannot start a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    #[error("chain id must be 1..={CHAIN_ID_BYTES_MAX} bytes")]
    ChainId,
    #[error("account {0} appears twice")]
    DuplicateAccount(String),
    #[error("validator {0} appears twice")]
    DuplicateValidator(String),
    #[error("at least one validator is required")]
    NoValidators,
    #[error("validator name longer than {NAME_BYTES_MAX} bytes")]
    NameTooLong,
    #[error("total supply overflows")]
    Overflow,
    #[error("parameter {field} is out of range: allowed {allowed}")]
    Param {
        field: &'static str,
        allowed: String,
    },
    #[error(
        "market.engine_classes is empty, so no provider could ever register: list the engine class of every build the chain admits (`yun devnet` and `yun localnet` write this binary's; a devnet from before engine classes were admitted: start over with `yun devnet --reset`)"
    )]
    NoEngineClasses,
    #[error(
        "parameter {0} must be above zero: a job must fit within its limits at posting (fuel ≤ market.fuel_per_second_min × market.task_seconds_max and ≤ market.task_fuel_max, program ≤ market.program_bytes_max), and at zero the market could never take one"
    )]
    ZeroMarketLimit(&'static str),
    #[error("{count} genesis validators but at most {max} may be active")]
    TooManyValidators { count: usize, max: u32 },
    #[error("validator {0}: p2p address is not host:port")]
    P2pAddress(String),
    #[error("validator {0}: a non-zero self bond must be at least validator_self_bond_min")]
    SelfBond(String),
    #[error(
        "validator {0}: its seed_key is not a BLS12-381 public key (a genesis from before block randomness: start over with `yun devnet --reset`, or write the genesis again with `yun`, which derives the key from the validator's node key)"
    )]
    SeedKey(String),
}
