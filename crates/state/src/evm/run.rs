//! Running revm over the state: the block and chain configuration, one transaction, and the
//! mapping of revm's refusals to numbered rejections. Nothing here writes.

use crate::env::BlockEnv;
use crate::evm::compute::{Posting, Precompiles};
use crate::evm::db::{StateDb, alloy};
use crate::evm::tx::FEE_COLLECTOR;
use crate::overlay::{Overlay, StateReader};
use revm::context::result::{EVMError, InvalidTransaction, ResultAndState};
use revm::context::{BlockEnv as RevmBlock, CfgEnv, Context, ContextSetters, TxEnv};
use revm::handler::{EthFrame, Handler, MainnetHandler};
use revm::interpreter::interpreter::EthInterpreter;
use revm::primitives::hardfork::SpecId;
use revm::primitives::{B256, U256};
use revm::{ExecuteEvm, MainBuilder, MainContext};
use std::convert::Infallible;
use yun_types::TxRejection;
use yun_types::evm::EvmParams;

/// The hard fork the EVM follows: Prague (what solc 0.8's current default targets).
pub const SPEC: SpecId = SpecId::PRAGUE;

/// revm's block: height, the block's own time in seconds (never a clock), the base fee, the
/// block gas limit, and the block's seed as `PREVRANDAO`.
pub fn block_env(env: &BlockEnv, params: &EvmParams) -> RevmBlock {
    RevmBlock {
        number: U256::from(env.height),
        beneficiary: alloy(&FEE_COLLECTOR),
        timestamp: U256::from(env.timestamp_ms / 1000),
        gas_limit: params.block_gas_limit,
        basefee: params.base_fee_per_gas,
        prevrandao: Some(B256::from(env.seed.0)),
        ..RevmBlock::default()
    }
}

/// revm's chain configuration. `simulate` (for `eth_call` and `eth_estimateGas`) skips the
/// balance and nonce checks and the fee, as Ethereum nodes do for calls.
pub fn cfg_env(params: &EvmParams, simulate: bool) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(SPEC);
    cfg.chain_id = params.chain_id;
    cfg.tx_gas_limit_cap = Some(params.tx_gas_max);
    if simulate {
        cfg.disable_balance_check = true;
        cfg.disable_nonce_check = true;
        cfg.disable_base_fee = true;
    }
    cfg
}

/// Runs one transaction on the state without writing anything.
pub fn transact<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    env: &BlockEnv,
    params: &EvmParams,
    tx: TxEnv,
    simulate: bool,
) -> Result<ResultAndState, TxRejection> {
    transact_posting(state, env, params, tx, simulate, [0; 32]).map(|(out, _)| out)
}

/// Runs one transaction on the state without writing anything, with the compute precompile
/// (job ids derived from `origin`, the transaction's hash), and returns the jobs it posted
/// (`compute::Posting`; only those whose `JobPosted` log survived are real).
pub fn transact_posting<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    env: &BlockEnv,
    params: &EvmParams,
    tx: TxEnv,
    simulate: bool,
    origin: [u8; 32],
) -> Result<(ResultAndState, Vec<Posting>), TxRejection> {
    let mut evm = Context::mainnet()
        .with_ref_db(StateDb { state })
        .with_block(block_env(env, params))
        .with_cfg(cfg_env(params, simulate))
        .build_mainnet()
        .with_precompiles(Precompiles::new(state, SPEC, env.height, origin, false));
    let out = evm.transact(tx).map_err(refusal)?;
    Ok((out, std::mem::take(&mut evm.precompiles.postings)))
}

/// A settlement callback: `tx` (from `YUN_COMPUTE`, at most its gas limit, no fee, no nonce,
/// no intrinsic gas) run as revm's system call, with `postJob` refused. `None` when revm
/// failed outside the EVM (it cannot over this database: nothing to write then).
pub fn callback<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    env: &BlockEnv,
    params: &EvmParams,
    tx: TxEnv,
) -> Option<ResultAndState> {
    let mut evm = Context::mainnet()
        .with_ref_db(StateDb { state })
        .with_block(block_env(env, params))
        .with_cfg(cfg_env(params, false))
        .build_mainnet()
        .with_precompiles(Precompiles::new(state, SPEC, env.height, [0; 32], true));
    evm.ctx.set_tx(tx);
    let handler: MainnetHandler<_, EVMError<Infallible>, EthFrame<EthInterpreter>> =
        MainnetHandler::default();
    let mut handler = handler;
    let result = handler.run_system_call(&mut evm).ok()?;
    let changes = evm.finalize();
    Some(ResultAndState::new(result, changes))
}

/// A transaction revm would not run: it is not includable.
fn refusal(e: EVMError<Infallible>) -> TxRejection {
    match e {
        EVMError::Transaction(
            InvalidTransaction::NonceTooHigh { .. } | InvalidTransaction::NonceTooLow { .. },
        ) => TxRejection::BadNonce,
        EVMError::Transaction(InvalidTransaction::LackOfFundForMaxFee { .. }) => {
            TxRejection::InsufficientBalance
        }
        EVMError::Transaction(InvalidTransaction::InvalidChainId) => TxRejection::EthWrongChainId,
        _ => TxRejection::EthTxRefusedByEvm,
    }
}
