//! Signer records from finalization certificates: the proposer turns the signers of a
//! certificate it verified, widened by the finalize votes that came after it, into the
//! block's `SignerRecord` and carries the certificate with it; a verifier checks the pair against that epoch's keys before it votes (the state checks
//! only the record's shape, see ARCHITECTURE.md, "Signer records — the trust argument").

use commonware_codec::{Decode as _, Encode as _};
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_cryptography::certificate::Verifier as _;
use commonware_cryptography::ed25519::PublicKey;
use commonware_parallel::Sequential;
use commonware_utils::ordered::Set;
use yun_types::block::ConsensusDigest;
use yun_types::evidence::CONSENSUS_NAMESPACE;
use yun_types::signers::{SignerProof, SignerRecord};
use yun_types::{Address, Block};

pub use crate::late_votes::FinalizationCert;

/// Heights a proposer looks up in marshal's finalization archive per proposal: the lowest
/// unrecorded ones first (so every height is recorded in turn), then the newest finalized
/// ones (so heights whose certificate this node never held are skipped, not retried forever).
pub const SIGNER_LOOKUPS_MAX: u64 = 8;

/// Finalized blocks a height waits below the finalized head before a proposer records it:
/// the votes that came after its certificate (the slowest validators') arrive meanwhile,
/// and the record names them too (see [`crate::late_votes`]).
pub const SIGNER_RECORD_LAG_BLOCKS: u64 = 2;

/// Why a block's signer proof is refused: the block can never be valid, so no vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignerProofError {
    #[error("the finalization certificate does not decode for a set of {0}")]
    Undecodable(usize),
    #[error("no consensus set is kept for epoch {0}")]
    SetUnknown(u64),
    #[error("a consensus set member is not a valid key")]
    BadMember,
    #[error("the certificate is of epoch {got}, but height {height} is in epoch {want}")]
    WrongEpoch { height: u64, got: u64, want: u64 },
    #[error("the certificate finalizes another block than the one at height {0}")]
    WrongBlock(u64),
    #[error("the certificate does not verify against epoch {0}'s keys")]
    BadCertificate(u64),
    #[error("the bitmap is not the certificate's signers")]
    BitmapNotSigners,
}

/// The epoch's consensus set, as simplex orders its participants (by key).
fn participants(set: &[Address]) -> Result<Set<PublicKey>, SignerProofError> {
    let keys: Result<Vec<_>, _> = set.iter().map(Address::public_key).collect();
    Ok(Set::from_iter_dedup(
        keys.map_err(|_| SignerProofError::BadMember)?,
    ))
}

/// The record of `height` naming the certificate's signers: participant `j` (simplex's key
/// order) is bit `i`, its position in the state's consensus set `set`.
pub fn record_of(
    cert: &FinalizationCert,
    keys: &Set<PublicKey>,
    set: &[Address],
    height: u64,
) -> SignerRecord {
    let signed = cert.certificate.signers.iter().filter_map(|j| {
        let key = keys.get(j.get() as usize)?;
        let address = Address::from_public_key(key);
        set.iter().position(|a| *a == address)
    });
    SignerRecord::from_signed(height, set.len(), signed)
}

/// A proof for `height` from a certificate: its record and its encoding.
pub fn proof_of(
    cert: &FinalizationCert,
    set: &[Address],
    height: u64,
) -> Result<SignerProof, SignerProofError> {
    let keys = participants(set)?;
    Ok(SignerProof {
        record: record_of(cert, &keys, set, height),
        finalization: cert.encode().to_vec(),
    })
}

/// What a verifier knows of the record's height: its epoch, that epoch's consensus set (from
/// state, in the state's order) and the digest of our chain's block at that height.
#[derive(Debug, Clone)]
pub struct RecordedBlock<'a> {
    pub epoch: u64,
    pub set: &'a [Address],
    pub digest: ConsensusDigest,
}

/// Checks `proof` as a verifier must before voting: the certificate decodes, is of the
/// height's epoch, finalizes our block at that height, verifies against that epoch's keys,
/// and the record's bitmap is exactly its signers.
pub fn check_proof(
    proof: &SignerProof,
    at: &RecordedBlock<'_>,
    rng: &mut impl rand_core::CryptoRng,
) -> Result<(), SignerProofError> {
    if at.set.is_empty() {
        return Err(SignerProofError::SetUnknown(at.epoch));
    }
    let keys = participants(at.set)?;
    let scheme = Scheme::verifier(CONSENSUS_NAMESPACE, keys.clone());
    let cfg = scheme.certificate_codec_config();
    let height = proof.record.height;
    // The whole byte string is the certificate, nothing trailing.
    let cert = FinalizationCert::decode_cfg(
        commonware_codec::Copying(proof.finalization.as_slice()),
        &cfg,
    )
    .map_err(|_| SignerProofError::Undecodable(at.set.len()))?;
    let got = cert.proposal.round.epoch().get();
    if got != at.epoch {
        return Err(SignerProofError::WrongEpoch {
            height,
            got,
            want: at.epoch,
        });
    }
    if cert.proposal.payload != at.digest {
        return Err(SignerProofError::WrongBlock(height));
    }
    if !cert.verify(rng, &scheme, &Sequential) {
        return Err(SignerProofError::BadCertificate(at.epoch));
    }
    if record_of(&cert, &keys, at.set, height) != proof.record {
        return Err(SignerProofError::BitmapNotSigners);
    }
    Ok(())
}

/// The digest of the block at `height` on the chain a verifier resolved: among `pending`
/// (notarized blocks above the finalized head) or else in `finalized` (the store).
pub fn digest_at(
    height: u64,
    pending: &[Block],
    finalized: impl FnOnce(u64) -> Option<yun_types::Header>,
) -> Option<ConsensusDigest> {
    use commonware_cryptography::Digestible as _;
    if let Some(b) = pending.iter().find(|b| b.height() == height) {
        return Some(b.digest());
    }
    finalized(height).map(|h| commonware_cryptography::blake3::Digest(h.hash().0))
}

/// The heights a proposer tries, in order: up to half of [`SIGNER_LOOKUPS_MAX`] from the
/// lowest unrecorded one up, then the rest from the finalized head down.
pub fn candidate_heights(recorded: u64, head: u64) -> Vec<u64> {
    let low = recorded.saturating_add(1).max(1);
    if low > head {
        return Vec::new();
    }
    let half = SIGNER_LOOKUPS_MAX / 2;
    let mut heights: Vec<u64> = (low..=head).take(half as usize).collect();
    for h in (low..=head)
        .rev()
        .take((SIGNER_LOOKUPS_MAX - half) as usize)
    {
        if !heights.contains(&h) {
            heights.push(h);
        }
    }
    heights
}

/// What a proposer reads on its parent's state: the candidate heights and each one's epoch
/// and consensus set.
type Candidates = Vec<(u64, u64, Vec<Address>)>;

fn candidates_on(state: &dyn yun_state::StateReader, head: u64) -> Candidates {
    let o = yun_state::Overlay::new(state);
    let params = o.params();
    let recorded = o.rewards_record().signers_recorded_height;
    candidate_heights(recorded, head.saturating_sub(SIGNER_RECORD_LAG_BLOCKS))
        .into_iter()
        .map(|h| {
            let epoch = yun_state::staking::epoch_of_height(&params.staking, h);
            (h, epoch, o.consensus_set(epoch))
        })
        .collect()
}

impl crate::app::App {
    /// The signer proof for the block built on `parent` (`pending` above our finalized head):
    /// the first candidate height whose certificate marshal holds and that checks exactly as
    /// a verifier will check it, or `None`. Errors only when the head moved (resolve again).
    pub(crate) async fn signer_proof(
        &self,
        parent: &yun_types::BlockHash,
        pending: &yun_store::PendingChain,
    ) -> Result<Option<SignerProof>, yun_store::StoreError> {
        use commonware_consensus::types::Height;
        let head = self.state.store.head()?.height;
        let candidates = self
            .state
            .store
            .read_on(parent, pending, |s| candidates_on(s, head))?;
        for (height, epoch, set) in candidates {
            let Some(cert) = self.marshal.get_finalization(Height::new(height)).await else {
                continue;
            };
            let Some(header) = self.state.store.header(height)? else {
                continue;
            };
            let at = RecordedBlock {
                epoch,
                set: &set,
                digest: commonware_cryptography::blake3::Digest(header.hash().0),
            };
            // The widest certificate first: the one marshal holds plus the late votes.
            let wide = self.widened(&cert, &set);
            for cert in wide.iter().chain(std::iter::once(&cert)) {
                let Ok(proof) = proof_of(cert, &set, height) else {
                    continue;
                };
                match check_proof(&proof, &at, &mut rand::rng()) {
                    Ok(()) => {
                        return Ok(match self.faults.signers {
                            Some(fault) => fault.apply(proof, set.len()),
                            None => Some(proof),
                        });
                    }
                    Err(e) => {
                        tracing::debug!(height, error = %e, "a held finalization does not check")
                    }
                }
            }
        }
        Ok(None)
    }

    /// `cert` with the finalize votes this node saw after it (checked against `set`'s keys),
    /// or `None` when it saw none it lacks.
    fn widened(&self, cert: &FinalizationCert, set: &[Address]) -> Option<FinalizationCert> {
        let votes = self.state.late_votes.for_cert(cert);
        let keys = participants(set).ok()?;
        let scheme = Scheme::verifier(CONSENSUS_NAMESPACE, keys);
        crate::late_votes::widen(cert, &votes, &scheme, &mut rand::rng())
    }

    /// The verifier's check of `block`'s signer proof, on the chain resolved for it
    /// (`blocks`: its parent and the notarized ancestors above our head). The state already
    /// checked the record's shape on the parent's state. The set is read on our finalized
    /// state: an epoch's set is written once, by the previous epoch's last block, which is
    /// finalized before anyone runs (and so verifies blocks of) that epoch.
    pub(crate) fn check_signer_proof(
        &self,
        block: &Block,
        blocks: &[Block],
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<(), SignerProofError> {
        let Some(proof) = &block.signers else {
            return Ok(());
        };
        let height = proof.record.height;
        let snapshot = self
            .state
            .store
            .snapshot()
            .map_err(|_| SignerProofError::WrongBlock(height))?;
        let o = yun_state::Overlay::new(&snapshot);
        let epoch = yun_state::staking::epoch_of_height(&o.params().staking, height);
        let set = o.consensus_set(epoch);
        let digest = digest_at(height, blocks, |h| {
            self.state.store.header(h).ok().flatten()
        })
        .ok_or(SignerProofError::WrongBlock(height))?;
        check_proof(
            proof,
            &RecordedBlock {
                epoch,
                set: &set,
                digest,
            },
            rng,
        )
    }
}

#[cfg(test)]
#[path = "signers_tests.rs"]
mod tests;
