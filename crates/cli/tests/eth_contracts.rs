//! Seed 002's contract on a devnet from ethers.js v6: runs `examples/contracts/test/market.mjs`
//! (compiled with solc-js, both installed by `npm install` here) against this build's node
//! over its Ethereum JSON-RPC port, with the devnet's derived test keys. Node and npm must
//! be installed: without them the test fails, it never skips.

use std::process::Command;
use support::{contracts_dir, npm_install};

mod support;

#[test]
fn seed_002_contract_runs_from_ethers() {
    let dir = contracts_dir();
    npm_install(&dir);
    let data = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let (mut cfg, _) =
        yun_cli::devnet::prepare_with_providers(data.path(), port, false, 1, 0, &[]).unwrap();
    let rpc_port = yun_cli::devnet::free_port().unwrap();
    cfg.eth_rpc_listen = Some(([127, 0, 0, 1], rpc_port).into());
    cfg.timing.min_block_interval_ms = 20;
    let node = yun_node::run::spawn_node(cfg).unwrap();
    let keys = yun_cli::eth_dev::eth_dev_accounts(3).unwrap();
    let out = Command::new("node")
        .arg("test/market.mjs")
        .current_dir(&dir)
        .env("RPC_URL", format!("http://127.0.0.1:{rpc_port}"))
        .env("OWNER_KEY", &keys[0].private_key)
        .env("USER_KEY", &keys[1].private_key)
        .env("MINER_KEY", &keys[2].private_key)
        .output()
        .expect("running node: Node.js 20 or later must be installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    // The chain now holds a deploy, calls, a payment, a revert and logs: a fresh store that
    // re-executes every block from genesis must reach the same state roots.
    let verified = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(yun_cli::verify::verify(&yun_cli::args::ClientOpts {
            node: node.api_url(),
            output: yun_cli::output::Output::Json,
            devnet_dir: None,
        }));
    node.stop().unwrap();
    assert!(out.status.success(), "the ethers.js test failed:\n{text}");
    verified.expect("chain verify re-executes the EVM blocks to the same roots");
    for line in [
        "ok - the owner adds a miner",
        "ok - a user posts a request",
        "ok - the miner confirms it",
        "its balance rises by exactly that",
        "ok - an owner's postComputeRequest reverts with \"Owner cannot post requests\"",
        "all ok",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

/// The JSON-RPC refuses abuse with JSON-RPC errors: a batch of 10,000 calls, logs over a
/// huge range, a transaction for another chain; and answers the basics.
#[test]
fn the_json_rpc_bounds_batches_and_log_ranges() {
    let data = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let (cfg, _) =
        yun_cli::devnet::prepare_with_providers(data.path(), port, false, 1, 0, &[]).unwrap();
    let node = yun_node::run::spawn_node(cfg).unwrap();
    let url = format!("{}/eth", node.api_url());
    let post = |body: serde_json::Value| -> serde_json::Value {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            reqwest::Client::new()
                .post(&url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    };
    let chain =
        post(serde_json::json!({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}));
    assert_eq!(chain["result"], "0x3da", "{chain}");
    let calls: Vec<_> = (0..10_000)
        .map(|i| serde_json::json!({"jsonrpc":"2.0","id":i,"method":"eth_blockNumber"}))
        .collect();
    let big = post(serde_json::Value::Array(calls));
    assert_eq!(big["error"]["code"], -32600, "{big}");
    assert!(
        big["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 to 100"),
        "{big}"
    );
    let logs = post(
        serde_json::json!({"jsonrpc":"2.0","id":1,"method":"eth_getLogs",
        "params":[{"fromBlock":"0x0","toBlock":"0xffffffff"}]}),
    );
    assert_eq!(logs["error"]["code"], -32005, "{logs}");
    let few = post(
        serde_json::json!({"jsonrpc":"2.0","id":1,"method":"eth_getLogs",
        "params":[{"fromBlock":"0x0","toBlock":"latest"}]}),
    );
    assert_eq!(few["result"], serde_json::json!([]), "{few}");
    let unknown = post(serde_json::json!({"jsonrpc":"2.0","id":1,"method":"eth_mine","params":[]}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let bad = post(
        serde_json::json!({"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x01"]}),
    );
    assert_eq!(bad["error"]["code"], -32000, "{bad}");
    assert_eq!(bad["error"]["data"]["code"], 90, "{bad}");
    node.stop().unwrap();
}

/// The ERC-20 bytecode `yun bench evm` embeds is exactly what its source compiles to with the
/// pinned solc-js (`examples/contracts/scripts/build.mjs --check`), so the bench never runs a
/// contract nobody can read.
#[test]
fn the_embedded_bench_token_is_its_source_compiled() {
    let dir = contracts_dir();
    npm_install(&dir);
    let out = Command::new("node")
        .args(["scripts/build.mjs", "--check"])
        .current_dir(&dir)
        .output()
        .expect("running node: Node.js 20 or later must be installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok - build/BenchToken.bin"), "{text}");
}
