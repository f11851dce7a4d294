//! Storage deals end to end on an in-process devnet with four storage providers (the agents'
//! storage loop, `yun storage put/get`): a deal's whole life — stored with three replicas,
//! proven and paid epoch after epoch, one holder loses its copy and misses until it is
//! slashed and replaced, the new holder repairs from the others (the upload node forgot the
//! file), the file comes back byte for byte, and the rest of the escrow returns at the end —
//! an encrypted round trip in which no provider's or node's file holds the plaintext, and a
//! job submitted with `--keep-outputs-epochs` whose verified outputs are kept under deals.

use std::path::Path;
use std::time::Duration;
use yun_cli::keys::dev_account;
use yun_cli::storage::{GetArgs, PutArgs, PutReport, run_get, run_put};
use yun_provider::{AgentHandle, Fault, StorageOffer};
use yun_types::api_storage::{DealResponse, DealStatus, StorageReplicaState};
use yun_types::{Address, Amount, Hash32};

const PROVIDERS: usize = 4;
/// Each provider's storage ask per MiB-epoch (a proven period pays at least the chain's
/// minimum, 1,000, whatever the ask).
const ASK: u128 = 2_000;

mod support;
use support::files_containing;

/// A devnet (10-block storage epochs, 5-block proof windows) with blocks every 250 ms while a
/// deal waits on the chain.
struct Net(support::Devnet);

impl std::ops::Deref for Net {
    type Target = support::Devnet;
    fn deref(&self) -> &support::Devnet {
        &self.0
    }
}

impl Net {
    fn start() -> Net {
        Net(support::Devnet::start(PROVIDERS, 250, |_| {}))
    }

    /// Provider `i` with one compute slot and 1 GiB of storage at [`ASK`].
    async fn agent(&self, i: usize, fault: Option<Fault>) -> AgentHandle {
        let mut cfg = self.agent_config(i);
        cfg.fault = fault;
        cfg.storage = Some(StorageOffer {
            capacity_bytes: 1 << 30,
            ask_per_mib_epoch: Amount::new(ASK),
        });
        yun_provider::start(cfg).await.unwrap()
    }

    async fn put(&self, file: &Path, replicas: u8, epochs: u32, encrypt: bool) -> PutReport {
        let args = PutArgs {
            file: file.to_path_buf(),
            replicas,
            epochs,
            bid: Some("5000".into()),
            encrypt,
            sign: support::sign("dev0"),
        };
        run_put(&args, &self.opts()).await.unwrap()
    }

    async fn get(&self, root: &Hash32, out: &Path) -> yun_cli::storage::GetReport {
        let args = GetArgs {
            root: root.to_string(),
            out: Some(out.to_path_buf()),
            deal: None,
            from: "dev0".into(),
        };
        run_get(&args, &self.opts()).await.unwrap()
    }

    /// Polls the deal until `done` holds (a block every 250 ms; at most 3 minutes).
    async fn wait_deal(
        &self,
        id: &Hash32,
        what: &str,
        done: impl Fn(&DealResponse) -> bool,
    ) -> DealResponse {
        for _ in 0..1_800 {
            let d = self.client.storage_deal(id).await.unwrap();
            if done(&d) {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "deal {id} never reached `{what}`: {:#?}",
            self.client.storage_deal(id).await
        )
    }
}

/// Bytes that are not all alike, with `marker` written every 64 KiB.
fn file_bytes(len: usize, marker: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = (0..len).map(|i| (i * 131 + i / 997) as u8).collect();
    for at in (0..len.saturating_sub(marker.len())).step_by(64 * 1024) {
        b[at..at + marker.len()].copy_from_slice(marker);
    }
    b
}

fn holding(d: &DealResponse) -> Vec<Address> {
    d.replicas
        .iter()
        .filter(|r| r.replica.state == StorageReplicaState::Holding)
        .map(|r| r.replica.provider)
        .collect()
}

/// Deletes a blob (and its outboard) from a blob store directory.
fn delete_blob(store: &Path, root: &Hash32) {
    std::fs::remove_file(store.join(root.to_string())).unwrap();
    let _ = std::fs::remove_file(store.join(format!("{root}.outboard")));
}

#[test]
fn a_deals_whole_life_proofs_pay_a_lost_copy_is_slashed_replaced_and_repaired_and_the_rest_is_refunded()
 {
    let net = Net::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut agents = Vec::new();
        for i in 0..PROVIDERS {
            agents.push(Some(net.agent(i, None).await));
        }
        let addresses: Vec<Address> = agents.iter().map(|a| a.as_ref().unwrap().address).collect();
        let mut started = Vec::new();
        for a in &addresses {
            started.push(net.balance(a).await);
        }
        let owner = dev_account(0).address;
        let data = file_bytes(1024 * 1024 + 123, b"whole-life");
        let file = net.dir.path().join("file.bin");
        std::fs::write(&file, &data).unwrap();
        let epochs = 18;
        let put = net.put(&file, 3, epochs, false).await;
        assert_eq!(put.root, Hash32::digest(&data));
        assert_eq!(put.size_bytes, data.len() as u64);
        let after_put = net.balance(&owner).await;

        // Proofs pass for several epochs, and every holder is paid more than its fees.
        let d = net
            .wait_deal(&put.deal, "three holders paid for 2 epochs", |d| {
                holding(d).len() == 3 && d.replicas.iter().all(|r| r.replica.epochs_paid >= 2)
            })
            .await;
        assert_eq!(d.status, DealStatus::Active);
        let holders = holding(&d);
        for (i, a) in addresses.iter().enumerate() {
            if holders.contains(a) {
                let now = net.balance(a).await;
                assert!(
                    now > started[i],
                    "holder {a} was not paid: {} -> {now}",
                    started[i]
                );
                let r = d
                    .replicas
                    .iter()
                    .find(|r| r.replica.provider == *a)
                    .unwrap();
                assert!(
                    r.replica.paid >= Amount::new(2 * 2 * ASK),
                    "{:?}",
                    r.replica
                );
            }
        }

        // The upload node forgets the file, and one holder loses its copy and does not repair
        // it: it misses, is slashed, and is replaced.
        delete_blob(&net.node_blobs, &put.root);
        let victim = addresses.iter().position(|a| *a == holders[0]).unwrap();
        agents[victim].take().unwrap().kill().await;
        delete_blob(&net.provider_dir(victim).join("blobs"), &put.root);
        agents[victim] = Some(net.agent(victim, Some(Fault::NoStorageRepair)).await);
        let victim_address = addresses[victim];
        let d = net
            .wait_deal(&put.deal, "the victim replaced", |d| {
                d.replicas.iter().any(|r| {
                    r.replica.provider == victim_address
                        && r.replica.state == StorageReplicaState::Replaced
                })
            })
            .await;
        let lost = d
            .replicas
            .iter()
            .find(|r| r.replica.provider == victim_address)
            .unwrap();
        assert!(lost.replica.misses_total >= 1, "{:?}", lost.replica);
        assert!(
            !lost.replica.slashed.is_zero(),
            "a missed window slashes: {:?}",
            lost.replica
        );

        // The replacement (replica 3) copies the data from the two remaining holders (nobody
        // else has it: the upload node forgot it, the victim lost it) and proves it. The chain
        // draws it among every offer without a live replica of the deal, so it may be the
        // fourth provider or, with a fresh replica, the victim again.
        let d = net
            .wait_deal(&put.deal, "the replacement repaired and proved", |d| {
                d.replicas
                    .iter()
                    .any(|r| r.index >= 3 && r.replica.epochs_paid >= 1)
            })
            .await;
        assert_eq!(holding(&d).len(), 3, "{d:#?}");
        let replacement = d.replicas.iter().find(|r| r.index == 3).unwrap();
        assert_eq!(replacement.replica.state, StorageReplicaState::Holding);

        // The file comes back byte for byte from the holders.
        let out = net.dir.path().join("back.bin");
        let got = net.get(&put.root, &out).await;
        assert_eq!(std::fs::read(&out).unwrap(), data);
        assert!(!got.encrypted);

        // At the end the unspent escrow returns to the owner in the same block.
        let d = net
            .wait_deal(&put.deal, "ended", |d| d.status == DealStatus::Ended)
            .await;
        assert!(d.escrow.is_zero(), "{d:#?}");
        assert!(
            !d.refunded.is_zero(),
            "the victim's unpaid epochs come back: {d:#?}"
        );
        assert_eq!(d.paid.checked_add(d.refunded).unwrap(), put.escrow_max);
        assert_eq!(
            net.balance(&owner).await,
            after_put.checked_add(d.refunded).unwrap()
        );
        let paid_total: Amount =
            Amount::checked_sum(d.replicas.iter().map(|r| r.replica.paid)).unwrap();
        assert_eq!(paid_total, d.paid);
        for a in agents.into_iter().flatten() {
            a.shutdown().await.unwrap();
        }
    });
}

#[test]
fn an_encrypted_round_trip_leaves_no_plaintext_with_any_provider_or_node() {
    let net = Net::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut agents = Vec::new();
        for i in 0..PROVIDERS {
            agents.push(net.agent(i, None).await);
        }
        let marker = b"PLAINTEXT-MARKER-7f3a9c";
        let data = file_bytes(512 * 1024 + 7, marker);
        let file = net.dir.path().join("secret.bin");
        std::fs::write(&file, &data).unwrap();
        let owner = dev_account(0).address;
        let put = net.put(&file, 3, 50, true).await;
        assert!(put.encrypted);
        assert_ne!(
            put.root,
            Hash32::digest(&data),
            "the root names the ciphertext"
        );
        assert!(put.size_bytes > data.len() as u64);
        net.wait_deal(&put.deal, "three holders proved", |d| {
            holding(d).len() == 3 && d.replicas.iter().all(|r| r.replica.epochs_paid >= 1)
        })
        .await;

        // Every file of every provider (stores, journals, scratch) and of the node.
        for i in 0..PROVIDERS {
            let found = files_containing(&net.provider_dir(i), marker);
            assert!(found.is_empty(), "plaintext at provider {i}: {found:?}");
        }
        let found = files_containing(&net.node_blobs, marker);
        assert!(found.is_empty(), "plaintext at the node: {found:?}");
        // The search does find the marker: in the one plaintext file under the devnet.
        assert_eq!(files_containing(net.dir.path(), marker), vec![file.clone()]);
        let stored = (0..PROVIDERS)
            .filter(|i| {
                net.provider_dir(*i)
                    .join("blobs")
                    .join(put.root.to_string())
                    .exists()
            })
            .count();
        assert_eq!(stored, 3, "three providers hold the ciphertext");

        let out = net.dir.path().join("secret.back");
        let got = net.get(&put.root, &out).await;
        assert!(got.encrypted);
        assert_eq!(std::fs::read(&out).unwrap(), data);

        // Cancelling returns the rest of the escrow in the same block.
        let before = net.balance(&owner).await;
        let cancel = yun_cli::storage::StorageCmd::Cancel {
            id: put.deal.to_string(),
            sign: support::sign("dev0"),
        };
        yun_cli::storage::storage(cancel, &net.opts())
            .await
            .unwrap();
        let d = net.client.storage_deal(&put.deal).await.unwrap();
        assert_eq!(d.status, DealStatus::Cancelled);
        assert!(d.escrow.is_zero());
        // The cancel is the owner's latest transaction; its receipt says what it paid.
        let latest = net.client.account_txs(&owner, 1).await.unwrap();
        let cancelled = net.client.tx(&latest[0]).await.unwrap();
        let fee = cancelled.receipt.expect("committed").fee_paid;
        assert_eq!(
            net.balance(&owner).await,
            before
                .checked_add(d.refunded)
                .unwrap()
                .checked_sub(fee)
                .unwrap()
        );
        for a in agents {
            a.shutdown().await.unwrap();
        }
    });
}

#[test]
fn a_job_submitted_with_keep_outputs_keeps_each_verified_output_under_a_deal() {
    let net = Net::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut agents = Vec::new();
        for i in 0..PROVIDERS {
            agents.push(net.agent(i, None).await);
        }
        // Two pi tasks, one replica each; every output kept for 3 epochs at 2 replicas.
        let pi = support::guest("pi");
        let job_file = net.dir.path().join("keep.toml");
        std::fs::write(
            &job_file,
            format!(
                "program = {pi:?}\nargs = [\"--samples\", \"20000\", \"--seed\", \"{{index}}\"]\n\
                 fuel_per_task = 500000000\nmemory_mb = 32\nbid_per_mfuel = \"1000\"\n\
                 deadline_blocks = 400\n[verification]\npolicy = \"none\"\n[inputs]\ncount = 2\n"
            ),
        )
        .unwrap();
        let args = yun_cli::submit::SubmitArgs {
            job_file,
            out: Some(net.dir.path().join("out")),
            detach: false,
            timeout_secs: 300,
            reduce: yun_cli::results::ReduceWhere::Network,
            keep_outputs_epochs: 3,
            keep_outputs_replicas: 2,
            encrypt: false,
            sign: support::sign("dev0"),
        };
        let yun_cli::submit::Submission::Finished(report) =
            yun_cli::submit::run_submit(args, &net.opts())
                .await
                .unwrap()
        else {
            panic!("not detached")
        };
        assert_eq!(report.tasks_verified, 2, "{report:#?}");
        let job = net.client.job(&report.job).await.unwrap();
        let digests: Vec<Hash32> = job
            .tasks
            .iter()
            .map(|t| match &t.task.phase {
                yun_types::api::TaskPhase::Verified { verdict } => verdict.output_digest,
                other => panic!("task {} not verified: {other:?}", t.index),
            })
            .collect();
        assert_eq!(report.kept.len(), 2, "one deal per verified output");
        for (k, digest) in report.kept.iter().zip(&digests) {
            assert_eq!(k.root, *digest, "the deal stores the accepted output");
            // Copied by two storage providers from the compute provider paid for it, and
            // proven.
            let d = net
                .wait_deal(&k.deal, "two holders proved the output", |d| {
                    holding(d).len() == 2 && d.replicas.iter().all(|r| r.replica.epochs_paid >= 1)
                })
                .await;
            assert_eq!(d.spec.replicas, 2);
            assert_eq!(d.spec.epochs, 3);
            assert_eq!(d.spec.size_bytes, k.size_bytes);
            let source = d.spec.source_url.0.clone();
            let providers: Vec<String> = {
                let mut v = Vec::new();
                for a in &agents {
                    v.push(
                        net.client
                            .provider(&a.address)
                            .await
                            .unwrap()
                            .provider
                            .spec
                            .endpoint
                            .0,
                    );
                }
                v
            };
            assert!(
                providers.contains(&source),
                "{source} is a provider's endpoint"
            );
            // It comes back from the storage holders as the accepted bytes.
            let out = net.dir.path().join(format!("kept-{}", k.task));
            net.get(&k.root, &out).await;
            assert_eq!(Hash32::digest(&std::fs::read(&out).unwrap()), *digest);
        }
        for a in agents {
            a.shutdown().await.unwrap();
        }
    });
}
