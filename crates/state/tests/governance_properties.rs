//! Property test over random governance histories: locks, unlocks, proposals with deposits
//! (text, treasury spends, parameter changes), votes of every kind (so tallies pass, fail and
//! veto, burning deposits), treasury funding and plain fees. The scenario checks after every
//! block that balances + locks + held deposits + treasury + burned + … = genesis + minted;
//! here also that nothing is left held once every proposal has been tallied.

use proptest::prelude::*;
use yun_state::governance::ProposalStatus;
use yun_state::scenario::Scenario;
use yun_state::scenario_governance::{
    lock, param_change, propose, text, treasury_spend, unlock, vote,
};
use yun_types::governance::VoteChoice;
use yun_types::{Amount, ChainParams};

const ACCOUNTS: [&str; 4] = ["a0", "a1", "a2", "a3"];
const FUNDS: u128 = 1_000_000;
const VOTING: u64 = 4;

#[derive(Debug, Clone)]
enum Op {
    Lock {
        who: usize,
        amount: u128,
        blocks: u64,
    },
    Unlock {
        who: usize,
    },
    Propose {
        who: usize,
        kind: u8,
        amount: u128,
        delay: u64,
    },
    Vote {
        who: usize,
        back: u64,
        choice: usize,
    },
    Treasury {
        amount: u128,
    },
    Idle {
        blocks: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4usize, 0..50_000u128, 1..40u64)
            .prop_map(|(who, amount, blocks)| Op::Lock { who, amount, blocks }),
        1 => (0..4usize).prop_map(|who| Op::Unlock { who }),
        3 => (0..4usize, 0..3u8, 1..30_000u128, 1..4u64)
            .prop_map(|(who, kind, amount, delay)| Op::Propose { who, kind, amount, delay }),
        4 => (0..4usize, 1..4u64, 0..4usize)
            .prop_map(|(who, back, choice)| Op::Vote { who, back, choice }),
        1 => (1..40_000u128).prop_map(|amount| Op::Treasury { amount }),
        2 => (1..8u64).prop_map(|blocks| Op::Idle { blocks }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_governance_histories_keep_the_books(
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut s = Scenario::new();
        s.params.governance.voting_period_blocks = VOTING;
        s.params.governance.deposit_min = Amount::new(1_000);
        s.params.governance.lock_blocks_max = 50;
        s.params.governance.quorum_bps = 1_000;
        s.params.governance.veto_bps = 3_000;
        for name in ACCOUNTS {
            s.fund(name, FUNDS);
        }
        for op in ops {
            let h = s.height;
            match op {
                Op::Lock { who, amount, blocks } => {
                    s.tx(ACCOUNTS[who]).act(lock(amount, h + blocks));
                }
                Op::Unlock { who } => {
                    s.tx(ACCOUNTS[who]).act(unlock());
                }
                Op::Propose { who, kind, amount, delay } => {
                    let kind = match kind {
                        0 => text("t"),
                        1 => treasury_spend(ACCOUNTS[(who + 1) % 4], amount),
                        _ => param_change(&[("min_fee", if amount % 2 == 0 { "11" } else { "9" })]),
                    };
                    s.tx(ACCOUNTS[who]).act(propose(kind, 1_000 + amount % 3_000, h + 1 + VOTING + delay));
                }
                Op::Vote { who, back, choice } => {
                    let next = yun_state::governance::gov_state(&s.state).next_proposal;
                    if next > back {
                        s.tx(ACCOUNTS[who]).act(vote(next - back, VoteChoice::ALL[choice]));
                    }
                }
                Op::Treasury { amount } => {
                    s.fund_treasury(amount);
                }
                Op::Idle { blocks } => {
                    s.blocks(blocks);
                }
            }
        }
        // Past every voting end and apply height: nothing is still held by a proposal.
        s.blocks(VOTING + 5);
        let next = yun_state::governance::gov_state(&s.state).next_proposal;
        for id in 1..next {
            let p = s.proposal(id);
            prop_assert!(p.deposit_held.is_zero());
            prop_assert!(!matches!(p.status, ProposalStatus::Voting | ProposalStatus::Passed));
        }
        let params: ChainParams = s.view().params();
        prop_assert!([9u128, 10, 11].contains(&params.min_fee.base_units()));
    }
}
