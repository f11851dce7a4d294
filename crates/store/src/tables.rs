//! redb table layout and the head record.

use crate::{Head, StoreError};
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use yun_types::Hash32;

/// Current state: raw state key → canonical value.
pub const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
/// Jellyfish tree nodes: borsh(NodeKey) → borsh(Node).
pub const TREE_NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tree_nodes");
/// Jellyfish values by version: key_hash ‖ version (big-endian) → value (empty = deleted, with a tag).
pub const TREE_VALUES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tree_values");
/// Stale tree nodes: stale_since_version (big-endian) ‖ borsh(NodeKey) → ().
pub const TREE_STALE: TableDefinition<&[u8], ()> = TableDefinition::new("tree_stale");
/// Finalized blocks by height.
pub const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// Block hash → height.
pub const BLOCK_BY_HASH: TableDefinition<&[u8; 32], u64> = TableDefinition::new("block_by_hash");
/// Tx id → receipt ‖ signed tx.
pub const TXS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("txs");
/// address ‖ height ‖ index → tx id: an account's transactions in order.
pub const ACCOUNT_TXS: TableDefinition<&[u8], &[u8; 32]> = TableDefinition::new("account_txs");
/// Transactions the mempool accepted and that are not yet committed or dropped: arrival
/// sequence → signed bytes (see `durable_mempool` for why not by id). Written durably before a
/// submission is answered, so an accepted transaction survives a crash; cleared in the same
/// transaction that commits it.
pub const PENDING: TableDefinition<u64, &[u8]> = TableDefinition::new("pending_by_arrival");
/// The same, as stores before `pending_by_arrival` kept it: tx id → signed bytes. Adopted into
/// `PENDING` and deleted when such a store is opened.
pub const PENDING_BY_ID_V1: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("pending");
/// Small named records.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

pub const META_GENESIS_HASH: &str = "genesis_hash";
pub const META_CHAIN_ID: &str = "chain_id";
pub const META_HEAD: &str = "head";

pub fn create_all_tables(wtx: &WriteTransaction) -> Result<(), StoreError> {
    wtx.open_table(STATE)?;
    wtx.open_table(TREE_NODES)?;
    wtx.open_table(TREE_VALUES)?;
    wtx.open_table(TREE_STALE)?;
    wtx.open_table(BLOCKS)?;
    wtx.open_table(BLOCK_BY_HASH)?;
    wtx.open_table(TXS)?;
    wtx.open_table(ACCOUNT_TXS)?;
    wtx.open_table(PENDING)?;
    wtx.open_table(META)?;
    Ok(())
}

pub fn write_head(meta: &mut redb::Table<&str, &[u8]>, head: &Head) -> Result<(), StoreError> {
    let mut v = Vec::with_capacity(8 + 32 + 32 + 8 + 8);
    v.extend_from_slice(&head.height.to_be_bytes());
    v.extend_from_slice(head.block_hash.as_bytes());
    v.extend_from_slice(head.state_root.as_bytes());
    v.extend_from_slice(&head.timestamp_ms.to_be_bytes());
    v.extend_from_slice(&head.state_version.to_be_bytes());
    meta.insert(META_HEAD, v.as_slice())?;
    Ok(())
}

pub fn read_head(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Head, StoreError> {
    let raw = meta.get(META_HEAD)?.ok_or(StoreError::Uninitialized)?;
    let v = raw.value();
    if v.len() != 88 {
        return Err(StoreError::Corrupt("head"));
    }
    let u64_at = |i: usize| u64::from_be_bytes(v[i..i + 8].try_into().expect("8 bytes"));
    let h32_at = |i: usize| Hash32(v[i..i + 32].try_into().expect("32 bytes"));
    Ok(Head {
        height: u64_at(0),
        block_hash: h32_at(8),
        state_root: h32_at(40),
        timestamp_ms: u64_at(72),
        state_version: u64_at(80),
    })
}
