//! Governance and the faucet through the `yun` binary against an in-process devnet: a
//! proposal halves the market's price step (doubles `market.price_step_divisor`), passes on a
//! lock's votes, and the market runs under the new value from the stated height on; `yun
//! faucet` solves the puzzle and is paid once, refused a second time in the epoch with its
//! numbered reason, and refused on a chain whose genesis has no faucet.

use std::time::{Duration, Instant};
use yun_client::Client;

mod common;
use common::Yun;

/// A devnet whose genesis `edit` changes, with fast idle blocks.
fn devnet(
    dir: &std::path::Path,
    edit: impl FnOnce(&mut serde_json::Value),
) -> yun_node::run::NodeHandle {
    let port = yun_cli::devnet::free_port().unwrap();
    let (mut cfg, _) = yun_cli::devnet::prepare(dir, port, false, 3, &[]).unwrap();
    let path = dir.join("genesis.json");
    let mut g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut g);
    std::fs::write(&path, g.to_string()).unwrap();
    cfg.timing.min_block_interval_ms = 20;
    cfg.timing.idle_block_interval_ms = 100;
    yun_node::run::spawn_node(cfg).unwrap()
}

#[test]
fn a_proposal_halves_the_price_step_and_the_market_uses_it_from_its_height() {
    let dir = tempfile::tempdir().unwrap();
    let node = devnet(dir.path(), |g| {
        g["params"]["governance"]["voting_period_blocks"] = 15.into();
        g["params"]["governance"]["deposit_min"] = "1000".into();
    });
    let yun = Yun {
        node: node.api_url(),
        dir: dir.path(),
    };
    let client = Client::new(&node.api_url());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let step_divisor = |rt: &tokio::runtime::Runtime| {
        let m = rt.block_on(client.market()).unwrap();
        (m.height, m.params.price_step_divisor)
    };
    let (_, before) = step_divisor(&rt);
    let halved = (before * 2).to_string();

    yun.ok(&["gov", "lock", "--amount", "1000000", "--from", "dev0"]);
    let power = yun.json(&["gov", "power", "dev0"]);
    assert_eq!(power["locked"], "1000000", "{power}");
    assert_ne!(power["total"], "0", "{power}");

    let height = rt.block_on(client.status()).unwrap().height;
    let apply_at = height + 40;
    let set = format!("market.price_step_divisor={halved}");
    let proposed = yun.ok(&[
        "gov",
        "propose",
        "--set",
        &set,
        "--apply-height",
        &apply_at.to_string(),
        "--from",
        "dev1",
    ]);
    assert!(proposed.contains("proposed"), "{proposed}");
    yun.ok(&["gov", "vote", "1", "yes", "--from", "dev0"]);
    let shown = yun.json(&["gov", "show", "1"]);
    assert_eq!(shown["status"], "voting", "{shown}");
    assert_eq!(shown["votes"][0]["choice"], "yes", "{shown}");

    // Each answer is the state after block `height`, which block `height + 1` runs under.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (h, divisor) = step_divisor(&rt);
        seen.push((h, divisor));
        if h >= apply_at || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(
        seen.last().unwrap().0 >= apply_at,
        "the chain stalled: {seen:?}"
    );
    for (h, divisor) in &seen {
        let expected = if h + 1 >= apply_at {
            before * 2
        } else {
            before
        };
        assert_eq!(
            *divisor, expected,
            "after block {h} (applies from {apply_at}): {seen:?}"
        );
    }
    assert!(seen.iter().any(|(h, _)| h + 1 < apply_at), "{seen:?}");
    let shown = yun.json(&["gov", "show", "1"]);
    assert_eq!(shown["status"], "applied", "{shown}");
    assert_ne!(shown["tally"]["yes"], "0", "{shown}");
    let list = yun.ok(&["gov", "list"]);
    assert!(list.contains("param_change"), "{list}");

    // A change genesis would refuse is refused before it costs anything.
    let (code, _, stderr) = yun.run(&[
        "gov",
        "propose",
        "--set",
        "market.price_step_divisor=0",
        "--from",
        "dev1",
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("ParamChangeRefused"), "{stderr}");
}

#[test]
fn yun_faucet_pays_once_per_epoch_and_only_where_enabled() {
    let dir = tempfile::tempdir().unwrap();
    // Long epochs, so the second claim lands in the first one's epoch.
    let node = devnet(dir.path(), |g| {
        g["params"]["staking"]["epoch_blocks"] = 10_000.into();
        g["params"]["staking"]["unbonding_blocks"] = 80_000.into();
    });
    let yun = Yun {
        node: node.api_url(),
        dir: dir.path(),
    };
    let before = yun.json(&["account", "dev1"]);
    let started = Instant::now();
    let claimed = yun.ok(&["faucet", "--from", "dev1"]);
    let took = started.elapsed();
    assert!(claimed.contains("claimed"), "{claimed}");
    println!("yun faucet at the devnet difficulty: {claimed} (whole command {took:?})");
    let after = yun.json(&["account", "dev1"]);
    let paid = yun_cli::devnet::DEVNET_FAUCET_AMOUNT;
    let balance = |v: &serde_json::Value| v["balance"].as_str().unwrap().parse::<u128>().unwrap();
    assert_eq!(
        balance(&after),
        balance(&before) + paid,
        "fee-free and paid"
    );

    let (code, _, stderr) = yun.run(&["faucet", "--from", "dev1"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("FaucetAlreadyClaimed (85)"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let node = devnet(dir.path(), |g| {
        g["params"]["faucet"]["enabled"] = false.into();
    });
    let yun = Yun {
        node: node.api_url(),
        dir: dir.path(),
    };
    let (code, _, stderr) = yun.run(&["faucet", "--from", "dev1"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("FaucetNotEnabled"), "{stderr}");
}
