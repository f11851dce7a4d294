//! Delegated proof of stake, each path as a short story: validators register with a self
//! bond, accounts delegate and undelegate (the amount returns only after the unbonding
//! period), the last block of an epoch picks the next active set by stake, fees are shared by
//! stake, and an equivocation is slashed once, pro rata, with jail. Every block also checks
//! that balances + bonds + escrow + self bonds + delegations + unbonding + burned = supply.

use yun_state::scenario::{Scenario, addr};
use yun_state::scenario_staking::{delegate, register_validator, undelegate};
use yun_state::staking::{self, ValidatorStatus};
use yun_state::{GenesisError, genesis_writes};
use yun_types::{Action, Address, Amount, TxRejection};

const MIN_BOND: u128 = 1_000_000;
const RICH: u128 = 1_000_000_000;

/// Blocks per epoch in these stories.
const EPOCH: u64 = 10;
/// The shortest unbonding genesis allows with 10-block epochs: the evidence window.
const UNBONDING: u64 = staking::EVIDENCE_EPOCHS_KEPT * EPOCH;

/// A chain with 10-block epochs, 80-block unbonding (`UNBONDING`), 20-block jail, at most 3
/// active validators; `names` are funded with `RICH`.
fn chain(names: &[&str]) -> Scenario {
    let mut s = Scenario::new();
    s.params.staking.epoch_blocks = EPOCH;
    s.params.staking.unbonding_blocks = UNBONDING;
    s.params.staking.jail_blocks = 20;
    s.params.staking.active_validators_max = 3;
    for n in names {
        s.fund(n, RICH);
    }
    s
}

#[test]
fn registering_a_validator_locks_its_self_bond_under_its_own_address() {
    let mut s = chain(&["val1"]);
    s.tx("val1")
        .act(register_validator("val1", MIN_BOND))
        .expect_ok();
    assert_eq!(s.balance("val1"), RICH - MIN_BOND - 10);
    let v = s.validator("val1");
    assert_eq!(v.address, addr("val1"));
    assert_eq!(v.self_bond.base_units(), MIN_BOND);
    assert_eq!(v.stake().base_units(), MIN_BOND);
    assert_eq!(v.status, ValidatorStatus::Active);
    assert_eq!(v.p2p_address, "127.0.0.1:9000");
    // Once is enough; more self bond goes through Delegate to oneself.
    s.tx("val1")
        .act(register_validator("val1", MIN_BOND))
        .expect_failed(TxRejection::ValidatorExists);
    s.tx("val1").act(delegate("val1", 5)).expect_ok();
    assert_eq!(s.validator("val1").self_bond.base_units(), MIN_BOND + 5);
}

#[test]
fn a_registration_needs_the_minimum_bond_a_dialable_address_and_the_funds() {
    let mut s = chain(&["val1"]);
    s.fund("poor", MIN_BOND);
    s.tx("val1")
        .act(register_validator("val1", MIN_BOND - 1))
        .expect_failed(TxRejection::SelfBondBelowMin);
    // The fee comes first, so the bond no longer fits.
    s.tx("poor")
        .act(register_validator("poor", MIN_BOND))
        .expect_failed(TxRejection::InsufficientBalance);
    for bad in ["", "127.0.0.1", "host:0", "host name:9000"] {
        let Action::RegisterValidator {
            seed_key,
            seed_key_possession,
            ..
        } = register_validator("val1", MIN_BOND)
        else {
            unreachable!()
        };
        s.tx("val1")
            .act(Action::RegisterValidator {
                p2p_address: bad.into(),
                self_bond: Amount::new(MIN_BOND),
                seed_key,
                seed_key_possession,
            })
            .expect_rejected(TxRejection::InvalidP2pAddress);
    }
    assert!(
        staking::validators(&s.state)
            .iter()
            .all(|v| v.address != addr("val1"))
    );
}

#[test]
fn delegating_bonds_from_the_balance_and_adds_to_the_validators_stake() {
    let mut s = chain(&["val1", "alice"]);
    s.tx("val1")
        .act(register_validator("val1", MIN_BOND))
        .expect_ok();
    s.tx("alice").act(delegate("val1", 5_000)).expect_ok();
    s.tx("alice").act(delegate("val1", 1_000)).expect_ok();
    assert_eq!(s.balance("alice"), RICH - 6_000 - 20);
    assert_eq!(s.delegated("alice", "val1"), 6_000);
    let v = s.validator("val1");
    assert_eq!(v.delegated.base_units(), 6_000);
    assert_eq!(v.stake().base_units(), MIN_BOND + 6_000);
    assert_eq!(
        staking::delegators_of(&s.state, &addr("val1"))
            .into_iter()
            .map(|(d, del)| (d, del.amount.base_units()))
            .collect::<Vec<_>>(),
        vec![(addr("alice"), 6_000)]
    );

    s.tx("alice")
        .act(delegate("val1", 999))
        .expect_failed(TxRejection::DelegationBelowMin);
    s.tx("alice")
        .act(delegate("nobody", 5_000))
        .expect_failed(TxRejection::UnknownValidator);
    s.tx("alice")
        .act(delegate("val1", RICH))
        .expect_failed(TxRejection::InsufficientBalance);
    s.tx("alice")
        .act(delegate("val1", 0))
        .expect_rejected(TxRejection::ZeroAmount);
    assert_eq!(s.delegated("alice", "val1"), 6_000);
}

#[test]
fn undelegated_stake_returns_to_the_balance_only_after_the_unbonding_period() {
    let mut s = chain(&["val1", "alice"]);
    s.tx("val1")
        .act(register_validator("val1", MIN_BOND))
        .expect_ok();
    s.tx("alice").act(delegate("val1", 5_000)).expect_ok();
    s.tx("alice")
        .act(undelegate("val1", 5_001))
        .expect_failed(TxRejection::NotEnoughDelegated);
    s.tx("alice").act(undelegate("val1", 2_000)).expect_ok();
    let undelegated_at = s.height;
    let balance = s.balance("alice");
    // The stake leaves the validator at once …
    assert_eq!(s.delegated("alice", "val1"), 3_000);
    assert_eq!(s.validator("val1").stake().base_units(), MIN_BOND + 3_000);
    let entries = s.unbondings("alice");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].amount.base_units(), 2_000);
    assert_eq!(entries[0].release_height, undelegated_at + UNBONDING);
    // … but the balance sees it only at the release height.
    s.blocks(UNBONDING - 1);
    assert_eq!(s.balance("alice"), balance);
    s.empty_block();
    assert_eq!(s.height, undelegated_at + UNBONDING);
    assert_eq!(s.balance("alice"), balance + 2_000);
    assert!(s.unbondings("alice").is_empty());
    // Unbonding everything removes the delegation.
    s.tx("alice").act(undelegate("val1", 3_000)).expect_ok();
    assert!(staking::delegations_of(&s.state, &addr("alice")).is_empty());
    assert!(staking::delegators_of(&s.state, &addr("val1")).is_empty());
}

#[test]
fn a_validator_unbonds_all_of_its_self_bond_or_keeps_the_minimum() {
    let mut s = chain(&["val1"]);
    s.tx("val1")
        .act(register_validator("val1", MIN_BOND + 500))
        .expect_ok();
    s.tx("val1")
        .act(undelegate("val1", 501))
        .expect_failed(TxRejection::SelfBondBelowMin);
    s.tx("val1").act(undelegate("val1", 500)).expect_ok();
    let balance = s.balance("val1");
    s.tx("val1").act(undelegate("val1", MIN_BOND)).expect_ok();
    assert!(s.validator("val1").self_bond.is_zero());
    s.blocks(UNBONDING);
    // Both unbondings are back: the 500 one block before the rest.
    assert_eq!(s.balance("val1"), balance - 10 + 500 + MIN_BOND);
    // Coming back needs the minimum again.
    s.tx("val1")
        .act(delegate("val1", MIN_BOND - 1))
        .expect_failed(TxRejection::SelfBondBelowMin);
    s.tx("val1").act(delegate("val1", MIN_BOND)).expect_ok();
}

fn names(set: &[(Address, u128)]) -> Vec<Address> {
    set.iter().map(|(a, _)| *a).collect()
}

#[test]
fn the_last_block_of_an_epoch_picks_the_top_validators_by_stake_with_ties_by_address() {
    let mut s = chain(&["v1", "v2", "v3", "v4", "v5", "alice"]);
    assert_eq!(s.active_set(), (0, vec![(addr("validator"), 0)]));
    s.tx("v1")
        .act(register_validator("v1", 2 * MIN_BOND))
        .expect_ok();
    for v in ["v2", "v3", "v4", "v5"] {
        s.tx(v).act(register_validator(v, MIN_BOND)).expect_ok();
    }
    s.tx("alice").act(delegate("v5", 2_000)).expect_ok();
    // Registrations take effect at the next epoch, not mid-epoch.
    assert!(s.height < 9);
    assert_eq!(s.active_set().0, 0);
    s.to_epoch_end();
    assert_eq!(s.height, 9);
    // v2, v3 and v4 tie at the minimum: the smallest address gets the last seat.
    let mut tied = [addr("v2"), addr("v3"), addr("v4")];
    tied.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let (epoch, set) = s.active_set();
    assert_eq!(epoch, 1);
    assert_eq!(
        set,
        vec![
            (addr("v1"), 2 * MIN_BOND),
            (addr("v5"), MIN_BOND + 2_000),
            (tied[0], MIN_BOND),
        ]
    );
    assert_eq!(staking::epoch_of_height(&s.params.staking, s.height + 1), 1);

    // A jailed validator is left out of the next set, however large its stake.
    s.slash("v1", 3).unwrap();
    s.to_epoch_end();
    let (epoch, set) = s.active_set();
    assert_eq!(epoch, 2);
    assert_eq!(names(&set), vec![addr("v5"), tied[0], tied[1]]);
}

#[test]
fn without_an_eligible_validator_the_current_set_carries_over() {
    // The scenario's genesis validator bonds nothing (a pre-staking genesis file).
    let mut s = chain(&[]);
    s.to_epoch_end();
    assert_eq!(s.active_set(), (1, vec![(addr("validator"), 0)]));
}

#[test]
fn genesis_validators_form_epoch_zero_in_canonical_order_and_their_bonds_are_supply() {
    let mut s = chain(&["alice"]);
    s.genesis_validator("x", MIN_BOND)
        .genesis_validator("y", 2 * MIN_BOND)
        .genesis_validator("z", MIN_BOND);
    let (epoch, set) = s.active_set();
    assert_eq!(epoch, 0);
    let mut tied = [addr("x"), addr("z")];
    tied.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(
        set,
        vec![
            (addr("y"), 2 * MIN_BOND),
            (tied[0], MIN_BOND),
            (tied[1], MIN_BOND)
        ]
    );
    // Minted, not taken from a balance: the supply is the balances plus the bonds.
    assert_eq!(s.balance("y"), 0);
    assert_eq!(s.view().supply().total.base_units(), RICH + 4 * MIN_BOND);
}

#[test]
fn genesis_refuses_small_bonds_bad_addresses_and_more_validators_than_seats() {
    let base = || {
        let mut g = yun_state::scenario::genesis_with(&[("alice", 1)]);
        g.params.staking.active_validators_max = 2;
        g
    };
    let mut g = base();
    g.validators[0].self_bond = Amount::new(MIN_BOND - 1);
    assert!(matches!(genesis_writes(&g), Err(GenesisError::SelfBond(_))));
    let mut g = base();
    g.validators[0].p2p_address = "nowhere".into();
    assert!(matches!(
        genesis_writes(&g),
        Err(GenesisError::P2pAddress(_))
    ));
    let mut g = base();
    for i in 0..2 {
        let mut v = g.validators[0].clone();
        v.address = Address([i; 32]);
        g.validators.push(v);
    }
    assert!(matches!(
        genesis_writes(&g),
        Err(GenesisError::TooManyValidators { count: 3, max: 2 })
    ));
    let mut g = base();
    g.params.staking.epoch_blocks = 0;
    assert!(matches!(
        genesis_writes(&g),
        Err(GenesisError::Param {
            field: "staking.epoch_blocks",
            ..
        })
    ));
    // A validator that bonds nothing (older genesis files) is accepted.
    assert!(genesis_writes(&base()).is_ok());
}

#[test]
fn genesis_refuses_market_limits_that_no_job_could_fit() {
    let base = || yun_state::scenario::genesis_with(&[("alice", 1)]);
    type Limit = fn(&mut yun_types::MarketParams) -> &mut u64;
    let limits: [(&str, Limit); 4] = [
        ("market.fuel_per_second_min", |m| &mut m.fuel_per_second_min),
        ("market.task_seconds_max", |m| &mut m.task_seconds_max),
        ("market.task_fuel_max", |m| &mut m.task_fuel_max),
        ("market.program_bytes_max", |m| &mut m.program_bytes_max),
    ];
    for (name, limit) in limits {
        let mut g = base();
        *limit(&mut g.params.market) = 0;
        let err = genesis_writes(&g).expect_err(name);
        assert_eq!(err, GenesisError::ZeroMarketLimit(name));
        let words = err.to_string();
        assert!(
            words.contains(name) && words.contains("above zero"),
            "{words}"
        );
        *limit(&mut g.params.market) = 1;
        assert!(genesis_writes(&g).is_ok(), "{name} = 1 is allowed");
    }
}

#[test]
fn fees_are_shared_among_the_active_validators_by_stake_with_the_remainder_to_the_proposer() {
    let mut s = chain(&["alice"]);
    s.genesis_validator("a", 3 * MIN_BOND)
        .genesis_validator("b", MIN_BOND);
    s.proposer = "b".into();
    // A flat fee of 1,002 (a transaction pays what it owes, at most what it declares).
    s.params.min_fee = yun_types::Amount::new(1_002);
    // Fee 1,002: 501 burned (50 %), 501 shared 3:1 → a 375 (of 375.75), b 125 (of 125.25),
    // and the unit the floors leave goes to the proposer b.
    s.tx("alice").fee(1_002).transfer("carol", 1).expect_ok();
    assert_eq!(s.burned(), 501);
    assert_eq!(s.balance("a"), 375);
    assert_eq!(s.balance("b"), 126);
    assert_eq!(s.validator("a").fees_earned.base_units(), 375);
    assert_eq!(s.validator("b").fees_earned.base_units(), 125);

    // Several transactions in one block are pooled and shared once: 2 × 501 = 1,002 shared
    // 3:1 → a 751 (of 751.5), b 250 (of 250.5), and the floors' unit to the proposer b.
    let txs = vec![
        s.tx("alice").fee(1_002).sign_transfer("carol", 1),
        s.tx("alice").nonce(2).fee(1_002).sign_transfer("carol", 1),
    ];
    s.block(&txs).unwrap();
    assert_eq!(s.balance("a"), 375 + 751);
    assert_eq!(s.balance("b"), 126 + 251);

    // A member jailed mid-epoch earns nothing for the rest of it.
    s.slash("a", 1).unwrap();
    let (a, b) = (s.balance("a"), s.balance("b"));
    s.tx("alice").fee(1_002).transfer("carol", 1).expect_ok();
    assert_eq!(s.balance("a"), a);
    assert_eq!(s.balance("b"), b + 501);
}

#[test]
fn an_equivocation_is_slashed_once_and_delegators_lose_the_same_share() {
    let mut s = chain(&["val1", "alice", "bob"]);
    s.tx("val1")
        .act(register_validator("val1", MIN_BOND))
        .expect_ok();
    s.tx("alice").act(delegate("val1", 100_000)).expect_ok();
    s.tx("bob").act(delegate("val1", 40_000)).expect_ok();
    s.tx("bob").act(undelegate("val1", 20_000)).expect_ok();
    let burned_before = s.burned();

    // 5 %: 50,000 of the self bond, 5,000 of alice's, 1,000 of bob's bonded 20,000 and
    // 1,000 of bob's unbonding 20,000.
    let burned = s.slash("val1", 7).unwrap();
    assert_eq!(burned.base_units(), 57_000);
    assert_eq!(s.burned(), burned_before + 57_000);
    let slashed_at = s.height;
    let v = s.validator("val1");
    assert_eq!(v.self_bond.base_units(), 950_000);
    assert_eq!(v.slashed.base_units(), 50_000);
    assert_eq!(v.delegated.base_units(), 95_000 + 19_000);
    assert_eq!(v.status, ValidatorStatus::Jailed);
    assert_eq!(v.jailed_until_height, slashed_at + 20);
    assert_eq!(s.delegated("alice", "val1"), 95_000);
    assert_eq!(s.delegated("bob", "val1"), 19_000);
    assert_eq!(s.unbondings("bob")[0].amount.base_units(), 19_000);

    // The same evidence again changes nothing.
    assert_eq!(s.slash("val1", 7), Err(TxRejection::EvidenceAlreadyUsed));
    assert_eq!(s.burned(), burned_before + 57_000);
    assert_eq!(s.validator("val1").self_bond.base_units(), 950_000);
    assert!(staking::evidence_used(&s.state, &addr("val1"), 0, 7));
    assert_eq!(s.slash("nobody", 7), Err(TxRejection::UnknownValidator));

    // Bob's unbonding returns what is left of it.
    let bob = s.balance("bob");
    s.blocks(UNBONDING);
    assert_eq!(s.balance("bob"), bob + 19_000);
}

#[test]
fn a_jailed_validator_takes_no_stake_and_unjails_only_after_its_jail_time() {
    let mut s = chain(&["val1", "alice"]);
    s.tx("val1")
        .act(register_validator("val1", 2 * MIN_BOND))
        .expect_ok();
    s.tx("val1")
        .act(Action::Unjail)
        .expect_failed(TxRejection::NotJailed);
    s.tx("alice")
        .act(Action::Unjail)
        .expect_failed(TxRejection::UnknownValidator);
    s.slash("val1", 1).unwrap();
    let until = s.validator("val1").jailed_until_height;
    s.tx("alice")
        .act(delegate("val1", 5_000))
        .expect_failed(TxRejection::ValidatorJailed);
    s.tx("val1")
        .act(Action::Unjail)
        .expect_failed(TxRejection::JailNotOver);
    // A second equivocation while jailed extends the jail.
    s.slash("val1", 2).unwrap();
    let later = s.validator("val1").jailed_until_height;
    assert!(later > until);
    while s.height + 1 < later {
        s.empty_block();
    }
    s.tx("val1").act(Action::Unjail).expect_ok();
    assert_eq!(s.validator("val1").status, ValidatorStatus::Active);
    s.tx("alice").act(delegate("val1", 5_000)).expect_ok();
    // Eligible again at the next boundary (its bond, 2,000,000 less two 5 % cuts, is above
    // the minimum).
    s.to_epoch_end();
    assert_eq!(names(&s.active_set().1), vec![addr("val1")]);
}

#[test]
fn staking_rejections_are_numbered_named_and_say_what_to_do() {
    let expected = [
        (TxRejection::ValidatorExists, 35, "ValidatorExists"),
        (TxRejection::UnknownValidator, 36, "UnknownValidator"),
        (TxRejection::SelfBondBelowMin, 37, "SelfBondBelowMin"),
        (TxRejection::DelegationBelowMin, 38, "DelegationBelowMin"),
        (TxRejection::NotEnoughDelegated, 39, "NotEnoughDelegated"),
        (TxRejection::ValidatorJailed, 40, "ValidatorJailed"),
        (TxRejection::InvalidP2pAddress, 41, "InvalidP2pAddress"),
        (TxRejection::EvidenceAlreadyUsed, 42, "EvidenceAlreadyUsed"),
        (TxRejection::NotJailed, 43, "NotJailed"),
        (TxRejection::JailNotOver, 44, "JailNotOver"),
    ];
    for (r, code, name) in expected {
        assert_eq!(r.code(), code);
        assert_eq!(r.name(), name);
        assert_eq!(TxRejection::from_code(code), Some(r));
        assert!(!r.message().is_empty() && !r.hint().is_empty());
    }
}

#[test]
fn a_proposers_built_block_and_its_re_execution_write_the_same_staking_state() {
    use yun_state::{Overlay, build_block, execute_block};
    let mut s = chain(&["val1", "alice", "bob"]);
    s.genesis_validator("g", MIN_BOND)
        .genesis_validator("h", 2 * MIN_BOND);
    s.tx("val1")
        .act(register_validator("val1", MIN_BOND))
        .expect_ok();
    s.tx("alice").act(delegate("val1", 50_000)).expect_ok();
    s.to_epoch_end();
    let candidates = vec![
        s.tx("alice").fee(777).sign(undelegate("val1", 20_000)),
        s.tx("bob").fee(555).sign(delegate("g", 9_000)),
        // A bad nonce: left out by the proposer.
        s.tx("bob").nonce(9).sign(delegate("g", 9_000)),
        s.tx("val1").fee(333).sign(Action::Unjail),
    ];
    let mut draft = s.draft();
    draft.proposer = addr("h");
    let env = yun_state::next_env(
        &Overlay::new(&s.state),
        &draft,
        &yun_state::scenario::seed_signer_of("h"),
    );
    let mut proposer = Overlay::new(&s.state);
    let built = build_block(&mut proposer, &env, candidates).unwrap();
    assert_eq!(built.txs.len(), 3);
    assert_eq!(built.left_out.len(), 1);
    let mut verifier = Overlay::new(&s.state);
    execute_block(&mut verifier, &env, &built.txs).unwrap();
    assert_eq!(proposer.into_writes(), verifier.into_writes());
}

#[test]
fn reported_evidence_slashes_the_equivocator_once_and_forgeries_are_refused() {
    use commonware_cryptography::Signer as _;
    use yun_state::scenario::key_of;
    use yun_types::evidence::{Equivocation, EvidenceKind, sign_conflicting_notarize};
    let mut s = chain(&["alice"]);
    s.genesis_validator("v1", MIN_BOND)
        .genesis_validator("v2", MIN_BOND);
    let set = [key_of("v1").public_key(), key_of("v2").public_key()];
    let report = |evidence: Equivocation| Action::ReportEquivocation { evidence };
    let evidence = sign_conflicting_notarize(&key_of("v1"), &set, 0, 7).expect("v1 is a member");
    let burned_before = s.burned();

    // Built by a proposer and re-executed by a verifier, the block agrees (the scenario
    // checks both ways for every block): a slash by evidence once diverged here.
    s.tx("alice").act(report(evidence.clone())).expect_ok();
    let v = s.validator("v1");
    assert_eq!(
        v.slashed.base_units(),
        MIN_BOND / 20,
        "5 % of the self bond"
    );
    assert_eq!(v.status, ValidatorStatus::Jailed);
    assert!(
        s.burned() > burned_before + MIN_BOND / 20,
        "the slash and the fee's burned share"
    );
    assert!(staking::evidence_used(&s.state, &addr("v1"), 0, 7));

    // The same equivocation again: included, fee taken, nothing slashed.
    s.tx("alice")
        .act(report(evidence.clone()))
        .expect_failed(TxRejection::EvidenceAlreadyUsed);
    assert_eq!(s.validator("v1").slashed.base_units(), MIN_BOND / 20);

    // Signed by a key outside the consensus set, malformed, or tampered with: invalid.
    let mallory = key_of("mallory");
    let outsider = sign_conflicting_notarize(
        &mallory,
        &[set[0].clone(), set[1].clone(), mallory.public_key()],
        0,
        8,
    )
    .expect("mallory signs in its own set");
    let garbage = Equivocation {
        kind: EvidenceKind::ConflictingNotarize,
        bytes: vec![1, 2, 3],
    };
    let mut tampered =
        sign_conflicting_notarize(&key_of("v2"), &set, 0, 9).expect("v2 is a member");
    let last = tampered.bytes.len() - 1;
    tampered.bytes[last] ^= 1;
    let mut wrong_kind = sign_conflicting_notarize(&key_of("v2"), &set, 0, 9).expect("member");
    wrong_kind.kind = EvidenceKind::ConflictingFinalize;
    for bad in [outsider, garbage, tampered, wrong_kind] {
        s.tx("alice")
            .act(report(bad))
            .expect_failed(TxRejection::EvidenceInvalid);
    }
    assert_eq!(s.validator("v2").slashed, Amount::ZERO);
}

#[test]
fn evidence_is_checked_against_the_set_of_its_own_epoch_while_that_set_is_kept() {
    use commonware_cryptography::Signer as _;
    use yun_state::scenario::key_of;
    use yun_types::evidence::sign_conflicting_notarize;
    let mut s = chain(&["alice", "v3"]);
    s.genesis_validator("v1", MIN_BOND)
        .genesis_validator("v2", MIN_BOND);
    let report = |evidence| Action::ReportEquivocation { evidence };
    // v3 joins: from epoch 1 on, consensus signs with {v1, v2, v3}.
    s.tx("v3")
        .act(register_validator("v3", 2 * MIN_BOND))
        .expect_ok();
    s.to_epoch_end().empty_block();
    assert_eq!(s.active_set().0, 1);
    let epoch1 = [
        key_of("v1").public_key(),
        key_of("v2").public_key(),
        key_of("v3").public_key(),
    ];
    let epoch0 = [key_of("v1").public_key(), key_of("v2").public_key()];

    // v3 signed nothing in epoch 0: a pair claiming that epoch does not verify.
    let claimed_early =
        sign_conflicting_notarize(&key_of("v3"), &epoch1, 0, 3).expect("v3 is a member");
    s.tx("alice")
        .act(report(claimed_early))
        .expect_failed(TxRejection::EvidenceInvalid);
    // In epoch 1 it was a member: slashed.
    let in_epoch1 = sign_conflicting_notarize(&key_of("v3"), &epoch1, 1, 3).expect("member");
    s.tx("alice").act(report(in_epoch1)).expect_ok();
    assert!(!s.validator("v3").slashed.is_zero());
    assert!(staking::evidence_used(&s.state, &addr("v3"), 1, 3));

    // Views restart every epoch: the same view in two epochs is two equivocations.
    for epoch in [0, 1] {
        let set: &[_] = if epoch == 0 { &epoch0 } else { &epoch1 };
        let pair = sign_conflicting_notarize(&key_of("v1"), set, epoch, 9).expect("member");
        s.tx("alice").act(report(pair)).expect_ok();
    }
    assert!(staking::evidence_used(&s.state, &addr("v1"), 0, 9));
    assert!(staking::evidence_used(&s.state, &addr("v1"), 1, 9));

    // Once epoch 1's set has left the kept window, its evidence no longer verifies.
    for _ in 0..staking::EVIDENCE_EPOCHS_KEPT {
        s.to_epoch_end().empty_block();
    }
    let late = sign_conflicting_notarize(&key_of("v2"), &epoch1, 1, 4).expect("member");
    s.tx("alice")
        .act(report(late))
        .expect_failed(TxRejection::EvidenceInvalid);
    assert_eq!(s.validator("v2").slashed, Amount::ZERO);
}
