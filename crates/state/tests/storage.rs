//! Storage deals end to end on the scenario chain: a deal's whole life (proofs and pay, a
//! provider that stops proving is slashed and replaced, the repair proves after fetching, the
//! owner is refunded at the end), and every attack the chain must refuse.

use yun_state::scenario::{Scenario, addr};
use yun_state::scenario_market::offer;
use yun_state::scenario_storage::{cancel_deal, deal_of, file_of, offer_storage, prove};
use yun_state::storage::{DealStatus, StorageReplicaState, open_challenge};
use yun_types::storage::{
    DEAL_BYTES_MAX, DEAL_REPLICAS_MAX, StorageAction, StorageProof, chunk_count, encode_chunk_proof,
};
use yun_types::{Action, Amount, Hash32, TxRejection};

const PROVIDERS: [&str; 4] = ["p1", "p2", "p3", "p4"];
const BOND: u128 = 1_000_000;
const MIB: u64 = 1024 * 1024;
const ASK: u128 = 2;
const EPOCH: u64 = 10;
const WINDOW: u64 = 5;
const FEE: u128 = 10;
/// What one proven replica-epoch of these files (each under 1 MiB) pays: the scenario's
/// `storage.replica_epoch_pay_min`, since ASK × 1 MiB is less. (A successful proof pays no
/// fee, so every proven period is profit.)
const PAY: u128 = 10;

/// Four registered providers offering 1 MiB each at ask 2, alice funded; 10-block epochs,
/// 5-block windows, 2 epochs to fetch, replaced after 3 misses, 1 % of the bond per miss.
fn four_providers() -> Scenario {
    let mut s = Scenario::new();
    s.storage_params(|p| {
        p.epoch_blocks = EPOCH;
        p.proof_window_blocks = WINDOW;
        p.fetch_epochs_max = 2;
        p.misses_to_replace = 3;
        p.miss_slash_ppm = 10_000;
    });
    s.fund("alice", 1_000_000).fund("bob", 1_000_000);
    for p in PROVIDERS {
        s.fund(p, 2 * BOND);
    }
    for p in PROVIDERS {
        s.tx(p).act(offer().register(BOND)).expect_ok();
        s.tx(p).act(offer_storage(MIB, ASK)).expect_ok();
    }
    s
}

/// The providers holding live replicas of a deal, in replica order.
fn holders(s: &mut Scenario, deal: &Hash32) -> Vec<&'static str> {
    let d = s.deal(deal);
    d.replicas
        .iter()
        .filter(|r| r.state.is_live())
        .map(|r| *PROVIDERS.iter().find(|p| addr(p) == r.provider).unwrap())
        .collect()
}

/// Runs to the first block of deal epoch `e`'s window (the block after it opens).
fn to_window(s: &mut Scenario, deal: &Hash32, e: u64) {
    let start = s.deal(deal).start_height.expect("started");
    s.run_until(start + e * EPOCH + 1);
}

/// One block in which each of `who` answers its open challenges on `deal`.
fn prove_together(s: &mut Scenario, deal: &Hash32, data: &[u8], who: &[&str]) {
    let txs: Vec<_> = who
        .iter()
        .map(|p| s.sign_proofs(p, deal, data).expect("an open challenge"))
        .collect();
    let out = s.block(&txs).expect("proofs are includable");
    for r in out.receipts {
        assert_eq!(r.outcome, yun_types::TxOutcome::Success, "{r:?}");
    }
}

#[test]
fn a_deal_lives_is_paid_repaired_and_refunded_exactly() {
    let mut s = four_providers();
    let data = file_of(10 * 1024 + 7, 1);
    let epochs = 8u32;
    let bid = 5u128;
    let alice0 = s.balance("alice");
    let deal = s
        .tx("alice")
        .act(deal_of(&data).replicas(3).epochs(epochs).bid(bid).post())
        .expect_ok()
        .tx_id;
    let escrow = 3 * u128::from(epochs) * bid.max(PAY);
    assert_eq!(
        s.balance("alice"),
        alice0 - FEE - escrow,
        "worst case locked"
    );
    let d = s.deal(&deal);
    assert_eq!(
        d.status,
        DealStatus::Active,
        "matched in the block it was posted"
    );
    assert_eq!(d.replicas.len(), 3);
    // One price clears: the ask of the last matched unit (above the floor of 1).
    assert!(
        d.replicas
            .iter()
            .all(|r| r.price_per_mib_epoch == Amount::new(ASK))
    );
    let first = holders(&mut s, &deal);
    let spare = *PROVIDERS.iter().find(|p| !first.contains(p)).unwrap();
    let victim = first[0];
    let honest = [first[1], first[2]];
    let worth0: Vec<u128> = PROVIDERS.iter().map(|p| s.worth(p)).collect();

    // Epochs 0 and 1: all three prove; each proof pays PAY (and its transaction no fee).
    for e in 0..2 {
        to_window(&mut s, &deal, e);
        prove_together(&mut s, &deal, &data, &first);
    }
    for p in &first {
        let i = PROVIDERS.iter().position(|x| x == p).unwrap();
        assert_eq!(s.worth(p), worth0[i] + 2 * PAY, "{p} paid twice");
    }
    // Epochs 2..4: the victim stops; the others go on. Each missed window burns 1 % of its
    // bond; the third in a row ends its replica and the spare is drawn to repair.
    let mut bond = BOND;
    for e in 2..5 {
        to_window(&mut s, &deal, e);
        prove_together(&mut s, &deal, &data, &honest);
        let close = s.deal(&deal).window_end_height;
        s.run_until(close + 1);
        bond -= bond / 100;
        assert_eq!(
            s.provider(victim).bond.base_units(),
            bond,
            "slashed at epoch {e}"
        );
    }
    let d = s.deal(&deal);
    let old = d
        .replicas
        .iter()
        .find(|r| r.provider == addr(victim))
        .unwrap();
    assert_eq!(old.state, StorageReplicaState::Replaced);
    assert_eq!(old.misses_total, 3);
    assert_eq!(
        s.storage_offer(victim).used_bytes,
        0,
        "its capacity is freed"
    );
    let new = d.replicas.last().unwrap();
    assert_eq!(d.replicas.len(), 4);
    assert_eq!(new.provider, addr(spare), "the spare repairs");
    assert_eq!(new.state, StorageReplicaState::Fetching);
    assert_eq!(new.first_epoch, 5, "challenged from the next epoch");
    // Epochs 5..7: the three live holders prove (the spare's first proof ends its fetching).
    let now = holders(&mut s, &deal);
    assert!(now.contains(&spare) && !now.contains(&victim));
    for e in 5..8 {
        to_window(&mut s, &deal, e);
        prove_together(&mut s, &deal, &data, &now);
        if e == 5 {
            assert_eq!(
                s.deal(&deal).replicas.last().unwrap().state,
                StorageReplicaState::Holding
            );
        }
    }
    // The deal ends at start + epochs × epoch_blocks; the rest of the escrow returns in that
    // very block.
    let d = s.deal(&deal);
    let end = d.end_height.unwrap();
    assert_eq!(end, d.start_height.unwrap() + u64::from(epochs) * EPOCH);
    s.run_until(end);
    let before = s.balance("alice");
    let escrow_left = s.deal(&deal).escrow.base_units();
    s.empty_block();
    let d = s.deal(&deal);
    assert_eq!(d.status, DealStatus::Ended);
    let proofs: u128 = d.replicas.iter().map(|r| u128::from(r.epochs_paid)).sum();
    assert_eq!(
        proofs,
        2 * 3 + 3 * 2 + 3 * 3,
        "every accepted proof counted once"
    );
    assert_eq!(d.paid.base_units(), proofs * PAY);
    assert_eq!(escrow_left, escrow - proofs * PAY);
    assert_eq!(
        s.balance("alice"),
        before + escrow_left,
        "refunded in the end block"
    );
    assert_eq!(d.refunded.base_units(), escrow_left);
    assert!(d.escrow.is_zero());
    for p in PROVIDERS {
        assert_eq!(s.storage_offer(p).used_bytes, 0, "{p}'s capacity is freed");
    }
    // Honest providers: never slashed, paid per proof.
    for p in honest {
        assert!(s.provider(p).slashed.is_zero());
        let i = PROVIDERS.iter().position(|x| *x == p).unwrap();
        assert_eq!(s.worth(p), worth0[i] + 8 * PAY, "{p}");
    }
    let i = PROVIDERS.iter().position(|x| *x == spare).unwrap();
    assert_eq!(
        s.worth(spare),
        worth0[i] + 3 * PAY,
        "the repair is paid too"
    );
}

/// alice's deal of `data` with 3 replicas for 4 epochs at bid 5, its first window open.
fn deal_in_window(s: &mut Scenario, data: &[u8]) -> Hash32 {
    let deal = s
        .tx("alice")
        .act(deal_of(data).replicas(3).epochs(4).bid(5).post())
        .expect_ok()
        .tx_id;
    to_window(s, &deal, 0);
    deal
}

/// The first holder's name, its replica index and its open challenge (epoch, chunk).
fn first_challenge(s: &mut Scenario, deal: &Hash32) -> (&'static str, u8, u64, u64) {
    let who = holders(s, deal)[0];
    let index = s.replicas_of(who, deal)[0];
    let d = s.deal(deal);
    let (epoch, chunk, _) = open_challenge(deal, &d, index, s.height + 1).expect("open");
    (who, index, epoch, chunk)
}

#[test]
fn a_proof_of_the_wrong_chunk_another_replica_or_tampered_bytes_is_refused() {
    let mut s = four_providers();
    let data = file_of(40 * 1024, 2);
    let deal = deal_in_window(&mut s, &data);
    let (who, index, epoch, chunk) = first_challenge(&mut s, &deal);
    let other = (chunk + 1) % chunk_count(data.len() as u64);
    let wrong_chunk = StorageProof {
        deal,
        replica: index,
        epoch,
        encoding: encode_chunk_proof(&data, other),
    };
    s.tx(who)
        .act(prove(vec![wrong_chunk]))
        .expect_failed(TxRejection::ChunkProofInvalid);
    // Another file's proof of the same index.
    let foreign = StorageProof {
        deal,
        replica: index,
        epoch,
        encoding: encode_chunk_proof(&file_of(40 * 1024, 3), chunk),
    };
    s.tx(who)
        .act(prove(vec![foreign]))
        .expect_failed(TxRejection::ChunkProofInvalid);
    let mut tampered = encode_chunk_proof(&data, chunk);
    let last = tampered.len() - 1;
    tampered[last] ^= 0x40;
    let tampered = StorageProof {
        deal,
        replica: index,
        epoch,
        encoding: tampered,
    };
    s.tx(who)
        .act(prove(vec![tampered]))
        .expect_failed(TxRejection::ChunkProofInvalid);
    // Another holder's replica, proven correctly, is not this provider's to answer.
    let other_holder = holders(&mut s, &deal)[1];
    let theirs = s.proofs_for(other_holder, &deal, &data).remove(0);
    s.tx(who)
        .act(prove(vec![theirs]))
        .expect_failed(TxRejection::NotReplicaHolder);
    assert_eq!(s.deal(&deal).paid, Amount::ZERO, "nothing was paid");
}

#[test]
fn a_non_holder_a_late_proof_a_wrong_epoch_and_a_second_proof_are_refused() {
    let mut s = four_providers();
    let data = file_of(8 * 1024, 4);
    let deal = deal_in_window(&mut s, &data);
    // A proof twice in one transaction: the second is refused and neither is kept (the
    // window has five blocks: this and the next four transactions fit in it).
    let second = holders(&mut s, &deal)[1];
    let mut theirs = s.proofs_for(second, &deal, &data);
    theirs.push(theirs[0].clone());
    s.tx(second)
        .act(prove(theirs))
        .expect_failed(TxRejection::EpochAlreadyProven);
    let outsider = *PROVIDERS
        .iter()
        .find(|p| !holders(&mut s, &deal).contains(p))
        .unwrap();
    let (who, index, epoch, chunk) = first_challenge(&mut s, &deal);
    let valid = StorageProof {
        deal,
        replica: index,
        epoch,
        encoding: encode_chunk_proof(&data, chunk),
    };
    s.tx(outsider)
        .act(prove(vec![valid.clone()]))
        .expect_failed(TxRejection::NotReplicaHolder);
    let mut next_epoch = valid.clone();
    next_epoch.epoch += 1;
    s.tx(who)
        .act(prove(vec![next_epoch]))
        .expect_failed(TxRejection::ChallengeNotOpen);
    let paid_before = s.balance(who);
    s.tx(who).act(prove(vec![valid.clone()])).expect_ok();
    assert_eq!(s.balance(who), paid_before + PAY, "paid once, no fee");
    s.tx(who)
        .act(prove(vec![valid.clone()]))
        .expect_failed(TxRejection::EpochAlreadyProven);
    assert_eq!(
        s.deal(&deal).paid.base_units(),
        PAY,
        "only the first proof paid"
    );
    // After the window closes the proof comes too late.
    let close = s.deal(&deal).window_end_height;
    s.run_until(close + 1);
    let late = s.proofs_for(second, &deal, &data);
    assert!(late.is_empty(), "no challenge is open between windows");
    let index2 = s.replicas_of(second, &deal)[0];
    let late = StorageProof {
        deal,
        replica: index2,
        epoch,
        encoding: encode_chunk_proof(&data, 0),
    };
    s.tx(second)
        .act(prove(vec![late]))
        .expect_failed(TxRejection::ChallengeNotOpen);
    let unknown = StorageProof {
        deal: Hash32([7; 32]),
        ..valid.clone()
    };
    s.tx(who)
        .act(prove(vec![unknown]))
        .expect_failed(TxRejection::UnknownDeal);
}

#[test]
fn the_owner_cancelling_keeps_proven_epochs_paid_and_refunds_the_rest_at_once() {
    let mut s = four_providers();
    let data = file_of(3 * 1024, 5);
    let deal = deal_in_window(&mut s, &data);
    let first = holders(&mut s, &deal);
    let worth: Vec<u128> = first.iter().map(|p| s.worth(p)).collect();
    prove_together(&mut s, &deal, &data, &first);
    s.tx("bob")
        .act(cancel_deal(deal))
        .expect_failed(TxRejection::NotDealOwner);
    let before = s.balance("alice");
    s.tx("alice").act(cancel_deal(deal)).expect_ok();
    let d = s.deal(&deal);
    assert_eq!(d.status, DealStatus::Cancelled);
    let escrow = 3 * 4 * PAY;
    assert_eq!(d.paid.base_units(), 3 * PAY);
    assert_eq!(s.balance("alice"), before - FEE + (escrow - 3 * PAY));
    assert!(
        d.replicas
            .iter()
            .all(|r| r.state == StorageReplicaState::Ended)
    );
    for (p, w) in first.iter().zip(worth) {
        assert_eq!(s.worth(p), w + PAY, "{p} keeps its pay and its bond");
        assert_eq!(s.storage_offer(p).used_bytes, 0);
    }
    s.tx("alice")
        .act(cancel_deal(deal))
        .expect_failed(TxRejection::DealEnded);
    // Nothing more happens to it.
    s.blocks(3 * EPOCH);
    assert_eq!(s.deal(&deal).paid.base_units(), 3 * PAY);
}

#[test]
fn providers_of_bytes_nobody_serves_are_released_and_never_slashed() {
    let mut s = four_providers();
    let data = file_of(5 * 1024, 6);
    let deal = deal_in_window(&mut s, &data);
    let first = holders(&mut s, &deal);
    let worth: Vec<u128> = PROVIDERS.iter().map(|p| s.worth(p)).collect();
    // Nobody proves: after fetch_epochs_max (2) windows the replicas are released.
    let start = s.deal(&deal).start_height.unwrap();
    s.run_until(start + EPOCH + WINDOW + 1);
    let d = s.deal(&deal);
    for p in &first {
        let r = d.replicas.iter().find(|r| r.provider == addr(p)).unwrap();
        assert_eq!(r.state, StorageReplicaState::Released, "{p}");
        assert!(r.slashed.is_zero());
    }
    // The deal looks for others (one spare left, it needs three: it waits), and it runs out.
    s.run_until(d.end_height.unwrap() + 1);
    assert_eq!(s.deal(&deal).status, DealStatus::Ended);
    for (i, p) in PROVIDERS.iter().enumerate() {
        assert_eq!(s.worth(p), worth[i], "{p} lost nothing");
        assert!(s.provider(p).slashed.is_zero());
    }
}

#[test]
fn a_deal_whose_escrow_overflows_or_breaks_a_limit_is_refused() {
    let mut s = four_providers();
    let data = file_of(1024, 7);
    let huge = deal_of(&data)
        .replicas(DEAL_REPLICAS_MAX)
        .epochs(1_000_000)
        .bid(u128::MAX / 2);
    s.tx("alice")
        .act(huge.post())
        .expect_rejected(TxRejection::AmountOverflow);
    for bad in [
        deal_of(&data).replicas(0),
        deal_of(&data).replicas(DEAL_REPLICAS_MAX + 1),
        deal_of(&data).epochs(0),
        deal_of(&data).bid(0),
    ] {
        s.tx("alice")
            .act(bad.post())
            .expect_rejected(TxRejection::DealSpecInvalid);
    }
    let mut too_big = deal_of(&data);
    too_big.0.size_bytes = DEAL_BYTES_MAX + 1;
    s.tx("alice")
        .act(too_big.post())
        .expect_rejected(TxRejection::DealSpecInvalid);
    let rich = deal_of(&data).replicas(3).epochs(1_000).bid(1_000);
    // Affordable fee, unaffordable escrow: included, the fee paid, nothing locked.
    let before = s.balance("alice");
    s.tx("alice")
        .act(rich.post())
        .expect_failed(TxRejection::InsufficientBalance);
    assert_eq!(s.balance("alice"), before - FEE);
}

#[test]
fn offers_keys_and_exits_follow_the_provider_rules() {
    let mut s = four_providers();
    s.tx("alice")
        .act(offer_storage(MIB, 1))
        .expect_failed(TxRejection::NotProvider);
    s.tx("p1")
        .act(Action::Storage(StorageAction::SetEncryptionKey {
            key: Hash32::ZERO,
        }))
        .expect_rejected(TxRejection::EncryptionKeyInvalid);
    let key = Hash32([5; 32]);
    s.tx("p1")
        .act(Action::Storage(StorageAction::SetEncryptionKey { key }))
        .expect_ok();
    assert_eq!(s.storage_offer("p1").encryption_key, Some(key));
    assert_eq!(s.storage_market().capacity_bytes_total, 4 * MIB);
    let data = file_of(2048, 8);
    let deal = deal_in_window(&mut s, &data);
    let holder = holders(&mut s, &deal)[0];
    s.tx(holder)
        .act(Action::ExitProvider)
        .expect_failed(TxRejection::StorageReplicasHeld);
    // Zero capacity withdraws the offer; the held replica keeps running.
    s.tx(holder).act(offer_storage(0, ASK)).expect_ok();
    assert!(!s.replicas_of(holder, &deal).is_empty());
    assert_eq!(s.storage_market().capacity_bytes_total, 3 * MIB);
    s.prove_all(holder, &deal, &data).expect_ok();
}

#[test]
fn job_keys_are_shared_only_by_the_requester_with_assigned_providers() {
    use yun_state::scenario_market::job_spec;
    use yun_types::storage::SealedKey;
    let mut s = four_providers();
    let job = s.post(&job_spec().tasks(1), "alice").expect_ok().tx_id;
    let task = s.task(&job, 0);
    let assigned = task.replicas[0].provider;
    let name = *PROVIDERS.iter().find(|p| addr(p) == assigned).unwrap();
    let other = *PROVIDERS.iter().find(|p| addr(p) != assigned).unwrap();
    let share = |to: &str| {
        Action::Storage(StorageAction::ShareJobKeys {
            job,
            keys: vec![SealedKey {
                provider: addr(to),
                sealed: vec![1, 2, 3],
            }],
        })
    };
    s.tx("bob")
        .act(share(name))
        .expect_failed(TxRejection::NotRequester);
    s.tx("alice")
        .act(share(other))
        .expect_failed(TxRejection::ProviderNotOnJob);
    s.tx("alice").act(share(name)).expect_ok();
    assert_eq!(s.view().job_key(&job, &addr(name)), Some(vec![1, 2, 3]));
    assert_eq!(s.view().job_key(&job, &addr(other)), None);
    s.tx("alice")
        .act(Action::Storage(StorageAction::ShareJobKeys {
            job,
            keys: Vec::new(),
        }))
        .expect_rejected(TxRejection::Malformed);
}

#[test]
fn a_genesis_with_unusable_storage_params_is_refused() {
    use yun_state::GenesisError;
    type Change = fn(&mut yun_types::StorageParams);
    let cases: [(&str, Change); 8] = [
        ("storage.epoch_blocks", |p| p.epoch_blocks = 0),
        ("storage.proof_window_blocks", |p| p.proof_window_blocks = 0),
        ("storage.proof_window_blocks", |p| {
            p.proof_window_blocks = p.epoch_blocks + 1
        }),
        // A window as long as the epoch would still be open when the next one opens.
        ("storage.proof_window_blocks", |p| {
            p.proof_window_blocks = p.epoch_blocks
        }),
        ("storage.fetch_epochs_max", |p| p.fetch_epochs_max = 0),
        ("storage.misses_to_replace", |p| p.misses_to_replace = 0),
        ("storage.miss_slash_ppm", |p| p.miss_slash_ppm = 1_000_001),
        // A proven period that pays nothing.
        ("storage.replica_epoch_pay_min", |p| {
            p.replica_epoch_pay_min = Amount::ZERO
        }),
    ];
    for (name, change) in cases {
        let mut g = yun_state::scenario::genesis_with(&[("alice", 1)]);
        change(&mut g.params.storage);
        match yun_state::genesis_writes(&g) {
            Err(GenesisError::Param { field, .. }) => assert_eq!(field, name),
            other => panic!("{name}: expected a storage parameter error, got {other:?}"),
        }
    }
    let g = yun_state::scenario::genesis_with(&[("alice", 1)]);
    assert!(yun_state::genesis_writes(&g).is_ok());
}

#[test]
fn a_queue_longer_than_one_blocks_read_is_walked_in_turn_so_every_deal_is_looked_at() {
    use yun_types::storage_records::STORAGE_QUEUE_READ_PER_BLOCK_MAX as WINDOW_DEALS;
    let mut s = four_providers();
    // More deals than one block reads, all bidding below every ask: they wait.
    let waiting = WINDOW_DEALS + 44;
    for i in 0..waiting {
        let data = file_of(1024, i as u8)
            .into_iter()
            .chain((i as u32).to_be_bytes())
            .collect::<Vec<_>>();
        s.tx("alice").act(deal_of(&data).bid(1).post()).expect_ok();
    }
    assert_eq!(s.storage_market().queue_deals, waiting as u64);
    // Then 20 that any provider takes, posted in one block: wherever their ids fall in the
    // queue, the walk reaches them within the next blocks.
    let nonce = s.nonce("alice");
    let txs: Vec<_> = (0..20u8)
        .map(|i| {
            let data = file_of(2048, i);
            s.tx("alice")
                .nonce(nonce + u64::from(i))
                .sign(deal_of(&data).bid(ASK).post())
        })
        .collect();
    let ids: Vec<Hash32> = txs.iter().map(|t| t.id()).collect();
    s.block(&txs).expect("deals are includable");
    // The ids are fixed, so check the story needs the walk: some deal sorts past the first
    // window of the queue.
    let mut queue: Vec<Hash32> = s
        .view()
        .scan(&[yun_state::storage::TAG_STORAGE_QUEUE])
        .iter()
        .map(|(k, _)| yun_state::storage::deal_of_tail(k))
        .collect();
    queue.sort();
    let mut all = queue.clone();
    all.extend(ids.iter().filter(|id| !queue.contains(id)));
    all.sort();
    assert!(
        ids.iter()
            .any(|id| all.iter().position(|x| x == id).unwrap() >= WINDOW_DEALS),
        "the test needs a deal past the first window"
    );
    s.blocks(2);
    for id in &ids {
        assert_eq!(s.deal(id).status, DealStatus::Active, "deal {id} matched");
    }
    assert_eq!(s.storage_market().queue_deals, waiting as u64);
}
