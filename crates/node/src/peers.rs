//! The node's p2p peers as the API shows them, read from the p2p tracker's own metrics
//! (`…tracker_…connected{peer="KEY"}` and `…tracker_…blocked{peer="KEY"}`), so the answer is
//! exactly what the network layer believes rather than a second bookkeeping of ours.

use commonware_codec::DecodeExt;
use commonware_cryptography::ed25519::PublicKey;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use yun_types::Address;
use yun_types::api::PeerView;

/// How stale the peers list in `/v1/status` may be. Reading it renders the node's whole
/// metrics registry, and agents, consoles and load generators poll the status many times a
/// second: re-rendering on each poll was 4 % of a loaded single node's CPU in
/// `yun bench transfers`.
pub const PEERS_VIEW_AGE_MAX: Duration = Duration::from_secs(1);

/// The peers list, read with `read` at most once per `age_max` and shared meanwhile.
pub struct PeersCache<F> {
    read: F,
    age_max: Duration,
    last: Mutex<Option<(Instant, Vec<PeerView>)>>,
}

impl<F> std::fmt::Debug for PeersCache<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeersCache")
            .field("age_max", &self.age_max)
            .finish_non_exhaustive()
    }
}

impl<F: Fn() -> Vec<PeerView>> PeersCache<F> {
    pub fn new(read: F, age_max: Duration) -> Self {
        PeersCache {
            read,
            age_max,
            last: Mutex::new(None),
        }
    }

    /// The last list read, or a fresh one if it is older than `age_max`.
    pub fn get(&self) -> Vec<PeerView> {
        // A panic while reading (in another request) must not fail every later status.
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, peers)) = last.as_ref()
            && at.elapsed() < self.age_max
        {
            return peers.clone();
        }
        let peers = (self.read)();
        *last = Some((Instant::now(), peers.clone()));
        peers
    }
}

/// Connected and blocked peers found in a Prometheus text rendering of the node's registry.
pub fn connected(metrics_text: &str) -> Vec<PeerView> {
    let mut peers: BTreeMap<Address, PeerView> = BTreeMap::new();
    for line in metrics_text.lines() {
        if line.starts_with('#') || !line.contains("tracker_") {
            continue;
        }
        let blocked = if line.contains("_connected{peer=") {
            false
        } else if line.contains("_blocked{peer=") {
            true
        } else {
            continue;
        };
        let Some((address, value)) = parse(line) else {
            continue;
        };
        let entry = peers.entry(address).or_insert(PeerView {
            address,
            connected_since_ms: None,
            blocked_until_ms: None,
        });
        if blocked {
            entry.blocked_until_ms = Some(value);
        } else {
            entry.connected_since_ms = Some(value);
        }
    }
    peers.into_values().collect()
}

fn parse(line: &str) -> Option<(Address, u64)> {
    let start = line.find("peer=\"")? + "peer=\"".len();
    let end = start + line[start..].find('"')?;
    let bytes = hex::decode(&line[start..end]).ok()?;
    let key = PublicKey::decode(commonware_codec::Copying(&bytes[..])).ok()?;
    let value: f64 = line.rsplit(' ').next()?.parse().ok()?;
    // Gauges are rendered as numbers; these hold milliseconds since the Unix epoch.
    Some((Address::from_public_key(&key), value as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{Signer, ed25519::PrivateKey};

    #[test]
    fn reads_connected_and_blocked_peers_from_the_tracker_metrics() {
        let a = PrivateKey::from_seed(1).public_key();
        let b = PrivateKey::from_seed(2).public_key();
        let text = format!(
            "# HELP x\nnetwork_tracker_directory_connected{{peer=\"{a}\"}} 1700000000000\nnetwork_tracker_directory_blocked{{peer=\"{b}\"}} 1700000005000\nnetwork_tracker_tracked 3\n"
        );
        let peers = connected(&text);
        assert_eq!(peers.len(), 2);
        let pa = peers
            .iter()
            .find(|p| p.address == Address::from_public_key(&a))
            .unwrap();
        assert_eq!(pa.connected_since_ms, Some(1_700_000_000_000));
        let pb = peers
            .iter()
            .find(|p| p.address == Address::from_public_key(&b))
            .unwrap();
        assert_eq!(pb.blocked_until_ms, Some(1_700_000_005_000));
        assert_eq!(pb.connected_since_ms, None);
    }

    fn counting_reader(reads: &std::sync::atomic::AtomicUsize) -> impl Fn() -> Vec<PeerView> {
        move || {
            let n = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            vec![PeerView {
                address: Address::from_public_key(&PrivateKey::from_seed(n as u64).public_key()),
                connected_since_ms: Some(n as u64),
                blocked_until_ms: None,
            }]
        }
    }

    #[test]
    fn the_peers_list_is_read_once_per_age_and_shared_meanwhile() {
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let cache = PeersCache::new(counting_reader(&reads), Duration::from_secs(3_600));
        let first = cache.get();
        assert_eq!(cache.get(), first);
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn a_peers_list_past_its_age_is_read_again() {
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let cache = PeersCache::new(counting_reader(&reads), Duration::ZERO);
        let first = cache.get();
        let second = cache.get();
        assert_ne!(first, second, "a zero age never shares a list");
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
