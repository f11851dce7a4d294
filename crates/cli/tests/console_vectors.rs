//! The web console signs in the browser with its own TypeScript encoder: these vectors (a key
//! from a fixed mnemonic, the signed bytes of fixed transactions, a keystore file) are what the
//! Rust side produces, pinned in `console/tests/vectors.json`, which the console's unit test
//! checks its own output against. A change to key derivation or the codec fails here first.

use commonware_codec::Encode as _;
use commonware_cryptography::Signer as _;
use rand08::SeedableRng as _;
use serde_json::{Value, json};
use std::path::PathBuf;
use yun_cli::keys::{address_of, dev_account, key_from_mnemonic};
use yun_types::market::{JobSpec, Label, ReduceSpec, TaskSpec, Text, Verification};
use yun_types::tx::{Action, Tx};
use yun_types::{Address, Amount, Hash32};

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../console/tests/vectors.json")
}

fn signed(key: &commonware_cryptography::ed25519::PrivateKey, action: Action, nonce: u64) -> Value {
    let tx = Tx {
        chain_id: "yun-devnet".into(),
        nonce,
        fee: Amount::new(1_000),
        expires_at_height: 1_234,
        action,
    };
    let stx = tx.sign(key);
    json!({ "nonce": nonce, "signed_hex": hex::encode(stx.encode()), "id": stx.id().to_string() })
}

fn job_spec() -> JobSpec {
    JobSpec {
        program_hash: Hash32([7; 32]),
        program_bytes: 4_096,
        tasks: vec![TaskSpec {
            input_hash: Hash32([9; 32]),
            input_bytes: 10,
            args: vec![Text("--digits".into()), Text("100".into())],
        }],
        fuel_per_task: 1_000_000_000,
        memory_bytes_per_task: 64 << 20,
        verification: Verification::Replicate { k: 3, quorum: 2 },
        bid_per_mfuel: Amount::new(5),
        deadline_height: 500,
        required_labels: vec![Label {
            key: Text("region".into()),
            value: Text("eu".into()),
        }],
        reduce: Some(ReduceSpec {
            program_hash: Hash32([8; 32]),
            program_bytes: 2_048,
            args: vec![],
        }),
        data_sources: vec![],
        encryption_key: None,
    }
}

fn upload_ticket(key: &commonware_cryptography::ed25519::PrivateKey) -> Value {
    let ticket = yun_types::upload::UploadTicket {
        chain_id: "yun-devnet".into(),
        root: Hash32([5; 32]),
        size_bytes: 100,
        expires_at_height: 50,
    };
    json!({ "header": ticket.sign(key).to_header() })
}

/// What `FeeSchedule::estimate` declares for a transfer and a job posting under a schedule
/// with every price set, so the console declares the same cap.
fn fee_estimates(key: &commonware_cryptography::ed25519::PrivateKey, to: Address) -> Value {
    let schedule = yun_types::fee::FeeSchedule {
        base: Amount::new(1_000),
        per_byte: Amount::new(7),
        per_write: Amount::new(50),
    };
    let tx = |action| Tx {
        chain_id: "yun-devnet".into(),
        nonce: 3,
        fee: Amount::new(0),
        expires_at_height: 99,
        action,
    };
    let transfer = schedule.sign(
        tx(Action::Transfer {
            to,
            amount: Amount::new(5),
        }),
        key,
        0,
    );
    let job = schedule.sign(tx(Action::PostJob { spec: job_spec() }), key, 0);
    json!({
        "schedule": { "min_fee": "1000", "fee_per_byte": "7", "fee_per_write": "50" },
        "transfer": { "fee": transfer.tx.fee.to_string(), "signed_hex": hex::encode(transfer.encode()) },
        "post_job": { "fee": job.tx.fee.to_string(), "signed_hex": hex::encode(job.encode()) },
    })
}

fn vectors() -> Value {
    let dev0 = dev_account(0);
    let dev1 = dev_account(1);
    let m: bip39::Mnemonic = dev0.mnemonic.parse().unwrap();
    let key = key_from_mnemonic(&m);
    let secret = blake3::derive_key("yun 2026 account key ed25519 v1", &m.to_seed(""));
    let to: Address = dev1.address;
    let mut rng = rand08::rngs::StdRng::seed_from_u64(20);
    let keystore = yun_cli::keystore_v3::encrypt(&secret, "correct horse", 10, &mut rng).unwrap();
    json!({
        "mnemonic": dev0.mnemonic,
        "secret_hex": hex::encode(secret),
        "public_key_hex": hex::encode(key.public_key().encode()),
        "address": address_of(&key).to_string(),
        "dev1_mnemonic": dev1.mnemonic,
        "dev1_address": to.to_string(),
        "transfer": signed(&key, Action::Transfer { to, amount: Amount::new(123_456_789) }, 7),
        "delegate": signed(&key, Action::Delegate { validator: to, amount: Amount::new(5_000) }, 8),
        "undelegate": signed(&key, Action::Undelegate { validator: to, amount: Amount::new(1_000) }, 9),
        "post_job": signed(&key, Action::PostJob { spec: job_spec() }, 10),
        "upload_ticket": upload_ticket(&key),
        "fee_estimates": fee_estimates(&key, to),
        "keystore": { "json": String::from_utf8(keystore).unwrap(), "passphrase": "correct horse" },
    })
}

#[test]
fn the_console_vectors_match_what_rust_signs() {
    let now = serde_json::to_string_pretty(&vectors()).unwrap() + "\n";
    if std::env::var_os("YUN_WRITE_CONSOLE_VECTORS").is_some() {
        std::fs::write(vectors_path(), &now).unwrap();
    }
    let pinned = std::fs::read_to_string(vectors_path())
        .expect("console/tests/vectors.json (write it with YUN_WRITE_CONSOLE_VECTORS=1)");
    assert_eq!(
        pinned, now,
        "the encoding or key derivation changed: re-run with YUN_WRITE_CONSOLE_VECTORS=1, then \
         check the console's unit test (npm test in console/) still passes"
    );
}
