//! What a newcomer does first, through the `yun` binary with nothing but `--node`: sign as
//! `dev0` on a devnet whose data directory the CLI was never told about, list jobs and the
//! queue, and be refused `dev0` on a chain without dev accounts, with a message that says so.
//! A real keystore key named `dev0` wins over the dev account.

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use yun_cli::keys::dev_account;

mod common;

/// Runs `yun ARGS --node NODE` with `YUN_HOME` at `home` and no devnet directory or variable.
fn yun(node: &str, home: &Path, args: &[&str]) -> (i32, String, String) {
    common::outcome(
        Command::new(env!("CARGO_BIN_EXE_yun"))
            .args(args)
            .args(["--node", node])
            .env("YUN_HOME", home)
            .env_remove("YUN_DEVNET_DIR")
            .env_remove("YUN_NODE")
            .env("YUN_PASSPHRASE", "newcomer passphrase"),
    )
}

fn ok_json(node: &str, home: &Path, args: &[&str]) -> Value {
    let (code, stdout, stderr) = yun(node, home, &[args, &["--output", "json"]].concat());
    assert_eq!(code, 0, "yun {args:?} failed:\n{stderr}\n{stdout}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn post_job(node: &str, home: &Path, tasks: &str) -> String {
    let program = "cd".repeat(32);
    let r = ok_json(
        node,
        home,
        &[
            "job",
            "post",
            "--program",
            &program,
            "--program-bytes",
            "100",
            "--tasks",
            tasks,
            "--fuel",
            "1000000",
            "--memory-mb",
            "16",
            "--bid",
            "5",
            "--from",
            "dev0",
        ],
    );
    r["job"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string()
}

#[test]
fn dev0_signs_with_only_node_and_jobs_list() {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let (mut cfg, _) = yun_cli::devnet::prepare(data.path(), port, false, 3, &[]).unwrap();
    cfg.timing.min_block_interval_ms = 20;
    let node = yun_node::run::spawn_node(cfg).unwrap();
    let url = node.api_url();
    let home = home.path();

    // dev0 and dev1 resolve through the node's genesis: no --devnet-dir, no YUN_DEVNET_DIR.
    let t = ok_json(
        &url,
        home,
        &[
            "tx", "transfer", "--from", "dev0", "--to", "dev1", "--amount", "1000",
        ],
    );
    assert_eq!(t["tx"]["sender"], dev_account(0).address.to_string(), "{t}");
    let (code, _, err) = yun(&url, home, &["account", "dev7"]);
    assert_ne!(code, 0, "the devnet has dev0 … dev2 only");
    assert!(err.contains("dev0 … dev2"), "{err}");

    // Two jobs nobody can run (no provider): both open, all their tasks queued.
    let a = post_job(&url, home, "3");
    let b = post_job(&url, home, "2");
    let all = ok_json(&url, home, &["job", "list"]);
    let ids: Vec<&str> = all["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort();
    assert_eq!(ids, want, "{all}");
    assert!(all["next_after"].is_null(), "{all}");
    let mine = ok_json(
        &url,
        home,
        &["job", "list", "--requester", "dev0", "--status", "open"],
    );
    assert_eq!(mine["jobs"].as_array().unwrap().len(), 2, "{mine}");
    assert_eq!(mine["jobs"][0]["status"], "open");
    let none = ok_json(&url, home, &["job", "list", "--requester", "dev1"]);
    assert!(none["jobs"].as_array().unwrap().is_empty(), "{none}");
    let settled = ok_json(&url, home, &["job", "list", "--status", "settled"]);
    assert!(settled["jobs"].as_array().unwrap().is_empty(), "{settled}");

    // Pages: one job a page, the cursor leads to the other and then ends.
    let p1 = ok_json(&url, home, &["job", "list", "--limit", "1"]);
    assert_eq!(p1["jobs"].as_array().unwrap().len(), 1, "{p1}");
    let next = p1["next_after"].as_str().unwrap().to_string();
    let p2 = ok_json(
        &url,
        home,
        &["job", "list", "--limit", "1", "--after", &next],
    );
    assert_eq!(p2["jobs"][0]["id"], want[1], "{p2}");
    let p3 = ok_json(&url, home, &["job", "list", "--after", want[1]]);
    assert!(p3["jobs"].as_array().unwrap().is_empty(), "{p3}");

    // The queue: five tasks, paged by JOB:INDEX.
    let q = ok_json(&url, home, &["job", "queue"]);
    assert_eq!(q["queue_tasks"], 5, "{q}");
    assert_eq!(q["tasks"].as_array().unwrap().len(), 5, "{q}");
    let q1 = ok_json(&url, home, &["job", "queue", "--limit", "4"]);
    let after = q1["next_after"].as_str().unwrap().to_string();
    let q2 = ok_json(&url, home, &["job", "queue", "--after", &after]);
    assert_eq!(q2["tasks"].as_array().unwrap().len(), 1, "{q2}");
    assert_eq!(
        format!(
            "{}:{}",
            q2["tasks"][0]["job"].as_str().unwrap(),
            q2["tasks"][0]["index"]
        ),
        format!("{}:{}", want[1], if want[1] == a { 2 } else { 1 }),
    );

    // A bad filter is a numbered error, in words.
    let (code, _, err) = yun(&url, home, &["job", "queue", "--after", "nonsense"]);
    assert_ne!(code, 0);
    assert!(err.contains("JOB:INDEX"), "{err}");

    // A real key named dev0 wins over the dev account.
    let out = Command::new(env!("CARGO_BIN_EXE_yun"))
        .args(["keys", "new", "dev0"])
        .env("YUN_HOME", home)
        .env("YUN_PASSPHRASE", "newcomer passphrase")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let acct = ok_json(&url, home, &["account", "dev0"]);
    assert_ne!(
        acct["address"],
        dev_account(0).address.to_string(),
        "{acct}"
    );
}

#[test]
fn dev0_is_refused_on_a_chain_without_dev_accounts() {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let (cfg, _) = yun_cli::devnet::prepare(data.path(), port, false, 2, &[]).unwrap();
    // The same chain, but its genesis does not mark dev accounts (as a real chain's would not),
    // although it funds their addresses.
    let path = data.path().join("genesis.json");
    let mut genesis: yun_types::Genesis =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    genesis.dev_accounts = 0;
    std::fs::write(&path, serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
    let node = yun_node::run::spawn_node(cfg).unwrap();
    let url = node.api_url();

    let to = dev_account(1).address.to_string();
    let (code, stdout, err) = yun(
        &url,
        home.path(),
        &[
            "tx", "transfer", "--from", "dev0", "--to", &to, "--amount", "1",
        ],
    );
    assert_ne!(code, 0, "{stdout}");
    assert!(err.contains("is not a dev chain"), "{err}");
    assert!(err.contains("yun keys new dev0"), "{err}");

    // With no node to ask, the message says what to do.
    let (code, _, err) = yun("http://127.0.0.1:9", home.path(), &["account", "dev0"]);
    assert_ne!(code, 0);
    assert!(err.contains("start `yun devnet`"), "{err}");
}
