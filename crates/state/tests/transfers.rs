//! Transfers, fees and inclusion rules, as scenarios.

use yun_state::BlockError;
use yun_state::scenario::{Scenario, addr};
use yun_types::TxRejection;

#[test]
fn transfer_moves_amount_and_charges_fee() {
    let mut s = Scenario::new();
    s.fund("alice", 1_000);
    s.tx("alice").transfer("bob", 300).expect_ok();
    assert_eq!(s.balance("alice"), 1_000 - 300 - 10);
    assert_eq!(s.balance("bob"), 300);
    // Half the fee of 10 is burned, half goes to the proposer.
    assert_eq!(s.burned(), 5);
    assert_eq!(s.balance("validator"), 5);
    assert_eq!(s.nonce("alice"), 1);
}

#[test]
fn unaffordable_fee_is_not_includable() {
    let mut s = Scenario::new();
    s.fund("alice", 5);
    s.tx("alice")
        .transfer("bob", 1)
        .expect_rejected(TxRejection::InsufficientBalance);
    assert_eq!(s.balance("alice"), 5);
    assert_eq!(s.nonce("alice"), 0);
}

#[test]
fn unaffordable_amount_fails_but_pays_fee() {
    let mut s = Scenario::new();
    s.fund("alice", 100);
    s.tx("alice")
        .transfer("bob", 500)
        .expect_failed(TxRejection::InsufficientBalance);
    assert_eq!(s.balance("alice"), 90);
    assert_eq!(s.balance("bob"), 0);
    assert_eq!(s.nonce("alice"), 1);
}

#[test]
fn replayed_and_future_nonces_are_rejected() {
    let mut s = Scenario::new();
    s.fund("alice", 1_000);
    s.tx("alice").transfer("bob", 1).expect_ok();
    s.tx("alice")
        .nonce(0)
        .transfer("bob", 1)
        .expect_rejected(TxRejection::BadNonce);
    s.tx("alice")
        .nonce(5)
        .transfer("bob", 1)
        .expect_rejected(TxRejection::BadNonce);
    s.tx("alice").nonce(1).transfer("bob", 1).expect_ok();
}

#[test]
fn wrong_chain_expired_low_fee_and_zero_amount_are_rejected() {
    let mut s = Scenario::new();
    s.fund("alice", 1_000);
    s.tx("alice")
        .chain("other-chain")
        .transfer("bob", 1)
        .expect_rejected(TxRejection::WrongChain);
    s.tx("alice").transfer("bob", 1).expect_ok(); // height 1
    s.tx("alice")
        .expires_at(1)
        .transfer("bob", 1)
        .expect_rejected(TxRejection::Expired);
    s.tx("alice")
        .fee(9)
        .transfer("bob", 1)
        .expect_rejected(TxRejection::FeeTooLow);
    s.tx("alice")
        .transfer("bob", 0)
        .expect_rejected(TxRejection::ZeroAmount);
    s.tx("alice")
        .expires_at(10_000_000)
        .transfer("bob", 1)
        .expect_rejected(TxRejection::ExpiryTooFar);
}

#[test]
fn a_block_with_one_bad_transaction_is_invalid_as_a_whole() {
    let mut s = Scenario::new();
    s.fund("alice", 1_000).fund("carol", 1_000);
    let good = s.tx("alice").sign_transfer("bob", 1);
    let bad = s.tx("carol").nonce(7).sign_transfer("bob", 1);
    let err = s.block(&[good, bad]).unwrap_err();
    assert_eq!(
        err,
        BlockError::Tx {
            index: 1,
            reason: TxRejection::BadNonce
        }
    );
    // Nothing of the invalid block was applied.
    assert_eq!(s.balance("bob"), 0);
    assert_eq!(s.nonce("alice"), 0);
}

#[test]
fn self_transfer_only_costs_the_fee() {
    let mut s = Scenario::new();
    s.fund("alice", 100);
    s.tx("alice").transfer("alice", 50).expect_ok();
    assert_eq!(s.balance("alice"), 90);
    assert_ne!(addr("alice"), addr("bob"));
}

#[test]
fn a_block_over_the_byte_limit_is_invalid() {
    let mut s = Scenario::new();
    s.params.block_txs_max = 100_000;
    s.fund("alice", 1 << 40);
    let one = s.tx("alice").sign_transfer("bob", 1);
    let size = commonware_codec::EncodeSize::encode_size(&one);
    let n = yun_types::limits::BLOCK_TX_BYTES_MAX / size + 1;
    let txs: Vec<_> = (0..n as u64)
        .map(|i| s.tx("alice").nonce(i).sign_transfer("bob", 1))
        .collect();
    let err = s.block(&txs).unwrap_err();
    assert_eq!(
        err,
        BlockError::Tx {
            index: n - 1,
            reason: TxRejection::BlockFull
        }
    );
    s.block(&txs[..n - 1]).unwrap();
    assert_eq!(s.nonce("alice"), n as u64 - 1);
}
