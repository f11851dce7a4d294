//! Storage verbs for the scenario helper, so storage tests read like the story they pin:
//!
//! ```text
//! s.tx("p1").act(offer_storage(1 << 30, 1)).expect_ok();
//! let deal = s.tx("alice").act(deal_of(&data).replicas(3).epochs(4).bid(5).post()).expect_ok().tx_id;
//! s.empty_block();                        // matching assigns the replicas
//! s.prove_all("p1", &data).expect_ok();   // p1 answers its open challenges
//! ```

use crate::scenario::{Scenario, Step, addr};
use crate::storage::records::*;
use yun_types::market::Text;
use yun_types::storage::{DealId, DealSpec, StorageAction, StorageProof, encode_chunk_proof};
use yun_types::{Action, Amount, Hash32, SignedTx};

/// A deal being described over the bytes it stores: 1 replica, 1 epoch, bid 1.
#[derive(Debug, Clone)]
pub struct DealDraft(pub DealSpec);

/// The file of `len` bytes the tests store: deterministic, and different per `salt`.
pub fn file_of(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ salt ^ (i / 1024) as u8)
        .collect()
}

/// The root naming `data` (its plain BLAKE3 hash, which is its bao root).
pub fn root_of(data: &[u8]) -> Hash32 {
    Hash32(*blake3::hash(data).as_bytes())
}

pub fn deal_of(data: &[u8]) -> DealDraft {
    DealDraft(DealSpec {
        root: root_of(data),
        size_bytes: data.len() as u64,
        replicas: 1,
        epochs: 1,
        bid_per_mib_epoch: Amount::new(1),
        encrypted: false,
        source_url: Text::default(),
    })
}

impl DealDraft {
    pub fn replicas(mut self, r: u8) -> Self {
        self.0.replicas = r;
        self
    }
    pub fn epochs(mut self, n: u32) -> Self {
        self.0.epochs = n;
        self
    }
    pub fn bid(mut self, price: u128) -> Self {
        self.0.bid_per_mib_epoch = Amount::new(price);
        self
    }
    pub fn post(self) -> Action {
        Action::Storage(StorageAction::PostDeal { spec: self.0 })
    }
}

/// `OfferStorage` of `capacity_bytes` at `ask` per MiB-epoch.
pub fn offer_storage(capacity_bytes: u64, ask: u128) -> Action {
    Action::Storage(StorageAction::OfferStorage {
        capacity_bytes,
        ask_per_mib_epoch: Amount::new(ask),
    })
}

pub fn cancel_deal(deal: DealId) -> Action {
    Action::Storage(StorageAction::CancelDeal { deal })
}

pub fn prove(proofs: Vec<StorageProof>) -> Action {
    Action::Storage(StorageAction::ProveStorage { proofs })
}

impl Scenario {
    /// Changes the storage parameters (only before the first block: they are genesis's).
    pub fn storage_params(&mut self, f: impl FnOnce(&mut yun_types::StorageParams)) -> &mut Self {
        assert!(
            !self.started,
            "storage_params() is a genesis step: call it before any transaction"
        );
        f(&mut self.params.storage);
        self
    }

    pub fn deal(&mut self, id: &DealId) -> Deal {
        self.view().deal(id).expect("a posted deal")
    }

    pub fn storage_offer(&mut self, name: &str) -> StorageOffer {
        self.view().storage_offer(&addr(name)).unwrap_or_default()
    }

    pub fn storage_market(&mut self) -> StorageMarketState {
        self.view().storage_market()
    }

    /// The replica indices `name` holds live in `deal`.
    pub fn replicas_of(&mut self, name: &str, deal: &DealId) -> Vec<u8> {
        let who = addr(name);
        self.deal(deal)
            .replicas
            .iter()
            .enumerate()
            .filter(|(_, r)| r.provider == who && r.state.is_live())
            .map(|(i, _)| i as u8)
            .collect()
    }

    /// The valid proofs `name` can send now for `deal` (whose bytes are `data`): one per live
    /// replica of its with an open, unproven challenge.
    pub fn proofs_for(&mut self, name: &str, deal: &DealId, data: &[u8]) -> Vec<StorageProof> {
        let height = self.height + 1;
        let d = self.deal(deal);
        self.replicas_of(name, deal)
            .into_iter()
            .filter_map(|i| {
                let (epoch, chunk, proven) = open_challenge(deal, &d, i, height)?;
                (!proven).then(|| StorageProof {
                    deal: *deal,
                    replica: i,
                    epoch,
                    encoding: encode_chunk_proof(data, chunk),
                })
            })
            .collect()
    }

    /// Signs `name`'s proofs for every open challenge of `deal`; `None` if it has none.
    pub fn sign_proofs(&mut self, name: &str, deal: &DealId, data: &[u8]) -> Option<SignedTx> {
        let proofs = self.proofs_for(name, deal, data);
        (!proofs.is_empty()).then(|| self.tx(name).sign(prove(proofs)))
    }

    /// `name` answers every open challenge of `deal` in a block of its own.
    #[track_caller]
    pub fn prove_all(&mut self, name: &str, deal: &DealId, data: &[u8]) -> Step {
        let proofs = self.proofs_for(name, deal, data);
        assert!(!proofs.is_empty(), "{name} has no open challenge on {deal}");
        self.tx(name).act(prove(proofs))
    }

    /// Runs empty blocks until the next block would be `height`.
    pub fn run_until(&mut self, height: u64) -> &mut Self {
        while self.height + 1 < height {
            self.empty_block();
        }
        self
    }

    /// Balance plus market bond of `name`: what a provider owns.
    pub fn worth(&mut self, name: &str) -> u128 {
        let bond = self
            .view()
            .provider(&addr(name))
            .map_or(0, |p| p.bond.base_units());
        self.balance(name) + bond
    }
}
