//! The agent's storage duties: keep a verified copy of every deal replica the chain assigns
//! it (fetched from the deal's source, the node and the other holders), answer each epoch's
//! challenge with the challenged chunk's proof before the window ends (batched, journaled so
//! a restart neither sends twice nor forgets), and let the data of ended deals go.

use crate::chain::{Landed, Sent, TxSigner, landed};
use crate::journal::{Journal, ProofKey};
pub(crate) use crate::storage_api::{Challenge, Duty, StorageOffer};
use crate::{RESEND_AFTER_BLOCKS, blocking};
use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{info, warn};
use yun_blobs::BlobStore;
use yun_client::Client;
use yun_client::seal::SealIdentity;
use yun_types::storage::{STORAGE_PROOFS_PER_TX_MAX, StorageAction, StorageProof};
use yun_types::{Action, Hash32};

/// A failed fetch of a replica's data is tried again after this long.
const FETCH_RETRY: Duration = Duration::from_secs(3);

impl Duty {
    fn key(&self, c: &Challenge) -> ProofKey {
        ProofKey {
            deal: self.deal,
            replica: self.replica,
            epoch: c.epoch,
        }
    }
}

/// The storage half of the agent.
#[derive(Debug)]
pub(crate) struct Storage {
    pub offer: StorageOffer,
    pub identity: SealIdentity,
    node: Client,
    endpoint: String,
    blobs: Arc<BlobStore>,
    journal: Arc<Journal>,
    scratch: PathBuf,
    fetching: BTreeSet<Hash32>,
    fetched_tx: mpsc::UnboundedSender<(Hash32, Result<(), String>)>,
    fetched_rx: mpsc::UnboundedReceiver<(Hash32, Result<(), String>)>,
    retry_at: BTreeMap<Hash32, Instant>,
    /// A copy lost after it was proven stays lost (`Fault::NoStorageRepair`).
    no_repair: bool,
    in_flight: Option<(Sent, Vec<ProofKey>)>,
    /// Roots of replicas the chain still lists: the blob collector keeps them.
    pub live: Arc<Mutex<BTreeSet<Hash32>>>,
}

/// What [`Storage::new`] needs.
#[derive(Debug)]
pub(crate) struct StorageParts {
    pub offer: StorageOffer,
    pub identity: SealIdentity,
    pub node: Client,
    pub endpoint: String,
    pub blobs: Arc<BlobStore>,
    pub journal: Arc<Journal>,
    pub scratch: PathBuf,
    pub no_repair: bool,
}

impl Storage {
    pub fn new(p: StorageParts) -> Storage {
        let (fetched_tx, fetched_rx) = mpsc::unbounded_channel();
        Storage {
            offer: p.offer,
            identity: p.identity,
            node: p.node,
            endpoint: p.endpoint,
            blobs: p.blobs,
            journal: p.journal,
            scratch: p.scratch,
            fetching: BTreeSet::new(),
            fetched_tx,
            fetched_rx,
            retry_at: BTreeMap::new(),
            no_repair: p.no_repair,
            in_flight: None,
            live: Arc::new(Mutex::new(BTreeSet::new())),
        }
    }

    /// Offers the capacity and publishes the encryption key, unless the chain shows both.
    pub async fn announce(&self, signer: &TxSigner) -> anyhow::Result<()> {
        let key = self.identity.public_key();
        let (offered, published) = crate::storage_api::announced(&self.node, &signer.address)
            .await
            .unwrap_or((None, None));
        if offered != Some(self.offer) {
            let action = Action::Storage(StorageAction::OfferStorage {
                capacity_bytes: self.offer.capacity_bytes,
                ask_per_mib_epoch: self.offer.ask_per_mib_epoch,
            });
            let h = signer.submit_and_wait(&self.node, action).await?;
            info!(height = h, capacity_bytes = self.offer.capacity_bytes, ask = %self.offer.ask_per_mib_epoch, "storage offered");
        }
        if published != Some(key) {
            let action = Action::Storage(StorageAction::SetEncryptionKey { key });
            let h = signer.submit_and_wait(&self.node, action).await?;
            info!(height = h, %key, "encryption key published");
        }
        Ok(())
    }

    /// One look at the chain: fetch what is missing, prove what is challenged, forget what
    /// is over.
    pub async fn pass(&mut self, signer: &TxSigner, height: u64) -> anyhow::Result<()> {
        let duties = crate::storage_api::duties(&self.node, &signer.address, &self.endpoint)
            .await
            .context("reading this provider's storage replicas")?;
        self.note_fetched();
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) =
            duties.iter().map(|d| d.root).collect();
        for d in &duties {
            self.fetch_if_missing(d);
        }
        let journal = self.journal.clone();
        let mut sent = blocking(move || journal.proofs_sent()).await?;
        if !self.settled(height, &mut sent).await {
            return self.forget_over(&duties, &sent).await;
        }
        let due = due(&duties, &sent, height, &self.blobs);
        if !due.is_empty() {
            self.prove(signer, due, height).await?;
        }
        let journal = self.journal.clone();
        let sent = blocking(move || journal.proofs_sent()).await?;
        self.forget_over(&duties, &sent).await
    }

    /// Collects the fetches that finished since the last pass.
    fn note_fetched(&mut self) {
        while let Ok((root, result)) = self.fetched_rx.try_recv() {
            self.fetching.remove(&root);
            match result {
                Ok(()) => {
                    self.retry_at.remove(&root);
                }
                Err(e) => {
                    warn!(%root, error = %e, "fetching a replica failed; trying again shortly");
                    self.retry_at.insert(root, Instant::now() + FETCH_RETRY);
                }
            }
        }
    }

    /// Starts fetching `d`'s bytes unless they are here, on their way, or waiting to retry.
    fn fetch_if_missing(&mut self, d: &Duty) {
        if self.fetching.contains(&d.root) || self.blobs.contains(&d.root) {
            return;
        }
        if self
            .retry_at
            .get(&d.root)
            .is_some_and(|t| Instant::now() < *t)
        {
            return;
        }
        if d.proven_before {
            if self.no_repair {
                return;
            }
            warn!(root = %d.root, deal = %d.deal, "this provider's copy is gone; fetching it again");
        }
        info!(root = %d.root, deal = %d.deal, replica = d.replica, bytes = d.size_bytes, sources = d.sources.len(), "fetching a replica");
        self.fetching.insert(d.root);
        let (blobs, done, scratch) = (
            self.blobs.clone(),
            self.fetched_tx.clone(),
            self.scratch.clone(),
        );
        let (sources, root, size_bytes) = (d.sources.clone(), d.root, d.size_bytes);
        tokio::spawn(async move {
            let result = fetch_replica(&sources, root, size_bytes, &scratch, &blobs).await;
            if result.is_ok() {
                info!(%root, bytes = size_bytes, "replica stored");
            }
            let _ = done.send((root, result.map_err(|e| format!("{e:#}"))));
        });
    }

    /// Whether the last proof transaction has taken effect (or never will); one that failed
    /// or was dropped has its proofs marked unsent, so they go again at once.
    async fn settled(&mut self, height: u64, sent: &mut BTreeMap<ProofKey, u64>) -> bool {
        let Some((tx, keys)) = &self.in_flight else {
            return true;
        };
        let why = match landed(&self.node, tx, height).await {
            Landed::Pending => return false,
            Landed::Finalized { height: h, .. } if h > height => return false,
            Landed::Finalized { failure: None, .. } => None,
            Landed::Finalized {
                failure: Some(name),
                ..
            } => Some(name),
            Landed::Dropped { reason } => Some(reason),
        };
        if let Some(rejection) = why {
            warn!(tx = %tx.id, proofs = keys.len(), %rejection, "storage proofs did not take effect; sending the live ones again");
            for k in keys {
                sent.remove(k);
            }
            let (journal, keys) = (self.journal.clone(), keys.clone());
            if let Err(e) = blocking(move || journal.remove_proofs(&keys)).await {
                warn!(error = %e, "journal");
            }
        }
        self.in_flight = None;
        true
    }

    /// Builds the proofs of `due` (on the blocking pool: each reads one chunk group), sends
    /// them in one transaction and journals them as sent.
    async fn prove(
        &mut self,
        signer: &TxSigner,
        due: Vec<(ProofKey, Hash32, u64)>,
        height: u64,
    ) -> anyhow::Result<()> {
        let blobs = self.blobs.clone();
        let proofs = blocking(move || {
            let mut proofs = Vec::new();
            for (key, root, chunk_index) in due {
                match blobs.prove_chunk(&root, chunk_index) {
                    Ok(encoding) => proofs.push(StorageProof {
                        deal: key.deal,
                        replica: key.replica,
                        epoch: key.epoch,
                        encoding,
                    }),
                    Err(e) => warn!(%root, chunk_index, error = %e, "cannot prove a chunk"),
                }
            }
            Ok(proofs)
        })
        .await?;
        if proofs.is_empty() {
            return Ok(());
        }
        let keys: Vec<ProofKey> = proofs
            .iter()
            .map(|p| ProofKey {
                deal: p.deal,
                replica: p.replica,
                epoch: p.epoch,
            })
            .collect();
        let n = proofs.len();
        let action = Action::Storage(StorageAction::ProveStorage { proofs });
        let tx = signer.submit_tracked(&self.node, action).await?;
        info!(proofs = n, tx = %tx.id, "proved storage");
        let (journal, journaled) = (self.journal.clone(), keys.clone());
        blocking(move || journal.put_proofs_sent(&journaled, height)).await?;
        self.in_flight = Some((tx, keys));
        Ok(())
    }

    /// Drops journal entries of challenges no longer open: nothing can be sent for them.
    async fn forget_over(
        &self,
        duties: &[Duty],
        sent: &BTreeMap<ProofKey, u64>,
    ) -> anyhow::Result<()> {
        let open: BTreeSet<ProofKey> = duties
            .iter()
            .filter_map(|d| d.challenge.as_ref().map(|c| d.key(c)))
            .collect();
        let in_flight: BTreeSet<ProofKey> = self
            .in_flight
            .iter()
            .flat_map(|(_, k)| k.iter().copied())
            .collect();
        let over: Vec<ProofKey> = sent
            .keys()
            .filter(|k| !open.contains(k) && !in_flight.contains(k))
            .copied()
            .collect();
        let journal = self.journal.clone();
        blocking(move || journal.remove_proofs(&over)).await
    }
}

/// The challenges to answer now, earliest window first, at most a transaction's worth: open,
/// not past their window, whose data is here, and not sent within [`RESEND_AFTER_BLOCKS`].
pub(crate) fn due(
    duties: &[Duty],
    sent: &BTreeMap<ProofKey, u64>,
    height: u64,
    blobs: &BlobStore,
) -> Vec<(ProofKey, Hash32, u64)> {
    let mut due: Vec<(u64, ProofKey, Hash32, u64)> = duties
        .iter()
        .filter_map(|d| {
            let c = d.challenge?;
            let key = d.key(&c);
            let recently = sent
                .get(&key)
                .is_some_and(|s| height < s + RESEND_AFTER_BLOCKS);
            (c.window_end_height > height && !recently && blobs.contains(&d.root)).then_some((
                c.window_end_height,
                key,
                d.root,
                c.chunk_index,
            ))
        })
        .collect();
    due.sort_unstable();
    due.truncate(STORAGE_PROOFS_PER_TX_MAX);
    due.into_iter().map(|(_, k, r, i)| (k, r, i)).collect()
}

/// Downloads a replica's bytes from `sources` (every 16 KiB group verified against `root`
/// as it arrives, several holders at once, liars dropped) and stores them.
async fn fetch_replica(
    sources: &[String],
    root: Hash32,
    size_bytes: u64,
    scratch: &std::path::Path,
    blobs: &BlobStore,
) -> anyhow::Result<()> {
    anyhow::ensure!(!sources.is_empty(), "no source lists this replica's data");
    let tmp = scratch.join(format!("replica-{root}"));
    yun_client::download_verified(sources, &root, size_bytes, &tmp).await?;
    let stored = async {
        let file = tokio::fs::File::open(&tmp).await?;
        let stream = tokio_util::io::ReaderStream::new(file);
        blobs.put_stream(stream, Some(root)).await?;
        anyhow::Ok(())
    }
    .await;
    let _ = tokio::fs::remove_file(&tmp).await;
    stored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duty(deal: u8, root: Hash32, window_end: Option<u64>) -> Duty {
        Duty {
            deal: Hash32([deal; 32]),
            replica: 0,
            root,
            size_bytes: 4096,
            sources: Vec::new(),
            challenge: window_end.map(|w| Challenge {
                epoch: 3,
                chunk_index: 1,
                window_end_height: w,
            }),
            proven_before: false,
        }
    }

    #[test]
    fn due_proofs_are_open_held_unsent_and_earliest_window_first() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path(), yun_blobs::BlobLimits::default()).unwrap();
        let held = blobs.put_bytes(&[5u8; 4096]).unwrap();
        let duties = vec![
            duty(1, held, Some(30)),
            duty(2, held, Some(12)),
            duty(3, held, Some(10)), // at the view's height: too late
            duty(4, Hash32([9; 32]), Some(40)), // data not here
            duty(5, held, None),     // no challenge open
            duty(6, held, Some(50)),
        ];
        let mut sent = BTreeMap::new();
        sent.insert(duties[5].key(&duties[5].challenge.unwrap()), 9);
        let picked: Vec<u8> = due(&duties, &sent, 10, &blobs)
            .iter()
            .map(|(k, _, _)| k.deal.0[0])
            .collect();
        assert_eq!(picked, [2, 1], "deal 6 was sent one block ago");
        let later = due(&duties, &sent, 9 + RESEND_AFTER_BLOCKS, &blobs);
        assert!(later.iter().any(|(k, _, _)| k.deal.0[0] == 6));
    }

    #[test]
    fn at_most_a_transactions_worth_of_proofs_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path(), yun_blobs::BlobLimits::default()).unwrap();
        let held = blobs.put_bytes(&[5u8; 4096]).unwrap();
        let duties: Vec<Duty> = (0..40)
            .map(|i| duty(i, held, Some(100 + u64::from(i))))
            .collect();
        let picked = due(&duties, &BTreeMap::new(), 5, &blobs);
        assert_eq!(picked.len(), STORAGE_PROOFS_PER_TX_MAX);
        assert_eq!(picked[0].0.deal, Hash32([0; 32]));
    }
}
