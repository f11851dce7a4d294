//! The verifier's check of signer proofs, against real certificates: an honest record passes,
//! and each way a proposer could misreport the signers is refused.

use super::*;
use crate::app::SignerFault;
use commonware_consensus::simplex::types::{Finalize, Proposal};
use commonware_consensus::types::{Epoch, Round, View};
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use commonware_utils::non_empty;

const EPOCH: u64 = 3;
const HEIGHT: u64 = 17;

/// Four validators; the state's set lists them in reverse key order, so the mapping from
/// simplex's participant order to the state's order is exercised.
fn validators() -> (Vec<PrivateKey>, Vec<Address>) {
    let mut keys: Vec<PrivateKey> = (0..4).map(|i| PrivateKey::from_seed(40 + i)).collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.public_key()));
    let set = keys
        .iter()
        .map(|k| Address::from_public_key(&k.public_key()))
        .collect();
    (keys, set)
}

fn digest(byte: u8) -> ConsensusDigest {
    commonware_cryptography::blake3::Digest([byte; 32])
}

/// A finalization of `payload` in `epoch` signed by the members at `signers` (state order).
fn certificate(
    keys: &[PrivateKey],
    set: &[Address],
    epoch: u64,
    payload: ConsensusDigest,
    signers: &[usize],
) -> FinalizationCert {
    let participants = participants(set).unwrap();
    let proposal = Proposal::new(
        Round::new(Epoch::new(epoch), View::new(5)),
        View::new(4),
        payload,
    );
    let votes: Vec<_> = signers
        .iter()
        .map(|i| {
            let scheme =
                Scheme::signer(CONSENSUS_NAMESPACE, participants.clone(), keys[*i].clone())
                    .expect("a member");
            Finalize::sign(&scheme, proposal.clone()).expect("signs")
        })
        .collect();
    let verifier = Scheme::verifier(CONSENSUS_NAMESPACE, participants);
    FinalizationCert::from_finalizes(&verifier, non_empty![@&votes], &Sequential).expect("a quorum")
}

fn at(set: &[Address]) -> RecordedBlock<'_> {
    RecordedBlock {
        epoch: EPOCH,
        set,
        digest: digest(7),
    }
}

fn honest() -> (Vec<Address>, SignerProof) {
    let (keys, set) = validators();
    let cert = certificate(&keys, &set, EPOCH, digest(7), &[0, 2, 3]);
    let proof = proof_of(&cert, &set, HEIGHT).unwrap();
    (set, proof)
}

#[test]
fn an_honest_record_names_exactly_the_signers_in_state_order() {
    let (set, proof) = honest();
    assert_eq!(
        proof.record,
        SignerRecord::from_signed(HEIGHT, 4, [0, 2, 3]),
        "bit i is the state's member i"
    );
    assert_eq!(check_proof(&proof, &at(&set), &mut rand::rng()), Ok(()));
}

#[test]
fn removing_a_signer_who_signed_is_refused() {
    let (set, proof) = honest();
    let tampered = SignerFault::DropSigner.apply(proof, set.len()).unwrap();
    assert!(
        !tampered.record.signed(0),
        "member 0 signed and was dropped"
    );
    assert_eq!(
        check_proof(&tampered, &at(&set), &mut rand::rng()),
        Err(SignerProofError::BitmapNotSigners)
    );
}

#[test]
fn adding_a_member_who_did_not_sign_is_refused() {
    let (set, proof) = honest();
    let tampered = SignerFault::AddNonSigner.apply(proof, set.len()).unwrap();
    assert!(
        tampered.record.signed(1),
        "member 1 did not sign and was added"
    );
    assert_eq!(
        check_proof(&tampered, &at(&set), &mut rand::rng()),
        Err(SignerProofError::BitmapNotSigners)
    );
}

#[test]
fn omitting_the_record_carries_nothing() {
    let (set, proof) = honest();
    assert_eq!(SignerFault::Omit.apply(proof, set.len()), None);
}

#[test]
fn a_certificate_of_another_block_epoch_or_set_is_refused() {
    let (keys, set) = validators();
    let other_block = certificate(&keys, &set, EPOCH, digest(8), &[0, 1, 2]);
    let proof = proof_of(&other_block, &set, HEIGHT).unwrap();
    assert_eq!(
        check_proof(&proof, &at(&set), &mut rand::rng()),
        Err(SignerProofError::WrongBlock(HEIGHT))
    );
    let other_epoch = certificate(&keys, &set, EPOCH + 1, digest(7), &[0, 1, 2]);
    let proof = proof_of(&other_epoch, &set, HEIGHT).unwrap();
    assert!(matches!(
        check_proof(&proof, &at(&set), &mut rand::rng()),
        Err(SignerProofError::WrongEpoch { .. })
    ));
    // Signed by another set of keys: the signatures fail against the epoch's.
    let strangers: Vec<PrivateKey> = (0..4).map(|i| PrivateKey::from_seed(90 + i)).collect();
    let stranger_set: Vec<Address> = strangers
        .iter()
        .map(|k| Address::from_public_key(&k.public_key()))
        .collect();
    let forged = certificate(&strangers, &stranger_set, EPOCH, digest(7), &[0, 1, 2]);
    let mut proof = proof_of(&forged, &stranger_set, HEIGHT).unwrap();
    proof.record = SignerRecord::from_signed(HEIGHT, 4, [0, 1, 2]);
    assert_eq!(
        check_proof(&proof, &at(&set), &mut rand::rng()),
        Err(SignerProofError::BadCertificate(EPOCH))
    );
}

#[test]
fn a_certificate_that_does_not_decode_or_has_no_set_is_refused() {
    let (set, mut proof) = honest();
    proof.finalization.push(0);
    assert_eq!(
        check_proof(&proof, &at(&set), &mut rand::rng()),
        Err(SignerProofError::Undecodable(4)),
        "trailing bytes"
    );
    let (_, proof) = honest();
    assert_eq!(
        check_proof(&proof, &at(&[]), &mut rand::rng()),
        Err(SignerProofError::SetUnknown(EPOCH))
    );
}

#[test]
fn proposers_try_low_heights_then_the_newest() {
    assert_eq!(candidate_heights(0, 0), Vec::<u64>::new());
    assert_eq!(candidate_heights(5, 5), Vec::<u64>::new());
    assert_eq!(candidate_heights(0, 3), vec![1, 2, 3]);
    assert_eq!(
        candidate_heights(10, 100),
        vec![11, 12, 13, 14, 100, 99, 98, 97]
    );
}

/// Member `i`'s finalize vote for `proposal`.
fn vote(
    keys: &[PrivateKey],
    set: &[Address],
    proposal: &Proposal<ConsensusDigest>,
    i: usize,
) -> crate::late_votes::FinalizeVote {
    let scheme = Scheme::signer(
        CONSENSUS_NAMESPACE,
        participants(set).unwrap(),
        keys[i].clone(),
    )
    .expect("a member");
    Finalize::sign(&scheme, proposal.clone()).expect("signs")
}

fn verifier(set: &[Address]) -> Scheme {
    Scheme::verifier(CONSENSUS_NAMESPACE, participants(set).unwrap())
}

#[test]
fn the_slowest_validators_late_vote_widens_the_record_and_still_checks() {
    use crate::late_votes::{LateVotes, widen};
    let (keys, set) = validators();
    // The quorum finalized without member 1, whose vote came after.
    let cert = certificate(&keys, &set, EPOCH, digest(7), &[0, 2, 3]);
    let late = LateVotes::default();
    for i in [3, 1, 0] {
        late.add(vote(&keys, &set, &cert.proposal, i));
    }
    // Its vote for another block of the same view is not a vote for this one.
    let other = Proposal::new(cert.proposal.round, cert.proposal.parent, digest(8));
    late.add(vote(&keys, &set, &other, 2));
    let votes = late.for_cert(&cert);
    assert_eq!(
        votes.len(),
        3,
        "only the votes for the certificate's proposal"
    );
    let rng = &mut rand::rng();
    let wide = widen(&cert, &votes, &verifier(&set), rng).expect("member 1's vote is new");
    let proof = proof_of(&wide, &set, HEIGHT).unwrap();
    assert_eq!(proof.record, SignerRecord::from_signed(HEIGHT, 4, 0..4));
    assert_eq!(check_proof(&proof, &at(&set), rng), Ok(()));
    assert!(
        widen(&wide, &late.for_cert(&wide), &verifier(&set), rng).is_none(),
        "nothing left to add"
    );
}

#[test]
fn a_late_vote_that_does_not_verify_or_is_for_another_block_is_left_out() {
    use crate::late_votes::widen;
    let (keys, set) = validators();
    let cert = certificate(&keys, &set, EPOCH, digest(7), &[0, 2, 3]);
    let rng = &mut rand::rng();
    // Member 0's signature claimed as member 1's.
    let mut forged = vote(&keys, &set, &cert.proposal, 0);
    forged.attestation.signer = vote(&keys, &set, &cert.proposal, 1).attestation.signer;
    assert!(widen(&cert, &[forged], &verifier(&set), rng).is_none());
    // Member 1's honest vote, but for another block.
    let other = Proposal::new(cert.proposal.round, cert.proposal.parent, digest(8));
    let elsewhere = vote(&keys, &set, &other, 1);
    assert!(widen(&cert, &[elsewhere], &verifier(&set), rng).is_none());
    // A vote of the epoch's keys but another epoch's view leaves the certificate as it is.
    let mut wrong_epoch = vote(&keys, &set, &cert.proposal, 1);
    wrong_epoch.proposal = Proposal::new(
        Round::new(Epoch::new(EPOCH + 1), View::new(5)),
        View::new(4),
        digest(7),
    );
    assert!(widen(&cert, &[wrong_epoch], &verifier(&set), rng).is_none());
}
