//! The simulated network: one identity per validator, the node's six channels, and links that
//! can be slowed, made lossy, cut into a partition and healed.

use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_p2p::Manager as _;
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Quota, Supervisor as _, deterministic};
use commonware_utils::ordered::Set;
use commonware_utils::{NZU32, NZUsize, Probability, probability};
use std::time::Duration;
use yun_node::engine::{self, Channels};

pub type Ctx = deterministic::Context;
pub type SimSender = simulated::Sender<PublicKey, Ctx>;
pub type SimReceiver = simulated::Receiver<PublicKey>;
pub type SimChannels = Channels<SimSender, SimReceiver>;

/// Largest simulated message. Simulated blocks hold a few hundred transfers at most; the
/// node's own bound (16 MiB) made the simulated network allocate and copy far more per message.
pub const SIM_MESSAGE_BYTES_MAX: u32 = 1 << 20;

/// How much later than everyone else's the slow voter's messages arrive ([`crate::Fault::SlowVoter`]):
/// far more than the links' jitter, so its vote is always the last.
pub const SLOW_VOTER_DELAY: Duration = Duration::from_millis(40);

pub struct SimNet {
    pub oracle: Oracle<PublicKey, Ctx>,
    link: Link,
    /// The validator whose outgoing links are [`SLOW_VOTER_DELAY`] slower, if any.
    slow: Option<usize>,
}

impl std::fmt::Debug for SimNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimNet({:?}±{:?})", self.link.latency, self.link.jitter)
    }
}

impl SimNet {
    /// Starts the network with every validator tracked and linked to every other.
    pub async fn start(context: &Ctx, validators: &[PrivateKey], lossy: bool) -> SimNet {
        let (network, oracle) = Network::new(
            context.child("network"),
            simulated::Config {
                max_size: SIM_MESSAGE_BYTES_MAX,
                max_peers_per_set: NZUsize!(validators.len() + 1),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
        );
        network.start();
        let keys: Vec<PublicKey> = validators.iter().map(|k| k.public_key()).collect();
        let _ = oracle.manager().track(0, Set::from_iter_dedup(keys));
        let link = if lossy {
            Link {
                latency: Duration::from_millis(120),
                jitter: Duration::from_millis(60),
                success_rate: lossy_success(),
            }
        } else {
            Link {
                latency: Duration::from_millis(10),
                jitter: Duration::from_millis(3),
                success_rate: probability!(1.0),
            }
        };
        let net = SimNet {
            oracle,
            link,
            slow: None,
        };
        net.heal(validators).await;
        net
    }

    /// Registers a node's channels (again, after a restart: the new receivers replace the old).
    pub async fn register(&mut self, key: &PublicKey) -> SimChannels {
        let control = self.oracle.control(key.clone());
        let quota = Quota::per_second(NZU32!(100_000));
        let mut ch = Vec::new();
        for id in [
            engine::CHANNEL_VOTES,
            engine::CHANNEL_CERTIFICATES,
            engine::CHANNEL_CERT_RESOLVER,
            engine::CHANNEL_BLOCKS,
            engine::CHANNEL_BACKFILL,
            engine::CHANNEL_TXS,
        ] {
            ch.push(control.register(id, quota).await.expect("register channel"));
        }
        let mut ch = ch.into_iter();
        let mut next = || ch.next().expect("six channels");
        Channels {
            votes: next(),
            certificates: next(),
            cert_resolver: next(),
            blocks: next(),
            backfill: next(),
            txs: next(),
        }
    }

    /// Links every pair (both directions) with the scenario's link.
    pub async fn heal(&self, validators: &[PrivateKey]) {
        self.relink(validators, |_, _| true).await;
    }

    /// Slows every link out of validator `i` by [`SLOW_VOTER_DELAY`] (now and after heals).
    pub async fn slow_sender(&mut self, validators: &[PrivateKey], i: usize) {
        self.slow = Some(i);
        self.heal(validators).await;
    }

    /// Cuts the links between validators below `split` and the rest.
    pub async fn partition(&self, validators: &[PrivateKey], split: usize) {
        self.relink(validators, |i, j| (i < split) == (j < split))
            .await;
    }

    async fn relink(&self, validators: &[PrivateKey], connected: impl Fn(usize, usize) -> bool) {
        for (i, a) in validators.iter().enumerate() {
            for (j, b) in validators.iter().enumerate() {
                if i == j {
                    continue;
                }
                let _ = self
                    .oracle
                    .remove_link(a.public_key(), b.public_key())
                    .await;
                if connected(i, j) {
                    let mut link = self.link.clone();
                    if self.slow == Some(i) {
                        link.latency += SLOW_VOTER_DELAY;
                    }
                    self.oracle
                        .add_link(a.public_key(), b.public_key(), link)
                        .await
                        .expect("add link");
                }
            }
        }
    }
}

/// 95 % of messages arrive on a lossy link.
fn lossy_success() -> Probability {
    probability!(0.95)
}
