//! Equivocation evidence as it travels on chain: two conflicting signed consensus messages
//! from one validator, encoded exactly as simplex reports them, and the check that they are
//! genuine (both signatures valid under the validator set of their epoch).

use crate::Address;
use crate::block::ConsensusDigest;
use bytes::BufMut;
use commonware_codec::Encode as _;
use commonware_codec::{Buf, DecodeExt as _, EncodeSize, Error, RangeCfg, Read, ReadExt, Write};
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::{
    Attributable, ConflictingFinalize, ConflictingNotarize, Notarize, NullifyFinalize, Proposal,
};
use commonware_consensus::types::{Epoch, Round, View};
use commonware_consensus::{Epochable, Viewable};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_parallel::Sequential;
use commonware_utils::Participant;
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

/// Decodes one kind of conflicting pair and checks it with `verify` (each kind has its own
/// inherent `verify`): whether it holds, who signed, and in which epoch and view.
fn checked<T>(
    bytes: &[u8],
    verify: impl FnOnce(&T) -> bool,
) -> Option<(bool, Participant, Epoch, View)>
where
    T: commonware_codec::Decode<Cfg = ()> + Attributable + Epochable + Viewable,
{
    let pair = T::decode(commonware_codec::Copying(bytes)).ok()?;
    Some((verify(&pair), pair.signer(), pair.epoch(), pair.view()))
}

/// Signs two notarize votes for different payloads in one view with `key`: the evidence an
/// equivocating validator leaves behind (the simulation's Byzantine validator does this over
/// the network; tests build it directly). `None` if `key` is not among `validators`.
pub fn sign_conflicting_notarize(
    key: &PrivateKey,
    validators: &[PublicKey],
    epoch: u64,
    view: u64,
) -> Option<Equivocation> {
    let participants = Set::from_iter_dedup(validators.iter().cloned());
    let scheme = Scheme::signer(CONSENSUS_NAMESPACE, participants, key.clone())?;
    let round = Round::new(Epoch::new(epoch), View::new(view));
    let vote = |payload: u8| {
        let proposal = Proposal::new(
            round,
            View::new(view.saturating_sub(1)),
            ConsensusDigest::from([payload; 32]),
        );
        Notarize::<Scheme, ConsensusDigest>::sign(&scheme, proposal)
    };
    let pair = ConflictingNotarize::new(vote(1)?, vote(2)?);
    Some(Equivocation {
        kind: EvidenceKind::ConflictingNotarize,
        bytes: pair.encode().to_vec(),
    })
}

/// Who equivocated, and where: what a verified piece of evidence proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offence {
    pub offender: Address,
    pub epoch: u64,
    pub view: u64,
}

/// The epoch a pair of one kind was signed in, if it decodes.
fn epoch_of<T>(bytes: &[u8]) -> Option<u64>
where
    T: commonware_codec::Decode<Cfg = ()> + Epochable,
{
    T::decode(commonware_codec::Copying(bytes))
        .ok()
        .map(|pair| pair.epoch().get())
}

impl Equivocation {
    /// The epoch the pair claims to be from, if it decodes: which set to check it against.
    /// Unverified; [`Equivocation::verify`] is what proves anything.
    pub fn epoch(&self) -> Option<u64> {
        let bytes = &self.bytes[..];
        match self.kind {
            EvidenceKind::ConflictingNotarize => {
                epoch_of::<ConflictingNotarize<Scheme, ConsensusDigest>>(bytes)
            }
            EvidenceKind::ConflictingFinalize => {
                epoch_of::<ConflictingFinalize<Scheme, ConsensusDigest>>(bytes)
            }
            EvidenceKind::NullifyFinalize => {
                epoch_of::<NullifyFinalize<Scheme, ConsensusDigest>>(bytes)
            }
        }
    }

    /// What the pair claims, if it decodes: (epoch, signer index in that epoch's set, view),
    /// one key per equivocation whatever the kind. Unverified; a mempool uses it to keep one
    /// pending report per equivocation among reports it verified already.
    pub fn claim(&self) -> Option<(u64, u32, u64)> {
        fn of<T>(bytes: &[u8]) -> Option<(u64, u32, u64)>
        where
            T: commonware_codec::Decode<Cfg = ()> + Attributable + Epochable + Viewable,
        {
            let pair = T::decode(commonware_codec::Copying(bytes)).ok()?;
            Some((pair.epoch().get(), pair.signer().get(), pair.view().get()))
        }
        let bytes = &self.bytes[..];
        match self.kind {
            EvidenceKind::ConflictingNotarize => {
                of::<ConflictingNotarize<Scheme, ConsensusDigest>>(bytes)
            }
            EvidenceKind::ConflictingFinalize => {
                of::<ConflictingFinalize<Scheme, ConsensusDigest>>(bytes)
            }
            EvidenceKind::NullifyFinalize => of::<NullifyFinalize<Scheme, ConsensusDigest>>(bytes),
        }
    }

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
        let bytes = &self.bytes[..];
        let (ok, signer, epoch, view) = match self.kind {
            EvidenceKind::ConflictingNotarize => {
                checked::<ConflictingNotarize<Scheme, ConsensusDigest>>(bytes, |c| {
                    c.verify(rng, &scheme, &Sequential)
                })?
            }
            EvidenceKind::ConflictingFinalize => {
                checked::<ConflictingFinalize<Scheme, ConsensusDigest>>(bytes, |c| {
                    c.verify(rng, &scheme, &Sequential)
                })?
            }
            EvidenceKind::NullifyFinalize => {
                checked::<NullifyFinalize<Scheme, ConsensusDigest>>(bytes, |c| {
                    c.verify(rng, &scheme, &Sequential)
                })?
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
