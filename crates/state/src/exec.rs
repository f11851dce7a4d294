//! Applying transactions and blocks to state.
//!
//! Validity rules are split in two: a transaction that breaks an *inclusion* rule (wrong chain,
//! bad nonce, expired, fee too low or unpayable) makes the whole block invalid, because a
//! proposer must never include it; an *action* that fails (say, a transfer larger than the
//! balance left after the fee) still consumes the nonce and the fee and gets a failed receipt.

use crate::market::credit;
use crate::overlay::{Overlay, StateReader};
use commonware_codec::{Encode, EncodeSize};
use commonware_cryptography::ed25519::PublicKey;
use commonware_cryptography::{BatchEntry, BatchVerifier};
use commonware_parallel::Sequential;
use rand_core::CryptoRng;
use yun_types::limits::BLOCK_TX_BYTES_MAX;
use yun_types::{
    Action, Address, Amount, ChainParams, Hash32, Receipt, SignedTx, TX_NAMESPACE, TxOutcome,
    TxRejection,
};

/// What the block itself contributes to execution: the only source of height, time and the
/// proposer (who receives what the pro-rata fee shares leave over).
#[derive(Debug, Clone)]
pub struct BlockEnv {
    pub chain_id: String,
    pub height: u64,
    pub timestamp_ms: u64,
    pub proposer: Address,
    /// The parent block's hash: the block's randomness (market tie-breaks). A proposer can
    /// influence it only by choosing among its own candidate blocks.
    pub seed: Hash32,
}

/// A block that must not be accepted: the index of the offending transaction and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("transaction {index} is not includable: {reason}")]
pub struct BlockError {
    pub index: usize,
    pub reason: TxRejection,
}

/// The result of executing a valid block.
#[derive(Debug, Clone)]
pub struct BlockOutcome {
    pub receipts: Vec<Receipt>,
    pub fees_total: Amount,
    pub burned_total: Amount,
}

/// Rules that need no state: chain id, size, fee floor, expiry window, well-formed action.
pub fn check_stateless(
    stx: &SignedTx,
    chain_id: &str,
    params: &ChainParams,
    height: u64,
) -> Result<(), TxRejection> {
    let tx = &stx.tx;
    if tx.chain_id != chain_id {
        return Err(TxRejection::WrongChain);
    }
    if stx.encode_size() > params.tx_bytes_max as usize {
        return Err(TxRejection::TooLarge);
    }
    if tx.fee < params.min_fee {
        return Err(TxRejection::FeeTooLow);
    }
    if tx.expires_at_height < height {
        return Err(TxRejection::Expired);
    }
    if tx.expires_at_height - height > params.expiry_blocks_max {
        return Err(TxRejection::ExpiryTooFar);
    }
    match &tx.action {
        Action::Transfer { amount, .. } if amount.is_zero() => Err(TxRejection::ZeroAmount),
        Action::PostJob { spec } => crate::market::check_job_spec(spec, params, height),
        Action::CommitResults { commits } if commits.is_empty() => Err(TxRejection::Malformed),
        Action::RevealResults { reveals } if reveals.is_empty() => Err(TxRejection::Malformed),
        staking if crate::staking::is_staking_action(staking) => {
            crate::staking::check_stateless(staking)
        }
        _ => Ok(()),
    }
}

/// Verifies every signature of `txs` in one batch. `rng` only blinds the batch equation (so
/// crafted signatures cannot cancel out); it never affects the answer for honest input.
pub fn verify_signatures<T: std::borrow::Borrow<SignedTx> + Sync>(
    txs: &[T],
    rng: &mut impl CryptoRng,
) -> bool {
    if txs.is_empty() {
        return true;
    }
    let messages: Vec<_> = txs.iter().map(|t| t.borrow().tx.encode()).collect();
    PublicKey::verify_batch(
        rng,
        txs,
        |i, t| BatchEntry {
            namespace: TX_NAMESPACE,
            message: &messages[i],
            public_key: &t.borrow().signer,
            signature: &t.borrow().signature,
        },
        &Sequential,
    )
}

/// Admission to the mempool: stateless rules plus the sender's committed nonce and balance.
/// `pending_nonce` is the next nonce counting the sender's already pending transactions.
/// The signature must already be verified (the node checks whole submissions in batches).
pub fn check_admission<R: StateReader + ?Sized>(
    state: &R,
    chain_id: &str,
    next_height: u64,
    stx: &SignedTx,
    pending_nonce: u64,
    pending_spend: Amount,
) -> Result<(), TxRejection> {
    let view = Overlay::new(state);
    let params = view.params();
    check_stateless(stx, chain_id, &params, next_height)?;
    let account = view.account(&stx.sender());
    if stx.tx.nonce < account.nonce {
        return Err(TxRejection::BadNonce);
    }
    if stx.tx.nonce > pending_nonce {
        return Err(TxRejection::NonceTooFarAhead);
    }
    let spend = max_spend(stx)?;
    let total = spend
        .checked_add(pending_spend)
        .map_err(|_| TxRejection::AmountOverflow)?;
    if total > account.balance {
        return Err(TxRejection::InsufficientBalance);
    }
    Ok(())
}

/// Fee plus whatever the action moves out of the sender's balance.
pub fn max_spend(stx: &SignedTx) -> Result<Amount, TxRejection> {
    let action = &stx.tx.action;
    let moved = if crate::staking::is_staking_action(action) {
        crate::staking::action_spend(action)
    } else {
        crate::market::action_spend(action)?
    };
    stx.tx
        .fee
        .checked_add(moved)
        .map_err(|_| TxRejection::AmountOverflow)
}

/// Executes `txs` in order on top of `state`. Signatures must already have been verified
/// (see [`verify_signatures`]); everything else is checked here.
pub fn execute_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    txs: &[SignedTx],
) -> Result<BlockOutcome, BlockError> {
    let params = state.params();
    if txs.len() > params.block_txs_max as usize {
        return Err(BlockError {
            index: params.block_txs_max as usize,
            reason: TxRejection::BlockFull,
        });
    }
    let mut bytes = 0usize;
    for (index, stx) in txs.iter().enumerate() {
        bytes += stx.encode_size();
        if bytes > BLOCK_TX_BYTES_MAX {
            return Err(BlockError {
                index,
                reason: TxRejection::BlockFull,
            });
        }
    }
    let mut receipts = Vec::with_capacity(txs.len());
    let mut fees_total = Amount::ZERO;
    let mut burned_total = Amount::ZERO;
    for (index, stx) in txs.iter().enumerate() {
        let fail = |reason| BlockError { index, reason };
        let (receipt, burned) = apply_tx(state, env, &params, stx, index as u32).map_err(fail)?;
        fees_total = fees_total
            .checked_add(receipt.fee_paid)
            .map_err(|_| fail(TxRejection::AmountOverflow))?;
        burned_total = burned_total
            .checked_add(burned)
            .map_err(|_| fail(TxRejection::AmountOverflow))?;
        receipts.push(receipt);
    }
    end_block(state, env, &params, fees_total, burned_total);
    Ok(BlockOutcome {
        receipts,
        fees_total,
        burned_total,
    })
}

/// A proposer's block body: what went in (with receipts) and what was left out, and why.
#[derive(Debug, Default)]
pub struct BuiltBlock {
    pub txs: Vec<SignedTx>,
    pub receipts: Vec<Receipt>,
    pub left_out: Vec<(SignedTx, TxRejection)>,
}

/// Builds a block body for a proposer: applies `candidates` in order and leaves out every
/// transaction that is not includable now, so the block is always valid. The writes it leaves
/// in `state` are exactly those [`execute_block`] makes for the included transactions.
pub fn build_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    candidates: impl IntoIterator<Item = SignedTx>,
) -> BuiltBlock {
    let params = state.params();
    let mut built = BuiltBlock::default();
    let mut fees_total = Amount::ZERO;
    let mut burned_total = Amount::ZERO;
    let mut bytes = 0usize;
    for stx in candidates {
        let size = stx.encode_size();
        if built.txs.len() >= params.block_txs_max as usize || bytes + size > BLOCK_TX_BYTES_MAX {
            built.left_out.push((stx, TxRejection::BlockFull));
            continue;
        }
        // Nothing is written when apply_tx refuses, so skipping keeps the overlay consistent.
        match apply_tx(state, env, &params, &stx, built.txs.len() as u32) {
            Ok((receipt, burned)) => {
                bytes += size;
                fees_total = fees_total
                    .checked_add(receipt.fee_paid)
                    .expect("fees within supply");
                burned_total = burned_total
                    .checked_add(burned)
                    .expect("burned within supply");
                built.receipts.push(receipt);
                built.txs.push(stx);
            }
            Err(reason) => built.left_out.push((stx, reason)),
        }
    }
    end_block(state, env, &params, fees_total, burned_total);
    built
}

/// The end-of-block steps, after the transactions: staking (fees shared among the epoch's
/// active validators, unbonded amounts released, the next active set chosen in an epoch's last
/// block), then the market.
///
/// Shared by building and executing so the two cannot drift apart: the supply record is read
/// here, after the transactions, because some of them write it (a slash burns stake); reading
/// it before them and writing it back here once lost such a write on verifiers only, and
/// their state root differed from the proposer's.
fn end_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    fees_total: Amount,
    burned_total: Amount,
) {
    crate::market::burn(state, burned_total);
    let fee_pool = fees_total
        .checked_sub(burned_total)
        .expect("the burned share is part of the fees");
    crate::staking::end_block(state, env, params, fee_pool);
    crate::market::end_block(state, env, params);
}

/// Applies one transaction: inclusion rules, fee, nonce, then the action. Returns the receipt
/// and the amount burned; the rest of the fee joins the block's fee pool, shared among the
/// active validators at the end of the block. On `Err` nothing was written.
fn apply_tx<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    stx: &SignedTx,
    index: u32,
) -> Result<(Receipt, Amount), TxRejection> {
    check_stateless(stx, &env.chain_id, params, env.height)?;
    let sender = stx.sender();
    let mut account = state.account(&sender);
    if stx.tx.nonce != account.nonce {
        return Err(TxRejection::BadNonce);
    }
    let fee = stx.tx.fee;
    account.balance = account
        .balance
        .checked_sub(fee)
        .map_err(|_| TxRejection::InsufficientBalance)?;
    account.nonce += 1;
    state.set_account(&sender, account);

    let burned = crate::staking::bps_of(fee, params.fee_burn_bps);

    let outcome = match apply_action(state, env, params, &sender, &stx.id(), &stx.tx.action) {
        Ok(()) => TxOutcome::Success,
        Err(reason) => TxOutcome::Failed(reason),
    };
    let receipt = Receipt {
        tx_id: stx.id(),
        height: env.height,
        index,
        outcome,
        fee_paid: fee,
    };
    Ok((receipt, burned))
}

/// Runs the action. On error nothing it touched has been written.
fn apply_action<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    tx_id: &Hash32,
    action: &Action,
) -> Result<(), TxRejection> {
    match action {
        staking if crate::staking::is_staking_action(staking) => {
            crate::staking::apply_action(state, env, params, sender, staking)
        }
        Action::Transfer { to, amount } => {
            let mut from = state.account(sender);
            from.balance = from
                .balance
                .checked_sub(*amount)
                .map_err(|_| TxRejection::InsufficientBalance)?;
            state.set_account(sender, from);
            credit(state, to, *amount);
            Ok(())
        }
        market => crate::market::apply_action(state, env, params, sender, tx_id, market),
    }
}
