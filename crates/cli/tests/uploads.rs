//! Uploads as an attacker tries them, against an in-process devnet: no ticket, a stranger's
//! ticket, a ticket replayed for other bytes, an expired or forged one, a funded account
//! filling the disk past its daily quota, and a store or disk too full to take more — each
//! refused with its numbered reason, nothing stored, and the chain finalizing blocks all along.

use commonware_cryptography::ed25519::PrivateKey;
use commonware_cryptography::{Signer, Verifier as _};
use std::time::Duration;
use yun_cli::keys::{dev_account, key_from_mnemonic};
use yun_client::{Client, ClientError, Uploader};
use yun_node::run::{BlobsConfig, NodeHandle};
use yun_types::api::{ApiErrorKind, TxState};
use yun_types::upload::{SignedUploadTicket, UploadTicket};
use yun_types::{Action, Address, Amount, Hash32, Tx};

struct Net {
    _dir: tempfile::TempDir,
    node: NodeHandle,
    client: Client,
    chain_id: String,
}

impl Net {
    /// A devnet with 2 dev accounts and the given blob settings.
    fn start(blobs: impl FnOnce(&mut BlobsConfig)) -> Net {
        let dir = tempfile::tempdir().unwrap();
        let port = yun_cli::devnet::free_port().unwrap();
        let (mut cfg, _) =
            yun_cli::devnet::prepare_with_providers(dir.path(), port, false, 2, 0, &[]).unwrap();
        cfg.timing.min_block_interval_ms = 20;
        blobs(&mut cfg.blobs);
        let node = yun_node::run::spawn_node(cfg).unwrap();
        let client = Client::new(&node.api_url());
        let chain_id = node_chain_id(&client);
        Net {
            _dir: dir,
            node,
            client,
            chain_id,
        }
    }

    async fn height(&self) -> u64 {
        self.client.status().await.unwrap().height
    }

    /// A ticket signed by `key` for exactly `bytes`, valid 100 blocks.
    async fn ticket(&self, key: &PrivateKey, bytes: &[u8]) -> SignedUploadTicket {
        self.ticket_until(key, bytes, self.height().await + 100)
    }

    fn ticket_until(&self, key: &PrivateKey, bytes: &[u8], expires: u64) -> SignedUploadTicket {
        UploadTicket {
            chain_id: self.chain_id.clone(),
            root: Hash32::digest(bytes),
            size_bytes: bytes.len() as u64,
            expires_at_height: expires,
        }
        .sign(key)
    }

    /// Whether the node holds `root` (a download answers).
    async fn holds(&self, root: &Hash32) -> bool {
        self.client.get_blob(root, 1 << 30).await.is_ok()
    }

    /// A transfer from dev1 is finalized: consensus works. Returns the height it landed at.
    async fn transfer_finalizes(&self) -> u64 {
        let dev1 = dev_account(1);
        let key = key_from_mnemonic(&dev1.mnemonic.parse().unwrap());
        let status = self.client.status().await.unwrap();
        let fees = yun_types::fee::FeeSchedule::from(&status);
        let tx = Tx {
            chain_id: status.chain_id,
            nonce: self.client.account(&dev1.address).await.unwrap().next_nonce,
            fee: status.min_fee,
            expires_at_height: status.height + 100,
            action: Action::Transfer {
                to: Address([7; 32]),
                amount: Amount::new(1),
            },
        };
        let tx = fees.sign(tx, &key, 0);
        let id = self.client.submit(&tx).await.unwrap();
        let s = self
            .client
            .wait_for_tx(&id, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(s.state, TxState::Committed, "{s:?}");
        s.receipt.unwrap().height
    }
}

fn node_chain_id(client: &Client) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(client.status()).unwrap().chain_id
}

fn dev_key(i: usize) -> PrivateKey {
    key_from_mnemonic(&dev_account(i).mnemonic.parse().unwrap())
}

/// The numbered refusal, or a panic naming what came instead.
fn refusal<T: std::fmt::Debug>(r: Result<T, ClientError>, kind: ApiErrorKind) {
    match r {
        Err(ClientError::Rejected(body)) => {
            assert_eq!(body.code, kind as u16, "{body:?}");
            assert!(
                !body.hint.is_empty() && !body.message.is_empty(),
                "{body:?}"
            );
        }
        other => panic!("expected {kind:?}, got {other:?}"),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn a_node_stores_nothing_anonymous_nor_for_a_stranger() {
    let net = Net::start(|_| {});
    rt().block_on(async {
        let bytes = b"an anonymous upload".to_vec();
        let root = Hash32::digest(&bytes);
        refusal(
            net.client.put_blob_with_ticket(bytes.clone(), None).await,
            ApiErrorKind::UploadTicketMissing,
        );
        // A valid signature of a key no account on chain holds.
        let stranger = PrivateKey::from_seed(424_242);
        let ticket = net.ticket(&stranger, &bytes).await;
        assert!(ticket.verify_signature());
        refusal(
            net.client
                .put_blob_with_ticket(bytes.clone(), Some(&ticket))
                .await,
            ApiErrorKind::UploaderUnfunded,
        );
        assert!(!net.holds(&root).await);
        // The same bytes under a funded account's ticket are stored.
        let ticket = net.ticket(&dev_key(0), &bytes).await;
        let stored = net
            .client
            .put_blob_with_ticket(bytes.clone(), Some(&ticket))
            .await
            .unwrap();
        assert_eq!(stored, root);
        assert!(net.holds(&root).await);
    });
}

#[test]
fn a_ticket_covers_only_its_own_bytes_chain_and_heights() {
    let net = Net::start(|_| {});
    rt().block_on(async {
        let alice = dev_key(0);
        let good = b"alice's program, 32 bytes long!!".to_vec();
        let evil = b"mallory's payload, 32 bytes, too".to_vec();
        assert_eq!(good.len(), evil.len());
        let ticket = net.ticket(&alice, &good).await;
        // Replayed for other bytes of the same length: the body does not hash to the root.
        refusal(
            net.client
                .put_blob_with_ticket(evil.clone(), Some(&ticket))
                .await,
            ApiErrorKind::UploadTicketMismatch,
        );
        // Or of another length: refused before the body is read.
        refusal(
            net.client
                .put_blob_with_ticket(b"short".to_vec(), Some(&ticket))
                .await,
            ApiErrorKind::UploadTicketMismatch,
        );
        assert!(!net.holds(&Hash32::digest(&evil)).await);
        // A signature moved onto another ticket does not verify.
        let mut forged = ticket.clone();
        forged.ticket.root = Hash32::digest(&evil);
        assert!(!forged.signer.verify(
            yun_types::upload::UPLOAD_TICKET_NAMESPACE,
            &commonware_codec::Encode::encode(&forged.ticket),
            &forged.signature
        ));
        refusal(
            net.client
                .put_blob_with_ticket(evil.clone(), Some(&forged))
                .await,
            ApiErrorKind::UploadTicketInvalid,
        );
        // Another chain's ticket.
        let mut other_chain = net.ticket(&alice, &good).await.ticket;
        other_chain.chain_id = "another-chain".into();
        refusal(
            net.client
                .put_blob_with_ticket(good.clone(), Some(&other_chain.sign(&alice)))
                .await,
            ApiErrorKind::UploadTicketInvalid,
        );
        // Expired: one block makes height 1, a ticket for height 0 is then too old.
        let landed = net.transfer_finalizes().await;
        assert!(landed >= 1);
        let expired = net.ticket_until(&alice, &good, landed - 1);
        refusal(
            net.client
                .put_blob_with_ticket(good.clone(), Some(&expired))
                .await,
            ApiErrorKind::UploadTicketExpired,
        );
        // Too far ahead: a ticket may not stay usable for ever.
        let ahead = landed + yun_node::api_data::UPLOAD_TICKET_BLOCKS_AHEAD_MAX + 10;
        let forever = net.ticket_until(&alice, &good, ahead);
        refusal(
            net.client
                .put_blob_with_ticket(good.clone(), Some(&forever))
                .await,
            ApiErrorKind::UploadTicketInvalid,
        );
        assert!(!net.holds(&Hash32::digest(&good)).await);
        // The ticket itself, on its own bytes, still works.
        net.client
            .put_blob_with_ticket(good.clone(), Some(&ticket))
            .await
            .unwrap();
        assert!(net.holds(&Hash32::digest(&good)).await);
    });
}

/// Per-account daily quota of the quota test.
const QUOTA_BYTES: u64 = 64 * 1024;

#[test]
fn a_funded_account_cannot_fill_the_disk_past_its_daily_quota() {
    let net = Net::start(|b| b.upload_bytes_per_account_per_day = QUOTA_BYTES);
    rt().block_on(async {
        let alice = Uploader::new(dev_key(0));
        let piece = |i: u8| vec![i; 30 * 1024];
        net.client.put_blob_as(piece(1), &alice).await.unwrap();
        net.client.put_blob_as(piece(2), &alice).await.unwrap();
        refusal(
            net.client.put_blob_as(piece(3), &alice).await,
            ApiErrorKind::UploadQuotaExceeded,
        );
        assert!(!net.holds(&Hash32::digest(&piece(3))).await);
        // Storing what the node holds already takes no space, so no quota.
        net.client.put_blob_as(piece(1), &alice).await.unwrap();
        // Another account has its own allowance.
        let bob = Uploader::new(dev_key(1));
        net.client.put_blob_as(piece(3), &bob).await.unwrap();
        // Refused uploads gave back nothing they did not store: alice still has 4 KiB left.
        net.client
            .put_blob_as(vec![9; 4 * 1024], &alice)
            .await
            .unwrap();
        refusal(
            net.client.put_blob_as(vec![8; 1], &alice).await,
            ApiErrorKind::UploadQuotaExceeded,
        );
    });
}

#[test]
fn a_full_store_refuses_uploads_while_blocks_keep_finalizing() {
    let net = Net::start(|b| b.store_bytes_max = 16 * 1024);
    rt().block_on(async {
        let alice = Uploader::new(dev_key(0));
        net.client
            .put_blob_as(vec![1; 10 * 1024], &alice)
            .await
            .unwrap();
        let before = net.height().await;
        for i in 0..3u8 {
            refusal(
                net.client.put_blob_as(vec![i + 2; 10 * 1024], &alice).await,
                ApiErrorKind::StoreFull,
            );
            let landed = net.transfer_finalizes().await;
            assert!(landed > before, "the chain stalled at {before}");
        }
        assert!(net.height().await >= before + 3);
        // What fits still goes in.
        net.client.put_blob_as(vec![7; 1024], &alice).await.unwrap();
    });
    net.node.stop().unwrap();
}

#[test]
fn a_disk_below_its_reserve_refuses_uploads_while_blocks_keep_finalizing() {
    // A reserve larger than any disk: the file system is "full" for uploads from the start.
    let net = Net::start(|b| b.disk_reserve_bytes = u64::MAX / 4);
    rt().block_on(async {
        let alice = Uploader::new(dev_key(0));
        let before = net.height().await;
        for i in 0..3u8 {
            let bytes = vec![i; 4096];
            refusal(
                net.client.put_blob_as(bytes.clone(), &alice).await,
                ApiErrorKind::DiskFull,
            );
            assert!(!net.holds(&Hash32::digest(&bytes)).await);
            let landed = net.transfer_finalizes().await;
            assert!(landed > before);
        }
        // The refusals charged no quota and the node serves reads as before.
        let status = net.client.status().await.unwrap();
        assert!(status.height >= before + 3);
    });
}

#[test]
fn the_node_lists_its_peer_apis_as_data_sources() {
    let peers = vec![
        "http://127.0.0.1:1".to_string(),
        "https://node.example:8645".to_string(),
    ];
    let listed = peers.clone();
    let net = Net::start(move |b| b.peer_api_urls = listed);
    let sources = rt().block_on(net.client.data_sources()).unwrap();
    assert_eq!(sources.peer_api_urls, peers);
    let doc = rt().block_on(net.client.openapi()).unwrap();
    assert!(doc["paths"]["/v1/network/sources"]["get"].is_object());
    let upload = &doc["paths"]["/v1/blobs"]["post"];
    assert!(
        upload["responses"]["401"].is_object() && upload["responses"]["429"].is_object(),
        "{upload}"
    );
    assert!(doc["paths"]["/v1/blobs/{hash}"]["get"].is_object());
    // A node refuses a peer list it could not serve.
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, _) =
        yun_cli::devnet::prepare_with_providers(dir.path(), 0, false, 1, 0, &[]).unwrap();
    cfg.blobs.peer_api_urls = vec!["ftp://x".into()];
    assert!(yun_node::run::spawn_node(cfg).is_err());
}
