//! The market through the `yun` binary against an in-process devnet: a provider registers, a
//! job too big for it waits (and `job why` says it is memory), a job that fits is matched in
//! the block that posts it and shows up in the provider's assignments, cancelling refunds the
//! escrow, and unknown ids are numbered NotFound errors.

use serde_json::Value;
use yun_cli::devnet::DEV_BALANCE;
use yun_cli::keys::dev_account;
use yun_client::Client;

mod common;
use common::Yun;

#[test]
fn provider_job_why_market_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let (mut cfg, _) = yun_cli::devnet::prepare(dir.path(), port, false, 3, &[]).unwrap();
    cfg.timing.min_block_interval_ms = 20;
    let node = yun_node::run::spawn_node(cfg).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = Client::new(&node.api_url());
    let yun = Yun {
        node: node.api_url(),
        dir: dir.path(),
    };

    // dev1 offers two 64 MiB slots at 1 per Mfuel.
    yun.ok(&[
        "provider",
        "register",
        "--slots",
        "2",
        "--memory-mb",
        "64",
        "--ask",
        "1",
        "--bond",
        "2000000",
        "--endpoint",
        "http://127.0.0.1:9",
        "--label",
        "region=eu",
        "--from",
        "dev1",
    ]);
    let p = yun.json(&["provider", "status", "dev1"]);
    assert_eq!(p["bond"], "2000000", "{p}");
    assert_eq!(p["spec"]["slots"], 2, "{p}");
    assert_eq!(p["status"]["state"], "active", "{p}");
    assert_eq!(p["address"], dev_account(1).address.to_string());
    let listed = yun.json(&["provider", "list"]);
    assert_eq!(listed["providers"].as_array().unwrap().len(), 1, "{listed}");
    assert!(
        yun.ok(&["provider", "status", "dev1"])
            .contains("2 (0 busy, 2 free)")
    );
    // It declared this machine's sandbox engine class, and `status` shows it.
    let sandbox = yun_exec::Sandbox::new(yun_exec::SandboxConfig::default()).unwrap();
    let class = sandbox.engine_fingerprint().hash_hex();
    assert_eq!(p["spec"]["engine_class"], class.as_str(), "{p}");
    assert!(
        yun.ok(&["provider", "status", "dev1"])
            .contains(&format!("engine:      {class}"))
    );

    // A job that wants 128 MiB per task waits, and `why` says memory.
    let program = "ab".repeat(32);
    let post = |tasks: &str, memory: &str, verify: &str| {
        yun.json(&[
            "job",
            "post",
            "--program",
            &program,
            "--program-bytes",
            "1000",
            "--tasks",
            tasks,
            "--fuel",
            "1000000",
            "--memory-mb",
            memory,
            "--bid",
            "5",
            "--verify",
            verify,
            "--label",
            "region=eu",
            "--from",
            "dev0",
        ])
    };
    let big = post("2", "128", "k=3,q=2");
    let big_id = big["job"].as_str().unwrap().to_string();
    let big_escrow = big["escrow"].as_str().unwrap().to_string();
    assert_eq!(big_escrow, "50", "2 tasks × 5 replicas × 1 Mfuel × 5");
    let why = yun.ok(&["job", "why", &big_id]);
    assert!(why.contains("task 0:") && why.contains("task 1:"), "{why}");
    assert!(why.contains("enough memory"), "{why}");
    assert!(why.contains("excluded: memory 1"), "{why}");
    let why = yun.json(&["job", "why", &big_id]);
    assert_eq!(
        why["tasks"][0]["reason"]["reason"], "no_provider_with_enough_memory",
        "{why}"
    );

    let m = yun.json(&["market"]);
    assert_eq!(m["price_index"]["compute_per_mfuel"], "1", "{m}");
    // No storage offer yet: the storage index is at its floor.
    assert_eq!(m["price_index"]["storage_per_mib_epoch"], "1", "{m}");
    // The index counts the slots a provider has shown by committing replicas at once (at
    // least one each): dev1 declared two but has committed none yet.
    assert_eq!(m["slots_total"], 1, "{m}");
    assert_eq!(m["queue_tasks"], 2, "{m}");
    assert!(m["params"]["provider_bond_min"].is_string(), "{m}");
    assert!(yun.ok(&["market"]).contains("compute 1 per Mfuel"));
    // The devnet's genesis admits this binary's engine class, and only it; `market` lists it.
    assert_eq!(
        m["params"]["engine_classes"],
        serde_json::json!([class]),
        "{m}"
    );
    assert!(
        yun.ok(&["market"])
            .contains(&format!("engine classes:  {class} "))
    );

    // A job that fits is matched at the end of the block that posts it.
    let small = post("1", "32", "none");
    let small_id = small["job"].as_str().unwrap().to_string();
    let a = yun.json(&["provider", "assignments", "dev1"]);
    let list = a["assignments"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{a}");
    assert_eq!(list[0]["job"], small_id.as_str());
    assert_eq!(list[0]["state"]["state"], "assigned");
    assert_eq!(
        list[0]["engine_class"],
        class.as_str(),
        "drawn for dev1's class"
    );
    assert!(list[0]["deadline"].as_u64().unwrap() > 0);
    let m = yun.json(&["market"]);
    assert_eq!(m["slots_busy"], 1, "{m}");
    assert_eq!(m["recent_clearing"][0]["price_per_mfuel"], "1", "{m}");
    let why = yun.ok(&["job", "why", &small_id]);
    assert!(why.contains("waiting for providers to commit"), "{why}");
    assert!(
        yun.ok(&["job", "status", &small_id])
            .contains(" assigned by ")
    );

    // A provider with a task in flight cannot exit: the numbered reason reaches the user.
    let (code, _, stderr) = yun.run(&["provider", "exit", "--from", "dev1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("TasksInFlight (22)"), "{stderr}");
    yun.ok(&["provider", "pause", "--from", "dev1"]);
    assert_eq!(
        yun.json(&["provider", "status", "dev1"])["status"]["state"],
        "paused"
    );
    // Resuming at once would flip capacity in and out of the price index: it waits
    // `slots_change_interval_blocks` after the pause, and the user is told so.
    let (code, _, stderr) = yun.run(&["provider", "pause", "--resume", "--from", "dev1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("ResumeTooSoon (53)"), "{stderr}");
    yun.ok(&["provider", "update", "--ask", "2", "--from", "dev1"]);
    let p = yun.json(&["provider", "status", "dev1"]);
    assert_eq!(
        (&p["status"]["state"], &p["spec"]["ask_per_mfuel"]),
        (&Value::from("paused"), &Value::from("2"))
    );
    assert_eq!(
        p["spec"]["labels"][0]["key"], "region",
        "update keeps labels"
    );

    // Cancelling the waiting job settles it at once and refunds all its escrow.
    yun.ok(&["job", "cancel", &big_id, "--from", "dev0"]);
    let j = yun.json(&["job", "status", &big_id]);
    assert_eq!(j["status"], "settled", "{j}");
    assert_eq!(j["escrow"], "0");
    assert_eq!(j["refunded"], big_escrow.as_str());
    assert_eq!(j["tasks"][0]["phase"]["phase"], "failed");
    assert_eq!(j["tasks"][0]["phase"]["reason"], "cancelled");
    // The running one is cancelled but keeps its escrow until its replica finishes.
    yun.ok(&["job", "cancel", &small_id, "--from", "dev0"]);
    let j = yun.json(&["job", "status", &small_id]);
    assert_eq!(j["status"], "cancelled", "{j}");
    let small_escrow: u128 = j["escrow"].as_str().unwrap().parse().unwrap();
    let dev0 = rt
        .block_on(client.account(&dev_account(0).address))
        .unwrap();
    // What dev0's four transactions paid, each by its size and writes (their receipts).
    let ids = rt
        .block_on(client.account_txs(&dev_account(0).address, 100))
        .unwrap();
    assert_eq!(ids.len(), 4, "two posts and two cancels");
    let fees: u128 = ids
        .iter()
        .map(|id| {
            let t = rt.block_on(client.tx(id)).unwrap();
            t.receipt.expect("committed").fee_paid.base_units()
        })
        .sum();
    assert_eq!(
        dev0.balance.base_units(),
        DEV_BALANCE - fees - small_escrow,
        "four fees paid, the big job refunded, the small one's escrow still locked"
    );
    let r = yun.json(&["job", "requester", "dev0"]);
    assert_eq!(r["jobs_posted"], 2, "{r}");

    // Provider pages: one at a time, in address order, with a cursor.
    yun.ok(&[
        "provider",
        "register",
        "--slots",
        "1",
        "--memory-mb",
        "16",
        "--ask",
        "3",
        "--bond",
        "1000000",
        "--endpoint",
        "https://p2.example",
        "--from",
        "dev2",
    ]);
    let first = yun.json(&["provider", "list", "--limit", "1"]);
    let one = first["providers"][0]["address"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(first["next_after"], one.as_str(), "{first}");
    let second = yun.json(&["provider", "list", "--limit", "1", "--after", &one]);
    let two = second["providers"][0]["address"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(second["next_after"].is_null(), "{second}");
    let mut both = [one, two];
    both.sort();
    let mut expected = [1, 2].map(|i| dev_account(i).address.to_string());
    expected.sort();
    assert_eq!(both, expected);
    let all = rt.block_on(client.providers(1000, None)).unwrap();
    assert_eq!(all.providers.len(), 2);
    assert!(all.providers[0].address.as_bytes() < all.providers[1].address.as_bytes());

    // Unknown ids and bad input.
    let unknown = "cd".repeat(32);
    let (code, _, stderr) = yun.run(&["job", "status", &unknown]);
    assert_eq!(code, 1);
    assert!(stderr.contains("NotFound (102)"), "{stderr}");
    let err = rt
        .block_on(client.provider(&dev_account(0).address))
        .unwrap_err();
    assert_eq!(err.code(), Some(102), "{err:?}");
    let err = rt
        .block_on(client.job_why(&unknown.parse().unwrap()))
        .unwrap_err();
    assert_eq!(err.code(), Some(102), "{err:?}");
    let (code, _, stderr) = yun.run(&[
        "job",
        "post",
        "--program",
        &program,
        "--program-bytes",
        "1",
        "--tasks",
        "1",
        "--fuel",
        "1",
        "--memory-mb",
        "1",
        "--bid",
        "1",
        "--verify",
        "adaptive=2",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("above 0 and below 1"), "{stderr}");
    let api = rt.block_on(client.openapi()).unwrap();
    for path in [
        "/v1/market",
        "/v1/providers",
        "/v1/providers/{address}",
        "/v1/providers/{address}/assignments",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/why",
        "/v1/requesters/{address}",
    ] {
        assert!(
            api["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    assert!(api["components"]["schemas"]["WaitReason"].is_object());
    node.stop().unwrap();
}
