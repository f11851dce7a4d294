//! Writes well-formed starting inputs (signed transactions, blocks, gossip batches, evidence,
//! API bodies) into `$YUN_FUZZ_CORPUS/<target>/` (default `corpus/`), encoded by the real
//! encoders, so the fuzzers start from valid messages instead of having to discover the codec.
//! `./scripts/fuzz` runs it as `make_seeds -runs=0`: a libFuzzer binary like the others (the
//! coverage instrumentation needs libFuzzer's runtime linked), doing its work at start-up.
#![no_main]

use commonware_codec::Encode as _;
use commonware_cryptography::Signer as _;
use std::path::Path;
use yun_node::gossip::TxBatch;
use yun_state::scenario::{SCENARIO_CHAIN_ID, addr, key_of, seed_signer_of};
use yun_types::evidence::sign_conflicting_notarize;
use yun_types::{Action, Amount, Block, Hash32, SignedTx, Tx};

fn tx(nonce: u64, action: Action) -> SignedTx {
    Tx {
        chain_id: SCENARIO_CHAIN_ID.into(),
        nonce,
        fee: Amount::new(10),
        expires_at_height: 100,
        action,
    }
    .sign(&key_of("alice"))
}

fn write(corpus: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = corpus.join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

fn write_seeds() {
    let corpus = std::env::var("YUN_FUZZ_CORPUS").unwrap_or_else(|_| "corpus".into());
    let corpus = Path::new(&corpus);
    let validator = key_of("validator");
    let evidence =
        sign_conflicting_notarize(&validator, &[validator.public_key()], 1, 7).expect("evidence");
    let txs = vec![
        tx(
            0,
            Action::Transfer {
                to: addr("bob"),
                amount: Amount::new(5),
            },
        ),
        tx(
            1,
            Action::Delegate {
                validator: addr("validator"),
                amount: Amount::new(1),
            },
        ),
        tx(
            2,
            Action::CancelJob {
                job: Hash32([7; 32]),
            },
        ),
        tx(3, Action::Unjail),
        tx(4, Action::ExitProvider),
        tx(5, Action::PauseProvider { paused: true }),
        tx(
            6,
            Action::ReportEquivocation {
                evidence: evidence.clone(),
            },
        ),
    ];
    for (i, t) in txs.iter().enumerate() {
        let bytes = t.encode();
        write(corpus, "tx_decode", &format!("tx{i}"), &bytes);
        let mut signed = vec![2u8, 1, i as u8];
        signed.extend_from_slice(&[0; 7]);
        signed.extend_from_slice(&t.tx.action.encode());
        write(corpus, "api_bodies", &format!("signed{i}"), &signed);
        let body = serde_json::json!({ "tx_hex": hex::encode(&bytes) }).to_string();
        write(
            corpus,
            "api_bodies",
            &format!("tx{i}"),
            &[&[0u8][..], body.as_bytes()].concat(),
        );
    }
    let batch = serde_json::json!({ "txs_hex": txs.iter().map(|t| hex::encode(t.encode())).collect::<Vec<_>>() });
    write(
        corpus,
        "api_bodies",
        "batch",
        &[&[1u8][..], batch.to_string().as_bytes()].concat(),
    );
    let gossip = TxBatch(txs.clone()).encode();
    write(
        corpus,
        "p2p_messages",
        "gossip",
        &[&[0u8][..], &gossip[..]].concat(),
    );
    write(
        corpus,
        "p2p_messages",
        "evidence",
        &[&[3u8][..], &evidence.encode()[..]].concat(),
    );
    let seed_proof = seed_signer_of("validator").prove_seed(SCENARIO_CHAIN_ID, 2, &Hash32::ZERO);
    for (name, n) in [("empty", 0), ("one", 1), ("all", txs.len())] {
        let block = Block::assemble(
            Hash32([1; 32]),
            2,
            1_000,
            addr("validator"),
            seed_proof,
            Hash32([3; 32]),
            txs[..n].to_vec(),
        );
        write(corpus, "block_decode", name, &block.encode());
    }
}

libfuzzer_sys::fuzz_target!(init: write_seeds(), |_data: &[u8]| {});
