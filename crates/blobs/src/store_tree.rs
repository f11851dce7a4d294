//! Verified reads through a stored blob's bao tree: byte ranges encoded for streaming and
//! one-chunk storage proofs, every group checked against the outboard before it is sent.

use crate::error::BlobError;
use crate::store::{BlobStore, touch};
use crate::tree::{CHUNK_BYTES, TreeHasher, blob_tree, outboard_of};
use bao_tree::io::EncodeError;
use bao_tree::io::outboard::PostOrderOutboard;
use bao_tree::io::sync::encode_ranges_validated;
use bao_tree::{ChunkNum, ChunkRanges};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use yun_types::Hash32;

/// Bytes read at a time when an outboard is rebuilt from its blob.
const REBUILD_READ_BYTES: usize = 256 * 1024;

/// A stored blob opened together with its outboard: what verified ranges are encoded from.
#[derive(Debug)]
pub struct BlobTree {
    hash: Hash32,
    file: File,
    outboard: PostOrderOutboard<File>,
}

impl BlobTree {
    pub fn hash(&self) -> Hash32 {
        self.hash
    }

    pub fn size_bytes(&self) -> u64 {
        self.outboard.tree.size()
    }

    /// The chunks covering bytes `[offset, offset + len)`, refused unless inside the blob.
    pub fn chunk_ranges(&self, offset: u64, len: u64) -> Result<ChunkRanges, BlobError> {
        let blob_bytes = self.size_bytes();
        let end = offset.checked_add(len).filter(|end| *end <= blob_bytes);
        let Some(end) = end else {
            return Err(BlobError::OutOfRange {
                offset,
                len,
                blob_bytes,
            });
        };
        Ok(ChunkRanges::from(
            ChunkNum::full_chunks(offset)..ChunkNum::chunks(end),
        ))
    }
}

impl BlobStore {
    /// Opens the blob with its outboard, first building the outboard if it is missing or
    /// truncated (a blob stored before outboards existed, or one lost in a crash). Blocking.
    pub fn open_tree(&self, hash: &Hash32) -> Result<BlobTree, BlobError> {
        let file = match File::open(self.path(hash)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(BlobError::NotFound { hash: *hash });
            }
            Err(e) => return Err(e.into()),
        };
        let size_bytes = file.metadata()?.len();
        let outboard_bytes = blob_tree(size_bytes).outboard_size();
        let outboard = match File::open(self.outboard_path(hash)) {
            Ok(ob) if ob.metadata()?.len() == outboard_bytes => ob,
            Ok(_) => self.rebuild_outboard(hash, &file)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.rebuild_outboard(hash, &file)?,
            Err(e) => return Err(e.into()),
        };
        Ok(BlobTree {
            hash: *hash,
            file,
            outboard: outboard_of(hash, size_bytes, outboard),
        })
    }

    /// Writes the pre-order bao encoding (16 KiB groups) of `ranges` of the blob to `out`,
    /// each piece checked against the outboard before it is written, and marks the blob used.
    /// Blocking. On a mismatch the outboard is rebuilt, or the blob deleted if it is the blob
    /// that is corrupt; either way this encoding fails.
    pub fn encode_ranges(
        &self,
        tree: &BlobTree,
        ranges: &ChunkRanges,
        out: impl Write,
    ) -> Result<(), BlobError> {
        touch(&tree.file)?;
        encode_ranges_validated(&tree.file, &tree.outboard, ranges, out)
            .map_err(|e| self.after_encode_error(tree, e))
    }

    /// The storage proof for chunk `chunk_index` (1 KiB) of blob `root`: the pre-order bao
    /// encoding of the chunk range `[i, i + 1)`, as `yun_types::storage::verify_chunk_proof`
    /// checks it. It reads the chunk's 16 KiB group and its ancestors' hash pairs, never the
    /// whole blob (except once, if the outboard has to be rebuilt). Blocking.
    pub fn prove_chunk(&self, root: &Hash32, chunk_index: u64) -> Result<Vec<u8>, BlobError> {
        let mut tree = self.open_tree(root)?;
        let chunks = tree.size_bytes().div_ceil(CHUNK_BYTES);
        if chunk_index >= chunks {
            return Err(BlobError::ChunkOutOfRange {
                chunk_index,
                chunks,
            });
        }
        let ranges = ChunkRanges::from(ChunkNum(chunk_index)..ChunkNum(chunk_index + 1));
        let mut proof = Vec::new();
        if let Err(e) = self.encode_ranges(&tree, &ranges, &mut proof) {
            // A damaged outboard has just been rebuilt: one more try answers the challenge.
            if !matches!(e, BlobError::OutboardRebuilt { .. }) {
                return Err(e);
            }
            tree = self.open_tree(root)?;
            proof.clear();
            self.encode_ranges(&tree, &ranges, &mut proof)?;
        }
        Ok(proof)
    }

    /// Writes an outboard through a temp file and a rename, so readers never see half of one.
    pub(crate) fn write_outboard(&self, hash: &Hash32, outboard: &[u8]) -> io::Result<()> {
        let tmp = self.tmp_path("outboard");
        let written = fs::write(&tmp, outboard).and_then(|()| {
            let path = self.outboard_path(hash);
            fs::rename(&tmp, path)
        });
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    /// Rehashes the blob and writes its outboard anew (returned open); a blob that no longer
    /// hashes to its name is deleted instead and reported `Corrupt`.
    fn rebuild_outboard(&self, hash: &Hash32, file: &File) -> Result<File, BlobError> {
        let mut hasher = TreeHasher::new();
        let mut reader = file.try_clone()?;
        io::Seek::rewind(&mut reader)?;
        let mut buf = vec![0u8; REBUILD_READ_BYTES];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let (root, _, outboard) = hasher.finish();
        if root != *hash {
            self.remove_corrupt(hash, &file.metadata()?)?;
            return Err(BlobError::Corrupt { hash: *hash });
        }
        self.write_outboard(hash, &outboard)?;
        Ok(File::open(self.outboard_path(hash))?)
    }

    /// What a failed encoding means for the store: a hash mismatch is either a damaged
    /// outboard (rebuilt) or a corrupt blob (deleted); anything else is I/O.
    fn after_encode_error(&self, tree: &BlobTree, e: EncodeError) -> BlobError {
        match e {
            EncodeError::ParentHashMismatch(_)
            | EncodeError::LeafHashMismatch(_)
            | EncodeError::SizeMismatch => match self.rebuild_outboard(&tree.hash, &tree.file) {
                Ok(_) => BlobError::OutboardRebuilt { hash: tree.hash },
                Err(e) => e,
            },
            EncodeError::Io(e) => BlobError::Io(e),
            e @ (EncodeError::ParentWrite(_) | EncodeError::LeafWrite(_)) => {
                BlobError::Io(io::Error::new(io::ErrorKind::BrokenPipe, e.to_string()))
            }
        }
    }
}
