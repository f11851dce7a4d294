//! The EVM: Ethereum accounts, contracts and transactions in the state machine, on revm.
//!
//! `records` (the EVM's keys and records), `db` (revm reading the overlay), `tx` (decoding,
//! recovery, the stateless rules and the relay envelope), `run` (revm's block and chain
//! configuration, one transaction), `apply` (committing a transaction's changes, its fee,
//! receipts, and the transfers between `yun1…` and `0x…` accounts), and `simulate`
//! (`eth_call` and `eth_estimateGas`, which write nothing). Contracts buy compute through
//! `compute` (the precompile, its ABI in `compute_abi`, its record in `records_compute`) and
//! `callback` (posting after the transaction, the settlement callback at the end of a block).

pub mod apply;
pub mod callback;
pub mod compute;
pub mod compute_abi;
pub mod db;
pub mod records;
pub mod records_compute;
pub mod run;
pub mod tx;

pub use apply::{apply_eth, transfer_to_eth};
pub use callback::CALLBACKS_PER_BLOCK_MAX;
pub use compute::YUN_COMPUTE;
pub use records::end_block;
pub use records::{EvmAccount, EvmBlockGas, EvmLog, EvmReceipt, TxLocation};
pub use records_compute::{CallbackOutcome, ComputeJob};
pub use tx::{BRIDGE_ADDRESS, EthTx, FEE_COLLECTOR, unwrap, wrap};

use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use revm::context::TxEnv;
use revm::context::result::ExecutionResult;
use revm::primitives::{Bytes, TxKind, U256};
use yun_types::evm::{EthAddress, EvmParams};
use yun_types::{Address, SeedProof, TxRejection};

/// A call to simulate (`eth_call`, `eth_estimateGas`).
#[derive(Debug, Clone, Default)]
pub struct CallRequest {
    pub from: Option<EthAddress>,
    /// `None` simulates a contract creation with `data` as init code.
    pub to: Option<EthAddress>,
    pub data: Vec<u8>,
    pub value: u128,
    /// At most `params.tx_gas_max` (the default).
    pub gas: Option<u64>,
}

/// What a simulated call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    pub success: bool,
    /// The return data, or the revert data when it reverted.
    pub output: Vec<u8>,
    pub gas_used: u64,
    /// True when it halted (out of gas, invalid opcode) rather than returning or reverting.
    pub halted: bool,
}

/// The environment a simulation runs in: the next block at `height`, time `timestamp_ms`.
fn sim_env(chain_id: &str, height: u64, timestamp_ms: u64) -> BlockEnv {
    BlockEnv::new(
        chain_id,
        height,
        timestamp_ms,
        Address([0; 32]),
        SeedProof::GENESIS,
    )
}

/// Runs a call on the state without writing anything (no balance, nonce or fee checks).
pub fn simulate<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    chain_id: &str,
    height: u64,
    timestamp_ms: u64,
    params: &EvmParams,
    call: &CallRequest,
) -> Result<CallOutcome, TxRejection> {
    let gas = call.gas.unwrap_or(params.tx_gas_max).min(params.tx_gas_max);
    let from = call.from.unwrap_or_default();
    let tx = TxEnv {
        caller: db::alloy(&from),
        gas_limit: gas,
        gas_price: 0,
        kind: match call.to {
            Some(to) => TxKind::Call(db::alloy(&to)),
            None => TxKind::Create,
        },
        value: U256::from(call.value),
        data: Bytes::from(call.data.clone()),
        nonce: state.evm_account(&from).nonce,
        chain_id: Some(params.chain_id),
        ..TxEnv::default()
    };
    let env = sim_env(chain_id, height, timestamp_ms);
    let out = run::transact(state, &env, params, tx, true)?;
    Ok(match out.result {
        ExecutionResult::Success { output, gas, .. } => CallOutcome {
            success: true,
            output: output.data().to_vec(),
            gas_used: gas.total_gas_spent(),
            halted: false,
        },
        ExecutionResult::Revert { output, gas, .. } => CallOutcome {
            success: false,
            output: output.to_vec(),
            gas_used: gas.total_gas_spent(),
            halted: false,
        },
        ExecutionResult::Halt { gas, .. } => CallOutcome {
            success: false,
            output: Vec::new(),
            gas_used: gas.total_gas_spent(),
            halted: true,
        },
    })
}

/// Most simulations one estimate runs (a binary search over the gas limit).
pub const ESTIMATE_RUNS_MAX: u32 = 32;

/// The least gas limit (within [`ESTIMATE_RUNS_MAX`] runs of a binary search) at which the
/// call succeeds; the failing outcome at the largest limit if it never does.
pub fn estimate_gas<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    chain_id: &str,
    height: u64,
    timestamp_ms: u64,
    params: &EvmParams,
    call: &CallRequest,
) -> Result<Result<u64, CallOutcome>, TxRejection> {
    let cap = call.gas.unwrap_or(params.tx_gas_max).min(params.tx_gas_max);
    let run_at = |gas: u64| {
        let mut c = call.clone();
        c.gas = Some(gas);
        simulate(state, chain_id, height, timestamp_ms, params, &c)
    };
    let top = run_at(cap)?;
    if !top.success {
        return Ok(Err(top));
    }
    // Most calls need exactly what they used; refunds and the 63/64 rule need more.
    if top.gas_used < cap && run_at(top.gas_used)?.success {
        return Ok(Ok(top.gas_used));
    }
    let (mut lo, mut hi) = (top.gas_used, cap);
    for _ in 0..ESTIMATE_RUNS_MAX {
        if hi - lo <= 1 {
            break;
        }
        let mid = lo + (hi - lo) / 2;
        match run_at(mid) {
            Ok(o) if o.success => hi = mid,
            _ => lo = mid,
        }
    }
    Ok(Ok(hi))
}
