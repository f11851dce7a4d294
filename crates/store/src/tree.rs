//! Glue between the Jellyfish Merkle tree (`jmt`) and redb: node and value storage, stale-node
//! pruning, and membership proofs against a header's state root.

use crate::StoreError;
use crate::tables::{TREE_NODES, TREE_STALE, TREE_VALUES};
use jmt::proof::SparseMerkleProof;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, RootHash, SimpleHasher, Version};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use yun_state::StateWrites;
use yun_types::Hash32;

/// blake3 as the tree's hash, so one hash function covers state, blocks and content.
#[derive(Debug)]
pub struct Blake3Hasher(blake3::Hasher);

impl SimpleHasher for Blake3Hasher {
    fn new() -> Self {
        Blake3Hasher(blake3::Hasher::new())
    }
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finalize(self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

type Tree<'a, R> = JellyfishMerkleTree<'a, R, Blake3Hasher>;

/// Read access to tree nodes and values from any redb transaction.
struct View<N, V> {
    nodes: N,
    values: V,
}

impl<N, V> TreeReader for View<N, V>
where
    N: ReadableTable<&'static [u8], &'static [u8]>,
    V: ReadableTable<&'static [u8], &'static [u8]>,
{
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let key = borsh::to_vec(node_key)?;
        match self.nodes.get(key.as_slice())? {
            Some(raw) => Ok(Some(borsh::from_slice(raw.value())?)),
            None => Ok(None),
        }
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        let lo = value_key(&key_hash, 0);
        let hi = value_key(&key_hash, max_version);
        let last = self
            .values
            .range(lo.as_slice()..=hi.as_slice())?
            .next_back();
        match last {
            Some(item) => {
                let (_, v) = item?;
                Ok(decode_value(v.value()))
            }
            None => Ok(None),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only used when restoring a tree from a snapshot; a full scan is acceptable there.
        let mut best: Option<(NodeKey, LeafNode)> = None;
        for item in self.nodes.iter()? {
            let (k, v) = item?;
            if let Node::Leaf(leaf) = borsh::from_slice::<Node>(v.value())?
                && best
                    .as_ref()
                    .is_none_or(|(_, b)| leaf.key_hash() > b.key_hash())
            {
                best = Some((borsh::from_slice(k.value())?, leaf));
            }
        }
        Ok(best)
    }
}

fn value_key(key_hash: &KeyHash, version: Version) -> Vec<u8> {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(&key_hash.0);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

fn encode_value(v: &Option<OwnedValue>) -> Vec<u8> {
    match v {
        Some(v) => {
            let mut out = Vec::with_capacity(v.len() + 1);
            out.push(1);
            out.extend_from_slice(v);
            out
        }
        None => vec![0],
    }
}

fn decode_value(raw: &[u8]) -> Option<OwnedValue> {
    match raw.split_first() {
        Some((1, rest)) => Some(rest.to_vec()),
        _ => None,
    }
}

fn tree_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Tree(e.to_string())
}

fn value_set(writes: &StateWrites) -> Vec<(KeyHash, Option<OwnedValue>)> {
    writes
        .iter()
        .map(|(k, v)| (crate::key_hash(k), v.clone()))
        .collect()
}

/// Opens the tree's tables in a read or a write transaction.
pub trait TreeTables {
    fn tree_view(&self) -> Result<impl TreeReader, StoreError>;
}

impl TreeTables for WriteTransaction {
    fn tree_view(&self) -> Result<impl TreeReader, StoreError> {
        Ok(View {
            nodes: self.open_table(TREE_NODES)?,
            values: self.open_table(TREE_VALUES)?,
        })
    }
}

impl TreeTables for ReadTransaction {
    fn tree_view(&self) -> Result<impl TreeReader, StoreError> {
        Ok(View {
            nodes: self.open_table(TREE_NODES)?,
            values: self.open_table(TREE_VALUES)?,
        })
    }
}

/// New root and node batch for `writes` applied as tree version `version`; writes nothing.
pub fn compute(
    txn: &impl TreeTables,
    writes: &StateWrites,
    version: Version,
) -> Result<(Hash32, TreeUpdateBatch), StoreError> {
    let view = txn.tree_view()?;
    let (root, batch) = Tree::new(&view)
        .put_value_set(value_set(writes), version)
        .map_err(tree_err)?;
    Ok((Hash32(root.0), batch))
}

/// Like [`compute`], on top of uncommitted batches (oldest first) that the stored tree lacks.
pub fn compute_layered(
    txn: &impl TreeTables,
    batches: Vec<&jmt::storage::NodeBatch>,
    writes: &StateWrites,
    version: Version,
) -> Result<(Hash32, TreeUpdateBatch), StoreError> {
    let view = crate::pending::LayeredTree {
        base: txn.tree_view()?,
        batches,
    };
    let (root, batch) = Tree::new(&view)
        .put_value_set(value_set(writes), version)
        .map_err(tree_err)?;
    Ok((Hash32(root.0), batch))
}

/// Persists a batch's new nodes, values and stale-node index.
pub fn write_batch(wtx: &WriteTransaction, batch: &TreeUpdateBatch) -> Result<(), StoreError> {
    let mut nodes = wtx.open_table(TREE_NODES)?;
    for (k, n) in batch.node_batch.nodes() {
        let key = borsh::to_vec(k).map_err(tree_err)?;
        let node = borsh::to_vec(n).map_err(tree_err)?;
        nodes.insert(key.as_slice(), node.as_slice())?;
    }
    let mut values = wtx.open_table(TREE_VALUES)?;
    for ((version, key_hash), v) in batch.node_batch.values() {
        values.insert(
            value_key(key_hash, *version).as_slice(),
            encode_value(v).as_slice(),
        )?;
    }
    let mut stale = wtx.open_table(TREE_STALE)?;
    for s in &batch.stale_node_index_batch {
        let mut k = s.stale_since_version.to_be_bytes().to_vec();
        k.extend_from_slice(&borsh::to_vec(&s.node_key).map_err(tree_err)?);
        stale.insert(k.as_slice(), ())?;
    }
    Ok(())
}

/// Deletes nodes that became stale at or before `up_to_version`.
pub fn prune(wtx: &WriteTransaction, up_to_version: Version) -> Result<(), StoreError> {
    let mut stale = wtx.open_table(TREE_STALE)?;
    let mut nodes = wtx.open_table(TREE_NODES)?;
    let hi = (up_to_version).to_be_bytes();
    let removed = stale.extract_from_if(..=hi.as_slice(), |_, _| true)?;
    for item in removed {
        let (k, _) = item?;
        nodes.remove(&k.value()[8..])?;
    }
    Ok(())
}

/// The value at `key` and a proof against the root of tree version `version`.
#[derive(Debug, Clone)]
pub struct StateProof {
    pub state_root: Hash32,
    pub value: Option<Vec<u8>>,
    /// borsh encoding of the sparse Merkle proof.
    pub proof: Vec<u8>,
}

pub fn prove(
    rtx: &ReadTransaction,
    key: &[u8],
    version: Version,
    state_root: Hash32,
) -> Result<StateProof, StoreError> {
    let view = rtx.tree_view()?;
    let (value, proof) = Tree::new(&view)
        .get_with_proof(crate::key_hash(key), version)
        .map_err(tree_err)?;
    Ok(StateProof {
        state_root,
        value,
        proof: borsh::to_vec(&proof).map_err(tree_err)?,
    })
}

/// Checks a proof: `value` (or its absence) is what `key` holds under `root`.
pub fn verify_state_proof(root: &Hash32, key: &[u8], value: Option<&[u8]>, proof: &[u8]) -> bool {
    let Ok(proof) = borsh::from_slice::<SparseMerkleProof<Blake3Hasher>>(proof) else {
        return false;
    };
    proof
        .verify(RootHash(root.0), crate::key_hash(key), value)
        .is_ok()
}
