//! Which validators signed a block's finalization: the bitmap a later block carries so the
//! state can count each validator's missed blocks (downtime).

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, RangeCfg, Read, ReadExt, Write};

/// Most validators one signer bitmap covers (far above any active set).
pub const SIGNERS_MAX: usize = 4_096;

/// Most bytes of an encoded finalization certificate a block may carry: the proposal, a
/// bitmap over [`SIGNERS_MAX`] members and one 64-byte ed25519 signature per member.
pub const FINALIZATION_BYTES_MAX: usize = 128 + SIGNERS_MAX / 8 + SIGNERS_MAX * 64;

/// The signers of the finalization certificate of block `height`: bit `i` (byte `i / 8`, bit
/// `i % 8`, least significant first) is member `i` of the consensus set of `height`'s epoch,
/// in that set's order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignerRecord {
    pub height: u64,
    pub bitmap: Vec<u8>,
}

impl SignerRecord {
    /// A record of `height` whose signers are the members at `signed` (a set of `members`).
    pub fn from_signed(
        height: u64,
        members: usize,
        signed: impl IntoIterator<Item = usize>,
    ) -> Self {
        let mut bitmap = vec![0u8; members.div_ceil(8)];
        for i in signed {
            if i < members {
                bitmap[i / 8] |= 1 << (i % 8);
            }
        }
        SignerRecord { height, bitmap }
    }

    /// Whether member `i` signed.
    pub fn signed(&self, i: usize) -> bool {
        self.bitmap
            .get(i / 8)
            .is_some_and(|byte| byte & (1 << (i % 8)) != 0)
    }

    /// Whether the bitmap is exactly `members` bits long: the right number of bytes and no bit
    /// set past the last member.
    pub fn fits(&self, members: usize) -> bool {
        self.bitmap.len() == members.div_ceil(8)
            && (members..self.bitmap.len() * 8).all(|i| !self.signed(i))
    }
}

/// A signer record as a block carries it: with the encoded finalization certificate
/// (commonware simplex, ed25519) of block `record.height` it was read from. Verifiers check
/// the certificate against that epoch's keys before they vote; the state sees only the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerProof {
    pub record: SignerRecord,
    pub finalization: Vec<u8>,
}

impl SignerProof {
    /// blake3 of the encoding, what a header commits to (zero bytes for no proof), so no
    /// relay can change a block's record or certificate without changing its hash.
    pub fn root(proof: Option<&SignerProof>) -> crate::Hash32 {
        match proof {
            None => crate::Hash32::ZERO,
            Some(p) => crate::Hash32::digest(&commonware_codec::Encode::encode(p)),
        }
    }
}

impl Write for SignerProof {
    fn write(&self, buf: &mut impl BufMut) {
        self.record.write(buf);
        self.finalization.write(buf);
    }
}

impl EncodeSize for SignerProof {
    fn encode_size(&self) -> usize {
        self.record.encode_size() + self.finalization.encode_size()
    }
}

impl Read for SignerProof {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(SignerProof {
            record: SignerRecord::read(buf)?,
            finalization: Vec::read_cfg(buf, &(RangeCfg::new(0..=FINALIZATION_BYTES_MAX), ()))?,
        })
    }
}

impl Write for SignerRecord {
    fn write(&self, buf: &mut impl BufMut) {
        self.height.write(buf);
        self.bitmap.write(buf);
    }
}

impl EncodeSize for SignerRecord {
    fn encode_size(&self) -> usize {
        self.height.encode_size() + self.bitmap.encode_size()
    }
}

impl Read for SignerRecord {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(SignerRecord {
            height: u64::read(buf)?,
            bitmap: Vec::read_cfg(buf, &(RangeCfg::new(0..=SIGNERS_MAX.div_ceil(8)), ()))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};

    #[test]
    fn bitmaps_name_members_and_fit_their_set() {
        let r = SignerRecord::from_signed(7, 10, [0, 3, 9]);
        assert!(r.signed(0) && r.signed(3) && r.signed(9));
        assert!(!r.signed(1) && !r.signed(8));
        assert!(r.fits(10));
        assert!(!r.fits(9), "bit 9 is past a 9-member set");
        assert!(!r.fits(17), "17 members need 3 bytes");
        assert_eq!(SignerRecord::decode(r.encode()).unwrap(), r);
    }

    #[test]
    fn a_block_commits_to_its_signer_proof() {
        use crate::{Address, Block, Hash32, SeedProof};
        let proof = SignerProof {
            record: SignerRecord::from_signed(3, 4, [0, 2, 3]),
            finalization: vec![7; 100],
        };
        let block = Block::assemble(
            Hash32::ZERO,
            5,
            0,
            Address([1; 32]),
            SeedProof::GENESIS,
            Hash32::ZERO,
            Vec::new(),
            Some(proof.clone()),
        );
        assert_eq!(block.header.signers_root, SignerProof::root(Some(&proof)));
        assert_eq!(Block::decode(block.encode()).unwrap(), block);
        // A relay that swaps the record (or strips it) under the same header: refused.
        let mut swapped = block.clone();
        swapped.signers.as_mut().unwrap().record.bitmap[0] ^= 1;
        assert!(Block::decode(swapped.encode()).is_err());
        let mut stripped = block;
        stripped.signers = None;
        assert!(Block::decode(stripped.encode()).is_err());
    }
}
