//! Property tests over random histories with block rewards: delegations come and go,
//! commissions change, validators are slashed for equivocation and jailed for downtime, and
//! delegators lock and unlock tokens for governance, and through it all the supply check holds
//! at every block (balances + bonds + escrow + locks + treasury + burned = genesis + minted,
//! run by the scenario), every issued unit is accounted for
//! (minted to someone, in the provider pool or owed to delegators), minted never exceeds what
//! was issued, and issuance never exceeds its cap.

use proptest::prelude::*;
use yun_state::scenario::Scenario;
use yun_state::scenario_governance::{lock, unlock};
use yun_state::scenario_rewards::set_commission;
use yun_state::scenario_staking::{delegate, undelegate};
use yun_state::staking;
use yun_types::{Action, Amount};

const VALIDATORS: [&str; 4] = ["g0", "g1", "g2", "g3"];
const DELEGATORS: [&str; 3] = ["d0", "d1", "d2"];
const EPOCH: u64 = 4;
const BOND: u128 = 10_000;

#[derive(Debug, Clone)]
enum Op {
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
    Commission {
        who: usize,
        bps: u16,
    },
    Slash {
        who: usize,
        view: u64,
    },
    Unjail {
        who: usize,
    },
    Fee {
        who: usize,
        fee: u128,
    },
    /// Blocks recording that every validator but `silent` (if any) signed the last.
    Signed {
        blocks: u64,
        silent: Option<usize>,
    },
    Idle {
        blocks: u64,
    },
    /// A governance lock until `blocks` ahead (the scenario checks locks in the supply).
    Lock {
        who: usize,
        amount: u128,
        blocks: u64,
    },
    Unlock {
        who: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize, 0..4usize, 10..5_000u128)
            .prop_map(|(who, to, amount)| Op::Delegate { who, to, amount }),
        2 => (0..3usize, 0..4usize, 1..5_000u128)
            .prop_map(|(who, from, amount)| Op::Undelegate { who, from, amount }),
        2 => (0..4usize, 0..2_500u16).prop_map(|(who, bps)| Op::Commission { who, bps }),
        1 => (0..4usize, 0..3u64).prop_map(|(who, view)| Op::Slash { who, view }),
        1 => (0..4usize).prop_map(|who| Op::Unjail { who }),
        1 => (0..3usize, 10..500u128).prop_map(|(who, fee)| Op::Fee { who, fee }),
        3 => (1..8u64, proptest::option::of(0..4usize))
            .prop_map(|(blocks, silent)| Op::Signed { blocks, silent }),
        2 => (1..6u64).prop_map(|blocks| Op::Idle { blocks }),
        2 => (0..3usize, 1..50_000u128, 1..12u64)
            .prop_map(|(who, amount, blocks)| Op::Lock { who, amount, blocks }),
        1 => (0..3usize).prop_map(|who| Op::Unlock { who }),
    ]
}

fn check_books(s: &mut Scenario, cap: u128) -> Result<(), TestCaseError> {
    let r = s.rewards();
    let owed: u128 = staking::validators(&s.state)
        .iter()
        .map(|v| v.delegator_rewards_owed.base_units())
        .sum();
    let paid = r.to_treasury.base_units()
        + r.to_validators.base_units()
        + r.to_delegators.base_units()
        + r.to_providers.base_units();
    prop_assert_eq!(
        r.issued.base_units(),
        paid + r.provider_pool.base_units() + owed
    );
    prop_assert_eq!(s.minted(), paid);
    prop_assert!(r.issued.base_units() <= cap);
    prop_assert!(s.treasury() >= r.to_treasury.base_units().min(s.treasury()));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_reward_histories_keep_the_books(
        issuance in prop_oneof![Just(1u128), Just(7), 1..50_000u128],
        halving in prop_oneof![Just(0u64), 1..20u64],
        cap in 1..2_000_000u128,
        treasury_bps in 0..=5_000u16,
        provider_bps in 0..=5_000u16,
        slash_downtime_bps in prop_oneof![Just(0u16), Just(10), Just(10_000)],
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut s = Scenario::new();
        s.params.staking.epoch_blocks = EPOCH;
        s.params.staking.validator_self_bond_min = Amount::new(BOND / 2);
        s.params.staking.delegation_min = Amount::new(10);
        s.params.staking.unbonding_blocks = staking::EVIDENCE_EPOCHS_KEPT * EPOCH;
        s.params.staking.jail_blocks = 3;
        s.params.rewards.issuance_per_block = Amount::new(issuance);
        s.params.rewards.halving_blocks = halving;
        s.params.rewards.issuance_max_total = Amount::new(cap.max(issuance));
        s.params.rewards.treasury_bps = treasury_bps;
        s.params.rewards.provider_bps = provider_bps;
        s.params.rewards.slash_downtime_bps = slash_downtime_bps;
        // Downtime is judged in these short epochs too.
        s.params.rewards.downtime_records_min = yun_types::rewards::DOWNTIME_RECORDS_MIN_FLOOR;
        s.params.governance.lock_blocks_max = 20;
        let cap = cap.max(issuance);
        for (i, v) in VALIDATORS.iter().enumerate() {
            s.genesis_validator(v, BOND * (i as u128 + 1));
            s.fund(v, 100_000);
        }
        for d in DELEGATORS {
            s.fund(d, 1_000_000);
        }
        s.proposer = "g3".into();
        for op in ops {
            match op {
                Op::Delegate { who, to, amount } => {
                    s.tx(DELEGATORS[who]).act(delegate(VALIDATORS[to], amount));
                }
                Op::Undelegate { who, from, amount } => {
                    s.tx(DELEGATORS[who]).act(undelegate(VALIDATORS[from], amount));
                }
                Op::Commission { who, bps } => {
                    s.tx(VALIDATORS[who]).act(set_commission(bps));
                }
                Op::Slash { who, view } => {
                    let _ = s.slash(VALIDATORS[who], view);
                }
                Op::Unjail { who } => {
                    s.tx(VALIDATORS[who]).act(Action::Unjail);
                }
                Op::Fee { who, fee } => {
                    s.tx(DELEGATORS[who]).fee(fee).transfer("d0", 1);
                }
                Op::Signed { blocks, silent } => {
                    let signers: Vec<&str> = VALIDATORS
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| Some(*i) != silent)
                        .map(|(_, v)| *v)
                        .collect();
                    for _ in 0..blocks {
                        if s.height == 0 {
                            s.empty_block();
                        }
                        s.signed_by(&signers).empty_block();
                        check_books(&mut s, cap)?;
                    }
                }
                Op::Lock { who, amount, blocks } => {
                    let until = s.height + 1 + blocks;
                    s.tx(DELEGATORS[who]).act(lock(amount, until));
                }
                Op::Unlock { who } => {
                    s.tx(DELEGATORS[who]).act(unlock());
                }
                Op::Idle { blocks } => {
                    for _ in 0..blocks {
                        s.empty_block();
                        check_books(&mut s, cap)?;
                    }
                }
            }
            check_books(&mut s, cap)?;
        }
    }
}
