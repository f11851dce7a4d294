//! The store commits blocks atomically, survives reopening, and proves account values.

use yun_state::scenario::{addr, genesis_with, key_of, seed_signer_of};
use yun_state::{BlockDraft, BlockEnv, StateKey, check_supply};
use yun_store::{Store, verify_state_proof};
use yun_types::{Action, Amount, Block, Genesis, Tx};

fn genesis() -> Genesis {
    genesis_with(&[("alice", 1_000_000)])
}

fn transfer(nonce: u64, to: &str, amount: u128) -> yun_types::SignedTx {
    Tx {
        chain_id: yun_state::scenario::SCENARIO_CHAIN_ID.into(),
        nonce,
        fee: Amount::new(10),
        expires_at_height: 1_000,
        action: Action::Transfer {
            to: addr(to),
            amount: Amount::new(amount),
        },
    }
    .sign(&key_of("alice"))
}

fn commit_next(store: &Store, txs: Vec<yun_types::SignedTx>) -> Block {
    let head = store.head().unwrap();
    let draft = draft_at(head.height + 1, head.timestamp_ms + 1);
    let proposal = store
        .build(&draft, &seed_signer_of("validator"), txs)
        .unwrap();
    let env = BlockEnv::from_header(&draft.chain_id, &proposal.block.header);
    assert!(proposal.left_out.is_empty(), "{:?}", proposal.left_out);
    let (block, executed) = (proposal.block, proposal.executed);
    assert_eq!(block.header.parent, head.block_hash);
    // Re-executing the finished block must reach the same root as building it did.
    let again = store.execute(&env, &block.txs).unwrap().unwrap();
    assert_eq!(again.state_root, executed.state_root);
    store.commit_block(&block, &executed).unwrap();
    block
}

#[test]
fn blocks_commit_reopen_and_prove() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let (height, root) = {
        let store = Store::open(&path).unwrap();
        store.init_genesis(&genesis()).unwrap();
        let g = store.head().unwrap();
        let b1 = commit_next(
            &store,
            vec![transfer(0, "bob", 100), transfer(1, "carol", 5)],
        );
        assert_ne!(b1.header.state_root, g.state_root);
        let b2 = commit_next(&store, vec![]);
        assert_ne!(
            b2.header.state_root, b1.header.state_root,
            "even an empty block records its seed in the state"
        );
        commit_next(&store, vec![transfer(2, "bob", 1)]);
        let head = store.head().unwrap();
        (head.height, head.state_root)
    };
    let store = Store::open(&path).unwrap();
    // Opening again with the same genesis is a no-op; with another it is refused.
    store.init_genesis(&genesis()).unwrap();
    let mut other = genesis();
    other.chain_id = "different".into();
    assert!(store.init_genesis(&other).is_err());
    let head = store.head().unwrap();
    assert_eq!((head.height, head.state_root), (height, root));
    let mem = store.state_entries().unwrap();
    check_supply(
        mem.entries
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice())),
    )
    .unwrap();

    // Membership proof for bob and non-membership proof for a stranger.
    let bob = store.account_proof(&addr("bob")).unwrap();
    let key = StateKey::Account(addr("bob")).bytes();
    assert!(verify_state_proof(
        &root,
        &key,
        bob.value.as_deref(),
        &bob.proof
    ));
    assert!(!verify_state_proof(
        &root,
        &key,
        Some(b"forged".as_slice()),
        &bob.proof
    ));
    let nobody = store.account_proof(&addr("nobody")).unwrap();
    assert!(nobody.value.is_none());
    let key = StateKey::Account(addr("nobody")).bytes();
    assert!(verify_state_proof(&root, &key, None, &nobody.proof));

    // Indexes: tx by id, an account's transactions, blocks by height and hash.
    let b1 = store.block(1).unwrap().unwrap();
    let id = b1.txs[0].id();
    let (stx, receipt) = store.tx(&id).unwrap().unwrap();
    assert_eq!((stx.id(), receipt.height), (id, 1));
    assert_eq!(store.account_txs(&addr("bob"), 10).unwrap().len(), 2);
    assert_eq!(store.height_of(&b1.hash()).unwrap(), Some(1));
    // The ids-only read agrees with the reassembled block, and knows no block past the head.
    let (header, ids) = store.block_header_and_ids(1).unwrap().unwrap();
    assert_eq!(header.hash(), b1.hash());
    assert_eq!(ids, b1.txs.iter().map(|t| t.id()).collect::<Vec<_>>());
    assert!(store.block_header_and_ids(height + 1).unwrap().is_none());
}

#[test]
fn a_block_built_on_a_stale_head_is_refused() {
    let store = Store::in_memory().unwrap();
    store.init_genesis(&genesis()).unwrap();
    let head = store.head().unwrap();
    let stale = store
        .build(
            &draft_at(1, 1),
            &seed_signer_of("validator"),
            vec![transfer(0, "bob", 1)],
        )
        .unwrap()
        .executed;
    let block = commit_next(&store, vec![transfer(0, "bob", 2)]);
    assert_eq!(block.height(), head.height + 1);
    assert!(store.commit_block(&block, &stale).is_err());
}

fn draft_at(height: u64, timestamp_ms: u64) -> BlockDraft {
    BlockDraft {
        chain_id: yun_state::scenario::SCENARIO_CHAIN_ID.into(),
        height,
        timestamp_ms,
        proposer: addr("validator"),
    }
}

#[test]
fn a_block_built_on_a_pending_parent_commits_like_one_built_on_the_head() {
    let store = Store::in_memory().unwrap();
    store.init_genesis(&genesis()).unwrap();
    let g = store.head().unwrap();
    let p1 = store
        .build_on(
            &g.block_hash,
            &[],
            &draft_at(1, 1),
            &seed_signer_of("validator"),
            vec![transfer(0, "bob", 7)],
        )
        .unwrap();
    let b1 = p1.block.hash();
    let e1 = std::sync::Arc::new(p1.executed);
    let pending = [(b1, e1.clone())];
    let p2 = store
        .build_on(
            &b1,
            &pending,
            &draft_at(2, 2),
            &seed_signer_of("validator"),
            vec![transfer(1, "carol", 3)],
        )
        .unwrap();
    assert!(p2.left_out.is_empty(), "{:?}", p2.left_out);
    // Naming a parent that is not the tip of the pending chain is refused, not executed on
    // whatever the head happens to be.
    let env2 = BlockEnv::from_header(yun_state::scenario::SCENARIO_CHAIN_ID, &p2.block.header);
    let wrong = store.execute_on(&g.block_hash, &pending, &env2, &p2.block.txs);
    assert!(matches!(
        wrong,
        Err(yun_store::StoreError::PendingNotOnHead { .. })
    ));

    store.commit_block(&p1.block, &e1).unwrap();
    // The head moved: the same pending chain no longer starts at it, and the old head is no
    // longer a parent anything executes on.
    let stale = store.execute_on(&b1, &pending, &env2, &p2.block.txs);
    assert!(matches!(
        stale,
        Err(yun_store::StoreError::PendingNotOnHead { .. })
    ));
    let env1 = BlockEnv::from_header(yun_state::scenario::SCENARIO_CHAIN_ID, &p1.block.header);
    let stale = store.execute_on(&g.block_hash, &[], &env1, &[]);
    assert!(matches!(
        stale,
        Err(yun_store::StoreError::PendingNotOnHead { .. })
    ));

    // What was built on the pending parent is exactly what executing on the head gives.
    let again = store
        .execute_on(&b1, &[], &env2, &p2.block.txs)
        .unwrap()
        .unwrap();
    assert_eq!(again.state_root, p2.executed.state_root);
    store.commit_block(&p2.block, &p2.executed).unwrap();
    let head = store.head().unwrap();
    assert_eq!(
        (head.height, head.state_root),
        (2, p2.block.header.state_root)
    );
}

/// The durable mempool's rows leave in the commit of the block that holds their transactions,
/// also after a reopen (the id → row index is read again from the table).
#[test]
fn a_committed_transaction_leaves_the_durable_mempool_in_its_blocks_commit() {
    use commonware_codec::Encode;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let (t0, t1, t2) = (
        transfer(0, "bob", 1),
        transfer(1, "bob", 1),
        transfer(2, "bob", 1),
    );
    {
        let store = Store::open(&path).unwrap();
        store.init_genesis(&genesis()).unwrap();
        let listed = [&t0, &t1, &t2].map(|t| (t.id(), t.encode().to_vec()));
        store.add_pending(listed.to_vec()).unwrap();
        commit_next(&store, vec![t0.clone()]);
        let left: Vec<_> = store.pending().unwrap().iter().map(|t| t.id()).collect();
        assert_eq!(left, vec![t1.id(), t2.id()]);
    }
    let store = Store::open(&path).unwrap();
    commit_next(&store, vec![t1.clone(), t2.clone()]);
    assert!(
        store.pending().unwrap().is_empty(),
        "found by id after a reopen"
    );
}

/// A block can take a transaction from the mempool and commit it while its admission's durable
/// write still waits for the writer: that write must not list it, or it would stay listed
/// until a restart.
#[test]
fn a_transaction_committed_before_its_admission_wrote_is_not_listed() {
    use commonware_codec::Encode;
    let store = Store::in_memory().unwrap();
    store.init_genesis(&genesis()).unwrap();
    let (t0, t1) = (transfer(0, "bob", 1), transfer(1, "bob", 1));
    commit_next(&store, vec![t0.clone()]);
    let listed = [&t0, &t1].map(|t| (t.id(), t.encode().to_vec()));
    store.add_pending(listed.to_vec()).unwrap();
    let left: Vec<_> = store.pending().unwrap().iter().map(|t| t.id()).collect();
    assert_eq!(left, vec![t1.id()], "only the uncommitted one is listed");
}
