//! A report of equivocation may pay no fee, so reporting does not depend on the reporter's
//! balance; such a report is admitted and included only if it slashes (valid evidence
//! against a known validator, not punished yet), so it cannot be used as free spam.

use commonware_cryptography::Signer as _;
use yun_state::check_admission;
use yun_state::scenario::{SCENARIO_CHAIN_ID, Scenario, addr, key_of};
use yun_state::staking;
use yun_types::evidence::{Equivocation, EvidenceKind, sign_conflicting_notarize};
use yun_types::{Action, Amount, SignedTx, TxRejection};

const MIN_BOND: u128 = 1_000_000;

fn report(evidence: Equivocation) -> Action {
    Action::ReportEquivocation { evidence }
}

/// Two genesis validators, v1 and v2, and alice with funds; "nobody" has none.
fn chain() -> Scenario {
    let mut s = Scenario::new();
    s.fund("alice", 1_000_000_000);
    s.genesis_validator("v1", MIN_BOND)
        .genesis_validator("v2", MIN_BOND);
    s
}

fn pair(who: &str, view: u64) -> Equivocation {
    let set = [key_of("v1").public_key(), key_of("v2").public_key()];
    sign_conflicting_notarize(&key_of(who), &set, 0, view).expect("a member")
}

/// Whether a mempool on the current state would admit `stx`, `name`'s next one.
fn admits(s: &mut Scenario, name: &str, stx: &SignedTx) -> Result<(), TxRejection> {
    let nonce = s.nonce(name);
    check_admission(
        &s.state,
        SCENARIO_CHAIN_ID,
        s.height + 1,
        stx,
        nonce,
        Amount::ZERO,
    )
}

#[test]
fn an_unfunded_account_reports_an_equivocation_with_no_fee_and_it_is_slashed() {
    let mut s = chain();
    let burned_before = s.burned();
    let stx = s.tx("nobody").fee(0).sign(report(pair("v1", 7)));
    assert_eq!(
        admits(&mut s, "nobody", &stx),
        Ok(()),
        "verified evidence is admitted free"
    );
    let receipt = s.tx("nobody").fee(0).act(report(pair("v1", 7))).expect_ok();
    assert_eq!(receipt.fee_paid, Amount::ZERO);
    assert_eq!(s.validator("v1").slashed.base_units(), MIN_BOND / 20);
    assert_eq!(s.burned(), burned_before + MIN_BOND / 20, "only the slash");
    assert_eq!(s.balance("nobody"), 0);
    assert!(staking::evidence_used(&s.state, &addr("v1"), 0, 7));
}

#[test]
fn a_free_report_that_would_not_slash_is_neither_admitted_nor_includable() {
    let mut s = chain();
    s.tx("nobody").fee(0).act(report(pair("v1", 7))).expect_ok();
    let garbage = Equivocation {
        kind: EvidenceKind::ConflictingNotarize,
        bytes: vec![1, 2, 3],
    };
    let outsider = {
        let set = [
            key_of("v1").public_key(),
            key_of("v2").public_key(),
            key_of("mallory").public_key(),
        ];
        sign_conflicting_notarize(&key_of("mallory"), &set, 0, 8).expect("in its own set")
    };
    let cases = [
        (pair("v1", 7), TxRejection::EvidenceAlreadyUsed),
        (garbage, TxRejection::EvidenceInvalid),
        (outsider, TxRejection::EvidenceInvalid),
    ];
    for (evidence, reason) in cases {
        let stx = s.tx("nobody").fee(0).sign(report(evidence.clone()));
        assert_eq!(admits(&mut s, "nobody", &stx), Err(reason), "{reason:?}");
        // A proposer that included it anyway would make its block invalid.
        s.tx("nobody")
            .fee(0)
            .act(report(evidence))
            .expect_rejected(reason);
    }
    // Paying a fee, a report that does not slash is an ordinary failed transaction.
    s.tx("alice")
        .act(report(pair("v1", 7)))
        .expect_failed(TxRejection::EvidenceAlreadyUsed);
    // Only reports go free: any other action still needs the minimum fee.
    let transfer = s.tx("alice").fee(0).sign(Action::Transfer {
        to: addr("bob"),
        amount: Amount::new(1),
    });
    assert_eq!(
        admits(&mut s, "alice", &transfer),
        Err(TxRejection::FeeTooLow)
    );
    s.tx("alice")
        .fee(0)
        .transfer("bob", 1)
        .expect_rejected(TxRejection::FeeTooLow);
    assert_eq!(s.validator("v2").slashed, Amount::ZERO);
}
