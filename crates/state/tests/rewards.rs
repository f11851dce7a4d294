//! Block rewards as stories: each block issues by the schedule (halving, then the cap), the
//! treasury takes its share, the active validators the rest by stake less the providers'
//! pool; a validator keeps its commission and its self bond's share, and its delegators' share
//! is compounded into their delegations at the epoch's end, by what each held throughout the
//! epoch. Every block also checks that the supply's holdings equal genesis plus minted.

use yun_state::arith::{bps_of, mul_div_floor_wide};
use yun_state::scenario::Scenario;
use yun_state::scenario_rewards::set_commission;
use yun_state::scenario_staking::delegate;
use yun_state::staking;
use yun_types::{Amount, TxRejection};

const EPOCH: u64 = 10;
const BOND: u128 = 3_000_000;
const ISSUANCE: u128 = 10_000;
/// What the validators hold in their balances at genesis (for fees).
const FUNDS: u128 = 1_000;

/// Two genesis validators, `a` with three times `b`'s bond; each block issues `ISSUANCE`,
/// 10 % to the treasury and 30 % to the provider pool; alice and bob are funded.
fn chain() -> Scenario {
    let mut s = Scenario::new();
    s.params.staking.epoch_blocks = EPOCH;
    s.params.staking.unbonding_blocks = staking::EVIDENCE_EPOCHS_KEPT * EPOCH;
    s.params.rewards.issuance_per_block = Amount::new(ISSUANCE);
    s.params.rewards.issuance_max_total = Amount::new(u128::from(u64::MAX));
    s.params.rewards.treasury_bps = 1_000;
    s.params.rewards.provider_bps = 3_000;
    s.genesis_validator("a", BOND);
    s.genesis_validator("b", BOND / 3);
    s.fund("a", FUNDS);
    s.fund("b", FUNDS);
    s.fund("alice", 1_000_000_000);
    s.fund("bob", 1_000_000_000);
    s
}

/// Every issued unit is accounted for: minted to the treasury, validators, delegators or
/// providers, waiting in the provider pool, or owed to delegators; and only rewards mint.
fn assert_issuance_accounted(s: &mut Scenario) {
    let r = s.rewards();
    let owed: u128 = staking::validators(&s.state)
        .iter()
        .map(|v| v.delegator_rewards_owed.base_units())
        .sum();
    let paid = r.to_treasury.base_units()
        + r.to_validators.base_units()
        + r.to_delegators.base_units()
        + r.to_providers.base_units();
    assert_eq!(
        r.issued.base_units(),
        paid + r.provider_pool.base_units() + owed
    );
    assert_eq!(s.minted(), paid, "minted is what was paid, no more");
}

#[test]
fn a_block_issues_to_the_treasury_the_pool_and_the_validators_by_stake() {
    let mut s = chain();
    s.empty_block();
    let treasury = ISSUANCE / 10;
    let pool = ISSUANCE * 3 / 10;
    let validators = ISSUANCE - treasury - pool;
    assert_eq!(s.treasury(), treasury);
    assert_eq!(s.rewards().provider_pool.base_units(), pool);
    // No delegators and no commission: each validator's share is all its own, 3 : 1.
    assert_eq!(s.balance("a") - FUNDS, validators * 3 / 4);
    assert_eq!(s.balance("b") - FUNDS, validators / 4);
    assert_eq!(
        s.validator("a").rewards_earned.base_units(),
        validators * 3 / 4
    );
    assert_eq!(s.minted(), ISSUANCE - pool);
    assert_issuance_accounted(&mut s);
}

#[test]
fn issuance_halves_each_period_and_stops_at_the_cap() {
    let mut s = chain();
    s.params.rewards.halving_blocks = 4;
    s.params.rewards.issuance_max_total = Amount::new(ISSUANCE * 5);
    // Heights 1–3 issue the whole amount, 4–7 half of it: the fifth unit of cap is reached
    // at height 7 exactly.
    s.blocks(3);
    assert_eq!(s.rewards().issued.base_units(), ISSUANCE * 3);
    s.blocks(4);
    assert_eq!(s.rewards().issued.base_units(), ISSUANCE * 5);
    let minted = s.minted();
    s.blocks(5);
    assert_eq!(s.rewards().issued.base_units(), ISSUANCE * 5, "capped");
    assert_eq!(s.minted(), minted, "nothing minted past the cap");
    assert_issuance_accounted(&mut s);
}

#[test]
fn the_block_that_reaches_the_cap_issues_only_the_rest() {
    let mut s = chain();
    s.params.rewards.issuance_max_total = Amount::new(ISSUANCE * 2 + 7);
    s.blocks(3);
    assert_eq!(s.rewards().issued.base_units(), ISSUANCE * 2 + 7);
    s.blocks(2);
    assert_eq!(s.rewards().issued.base_units(), ISSUANCE * 2 + 7);
}

#[test]
fn a_chain_without_issuance_mints_nothing() {
    let mut s = chain();
    s.params.rewards.issuance_per_block = Amount::ZERO;
    s.params.rewards.issuance_max_total = Amount::ZERO;
    s.blocks(EPOCH * 2);
    assert_eq!(s.minted(), 0);
    assert_eq!(s.treasury(), 0);
    assert_eq!(s.balance("a"), FUNDS);
}

#[test]
fn commission_and_the_self_bond_share_go_to_the_validator_and_delegators_compound() {
    let mut s = chain();
    s.params.rewards.treasury_bps = 0;
    s.params.rewards.provider_bps = 0;
    s.genesis_validator("c", 0);
    s.tx("a").act(set_commission(1_000)).expect_ok();
    s.tx("alice").act(delegate("a", BOND)).expect_ok();
    // Alice delegated during epoch 0: she earns from epoch 1 on; epoch 0's owed delegator
    // rewards (from the block of her delegation on) go to the treasury.
    s.to_epoch_end();
    assert_eq!(s.validator("a").delegator_rewards_owed, Amount::ZERO);
    assert!(s.treasury() > 0, "epoch 0's delegator share had no earner");
    assert_eq!(s.delegated("alice", "a"), BOND);

    // Epoch 1: a's stake in the set is 2 × BOND, b's BOND / 3 (chosen at epoch 0's end).
    let (_, set) = s.active_set();
    let total: u128 = set.iter().map(|(_, st)| st).sum();
    let share_a = mul_div_floor_wide(ISSUANCE, 2 * BOND, total);
    let (a_before, treasury_before) = (s.balance("a"), s.treasury());
    let mut owed = 0u128;
    let mut own = 0u128;
    for _ in 0..EPOCH {
        let v = s.validator("a");
        let commission = bps_of(Amount::new(share_a), 1_000).base_units();
        let rest = share_a - commission;
        let self_part = mul_div_floor_wide(rest, v.self_bond.base_units(), v.stake().base_units());
        own += commission + self_part;
        owed += rest - self_part;
        s.empty_block();
    }
    assert_eq!(s.balance("a") - a_before, own);
    // Alice is a's only delegator: she gets all that was owed, bonded.
    assert_eq!(s.delegated("alice", "a"), BOND + owed);
    let d = staking::delegations_of(&s.state, &yun_state::scenario::addr("alice"));
    assert_eq!(d[0].1.rewards_earned.base_units(), owed);
    assert_eq!(s.validator("a").delegated.base_units(), BOND + owed);
    assert_eq!(
        s.balance("alice"),
        1_000_000_000 - BOND - 10,
        "compounded, not paid out"
    );
    // The floors of the validators' split are the only dust; it went to the treasury.
    let dust = s.treasury() - treasury_before;
    assert!(dust < u128::from(EPOCH) * 2, "dust {dust}");
    assert_issuance_accounted(&mut s);
}

#[test]
fn a_delegation_made_at_an_epochs_end_earns_nothing_for_that_epoch() {
    let mut s = chain();
    s.tx("alice").act(delegate("a", BOND)).expect_ok();
    s.to_epoch_end();
    // Epoch 1: alice holds all epoch; bob joins in its last block.
    s.blocks(EPOCH - 1);
    s.tx("bob").act(delegate("a", BOND)).expect_ok();
    assert_eq!(
        s.height % EPOCH,
        EPOCH - 1,
        "bob's block was the epoch's last"
    );
    let earned = |s: &mut Scenario, who: &str| s.delegated(who, "a") - BOND;
    assert!(earned(&mut s, "alice") > 0);
    assert_eq!(earned(&mut s, "bob"), 0);
    // In epoch 2 both held throughout, the same amount: they earn alike (alice a little
    // more, as her compounded rewards earn too).
    let (alice, bob) = (earned(&mut s, "alice"), earned(&mut s, "bob"));
    s.empty_block().to_epoch_end();
    let (alice2, bob2) = (earned(&mut s, "alice") - alice, earned(&mut s, "bob") - bob);
    assert!(
        bob2 > 0 && alice2 >= bob2 && alice2 - bob2 <= alice2 / 100 + 1,
        "alice {alice2} bob {bob2}"
    );
    assert_issuance_accounted(&mut s);
}

#[test]
fn an_undelegation_during_the_epoch_earns_on_what_stayed() {
    let mut s = chain();
    s.tx("alice").act(delegate("a", BOND)).expect_ok();
    s.tx("bob").act(delegate("a", BOND)).expect_ok();
    s.to_epoch_end();
    s.tx("bob")
        .act(yun_state::scenario_staking::undelegate("a", BOND / 2))
        .expect_ok();
    s.to_epoch_end();
    let alice = s.delegated("alice", "a") - BOND;
    let bob = s.delegated("bob", "a") - BOND / 2;
    // Bob's weight was half of alice's for the whole epoch.
    assert!(alice > 0);
    assert!(
        bob * 2 <= alice && bob * 2 + 2 >= alice,
        "alice {alice} bob {bob}"
    );
}

#[test]
fn commission_is_capped_and_raised_slowly_once_there_are_delegators() {
    let mut s = chain();
    let max = s.params.rewards.commission_max_bps;
    let step = s.params.rewards.commission_raise_max_bps;
    s.tx("a")
        .act(set_commission(max + 1))
        .expect_failed(TxRejection::CommissionAboveMax);
    s.tx("alice")
        .act(set_commission(10))
        .expect_failed(TxRejection::UnknownValidator);
    // No delegators yet: any rate up to the cap.
    s.tx("a").act(set_commission(max / 2)).expect_ok();
    s.tx("alice").act(delegate("a", BOND)).expect_ok();
    s.to_epoch_end();
    s.tx("a")
        .act(set_commission(max / 2 + step + 1))
        .expect_failed(TxRejection::CommissionRaiseTooLarge);
    s.tx("a").act(set_commission(max / 2 + step)).expect_ok();
    s.tx("a")
        .act(set_commission(max / 2 + step + 1))
        .expect_failed(TxRejection::CommissionRaiseTooSoon);
    // Lowering is never limited.
    s.tx("a").act(set_commission(0)).expect_ok();
    s.to_epoch_end();
    s.tx("a").act(set_commission(step)).expect_ok();
    assert_eq!(s.validator("a").commission_bps, step);
}

#[test]
fn a_jailed_validator_earns_no_issuance_and_its_share_goes_to_the_others() {
    let mut s = chain();
    s.params.rewards.treasury_bps = 0;
    s.params.rewards.provider_bps = 0;
    s.to_epoch_end();
    s.slash("b", 1).unwrap();
    let b = s.balance("b");
    let a = s.balance("a");
    s.empty_block();
    assert_eq!(s.balance("b"), b);
    assert_eq!(s.balance("a") - a, ISSUANCE);
}
