//! Property tests over random staking histories: supply is conserved at every block (the
//! scenario checks balances + bonds + escrow + self bonds + delegations + unbonding + burned =
//! total, and every validator's delegated total), every active set chosen at an epoch boundary
//! is the top of the eligible validators by stake with ties by address (or the previous set
//! when none is eligible), each equivocation is punished exactly once, and every unbonding
//! entry is released.

use proptest::prelude::*;
use std::collections::BTreeSet;
use yun_state::scenario::{Scenario, addr};
use yun_state::scenario_staking::{delegate, register_validator, undelegate};
use yun_state::staking::{self, eligible};
use yun_types::{Action, Address, Amount, TxRejection};

const ACCOUNTS: [&str; 7] = ["v0", "v1", "v2", "v3", "d0", "d1", "d2"];
/// Who may be delegated to: the four that may register, and the genesis validator.
const TARGETS: [&str; 5] = ["v0", "v1", "v2", "v3", "g0"];
const MIN_BOND: u128 = 1_000;
const EPOCH: u64 = 3;
/// The shortest unbonding genesis allows with these epochs: the evidence window.
const UNBONDING: u64 = staking::EVIDENCE_EPOCHS_KEPT * EPOCH;
const FUNDS: u128 = 100_000;

#[derive(Debug, Clone)]
enum Op {
    Register {
        who: usize,
        bond: u128,
    },
    Delegate {
        who: usize,
        to: usize,
        amount: u128,
    },
    Undelegate {
        who: usize,
        from: usize,
        amount: u128,
    },
    Slash {
        val: usize,
        view: u64,
    },
    Unjail {
        who: usize,
    },
    Fee {
        who: usize,
        fee: u128,
    },
    Idle {
        blocks: u64,
    },
}

/// Few distinct amounts, so stakes often tie and the tie-break by address matters.
fn amount() -> impl Strategy<Value = u128> {
    prop_oneof![Just(5u128), Just(10), Just(100), Just(500), 1..3_000u128]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..4usize, prop_oneof![Just(900u128), Just(1_000), Just(2_000), 900..4_000u128])
            .prop_map(|(who, bond)| Op::Register { who, bond }),
        4 => (0..7usize, 0..5usize, amount())
            .prop_map(|(who, to, amount)| Op::Delegate { who, to, amount }),
        3 => (0..7usize, 0..5usize, amount())
            .prop_map(|(who, from, amount)| Op::Undelegate { who, from, amount }),
        1 => (0..5usize, 0..3u64).prop_map(|(val, view)| Op::Slash { val, view }),
        1 => (0..5usize).prop_map(|who| Op::Unjail { who }),
        2 => (0..7usize, 10..2_000u128).prop_map(|(who, fee)| Op::Fee { who, fee }),
        2 => (1..6u64).prop_map(|blocks| Op::Idle { blocks }),
        // Long enough for unbonding entries to be released in the middle of a history.
        1 => Just(Op::Idle { blocks: UNBONDING }),
    ]
}

/// What the stored set must be after the last block of an epoch: the top eligible
/// validators, or the previous set carried over when none is eligible.
fn expected_set(s: &mut Scenario, previous: &[(Address, u128)]) -> Vec<(Address, u128)> {
    let params = s.params.clone();
    let mut eligible: Vec<(Address, u128)> = staking::validators(&s.state)
        .into_iter()
        .filter(|v| eligible(v, &params))
        .map(|v| (v.address, v.stake().base_units()))
        .collect();
    if eligible.is_empty() {
        return previous.to_vec();
    }
    eligible.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.as_bytes().cmp(b.0.as_bytes())));
    eligible.truncate(params.staking.active_validators_max as usize);
    eligible
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_staking_histories_keep_the_books_and_choose_sets_by_stake(
        slash_bps in prop_oneof![Just(500u16), Just(3_333), Just(10_000)],
        ops in proptest::collection::vec(op(), 1..50),
    ) {
        let mut s = Scenario::new();
        s.params.staking.epoch_blocks = EPOCH;
        s.params.staking.active_validators_max = 2;
        s.params.staking.validator_self_bond_min = Amount::new(MIN_BOND);
        s.params.staking.delegation_min = Amount::new(10);
        s.params.staking.unbonding_blocks = UNBONDING;
        s.params.staking.jail_blocks = 5;
        s.params.staking.slash_equivocation_bps = slash_bps;
        s.genesis_validator("g0", MIN_BOND);
        s.proposer = "g0".into();
        for name in ACCOUNTS {
            s.fund(name, FUNDS);
        }
        let total = s.view().supply().total;
        let mut punished: BTreeSet<(Address, u64)> = BTreeSet::new();
        let mut set = s.active_set().1;
        for op in ops {
            let height = s.height;
            match op {
                Op::Register { who, bond } => {
                    s.tx(ACCOUNTS[who]).act(register_validator(ACCOUNTS[who], bond));
                }
                Op::Delegate { who, to, amount } => {
                    s.tx(ACCOUNTS[who]).act(delegate(TARGETS[to], amount));
                }
                Op::Undelegate { who, from, amount } => {
                    s.tx(ACCOUNTS[who]).act(undelegate(TARGETS[from], amount));
                }
                Op::Slash { val, view } => {
                    let v = addr(TARGETS[val]);
                    let known = staking::validator(&s.state, &v).is_some();
                    let result = s.slash(TARGETS[val], view);
                    if !known {
                        prop_assert_eq!(result, Err(TxRejection::UnknownValidator));
                    } else if punished.contains(&(v, view)) {
                        prop_assert_eq!(result, Err(TxRejection::EvidenceAlreadyUsed));
                    } else {
                        prop_assert!(result.is_ok());
                        punished.insert((v, view));
                        prop_assert!(staking::validator(&s.state, &v).unwrap().is_jailed());
                    }
                }
                Op::Unjail { who } => {
                    s.tx(TARGETS[who]).act(Action::Unjail);
                }
                Op::Fee { who, fee } => {
                    s.tx(ACCOUNTS[who]).fee(fee).transfer("d0", 1);
                }
                Op::Idle { blocks } => {
                    for _ in 0..blocks {
                        s.empty_block();
                        if (s.height + 1).is_multiple_of(EPOCH) {
                            let expected = expected_set(&mut s, &set);
                            let (epoch, got) = s.active_set();
                            prop_assert_eq!(epoch, (s.height + 1) / EPOCH);
                            prop_assert_eq!(&got, &expected);
                            set = got;
                        }
                    }
                    continue;
                }
            }
            // A rejected transaction leaves no block; otherwise one block passed.
            if s.height > height && (s.height + 1).is_multiple_of(EPOCH) {
                let expected = expected_set(&mut s, &set);
                let (epoch, got) = s.active_set();
                prop_assert_eq!(epoch, (s.height + 1) / EPOCH);
                prop_assert_eq!(&got, &expected);
                set = got;
            }
            prop_assert_eq!(s.view().supply().total, total);
        }
        // Every unbonding entry is released once its period is over.
        s.blocks(UNBONDING + 1);
        for name in ACCOUNTS.iter().chain(["g0"].iter()) {
            prop_assert!(s.unbondings(name).is_empty(), "{} still unbonding", name);
        }
    }
}
