//! An idle devnet writes nothing: no empty blocks, no journal growth, a data directory that
//! stays the same size byte for byte (until its leader timeout, a minute, nullifies the view:
//! see `DEVNET_LEADER_TIMEOUT_MS`).

use std::path::Path;
use std::time::Duration;
use yun_client::Client;

fn dir_bytes(p: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(p).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            dir_bytes(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_devnet_does_not_grow() {
    let dir = tempfile::tempdir().unwrap();
    let port = yun_cli::devnet::free_port().unwrap();
    let (cfg, accounts) = yun_cli::devnet::prepare(dir.path(), port, false, 2, &[]).unwrap();
    let node = yun_node::run::spawn_node(cfg).unwrap();
    let client = Client::new(&node.api_url());
    // One transaction first, so consensus, marshal and the store have all written once.
    let key = yun_cli::keys::key_from_mnemonic(&accounts[0].mnemonic.parse().unwrap());
    let status = client.status().await.unwrap();
    let fees = yun_types::fee::FeeSchedule::from(&status);
    let tx = yun_types::Tx {
        chain_id: status.chain_id,
        nonce: 0,
        fee: status.min_fee,
        expires_at_height: 100,
        action: yun_types::Action::Transfer {
            to: accounts[1].address,
            amount: yun_types::Amount::new(1),
        },
    };
    let tx = fees.sign(tx, &key, 0);
    let id = client.submit(&tx).await.unwrap();
    client
        .wait_for_tx(&id, Duration::from_secs(30))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (height, bytes) = (client.status().await.unwrap().height, dir_bytes(dir.path()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        client.status().await.unwrap().height,
        height,
        "an idle devnet made blocks"
    );
    assert_eq!(
        dir_bytes(dir.path()),
        bytes,
        "an idle devnet's data directory grew"
    );
    node.stop().unwrap();
}
