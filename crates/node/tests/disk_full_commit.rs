//! A validator whose disk fills up cannot commit a finalized block: applying it is an error
//! naming the height and the cause (the executor then stops the node with that reason),
//! never a panic, and the store's head stays where it was. The disk is a small tmpfs in a
//! private user and mount namespace (`unshare`), which this test re-executes itself in.

mod common;

use std::io::Write as _;
use std::path::Path;
use yun_node::executor::apply_finalized;
use yun_node::state::{BlockTiming, NodeState};
use yun_state::BlockDraft;
use yun_state::scenario::{
    SCENARIO_CHAIN_ID, addr, genesis_with, seed_signer_of, transfer_to_fresh,
};
use yun_store::Store;

/// Set in the re-executed child, which runs inside the namespace.
const CHILD_ENV: &str = "YUN_DISK_FULL_COMMIT_CHILD";
const TEST_NAME: &str = "a_commit_on_a_full_disk_is_an_error_not_a_panic";
/// Printed by the child once every check passed, so the parent knows it really ran.
const CHECKED: &str = "disk-full commit checks passed";
/// Blocks tried before giving up: the store may fill pages it already holds first.
const BLOCKS_MAX: u64 = 400;

#[test]
fn a_commit_on_a_full_disk_is_an_error_not_a_panic() {
    common::on_a_small_tmpfs(TEST_NAME, CHILD_ENV, CHECKED, "8m", in_a_small_tmpfs);
}

fn in_a_small_tmpfs(dir: &Path) {
    let store = Store::open(&dir.join("state.redb")).unwrap();
    let node = NodeState::new(
        store,
        genesis_with(&[("alice", 1_000_000_000)]),
        addr("validator"),
        BlockTiming::default(),
        Default::default(),
    )
    .unwrap();
    // Fill the rest of the disk.
    let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0u8; 64 << 10];
    while filler.write_all(&chunk).is_ok() {}
    let _ = filler.sync_all();

    // Finalized blocks keep coming; one of them no longer fits.
    let mut refused = None;
    for _ in 0..BLOCKS_MAX {
        let head = node.head();
        let nonce = yun_state::Overlay::new(&node.store.snapshot().unwrap())
            .account(&addr("alice"))
            .nonce;
        let tx = transfer_to_fresh("alice", nonce, head.height + 10);
        let draft = BlockDraft {
            chain_id: SCENARIO_CHAIN_ID.into(),
            height: head.height + 1,
            timestamp_ms: head.timestamp_ms + 1_000,
            proposer: addr("validator"),
        };
        let built = node
            .store
            .build(&draft, &seed_signer_of("validator"), vec![tx])
            .unwrap();
        if let Err(reason) = apply_finalized(&node, &built.block) {
            refused = Some((head.height, reason));
            break;
        }
    }
    let (height, reason) = refused.expect("the disk filled up within the blocks tried");
    assert!(
        reason.contains(&format!("block {}", height + 1)) && reason.contains("disk full"),
        "{reason}"
    );
    assert_eq!(
        node.head().height,
        height,
        "nothing of the block was applied"
    );
    assert_eq!(
        *node.committing.lock().unwrap(),
        None,
        "no proposer is left waiting for the failed commit"
    );
    println!("{CHECKED}");
}
