//! Every transaction action routed to its domain by exhaustive matches with no catch-all arm.
//!
//! One match per question: is it well formed, what can it spend, and what does it do. Each
//! names every `Action` variant, so a new action does not compile until it has answered all
//! three, and no action can reach a domain that does not handle it (a misrouted action used to
//! meet an `unreachable!`, which would have panicked consensus). The domains (`bank`,
//! `market`, `staking`, `storage`, `governance`) never dispatch among themselves.

use crate::bank;
use crate::env::BlockEnv;
use crate::evm;
use crate::governance;
use crate::market::{self, escrow_for};
use crate::overlay::{Overlay, StateReader};
use crate::randomness;
use crate::staking;
use crate::storage;
use yun_types::governance::{GovAction, ProposalKind};
use yun_types::storage::StorageAction;
use yun_types::{Action, Address, Amount, ChainParams, Hash32, SignedTx, TxRejection};

/// The rules of an action that need no state (the transaction's own are checked by
/// `exec::check_stateless`, which calls this).
pub fn check_stateless(
    action: &Action,
    params: &ChainParams,
    height: u64,
) -> Result<(), TxRejection> {
    match action {
        Action::Transfer { amount, .. }
        | Action::Delegate { amount, .. }
        | Action::Undelegate { amount, .. }
        | Action::TransferToEth { amount, .. } => {
            if amount.is_zero() {
                Err(TxRejection::ZeroAmount)
            } else {
                Ok(())
            }
        }
        Action::PostJob { spec } => market::check_job_spec(spec, params, height),
        Action::CommitResults { commits } if commits.is_empty() => Err(TxRejection::Malformed),
        Action::RevealResults { reveals } if reveals.is_empty() => Err(TxRejection::Malformed),
        Action::RegisterValidator { p2p_address, .. } => staking::check_p2p_address(p2p_address),
        Action::Storage(action) => storage::check_storage_stateless(action, params),
        Action::Governance(GovAction::Propose {
            kind: ProposalKind::ParamChange { edits },
            ..
        }) if edits.is_empty() => Err(TxRejection::ProposalInvalid),
        // Checked against state when applied.
        Action::CommitResults { .. }
        | Action::RevealResults { .. }
        | Action::RegisterProvider { .. }
        | Action::UpdateProvider { .. }
        | Action::PauseProvider { .. }
        | Action::ExitProvider
        | Action::CancelJob { .. }
        | Action::Unjail
        | Action::SetCommission { .. }
        | Action::ReportEquivocation { .. }
        | Action::Governance(_)
        | Action::Faucet { .. } => Ok(()),
        // An Ethereum transaction is checked whole by `evm::tx` (exec routes it there).
        Action::Eth { raw, .. } => evm::EthTx::decode(raw)?.check(&params.evm),
    }
}

/// The most a transaction can take out of its sender's balance: its fee plus what its action
/// moves or locks (a transfer, a bond, a job's escrow, a self bond or delegation). The one
/// place this is computed: the mempool's admission and its pending-spend accounting use it.
/// `params` are the chain's (a deal's escrow depends on `storage.replica_epoch_pay_min`).
pub fn max_spend(stx: &SignedTx, params: &ChainParams) -> Result<Amount, TxRejection> {
    let moved = match &stx.tx.action {
        Action::Transfer { amount, .. }
        | Action::Delegate { amount, .. }
        | Action::TransferToEth { amount, .. } => *amount,
        // The envelope's fee is the most its gas can cost (`evm::wrap`); plus its value.
        Action::Eth { raw, .. } => evm::EthTx::decode(raw)?.value()?,
        Action::RegisterProvider { bond, .. } => *bond,
        Action::RegisterValidator { self_bond, .. } => *self_bond,
        Action::Governance(GovAction::Lock { amount, .. }) => *amount,
        Action::Governance(GovAction::Propose { deposit, .. }) => *deposit,
        Action::PostJob { spec } => escrow_for(spec)?,
        Action::Storage(StorageAction::PostDeal { spec }) => {
            storage::deal_escrow_for(spec, params.storage.replica_epoch_pay_min)?
        }
        // Moves stake out of a bond into unbonding, never out of the balance.
        Action::Undelegate { .. } => Amount::ZERO,
        Action::UpdateProvider { .. }
        | Action::PauseProvider { .. }
        | Action::ExitProvider
        | Action::CancelJob { .. }
        | Action::CommitResults { .. }
        | Action::RevealResults { .. }
        | Action::Unjail
        | Action::SetCommission { .. }
        | Action::ReportEquivocation { .. }
        | Action::Governance(GovAction::Unlock | GovAction::Vote { .. })
        | Action::Faucet { .. }
        | Action::Storage(
            StorageAction::OfferStorage { .. }
            | StorageAction::SetEncryptionKey { .. }
            | StorageAction::CancelDeal { .. }
            | StorageAction::ProveStorage { .. }
            | StorageAction::ShareJobKeys { .. },
        ) => Amount::ZERO,
    };
    stx.tx
        .fee
        .checked_add(moved)
        .map_err(|_| TxRejection::AmountOverflow)
}

/// Applies an action for `sender` (its fee is already paid). On error nothing it touched has
/// been written: every domain function checks everything before writing anything.
pub fn apply<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    tx_id: &Hash32,
    action: &Action,
) -> Result<(), TxRejection> {
    use market::actions as m;
    use staking::actions as s;
    match action {
        Action::Transfer { to, amount } => bank::transfer(state, sender, to, *amount),

        Action::RegisterProvider { spec, bond } => {
            m::register_provider(state, env, params, sender, spec, *bond)
        }
        Action::UpdateProvider { spec } => m::update_provider(state, env, params, sender, spec),
        Action::PauseProvider { paused } => m::pause_provider(state, env, params, sender, *paused),
        Action::ExitProvider => m::exit_provider(state, env, params, sender),
        Action::PostJob { spec } => m::post_job(state, env, params, sender, tx_id, spec),
        Action::CancelJob { job } => m::cancel_job(state, env, sender, job),
        Action::CommitResults { commits } => m::commit_results(state, env, params, sender, commits),
        Action::RevealResults { reveals } => m::reveal_results(state, env, sender, reveals),

        Action::RegisterValidator {
            p2p_address,
            self_bond,
            seed_key,
            seed_key_possession,
        } => {
            // The costly key check runs last of the checks, before anything is written.
            let check_key = || randomness::check_key(sender, seed_key, seed_key_possession);
            s::register_validator(
                state,
                env,
                params,
                sender,
                p2p_address,
                *self_bond,
                check_key,
            )?;
            randomness::register_key(state, sender, seed_key);
            Ok(())
        }
        Action::Delegate { validator, amount } => {
            s::delegate(state, env, params, sender, validator, *amount)
        }
        Action::Undelegate { validator, amount } => {
            s::undelegate(state, env, params, sender, validator, *amount)
        }
        Action::Unjail => s::unjail(state, env, sender),
        Action::ReportEquivocation { evidence } => {
            staking::report_equivocation(state, env, evidence)
        }
        Action::Storage(action) => apply_storage(state, env, params, sender, tx_id, action),
        Action::SetCommission { commission_bps } => {
            crate::rewards::commission::set_commission(state, env, params, sender, *commission_bps)
        }
        Action::Governance(action) => apply_governance(state, env, params, sender, action),
        Action::Faucet { nonce } => governance::actions::faucet(state, env, params, sender, *nonce),
        Action::TransferToEth { to, amount } => evm::transfer_to_eth(state, sender, to, *amount),
        // `exec` applies an Ethereum transaction whole (`evm::apply_eth`: its own nonce, gas
        // and fee) and never routes it here; one that got here would have skipped those.
        Action::Eth { .. } => Err(TxRejection::EthTxInvalid),
    }
}

/// The governance domain's actions.
fn apply_governance<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    action: &GovAction,
) -> Result<(), TxRejection> {
    use governance::actions as g;
    match action {
        GovAction::Lock {
            amount,
            until_height,
        } => g::lock(state, env, params, sender, *amount, *until_height),
        GovAction::Unlock => g::unlock(state, env, sender),
        GovAction::Propose {
            kind,
            deposit,
            apply_height,
        } => g::propose(state, env, params, sender, kind, *deposit, *apply_height).map(|_| ()),
        GovAction::Vote { proposal, choice } => {
            g::vote(state, env, params, sender, *proposal, *choice)
        }
    }
}

/// The storage domain's actions.
fn apply_storage<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    tx_id: &Hash32,
    action: &StorageAction,
) -> Result<(), TxRejection> {
    use storage::actions as st;
    match action {
        StorageAction::OfferStorage {
            capacity_bytes,
            ask_per_mib_epoch,
        } => st::offer_storage(state, env, sender, *capacity_bytes, *ask_per_mib_epoch),
        StorageAction::SetEncryptionKey { key } => st::set_encryption_key(state, env, sender, key),
        StorageAction::PostDeal { spec } => st::post_deal(state, env, sender, tx_id, spec),
        StorageAction::CancelDeal { deal } => st::cancel_deal(state, env, sender, deal),
        StorageAction::ProveStorage { proofs } => st::prove_storage(state, env, sender, proofs),
        StorageAction::ShareJobKeys { job, keys } => {
            st::share_job_keys(state, env, params, sender, job, keys)
        }
    }
}
