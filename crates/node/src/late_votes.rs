//! Finalize votes beyond the quorum: a finalization certificate holds only the first two
//! thirds of the votes to arrive, so an honest validator that is merely the slowest would be
//! in none of them. Consensus reports every finalize vote it sees, the late ones too; this
//! keeps them per view (bounded) so a proposer can widen the certificate it records to every
//! vote it verified (see ARCHITECTURE.md, "Signer records").

use commonware_actor::Feedback;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::{Activity, Attributable as _, Finalization, Finalize};
use commonware_consensus::{Epochable as _, Reporter, Viewable as _};
use commonware_cryptography::certificate::{Attestation, Scheme as _};
use commonware_parallel::Sequential;
use commonware_utils::iter::NonEmpty;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use yun_types::block::ConsensusDigest;
use yun_types::signers::SIGNERS_MAX;

/// A finalization certificate of our block type (defined here, the leaf of the
/// certificate modules, so `signers` and `epochs` can both use it without a loop).
pub type FinalizationCert = Finalization<Scheme, ConsensusDigest>;

/// Views whose finalize votes are kept (the newest); a proposer records heights a few blocks
/// behind the head, far inside this.
pub const LATE_VOTE_VIEWS_MAX: usize = 256;

/// A finalize vote of our block type.
pub type FinalizeVote = Finalize<Scheme, ConsensusDigest>;

/// The finalize votes consensus reported, by (epoch, view), one per signer (the first it
/// sent: a second one for another proposal is an equivocation, handled as evidence).
#[derive(Debug, Default)]
pub struct LateVotes {
    views: Mutex<BTreeMap<(u64, u64), BTreeMap<u32, FinalizeVote>>>,
}

impl LateVotes {
    /// Keeps `vote` (unverified: whoever widens a certificate with it verifies it first).
    pub fn add(&self, vote: FinalizeVote) {
        let key = (vote.epoch().get(), vote.view().get());
        let signer = vote.signer().get();
        if signer as usize >= SIGNERS_MAX {
            return;
        }
        let mut views = self.views.lock().expect("late votes lock");
        views.entry(key).or_default().entry(signer).or_insert(vote);
        while views.len() > LATE_VOTE_VIEWS_MAX {
            views.pop_first();
        }
    }

    /// The votes kept for the view `cert` finalized that vote for its proposal.
    pub fn for_cert(&self, cert: &FinalizationCert) -> Vec<FinalizeVote> {
        let key = (cert.epoch().get(), cert.view().get());
        let views = self.views.lock().expect("late votes lock");
        views.get(&key).map_or_else(Vec::new, |votes| {
            votes
                .values()
                .filter(|v| v.proposal == cert.proposal)
                .cloned()
                .collect()
        })
    }
}

/// `cert` with every vote of `votes` it lacks that verifies against `scheme` (that epoch's
/// keys) added, or `None` when none is to add.
pub fn widen(
    cert: &FinalizationCert,
    votes: &[FinalizeVote],
    scheme: &Scheme,
    rng: &mut impl rand_core::CryptoRng,
) -> Option<FinalizationCert> {
    let have = &cert.certificate.signers;
    let mut attestations: Vec<Attestation<Scheme>> = have
        .iter()
        .zip(&cert.certificate.signatures)
        .map(|(signer, signature)| Attestation {
            signer,
            signature: signature.clone(),
        })
        .collect();
    let before = attestations.len();
    for vote in votes {
        let signer = vote.signer();
        if vote.proposal != cert.proposal
            || attestations.iter().any(|a| a.signer == signer)
            || !vote.verify(rng, scheme, &Sequential)
        {
            continue;
        }
        attestations.push(vote.attestation.clone());
    }
    if attestations.len() == before {
        return None;
    }
    let mut all = attestations.into_iter();
    let first = all.next()?;
    let certificate = scheme
        .assemble(NonEmpty::new(first, all), &Sequential)
        .ok()?;
    Some(Finalization {
        proposal: cert.proposal.clone(),
        certificate,
    })
}

/// The consensus reporter that keeps finalize votes in a [`LateVotes`] (everything else is
/// ignored).
#[derive(Debug, Clone)]
pub struct LateVoteReporter {
    pub votes: Arc<LateVotes>,
}

impl Reporter for LateVoteReporter {
    type Activity = Activity<Scheme, ConsensusDigest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        if let Activity::Finalize(vote) = activity {
            self.votes.add(vote);
        }
        Feedback::Ok
    }
}
