//! Store throughput: executing blocks of pre-signed transfers on top of a populated state,
//! computing the Jellyfish root, and committing to redb. Prints what it measured.
//!
//! `cargo bench -p yun-store` (release profile).

use std::time::Instant;
use yun_state::BlockDraft;
use yun_state::scenario::{addr, genesis_with, key_of, seed_signer_of};
use yun_store::Store;
use yun_types::{Action, Amount, Tx};

const ACCOUNTS: usize = 20_000;
const BLOCK_TXS: usize = 5_000;
const BLOCKS: usize = 8;

fn main() {
    let names: Vec<String> = (0..ACCOUNTS).map(|i| format!("acct{i}")).collect();
    let funded: Vec<(&str, u128)> = names.iter().map(|n| (n.as_str(), 1u128 << 60)).collect();
    let genesis = genesis_with(&funded);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("bench.redb")).expect("open");
    let t = Instant::now();
    store.init_genesis(&genesis).expect("genesis");
    println!(
        "genesis with {ACCOUNTS} accounts: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    // Pre-sign: block b moves 1 unit from account (b*BLOCK_TXS + i) % ACCOUNTS to a random-ish other.
    let mut nonces = vec![0u64; ACCOUNTS];
    let mut blocks = Vec::new();
    for b in 0..BLOCKS {
        let mut txs = Vec::with_capacity(BLOCK_TXS);
        for i in 0..BLOCK_TXS {
            let from = (b * BLOCK_TXS + i) % ACCOUNTS;
            let to = (from * 7919 + 13) % ACCOUNTS;
            let tx = Tx {
                chain_id: genesis.chain_id.clone(),
                nonce: nonces[from],
                fee: Amount::new(10),
                expires_at_height: 1_000,
                action: Action::Transfer {
                    to: addr(&names[to]),
                    amount: Amount::new(1),
                },
            };
            nonces[from] += 1;
            txs.push(tx.sign(&key_of(&names[from])));
        }
        blocks.push(txs);
    }

    let (mut build_s, mut commit_s) = (0.0, 0.0);
    let seed = seed_signer_of("validator");
    for txs in blocks {
        let head = store.head().expect("head");
        let draft = BlockDraft {
            chain_id: genesis.chain_id.clone(),
            height: head.height + 1,
            timestamp_ms: head.height + 1,
            proposer: addr("validator"),
        };
        let t = Instant::now();
        let proposal = store.build(&draft, &seed, txs).expect("build");
        build_s += t.elapsed().as_secs_f64();
        assert!(proposal.left_out.is_empty());
        let t = Instant::now();
        store
            .commit_block(&proposal.block, &proposal.executed)
            .expect("commit");
        commit_s += t.elapsed().as_secs_f64();
    }
    let n = (BLOCKS * BLOCK_TXS) as f64;
    println!("blocks of {BLOCK_TXS} transfers over {ACCOUNTS} accounts, {BLOCKS} blocks:");
    println!(
        "  execute + JMT root:  {:>8.0} tx/s ({:.1} ms/block)",
        n / build_s,
        build_s * 1e3 / BLOCKS as f64
    );
    println!(
        "  redb commit:         {:>8.0} tx/s ({:.1} ms/block)",
        n / commit_s,
        commit_s * 1e3 / BLOCKS as f64
    );
    println!(
        "  both:                {:>8.0} tx/s",
        n / (build_s + commit_s)
    );
}
