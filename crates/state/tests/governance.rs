//! Vote-escrowed governance, each path as a short story: accounts lock tokens for voting
//! power that decays to zero at the lock's end, a proposal locks a deposit, votes (changeable
//! until the end) are weighed at the tally, a passed change takes effect from its stated
//! height through the checks genesis uses, a veto burns the deposit; and every refusal with
//! its number. Every block also checks that the books balance with locks and deposits.

use yun_state::governance::{ProposalStatus, lock_weight, stake_weight};
use yun_state::scenario::{Scenario, addr};
use yun_state::scenario_governance::{
    lock, param_change, propose, text, treasury_spend, unlock, vote,
};
use yun_state::scenario_staking::{delegate, register_validator};
use yun_types::governance::{ProposalKind, VoteChoice};
use yun_types::{Action, Amount, TxRejection};

const RICH: u128 = 1_000_000_000;
const DEPOSIT: u128 = 5_000;
/// Voting lasts this many blocks after the proposing block.
const VOTING: u64 = 10;
const LOCK_MAX: u64 = 1_000;

/// A chain with 10-block voting, a 5,000 deposit, 1,000-block locks at most; `names` funded.
fn chain(names: &[&str]) -> Scenario {
    let mut s = Scenario::new();
    s.params.governance.voting_period_blocks = VOTING;
    s.params.governance.deposit_min = Amount::new(DEPOSIT);
    s.params.governance.lock_blocks_max = LOCK_MAX;
    s.params.governance.open_proposals_max = 3;
    for n in names {
        s.fund(n, RICH);
    }
    s
}

/// What the next proposal's voting end is when proposed in the next block.
fn voting_end(s: &Scenario) -> u64 {
    s.height + 1 + VOTING
}

#[test]
fn a_passed_parameter_change_takes_effect_from_its_stated_height() {
    let mut s = chain(&["alice", "bob"]);
    s.tx("alice").act(lock(100_000, 800)).expect_ok();
    assert_eq!(s.balance("alice"), RICH - 100_000 - 10);
    let end = voting_end(&s);
    let apply_at = end + 5;
    let before = s.balance("bob");
    s.tx("bob")
        .act(propose(
            param_change(&[("market.price_step_divisor", "16")]),
            DEPOSIT,
            apply_at,
        ))
        .expect_ok();
    assert_eq!(s.balance("bob"), before - DEPOSIT - 10);
    let p = s.proposal(1);
    assert_eq!(
        (p.status, p.voting_end_height),
        (ProposalStatus::Voting, end)
    );
    s.tx("alice").act(vote(1, VoteChoice::Yes)).expect_ok();
    s.to_height(end);
    let p = s.proposal(1);
    assert_eq!(p.status, ProposalStatus::Passed);
    let expected = lock_weight(Amount::new(100_000), 800, end, &s.params);
    assert_eq!(p.tally.unwrap().yes, expected);
    assert_eq!(
        s.balance("bob"),
        before - 10,
        "the deposit came back at the tally"
    );
    s.to_height(apply_at - 2);
    assert_eq!(s.view().params().market.price_step_divisor, 8);
    s.to_height(apply_at - 1);
    assert_eq!(
        s.view().params().market.price_step_divisor,
        16,
        "written at the end of the block before, so block {apply_at} runs under it"
    );
    assert_eq!(s.proposal(1).status, ProposalStatus::Applied);
    let mut unchanged = s.view().params();
    unchanged.market.price_step_divisor = 8;
    assert_eq!(unchanged, s.params, "nothing else changed");
}

#[test]
fn a_veto_burns_the_deposit() {
    let mut s = chain(&["alice", "bob", "carol"]);
    s.tx("alice").act(lock(60_000, 900)).expect_ok();
    s.tx("bob").act(lock(50_000, 900)).expect_ok();
    let end = voting_end(&s);
    s.tx("carol")
        .act(propose(text("pay carol forever"), DEPOSIT, end + 1))
        .expect_ok();
    s.tx("alice").act(vote(1, VoteChoice::Yes)).expect_ok();
    s.tx("bob").act(vote(1, VoteChoice::Veto)).expect_ok();
    let burned = s.burned();
    let carol = s.balance("carol");
    s.to_height(end);
    let p = s.proposal(1);
    assert_eq!(p.status, ProposalStatus::Vetoed);
    assert_eq!(p.deposit_held, Amount::ZERO);
    assert_eq!(
        s.burned(),
        burned + DEPOSIT,
        "the deposit burned (the blocks were empty)"
    );
    assert_eq!(s.balance("carol"), carol, "and not refunded");
}

#[test]
fn a_lock_weighs_less_as_it_nears_its_end_and_unlocks_only_after_it() {
    let mut s = chain(&["alice"]);
    s.tx("alice").act(lock(10_000, 21)).expect_ok();
    let early = s.power("alice").lock_weight;
    assert_eq!(
        early,
        lock_weight(Amount::new(10_000), 21, s.height, &s.params)
    );
    s.blocks(5);
    let later = s.power("alice").lock_weight;
    assert!(later < early, "{later:?} < {early:?}");
    s.tx("alice")
        .act(unlock())
        .expect_failed(TxRejection::LockNotExpired);
    s.tx("alice")
        .act(Action::Transfer {
            to: addr("bob"),
            amount: Amount::new(RICH - 10_000),
        })
        .expect_failed(TxRejection::InsufficientBalance);
    s.to_height(20);
    let balance = s.balance("alice");
    s.tx("alice").act(unlock()).expect_ok();
    assert_eq!(s.power("alice").lock_weight, Amount::ZERO);
    assert_eq!(s.balance("alice"), balance + 10_000 - 10);
    assert!(s.lock_of("alice").is_none());
    s.tx("alice")
        .act(unlock())
        .expect_failed(TxRejection::NoLock);
}

#[test]
fn locks_grow_and_lengthen_but_never_shorten() {
    let mut s = chain(&["alice"]);
    s.tx("alice")
        .act(lock(0, 100))
        .expect_failed(TxRejection::LockInvalid);
    let h = s.height;
    s.tx("alice")
        .act(lock(5, h + 1))
        .expect_failed(TxRejection::LockInvalid);
    let h = s.height;
    s.tx("alice")
        .act(lock(5, h + 1 + LOCK_MAX + 1))
        .expect_failed(TxRejection::LockInvalid);
    s.tx("alice").act(lock(5, 100)).expect_ok();
    s.tx("alice")
        .act(lock(5, 99))
        .expect_failed(TxRejection::LockInvalid);
    s.tx("alice").act(lock(0, 200)).expect_ok();
    s.tx("alice").act(lock(7, 200)).expect_ok();
    let l = s.lock_of("alice").unwrap();
    assert_eq!((l.amount.base_units(), l.until_height), (12, 200));
}

#[test]
fn a_changed_vote_replaces_the_earlier_one() {
    let mut s = chain(&["alice", "bob"]);
    s.tx("alice").act(lock(100_000, 900)).expect_ok();
    let end = voting_end(&s);
    s.tx("bob")
        .act(propose(text("hello"), DEPOSIT, end + 1))
        .expect_ok();
    s.tx("alice").act(vote(1, VoteChoice::Yes)).expect_ok();
    s.tx("alice").act(vote(1, VoteChoice::No)).expect_ok();
    s.tx("alice").act(vote(1, VoteChoice::No)).expect_ok();
    s.to_height(end);
    let p = s.proposal(1);
    let t = p.tally.unwrap();
    assert_eq!(t.yes, Amount::ZERO);
    assert_eq!(t.no, lock_weight(Amount::new(100_000), 900, end, &s.params));
    assert_eq!(p.status, ProposalStatus::Rejected);
    assert!(
        yun_state::governance::votes(&s.state, 1).is_empty(),
        "votes deleted at the tally"
    );
}

#[test]
fn bonded_stake_votes_with_its_unbonding_period_as_its_lock() {
    let mut s = chain(&["val1", "dave", "bob"]);
    s.params.staking.unbonding_blocks = 800;
    s.tx("val1")
        .act(register_validator("val1", 1_000_000))
        .expect_ok();
    s.tx("dave").act(delegate("val1", 40_000)).expect_ok();
    let end = voting_end(&s);
    s.tx("bob")
        .act(propose(text("stake speaks"), DEPOSIT, end + 1))
        .expect_ok();
    s.tx("dave").act(vote(1, VoteChoice::Yes)).expect_ok();
    s.tx("val1").act(vote(1, VoteChoice::No)).expect_ok();
    s.to_height(end);
    let t = s.proposal(1).tally.unwrap();
    assert_eq!(t.yes, stake_weight(Amount::new(40_000), &s.params));
    assert_eq!(t.no, stake_weight(Amount::new(1_000_000), &s.params));
    assert_eq!(s.proposal(1).status, ProposalStatus::Rejected);
}

#[test]
fn below_the_quorum_a_proposal_fails_and_its_deposit_returns() {
    let mut s = chain(&["alice", "bob"]);
    s.tx("alice").act(lock(1_000, 900)).expect_ok();
    s.tx("bob").act(lock(100_000, 900)).expect_ok();
    let end = voting_end(&s);
    let before = s.balance("alice");
    s.tx("alice")
        .act(propose(text("few care"), DEPOSIT, end + 1))
        .expect_ok();
    s.tx("alice").act(vote(1, VoteChoice::Yes)).expect_ok();
    s.to_height(end);
    assert_eq!(s.proposal(1).status, ProposalStatus::Rejected);
    assert_eq!(s.balance("alice"), before - 20);
}

#[test]
fn a_treasury_spend_pays_at_its_height() {
    let mut s = chain(&["alice", "bob"]);
    s.fund_treasury(50_000);
    s.tx("alice").act(lock(100_000, 900)).expect_ok();
    let end = voting_end(&s);
    s.tx("alice")
        .act(propose(treasury_spend("bob", 50_001), DEPOSIT, end + 3))
        .expect_failed(TxRejection::TreasuryInsufficient);
    let end = voting_end(&s);
    s.tx("alice")
        .act(propose(treasury_spend("bob", 20_000), DEPOSIT, end + 3))
        .expect_ok();
    s.tx("alice").act(vote(1, VoteChoice::Yes)).expect_ok();
    let bob = s.balance("bob");
    s.to_height(end + 1);
    assert_eq!(s.balance("bob"), bob);
    s.to_height(end + 2);
    assert_eq!(s.balance("bob"), bob + 20_000);
    assert_eq!(s.treasury(), 30_000);
    assert_eq!(s.proposal(1).status, ProposalStatus::Applied);
}

#[test]
fn changes_to_different_fields_both_apply_and_one_that_no_longer_validates_fails() {
    let mut s = chain(&["alice", "bob"]);
    s.tx("alice").act(lock(100_000, 900)).expect_ok();
    // Both valid alone; the window of 90 no longer fits 80-block epochs.
    let end1 = voting_end(&s);
    s.tx("bob")
        .act(propose(
            param_change(&[("storage.proof_window_blocks", "90")]),
            DEPOSIT,
            end1 + 1,
        ))
        .expect_ok();
    let end2 = voting_end(&s);
    s.tx("bob")
        .act(propose(
            param_change(&[("storage.epoch_blocks", "80")]),
            DEPOSIT,
            end2 + 2,
        ))
        .expect_ok();
    let end3 = voting_end(&s);
    s.tx("bob")
        .act(propose(
            param_change(&[("min_fee", "9")]),
            DEPOSIT,
            end3 + 3,
        ))
        .expect_ok();
    for id in 1..=3 {
        s.tx("alice").act(vote(id, VoteChoice::Yes)).expect_ok();
    }
    let bob = s.balance("bob");
    s.to_height(end3 + 3);
    let params = s.view().params();
    assert_eq!(params.storage.proof_window_blocks, 90);
    assert_eq!(params.storage.epoch_blocks, s.params.storage.epoch_blocks);
    assert_eq!(params.min_fee.base_units(), 9);
    assert_eq!(s.proposal(1).status, ProposalStatus::Applied);
    assert_eq!(s.proposal(2).status, ProposalStatus::ApplyFailed);
    assert_eq!(s.proposal(3).status, ProposalStatus::Applied);
    assert_eq!(
        s.balance("bob"),
        bob + 3 * DEPOSIT,
        "deposits refunded, the failed one too"
    );
}

#[test]
fn a_passed_software_upgrade_is_scheduled() {
    let mut s = chain(&["alice"]);
    s.tx("alice").act(lock(100_000, 900)).expect_ok();
    let end = voting_end(&s);
    let kind = ProposalKind::SoftwareUpgrade {
        name: "yun 0.2".into(),
    };
    s.tx("alice")
        .act(propose(kind, DEPOSIT, end + 50))
        .expect_ok();
    s.tx("alice").act(vote(1, VoteChoice::Yes)).expect_ok();
    s.to_height(end);
    let plan = yun_state::governance::gov_state(&s.state).upgrade.unwrap();
    assert_eq!(
        (plan.name.as_str(), plan.height, plan.proposal),
        ("yun 0.2", end + 50, 1)
    );
}

#[test]
fn each_refusal_has_its_number() {
    let mut s = chain(&["alice", "bob", "nobody"]);
    s.tx("alice").act(lock(100_000, 900)).expect_ok();
    let end = voting_end(&s);
    let ok = |s: &Scenario| voting_end(s) + 1;
    s.tx("bob")
        .act(propose(text("t"), DEPOSIT - 1, end + 1))
        .expect_failed(TxRejection::DepositTooLow);
    let at = ok(&s);
    s.tx("bob")
        .act(propose(text("t"), 0, at))
        .expect_failed(TxRejection::DepositTooLow);
    let at = ok(&s) - 1;
    s.tx("bob")
        .act(propose(text("t"), DEPOSIT, at))
        .expect_failed(TxRejection::ProposalInvalid);
    let at = ok(&s);
    s.tx("bob")
        .act(propose(text("  "), DEPOSIT, at))
        .expect_failed(TxRejection::ProposalInvalid);
    let at = ok(&s);
    s.tx("bob")
        .act(propose(
            param_change(&[("market.price_step_divisor", "0.5")]),
            DEPOSIT,
            at,
        ))
        .expect_failed(TxRejection::ParamChangeInvalid);
    let at = ok(&s);
    s.tx("bob")
        .act(propose(
            param_change(&[("staking.epoch_blocks", "1")]),
            DEPOSIT,
            at,
        ))
        .expect_failed(TxRejection::ParamChangeInvalid);
    let at = ok(&s);
    s.tx("bob")
        .act(propose(param_change(&[("no.such", "1")]), DEPOSIT, at))
        .expect_failed(TxRejection::ParamChangeInvalid);
    let at = ok(&s);
    s.tx("bob")
        .act(propose(param_change(&[]), DEPOSIT, at))
        .expect_rejected(TxRejection::ProposalInvalid);
    s.tx("alice")
        .act(vote(7, VoteChoice::Yes))
        .expect_failed(TxRejection::UnknownProposal);
    for _ in 0..3 {
        let at = ok(&s);
        s.tx("bob").act(propose(text("t"), DEPOSIT, at)).expect_ok();
    }
    let at = ok(&s);
    s.tx("bob")
        .act(propose(text("t"), DEPOSIT, at))
        .expect_failed(TxRejection::ProposalLimitReached);
    s.tx("nobody")
        .act(vote(1, VoteChoice::Yes))
        .expect_failed(TxRejection::NoVotingPower);
    let end = s.proposal(1).voting_end_height;
    s.to_height(end);
    s.tx("alice")
        .act(vote(1, VoteChoice::Yes))
        .expect_failed(TxRejection::VotingClosed);
}
