//! The storage routes of the node API as the agent reads them: its replicas with their open
//! challenges and where their data is, and what it has announced.

use yun_client::Client;
use yun_types::api::ApiErrorKind;
use yun_types::api_storage::{HeldReplicaView, StorageReplicaState};
use yun_types::storage::DealId;
use yun_types::storage::EncryptionKey;
use yun_types::{Address, Amount, Hash32};

/// What the machine offers for storage deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageOffer {
    pub capacity_bytes: u64,
    pub ask_per_mib_epoch: Amount,
}

/// One replica this provider keeps, as the chain lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duty {
    pub deal: DealId,
    pub replica: u8,
    pub root: Hash32,
    pub size_bytes: u64,
    /// Where the bytes can be fetched, best first: the deal's source, the node, the other
    /// holders (this provider's own endpoint left out).
    pub sources: Vec<String>,
    /// The challenge open now, if any.
    pub challenge: Option<Challenge>,
    /// It has proven a copy before (so a missing copy was lost here, not never fetched).
    pub proven_before: bool,
}

/// One epoch's challenge of one replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub epoch: u64,
    pub chunk_index: u64,
    /// The last height a proof may land at.
    pub window_end_height: u64,
}

/// Pages of held replicas read in one pass at most (the node bounds a provider's replicas).
const PAGES_MAX: usize = 64;

/// The replicas `me` holds, with the challenge open for each and the sources of its bytes
/// (`own_endpoint` left out).
pub(crate) async fn duties(
    node: &Client,
    me: &Address,
    own_endpoint: &str,
) -> anyhow::Result<Vec<Duty>> {
    let mut duties = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..PAGES_MAX {
        let page = node.storage_challenges(me, after.as_deref()).await?;
        duties.extend(
            page.replicas
                .into_iter()
                .map(|r| duty_of(r, node.base_url(), own_endpoint)),
        );
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    Ok(duties)
}

/// Sources best first: holders that have proven their copy (a repair copies from them),
/// the deal's source (the owner's upload node), the node this agent follows, then holders
/// still fetching. A download spreads its ranges over all of them and drops any that fails.
fn duty_of(r: HeldReplicaView, node_url: &str, own_endpoint: &str) -> Duty {
    let holding = |s: StorageReplicaState| s == StorageReplicaState::Holding;
    let mut sources: Vec<String> = Vec::new();
    let candidates = r
        .holders
        .iter()
        .filter(|h| holding(h.state))
        .map(|h| h.endpoint.0.clone())
        .chain([r.source_url.0.clone(), node_url.to_string()])
        .chain(
            r.holders
                .iter()
                .filter(|h| !holding(h.state))
                .map(|h| h.endpoint.0.clone()),
        );
    for url in candidates {
        let url = url.trim_end_matches('/').to_string();
        if !url.is_empty() && url != own_endpoint.trim_end_matches('/') && !sources.contains(&url) {
            sources.push(url);
        }
    }
    Duty {
        proven_before: r.state == StorageReplicaState::Holding,
        deal: r.deal,
        replica: r.replica,
        root: r.root,
        size_bytes: r.size_bytes,
        sources,
        challenge: r.challenge.filter(|c| !c.proven).map(|c| Challenge {
            epoch: c.epoch,
            chunk_index: c.chunk_index,
            window_end_height: c.window_end_height,
        }),
    }
}

/// The storage offer and encryption key the chain shows for `me` (none before registration).
pub(crate) async fn announced(
    node: &Client,
    me: &Address,
) -> anyhow::Result<(Option<StorageOffer>, Option<EncryptionKey>)> {
    match node.provider(me).await {
        Ok(view) => Ok(view.storage.map_or((None, None), |s| {
            let offer = StorageOffer {
                capacity_bytes: s.capacity_bytes,
                ask_per_mib_epoch: s.ask_per_mib_epoch,
            };
            (Some(offer), s.encryption_key)
        })),
        Err(e) if e.code() == Some(ApiErrorKind::NotFound as u16) => Ok((None, None)),
        Err(e) => Err(e.into()),
    }
}
