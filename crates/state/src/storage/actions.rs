//! The storage transactions: offers, encryption keys, posting and cancelling deals, answering
//! challenges, and sealing a job's key to its providers. Each checks everything before it
//! writes anything, so a refused action leaves no trace.

use super::life::{end_deal, enqueue, set_next_event};
use super::records::*;
use crate::bank;
use crate::env::BlockEnv;
use crate::market::{Job, ReplicaState, Task, deadline_key};
use crate::overlay::{Overlay, StateReader};
use std::collections::{BTreeMap, BTreeSet};
use yun_types::market::{JobId, TaskRef};
use yun_types::market_records::ProviderStatus;
use yun_types::storage::{
    DEAL_BYTES_MAX, DEAL_EPOCHS_MAX, DEAL_REPLICAS_MAX, DealId, DealSpec, EncryptionKey, SealedKey,
    StorageProof, billed_mib, verify_chunk_proof,
};
use yun_types::{Address, Amount, ChainParams, Hash32, TxRejection};

/// The spec rules that need no state: size, replicas, epochs, a positive bid, a short
/// http(s) source URL or none.
pub fn check_deal_spec(spec: &DealSpec) -> Result<(), TxRejection> {
    let url = &spec.source_url.0;
    let url_ok = url.is_empty() || yun_types::market::is_plain_http_url(url);
    let ok = (1..=DEAL_BYTES_MAX).contains(&spec.size_bytes)
        && (1..=DEAL_REPLICAS_MAX).contains(&spec.replicas)
        && (1..=DEAL_EPOCHS_MAX).contains(&spec.epochs)
        && !spec.bid_per_mib_epoch.is_zero()
        && url_ok;
    if ok {
        Ok(())
    } else {
        Err(TxRejection::DealSpecInvalid)
    }
}

/// The worst case a deal can cost, locked when it is posted: replicas × epochs × the most one
/// replica-epoch can pay, max(bid × billed MiB, `pay_min`) (every replica paid every epoch at
/// the full bid, and never less than the chain's minimum per proven period).
pub fn deal_escrow_for(spec: &DealSpec, pay_min: Amount) -> Result<Amount, TxRejection> {
    let per_replica_epoch = spec
        .bid_per_mib_epoch
        .checked_mul(u128::from(billed_mib(spec.size_bytes)))
        .map_err(|_| TxRejection::AmountOverflow)?
        .max(pay_min);
    let units = u128::from(spec.replicas)
        .checked_mul(u128::from(spec.epochs))
        .ok_or(TxRejection::AmountOverflow)?;
    per_replica_epoch
        .checked_mul(units)
        .map_err(|_| TxRejection::AmountOverflow)
}

/// The sender must be a registered provider that is not exiting.
fn storage_provider<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    sender: &Address,
) -> Result<(), TxRejection> {
    let p = state.provider(sender).ok_or(TxRejection::NotProvider)?;
    if matches!(p.status, ProviderStatus::Exiting { .. }) {
        return Err(TxRejection::ProviderExiting);
    }
    Ok(())
}

/// `OfferStorage`: sets the capacity and ask (zero capacity takes no new replicas; the ones
/// held run to their end) and keeps the market's capacity total.
pub fn offer_storage<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    sender: &Address,
    capacity_bytes: u64,
    ask_per_mib_epoch: Amount,
) -> Result<(), TxRejection> {
    storage_provider(state, sender)?;
    let mut offer = state.storage_offer(sender).unwrap_or_default();
    let mut market = state.storage_market();
    market.capacity_bytes_total = market
        .capacity_bytes_total
        .checked_sub(offer.capacity_bytes)
        .and_then(|t| t.checked_add(capacity_bytes))
        .expect("invariant: the total is the sum of the offers' capacities");
    offer.capacity_bytes = capacity_bytes;
    offer.ask_per_mib_epoch = ask_per_mib_epoch;
    offer.updated_height = env.height;
    state.set_storage_offer(sender, &offer);
    state.set_storage_market(&market);
    Ok(())
}

/// `SetEncryptionKey`: a registered provider's x25519 key, shown with its offer.
pub fn set_encryption_key<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    sender: &Address,
    key: &EncryptionKey,
) -> Result<(), TxRejection> {
    if *key == Hash32::ZERO {
        return Err(TxRejection::EncryptionKeyInvalid);
    }
    storage_provider(state, sender)?;
    let mut offer = state.storage_offer(sender).unwrap_or_default();
    offer.encryption_key = Some(*key);
    offer.updated_height = env.height;
    state.set_storage_offer(sender, &offer);
    Ok(())
}

/// `PostDeal`: locks the worst case and queues the deal for matching. Its id is the id of the
/// transaction that posted it.
pub fn post_deal<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    sender: &Address,
    tx_id: &Hash32,
    spec: &DealSpec,
) -> Result<(), TxRejection> {
    check_deal_spec(spec)?;
    let pay_min = state.params().storage.replica_epoch_pay_min;
    let escrow = deal_escrow_for(spec, pay_min)?;
    bank::debit(state, sender, escrow)?;
    let deal = Deal {
        owner: *sender,
        spec: spec.clone(),
        escrow,
        paid: Amount::ZERO,
        refunded: Amount::ZERO,
        status: DealStatus::Queued,
        posted_height: env.height,
        start_height: None,
        end_height: None,
        epoch: None,
        challenge_seed: Hash32::ZERO,
        window_end_height: 0,
        next_event_height: None,
        replicas: Vec::new(),
        ended_height: None,
        replica_epoch_pay_min: pay_min,
    };
    state.set_deal(tx_id, &deal);
    state.mark(deal_owner_key(sender, tx_id));
    enqueue(state, tx_id);
    Ok(())
}

/// `CancelDeal`: the owner ends its deal now; proven epochs stay paid, the rest of the escrow
/// returns in this block and every replica's capacity is freed.
pub fn cancel_deal<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    sender: &Address,
    deal_id: &DealId,
) -> Result<(), TxRejection> {
    let mut deal = state.deal(deal_id).ok_or(TxRejection::UnknownDeal)?;
    if deal.owner != *sender {
        return Err(TxRejection::NotDealOwner);
    }
    if !deal.is_open() {
        return Err(TxRejection::DealEnded);
    }
    set_next_event(state, deal_id, &mut deal, None);
    end_deal(state, env, deal_id, &mut deal, DealStatus::Cancelled);
    state.set_deal(deal_id, &deal);
    Ok(())
}

/// `ProveStorage`: each proof must be the sender's live replica's answer to its deal's open
/// challenge, not yet proven, and verify against the deal's root. All are checked first; then
/// each pays its replica-epoch from the deal's escrow and makes a fetching replica holding.
pub fn prove_storage<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    sender: &Address,
    proofs: &[StorageProof],
) -> Result<(), TxRejection> {
    let mut deals: BTreeMap<DealId, Deal> = BTreeMap::new();
    let mut payments: Vec<Amount> = Vec::with_capacity(proofs.len());
    for p in proofs {
        let deal = match deals.entry(p.deal) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(state.deal(&p.deal).ok_or(TxRejection::UnknownDeal)?)
            }
        };
        payments.push(check_and_record_proof(deal, env, sender, p)?);
    }
    for (id, deal) in &mut deals {
        let paid_now = deal
            .paid
            .checked_sub(state.deal(id).expect("read above").paid)
            .expect("invariant: paid only grows");
        deal.escrow = deal
            .escrow
            .checked_sub(paid_now)
            .expect("invariant: a deal's escrow covers every replica-epoch at its bid");
        state.set_deal(id, deal);
    }
    let earned = Amount::checked_sum(payments).expect("within the supply");
    bank::credit(state, sender, earned);
    let mut offer = state.storage_offer(sender).unwrap_or_default();
    offer.earned = offer.earned.checked_add(earned).expect("within the supply");
    state.set_storage_offer(sender, &offer);
    Ok(())
}

/// Checks one proof against the (in-memory) deal and, if it holds, records it there; returns
/// what it pays.
fn check_and_record_proof(
    deal: &mut Deal,
    env: &BlockEnv,
    sender: &Address,
    p: &StorageProof,
) -> Result<Amount, TxRejection> {
    if !deal.is_open() {
        return Err(TxRejection::DealEnded);
    }
    let r = deal
        .replicas
        .get(usize::from(p.replica))
        .filter(|r| r.provider == *sender && r.state.is_live())
        .ok_or(TxRejection::NotReplicaHolder)?;
    let deal_id = p.deal;
    let (epoch, chunk, proven) = open_challenge(&deal_id, deal, p.replica, env.height)
        .filter(|(epoch, _, _)| *epoch == p.epoch)
        .ok_or(TxRejection::ChallengeNotOpen)?;
    if proven {
        return Err(TxRejection::EpochAlreadyProven);
    }
    verify_chunk_proof(&deal.spec.root, deal.spec.size_bytes, chunk, &p.encoding)
        .map_err(|_| TxRejection::ChunkProofInvalid)?;
    let pay = deal
        .replica_epoch_pay(r.price_per_mib_epoch)
        .expect("invariant: at most the bid's share of the escrow");
    deal.paid = deal.paid.checked_add(pay).expect("within the supply");
    let r = &mut deal.replicas[usize::from(p.replica)];
    r.proven_epoch = Some(epoch);
    r.epochs_paid = r
        .epochs_paid
        .checked_add(1)
        .expect("at most DEAL_EPOCHS_MAX");
    r.paid = r.paid.checked_add(pay).expect("within the supply");
    r.misses_in_a_row = 0;
    r.state = StorageReplicaState::Holding;
    Ok(pay)
}

/// `ShareJobKeys`: the job's requester seals its key to providers assigned to its tasks;
/// stored per (job, provider), a later share replacing an earlier one. A provider's first key
/// to an encrypted job restarts the commit window of each replica it has on the job and has
/// not committed: it could not start before, so it gets a whole window from now (until its
/// key arrives, its silence is not slashed: `market::step`).
pub fn share_job_keys<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    job_id: &JobId,
    keys: &[SealedKey],
) -> Result<(), TxRejection> {
    let job = state.job(job_id).ok_or(TxRejection::UnknownJob)?;
    if job.requester != *sender {
        return Err(TxRejection::NotRequester);
    }
    // At most TASKS_PER_JOB_MAX + 1 tasks, each with a bounded list of replicas.
    let tasks: Vec<(TaskRef, Task)> = state
        .job_tasks(job_id, &job)
        .into_iter()
        .filter_map(|t| state.task(&t).map(|task| (t, task)))
        .collect();
    let assigned: BTreeSet<Address> = tasks
        .iter()
        .flat_map(|(_, task)| task.replicas.iter().map(|r| r.provider))
        .collect();
    if keys.iter().any(|k| !assigned.contains(&k.provider)) {
        return Err(TxRejection::ProviderNotOnJob);
    }
    let first_shares: BTreeSet<Address> = keys
        .iter()
        .filter(|k| state.job_key(job_id, &k.provider).is_none())
        .map(|k| k.provider)
        .collect();
    for k in keys {
        state.put(job_key_key(job_id, &k.provider), encode(&k.sealed));
    }
    if job.spec.encryption_key.is_some() && !first_shares.is_empty() {
        restart_commit_windows(state, env, params, &job, tasks, &first_shares);
    }
    Ok(())
}

/// Gives every uncommitted replica of `providers` on these tasks a whole commit window from
/// this block (height and time, as at assignment), never a shorter one.
fn restart_commit_windows<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    job: &Job,
    tasks: Vec<(TaskRef, Task)>,
    providers: &BTreeSet<Address>,
) {
    let commit_deadline = env.height_after(params.market.commit_window_blocks);
    let deadline_ms = env
        .timestamp_ms
        .saturating_add(params.market.commit_window_ms(job.spec.fuel_per_task));
    for (t, mut task) in tasks {
        let mut restarted = false;
        for r in &mut task.replicas {
            if let ReplicaState::Assigned { commit_deadline: d } = &mut r.state
                && providers.contains(&r.provider)
            {
                *d = (*d).max(commit_deadline);
                r.deadline_ms = r.deadline_ms.max(deadline_ms);
                restarted = true;
            }
        }
        if restarted {
            // The old deadline key finds nothing due and is dropped; this one is looked at.
            state.mark(deadline_key(commit_deadline, &t));
            state.set_task(&t, &task);
        }
    }
}

/// The stateless rules of a storage action (the rest are checked when applied).
pub fn check_storage_stateless(
    action: &yun_types::storage::StorageAction,
    params: &ChainParams,
) -> Result<(), TxRejection> {
    use yun_types::storage::StorageAction as S;
    match action {
        S::PostDeal { spec } => check_deal_spec(spec)
            .and(deal_escrow_for(spec, params.storage.replica_epoch_pay_min).map(|_| ())),
        S::ProveStorage { proofs } if proofs.is_empty() => Err(TxRejection::Malformed),
        S::ShareJobKeys { keys, .. } => {
            let distinct: BTreeSet<&Address> = keys.iter().map(|k| &k.provider).collect();
            if keys.is_empty()
                || distinct.len() != keys.len()
                || keys.iter().any(|k| k.sealed.is_empty())
            {
                Err(TxRejection::Malformed)
            } else {
                Ok(())
            }
        }
        S::SetEncryptionKey { key } if *key == Hash32::ZERO => {
            Err(TxRejection::EncryptionKeyInvalid)
        }
        S::OfferStorage { .. }
        | S::SetEncryptionKey { .. }
        | S::CancelDeal { .. }
        | S::ProveStorage { .. } => Ok(()),
    }
}
