//! Property tests: random transfer sequences conserve supply and never reuse a nonce.

use proptest::prelude::*;
use std::collections::BTreeSet;
use yun_state::scenario::{Scenario, addr};

const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

#[derive(Debug, Clone)]
struct Op {
    from: usize,
    to: usize,
    amount: u128,
    nonce_skew: i8,
    txs_in_block: usize,
}

fn op() -> impl Strategy<Value = Op> {
    (
        0..5usize,
        0..5usize,
        0u128..400,
        prop_oneof![8 => Just(0i8), 1 => -2i8..3],
        1usize..4,
    )
        .prop_map(|(from, to, amount, nonce_skew, txs_in_block)| Op {
            from,
            to,
            amount,
            nonce_skew,
            txs_in_block,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_transfers_conserve_supply_and_never_repeat_a_nonce(
        balances in proptest::collection::vec(0u128..1_000, 5),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut s = Scenario::new();
        for (name, b) in NAMES.iter().zip(&balances) {
            s.fund(name, *b);
        }
        // (sender, nonce) pairs that ever got committed.
        let mut used: BTreeSet<(String, u64)> = BTreeSet::new();
        for op in ops {
            let from = NAMES[op.from];
            let before = s.nonce(from);
            let mut txs = Vec::new();
            for i in 0..op.txs_in_block as u64 {
                let nonce = (before + i).saturating_add_signed(i64::from(op.nonce_skew));
                txs.push(s.tx(from).nonce(nonce).sign_transfer(NAMES[op.to], op.amount));
            }
            // `block` asserts supply conservation after every committed block.
            let committed = s.block(&txs).is_ok();
            let after = s.nonce(from);
            if committed {
                prop_assert_eq!(after, before + op.txs_in_block as u64);
                for tx in &txs {
                    prop_assert!(used.insert((from.to_string(), tx.tx.nonce)), "nonce reused");
                }
            } else {
                prop_assert_eq!(after, before);
            }
        }
        let total: u128 = NAMES.iter().map(|n| s.balance(n)).sum::<u128>()
            + s.balance("validator") + s.burned();
        prop_assert_eq!(total, balances.iter().sum::<u128>());
        prop_assert!(addr("alice") != addr("bob"));
    }
}
