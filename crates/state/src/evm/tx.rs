//! Ethereum transactions: decoding and recovering a raw transaction, the rules that need no
//! state, revm's `TxEnv`, and the canonical relay envelope that carries one in a block.

use crate::evm::db::{alloy, eth};
use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{Transaction as _, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use revm::context::TxEnv;
use revm::primitives::TxKind;
use yun_types::evm::{ETH_TX_BYTES_MAX, EthAddress, EvmParams, relay_key};
use yun_types::{Action, Amount, SignedTx, Tx, TxRejection};

/// The address whose incoming value leaves the EVM for a `yun1…` account: a transaction
/// sent to it with exactly 32 bytes of input (the account's raw address) credits that account
/// with its value. No code lives there, so the value arrives like any transfer and the
/// state moves it out after the transaction (see `apply`).
pub const BRIDGE_ADDRESS: EthAddress = EthAddress([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x79, 0x75,
]);

/// The block beneficiary revm credits priority fees to; the state takes them back out at
/// once, since the whole fee joins the Yun fee pool (see `apply`).
pub const FEE_COLLECTOR: EthAddress = EthAddress([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x79, 0x66,
]);

/// A decoded, sender-recovered Ethereum transaction.
#[derive(Debug, Clone)]
pub struct EthTx {
    pub envelope: TxEnvelope,
    pub from: EthAddress,
    /// keccak256 of the raw bytes.
    pub hash: [u8; 32],
}

impl EthTx {
    /// Decodes raw EIP-2718 bytes and recovers the sender. Only legacy transactions with an
    /// EIP-155 chain id, EIP-2930 and EIP-1559 are taken (no blobs, no EIP-7702).
    pub fn decode(raw: &[u8]) -> Result<EthTx, TxRejection> {
        if raw.is_empty() || raw.len() > ETH_TX_BYTES_MAX {
            return Err(TxRejection::EthTxInvalid);
        }
        let mut buf = raw;
        let envelope = TxEnvelope::decode_2718(&mut buf).map_err(|_| TxRejection::EthTxInvalid)?;
        if !buf.is_empty() {
            return Err(TxRejection::EthTxInvalid);
        }
        match &envelope {
            TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_) => {}
            _ => return Err(TxRejection::EthTxInvalid),
        }
        if envelope.chain_id().is_none() {
            // A pre-EIP-155 signature is valid on every chain: never replayable here.
            return Err(TxRejection::EthTxInvalid);
        }
        let from = envelope
            .recover_signer()
            .map_err(|_| TxRejection::EthTxInvalid)?;
        let hash = envelope.tx_hash().0;
        Ok(EthTx {
            envelope,
            from: eth(from),
            hash,
        })
    }

    /// What the transaction sends with its call, in base units (one wei each).
    pub fn value(&self) -> Result<Amount, TxRejection> {
        u128::try_from(self.envelope.value())
            .map(Amount::new)
            .map_err(|_| TxRejection::AmountOverflow)
    }

    /// The most its gas can cost: gas limit × gas price (or max fee per gas).
    pub fn max_gas_cost(&self) -> Result<Amount, TxRejection> {
        (self.envelope.gas_limit() as u128)
            .checked_mul(self.envelope.max_fee_per_gas())
            .map(Amount::new)
            .ok_or(TxRejection::AmountOverflow)
    }

    pub fn to(&self) -> Option<EthAddress> {
        self.envelope.to().map(eth)
    }

    /// The rules that need no state: chain id, gas price floor, gas ceiling, the bridge's input.
    pub fn check(&self, params: &EvmParams) -> Result<(), TxRejection> {
        if self.envelope.chain_id() != Some(params.chain_id) {
            return Err(TxRejection::EthWrongChainId);
        }
        if self.envelope.max_fee_per_gas() < params.base_fee_per_gas as u128 {
            return Err(TxRejection::EthGasPriceTooLow);
        }
        if self.envelope.gas_limit() > params.tx_gas_max {
            return Err(TxRejection::EthGasLimitTooHigh);
        }
        if self.to() == Some(BRIDGE_ADDRESS) && self.envelope.input().len() != 32 {
            return Err(TxRejection::EthTxInvalid);
        }
        self.max_gas_cost()?
            .checked_add(self.value()?)
            .map_err(|_| TxRejection::AmountOverflow)?;
        Ok(())
    }

    /// revm's view of the transaction.
    pub fn tx_env(&self) -> TxEnv {
        let e = &self.envelope;
        TxEnv {
            tx_type: e.tx_type() as u8,
            caller: alloy(&self.from),
            gas_limit: e.gas_limit(),
            gas_price: e.max_fee_per_gas(),
            kind: match e.kind() {
                TxKind::Create => TxKind::Create,
                TxKind::Call(to) => TxKind::Call(to),
            },
            value: e.value(),
            data: e.input().clone(),
            nonce: e.nonce(),
            chain_id: e.chain_id(),
            access_list: e.access_list().cloned().unwrap_or_default(),
            gas_priority_fee: e.max_priority_fee_per_gas(),
            ..TxEnv::default()
        }
    }
}

/// The one relay envelope of a raw Ethereum transaction on `chain_id` (see
/// `yun_types::evm`): the eth nonce as its nonce, the most its gas can cost as its fee (what
/// the mempool ranks by), no expiry, signed by the public relay key (ed25519 signing is
/// deterministic, so the envelope, and its id, are a function of the raw bytes).
pub fn wrap(chain_id: &str, raw: Vec<u8>) -> Result<(SignedTx, EthTx), TxRejection> {
    let decoded = EthTx::decode(&raw)?;
    let tx = Tx {
        chain_id: chain_id.to_string(),
        nonce: decoded.envelope.nonce(),
        fee: decoded.max_gas_cost()?,
        expires_at_height: u64::MAX,
        action: Action::Eth {
            from: decoded.from,
            raw,
        },
    };
    Ok((tx.sign(&relay_key()), decoded))
}

/// Checks that `stx` is the canonical envelope of the Ethereum transaction it carries (and so
/// that its claimed sender is the recovered one), returning the decoded transaction.
pub fn unwrap(chain_id: &str, stx: &SignedTx) -> Result<EthTx, TxRejection> {
    let Action::Eth { raw, .. } = &stx.tx.action else {
        return Err(TxRejection::EthTxInvalid);
    };
    let (canonical, decoded) = wrap(chain_id, raw.clone())?;
    if canonical != *stx {
        return Err(TxRejection::EthTxInvalid);
    }
    Ok(decoded)
}
