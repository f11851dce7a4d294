//! Executing on top of blocks that are notarized but not yet finalized: simplex extends the
//! chain from certified (notarized and verified) blocks, and a finalization can arrive only
//! through a descendant, so a proposer and a verifier must be able to build on a parent whose
//! state is still in memory. These readers show uncommitted executions (oldest first) layered
//! over the committed state and tree.

use crate::Snapshot;
use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};
use std::collections::BTreeMap;
use yun_state::{StateReader, StateWrites};

/// Committed state with uncommitted writes on top (later writes win). The layers are
/// borrowed, not merged: building on a chain of pending blocks must not copy their write
/// sets on every execution.
#[allow(missing_debug_implementations)]
pub struct LayeredState<'a> {
    base: &'a Snapshot,
    /// Oldest first.
    layers: Vec<&'a StateWrites>,
}

impl<'a> LayeredState<'a> {
    pub fn new(base: &'a Snapshot, layers: impl IntoIterator<Item = &'a StateWrites>) -> Self {
        LayeredState {
            base,
            layers: layers.into_iter().collect(),
        }
    }
}

impl StateReader for LayeredState<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        for layer in self.layers.iter().rev() {
            if let Some(v) = layer.get(key) {
                return v.clone();
            }
        }
        self.base.get(key)
    }

    fn range(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> =
            self.base.range(start, end).into_iter().collect();
        if start < end {
            for layer in &self.layers {
                for (k, v) in layer.range(start.to_vec()..end.to_vec()) {
                    match v {
                        Some(v) => merged.insert(k.clone(), v.clone()),
                        None => merged.remove(k),
                    };
                }
            }
        }
        merged.into_iter().collect()
    }

    fn range_first(&self, start: &[u8], end: &[u8], limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        yun_state::range_first_over(self.base, self.layers.iter().copied(), start, end, limit)
    }
}

/// The stored tree with uncommitted node batches on top (searched newest first).
#[allow(missing_debug_implementations)]
pub struct LayeredTree<'a, R> {
    pub base: R,
    pub batches: Vec<&'a NodeBatch>,
}

impl<R: TreeReader> TreeReader for LayeredTree<'_, R> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        for b in self.batches.iter().rev() {
            if let Some(n) = b.nodes().get(node_key) {
                return Ok(Some(n.clone()));
            }
        }
        self.base.get_node_option(node_key)
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        for b in self.batches.iter().rev() {
            if let Some(value) = newest_in_batch(b, max_version, key_hash) {
                return Ok(value);
            }
        }
        self.base.get_value_option(max_version, key_hash)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only tree restoration asks for it, never execution on pending blocks.
        self.base.get_rightmost_leaf()
    }
}

/// The newest value of `key_hash` at or below `max_version` in one batch. Values are keyed by
/// (version, key hash), so this probes each version the batch holds (one per block) instead of
/// scanning every value.
fn newest_in_batch(
    batch: &NodeBatch,
    max_version: Version,
    key_hash: KeyHash,
) -> Option<Option<OwnedValue>> {
    let values = batch.values();
    let mut found = None;
    let mut cursor = values.keys().next().map(|(v, _)| *v);
    while let Some(version) = cursor {
        if version > max_version {
            break;
        }
        if let Some(value) = values.get(&(version, key_hash)) {
            found = Some(value.clone());
        }
        let Some(next) = version.checked_add(1) else {
            break;
        };
        cursor = values
            .range((next, KeyHash([0; 32]))..)
            .next()
            .map(|((v, _), _)| *v);
    }
    found
}
