//! Storage deals end to end on an in-process devnet with four storage providers (the agents'
//! storage loop, `yun storage put/get`): a deal's whole life — stored with three replicas,
//! proven and paid epoch after epoch, one holder loses its copy and misses until it is
//! slashed and replaced, the new holder repairs from the others (the upload node forgot the
//! file), the file comes back byte for byte, and the rest of the escrow returns at the end —
//! and an encrypted round trip in which no provider's or node's file holds the plaintext.

use std::path::{Path, PathBuf};
use std::time::Duration;
use yun_cli::keys::{dev_account, key_from_mnemonic};
use yun_cli::provider_run::provider_account;
use yun_cli::storage::{GetArgs, PutArgs, PutReport, run_get, run_put};
use yun_cli::{ClientOpts, Output, SignOpts};
use yun_client::Client;
use yun_node::run::NodeHandle;
use yun_provider::{AgentConfig, AgentHandle, Fault, Offer, StorageOffer};
use yun_types::api_storage::{DealResponse, DealStatus, StorageReplicaState};
use yun_types::{Address, Amount, Hash32};

const PROVIDERS: usize = 4;
/// Each provider's storage ask per MiB-epoch: above the proof transaction's fee (1,000) for
/// the test's 2 billed MiB, so proving pays.
const ASK: u128 = 2_000;

struct Net {
    dir: tempfile::TempDir,
    node: NodeHandle,
    client: Client,
    /// The node's blob store (where `put` uploads).
    node_blobs: PathBuf,
}

impl Net {
    /// A devnet (10-block storage epochs, 5-block proof windows) with blocks every 250 ms
    /// while a deal waits on the chain.
    fn start() -> Net {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let port = yun_cli::devnet::free_port().unwrap();
        let (mut cfg, _) =
            yun_cli::devnet::prepare_with_providers(dir.path(), port, false, 2, PROVIDERS, &[])
                .unwrap();
        cfg.timing.min_block_interval_ms = 20;
        cfg.timing.busy_block_interval_ms = 250;
        let node_blobs = cfg.data_dir.join("blobs");
        let node = yun_node::run::spawn_node(cfg).unwrap();
        let client = Client::new(&node.api_url());
        Net {
            dir,
            node,
            client,
            node_blobs,
        }
    }

    fn opts(&self) -> ClientOpts {
        ClientOpts {
            node: self.node.api_url(),
            output: Output::Json,
            devnet_dir: Some(self.dir.path().to_path_buf()),
        }
    }

    fn provider_dir(&self, i: usize) -> PathBuf {
        self.dir
            .path()
            .join("providers")
            .join(provider_account(i).name)
    }

    async fn agent(&self, i: usize, fault: Option<Fault>) -> AgentHandle {
        let a = provider_account(i);
        let cfg = AgentConfig {
            node_url: self.node.api_url(),
            key: key_from_mnemonic(&a.mnemonic.parse().unwrap()),
            data_dir: self.provider_dir(i),
            serve_listen: "127.0.0.1:0".parse().unwrap(),
            endpoint: None,
            offer: Offer {
                slots: 1,
                memory_bytes_per_slot: 256 << 20,
                storage_bytes: 0,
                labels: Vec::new(),
                ask_per_mfuel: Amount::new(1),
            },
            bond: Amount::new(10_000_000),
            wall_time_max: Duration::from_secs(60),
            fault,
            run_delay: Duration::ZERO,
            storage: Some(StorageOffer {
                capacity_bytes: 1 << 30,
                ask_per_mib_epoch: Amount::new(ASK),
            }),
        };
        yun_provider::start(cfg).await.unwrap()
    }

    async fn put(&self, file: &Path, replicas: u8, epochs: u32, encrypt: bool) -> PutReport {
        let args = PutArgs {
            file: file.to_path_buf(),
            replicas,
            epochs,
            bid: Some("5000".into()),
            encrypt,
            sign: sign(),
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

    async fn balance(&self, a: &Address) -> Amount {
        self.client.account(a).await.unwrap().balance
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

fn sign() -> SignOpts {
    SignOpts {
        from: "dev0".into(),
        fee: None,
        nonce: None,
        expires_in: 600,
        no_wait: false,
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

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
            {
                found.push(p);
            }
        }
    }
    found
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
            sign: sign(),
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
