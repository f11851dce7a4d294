//! The settlement callback: at the end of a block, a settled contract job's refund goes to
//! its contract, which is then called back with the results (`end_block`).
//!
//! Money: `postJob` moved escrow + reserve from the contract to [`YUN_COMPUTE`]'s balance.
//! Posting (`compute::post_jobs`) moved the escrow on to the market (through the contract's
//! pseudo-address, the job's requester), so `YUN_COMPUTE` holds exactly the reserves of jobs
//! whose callback has not run. At settlement the market refunds the unspent escrow to the pseudo-address; here
//! it moves into the contract's EVM balance, the callback runs on at most its reserved gas,
//! the gas it used (at the price reserved) is burned, and the rest of the reserve goes back.
//! A callback that reverts or halts pays its gas like any other and is recorded; nothing
//! else depends on it, so it can neither stop the block nor keep anybody's money.

use crate::bank;
use crate::env::BlockEnv;
use crate::evm::apply::commit;
use crate::evm::compute::{YUN_COMPUTE, take_from_compute, task_results};
use crate::evm::compute_abi::IYunComputeReceiver;
use crate::evm::db::alloy;
use crate::evm::records::REVERT_DATA_BYTES_MAX;
use crate::evm::records_compute::{CallbackOutcome, ComputeJob};
use crate::evm::run;
use crate::keys::TAG_COMPUTE_DUE;
use crate::market;
use crate::overlay::{Overlay, StateReader};
use alloy_sol_types::SolCall;
use revm::context::TxEnv;
use revm::context::result::ExecutionResult;
use revm::primitives::{B256, TxKind};
use yun_types::evm::EthAddress;
use yun_types::market::JobId;
use yun_types::{Amount, ChainParams, Hash32};

/// Most callbacks one block runs (each at most `evm.callback_gas_max` gas, outside the
/// block's gas limit); more settled jobs wait for the next blocks, oldest first.
pub const CALLBACKS_PER_BLOCK_MAX: usize = 16;

/// Runs the callbacks of settled contract jobs, at most [`CALLBACKS_PER_BLOCK_MAX`].
pub fn end_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
) {
    for (key, _) in state.scan_first(&[TAG_COMPUTE_DUE], CALLBACKS_PER_BLOCK_MAX) {
        let job_id = Hash32(key[9..].try_into().expect("tag ‖ height ‖ job id"));
        state.delete(key);
        settle(state, env, params, &job_id);
    }
}

/// One settled job: its refund to the contract, the callback, its gas, the record.
fn settle<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    job_id: &JobId,
) {
    let (Some(mut record), Some(job)) = (state.compute_job(job_id), state.job(job_id)) else {
        return;
    };
    // The market refunded what was not spent to the requester, the contract's pseudo-address
    // (no key signs for it, so it is still there).
    let refunded = job.refunded;
    bank::debit(state, &record.contract.pseudo_address(), refunded)
        .expect("invariant: the market refunded the job's escrow to its requester");
    give_evm(state, &record.contract, refunded);
    let (success, gas_used, revert_data) = if record.callback_gas == 0 {
        (true, 0, Vec::new())
    } else {
        call_back(state, env, params, job_id, &job, &record)
    };
    let paid = Amount::new(u128::from(gas_used) * u128::from(record.gas_price));
    let back = record
        .reserve
        .checked_sub(paid)
        .expect("invariant: a callback uses at most its gas limit");
    take_from_compute(state, record.reserve);
    give_evm(state, &record.contract, back);
    bank::burn(state, paid);
    record.callback = Some(CallbackOutcome {
        height: env.height,
        success,
        gas_used,
        paid,
        refunded,
        revert_data,
    });
    state.set_compute_job(job_id, &record);
}

/// Calls `onYunJobSettled(jobId, results)` on the contract from [`YUN_COMPUTE`] and writes
/// what it changed. Returns (success, gas used, revert data).
fn call_back<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    job_id: &JobId,
    job: &market::Job,
    record: &ComputeJob,
) -> (bool, u64, Vec<u8>) {
    let data = IYunComputeReceiver::onYunJobSettledCall {
        jobId: B256::from(job_id.0),
        results: task_results(state, job_id, job),
    }
    .abi_encode();
    let tx = TxEnv {
        caller: alloy(&YUN_COMPUTE),
        kind: TxKind::Call(alloy(&record.contract)),
        gas_limit: record.callback_gas,
        data: data.into(),
        chain_id: Some(params.evm.chain_id),
        ..TxEnv::default()
    };
    let Some(out) = run::callback(state, env, &params.evm, tx) else {
        return (false, record.callback_gas, Vec::new());
    };
    let gas_used = out.result.tx_gas_used().min(record.callback_gas);
    // A callback creates no money; value it destroyed (a contract created and destroyed in
    // the call, its own beneficiary) is burned, as for a transaction. Changes that would
    // create money are refused by `commit` and dropped: the callback then failed.
    match commit(state, out.state) {
        Ok(destroyed) => bank::burn(state, destroyed),
        Err(_) => return (false, gas_used, Vec::new()),
    }
    match out.result {
        ExecutionResult::Success { .. } => (true, gas_used, Vec::new()),
        ExecutionResult::Revert { output, .. } => {
            let cut = output.len().min(REVERT_DATA_BYTES_MAX);
            (false, gas_used, output[..cut].to_vec())
        }
        ExecutionResult::Halt { .. } => (false, gas_used, Vec::new()),
    }
}

fn give_evm<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, to: &EthAddress, amount: Amount) {
    if amount.is_zero() {
        return;
    }
    let mut account = state.evm_account(to);
    account.balance = account
        .balance
        .checked_add(amount)
        .expect("invariant: an EVM balance is part of the supply");
    state.set_evm_account(to, &account);
}
