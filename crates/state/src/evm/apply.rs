//! Applying Ethereum transactions and EVM transfers to the state.
//!
//! Money: one base unit is one wei. revm takes gas × price from the sender, burns the base
//! fee's share and credits the tip to [`FEE_COLLECTOR`]; the state then takes the collector's
//! gain back out, so the whole gas payment (what left the EVM's balances) becomes the
//! transaction's Yun fee and is burned and shared like any fee. Value sent to
//! [`BRIDGE_ADDRESS`] leaves the EVM for the `yun1…` account its input names.

use crate::bank;
use crate::env::BlockEnv;
use crate::evm::db::eth;
use crate::evm::records::{EvmAccount, EvmLog, EvmReceipt, REVERT_DATA_BYTES_MAX};
use crate::evm::run::transact_posting;
use crate::evm::tx::{BRIDGE_ADDRESS, EthTx, FEE_COLLECTOR, unwrap};
use crate::overlay::{Overlay, StateReader};
use alloy_consensus::Transaction as _;
use revm::context::result::ExecutionResult;
use revm::state::EvmState;
use std::collections::BTreeMap;
use yun_types::evm::EthAddress;
use yun_types::{Address, Amount, ChainParams, Receipt, SignedTx, TxOutcome, TxRejection};

/// Applies an Ethereum transaction in its relay envelope. `Err` means not includable (and
/// nothing was written); a revert is an included transaction that paid its gas.
pub fn apply_eth<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    stx: &SignedTx,
    index: u32,
) -> Result<(Receipt, Amount), TxRejection> {
    let tx = unwrap(&env.chain_id, stx)?;
    tx.check(&params.evm)?;
    let mut block = state.evm_block_gas(env.height);
    if block.gas_used.saturating_add(tx.envelope.gas_limit()) > params.evm.block_gas_limit {
        return Err(TxRejection::EvmBlockGasFull);
    }
    let (out, postings) = transact_posting(state, env, &params.evm, tx.tx_env(), false, tx.hash)?;
    let collector_before = state.evm_account(&FEE_COLLECTOR).balance;
    let left_evm = commit(state, out.state)?;
    let mut collector = state.evm_account(&FEE_COLLECTOR);
    let tip = collector
        .balance
        .checked_sub(collector_before)
        .expect("revm only credits the collector");
    collector.balance = collector_before;
    state.set_evm_account(&FEE_COLLECTOR, &collector);
    let fee = left_evm.checked_add(tip).expect("within supply");
    let result = out.result;
    if result.is_success() && tx.to() == Some(BRIDGE_ADDRESS) {
        bridge_out(state, &tx)?;
    }
    if result.is_success() && !postings.is_empty() {
        crate::evm::compute::post_jobs(state, env, params, postings, result.logs());
    }
    let gas_used = result.tx_gas_used();
    block.gas_used += gas_used;
    let receipt = evm_receipt(&tx, stx, &result, &block, params);
    block.logs += receipt.logs.len() as u32;
    block.txs += 1;
    state.set_evm_block_gas(&block);
    state.record_evm_receipt(env.height, index, &receipt);
    let outcome = if receipt.success {
        TxOutcome::Success
    } else {
        TxOutcome::Failed(TxRejection::EvmReverted)
    };
    let burned = crate::arith::bps_of(fee, params.fee_burn_bps);
    let yun = Receipt {
        tx_id: stx.id(),
        height: env.height,
        index,
        outcome,
        fee_paid: fee,
    };
    Ok((yun, burned))
}

/// The EVM receipt of one executed transaction.
fn evm_receipt(
    tx: &EthTx,
    stx: &SignedTx,
    result: &ExecutionResult,
    block: &crate::evm::records::EvmBlockGas,
    params: &ChainParams,
) -> EvmReceipt {
    let logs = result
        .logs()
        .iter()
        .map(|l| EvmLog {
            address: eth(l.address),
            topics: l.data.topics().iter().map(|t| t.0).collect(),
            data: l.data.data.to_vec(),
        })
        .collect();
    let revert_data = match result {
        ExecutionResult::Revert { output, .. } => {
            output[..output.len().min(REVERT_DATA_BYTES_MAX)].to_vec()
        }
        _ => Vec::new(),
    };
    EvmReceipt {
        tx_hash: tx.hash,
        yun_tx_id: stx.id(),
        from: tx.from,
        to: tx.to(),
        contract_address: result.created_address().map(eth),
        success: result.is_success(),
        gas_used: result.tx_gas_used(),
        cumulative_gas_used: block.gas_used,
        effective_gas_price: tx
            .envelope
            .effective_gas_price(Some(params.evm.base_fee_per_gas)),
        logs,
        first_log_index: block.logs,
        eth_index: block.txs,
        revert_data,
    }
}

/// Writes revm's changes (accounts in address order) and returns what left the EVM's
/// balances: the base-fee share of gas, which revm destroys. Refuses (writing nothing) if
/// the changes would create money, which revm never does.
pub(crate) fn commit<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    changes: EvmState,
) -> Result<Amount, TxRejection> {
    let changes: BTreeMap<_, _> = changes
        .into_iter()
        .filter(|(_, a)| a.is_touched())
        .collect();
    let (mut before, mut after) = (0u128, 0u128);
    for (address, account) in &changes {
        before += state.evm_account(&eth(*address)).balance.base_units();
        if !account.is_selfdestructed() {
            after +=
                u128::try_from(account.info.balance).map_err(|_| TxRejection::AmountOverflow)?;
        }
    }
    let left = before
        .checked_sub(after)
        .ok_or(TxRejection::EthTxRefusedByEvm)?;
    for (address, account) in changes {
        let a = eth(address);
        for (slot, value) in account.changed_storage_slots() {
            let value = if account.is_selfdestructed() {
                [0; 32]
            } else {
                value.present_value().to_be_bytes::<32>()
            };
            state.set_evm_slot(&a, &slot.to_be_bytes::<32>(), value);
        }
        if account.is_selfdestructed() {
            state.set_evm_account(&a, &EvmAccount::default());
            continue;
        }
        let code_hash = account.info.code_hash.0;
        if let Some(code) = &account.info.code
            && !code.is_empty()
            && state.evm_code(&code_hash).is_none()
        {
            state.set_evm_code(&code_hash, code.original_bytes().to_vec());
        }
        let balance = u128::try_from(account.info.balance).expect("summed above");
        state.set_evm_account(
            &a,
            &EvmAccount {
                balance: Amount::new(balance),
                nonce: account.info.nonce,
                code_hash,
            },
        );
    }
    Ok(Amount::new(left))
}

/// Moves the value a transaction sent to the bridge to the `yun1…` account its input names.
fn bridge_out<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    tx: &EthTx,
) -> Result<(), TxRejection> {
    let to = Address(
        tx.envelope.input()[..]
            .try_into()
            .map_err(|_| TxRejection::EthTxInvalid)?,
    );
    let value = tx.value()?;
    let mut bridge = state.evm_account(&BRIDGE_ADDRESS);
    bridge.balance = bridge
        .balance
        .checked_sub(value)
        .expect("the transaction just sent it there");
    state.set_evm_account(&BRIDGE_ADDRESS, &bridge);
    bank::credit(state, &to, value);
    Ok(())
}

/// `TransferToEth`: moves `amount` from a `yun1…` balance to an EVM account.
pub fn transfer_to_eth<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    sender: &Address,
    to: &EthAddress,
    amount: Amount,
) -> Result<(), TxRejection> {
    let mut account = state.evm_account(to);
    account.balance = account
        .balance
        .checked_add(amount)
        .map_err(|_| TxRejection::AmountOverflow)?;
    bank::debit(state, sender, amount)?;
    state.set_evm_account(to, &account);
    Ok(())
}
