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
    let text = support::output_text(&out);
    println!("{text}");
    let tags = block_tags_answer_at_the_head_only(&format!("{}/eth", node.api_url()));
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
    tags.unwrap_or_else(|e| panic!("{e}"));
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

/// State is kept at the head only: a state query naming the head (by tag, number or hash)
/// is answered, an older block is refused in words (-32000) and a future or unknown one with
/// -32001, never answered silently from the head. Needs a chain past block 1. Returns what
/// went wrong, so the caller can stop its node first.
fn block_tags_answer_at_the_head_only(url: &str) -> Result<(), String> {
    let call = |method: &str, params: serde_json::Value| {
        support::json_rpc(
            url,
            &serde_json::json!({"jsonrpc":"2.0","id":1,"method":method,"params":params}),
        )
    };
    let who = "0x0000000000000000000000000000000000000001";
    let balance = |tag: serde_json::Value| call("eth_getBalance", serde_json::json!([who, tag]));
    let head = call("eth_getBlockByNumber", serde_json::json!(["latest", false]))["result"].clone();
    let (number, hash) = (head["number"].clone(), head["hash"].clone());
    let n = u64::from_str_radix(
        number.as_str().unwrap_or("0x0").trim_start_matches("0x"),
        16,
    )
    .map_err(|e| e.to_string())?;
    if n < 2 {
        return Err(format!(
            "the chain is too short to ask for an older block: {head}"
        ));
    }
    for tag in [
        serde_json::json!("latest"),
        serde_json::json!("finalized"),
        serde_json::json!("pending"),
        serde_json::json!({ "blockHash": hash }),
    ] {
        let r = balance(tag.clone());
        if r.get("result").is_none() {
            return Err(format!("{tag} is the head (block {n}) but got {r}"));
        }
    }
    let old = balance(serde_json::json!(format!("{:#x}", n - 1)));
    let refused = old["error"]["code"] == -32000
        && old["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("historical state is not kept"));
    if !refused {
        return Err(format!(
            "block {} (older than the head) was not refused: {old}",
            n - 1
        ));
    }
    let future = balance(serde_json::json!(format!("{:#x}", n + 1_000)));
    let unknown = balance(serde_json::json!({ "blockHash": format!("0x{}", "ab".repeat(32)) }));
    for r in [&future, &unknown] {
        if r["error"]["code"] != -32001 {
            return Err(format!(
                "a future or unknown block was not refused with -32001: {r}"
            ));
        }
    }
    Ok(())
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
    let post = |body: serde_json::Value| support::json_rpc(&url, &body);
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
    let text = support::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok - build/BenchToken.bin"), "{text}");
}
