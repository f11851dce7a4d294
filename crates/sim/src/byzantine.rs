//! A Byzantine validator: it runs no honest engine; for every round in which it hears an
//! honest notarize vote, it signs two notarize votes for different proposals of that round and
//! sends both to everyone — the equivocation consensus must report and the chain must slash.

use crate::net::{Ctx, SimNet};
use commonware_codec::{DecodeExt as _, Encode as _};
use commonware_consensus::Viewable as _;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::{Notarize, Proposal, Vote};
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use commonware_p2p::Recipients;
use commonware_p2p::utils::mux::{Builder as _, Muxer};
use commonware_runtime::{Spawner as _, Supervisor as _};
use commonware_utils::ordered::Set;
use rand::RngExt as _;
use std::collections::BTreeSet;
use yun_node::engine::CONSENSUS_NAMESPACE;
use yun_types::block::ConsensusDigest;

/// Most rounds the equivocator signs conflicting votes in (a bound, so a long run stays small).
pub const EQUIVOCATIONS_MAX: usize = 64;

/// Registers the Byzantine validator's channels and starts its task.
pub async fn start(context: &Ctx, net: &mut SimNet, key: PrivateKey, validators: &[PrivateKey]) {
    let participants = Set::from_iter_dedup(validators.iter().map(|k| k.public_key()));
    let scheme = Scheme::signer(CONSENSUS_NAMESPACE, participants, key.clone())
        .expect("the equivocator is a validator");
    let channels = net.register(&key.public_key()).await;
    let (sender, receiver) = channels.votes;
    // The other channels stay registered (and unread) so the peer looks like a validator.
    let _keep = (
        channels.certificates,
        channels.cert_resolver,
        channels.blocks,
        channels.backfill,
        channels.txs,
    );
    context
        .child("equivocator")
        .spawn(move |mut ctx| async move {
            let _keep = _keep;
            // Honest nodes split votes by epoch; with no subchannel registered, every vote
            // arrives on the backup with its epoch, and replies go out on that epoch's.
            let (mux, _handle, mut receiver, mut sender) =
                Muxer::builder(ctx.child("votes_mux"), sender, receiver)
                    .with_backup()
                    .with_global_sender()
                    .build();
            mux.start();
            let mut done = BTreeSet::new();
            while let Some((epoch, (_, bytes))) = receiver.recv().await {
                let Ok(vote) = Vote::<Scheme, ConsensusDigest>::decode(bytes) else {
                    continue;
                };
                let Vote::Notarize(honest) = vote else {
                    continue;
                };
                let view = honest.view();
                if done.len() >= EQUIVOCATIONS_MAX || !done.insert((epoch, view)) {
                    continue;
                }
                for _ in 0..2 {
                    let mut payload = [0u8; 32];
                    ctx.fill(&mut payload);
                    let proposal = Proposal::new(
                        honest.proposal.round,
                        honest.proposal.parent,
                        ConsensusDigest::from(payload),
                    );
                    let notarize =
                        Notarize::<Scheme, _>::sign(&scheme, proposal).expect("signer signs");
                    let _ = sender.send(
                        epoch,
                        Recipients::All,
                        Vote::Notarize(notarize).encode(),
                        true,
                    );
                }
            }
        });
}
