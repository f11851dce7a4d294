//! The EVM in the state machine: transfers both ways, contracts, receipts, fees, and abuse
//! (replays, wrong chains, cheap gas, loops, huge init code, the relay key), with supply
//! conserved after every block (the scenario checks it).

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use yun_state::BlockError;
use yun_state::evm::{self, BRIDGE_ADDRESS};
use yun_state::scenario::{Scenario, addr};
use yun_types::evm::EthAddress;
use yun_types::{Action, Amount, SignedTx, TxOutcome, TxRejection};

const GAS_PRICE: u128 = 1_000;

fn signer(n: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&[n; 32].into()).unwrap()
}

fn eth_of(s: &PrivateKeySigner) -> EthAddress {
    EthAddress(s.address().into_array())
}

/// An EIP-1559 transaction signed by `s`, as raw EIP-2718 bytes.
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per transaction field a test varies"
)]
fn raw_1559(
    s: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: Option<EthAddress>,
    value: u128,
    data: Vec<u8>,
    gas: u64,
    price: u128,
) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: price,
        max_priority_fee_per_gas: price / 10,
        to: match to {
            Some(a) => TxKind::Call(a.0.into()),
            None => TxKind::Create,
        },
        value: U256::from(value),
        access_list: Default::default(),
        input: Bytes::from(data),
    };
    let sig = s.sign_hash_sync(&tx.signature_hash()).unwrap();
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718()
}

fn envelope(raw: Vec<u8>) -> SignedTx {
    evm::wrap(yun_state::scenario::SCENARIO_CHAIN_ID, raw)
        .unwrap()
        .0
}

/// `init` deploying `runtime` (CODECOPY it to memory and RETURN it).
fn deploy_code(runtime: &[u8]) -> Vec<u8> {
    let mut init = vec![
        0x60,
        runtime.len() as u8,
        0x80,
        0x60,
        0x0c,
        0x60,
        0x00,
        0x39,
        0x60,
        0x00,
        0xf3,
        0x00,
    ];
    init.extend_from_slice(runtime);
    init
}

/// A chain where `alice` (yun) moved 10^12 base units to the EVM account of signer 1.
fn funded() -> (Scenario, PrivateKeySigner) {
    funded_with(|_| {})
}

/// [`funded`], with `genesis` changing the scenario (its parameters) before the first block.
fn funded_with(genesis: impl FnOnce(&mut Scenario)) -> (Scenario, PrivateKeySigner) {
    let mut s = Scenario::new();
    genesis(&mut s);
    s.fund("alice", 2_000_000_000_000);
    let user = signer(1);
    s.tx("alice")
        .act(Action::TransferToEth {
            to: eth_of(&user),
            amount: Amount::new(1_000_000_000_000),
        })
        .expect_ok();
    (s, user)
}

fn evm_balance(s: &mut Scenario, a: &EthAddress) -> u128 {
    s.view().evm_account(a).balance.base_units()
}

#[test]
fn value_moves_between_eth_accounts_and_gas_is_a_fee() {
    let (mut s, user) = funded();
    let bob = eth_of(&signer(2));
    let raw = raw_1559(&user, 986, 0, Some(bob), 5_000, vec![], 21_000, GAS_PRICE);
    let out = s.block(&[envelope(raw.clone())]).unwrap();
    let r = &out.receipts[0];
    assert_eq!(r.outcome, TxOutcome::Success);
    // 21,000 gas at min(max fee, base fee + tip) = 1,000 (the tip is capped by the max fee).
    assert_eq!(r.fee_paid, Amount::new(21_000 * GAS_PRICE));
    assert_eq!(evm_balance(&mut s, &bob), 5_000);
    assert_eq!(
        evm_balance(&mut s, &eth_of(&user)),
        1_000_000_000_000 - 5_000 - 21_000 * GAS_PRICE
    );
    assert_eq!(evm_balance(&mut s, &yun_state::evm::FEE_COLLECTOR), 0);
    let h = s.height;
    let view = s.view();
    let receipt = view.evm_receipts_at(h);
    assert_eq!(receipt.len(), 1);
    assert!(receipt[0].success);
    assert_eq!(receipt[0].gas_used, 21_000);

    // Replayed: the nonce is used, so the block is invalid.
    let err = s.block(&[envelope(raw)]).unwrap_err();
    assert_eq!(
        err,
        BlockError::Tx {
            index: 0,
            reason: TxRejection::BadNonce
        }
    );
}

#[test]
fn wrong_chain_low_price_huge_gas_and_unprotected_legacy_are_refused() {
    let (mut s, user) = funded();
    let bob_address = eth_of(&signer(2));
    let bob = Some(bob_address);
    let cases = [
        (
            raw_1559(&user, 1, 0, bob, 1, vec![], 21_000, GAS_PRICE),
            TxRejection::EthWrongChainId,
        ),
        (
            raw_1559(&user, 986, 0, bob, 1, vec![], 21_000, GAS_PRICE - 1),
            TxRejection::EthGasPriceTooLow,
        ),
        (
            raw_1559(&user, 986, 0, bob, 1, vec![], 30_000_001, GAS_PRICE),
            TxRejection::EthGasLimitTooHigh,
        ),
    ];
    for (raw, reason) in cases {
        let stx = envelope(raw);
        assert_eq!(
            s.block(&[stx]).unwrap_err(),
            BlockError::Tx { index: 0, reason }
        );
    }
    // A legacy transaction without EIP-155's chain id is valid on every chain: never here.
    let tx = TxLegacy {
        chain_id: None,
        nonce: 0,
        gas_price: GAS_PRICE,
        gas_limit: 21_000,
        to: TxKind::Call(bob_address.0.into()),
        value: U256::from(1),
        input: Bytes::new(),
    };
    let sig = user.sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = TxEnvelope::from(tx.into_signed(sig)).encoded_2718();
    assert_eq!(
        evm::wrap(yun_state::scenario::SCENARIO_CHAIN_ID, raw).unwrap_err(),
        TxRejection::EthTxInvalid
    );
}

#[test]
fn a_forged_envelope_or_relay_signed_transfer_is_refused() {
    let (mut s, user) = funded();
    let raw = raw_1559(
        &user,
        986,
        0,
        Some(eth_of(&signer(2))),
        1,
        vec![],
        21_000,
        GAS_PRICE,
    );
    // Claiming another sender: the envelope is not the canonical one.
    let mut forged = envelope(raw);
    if let Action::Eth { from, .. } = &mut forged.tx.action {
        *from = eth_of(&signer(3));
    }
    let forged = forged.tx.clone().sign(&yun_types::evm::relay_key());
    assert_eq!(
        s.block(&[forged]).unwrap_err(),
        BlockError::Tx {
            index: 0,
            reason: TxRejection::EthTxInvalid
        }
    );
    // The relay key is public: it may sign nothing but envelopes.
    let mut tx = s.tx("alice").sign_transfer("bob", 1).tx;
    tx.nonce = 0;
    let stolen = tx.sign(&yun_types::evm::relay_key());
    assert_eq!(
        s.block(&[stolen]).unwrap_err(),
        BlockError::Tx {
            index: 0,
            reason: TxRejection::EthTxInvalid
        }
    );
}

#[test]
fn contracts_store_log_and_a_loop_burns_only_its_gas() {
    let (mut s, user) = funded();
    // Runtime: SSTORE(0, 42); LOG1(0, 0, topic 7); STOP.
    let runtime = [
        0x60, 0x2a, 0x60, 0x00, 0x55, 0x60, 0x07, 0x60, 0x00, 0x60, 0x00, 0xa1, 0x00,
    ];
    let deploy = raw_1559(
        &user,
        986,
        0,
        None,
        0,
        deploy_code(&runtime),
        200_000,
        GAS_PRICE,
    );
    let out = s.block(&[envelope(deploy)]).unwrap();
    assert_eq!(out.receipts[0].outcome, TxOutcome::Success);
    let contract = {
        let h = s.height;
        s.view().evm_receipts_at(h)
    }[0]
    .contract_address
    .unwrap();
    let call = raw_1559(&user, 986, 1, Some(contract), 0, vec![], 100_000, GAS_PRICE);
    s.block(&[envelope(call)]).unwrap();
    let h = s.height;
    let view = s.view();
    let mut slot = [0u8; 32];
    assert_eq!(view.evm_slot(&contract, &slot)[31], 42);
    let receipt = &view.evm_receipts_at(h)[0];
    assert_eq!(receipt.logs.len(), 1);
    assert_eq!(receipt.logs[0].address, contract);
    slot[31] = 7;
    assert_eq!(receipt.logs[0].topics, vec![slot]);

    // An endless loop: included, reverted, and it pays exactly its gas limit.
    let looping = [0x5b, 0x60, 0x00, 0x56];
    let deploy = raw_1559(
        &user,
        986,
        2,
        None,
        0,
        deploy_code(&looping),
        200_000,
        GAS_PRICE,
    );
    s.block(&[envelope(deploy)]).unwrap();
    let looper = {
        let h = s.height;
        s.view().evm_receipts_at(h)
    }[0]
    .contract_address
    .unwrap();
    let before = evm_balance(&mut s, &eth_of(&user));
    let call = raw_1559(&user, 986, 3, Some(looper), 0, vec![], 1_000_000, GAS_PRICE);
    let out = s.block(&[envelope(call)]).unwrap();
    assert_eq!(
        out.receipts[0].outcome,
        TxOutcome::Failed(TxRejection::EvmReverted)
    );
    assert_eq!(out.receipts[0].fee_paid, Amount::new(1_000_000 * GAS_PRICE));
    assert_eq!(
        evm_balance(&mut s, &eth_of(&user)),
        before - 1_000_000 * GAS_PRICE
    );
}

#[test]
fn huge_init_code_is_refused() {
    let (mut s, user) = funded();
    // Above EIP-3860's 49,152 bytes: revm refuses it before running.
    let raw = raw_1559(
        &user,
        986,
        0,
        None,
        0,
        vec![0; 50_000],
        15_000_000,
        GAS_PRICE,
    );
    assert_eq!(
        s.block(&[envelope(raw)]).unwrap_err(),
        BlockError::Tx {
            index: 0,
            reason: TxRejection::EthTxRefusedByEvm
        }
    );
    // Above what an envelope carries: not even decoded.
    let raw = raw_1559(
        &user,
        986,
        0,
        None,
        0,
        vec![0; 70_000],
        15_000_000,
        GAS_PRICE,
    );
    assert_eq!(
        evm::wrap(yun_state::scenario::SCENARIO_CHAIN_ID, raw).unwrap_err(),
        TxRejection::EthTxInvalid
    );
}

#[test]
fn value_sent_to_the_bridge_reaches_a_yun_account() {
    let (mut s, user) = funded();
    let before = s.balance("carol");
    let raw = raw_1559(
        &user,
        986,
        0,
        Some(BRIDGE_ADDRESS),
        777,
        addr("carol").0.to_vec(),
        50_000,
        GAS_PRICE,
    );
    let out = s.block(&[envelope(raw)]).unwrap();
    assert_eq!(out.receipts[0].outcome, TxOutcome::Success);
    assert_eq!(s.balance("carol"), before + 777);
    assert_eq!(evm_balance(&mut s, &BRIDGE_ADDRESS), 0);
    // Input that is not one account: refused before it runs.
    let raw = raw_1559(
        &user,
        986,
        1,
        Some(BRIDGE_ADDRESS),
        777,
        vec![1; 31],
        50_000,
        GAS_PRICE,
    );
    assert_eq!(
        s.block(&[envelope(raw)]).unwrap_err(),
        BlockError::Tx {
            index: 0,
            reason: TxRejection::EthTxInvalid
        }
    );
}

#[test]
fn eth_call_and_estimate_write_nothing() {
    let (mut s, user) = funded();
    let bob = eth_of(&signer(2));
    let height = s.height + 1;
    let view = s.view();
    let params = view.params().evm;
    let call = evm::CallRequest {
        from: Some(eth_of(&user)),
        to: Some(bob),
        value: 1,
        ..Default::default()
    };
    let est = evm::estimate_gas(&view, "x", height, 0, &params, &call)
        .unwrap()
        .unwrap();
    assert_eq!(est, 21_000);
    assert_eq!(view.writes_len(), 0);
}

mod property {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        /// Signer `from` sends `value` to signer `to` (1..=3), gas at `tip` above the base fee.
        Eth {
            from: u8,
            to: u8,
            value: u64,
            tip: u16,
        },
        /// alice moves `amount` into signer `to`'s EVM account.
        In { to: u8, amount: u64 },
        /// Signer `from` sends `value` out through the bridge to carol.
        Out { from: u8, value: u64 },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1u8..=3, 1u8..=3, 0u64..1_000_000_000, 0u16..2_000).prop_map(
                |(from, to, value, tip)| Step::Eth {
                    from,
                    to,
                    value,
                    tip
                }
            ),
            (1u8..=3, 1u64..1_000_000_000).prop_map(|(to, amount)| Step::In { to, amount }),
            (1u8..=3, 0u64..1_000_000_000).prop_map(|(from, value)| Step::Out { from, value }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Whatever mix of EVM transfers, gas, bridging in and out: every block conserves the
        /// supply (the scenario checks it after each) and the EVM balances plus the Yun ones
        /// plus what was burned never change in total.
        #[test]
        fn evm_transfers_conserve_supply(steps in proptest::collection::vec(step(), 1..12)) {
            let (mut s, _) = funded();
            let mut nonces = [0u64; 4];
            for st in steps {
                let stx = match st {
                    Step::Eth { from, to, value, tip } => {
                        let raw = raw_1559(&signer(from), 986, nonces[from as usize], Some(eth_of(&signer(to))),
                            value as u128, vec![], 21_000, GAS_PRICE + tip as u128);
                        envelope(raw)
                    }
                    Step::In { to, amount } => s.tx("alice").sign(Action::TransferToEth {
                        to: eth_of(&signer(to)), amount: Amount::new(amount as u128) }),
                    Step::Out { from, value } => {
                        let raw = raw_1559(&signer(from), 986, nonces[from as usize], Some(BRIDGE_ADDRESS),
                            value as u128, addr("carol").0.to_vec(), 50_000, GAS_PRICE);
                        envelope(raw)
                    }
                };
                let from = match st { Step::Eth { from, .. } | Step::Out { from, .. } => Some(from), Step::In { .. } => None };
                // Unfunded senders make the block invalid; the rest are included and conserve.
                if s.block(&[stx]).is_ok() && let Some(f) = from {
                    nonces[f as usize] += 1;
                }
            }
        }
    }
}

/// Receipts are bounded by age: the one of block h stays through block h + retention − 1 and
/// leaves the state (with its hash's index entry) at the end of block h + retention.
#[test]
fn receipts_leave_the_state_after_the_retention() {
    let (mut s, user) = funded_with(|s| s.params.evm.receipt_retention_blocks = 256);
    let bob = eth_of(&signer(2));
    let raw = raw_1559(&user, 986, 0, Some(bob), 5, vec![], 21_000, GAS_PRICE);
    let hash = evm::EthTx::decode(&raw).unwrap().hash;
    s.block(&[envelope(raw)]).unwrap();
    let h = s.height;
    s.blocks(255);
    assert_eq!(s.view().evm_receipts_at(h).len(), 1, "kept through h + 255");
    assert!(s.view().evm_tx_location(&hash).is_some());
    s.empty_block();
    assert!(s.view().evm_receipts_at(h).is_empty(), "pruned at h + 256");
    assert!(s.view().evm_tx_location(&hash).is_none());
    // What the receipt recorded stays: the value moved and the nonce advanced.
    assert_eq!(evm_balance(&mut s, &bob), 5);
    assert_eq!(s.view().evm_account(&eth_of(&user)).nonce, 1);
}
