//! Equivocation evidence as it travels on chain: two conflicting signed consensus messages
//! from one validator, encoded exactly as simplex reports them, and the check that they are
//! genuine (both signatures valid under the validator set of their epoch).

use crate::Address;
use crate::block::ConsensusDigest;
use bytes::BufMut;
use commonware_codec::{Buf, DecodeExt as _, EncodeSize, Error, RangeCfg, Read, ReadExt, Write};
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::{
    ConflictingFinalize, ConflictingNotarize, NullifyFinalize,
};
use commonware_consensus::{Epochable as _, Viewable as _};
use commonware_cryptography::ed25519::PublicKey;
use commonware_parallel::Sequential;
use commonware_utils::ordered::{Quorum as _, Set};

/// Signing namespace of consensus votes (distinct from transactions').
pub const CONSENSUS_NAMESPACE: &[u8] = b"yun/consensus/v1";
/// Largest encoded pair of conflicting messages: two votes of ~150 bytes, with room to spare.
pub const EVIDENCE_BYTES_MAX: usize = 1_024;

/// Which two messages conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum EvidenceKind {
    /// Two notarize votes for different proposals in one view.
    ConflictingNotarize = 0,
    /// Two finalize votes for different proposals in one view.
    ConflictingFinalize = 1,
    /// A nullify and a finalize vote in one view.
    NullifyFinalize = 2,
}

/// Evidence that one validator signed conflicting consensus messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    pub kind: EvidenceKind,
    /// The simplex encoding of the conflicting pair.
    pub bytes: Vec<u8>,
}

/// Who equivocated, and where: what a verified piece of evidence proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offence {
    pub offender: Address,
    pub epoch: u64,
    pub view: u64,
}

impl Equivocation {
    /// Decodes the pair and checks both signatures against `validators` (the consensus set of
    /// the pair's epoch, in any order). `None`: malformed, or not signed by a member.
    ///
    /// `rng` only randomises batch-verification coefficients; the answer does not depend on it.
    pub fn verify<R: rand_core::CryptoRng>(
        &self,
        validators: &[PublicKey],
        rng: &mut R,
    ) -> Option<Offence> {
        let participants = Set::from_iter_dedup(validators.iter().cloned());
        let scheme = Scheme::verifier(CONSENSUS_NAMESPACE, participants.clone());
        let (ok, signer, epoch, view) = match self.kind {
            EvidenceKind::ConflictingNotarize => {
                let c = ConflictingNotarize::<Scheme, ConsensusDigest>::decode(
                    commonware_codec::Copying(&self.bytes[..]),
                )
                .ok()?;
                (
                    c.verify(rng, &scheme, &Sequential),
                    commonware_consensus::simplex::types::Attributable::signer(&c),
                    c.epoch(),
                    c.view(),
                )
            }
            EvidenceKind::ConflictingFinalize => {
                let c = ConflictingFinalize::<Scheme, ConsensusDigest>::decode(
                    commonware_codec::Copying(&self.bytes[..]),
                )
                .ok()?;
                (
                    c.verify(rng, &scheme, &Sequential),
                    commonware_consensus::simplex::types::Attributable::signer(&c),
                    c.epoch(),
                    c.view(),
                )
            }
            EvidenceKind::NullifyFinalize => {
                let c = NullifyFinalize::<Scheme, ConsensusDigest>::decode(
                    commonware_codec::Copying(&self.bytes[..]),
                )
                .ok()?;
                (
                    c.verify(rng, &scheme, &Sequential),
                    commonware_consensus::simplex::types::Attributable::signer(&c),
                    c.epoch(),
                    c.view(),
                )
            }
        };
        if !ok {
            return None;
        }
        let key = participants.key(signer)?;
        Some(Offence {
            offender: Address::from_public_key(key),
            epoch: epoch.get(),
            view: view.get(),
        })
    }
}

impl Write for Equivocation {
    fn write(&self, buf: &mut impl BufMut) {
        (self.kind as u8).write(buf);
        self.bytes.write(buf);
    }
}

impl EncodeSize for Equivocation {
    fn encode_size(&self) -> usize {
        1 + self.bytes.encode_size()
    }
}

impl Read for Equivocation {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        let kind = match u8::read(buf)? {
            0 => EvidenceKind::ConflictingNotarize,
            1 => EvidenceKind::ConflictingFinalize,
            2 => EvidenceKind::NullifyFinalize,
            t => return Err(Error::InvalidEnum(t)),
        };
        let range: RangeCfg<usize> = (1..=EVIDENCE_BYTES_MAX).into();
        let bytes = Vec::<u8>::read_cfg(buf, &(range, ()))?;
        Ok(Equivocation { kind, bytes })
    }
}
