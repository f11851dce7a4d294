//! A contract buys verified compute, end to end on an in-process devnet with three provider
//! agents: `examples/contracts/test/compute.mjs` (ethers.js v6, solc-js) deploys
//! `ComputeBounty`, which posts a pi job (2 tasks and a reduce, each on 3 providers, 2 must
//! agree) through the compute precompile; the agents run it; the chain's settlement callback
//! pays the claimant. The digest the contract stored is checked here against the reduce
//! verdict the node reports. Needs Node.js and npm (never skips) and the guests built by
//! `./scripts/build-guest`.

use yun_cli::keys::key_from_mnemonic;
use yun_cli::provider_run::provider_account;
use yun_client::Uploader;
use yun_types::Hash32;
use yun_types::api::TaskPhase;

mod support;

use support::{contracts_dir, npm_install};

/// The value printed after `prefix` on a line of `text`.
fn printed<'t>(text: &'t str, prefix: &str) -> &'t str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{text}"))
}

#[test]
fn a_contract_buys_verified_compute_and_its_callback_pays_the_bounty() {
    let dir = contracts_dir();
    npm_install(&dir);
    let pi = support::guest("pi");
    let net = support::Devnet::start(3, 200, |_| {});
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut agents = Vec::new();
        for i in 0..3 {
            agents.push(net.agent(i).await);
        }
        // The program goes to the node the providers follow, under a funded account's ticket.
        let uploader_key = key_from_mnemonic(&provider_account(0).mnemonic.parse().unwrap());
        let (root, bytes) = net
            .client
            .put_blob_file_as(&pi, &Uploader::new(uploader_key))
            .await
            .unwrap();
        let keys = yun_cli::eth_dev::eth_dev_accounts(2).unwrap();
        let out = tokio::process::Command::new("node")
            .arg("test/compute.mjs")
            .current_dir(&dir)
            .env("RPC_URL", format!("{}/eth", net.node.api_url()))
            .env("SPONSOR_KEY", &keys[0].private_key)
            .env("CLAIMANT_KEY", &keys[1].private_key)
            .env("PROGRAM_ROOT", format!("0x{}", hex::encode(root.0)))
            .env("PROGRAM_BYTES", bytes.to_string())
            .env("TASKS", "2")
            .output()
            .await
            .expect("running node: Node.js 20 or later must be installed");
        let text = support::output_text(&out);
        println!("{text}");
        assert!(out.status.success(), "the ethers.js test failed:\n{text}");
        for line in [
            "ok - the state tests' fixtures match a fresh compile",
            "ok - a stranger's post reverts with \"only the sponsor posts\"",
            "YunRejected(98, CallbackGasTooHigh)",
            "ok - the callback released the bounty: the claimant's balance rose by exactly the bounty",
            "all ok",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        // What the contract was paid for is what the network verified: the reduce's digest.
        let job_id: Hash32 = printed(&text, "job ").parse().unwrap();
        let digest: Hash32 = printed(&text, "result digest ").parse().unwrap();
        let job = net.client.job(&job_id).await.unwrap();
        // The market's requester is the contract (its pseudo-address).
        let bounty = printed(&text, "ok - ComputeBounty deployed at ")
            .split_whitespace()
            .next()
            .unwrap();
        assert_eq!(
            yun_types::evm::EthAddress::from_pseudo_address(&job.job.requester),
            Some(yun_types::evm::EthAddress::parse(bounty).unwrap())
        );
        let reduce = job.reduce.expect("the reduce ran on the network");
        let TaskPhase::Verified { verdict } = reduce.task.phase else {
            panic!("the reduce is verified: {:?}", reduce.task.phase)
        };
        assert_eq!(verdict.output_digest, digest);
        for t in &job.tasks {
            assert!(matches!(t.task.phase, TaskPhase::Verified { .. }), "{t:?}");
        }
        for a in agents {
            a.shutdown().await.unwrap();
        }
    });
    net.node.stop().unwrap();
}
