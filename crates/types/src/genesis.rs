//! Genesis: the chain id, opening balances, validators and the initial chain parameters.

use crate::{Address, Amount, Hash32};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// Parameters kept in state (not constants), so governance can change them later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainParams {
    /// Smallest fee a transaction may pay.
    pub min_fee: Amount,
    /// Share of every fee that is burned, in basis points (1/10,000); the rest goes to the proposer.
    pub fee_burn_bps: u16,
    /// Most transactions in one block.
    pub block_txs_max: u32,
    /// Largest encoded transaction, in bytes.
    pub tx_bytes_max: u32,
    /// How far past the current height a transaction may set its expiry, in blocks.
    pub expiry_blocks_max: u64,
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams {
            min_fee: Amount::new(1_000),
            fee_burn_bps: 1_000,
            block_txs_max: 20_000,
            tx_bytes_max: 4_096,
            expiry_blocks_max: 100_000,
        }
    }
}

impl Write for ChainParams {
    fn write(&self, buf: &mut impl BufMut) {
        self.min_fee.write(buf);
        self.fee_burn_bps.write(buf);
        self.block_txs_max.write(buf);
        self.tx_bytes_max.write(buf);
        self.expiry_blocks_max.write(buf);
    }
}

impl EncodeSize for ChainParams {
    fn encode_size(&self) -> usize {
        16 + 2 + 4 + 4 + 8
    }
}

impl Read for ChainParams {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(ChainParams {
            min_fee: Amount::read(buf)?,
            fee_burn_bps: u16::read(buf)?,
            block_txs_max: u32::read(buf)?,
            tx_bytes_max: u32::read(buf)?,
            expiry_blocks_max: u64::read(buf)?,
        })
    }
}

/// An opening balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    pub address: Address,
    pub balance: Amount,
}

/// A validator known at genesis: its consensus key (as an address) and where peers reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisValidator {
    pub name: String,
    pub address: Address,
    /// `host:port` of its p2p listener.
    pub p2p_address: String,
}

/// The whole starting point of a chain, stored as `genesis.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub chain_id: String,
    pub genesis_time_ms: u64,
    pub accounts: Vec<GenesisAccount>,
    pub validators: Vec<GenesisValidator>,
    pub params: ChainParams,
}

impl Genesis {
    /// blake3 of the canonical JSON; peers compare it before talking.
    pub fn hash(&self) -> Hash32 {
        Hash32::digest(&serde_json::to_vec(self).expect("genesis serializes"))
    }
}
