//! A block's remembered execution outlives its commit: a proposal built while the finalized
//! block is being committed finds the block still pending under it, and must find its
//! execution too instead of executing the whole block again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use yun_node::executor::apply_finalized;
use yun_node::state::{BlockTiming, NodeState};
use yun_state::BlockDraft;
use yun_state::scenario::{
    SCENARIO_CHAIN_ID, addr, genesis_with, seed_signer_of, transfer_to_fresh,
};
use yun_store::Store;
use yun_types::SignedTx;

/// Blocks committed while a reader watches the cache (each commit is one chance for the
/// reader to see the gap, if there is one).
const BLOCKS: u64 = 40;
/// Transfers per block: enough that a commit takes a while.
const TXS_PER_BLOCK: u64 = 200;

fn node(dir: &std::path::Path) -> NodeState {
    NodeState::new(
        Store::open(&dir.join("state.redb")).unwrap(),
        genesis_with(&[("alice", 1_000_000_000_000)]),
        addr("validator"),
        BlockTiming::default(),
        Default::default(),
    )
    .unwrap()
}

fn transfers(first_nonce: u64, expires_at_height: u64) -> Vec<SignedTx> {
    (first_nonce..first_nonce + TXS_PER_BLOCK)
        .map(|nonce| transfer_to_fresh("alice", nonce, expires_at_height))
        .collect()
}

/// Builds the next block on the head and remembers its execution, as a proposer does.
fn build_next(node: &NodeState, nonce: u64) -> yun_types::Block {
    let head = node.head();
    let draft = BlockDraft {
        chain_id: SCENARIO_CHAIN_ID.into(),
        height: head.height + 1,
        timestamp_ms: head.timestamp_ms + 1_000,
        proposer: addr("validator"),
    };
    let built = node
        .store
        .build(
            &draft,
            &seed_signer_of("validator"),
            transfers(nonce, head.height + 10),
        )
        .unwrap();
    assert!(built.left_out.is_empty(), "every transfer fits");
    node.remember_execution(built.block.hash(), Arc::new(built.executed));
    built.block
}

#[test]
fn a_committing_block_s_execution_stays_readable_until_its_state_is_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(node(dir.path()));
    for b in 0..BLOCKS {
        let parent = node.head().block_hash;
        let block = build_next(&node, b * TXS_PER_BLOCK);
        let hash = block.hash();
        let done = Arc::new(AtomicBool::new(false));
        let looking = Arc::new(std::sync::Barrier::new(2));
        // The reader a proposal is: whenever the store's head is still the parent, the
        // block is pending and its execution must be found. Cache first, head second: the
        // execution may only go once the head has moved.
        let reader = {
            let (node, done, looking) = (node.clone(), done.clone(), looking.clone());
            std::thread::spawn(move || {
                let look = || {
                    let remembered = node.execution(&hash, &parent).is_some();
                    let head = node.store.head().unwrap();
                    assert!(
                        remembered || head.block_hash != parent,
                        "block {b}'s execution was gone while the head was still its parent"
                    );
                };
                // One look, then the commit starts: the reader is running by then.
                look();
                looking.wait();
                while !done.load(Ordering::Acquire) {
                    look();
                }
                look();
            })
        };
        looking.wait();
        apply_finalized(&node, &block).unwrap();
        done.store(true, Ordering::Release);
        reader
            .join()
            .expect("the reader found the execution whenever it was pending");
        assert!(
            node.execution(&hash, &parent).is_none(),
            "a committed block's execution is forgotten"
        );
    }
    assert_eq!(
        node.metrics.block_executions_uncached.get(),
        0,
        "every block was applied from its remembered execution"
    );
}

#[test]
fn a_finalized_block_nobody_remembered_is_executed_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path());
    let parent = node.head().block_hash;
    let block = build_next(&node, 0);
    node.forget_execution(&block.hash());
    apply_finalized(&node, &block).unwrap();
    assert_eq!(node.head().block_hash, block.hash());
    assert_eq!(node.metrics.block_executions_uncached.get(), 1);
    assert!(node.execution(&block.hash(), &parent).is_none());
    let commits = &node.metrics.stages.block_commit_seconds;
    assert_eq!(commits.count(), 1, "the commit is timed");
    assert!(commits.sum() > 0.0);
}
