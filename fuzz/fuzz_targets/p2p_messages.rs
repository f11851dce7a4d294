//! Fuzzes every message a peer can send this node that we decode: the transaction gossip batch,
//! simplex votes and certificates over our scheme and digest (the consensus channels), the
//! equivocation evidence built from them, and the p2p tracker's metrics text the peers endpoint
//! parses. The first byte picks the message; whatever decodes re-encodes to its input.
#![no_main]

use commonware_codec::{Decode as _, Encode as _};
use commonware_consensus::simplex::types::{Certificate, Vote};
use libfuzzer_sys::fuzz_target;
use yun_node::epochs::Scheme;
use yun_node::gossip::{GOSSIP_BATCH_TXS_MAX, TxBatch};
use yun_types::block::ConsensusDigest;
use yun_types::evidence::Equivocation;

/// Most signers a certificate may carry in this target (a validator set of that size).
const PARTICIPANTS_MAX: usize = 1_024;

fn gossip(data: &[u8]) {
    let Ok(batch) = TxBatch::decode_cfg(commonware_codec::Copying(data), &()) else {
        return;
    };
    assert!((1..=GOSSIP_BATCH_TXS_MAX).contains(&batch.0.len()));
    assert_eq!(
        &batch.encode()[..],
        data,
        "a gossip batch re-encodes to its input"
    );
    for tx in &batch.0 {
        let _ = tx.verify_signature();
    }
}

fn vote(data: &[u8]) {
    let Ok(vote) =
        Vote::<Scheme, ConsensusDigest>::decode_cfg(commonware_codec::Copying(data), &())
    else {
        return;
    };
    let encoded = vote.encode();
    let again =
        Vote::<Scheme, ConsensusDigest>::decode_cfg(commonware_codec::Copying(&encoded[..]), &())
            .expect("a re-encoded vote decodes");
    assert_eq!(again.encode(), encoded, "a vote survives a round trip");
}

fn certificate(data: &[u8]) {
    let cfg = PARTICIPANTS_MAX;
    let Ok(cert) =
        Certificate::<Scheme, ConsensusDigest>::decode_cfg(commonware_codec::Copying(data), &cfg)
    else {
        return;
    };
    let encoded = cert.encode();
    let again = Certificate::<Scheme, ConsensusDigest>::decode_cfg(
        commonware_codec::Copying(&encoded[..]),
        &cfg,
    )
    .expect("a re-encoded certificate decodes");
    assert_eq!(
        again.encode(),
        encoded,
        "a certificate survives a round trip"
    );
}

fn evidence(data: &[u8]) {
    let Ok(evidence) = Equivocation::decode_cfg(commonware_codec::Copying(data), &()) else {
        return;
    };
    assert_eq!(
        &evidence.encode()[..],
        data,
        "evidence re-encodes to its input"
    );
    let _ = evidence.epoch();
}

fn peers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let peers = yun_node::peers::connected(&text);
    for pair in peers.windows(2) {
        assert!(
            pair[0].address < pair[1].address,
            "one entry per peer, in order"
        );
    }
    for p in &peers {
        assert!(p.connected_since_ms.is_some() || p.blocked_until_ms.is_some());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => gossip(rest),
        1 => vote(rest),
        2 => certificate(rest),
        3 => evidence(rest),
        _ => peers(rest),
    }
});
