//! The Ethereum JSON-RPC methods over the node's store, state and mempool, answered in
//! alloy's RPC types (`alloy-rpc-types-eth`), so the JSON is what Ethereum tools expect.

use crate::api_common::ApiState;
use alloy_consensus::transaction::Recovered;
use alloy_consensus::{
    Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, TxEnvelope, TxType,
};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, Bloom, Bytes, LogData, U256, logs_bloom};
use alloy_rpc_types_eth::{
    Block, BlockNumberOrTag, BlockTransactions, FeeHistory, Filter, FilterBlockOption, Header, Log,
    Transaction, TransactionReceipt, TransactionRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use yun_state::Overlay;
use yun_state::evm::{CallOutcome, CallRequest, EvmReceipt};
use yun_types::evm::EthAddress;
use yun_types::{Action, SignedTx};

/// A JSON-RPC error: code, message and optional data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn invalid_params(message: impl std::fmt::Display) -> RpcError {
        RpcError::new(-32602, format!("invalid params: {message}"))
    }

    pub fn internal(message: impl std::fmt::Display) -> RpcError {
        RpcError::new(-32603, format!("internal error: {message}"))
    }

    /// A refused transaction: its rejection's words, its number in `data`.
    pub fn rejected(r: yun_types::TxRejection) -> RpcError {
        RpcError {
            code: -32000,
            message: rejection_message(r),
            data: Some(json!({ "code": r.code(), "name": r.name(), "hint": r.hint() })),
        }
    }
}

/// Messages in the words Ethereum clients recognise (ethers maps "nonce too low" and
/// "insufficient funds" to its error codes), followed by ours.
fn rejection_message(r: yun_types::TxRejection) -> String {
    use yun_types::TxRejection as T;
    let head = match r {
        T::BadNonce => "nonce too low: ",
        T::InsufficientBalance => "insufficient funds for gas * price + value: ",
        T::EthGasPriceTooLow => "max fee per gas less than block base fee: ",
        T::AlreadyKnown => "already known: ",
        _ => "",
    };
    format!("{head}{r}")
}

pub type RpcResult = Result<Value, RpcError>;

/// Most blocks one `eth_getLogs` reads.
pub const ETH_LOGS_BLOCKS_MAX: u64 = 1_000;
/// Most logs one `eth_getLogs` returns.
pub const ETH_LOGS_MAX: usize = 10_000;

/// Runs one method.
pub fn call(s: &ApiState, method: &str, params: &[Value]) -> RpcResult {
    let params = &params[..params.len().min(4)];
    match method {
        "eth_chainId" => Ok(quantity(chain_params(s)?.chain_id)),
        "net_version" => Ok(json!(chain_params(s)?.chain_id.to_string())),
        "web3_clientVersion" => Ok(json!(concat!("yun/", env!("CARGO_PKG_VERSION")))),
        "net_listening" => Ok(json!(true)),
        "eth_syncing" => Ok(json!(false)),
        "eth_accounts" => Ok(json!([])),
        "eth_blockNumber" => Ok(quantity(s.node.head().height)),
        "eth_gasPrice" | "eth_maxPriorityFeePerGas" => {
            let p = chain_params(s)?;
            Ok(quantity(if method == "eth_gasPrice" {
                p.base_fee_per_gas
            } else {
                0
            }))
        }
        "eth_feeHistory" => fee_history(s, params),
        "eth_getBalance" => {
            let a: EthAddress = arg(params, 0)?;
            let view_balance = with_view(s, |v| v.evm_account(&a).balance.base_units())?;
            Ok(json!(U256::from(view_balance)))
        }
        "eth_getTransactionCount" => transaction_count(s, params),
        "eth_getCode" => {
            let a: EthAddress = arg(params, 0)?;
            let code = with_view(s, |v| {
                let acc = v.evm_account(&a);
                v.evm_code(&acc.code_hash).unwrap_or_default()
            })?;
            Ok(json!(Bytes::from(code)))
        }
        "eth_getStorageAt" => {
            let a: EthAddress = arg(params, 0)?;
            let slot: U256 = arg(params, 1)?;
            let value = with_view(s, |v| v.evm_slot(&a, &slot.to_be_bytes::<32>()))?;
            Ok(json!(B256::from(value)))
        }
        "eth_getBlockByNumber" => {
            let tag: BlockNumberOrTag = arg(params, 0)?;
            let full = params.get(1).and_then(Value::as_bool).unwrap_or(false);
            match height_of_tag(s, tag) {
                Some(h) => block(s, h, full),
                None => Ok(Value::Null),
            }
        }
        "eth_getBlockByHash" => {
            let hash: B256 = arg(params, 0)?;
            let full = params.get(1).and_then(Value::as_bool).unwrap_or(false);
            match s
                .node
                .store
                .height_of(&yun_types::Hash32(hash.0))
                .map_err(RpcError::internal)?
            {
                Some(h) => block(s, h, full),
                None => Ok(Value::Null),
            }
        }
        "eth_getTransactionByHash" => {
            let hash: B256 = arg(params, 0)?;
            Ok(match located(s, &hash.0)? {
                Some((r, stx, header)) => json!(transaction(&r, &stx, &header)?),
                None => Value::Null,
            })
        }
        "eth_getTransactionReceipt" => {
            let hash: B256 = arg(params, 0)?;
            Ok(match located(s, &hash.0)? {
                Some((r, stx, header)) => json!(receipt(&r, &stx, &header)?),
                None => Value::Null,
            })
        }
        "eth_getLogs" => logs(s, params),
        "eth_call" => {
            let out = simulate(s, params, false)?;
            let out = out.map_err(|o| reverted(&o))?;
            Ok(json!(Bytes::from(out.output)))
        }
        "eth_estimateGas" => simulate(s, params, true)?
            .map(|o| quantity(o.gas_used))
            .map_err(|o| reverted(&o)),
        "eth_sendRawTransaction" => send_raw(s, params),
        _ => Err(RpcError::new(
            -32601,
            format!("the method {method} does not exist/is not available"),
        )),
    }
}

fn quantity(n: u64) -> Value {
    json!(format!("{n:#x}"))
}

fn arg<T: DeserializeOwned>(params: &[Value], i: usize) -> Result<T, RpcError> {
    let v = params
        .get(i)
        .ok_or_else(|| RpcError::invalid_params(format!("parameter {i} is missing")))?;
    serde_json::from_value(v.clone())
        .map_err(|e| RpcError::invalid_params(format!("parameter {i}: {e}")))
}

fn with_view<T>(
    s: &ApiState,
    f: impl FnOnce(&Overlay<'_, yun_store::Snapshot>) -> T,
) -> Result<T, RpcError> {
    let snapshot = s.node.store.snapshot().map_err(RpcError::internal)?;
    let view = Overlay::new(&snapshot);
    Ok(f(&view))
}

fn chain_params(s: &ApiState) -> Result<yun_types::evm::EvmParams, RpcError> {
    with_view(s, |v| v.params().evm)
}

fn height_of_tag(s: &ApiState, tag: BlockNumberOrTag) -> Option<u64> {
    let head = s.node.head().height;
    match tag {
        BlockNumberOrTag::Number(n) if n <= head => Some(n),
        BlockNumberOrTag::Number(_) => None,
        BlockNumberOrTag::Earliest => Some(0),
        _ => Some(head),
    }
}

/// The pending count includes the sender's transactions waiting in the mempool.
fn transaction_count(s: &ApiState, params: &[Value]) -> RpcResult {
    let a: EthAddress = arg(params, 0)?;
    let pending = params.get(1).and_then(Value::as_str) == Some("pending");
    let pool = s.node.mempool.lock().expect("mempool lock");
    let committed = with_view(s, |v| v.evm_account(&a).nonce)?;
    let n = if pending {
        pool.pending_nonce(&a.pseudo_address(), committed).0
    } else {
        committed
    };
    Ok(quantity(n))
}

fn fee_history(s: &ApiState, params: &[Value]) -> RpcResult {
    let count: U256 = arg(params, 0)?;
    let count = count.saturating_to::<u64>().clamp(1, 1024);
    let head = s.node.head().height;
    let base = chain_params(s)?.base_fee_per_gas as u128;
    let n = count.min(head + 1);
    let percentiles = params.get(2).and_then(Value::as_array).map_or(0, Vec::len);
    let history = FeeHistory {
        base_fee_per_gas: vec![base; n as usize + 1],
        gas_used_ratio: vec![0.0; n as usize],
        base_fee_per_blob_gas: Vec::new(),
        blob_gas_used_ratio: Vec::new(),
        oldest_block: head + 1 - n,
        reward: (percentiles > 0).then(|| vec![vec![0u128; percentiles]; n as usize]),
    };
    Ok(json!(history))
}

/// The Ethereum transactions of a block, in order, with their Yun index.
fn eth_txs(block: &yun_types::Block) -> Vec<(u32, &SignedTx)> {
    block
        .txs
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t.tx.action, Action::Eth { .. }))
        .map(|(i, t)| (i as u32, t))
        .collect()
}

fn decode_raw(stx: &SignedTx) -> Result<TxEnvelope, RpcError> {
    let Action::Eth { raw, .. } = &stx.tx.action else {
        return Err(RpcError::internal("not an Ethereum transaction"));
    };
    TxEnvelope::decode_2718(&mut raw.as_slice()).map_err(RpcError::internal)
}

/// A block as Ethereum sees it: its Yun hash and height, time in seconds, its Ethereum
/// transactions (hashes, or whole with `full`), gas from their receipts.
fn block(s: &ApiState, height: u64, full: bool) -> RpcResult {
    let Some(b) = s.node.store.block(height).map_err(RpcError::internal)? else {
        return Ok(Value::Null);
    };
    let (receipts, params) = with_view(s, |v| (v.evm_receipts_at(height), v.params().evm))?;
    let header = eth_header(&b.header, &receipts, &params);
    let txs = eth_txs(&b);
    let transactions = if full {
        let mut out = Vec::with_capacity(txs.len());
        for (r, (_, stx)) in receipts.iter().zip(&txs) {
            out.push(transaction(r, stx, &header)?);
        }
        BlockTransactions::Full(out)
    } else {
        BlockTransactions::Hashes(receipts.iter().map(|r| B256::from(r.tx_hash)).collect())
    };
    let block: Block = Block {
        header,
        uncles: Vec::new(),
        transactions,
        withdrawals: None,
    };
    Ok(json!(block))
}

fn eth_header(
    h: &yun_types::Header,
    receipts: &[EvmReceipt],
    p: &yun_types::evm::EvmParams,
) -> Header {
    let logs: Vec<alloy_primitives::Log> = receipts.iter().flat_map(primitive_logs).collect();
    let inner = alloy_consensus::Header {
        parent_hash: B256::from(h.parent.0),
        state_root: B256::from(h.state_root.0),
        transactions_root: B256::from(h.txs_root.0),
        logs_bloom: logs_bloom(logs.iter()),
        number: h.height,
        gas_limit: p.block_gas_limit,
        gas_used: receipts.last().map_or(0, |r| r.cumulative_gas_used),
        timestamp: h.timestamp_ms / 1000,
        mix_hash: B256::from(h.seed_proof.seed().0),
        base_fee_per_gas: Some(p.base_fee_per_gas),
        ..alloy_consensus::Header::default()
    };
    Header {
        hash: B256::from(h.hash().0),
        inner,
        total_difficulty: Some(U256::ZERO),
        size: None,
    }
}

fn primitive_logs(r: &EvmReceipt) -> Vec<alloy_primitives::Log> {
    r.logs
        .iter()
        .map(|l| alloy_primitives::Log {
            address: Address::from(l.address.0),
            data: LogData::new_unchecked(
                l.topics.iter().map(|t| B256::from(*t)).collect(),
                Bytes::from(l.data.clone()),
            ),
        })
        .collect()
}

/// The receipt, envelope and block header of a transaction by its Ethereum hash.
fn located(
    s: &ApiState,
    hash: &[u8; 32],
) -> Result<Option<(EvmReceipt, SignedTx, Header)>, RpcError> {
    let found = with_view(s, |v| {
        let loc = v.evm_tx_location(hash)?;
        Some((
            loc,
            v.evm_receipt(loc.height, loc.index)?,
            v.evm_receipts_at(loc.height),
            v.params().evm,
        ))
    })?;
    let Some((loc, r, receipts, params)) = found else {
        return Ok(None);
    };
    let Some(b) = s.node.store.block(loc.height).map_err(RpcError::internal)? else {
        return Ok(None);
    };
    let Some(stx) = b.txs.get(loc.index as usize).cloned() else {
        return Ok(None);
    };
    let header = eth_header(&b.header, &receipts, &params);
    Ok(Some((r, stx, header)))
}

fn transaction(r: &EvmReceipt, stx: &SignedTx, header: &Header) -> Result<Transaction, RpcError> {
    Ok(Transaction {
        inner: Recovered::new_unchecked(decode_raw(stx)?, Address::from(r.from.0)),
        block_hash: Some(header.hash),
        block_number: Some(header.inner.number),
        transaction_index: Some(r.eth_index as u64),
        effective_gas_price: Some(r.effective_gas_price),
        block_timestamp: Some(header.inner.timestamp),
    })
}

fn rpc_logs(r: &EvmReceipt, header: &Header) -> Vec<Log> {
    primitive_logs(r)
        .into_iter()
        .enumerate()
        .map(|(i, inner)| Log {
            inner,
            block_hash: Some(header.hash),
            block_number: Some(header.inner.number),
            block_timestamp: Some(header.inner.timestamp),
            transaction_hash: Some(B256::from(r.tx_hash)),
            transaction_index: Some(r.eth_index as u64),
            log_index: Some(r.first_log_index as u64 + i as u64),
            removed: false,
        })
        .collect()
}

fn receipt(
    r: &EvmReceipt,
    stx: &SignedTx,
    header: &Header,
) -> Result<TransactionReceipt, RpcError> {
    let logs = rpc_logs(r, header);
    let bloom: Bloom = logs_bloom(logs.iter().map(|l| &l.inner));
    let inner = ReceiptWithBloom {
        receipt: Receipt {
            status: Eip658Value::Eip658(r.success),
            cumulative_gas_used: r.cumulative_gas_used,
            logs,
        },
        logs_bloom: bloom,
    };
    let inner = match decode_raw(stx)?.tx_type() {
        TxType::Legacy => ReceiptEnvelope::Legacy(inner),
        TxType::Eip2930 => ReceiptEnvelope::Eip2930(inner),
        _ => ReceiptEnvelope::Eip1559(inner),
    };
    Ok(TransactionReceipt {
        inner,
        transaction_hash: B256::from(r.tx_hash),
        transaction_index: Some(r.eth_index as u64),
        block_hash: Some(header.hash),
        block_number: Some(header.inner.number),
        gas_used: r.gas_used,
        effective_gas_price: r.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: Address::from(r.from.0),
        to: r.to.map(|a| Address::from(a.0)),
        contract_address: r.contract_address.map(|a| Address::from(a.0)),
    })
}

/// `eth_getLogs`: at most [`ETH_LOGS_BLOCKS_MAX`] blocks and [`ETH_LOGS_MAX`] logs.
fn logs(s: &ApiState, params: &[Value]) -> RpcResult {
    let filter: Filter = arg(params, 0)?;
    let head = s.node.head().height;
    let (from, to) = match filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => {
            match s
                .node
                .store
                .height_of(&yun_types::Hash32(hash.0))
                .map_err(RpcError::internal)?
            {
                Some(h) => (h, h),
                None => return Ok(json!([])),
            }
        }
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            // The bound is on the range asked for, before it is cut at the head.
            let at = |t: Option<BlockNumberOrTag>| match t {
                Some(BlockNumberOrTag::Number(n)) => n,
                Some(BlockNumberOrTag::Earliest) => 0,
                _ => head,
            };
            (at(from_block), at(to_block))
        }
    };
    if from > to {
        return Ok(json!([]));
    }
    if to - from >= ETH_LOGS_BLOCKS_MAX {
        return Err(RpcError::new(
            -32005,
            format!(
                "query exceeds the limit: at most {ETH_LOGS_BLOCKS_MAX} blocks per eth_getLogs, this asks {}",
                to - from + 1
            ),
        ));
    }
    let mut out = Vec::new();
    for height in from..=to.min(head) {
        let (receipts, params) = with_view(s, |v| (v.evm_receipts_at(height), v.params().evm))?;
        if receipts.is_empty() {
            continue;
        }
        let Some(h) = s.node.store.header(height).map_err(RpcError::internal)? else {
            continue;
        };
        let header = eth_header(&h, &receipts, &params);
        for r in &receipts {
            for log in rpc_logs(r, &header) {
                if filter.matches_address(log.inner.address)
                    && filter.matches_topics(log.inner.data.topics())
                {
                    out.push(log);
                    if out.len() > ETH_LOGS_MAX {
                        return Err(RpcError::new(
                            -32005,
                            format!(
                                "query returned more than {ETH_LOGS_MAX} results: ask for fewer blocks"
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(json!(out))
}

/// `eth_call` and `eth_estimateGas` on the head's state, as if in the next block.
fn simulate(
    s: &ApiState,
    params: &[Value],
    estimate: bool,
) -> Result<Result<CallOutcome, CallOutcome>, RpcError> {
    let req: TransactionRequest = arg(params, 0)?;
    let call = CallRequest {
        from: req.from.map(|a| EthAddress(a.into_array())),
        to: req
            .to
            .and_then(|k| k.to().copied())
            .map(|a| EthAddress(a.into_array())),
        data: req.input.input().map(|b| b.to_vec()).unwrap_or_default(),
        value: req.value.map(|v| v.saturating_to::<u128>()).unwrap_or(0),
        gas: req.gas,
    };
    let head = s.node.head();
    let chain_id = s.node.chain_id().to_string();
    let snapshot = s.node.store.snapshot().map_err(RpcError::internal)?;
    let view = Overlay::new(&snapshot);
    let params = view.params().evm;
    let (height, time) = (head.height + 1, head.timestamp_ms + 1000);
    if estimate {
        let est = yun_state::evm::estimate_gas(&view, &chain_id, height, time, &params, &call)
            .map_err(RpcError::rejected)?;
        return Ok(est.map(|gas| CallOutcome {
            success: true,
            output: Vec::new(),
            gas_used: gas,
            halted: false,
        }));
    }
    let out = yun_state::evm::simulate(&view, &chain_id, height, time, &params, &call)
        .map_err(RpcError::rejected)?;
    Ok(if out.success { Ok(out) } else { Err(out) })
}

/// A reverted call: code 3, the revert data, and the decoded reason in the message.
fn reverted(o: &CallOutcome) -> RpcError {
    if o.halted {
        return RpcError::new(-32000, "execution halted: out of gas or an invalid opcode");
    }
    let reason = alloy_sol_types::decode_revert_reason(&o.output);
    RpcError {
        code: 3,
        message: match reason {
            Some(r) => format!("execution reverted: {r}"),
            None => "execution reverted".to_string(),
        },
        data: Some(json!(Bytes::from(o.output.clone()))),
    }
}

/// Wraps the raw transaction in its relay envelope and submits it like any transaction.
fn send_raw(s: &ApiState, params: &[Value]) -> RpcResult {
    let raw: Bytes = arg(params, 0)?;
    let (stx, decoded) =
        yun_state::evm::wrap(s.node.chain_id(), raw.to_vec()).map_err(RpcError::rejected)?;
    let params = chain_params(s)?;
    decoded.check(&params).map_err(RpcError::rejected)?;
    match s.node.submit(vec![stx]).remove(0) {
        Ok(_) => Ok(json!(B256::from(decoded.hash))),
        Err(r) => Err(RpcError::rejected(r)),
    }
}
