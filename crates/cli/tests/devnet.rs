//! A devnet in-process on a free port and a temp dir: 200 transfers with every balance checked,
//! a restart that finds the same chain, `chain verify`, and bad input answered with numbered
//! reasons while nothing accepted is lost.

use std::collections::BTreeMap;
use std::time::Duration;
use yun_cli::keys::{dev_account, key_from_mnemonic};
use yun_cli::{ClientOpts, Output};
use yun_client::{Client, ClientError};
use yun_node::run::{NodeHandle, spawn_node};
use yun_types::api::TxState;
use yun_types::{Action, Address, Amount, SignedTx, Tx, TxRejection};

const ACCOUNTS: usize = 10;

fn start(dir: &std::path::Path, port: u16) -> NodeHandle {
    let (mut cfg, _) = yun_cli::devnet::prepare(dir, port, false, ACCOUNTS, &[]).unwrap();
    cfg.timing.min_block_interval_ms = 20;
    cfg.timing.idle_block_interval_ms = 500;
    spawn_node(cfg).unwrap()
}

fn key(i: usize) -> commonware_cryptography::ed25519::PrivateKey {
    key_from_mnemonic(&dev_account(i).mnemonic.parse().unwrap())
}

fn transfer(
    chain: &str,
    i: usize,
    nonce: u64,
    to: Address,
    amount: u128,
    fee: u128,
    expires: u64,
) -> SignedTx {
    Tx {
        chain_id: chain.into(),
        nonce,
        fee: Amount::new(fee),
        expires_at_height: expires,
        action: Action::Transfer {
            to,
            amount: Amount::new(amount),
        },
    }
    .sign(&key(i))
}

async fn expect_rejected(client: &Client, tx: &SignedTx, reason: TxRejection) {
    match client.submit(tx).await {
        Err(ClientError::Rejected(body)) => {
            assert_eq!(
                body.code,
                reason.code(),
                "expected {reason:?}, got {body:?}"
            );
            assert_eq!(body.name, reason.name());
            assert!(!body.hint.is_empty());
        }
        other => panic!("expected rejection {reason:?}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_transfers_restart_verify_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let node = start(dir.path(), port);
    let client = Client::new(&node.api_url());
    let status = client.status().await.unwrap();
    let chain = status.chain_id.clone();
    // A transfer's fee exactly: base + its bytes + its two writes (sender and recipient), so
    // the balances below add up; any less than base + bytes is not includable.
    let fees = yun_types::fee::FeeSchedule::from(&status);
    let size = commonware_codec::EncodeSize::encode_size(&transfer(
        &chain,
        0,
        0,
        Address([1; 32]),
        1,
        0,
        0,
    ));
    let fee = fees.fee_for(size, 2).unwrap().base_units();
    let size_fee = fees.size_fee(size).unwrap().base_units();
    let start_balance = yun_cli::devnet::DEV_BALANCE;

    // 200 transfers from the ten dev accounts to twenty fresh addresses.
    let recipients: Vec<Address> = (0..20u8).map(|i| Address([i + 1; 32])).collect();
    let mut expected: BTreeMap<Address, u128> = BTreeMap::new();
    let mut nonces = [0u64; ACCOUNTS];
    let mut ids = Vec::new();
    for n in 0..200usize {
        let from = n % ACCOUNTS;
        let to = recipients[n % recipients.len()];
        let amount = 1_000 + n as u128;
        let tx = transfer(
            &chain,
            from,
            nonces[from],
            to,
            amount,
            fee,
            status.height + 10_000,
        );
        nonces[from] += 1;
        *expected.entry(to).or_default() += amount;
        *expected
            .entry(dev_account(from).address)
            .or_insert(start_balance) -= amount + fee;
        ids.push(client.submit(&tx).await.unwrap());
    }
    for id in &ids {
        let s = client
            .wait_for_tx(id, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(s.state, TxState::Committed, "{id} not committed: {s:?}");
        assert!(s.receipt.unwrap().success);
    }
    for (address, balance) in &expected {
        assert_eq!(
            client.account(address).await.unwrap().balance.base_units(),
            *balance,
            "balance of {address}"
        );
    }
    for (i, n) in nonces.iter().enumerate() {
        assert_eq!(
            client.account(&dev_account(i).address).await.unwrap().nonce,
            *n
        );
    }

    // Bad input: each answered with its numbered reason.
    let me = 0;
    let next = client
        .account(&dev_account(me).address)
        .await
        .unwrap()
        .next_nonce;
    let height = client.status().await.unwrap().height;
    let mut bad_sig = transfer(&chain, me, next, recipients[0], 1, fee, height + 100);
    bad_sig.tx.fee = Amount::new(fee + 1); // signed content changed after signing
    expect_rejected(&client, &bad_sig, TxRejection::BadSignature).await;
    expect_rejected(
        &client,
        &transfer("other-chain", me, next, recipients[0], 1, fee, height + 100),
        TxRejection::WrongChain,
    )
    .await;
    let first = client.tx(&ids[0]).await.unwrap();
    assert_eq!(first.state, TxState::Committed);
    // The very first transfer again is known (a retry); another with its nonce is stale.
    let replay = transfer(
        &chain,
        0,
        0,
        recipients[0],
        1_000,
        fee,
        status.height + 10_000,
    );
    assert_eq!(replay.id(), ids[0]);
    expect_rejected(&client, &replay, TxRejection::AlreadyKnown).await;
    let stale = transfer(
        &chain,
        0,
        0,
        recipients[0],
        999,
        fee,
        status.height + 10_000,
    );
    expect_rejected(&client, &stale, TxRejection::BadNonce).await;
    expect_rejected(
        &client,
        &transfer(&chain, me, next, recipients[0], 1, fee, 1),
        TxRejection::Expired,
    )
    .await;
    expect_rejected(
        &client,
        &transfer(
            &chain,
            me,
            next,
            recipients[0],
            start_balance * 2,
            fee,
            height + 100,
        ),
        TxRejection::InsufficientBalance,
    )
    .await;
    expect_rejected(
        &client,
        &transfer(
            &chain,
            me,
            next,
            recipients[0],
            1,
            size_fee - 1,
            height + 100,
        ),
        TxRejection::FeeTooLow,
    )
    .await;
    let huge = vec![b' '; yun_node::api::REQUEST_BYTES_MAX + 1];
    let err = client.post_raw("/v1/txs", huge).await.unwrap_err();
    assert_eq!(err.code(), Some(101), "oversized body: {err:?}");
    let err = client
        .post_raw("/v1/txs", b"{\"tx_hex\": ".to_vec())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(100), "malformed JSON: {err:?}");
    let err = client
        .post_raw("/v1/txs", br#"{"tx_hex": "zz"}"#.to_vec())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(TxRejection::Malformed.code()));
    let garbage = hex::encode(vec![0xff; 300]);
    let err = client
        .post_raw(
            "/v1/txs",
            format!("{{\"tx_hex\": \"{garbage}\"}}").into_bytes(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(TxRejection::Malformed.code()));
    assert!(
        client
            .submit(&transfer(
                &chain,
                me,
                next,
                recipients[0],
                5,
                fee,
                height + 100
            ))
            .await
            .is_ok()
    );
    // The same again: known, whether it is still pending or already in a block.
    let dup = transfer(&chain, me, next, recipients[0], 5, fee, height + 100);
    expect_rejected(&client, &dup, TxRejection::AlreadyKnown).await;
    let last = client
        .wait_for_tx(&dup.id(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        last.state,
        TxState::Committed,
        "a valid tx after bad input still commits"
    );
    assert!(client.openapi().await.unwrap()["paths"]["/v1/txs"].is_object());
    assert!(
        client
            .metrics_text()
            .await
            .unwrap()
            .contains("txs_rejected")
    );

    // Restart: the same chain, nothing finalized lost.
    let before = client.status().await.unwrap();
    let block_before = client.block(Some(before.height), false).await.unwrap();
    node.stop().unwrap();
    let node = start(dir.path(), port);
    let client = Client::new(&node.api_url());
    let after = client.status().await.unwrap();
    assert!(after.height >= before.height);
    let block_after = client.block(Some(before.height), false).await.unwrap();
    assert_eq!(
        (block_after.hash, block_after.state_root),
        (block_before.hash, block_before.state_root)
    );
    for (address, balance) in &expected {
        if !recipients.contains(address) {
            continue;
        }
        let extra = if *address == recipients[0] { 5 } else { 0 };
        assert_eq!(
            client.account(address).await.unwrap().balance.base_units(),
            balance + extra
        );
    }
    // The chain keeps finalizing after the restart.
    let tx = transfer(
        &chain,
        1,
        nonces[1],
        recipients[1],
        7,
        fee,
        after.height + 100,
    );
    let s = client
        .wait_for_tx(&client.submit(&tx).await.unwrap(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(s.state, TxState::Committed);

    // Re-validate everything from genesis.
    let opts = ClientOpts {
        node: node.api_url(),
        output: Output::Json,
        devnet_dir: None,
    };
    yun_cli::verify::verify(&opts).await.unwrap();
    node.stop().unwrap();
}
