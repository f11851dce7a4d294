//! Transaction gossip: what a client submits to one node reaches every peer's mempool, so
//! whichever validator leads the next view can include it (and a full node's API accepts
//! transactions at all).
//!
//! A node sends only what its own clients submitted, never what it heard from a peer: every
//! node connects to every validator, so one hop reaches all proposers and no message loops.

use crate::state::NodeState;
use commonware_codec::{Decode as _, Encode, EncodeSize, RangeCfg, Read, Write};
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Blocker, Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Spawner};
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, warn};
use yun_types::{SignedTx, TxRejection};

/// Most transactions in one gossip message.
pub const GOSSIP_BATCH_TXS_MAX: usize = 1_024;
pub use crate::state::GOSSIP_QUEUE_TXS_MAX;
/// How long submitted transactions are gathered before one message carries them all.
pub const GOSSIP_FLUSH_INTERVAL: Duration = Duration::from_millis(5);
/// How long to wait before trying again when no peer is connected.
pub const GOSSIP_RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// One gossip message: a bounded list of signed transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxBatch(pub Vec<SignedTx>);

impl Write for TxBatch {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.0.write(buf);
    }
}

impl EncodeSize for TxBatch {
    fn encode_size(&self) -> usize {
        self.0.encode_size()
    }
}

impl Read for TxBatch {
    type Cfg = ();
    fn read_cfg(
        buf: &mut impl commonware_codec::Buf,
        _: &(),
    ) -> Result<Self, commonware_codec::Error> {
        let range: RangeCfg<usize> = (1..=GOSSIP_BATCH_TXS_MAX).into();
        Ok(TxBatch(Vec::<SignedTx>::read_cfg(buf, &(range, ()))?))
    }
}

/// Sends what clients submit and admits what peers send until the channel closes. A peer
/// whose message does not decode, or carries a transaction with a bad signature, is blocked.
pub async fn run<E, S, R, B>(context: E, state: Arc<NodeState>, channel: (S, R), mut blocker: B)
where
    E: Clock + Spawner,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    let (mut sender, mut receiver) = channel;
    loop {
        commonware_macros::select! {
            _ = state.gossip_ready.notified() => {
                // Gather a few milliseconds' worth so a burst leaves as few messages.
                context.sleep(GOSSIP_FLUSH_INTERVAL).await;
                if !send_pending(&state, &mut sender) {
                    // Nobody connected yet (a node just started): keep them and try again.
                    context.sleep(GOSSIP_RETRY_INTERVAL).await;
                    state.gossip_ready.notify_one();
                }
            },
            message = receiver.recv() => {
                let Ok((peer, bytes)) = message else {
                    debug!("gossip channel closed");
                    return;
                };
                let batch = match TxBatch::decode_cfg(commonware_codec::Copying(bytes.as_ref()), &()) {
                    Ok(b) => b,
                    Err(e) => {
                        warn!(%peer, error = %e, "malformed transaction gossip; blocking the peer");
                        let _ = blocker.block(peer);
                        continue;
                    }
                };
                let results = state.admit_from_peer(batch.0);
                if results.contains(&Err(TxRejection::BadSignature)) {
                    warn!(%peer, "gossiped transaction with a bad signature; blocking the peer");
                    let _ = blocker.block(peer);
                }
            },
        }
    }
}

/// Sends the queue in batches; false if no peer was reachable (the queue is kept).
fn send_pending<S: Sender<PublicKey = PublicKey>>(state: &NodeState, sender: &mut S) -> bool {
    loop {
        let batch: Vec<SignedTx> = {
            let queue = state.gossip_queue.lock().expect("gossip queue lock");
            queue.iter().take(GOSSIP_BATCH_TXS_MAX).cloned().collect()
        };
        if batch.is_empty() {
            return true;
        }
        let txs = batch.len();
        let reached = sender.send(Recipients::All, TxBatch(batch).encode(), false);
        debug!(txs, peers = reached.len(), "gossiped transactions");
        if reached.is_empty() {
            return false;
        }
        state
            .gossip_queue
            .lock()
            .expect("gossip queue lock")
            .drain(..txs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Decode;

    #[test]
    fn an_empty_or_oversized_batch_does_not_decode() {
        let empty = TxBatch(Vec::new()).encode();
        assert!(TxBatch::decode_cfg(empty, &()).is_err());
        let mut buf = Vec::new();
        commonware_codec::varint::UInt((GOSSIP_BATCH_TXS_MAX + 1) as u32).write(&mut buf);
        assert!(TxBatch::decode_cfg(commonware_codec::Copying(&buf[..]), &()).is_err());
    }
}
