//! Wire types shared by every Yun crate: amounts, addresses, hashes, transactions, blocks,
//! receipts, rejection reasons, genesis and the canonical binary encoding with its size limits.

pub mod address;
pub mod amount;
pub mod api;
pub mod api_governance;
pub mod api_lists;
pub mod api_network;
pub mod api_staking;
pub mod api_storage;
pub mod block;
pub mod codec_util;
pub mod events;
pub mod evidence;
pub mod evm;
pub mod fee;
pub mod genesis;
pub mod governance;
pub mod hash;
pub mod limits;
pub mod market;
pub mod market_records;
pub mod market_why;
pub mod receipt;
pub mod rejection;
pub mod rewards;
pub mod seed;
pub mod signers;
pub mod storage;
pub mod storage_records;
pub mod tx;
pub mod upload;

pub use address::{Address, AddressError};
pub use amount::{Amount, AmountError};
pub use block::{Block, BlockHash, Header};
pub use genesis::{
    ChainParams, ENGINE_CLASSES_MAX, GOVERNED_LABELS_MAX, Genesis, GenesisAccount,
    GenesisValidator, MarketParams, StakingParams, StorageParams,
};
pub use governance::{
    FaucetParams, GovAction, GovernanceParams, ProposalId, ProposalKind, VoteChoice,
};
pub use hash::Hash32;
pub use receipt::{Receipt, TxOutcome};
pub use rejection::TxRejection;
pub use rewards::RewardParams;
pub use seed::{SeedKey, SeedProof, SeedSigner};
pub use tx::{Action, SignedTx, Tx, TxId};

/// Signing namespace for transactions, so a transaction signature can never be replayed as a
/// consensus vote or a p2p handshake (commonware prefixes every signed message with it).
pub const TX_NAMESPACE: &[u8] = b"yun/tx/v1";
