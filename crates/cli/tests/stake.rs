//! Staking through the `yun` binary against an in-process devnet: the genesis validator is
//! bonded and active in epoch 0, a delegation and an undelegation show in the validator and the
//! account, the node's own key file signs for the validator (`--from @PATH`) and registers a
//! new one from its `node.key`, and bad input is refused with its numbered reason and a hint.

use yun_client::Client;

mod common;
use common::Yun;

#[test]
fn delegate_undelegate_register_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let (mut cfg, _) = yun_cli::devnet::prepare(dir.path(), port, false, 3, &[]).unwrap();
    cfg.timing.min_block_interval_ms = 20;
    let key_file = cfg.data_dir.join(&cfg.key_file);
    let node = yun_node::run::spawn_node(cfg).unwrap();
    let yun = Yun {
        node: node.api_url(),
        dir: dir.path(),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(Client::new(&node.api_url()).status()).unwrap();
    let validator = status.validators[0].to_string();
    let min_bond = yun_cli::devnet::devnet_params()
        .staking
        .validator_self_bond_min
        .to_string();

    // Epoch 0: the genesis validator, bonded, is the whole set.
    let set = yun.json(&["stake", "validators"]);
    assert_eq!(set["epoch"], 0, "{set}");
    assert_eq!(set["active"][0]["address"], validator, "{set}");
    assert_eq!(set["validators"][0]["self_bond"], min_bond, "{set}");
    assert_eq!(set["validators"][0]["in_active_set"], true, "{set}");
    assert!(
        yun.ok(&["stake", "validators"])
            .contains("1 of at most 21 active")
    );

    // dev1 delegates, then takes part of it back: it unbonds until the release height.
    yun.ok(&[
        "stake",
        "delegate",
        "--validator",
        &validator,
        "--amount",
        "5000",
        "--from",
        "dev1",
    ]);
    let v = yun.json(&["stake", "validator", &validator]);
    assert_eq!(v["delegated"], "5000", "{v}");
    let undelegated = yun.ok(&[
        "stake",
        "undelegate",
        "--validator",
        &validator,
        "--amount",
        "2000",
        "--from",
        "dev1",
    ]);
    assert!(undelegated.contains("unbonding 2000"), "{undelegated}");
    let d = yun.json(&["stake", "delegations", "dev1"]);
    assert_eq!(d["delegations"][0]["amount"], "3000", "{d}");
    assert_eq!(d["unbondings"][0]["amount"], "2000", "{d}");
    assert!(d["self_bond"].is_null(), "{d}");

    // The validator, funded, adds to its self bond, signing with the node's key file.
    yun.ok(&[
        "tx", "transfer", "--to", &validator, "--amount", "100000", "--from", "dev0",
    ]);
    let from_key = format!("@{}", key_file.display());
    yun.ok(&[
        "stake",
        "delegate",
        "--validator",
        &validator,
        "--amount",
        "1000",
        "--from",
        &from_key,
    ]);
    let d = yun.json(&["stake", "delegations", &validator]);
    let bonded: u128 = min_bond.parse::<u128>().unwrap() + 1000;
    assert_eq!(d["self_bond"], bonded.to_string(), "{d}");

    // Refusals name their reason and say what to do.
    let refused = |args: &[&str], reason: &str| {
        let (code, _, stderr) = yun.run(args);
        assert_ne!(code, 0, "yun {args:?} should fail");
        assert!(stderr.contains(reason), "yun {args:?}: {stderr}");
    };
    refused(
        &[
            "stake",
            "register",
            "--p2p-address",
            "127.0.0.1:9",
            "--self-bond",
            "1",
            "--from",
            "dev2",
        ],
        "SelfBondBelowMin",
    );
    refused(
        &[
            "stake",
            "register",
            "--p2p-address",
            "no port",
            "--self-bond",
            &min_bond,
            "--from",
            "dev2",
        ],
        "InvalidP2pAddress",
    );
    refused(&["stake", "unjail", "--from", "dev1"], "UnknownValidator");
    refused(
        &[
            "stake",
            "validator",
            &status.validators[0].to_string()[..10],
        ],
        "address",
    );
    refused(
        &["stake", "validator", "dev2"],
        "not a registered validator",
    );

    // dev2 registers: a validator now, in the set only from the next epoch if it ranks.
    yun.ok(&[
        "stake",
        "register",
        "--p2p-address",
        "127.0.0.1:9",
        "--self-bond",
        &min_bond,
        "--from",
        "dev2",
    ]);
    let v = yun.json(&["stake", "validator", "dev2"]);
    assert_eq!(v["in_active_set"], false, "{v}");
    assert_eq!(v["status"], "active", "{v}");
    assert_eq!(yun.json(&["stake", "validators"])["validators_total"], 2);

    // An operator registers its new node's key file itself: the account is that key, and the
    // seed key and its proof of possession are derived from it (the chain checks the proof,
    // so a wrong derivation would be SeedKeyInvalid).
    let node_dir = dir.path().join("second-node");
    std::fs::create_dir_all(&node_dir).unwrap();
    let node_key_file = node_dir.join("node.key");
    let node_key = <commonware_cryptography::ed25519::PrivateKey as commonware_cryptography::Signer>::from_seed(4242);
    yun_node::run::write_key(&node_key_file, &node_key).unwrap();
    let operator = yun_cli::keys::address_of(&node_key).to_string();
    // Enough for two bonds, so a second registration reaches the chain and is refused there.
    let fund = (2 * min_bond.parse::<u128>().unwrap() + 100_000).to_string();
    yun.ok(&[
        "tx", "transfer", "--to", &operator, "--amount", &fund, "--from", "dev0",
    ]);
    let from_node_key = format!("@{}", node_key_file.display());
    let registered = yun.ok(&[
        "stake",
        "register",
        "--p2p-address",
        "127.0.0.1:9100",
        "--self-bond",
        &min_bond,
        "--from",
        &from_node_key,
    ]);
    assert!(registered.contains(&operator), "{registered}");
    let v = yun.json(&["stake", "validator", &operator]);
    assert_eq!(v["address"], operator.as_str(), "{v}");
    assert_eq!(v["p2p_address"], "127.0.0.1:9100", "{v}");
    assert_eq!(v["self_bond"], min_bond.as_str(), "{v}");
    assert_eq!(yun.json(&["stake", "validators"])["validators_total"], 3);
    refused(
        &[
            "stake",
            "register",
            "--p2p-address",
            "127.0.0.1:9100",
            "--self-bond",
            &min_bond,
            "--from",
            &from_node_key,
        ],
        "ValidatorExists",
    );
    node.stop().unwrap();
}
