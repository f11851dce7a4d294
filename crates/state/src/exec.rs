//! Applying transactions and blocks to state.
//!
//! Validity rules are split in two: a transaction that breaks an *inclusion* rule (wrong chain,
//! bad nonce, expired, fee too low or unpayable) makes the whole block invalid, because a
//! proposer must never include it; an *action* that fails (say, a transfer larger than the
//! balance left after the fee) still consumes the nonce and the fee and gets a failed receipt.
//!
//! Fees follow cost (`yun_types::fee`): the declared fee is taken whole before the action, so
//! the action can never spend it; after it, the transaction owes the base, its bytes and the
//! keys its action wrote, and the rest of the declared fee is refunded. Writes the declared
//! fee cannot pay for are undone (`WritesExceedFee`) and the declared fee is kept.

use crate::arith::bps_of;
use crate::bank;
use crate::dispatch;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use crate::randomness::{self, SeedError};
use commonware_codec::{Encode, EncodeSize};
use commonware_cryptography::ed25519::PublicKey;
use commonware_cryptography::{BatchEntry, BatchVerifier};
use commonware_parallel::Sequential;
use rand_core::CryptoRng;
use yun_types::fee::FeeSchedule;
use yun_types::limits::BLOCK_TX_BYTES_MAX;
use yun_types::{
    Action, Amount, ChainParams, Receipt, SignedTx, TX_NAMESPACE, TxOutcome, TxRejection,
};

/// A block that must not be accepted: an offending transaction (its index and why), or
/// randomness that is not its proposer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("transaction {index} is not includable: {reason}")]
    Tx { index: usize, reason: TxRejection },
    #[error("the block's randomness is invalid: {0}")]
    Seed(#[from] SeedError),
    #[error("the block's signer record is invalid: {0}")]
    Signers(#[from] crate::rewards::SignersError),
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
    // The relay key is public: it signs Ethereum envelopes and nothing else, and they
    // are checked by `evm::unwrap` instead (see `yun_types::evm`).
    if stx.signer == *yun_types::evm::relay_public_key() || is_eth(stx) {
        return Err(TxRejection::EthTxInvalid);
    }
    let bytes = stx.encode_size();
    if bytes > params.tx_bytes_max as usize {
        return Err(TxRejection::TooLarge);
    }
    match FeeSchedule::of(params).size_fee(bytes) {
        Some(owed) if tx.fee >= owed => {}
        _ if is_fee_free(tx) => {}
        _ => return Err(TxRejection::FeeTooLow),
    }
    if tx.expires_at_height < height {
        return Err(TxRejection::Expired);
    }
    if tx.expires_at_height - height > params.expiry_blocks_max {
        return Err(TxRejection::ExpiryTooFar);
    }
    dispatch::check_stateless(&tx.action, params, height)
}

/// An Ethereum transaction in its relay envelope (see `yun_types::evm`).
pub fn is_eth(stx: &SignedTx) -> bool {
    matches!(stx.tx.action, Action::Eth { .. })
}

/// A report of equivocation that pays no fee: reporting a validator must not depend on the
/// reporter's balance. Such a report is includable only if its evidence slashes (verified,
/// a known validator, unpunished: [`crate::staking::check_evidence`]); otherwise it breaks an
/// inclusion rule, so it can never be free spam. With a fee, a report is an ordinary
/// transaction whose failure is a failed receipt.
pub fn is_free_evidence(tx: &yun_types::Tx) -> bool {
    tx.fee.is_zero() && matches!(tx.action, yun_types::Action::ReportEquivocation { .. })
}

/// A faucet claim that pays no fee: the claimant of a test network's faucet has no balance
/// to pay with, and its solved puzzle is the anti-spam a fee would be. Like free evidence it
/// is includable only if it pays ([`crate::governance::check_faucet`]), else it breaks an
/// inclusion rule.
pub fn is_free_faucet(tx: &yun_types::Tx) -> bool {
    tx.fee.is_zero() && matches!(tx.action, yun_types::Action::Faucet { .. })
}

/// A transaction that pays no fee and is includable only if its action succeeds.
pub fn is_fee_free(tx: &yun_types::Tx) -> bool {
    is_free_evidence(tx) || is_free_faucet(tx)
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
    if is_eth(stx) {
        return check_eth_admission(&view, chain_id, &params, stx, pending_nonce, pending_spend);
    }
    check_stateless(stx, chain_id, &params, next_height)?;
    let account = view.account(&stx.sender());
    if stx.tx.nonce < account.nonce {
        return Err(TxRejection::BadNonce);
    }
    if stx.tx.nonce > pending_nonce {
        return Err(TxRejection::NonceTooFarAhead);
    }
    if let yun_types::Action::ReportEquivocation { evidence } = &stx.tx.action
        && is_free_evidence(&stx.tx)
    {
        crate::staking::check_evidence(&view, evidence)?;
    }
    if let yun_types::Action::Faucet { nonce } = &stx.tx.action
        && is_free_faucet(&stx.tx)
    {
        let sender = stx.sender();
        crate::governance::check_faucet(&view, chain_id, next_height, &params, &sender, *nonce)?;
    }
    let spend = dispatch::max_spend(stx, &params)?;
    let total = spend
        .checked_add(pending_spend)
        .map_err(|_| TxRejection::AmountOverflow)?;
    if total > account.balance {
        return Err(TxRejection::InsufficientBalance);
    }
    Ok(())
}

/// Admission of an Ethereum envelope: canonical, its own rules, then the EVM account's nonce
/// and balance (gas × price + value, with what the sender already has pending).
fn check_eth_admission<R: StateReader + ?Sized>(
    view: &Overlay<'_, R>,
    chain_id: &str,
    params: &ChainParams,
    stx: &SignedTx,
    pending_nonce: u64,
    pending_spend: Amount,
) -> Result<(), TxRejection> {
    let tx = crate::evm::unwrap(chain_id, stx)?;
    tx.check(&params.evm)?;
    let account = view.evm_account(&tx.from);
    if stx.tx.nonce < account.nonce {
        return Err(TxRejection::BadNonce);
    }
    if stx.tx.nonce > pending_nonce {
        return Err(TxRejection::NonceTooFarAhead);
    }
    let total = dispatch::max_spend(stx, params)?
        .checked_add(pending_spend)
        .map_err(|_| TxRejection::AmountOverflow)?;
    if total > account.balance {
        return Err(TxRejection::InsufficientBalance);
    }
    Ok(())
}

/// The committed nonce of the account the mempool queues `sender`'s transactions under: the
/// EVM account's for an Ethereum pseudo-address (`SignedTx::sender` of an envelope), the
/// Yun account's otherwise.
pub fn committed_nonce<R: StateReader + ?Sized>(
    view: &Overlay<'_, R>,
    sender: &yun_types::Address,
) -> u64 {
    match yun_types::evm::EthAddress::from_pseudo_address(sender) {
        Some(eth) => view.evm_account(&eth).nonce,
        None => view.account(sender).nonce,
    }
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
        return Err(BlockError::Tx {
            index: params.block_txs_max as usize,
            reason: TxRejection::BlockFull,
        });
    }
    let mut bytes = 0usize;
    for (index, stx) in txs.iter().enumerate() {
        bytes += stx.encode_size();
        if bytes > BLOCK_TX_BYTES_MAX {
            return Err(BlockError::Tx {
                index,
                reason: TxRejection::BlockFull,
            });
        }
    }
    randomness::advance(state, env)?;
    crate::rewards::begin_block(state, env, &params)?;
    let mut receipts = Vec::with_capacity(txs.len());
    let mut fees_total = Amount::ZERO;
    let mut burned_total = Amount::ZERO;
    for (index, stx) in txs.iter().enumerate() {
        let fail = |reason| BlockError::Tx { index, reason };
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
/// in `state` are exactly those [`execute_block`] makes for the included transactions. Fails
/// only if `env`'s seed proof is not the proposer's (see [`crate::randomness::next_env`]).
pub fn build_block<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    candidates: impl IntoIterator<Item = SignedTx>,
) -> Result<BuiltBlock, SeedError> {
    randomness::advance(state, env)?;
    build_body(state, env, candidates)
}

/// [`build_block`] with a seed proof [`crate::sign_seed`] already signed and checked on this
/// state: the proposer's path, which does not repeat the pairing on every build attempt
/// (executions always check it).
pub fn build_block_signed<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    signed: &crate::SignedSeed,
    candidates: impl IntoIterator<Item = SignedTx>,
) -> Result<BuiltBlock, SeedError> {
    randomness::advance_signed(state, env, signed)?;
    build_body(state, env, candidates)
}

/// The transactions and the end of block, after the seed was recorded.
fn build_body<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    candidates: impl IntoIterator<Item = SignedTx>,
) -> Result<BuiltBlock, SeedError> {
    let params = state.params();
    // The node builds the signer record from a certificate it verified; one that still does
    // not fit is counted for nobody here, and verifiers refuse the block (`BlockError::Signers`).
    let _ = crate::rewards::begin_block(state, env, &params);
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
    Ok(built)
}

/// The end-of-block steps, after the transactions: staking (fees shared among the epoch's
/// active validators, unbonded amounts released, the next active set chosen in an epoch's last
/// block), then the market, storage, and last governance (tallies, and changes that take
/// effect from the next block, so every other step of this block ran under the old ones).
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
    bank::burn(state, burned_total);
    let fee_pool = fees_total
        .checked_sub(burned_total)
        .expect("the burned share is part of the fees");
    let issued = crate::rewards::issue_block(state, env, params);
    crate::staking::end_block(state, env, params, fee_pool, issued.validators);
    crate::market::end_block(state, env, params);
    crate::evm::callback::end_block(state, env, params);
    crate::storage::end_block(state, env, params);
    crate::governance::end_block(state, env, params);
    crate::evm::end_block(state, env, params);
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
    if is_eth(stx) {
        return crate::evm::apply_eth(state, env, params, stx, index);
    }
    check_stateless(stx, &env.chain_id, params, env.height)?;
    let sender = stx.sender();
    if is_fee_free(&stx.tx) {
        return apply_free_evidence(state, env, params, stx, index);
    }
    let declared = stx.tx.fee;
    bank::charge_fee(state, &sender, stx.tx.nonce, declared)?;

    state.begin_journal();
    let applied = dispatch::apply(state, env, params, &sender, &stx.id(), &stx.tx.action);
    let (outcome, fee) = settle_fee(state, params, stx, applied);
    bank::refund_fee(
        state,
        &sender,
        declared.checked_sub(fee).expect("never more than declared"),
    );
    let receipt = Receipt {
        tx_id: stx.id(),
        height: env.height,
        index,
        outcome,
        fee_paid: fee,
    };
    Ok((receipt, bps_of(fee, params.fee_burn_bps)))
}

/// Commits, reveals and storage proofs that succeed pay no fee. Charging them would make an
/// honest provider poorer on every task whose pay at the price floor (fuel used × price, down
/// to nothing) is below a commit's and a reveal's fee, and on every replica-epoch whose pay is
/// below a proof's bytes; it cannot refuse an assignment without being slashed for silence.
/// They cannot be spammed for free: a successful one needs a replica the chain assigned (a
/// task's, or a deal's with its challenge open), each replica allows one of each, and replicas
/// exist only for tasks and deals a requester posted (and paid the writes of); a failed one pays
/// for its size like any transaction (its declared fee must cover that to be admitted).
fn results_of_assigned_work(action: &Action) -> bool {
    matches!(
        action,
        Action::CommitResults { .. }
            | Action::RevealResults { .. }
            | Action::Storage(yun_types::storage::StorageAction::ProveStorage { .. })
    )
}

/// Ends the action's journal and decides what the transaction pays: the base, its bytes and
/// the keys the action wrote, at most the declared fee. A failed action wrote nothing (every
/// domain checks before writing; the journal undoes anything regardless) and pays for its
/// size only; a successful one whose writes the declared fee cannot cover is undone and pays
/// the whole declared fee, so writes are never free.
fn settle_fee<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    params: &ChainParams,
    stx: &SignedTx,
    applied: Result<(), TxRejection>,
) -> (TxOutcome, Amount) {
    let schedule = FeeSchedule::of(params);
    let bytes = stx.encode_size();
    let declared = stx.tx.fee;
    let size_fee = schedule
        .size_fee(bytes)
        .expect("check_stateless: the declared fee covers the size fee");
    match applied {
        Err(reason) => {
            state.end_journal(true);
            (TxOutcome::Failed(reason), size_fee)
        }
        Ok(()) if results_of_assigned_work(&stx.tx.action) => {
            state.end_journal(false);
            (TxOutcome::Success, Amount::ZERO)
        }
        Ok(()) => {
            let writes = state.journal_len();
            let paid = schedule
                .fee_for(bytes, writes)
                .filter(|owed| *owed <= declared);
            state.end_journal(paid.is_none());
            match paid {
                Some(owed) => (TxOutcome::Success, owed),
                None => (TxOutcome::Failed(TxRejection::WritesExceedFee), declared),
            }
        }
    }
}

/// A fee-free report or faucet claim (see [`is_fee_free`]): the slash (or claim) must succeed, else the transaction
/// is not includable and nothing is written; then the nonce is taken, with no fee.
fn apply_free_evidence<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    stx: &SignedTx,
    index: u32,
) -> Result<(Receipt, Amount), TxRejection> {
    let sender = stx.sender();
    if state.account(&sender).nonce != stx.tx.nonce {
        return Err(TxRejection::BadNonce);
    }
    dispatch::apply(state, env, params, &sender, &stx.id(), &stx.tx.action)?;
    bank::charge_fee(state, &sender, stx.tx.nonce, Amount::ZERO)?;
    let receipt = Receipt {
        tx_id: stx.id(),
        height: env.height,
        index,
        outcome: TxOutcome::Success,
        fee_paid: Amount::ZERO,
    };
    Ok((receipt, Amount::ZERO))
}
