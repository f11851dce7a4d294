//! The proof-of-work faucet: a solved puzzle pays the faucet's amount once per address per
//! epoch, minted (the books count it in `minted`); a second claim in the same epoch, a wrong
//! nonce, or any claim on a chain whose genesis does not enable it is refused with its number.
//! A fee-free claim is includable only when it pays.

use yun_state::scenario::Scenario;
use yun_types::{Action, Amount, TxRejection};

const PAYOUT: u128 = 50_000;
const EPOCH: u64 = 100;

fn faucet_chain() -> Scenario {
    let mut s = Scenario::new();
    s.params.faucet.enabled = true;
    s.params.faucet.amount = Amount::new(PAYOUT);
    s.params.faucet.work_hashes = 256;
    s.params.staking.epoch_blocks = EPOCH;
    s.fund("rich", 1_000_000);
    s
}

#[test]
fn a_solved_puzzle_pays_once_per_epoch() {
    let mut s = faucet_chain();
    let nonce = s.faucet_nonce("newcomer");
    let minted = s.minted();
    s.tx("newcomer")
        .fee(0)
        .act(Action::Faucet { nonce })
        .expect_ok();
    assert_eq!(s.balance("newcomer"), PAYOUT);
    assert_eq!(s.minted(), minted + PAYOUT);
    // Again in the same epoch: free, so not includable at all; with a fee, a failed receipt.
    let nonce = s.faucet_nonce("newcomer");
    s.tx("newcomer")
        .fee(0)
        .act(Action::Faucet { nonce })
        .expect_rejected(TxRejection::FaucetAlreadyClaimed);
    s.tx("newcomer")
        .act(Action::Faucet { nonce })
        .expect_failed(TxRejection::FaucetAlreadyClaimed);
    // The next epoch has a new puzzle and a new claim.
    s.to_height(EPOCH - 1);
    let nonce = s.faucet_nonce("newcomer");
    let before = s.balance("newcomer");
    s.tx("newcomer")
        .fee(0)
        .act(Action::Faucet { nonce })
        .expect_ok();
    assert_eq!(s.balance("newcomer"), before + PAYOUT);
}

#[test]
fn a_nonce_that_does_not_solve_the_puzzle_is_refused() {
    let mut s = faucet_chain();
    s.params.faucet.work_hashes = 1 << 40;
    // With 2^40 expected hashes, the first nonces all miss (odds 2^-30 of a false alarm).
    for nonce in 0..4 {
        s.tx("newcomer")
            .fee(0)
            .act(Action::Faucet { nonce })
            .expect_rejected(TxRejection::FaucetWorkInvalid);
    }
    assert_eq!(s.balance("newcomer"), 0);
}

#[test]
fn a_chain_without_the_faucet_refuses_every_claim() {
    let mut s = Scenario::new();
    s.fund("rich", 1_000_000);
    assert!(!s.params.faucet.enabled, "off by default");
    s.tx("newcomer")
        .fee(0)
        .act(Action::Faucet { nonce: 0 })
        .expect_rejected(TxRejection::FaucetDisabled);
    s.tx("rich")
        .act(Action::Faucet { nonce: 0 })
        .expect_failed(TxRejection::FaucetDisabled);
    assert_eq!(s.minted(), 0);
}
