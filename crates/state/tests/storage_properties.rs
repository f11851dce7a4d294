//! Property tests over random storage histories: supply is conserved at every height (the
//! scenario checks it after every block), what providers were paid is exactly the accepted
//! proofs at their replicas' prices (at least the chain's minimum per proven period), and no
//! provider that always proves ever loses money (its proof transactions pay no fee when they succeed).

use proptest::prelude::*;
use yun_state::scenario::{Scenario, Step, addr};
use yun_state::scenario_market::offer;
use yun_state::scenario_storage::{cancel_deal, deal_of, file_of, offer_storage};
use yun_state::storage::{StorageReplicaState, TAG_DEAL, decode};
use yun_types::storage::DealId;
use yun_types::{Amount, TxOutcome};

const HONEST: [&str; 3] = ["h1", "h2", "h3"];
/// Stores what it is given but proves only when its coin says so.
const FLAKY: [&str; 2] = ["f1", "f2"];
const OWNERS: [&str; 2] = ["alice", "bob"];
/// The least a proven replica-epoch pays here (the scenario's `replica_epoch_pay_min`).
const PAY_MIN: u128 = 10;

#[derive(Debug, Clone)]
enum Op {
    Post {
        who: usize,
        kib: usize,
        replicas: u8,
        epochs: u32,
        bid: u128,
    },
    Cancel {
        deal: usize,
    },
    Idle {
        blocks: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 1..40usize, 1..4u8, 1..5u32, 1..25u128)
            .prop_map(|(who, kib, replicas, epochs, bid)| Op::Post { who, kib, replicas, epochs, bid }),
        1 => (0..8usize).prop_map(|deal| Op::Cancel { deal }),
        3 => (1..8u64).prop_map(|blocks| Op::Idle { blocks }),
    ]
}

/// One block: every honest provider answers every open challenge it has; each flaky one
/// answers when `coin` says so. Returns the proofs accepted.
fn proving_block(s: &mut Scenario, files: &[(DealId, Vec<u8>)], coin: &mut u64) -> u128 {
    let mut txs = Vec::new();
    for p in HONEST.iter().chain(&FLAKY) {
        *coin = coin
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if FLAKY.contains(p) && (*coin >> 33).is_multiple_of(3) {
            continue;
        }
        let mut proofs = Vec::new();
        for (deal, data) in files {
            proofs.extend(s.proofs_for(p, deal, data));
        }
        // One transaction per 16 proofs, at consecutive nonces, so an honest provider answers
        // every challenge it has however many it holds.
        let nonce = s.nonce(p);
        for (k, chunk) in proofs
            .chunks(yun_types::storage::STORAGE_PROOFS_PER_TX_MAX)
            .enumerate()
        {
            let tx = s
                .tx(p)
                .nonce(nonce + k as u64)
                .sign(yun_state::scenario_storage::prove(chunk.to_vec()));
            txs.push((chunk.len() as u128, tx));
        }
    }
    let signed: Vec<_> = txs.iter().map(|(_, t)| t.clone()).collect();
    let out = s.block(&signed).expect("proofs are includable");
    out.receipts
        .iter()
        .zip(&txs)
        .filter(|(r, _)| r.outcome == TxOutcome::Success)
        .map(|(_, (n, _))| *n)
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_storage_histories_keep_the_books_and_pay_exactly_the_proofs(
        ops in proptest::collection::vec(op(), 1..20),
        seed in any::<u64>(),
    ) {
        let mut s = Scenario::new();
        s.storage_params(|p| {
            p.epoch_blocks = 4;
            p.proof_window_blocks = 2;
            p.fetch_epochs_max = 2;
            p.misses_to_replace = 2;
            p.miss_slash_ppm = 50_000;
        });
        for name in OWNERS {
            s.fund(name, 10_000_000);
        }
        for name in HONEST.iter().chain(&FLAKY) {
            s.fund(name, 10_000_000);
        }
        for (i, name) in HONEST.iter().chain(&FLAKY).enumerate() {
            s.tx(name).act(offer().register(1_000_000)).expect_ok();
            // Asks 4..20: some replicas earn more than the minimum per period, some exactly it.
            s.tx(name).act(offer_storage(200 * 1024, 4 + 4 * i as u128)).expect_ok();
        }
        let worth0: Vec<u128> = HONEST.iter().map(|p| s.worth(p)).collect();
        let mut honest_proof_txs = [0u128; 3];
        let mut files: Vec<(DealId, Vec<u8>)> = Vec::new();
        let mut coin = seed;
        let mut accepted = 0u128;
        let step = |s: &mut Scenario, files: &[(DealId, Vec<u8>)], coin: &mut u64, fees: &mut [u128; 3]| -> Result<u128, String> {
            let before: Vec<u64> = HONEST.iter().map(|p| s.nonce(p)).collect();
            let n = proving_block(s, files, coin);
            for (i, p) in HONEST.iter().enumerate() {
                fees[i] += u128::from(s.nonce(p) - before[i]);
                // At every height: an honest provider's balance and bond, after every proof
                // transaction it sent, never go below where they started.
                if s.worth(p) < worth0[i] {
                    return Err(format!("{p} lost money at height {}", s.height));
                }
            }
            Ok(n)
        };
        for op in ops {
            match op {
                Op::Post { who, kib, replicas, epochs, bid } => {
                    let data = file_of(kib * 1024 + 3, files.len() as u8);
                    let d = deal_of(&data).replicas(replicas).epochs(epochs).bid(bid);
                    if let Step::Included(r) = s.tx(OWNERS[who]).act(d.post())
                        && r.outcome == TxOutcome::Success
                    {
                        files.push((r.tx_id, data));
                    }
                }
                Op::Cancel { deal } => {
                    if let Some((id, _)) = files.get(deal) {
                        let owner = s.deal(id).owner;
                        let name = OWNERS.iter().find(|n| addr(n) == owner).unwrap();
                        let _ = s.tx(name).act(cancel_deal(*id));
                    }
                }
                Op::Idle { blocks } => {
                    for _ in 0..blocks {
                        accepted += step(&mut s, &files, &mut coin, &mut honest_proof_txs).map_err(TestCaseError::fail)?;
                    }
                }
            }
            accepted += step(&mut s, &files, &mut coin, &mut honest_proof_txs).map_err(TestCaseError::fail)?;
        }
        // Run every deal out (each lasts at most 4 epochs of 4 blocks once matched).
        for _ in 0..40 {
            accepted += step(&mut s, &files, &mut coin, &mut honest_proof_txs).map_err(TestCaseError::fail)?;
        }
        // Paid = accepted proofs × max(price × billed MiB (1 MiB for these files), PAY_MIN), and
        // every deal's books balance: escrow + paid + refunded = what was locked.
        let mut paid = 0u128;
        let mut proofs = 0u128;
        let mut priced = 0u128;
        for (_, v) in s.view().scan(&[TAG_DEAL]) {
            let d: yun_state::storage::Deal = decode(&v);
            let locked = u128::from(d.spec.replicas) * u128::from(d.spec.epochs)
                * d.spec.bid_per_mib_epoch.base_units().max(PAY_MIN);
            prop_assert_eq!(d.escrow.base_units() + d.paid.base_units() + d.refunded.base_units(), locked);
            paid += d.paid.base_units();
            for r in &d.replicas {
                proofs += u128::from(r.epochs_paid);
                let per_epoch = r.price_per_mib_epoch.base_units().max(PAY_MIN);
                priced += u128::from(r.epochs_paid) * per_epoch;
                prop_assert_eq!(r.paid.base_units(), u128::from(r.epochs_paid) * per_epoch);
                prop_assert!(r.price_per_mib_epoch <= d.spec.bid_per_mib_epoch);
                if HONEST.iter().any(|h| addr(h) == r.provider) {
                    prop_assert!(r.slashed.is_zero(), "an honest replica was slashed: {:?}", r);
                    prop_assert_ne!(r.state, StorageReplicaState::Replaced);
                }
            }
            if !d.is_open() {
                prop_assert!(d.escrow.is_zero(), "an ended deal kept escrow");
            }
        }
        prop_assert_eq!(proofs, accepted, "every accepted proof paid once");
        prop_assert_eq!(paid, priced);
        let earned: u128 = HONEST.iter().chain(&FLAKY).map(|p| s.storage_offer(p).earned.base_units()).sum();
        prop_assert_eq!(earned, paid, "what deals paid reached the providers");
        // No honest provider's balance + bond went down.
        for (i, p) in HONEST.iter().enumerate() {
            prop_assert!(s.worth(p) >= worth0[i], "{} lost money after {} proof transactions", p, honest_proof_txs[i]);
            prop_assert!(s.provider(p).slashed.is_zero());
            prop_assert_eq!(s.provider(p).bond, Amount::new(1_000_000));
        }
    }
}
