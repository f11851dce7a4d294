//! revm's view of the state: a `DatabaseRef` reading EVM records through the block's overlay.
//!
//! Pure like the rest of `state`: every read is an overlay lookup (a `BTreeMap` of this
//! block's writes over the committed state), nothing else. revm journals its own changes and
//! hands them back; `apply::commit` writes them, so this side only reads.

use crate::evm::records::EMPTY_CODE_HASH;
use crate::overlay::{Overlay, StateReader};
use revm::DatabaseRef;
use revm::bytecode::Bytecode;
use revm::primitives::{Address, B256, StorageKey, StorageValue, U256};
use revm::state::AccountInfo;
use std::convert::Infallible;
use yun_types::evm::EthAddress;

/// The overlay as revm reads it.
#[derive(Debug)]
pub struct StateDb<'s, 'a, R: StateReader + ?Sized> {
    pub state: &'s Overlay<'a, R>,
}

pub fn eth(a: Address) -> EthAddress {
    EthAddress(a.into_array())
}

pub fn alloy(a: &EthAddress) -> Address {
    Address::from(a.0)
}

impl<R: StateReader + ?Sized> DatabaseRef for StateDb<'_, '_, R> {
    type Error = Infallible;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Infallible> {
        let a = eth(address);
        let account = self.state.evm_account(&a);
        if account.is_empty() {
            return Ok(None);
        }
        let code = (account.code_hash != EMPTY_CODE_HASH)
            .then(|| self.state.evm_code(&account.code_hash))
            .flatten()
            .map(|c| Bytecode::new_raw(c.into()));
        let mut info = AccountInfo::default()
            .with_balance(U256::from(account.balance.base_units()))
            .with_nonce(account.nonce);
        info.code_hash = B256::from(account.code_hash);
        info.code = code;
        Ok(Some(info))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Infallible> {
        Ok(self
            .state
            .evm_code(&code_hash.0)
            .map(|c| Bytecode::new_raw(c.into()))
            .unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: StorageKey) -> Result<StorageValue, Infallible> {
        let value = self
            .state
            .evm_slot(&eth(address), &index.to_be_bytes::<32>());
        Ok(U256::from_be_bytes(value))
    }

    /// Past block hashes are not kept in state (the node's store has them, the state machine
    /// does not read the store): `BLOCKHASH` answers zero, as it does for blocks older than
    /// 256 on Ethereum. A contract needing randomness must not use it (nor should it anywhere).
    fn block_hash_ref(&self, _number: u64) -> Result<B256, Infallible> {
        Ok(B256::ZERO)
    }
}
