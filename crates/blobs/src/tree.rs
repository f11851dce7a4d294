//! A blob's BLAKE3 tree (bao): the outboard of hash pairs built while the blob streams in, from
//! which verified byte ranges and storage proofs are encoded without rehashing the blob.
//!
//! The root of this tree is the blob's plain BLAKE3 hash, so blob names do not change.

use bao_tree::io::outboard::PostOrderOutboard;
use bao_tree::iter::BaoChunk;
use bao_tree::{BaoTree, BlockSize};
use blake3::hazmat::{HasherExt, Mode, merge_subtrees_non_root, merge_subtrees_root};
use yun_types::Hash32;

/// Chunk groups of 16 chunks (16 KiB): the outboard is 64 bytes per group (0.4 % of the blob),
/// and a download is verified group by group.
pub const GROUP_BLOCK_SIZE: BlockSize = BlockSize::from_chunk_log(4);

/// Bytes of one chunk group.
pub const GROUP_BYTES: usize = 16 * 1024;

/// Bytes of one BLAKE3 chunk, the unit a storage proof covers.
pub const CHUNK_BYTES: u64 = 1024;

/// The bao tree of a blob of `size_bytes`, at the group size the store keeps.
pub fn blob_tree(size_bytes: u64) -> BaoTree {
    BaoTree::new(size_bytes, GROUP_BLOCK_SIZE)
}

/// The outboard of `root` over `data` (a file or bytes holding the post-order hash pairs).
pub fn outboard_of<D>(root: &Hash32, size_bytes: u64, data: D) -> PostOrderOutboard<D> {
    PostOrderOutboard {
        root: blake3::Hash::from(root.0),
        tree: blob_tree(size_bytes),
        data,
    }
}

/// Hashes a blob group by group as it arrives and yields its root and post-order outboard
/// at the end, so storing a blob reads its bytes once.
#[derive(Debug, Default)]
pub struct TreeHasher {
    /// The last group seen, not yet hashed: whether it is the root depends on what follows.
    group: Vec<u8>,
    /// Chaining values of the groups before it, in order.
    group_hashes: Vec<blake3::Hash>,
    bytes: u64,
}

impl TreeHasher {
    pub fn new() -> TreeHasher {
        TreeHasher::default()
    }

    /// Bytes seen so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.bytes += data.len() as u64;
        while !data.is_empty() {
            if self.group.len() == GROUP_BYTES {
                // More bytes follow, so the full group is an inner leaf.
                let group = std::mem::take(&mut self.group);
                self.push_group(&group);
                self.group = group;
                self.group.clear();
            }
            if self.group.is_empty() && data.len() > GROUP_BYTES {
                // A whole inner group in the input: hash it where it is, without a copy.
                self.push_group(&data[..GROUP_BYTES]);
                data = &data[GROUP_BYTES..];
                continue;
            }
            let take = (GROUP_BYTES - self.group.len()).min(data.len());
            self.group.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
    }

    fn push_group(&mut self, group: &[u8]) {
        let start_chunk = self.group_hashes.len() as u64 * (GROUP_BYTES as u64 / CHUNK_BYTES);
        self.group_hashes
            .push(group_hash(start_chunk, group, false));
    }

    /// The root (the blob's BLAKE3 hash), its length and its post-order outboard, in the
    /// layout of `bao_tree::io::sync::outboard_post_order`.
    pub fn finish(self) -> (Hash32, u64, Vec<u8>) {
        let tree = blob_tree(self.bytes);
        let mut outboard = Vec::with_capacity(usize::try_from(tree.outboard_size()).unwrap_or(0));
        let mut group_hashes = self.group_hashes.into_iter();
        let mut stack: Vec<blake3::Hash> = Vec::new();
        for item in tree.post_order_chunks_iter() {
            match item {
                BaoChunk::Parent { is_root, .. } => {
                    let right = stack.pop().expect("a parent follows both its children");
                    let left = stack.pop().expect("a parent follows both its children");
                    outboard.extend_from_slice(left.as_bytes());
                    outboard.extend_from_slice(right.as_bytes());
                    stack.push(parent_hash(&left, &right, is_root));
                }
                BaoChunk::Leaf {
                    start_chunk,
                    is_root,
                    ..
                } => {
                    // Leaves come left to right; the last one is the held-back group.
                    let hash = group_hashes
                        .next()
                        .unwrap_or_else(|| group_hash(start_chunk.0, &self.group, is_root));
                    stack.push(hash);
                }
            }
        }
        let root = stack.pop().expect("a tree has a root");
        (Hash32(*root.as_bytes()), self.bytes, outboard)
    }
}

/// The chaining value of the group starting at `start_chunk` (the plain hash if it is the
/// whole blob).
fn group_hash(start_chunk: u64, data: &[u8], is_root: bool) -> blake3::Hash {
    if is_root {
        return blake3::hash(data);
    }
    let mut hasher = blake3::Hasher::new();
    hasher.set_input_offset(start_chunk * CHUNK_BYTES);
    hasher.update(data);
    blake3::Hash::from(hasher.finalize_non_root())
}

fn parent_hash(left: &blake3::Hash, right: &blake3::Hash, is_root: bool) -> blake3::Hash {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    if is_root {
        merge_subtrees_root(left, right, Mode::Hash)
    } else {
        blake3::Hash::from(merge_subtrees_non_root(left, right, Mode::Hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bao_tree::io::sync::outboard_post_order;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 1013) as u8).collect()
    }

    /// Sizes around every boundary the tree has: empty, one chunk, one group, several groups.
    const SIZES: [usize; 12] = [
        0,
        1,
        1024,
        1025,
        GROUP_BYTES - 1,
        GROUP_BYTES,
        GROUP_BYTES + 1,
        2 * GROUP_BYTES,
        3 * GROUP_BYTES + 5,
        8 * GROUP_BYTES,
        8 * GROUP_BYTES + 1,
        1 << 20,
    ];

    #[test]
    fn the_bao_root_is_the_plain_blake3_hash_and_the_outboard_matches_bao_tree() {
        for size in SIZES {
            let data = pattern(size);
            let mut hasher = TreeHasher::new();
            hasher.update(&data);
            let (root, bytes, outboard) = hasher.finish();
            assert_eq!(root, Hash32::digest(&data), "size {size}");
            assert_eq!(bytes, size as u64);
            let mut expected = Vec::new();
            let bao_root = outboard_post_order(&data[..], blob_tree(bytes), &mut expected).unwrap();
            assert_eq!(bao_root.as_bytes(), &root.0, "size {size}");
            assert_eq!(outboard, expected, "size {size}");
        }
    }

    #[test]
    fn the_tree_does_not_depend_on_how_the_bytes_were_split() {
        let data = pattern(5 * GROUP_BYTES + 333);
        let whole = {
            let mut h = TreeHasher::new();
            h.update(&data);
            h.finish()
        };
        for piece in [
            1,
            1000,
            GROUP_BYTES - 1,
            GROUP_BYTES,
            GROUP_BYTES + 7,
            65536,
        ] {
            let mut h = TreeHasher::new();
            for part in data.chunks(piece) {
                h.update(part);
            }
            assert_eq!(h.finish(), whole, "pieces of {piece}");
        }
    }
}

#[cfg(test)]
mod proof_tests {
    use super::*;
    use bao_tree::io::outboard::PreOrderMemOutboard;
    use bao_tree::io::sync::encode_ranges_validated;
    use bao_tree::{ChunkNum, ChunkRanges};

    #[test]
    fn one_chunk_encodes_the_same_from_group_and_chunk_outboards() {
        for size in [1usize, 1024, 5000, 3 * GROUP_BYTES + 5, 1 << 20] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut h = TreeHasher::new();
            h.update(&data);
            let (root, bytes, ob) = h.finish();
            let group_ob = outboard_of(&root, bytes, ob);
            let chunk_ob = PreOrderMemOutboard::create(&data, BlockSize::ZERO);
            for i in [0u64, 1, 15, 16, 17, (size as u64 - 1) / 1024] {
                if i * 1024 >= size as u64 {
                    continue;
                }
                let r = ChunkRanges::from(ChunkNum(i)..ChunkNum(i + 1));
                let (mut a, mut b) = (Vec::new(), Vec::new());
                encode_ranges_validated(&data[..], &group_ob, &r, &mut a).unwrap();
                encode_ranges_validated(&data[..], &chunk_ob, &r, &mut b).unwrap();
                assert_eq!(a, b, "size {size} chunk {i}");
            }
        }
    }
}
