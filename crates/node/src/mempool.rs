//! The bounded mempool: pending transactions per account in nonce order, picked for blocks by
//! fee, deduplicated by id, bounded in count, bytes and backlog (what finalizes within a
//! bounded wait; past any bound the lowest fee per byte is evicted), and re-checked against
//! state after every block.

use commonware_codec::EncodeSize;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};
use yun_state::{StateReader, check_admission, max_spend};
use yun_types::{Address, Amount, SignedTx, TxId, TxRejection};

/// Limits of one node's mempool (local policy, not consensus).
#[derive(Debug, Clone)]
pub struct MempoolLimits {
    /// Most pending transactions in total.
    pub txs_max: usize,
    /// Most bytes of pending transactions (encoded signed form) in total.
    pub bytes_max: usize,
    /// Most pending transactions from one account.
    pub per_account_max: usize,
    /// How many dropped transactions are remembered for `GET /v1/txs/{id}`.
    pub dropped_remembered_max: usize,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            txs_max: 200_000,
            // A full pool of the largest transactions (64 KiB) would be 12.5 GiB of memory;
            // this keeps it to what a small node holds comfortably.
            bytes_max: MEMPOOL_BYTES_MAX_DEFAULT,
            per_account_max: 1_024,
            dropped_remembered_max: 100_000,
        }
    }
}

/// The default bound on the pool's bytes: 256 MiB.
pub const MEMPOOL_BYTES_MAX_DEFAULT: usize = 256 * 1024 * 1024;

#[derive(Debug)]
struct Pending {
    tx: SignedTx,
    id: TxId,
    /// Admission order: among equal fees the longest waiting goes first.
    seq: u64,
    spend: Amount,
    size: usize,
}

/// Fee per byte in 1/1024ths of a base unit per byte: what eviction compares (declared fees;
/// the chain refunds what a transaction does not owe, but the declared fee is what it offers).
fn fee_rate(tx: &SignedTx, size: usize) -> u128 {
    // A fee-free equivocation report is admitted only when it slashes, one per equivocation:
    // it outranks every fee, so a flood of paying transactions cannot delay a report until
    // its evidence expires.
    if yun_state::is_free_evidence(&tx.tx) {
        return u128::MAX;
    }
    tx.tx.fee.base_units().saturating_mul(1024) / size.max(1) as u128
}

/// Pending transactions and what became of recently dropped ones.
#[derive(Debug, Default)]
pub struct Mempool {
    limits: MempoolLimits,
    by_sender: BTreeMap<Address, BTreeMap<u64, Pending>>,
    // Lookup only; never iterated, so its order cannot leak into anything.
    index: HashMap<TxId, (Address, u64)>,
    dropped: HashMap<TxId, TxRejection>,
    dropped_order: VecDeque<TxId>,
    /// Ids that left the pool since the last `take_evicted`, so their durable copies can go.
    evicted: Vec<TxId>,
    /// Every pending transaction by fee rate, lowest first (ties by id): who is evicted.
    by_rate: BTreeSet<(u128, TxId)>,
    /// The next admission's [`Pending::seq`].
    next_seq: u64,
    len: usize,
    bytes: usize,
}

impl Mempool {
    pub fn new(limits: MempoolLimits) -> Self {
        Mempool {
            limits,
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the pending transactions (their encoded signed form).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Bookkeeping for a transaction that left `by_sender`.
    fn forget(&mut self, p: &Pending) {
        self.index.remove(&p.id);
        self.by_rate.remove(&(fee_rate(&p.tx, p.size), p.id));
        self.len -= 1;
        self.bytes -= p.size;
    }

    /// Makes room for `size` more bytes (and one more transaction unless `replacing`) at fee
    /// rate `rate` by evicting the lowest fee per byte (with the nonces behind it, which could
    /// never execute). A transaction that would itself be the first evicted is refused, and
    /// one whose room would come from its own sender's queue is refused too (evicting its own
    /// lower nonces would leave it stuck).
    ///
    /// `txs_max` is the count bound in force: the hard limit, or the smaller backlog bound.
    /// The backlog bound moves with the measured throughput; when it shrinks below what is
    /// pending nothing is dropped for it, and a newcomer only has to displace at least one
    /// transaction, so the pool never grows while it is over the bound.
    fn make_room(
        &mut self,
        sender: &Address,
        rate: u128,
        size: usize,
        replacing: bool,
        txs_max: usize,
    ) -> Result<(), TxRejection> {
        let txs_max = txs_max.min(self.limits.txs_max).max(1);
        let held = self.len;
        let fits = |bytes: usize, len: usize| {
            bytes + size <= self.limits.bytes_max && (replacing || len < txs_max || len < held)
        };
        if size > self.limits.bytes_max {
            return Err(TxRejection::MempoolFull);
        }
        // Decide before evicting anything: count what would go, lowest rate first.
        let (mut bytes, mut len) = (self.bytes, self.len);
        let mut victims = Vec::new();
        for &(r, id) in &self.by_rate {
            if fits(bytes, len) {
                break;
            }
            if r >= rate {
                return Err(TxRejection::MempoolFeeRateTooLow);
            }
            let (owner, nonce) = self.index[&id];
            if owner == *sender {
                return Err(TxRejection::MempoolFull);
            }
            for p in self.by_sender[&owner].range(nonce..).map(|(_, p)| p) {
                if !victims.contains(&p.id) {
                    victims.push(p.id);
                    bytes -= p.size;
                    len -= 1;
                }
            }
        }
        assert!(
            fits(bytes, len),
            "an empty pool has room for any one fitting transaction"
        );
        for id in victims {
            self.drop_tx(&id, TxRejection::MempoolFeeRateTooLow);
        }
        Ok(())
    }

    pub fn contains(&self, id: &TxId) -> bool {
        self.index.contains_key(id)
    }

    pub fn get(&self, id: &TxId) -> Option<&SignedTx> {
        let (sender, nonce) = self.index.get(id)?;
        self.by_sender.get(sender)?.get(nonce).map(|p| &p.tx)
    }

    /// Why a transaction once pending here was dropped, if it was.
    pub fn dropped_reason(&self, id: &TxId) -> Option<TxRejection> {
        self.dropped.get(id).copied()
    }

    /// The next nonce to sign for `sender`, counting pending transactions, and how many pend.
    pub fn pending_nonce(&self, sender: &Address, committed_nonce: u64) -> (u64, usize) {
        match self.by_sender.get(sender) {
            Some(q) => (
                q.keys()
                    .next_back()
                    .map_or(committed_nonce, |n| n + 1)
                    .max(committed_nonce),
                q.len(),
            ),
            None => (committed_nonce, 0),
        }
    }

    /// Admits a transaction under the hard limits only (see [`Self::admit_within`]).
    pub fn admit<R: StateReader + ?Sized>(
        &mut self,
        state: &R,
        chain_id: &str,
        next_height: u64,
        tx: SignedTx,
    ) -> Result<TxId, TxRejection> {
        self.admit_within(state, chain_id, next_height, tx, usize::MAX)
    }

    /// Admits a transaction after checking it against committed `state` and what is already
    /// pending from the same sender. Its signature must already have been verified.
    /// `backlog_txs_max` is the count the proposer's block budget can finalize within the
    /// backlog wait (see `block_budget`): past it the lowest fee per byte is evicted, as under
    /// the hard limits, so a flood at the minimum fee cannot hold out a better-paying sender.
    pub fn admit_within<R: StateReader + ?Sized>(
        &mut self,
        state: &R,
        chain_id: &str,
        next_height: u64,
        tx: SignedTx,
        backlog_txs_max: usize,
    ) -> Result<TxId, TxRejection> {
        let id = tx.id();
        if self.index.contains_key(&id) {
            return Err(TxRejection::AlreadyKnown);
        }
        let sender = tx.sender();
        let committed_nonce = yun_state::committed_nonce(&yun_state::Overlay::new(state), &sender);
        let queue = self.by_sender.get(&sender);
        let pending_count = queue.map_or(0, BTreeMap::len);
        let pending_nonce = queue
            .and_then(|q| q.keys().next_back())
            .map_or(committed_nonce, |n| n + 1)
            .max(committed_nonce);
        let replacing = queue.and_then(|q| q.get(&tx.tx.nonce));
        // Spend of everything pending except a transaction this one replaces.
        let pending_spend = queue.map_or(Ok(Amount::ZERO), |q| {
            Amount::checked_sum(
                q.values()
                    .filter(|p| p.tx.tx.nonce != tx.tx.nonce)
                    .map(|p| p.spend),
            )
        });
        let pending_spend = pending_spend.map_err(|_| TxRejection::AmountOverflow)?;
        if let Some(old) = replacing {
            // Same nonce: only a strictly higher fee may replace what is pending.
            if tx.tx.fee <= old.tx.tx.fee {
                return Err(TxRejection::AlreadyKnown);
            }
        } else if pending_count >= self.limits.per_account_max {
            return Err(TxRejection::AccountPendingLimit);
        }
        let replacing = replacing.is_some();
        check_admission(
            state,
            chain_id,
            next_height,
            &tx,
            pending_nonce,
            pending_spend,
        )?;
        // One pending fee-free report per equivocation: the first admitted gets it slashed,
        // and copies from other senders would cost them nothing to send.
        if let Some(claim) = free_report_claim(&tx)
            && self.holds_free_report(claim)
        {
            return Err(TxRejection::AlreadyKnown);
        }
        let spend = max_spend(&tx, &yun_state::Overlay::new(state).params())?;
        let size = tx.encode_size();
        let rate = fee_rate(&tx, size);
        self.make_room(&sender, rate, size, replacing, backlog_txs_max)?;
        let nonce = tx.tx.nonce;
        let queue = self.by_sender.entry(sender).or_default();
        if let Some(old) = queue.insert(
            nonce,
            Pending {
                tx,
                id,
                seq: self.next_seq,
                spend,
                size,
            },
        ) {
            self.forget(&old);
            self.evicted.push(old.id);
            self.remember_dropped(old.id, TxRejection::AlreadyKnown);
        }
        self.next_seq += 1;
        self.len += 1;
        self.bytes += size;
        self.by_rate.insert((rate, id));
        self.index.insert(id, (sender, nonce));
        Ok(id)
    }

    /// Up to `max` transactions for the next block: each account's transactions in nonce order
    /// starting at its committed nonce, accounts interleaved by highest fee first and, among
    /// equal fees, by the longest waiting. An order by address instead starved the accounts
    /// that sort last whenever blocks are capped below the backlog: under load at one fee
    /// their transactions waited for every other account's (a 22 s tail with 4 validators).
    pub fn select<R: StateReader + ?Sized>(&self, state: &R, max: usize) -> Vec<SignedTx> {
        use std::cmp::Reverse;
        let view = yun_state::Overlay::new(state);
        // (fee, Reverse(admission order), Reverse(address)): admission orders are unique, so
        // the address never decides; it is there so the key alone names the account.
        let mut heap = BinaryHeap::new();
        let mut cursors: BTreeMap<Address, std::collections::btree_map::Range<'_, u64, Pending>> =
            BTreeMap::new();
        for (sender, queue) in &self.by_sender {
            let next = yun_state::committed_nonce(&view, sender);
            let mut range = queue.range(next..);
            if let Some((n, p)) = range.next()
                && *n == next
            {
                heap.push((p.tx.tx.fee, Reverse(p.seq), Reverse(*sender), next));
                cursors.insert(*sender, range);
            }
        }
        let mut out = Vec::new();
        while let Some((_, _, Reverse(sender), nonce)) = heap.pop() {
            if out.len() >= max {
                break;
            }
            let queue = &self.by_sender[&sender];
            out.push(queue[&nonce].tx.clone());
            let cursor = cursors
                .get_mut(&sender)
                .expect("cursor exists for queued sender");
            if let Some((n, p)) = cursor.next()
                && *n == nonce + 1
            {
                heap.push((p.tx.tx.fee, Reverse(p.seq), Reverse(sender), *n));
            }
        }
        out
    }

    /// After a block: forget included and now-stale transactions, drop expired ones.
    /// `included` are the ids of the block's transactions: anything else below an account's
    /// new nonce lost its nonce to another transaction and is reported as `BadNonce`.
    /// Whether a fee-free report of the equivocation `claim` ((epoch, signer, view), see
    /// `Equivocation::claim`) is pending. A scan, but only fee-free reports that verified and
    /// slash reach it.
    pub fn holds_free_report(&self, claim: (u64, u32, u64)) -> bool {
        // Free reports rank above every fee (`fee_rate`), so they are the top of `by_rate`:
        // the scan reads only them, never the whole pool.
        self.by_rate
            .iter()
            .rev()
            .take_while(|(rate, _)| *rate == u128::MAX)
            .filter_map(|(_, id)| {
                let (sender, nonce) = self.index.get(id)?;
                self.by_sender.get(sender)?.get(nonce)
            })
            .any(|p| free_report_claim(&p.tx) == Some(claim))
    }

    pub fn on_block<R: StateReader + ?Sized>(
        &mut self,
        state: &R,
        height: u64,
        included: &HashSet<TxId>,
    ) {
        let view = yun_state::Overlay::new(state);
        let senders: Vec<Address> = self.by_sender.keys().copied().collect();
        for sender in senders {
            let committed = yun_state::committed_nonce(&view, &sender);
            let queue = self.by_sender.get_mut(&sender).expect("sender listed");
            let mut gone: Vec<(Pending, Option<TxRejection>)> = Vec::new();
            let keep = queue.split_off(&committed);
            for (_, p) in std::mem::replace(queue, keep) {
                let reason = (!included.contains(&p.id)).then_some(TxRejection::BadNonce);
                gone.push((p, reason));
            }
            let expired: Vec<u64> = queue
                .iter()
                .filter(|(_, p)| p.tx.tx.expires_at_height <= height)
                .map(|(n, _)| *n)
                .collect();
            for n in expired {
                let p = queue.remove(&n).expect("listed");
                gone.push((p, Some(TxRejection::Expired)));
            }
            // Nonces must run on from the committed one: behind a gap nothing can execute.
            let gap = queue
                .keys()
                .zip(committed..)
                .find(|(n, want)| **n != *want)
                .map(|(n, _)| *n);
            if let Some(first_stuck) = gap {
                for (_, p) in queue.split_off(&first_stuck) {
                    gone.push((p, Some(TxRejection::BadNonce)));
                }
            }
            if queue.is_empty() {
                self.by_sender.remove(&sender);
            }
            for (p, reason) in gone {
                self.forget(&p);
                // Committed ones left the durable pending table in their block's commit.
                if let Some(r) = reason {
                    self.evicted.push(p.id);
                    self.remember_dropped(p.id, r);
                }
            }
        }
    }

    /// Removes a transaction a proposer found not includable, remembering why.
    /// The sender's later nonces go too (as `BadNonce`): they could never execute.
    pub fn drop_tx(&mut self, id: &TxId, reason: TxRejection) {
        let Some(&(sender, nonce)) = self.index.get(id) else {
            return;
        };
        let Some(queue) = self.by_sender.get_mut(&sender) else {
            return;
        };
        let removed = queue.split_off(&nonce);
        if queue.is_empty() {
            self.by_sender.remove(&sender);
        }
        for (n, p) in removed {
            self.forget(&p);
            self.evicted.push(p.id);
            self.remember_dropped(
                p.id,
                if n == nonce {
                    reason
                } else {
                    TxRejection::BadNonce
                },
            );
        }
    }

    /// Ids that left the pool (committed, replaced, expired or dropped) since the last call.
    pub fn take_evicted(&mut self) -> Vec<TxId> {
        std::mem::take(&mut self.evicted)
    }

    fn remember_dropped(&mut self, id: TxId, reason: TxRejection) {
        if self.dropped.insert(id, reason).is_none() {
            self.dropped_order.push_back(id);
        }
        while self.dropped_order.len() > self.limits.dropped_remembered_max {
            if let Some(old) = self.dropped_order.pop_front() {
                self.dropped.remove(&old);
            }
        }
    }
}

/// The equivocation a fee-free report claims, if `tx` is one.
pub fn free_report_claim(tx: &SignedTx) -> Option<(u64, u32, u64)> {
    match &tx.tx.action {
        yun_types::Action::ReportEquivocation { evidence }
            if yun_state::is_free_evidence(&tx.tx) =>
        {
            evidence.claim()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yun_state::scenario::{SCENARIO_CHAIN_ID, addr, genesis_with, key_of};
    use yun_state::{MemState, genesis_writes};
    use yun_types::{Action, Tx};

    fn state(names: &[&str]) -> MemState {
        let funded: Vec<(&str, u128)> = names.iter().map(|n| (*n, 1_000_000)).collect();
        let mut s = MemState::default();
        s.apply(genesis_writes(&genesis_with(&funded)).unwrap());
        s
    }

    fn tx(from: &str, nonce: u64, fee: u128) -> SignedTx {
        Tx {
            chain_id: SCENARIO_CHAIN_ID.into(),
            nonce,
            fee: Amount::new(fee),
            expires_at_height: 100,
            action: Action::Transfer {
                to: addr("bob"),
                amount: Amount::new(1),
            },
        }
        .sign(&key_of(from))
    }

    fn pool(per_account_max: usize, txs_max: usize) -> Mempool {
        Mempool::new(MempoolLimits {
            txs_max,
            bytes_max: MEMPOOL_BYTES_MAX_DEFAULT,
            per_account_max,
            dropped_remembered_max: 10,
        })
    }

    #[test]
    fn a_full_pool_evicts_the_lowest_fee_per_byte_and_refuses_what_would_go_first() {
        let s = state(&["alice", "carol", "dave", "erin", "frank"]);
        let size = tx("alice", 0, 10).encode_size();
        // Room for three transfers by bytes (the count limit is far away).
        let mut p = Mempool::new(MempoolLimits {
            txs_max: 100,
            bytes_max: 3 * size,
            per_account_max: 10,
            dropped_remembered_max: 10,
        });
        let cheap = tx("alice", 0, 10);
        let middle = tx("carol", 0, 20);
        let dear = tx("dave", 0, 30);
        for t in [&cheap, &middle, &dear] {
            p.admit(&s, SCENARIO_CHAIN_ID, 1, t.clone()).unwrap();
        }
        assert_eq!(p.bytes(), 3 * size);
        // Paying more per byte than the cheapest: the cheapest goes, with its reason.
        let better = tx("erin", 0, 25);
        p.admit(&s, SCENARIO_CHAIN_ID, 1, better.clone()).unwrap();
        assert!(!p.contains(&cheap.id()) && p.contains(&better.id()));
        assert_eq!(
            p.dropped_reason(&cheap.id()),
            Some(TxRejection::MempoolFeeRateTooLow)
        );
        assert_eq!(p.take_evicted(), vec![cheap.id()]);
        assert!(p.bytes() <= 3 * size && p.len() == 3);
        // Paying no more per byte than the cheapest left (20): it would be evicted at once.
        assert_eq!(
            p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("frank", 0, 20)),
            Err(TxRejection::MempoolFeeRateTooLow)
        );
        assert_eq!(p.len(), 3);
        assert!(p.take_evicted().is_empty(), "a refusal evicts nothing");
    }

    #[test]
    fn evicting_a_transaction_evicts_the_later_nonces_that_needed_it() {
        let s = state(&["alice", "carol"]);
        let size = tx("alice", 0, 10).encode_size();
        let mut p = Mempool::new(MempoolLimits {
            txs_max: 100,
            bytes_max: 2 * size,
            per_account_max: 10,
            dropped_remembered_max: 10,
        });
        let a0 = tx("alice", 0, 10);
        let a1 = tx("alice", 1, 50);
        p.admit(&s, SCENARIO_CHAIN_ID, 1, a0.clone()).unwrap();
        p.admit(&s, SCENARIO_CHAIN_ID, 1, a1.clone()).unwrap();
        p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("carol", 0, 20))
            .unwrap();
        // alice's nonce 0 was the cheapest; her nonce 1 could never run without it.
        assert_eq!(p.len(), 1);
        assert_eq!(p.dropped_reason(&a1.id()), Some(TxRejection::BadNonce));
        assert_eq!(p.bytes(), size);
    }

    #[test]
    fn selects_in_nonce_order_and_by_fee_across_accounts() {
        let s = state(&["alice", "carol"]);
        let mut p = pool(10, 100);
        p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("alice", 0, 10))
            .unwrap();
        p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("alice", 1, 50))
            .unwrap();
        p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("carol", 0, 20))
            .unwrap();
        let picked: Vec<(Address, u64)> = p
            .select(&s, 10)
            .iter()
            .map(|t| (t.sender(), t.tx.nonce))
            .collect();
        // carol's fee 20 beats alice's first (10); alice's nonce 1 can only follow her nonce 0.
        assert_eq!(
            picked,
            vec![(addr("carol"), 0), (addr("alice"), 0), (addr("alice"), 1)]
        );
        assert_eq!(p.select(&s, 2).len(), 2);
    }

    #[test]
    fn equal_fees_are_served_in_arrival_order_not_address_order() {
        let names: Vec<String> = (0..8).map(|i| format!("sender{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let s = state(&refs);
        let mut p = pool(10, 100);
        // Arrival in descending address order: the reverse of what an address order serves.
        let mut arrival: Vec<Address> = refs.iter().map(|n| addr(n)).collect();
        arrival.sort();
        arrival.reverse();
        for a in &arrival {
            let name = refs.iter().find(|n| addr(n) == *a).expect("named");
            p.admit(&s, SCENARIO_CHAIN_ID, 1, tx(name, 0, 10)).unwrap();
        }
        let picked: Vec<Address> = p.select(&s, 3).iter().map(SignedTx::sender).collect();
        assert_eq!(
            picked,
            arrival[..3],
            "the first to arrive are the first served"
        );
    }

    #[test]
    fn duplicates_gaps_caps_and_replacement() {
        let s = state(&["alice"]);
        let mut p = pool(2, 100);
        let first = tx("alice", 0, 10);
        p.admit(&s, SCENARIO_CHAIN_ID, 1, first.clone()).unwrap();
        assert_eq!(
            p.admit(&s, SCENARIO_CHAIN_ID, 1, first.clone()),
            Err(TxRejection::AlreadyKnown)
        );
        assert_eq!(
            p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("alice", 5, 10)),
            Err(TxRejection::NonceTooFarAhead)
        );
        p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("alice", 1, 10))
            .unwrap();
        assert_eq!(
            p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("alice", 2, 10)),
            Err(TxRejection::AccountPendingLimit)
        );
        // Same nonce, higher fee: replaces; equal fee: refused.
        assert_eq!(
            p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("alice", 0, 10)),
            Err(TxRejection::AlreadyKnown)
        );
        let better = tx("alice", 0, 11);
        p.admit(&s, SCENARIO_CHAIN_ID, 1, better.clone()).unwrap();
        assert!(!p.contains(&first.id()) && p.contains(&better.id()));
        assert_eq!(p.len(), 2);
        assert_eq!(p.take_evicted(), vec![first.id()]);
    }

    #[test]
    fn dropping_a_transaction_drops_the_nonces_behind_it() {
        let s = state(&["alice"]);
        let mut p = pool(10, 100);
        let txs: Vec<SignedTx> = (0..3).map(|n| tx("alice", n, 10)).collect();
        for t in &txs {
            p.admit(&s, SCENARIO_CHAIN_ID, 1, t.clone()).unwrap();
        }
        p.drop_tx(&txs[1].id(), TxRejection::InsufficientBalance);
        assert_eq!(
            p.dropped_reason(&txs[1].id()),
            Some(TxRejection::InsufficientBalance)
        );
        assert_eq!(p.dropped_reason(&txs[2].id()), Some(TxRejection::BadNonce));
        assert!(p.contains(&txs[0].id()));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn total_cap_is_enforced() {
        let s = state(&["alice", "carol"]);
        let mut p = pool(10, 1);
        p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("alice", 0, 10))
            .unwrap();
        assert_eq!(
            p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("carol", 0, 10)),
            Err(TxRejection::MempoolFeeRateTooLow),
            "an equal fee per byte would be the first evicted"
        );
        p.admit(&s, SCENARIO_CHAIN_ID, 1, tx("carol", 0, 11))
            .unwrap();
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn a_full_backlog_evicts_the_lowest_fee_rate_and_keeps_replacements() {
        let s = state(&["alice", "carol", "dave"]);
        let mut p = pool(10, 100);
        let backlog = 2;
        p.admit_within(&s, SCENARIO_CHAIN_ID, 1, tx("alice", 0, 10), backlog)
            .unwrap();
        let d0 = tx("dave", 0, 12);
        p.admit_within(&s, SCENARIO_CHAIN_ID, 1, d0.clone(), backlog)
            .unwrap();
        assert_eq!(
            p.admit_within(&s, SCENARIO_CHAIN_ID, 1, tx("carol", 0, 10), backlog),
            Err(TxRejection::MempoolFeeRateTooLow),
            "an equal fee waits outside a full backlog"
        );
        let a0_better = tx("alice", 0, 11);
        p.admit_within(&s, SCENARIO_CHAIN_ID, 1, a0_better.clone(), backlog)
            .expect("a replacement adds nothing to the backlog");
        assert_eq!(p.len(), 2);
        let c0 = tx("carol", 0, 1_000);
        p.admit_within(&s, SCENARIO_CHAIN_ID, 1, c0.clone(), backlog)
            .expect("a better payer displaces the lowest fee per byte");
        assert_eq!(p.len(), 2, "the backlog did not grow");
        assert!(p.contains(&c0.id()) && p.contains(&d0.id()));
        assert_eq!(
            p.dropped_reason(&a0_better.id()),
            Some(TxRejection::MempoolFeeRateTooLow)
        );
    }

    #[test]
    fn a_shrunk_backlog_drops_nothing_and_stops_growing() {
        let s = state(&["alice", "carol", "dave", "erin", "frank", "grace"]);
        let mut p = pool(10, 100);
        for (i, who) in ["alice", "dave", "erin", "frank"].iter().enumerate() {
            p.admit(&s, SCENARIO_CHAIN_ID, 1, tx(who, 0, 10 + i as u128))
                .unwrap();
        }
        // The measured throughput fell: the bound is now below what pends.
        p.admit_within(&s, SCENARIO_CHAIN_ID, 1, tx("carol", 0, 1_000), 2)
            .expect("a better payer displaces the lowest fee per byte");
        assert_eq!(
            p.len(),
            4,
            "one out, one in: nothing dropped for the bound itself"
        );
        assert!(!p.contains(&tx("alice", 0, 10).id()));
        assert_eq!(
            p.admit_within(&s, SCENARIO_CHAIN_ID, 1, tx("grace", 0, 10), 2),
            Err(TxRejection::MempoolFeeRateTooLow),
            "over the bound, the pool does not grow"
        );
    }

    #[test]
    fn after_a_block_committed_and_expired_transactions_leave() {
        let mut s = state(&["alice"]);
        let mut p = pool(10, 100);
        let t0 = tx("alice", 0, 10);
        let t1 = tx("alice", 1, 10);
        p.admit(&s, SCENARIO_CHAIN_ID, 1, t0.clone()).unwrap();
        p.admit(&s, SCENARIO_CHAIN_ID, 1, t1.clone()).unwrap();
        // Commit t0 into the state the pool re-checks against.
        let mut o = yun_state::Overlay::new(&s);
        let draft = yun_state::BlockDraft {
            chain_id: SCENARIO_CHAIN_ID.into(),
            height: 1,
            timestamp_ms: 1,
            proposer: addr("validator"),
        };
        let env = yun_state::next_env(
            &yun_state::Overlay::new(&s),
            &draft,
            &yun_state::scenario::seed_signer_of("validator"),
        );
        yun_state::execute_block(&mut o, &env, std::slice::from_ref(&t0)).unwrap();
        let w = o.into_writes();
        s.apply(w);
        p.on_block(&s, 1, &HashSet::from([t0.id()]));
        assert!(!p.contains(&t0.id()) && p.contains(&t1.id()));
        assert_eq!(
            p.dropped_reason(&t0.id()),
            None,
            "committed is not a rejection"
        );
        p.on_block(&s, 100, &HashSet::new());
        assert_eq!(p.dropped_reason(&t1.id()), Some(TxRejection::Expired));
        assert!(p.is_empty());
    }
}
