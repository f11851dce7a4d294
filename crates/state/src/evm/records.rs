//! The EVM's records in the authenticated state: accounts, code, storage slots, receipts.
//!
//! Keys (tags in `crate::keys`): `b` ‖ address → [`EvmAccount`]; `j` ‖ code hash → the
//! bytecode; `m` ‖ address ‖ slot → the slot's 32-byte value (a zero slot is deleted);
//! `t` ‖ height ‖ index → [`EvmReceipt`]; `F` ‖ transaction hash → [`TxLocation`]; `Z` →
//! the [`EvmBlockGas`] of the block being executed. All are in the same tree as every other
//! record, so the state root covers contract code and storage.

use crate::keys::{
    TAG_EVM_ACCOUNT, TAG_EVM_BLOCK, TAG_EVM_CODE, TAG_EVM_RECEIPT, TAG_EVM_STORAGE, TAG_EVM_TX,
};
use crate::overlay::{Overlay, StateReader};
use crate::record::{decode, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use yun_types::evm::EthAddress;
use yun_types::{Amount, Hash32};

/// keccak256 of empty code: the code hash of an account without code.
pub const EMPTY_CODE_HASH: [u8; 32] = [
    0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0,
    0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70,
];

/// An Ethereum account: balance in base units (one base unit is one wei), nonce, code hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EvmAccount {
    pub balance: Amount,
    pub nonce: u64,
    pub code_hash: [u8; 32],
}

impl Default for EvmAccount {
    fn default() -> Self {
        EvmAccount {
            balance: Amount::ZERO,
            nonce: 0,
            code_hash: EMPTY_CODE_HASH,
        }
    }
}

impl EvmAccount {
    /// EIP-161's empty account: what is deleted rather than stored.
    pub fn is_empty(&self) -> bool {
        self.balance.is_zero() && self.nonce == 0 && self.code_hash == EMPTY_CODE_HASH
    }
}

/// One log of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EvmLog {
    pub address: EthAddress,
    pub topics: Vec<[u8; 32]>,
    pub data: Vec<u8>,
}

/// What an Ethereum transaction did, kept for `eth_getTransactionReceipt` and `eth_getLogs`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EvmReceipt {
    /// keccak256 of the raw transaction: its Ethereum hash.
    pub tx_hash: [u8; 32],
    /// The Yun transaction id of its relay envelope.
    pub yun_tx_id: Hash32,
    pub from: EthAddress,
    pub to: Option<EthAddress>,
    pub contract_address: Option<EthAddress>,
    /// 1 success, 0 revert or halt (EIP-658).
    pub success: bool,
    pub gas_used: u64,
    /// Gas used by the block's Ethereum transactions up to and including this one.
    pub cumulative_gas_used: u64,
    /// What one unit of gas cost, in base units (wei).
    pub effective_gas_price: u128,
    pub logs: Vec<EvmLog>,
    /// The block-wide index of this receipt's first log.
    pub first_log_index: u32,
    /// The index of this transaction among the block's Ethereum transactions.
    pub eth_index: u32,
    /// The revert data, when it reverted (at most [`REVERT_DATA_BYTES_MAX`] bytes kept).
    pub revert_data: Vec<u8>,
}

/// Most revert bytes a receipt keeps (an `Error(string)` with a long reason is cut).
pub const REVERT_DATA_BYTES_MAX: usize = 1024;

/// Where an Ethereum transaction sits: its block and its index among the block's transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TxLocation {
    pub height: u64,
    pub index: u32,
}

/// The EVM gas and logs of the block being executed (overwritten by the next block's first
/// Ethereum transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, BorshSerialize, BorshDeserialize)]
pub struct EvmBlockGas {
    pub height: u64,
    pub gas_used: u64,
    pub logs: u32,
    pub txs: u32,
}

pub fn account_key(a: &EthAddress) -> Vec<u8> {
    let mut k = Vec::with_capacity(21);
    k.push(TAG_EVM_ACCOUNT);
    k.extend_from_slice(&a.0);
    k
}

pub fn code_key(hash: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(TAG_EVM_CODE);
    k.extend_from_slice(hash);
    k
}

pub fn storage_key(a: &EthAddress, slot: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(53);
    k.push(TAG_EVM_STORAGE);
    k.extend_from_slice(&a.0);
    k.extend_from_slice(slot);
    k
}

pub fn receipt_key(height: u64, index: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(13);
    k.push(TAG_EVM_RECEIPT);
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The prefix of one block's receipts.
pub fn receipts_prefix(height: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(TAG_EVM_RECEIPT);
    k.extend_from_slice(&height.to_be_bytes());
    k
}

pub fn tx_key(hash: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(TAG_EVM_TX);
    k.extend_from_slice(hash);
    k
}

impl<R: StateReader + ?Sized> Overlay<'_, R> {
    pub fn evm_account(&self, a: &EthAddress) -> EvmAccount {
        self.get(&account_key(a))
            .map(|v| decode(&v))
            .unwrap_or_default()
    }

    /// Stores an account, deleting it when it is empty (EIP-161).
    pub fn set_evm_account(&mut self, a: &EthAddress, account: &EvmAccount) {
        if account.is_empty() {
            self.delete(account_key(a));
        } else {
            self.put(account_key(a), encode(account));
        }
    }

    pub fn evm_code(&self, hash: &[u8; 32]) -> Option<Vec<u8>> {
        self.get(&code_key(hash))
    }

    pub fn set_evm_code(&mut self, hash: &[u8; 32], code: Vec<u8>) {
        self.put(code_key(hash), code);
    }

    /// A storage slot's value, 32 bytes big-endian (zero when unset).
    pub fn evm_slot(&self, a: &EthAddress, slot: &[u8; 32]) -> [u8; 32] {
        self.get(&storage_key(a, slot))
            .and_then(|v| v.try_into().ok())
            .unwrap_or([0; 32])
    }

    pub fn set_evm_slot(&mut self, a: &EthAddress, slot: &[u8; 32], value: [u8; 32]) {
        if value == [0; 32] {
            self.delete(storage_key(a, slot));
        } else {
            self.put(storage_key(a, slot), value.to_vec());
        }
    }

    pub fn evm_receipt(&self, height: u64, index: u32) -> Option<EvmReceipt> {
        self.get(&receipt_key(height, index)).map(|v| decode(&v))
    }

    /// Every Ethereum receipt of one block, in order.
    pub fn evm_receipts_at(&self, height: u64) -> Vec<EvmReceipt> {
        self.scan(&receipts_prefix(height))
            .into_iter()
            .map(|(_, v)| decode(&v))
            .collect()
    }

    pub fn evm_tx_location(&self, hash: &[u8; 32]) -> Option<TxLocation> {
        self.get(&tx_key(hash)).map(|v| decode(&v))
    }

    /// The gas and logs so far of the block at `height` (zero for a block that has none yet).
    pub fn evm_block_gas(&self, height: u64) -> EvmBlockGas {
        let stored: EvmBlockGas = self
            .get(&[TAG_EVM_BLOCK])
            .map(|v| decode(&v))
            .unwrap_or_default();
        if stored.height == height {
            stored
        } else {
            EvmBlockGas {
                height,
                ..EvmBlockGas::default()
            }
        }
    }

    pub(crate) fn record_evm_receipt(&mut self, height: u64, index: u32, receipt: &EvmReceipt) {
        self.put(
            tx_key(&receipt.tx_hash),
            encode(&TxLocation { height, index }),
        );
        self.put(receipt_key(height, index), encode(receipt));
    }

    pub(crate) fn set_evm_block_gas(&mut self, gas: &EvmBlockGas) {
        self.put(vec![TAG_EVM_BLOCK], encode(gas));
    }
}
