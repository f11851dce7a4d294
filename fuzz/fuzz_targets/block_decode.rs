//! Fuzzes the block codec marshal and backfill decode from peers: anything that decodes
//! re-encodes to exactly the input, decodes again to the same block with the same hash, and its
//! header's transaction count matches its transactions.
#![no_main]

use commonware_codec::{Decode as _, Encode as _};
use libfuzzer_sys::fuzz_target;
use yun_types::block::txs_root;
use yun_types::{Block, SignedTx};

fuzz_target!(|data: &[u8]| {
    let Ok(block) = Block::decode_cfg(commonware_codec::Copying(data), &()) else {
        return;
    };
    assert_eq!(block.header.tx_count as usize, block.txs.len());
    let encoded = block.encode();
    assert_eq!(
        &encoded[..],
        data,
        "a decoded block re-encodes to its input"
    );
    let again = Block::decode_cfg(commonware_codec::Copying(&encoded[..]), &())
        .expect("a re-encoded block decodes");
    assert_eq!(again, block);
    assert_eq!(again.hash(), block.hash());
    // What the application checks first: the transactions' commitment (computing it must not
    // panic whatever the transactions are).
    let _ = txs_root(block.txs.iter().map(SignedTx::id)) == block.header.txs_root;
});
