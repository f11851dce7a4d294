//! A scenario helper so state tests read like the behaviour they pin:
//!
//! ```text
//! let mut s = Scenario::new();
//! s.fund("alice", 100);
//! s.tx("alice").transfer("bob", 500).expect_rejected(TxRejection::InsufficientBalance);
//! ```
//!
//! Every block it executes is followed by the supply-conservation check.

use crate::conservation::check_supply;
use crate::env::BlockEnv;
use crate::exec::{BlockError, BlockOutcome, build_block_signed, execute_block, verify_signatures};
use crate::genesis::genesis_writes;
use crate::overlay::{MemState, Overlay};
use commonware_cryptography::Signer;
use commonware_cryptography::ed25519::PrivateKey;
use std::collections::BTreeMap;
use yun_types::fee::FeeSchedule;
use yun_types::{
    Action, Address, Amount, ChainParams, Genesis, GenesisAccount, GenesisValidator, Hash32,
    MarketParams, Receipt, SeedSigner, SignedTx, Tx, TxOutcome, TxRejection,
};

pub const SCENARIO_CHAIN_ID: &str = "yun-scenario";

/// The engine class every scenario offer declares unless told otherwise, and the one the
/// scenario chain admits.
pub const ENGINE_CLASS_DEFAULT: &str = "engine class A";

/// The class hash a scenario offer declares for the class named `name`.
pub fn engine_class(name: &str) -> Hash32 {
    Hash32::digest(name.as_bytes())
}

/// A genesis for the scenario chain with the named accounts funded and one validator.
pub fn genesis_with(accounts: &[(&str, u128)]) -> Genesis {
    Genesis {
        chain_id: SCENARIO_CHAIN_ID.into(),
        genesis_time_ms: 0,
        accounts: accounts
            .iter()
            .map(|(n, b)| GenesisAccount {
                address: addr(n),
                balance: Amount::new(*b),
            })
            .collect(),
        validators: vec![GenesisValidator {
            name: "validator".into(),
            address: addr("validator"),
            p2p_address: "127.0.0.1:1".into(),
            self_bond: Amount::ZERO,
            seed_key: seed_signer_of("validator").key(),
        }],
        params: Scenario::new().params,
        dev_accounts: 0,
        evm_accounts: Vec::new(),
    }
}

/// A chain in memory with named accounts.
#[derive(Debug)]
pub struct Scenario {
    pub state: MemState,
    pub params: ChainParams,
    pub height: u64,
    /// Block time of the last block, and how far each next block's time moves (1 s unless a
    /// test fills blocks faster).
    pub time_ms: u64,
    pub block_ms: u64,
    /// Who proposes the next blocks (and receives the fee remainders); "validator" unless set.
    pub proposer: String,
    genesis_accounts: Vec<(String, Amount)>,
    genesis_validators: Vec<(String, Amount)>,
    pub(crate) started: bool,
    /// The signer record the next block carries (taken by it).
    pub signers: Option<yun_types::signers::SignerRecord>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

/// The deterministic key of a named test account (cached: deriving a key is costly).
pub fn key_of(name: &str) -> PrivateKey {
    thread_local! {
        static CACHE: std::cell::RefCell<BTreeMap<String, PrivateKey>> = const { std::cell::RefCell::new(BTreeMap::new()) };
    }
    CACHE.with(|c| {
        c.borrow_mut()
            .entry(name.to_string())
            .or_insert_with(|| derive_key(name))
            .clone()
    })
}

fn derive_key(name: &str) -> PrivateKey {
    let seed = u64::from_le_bytes(
        blake3::hash(name.as_bytes()).as_bytes()[..8]
            .try_into()
            .unwrap_or([0; 8]),
    );
    PrivateKey::from_seed(seed)
}

/// The seed signer of a named test validator (derived from its key, as a node derives its own).
pub fn seed_signer_of(name: &str) -> SeedSigner {
    thread_local! {
        static CACHE: std::cell::RefCell<BTreeMap<String, SeedSigner>> = const { std::cell::RefCell::new(BTreeMap::new()) };
    }
    CACHE.with(|c| {
        c.borrow_mut()
            .entry(name.to_string())
            .or_insert_with(|| SeedSigner::from_node_key(&key_of(name)))
            .clone()
    })
}

/// The address of a named test account.
pub fn addr(name: &str) -> Address {
    thread_local! {
        static CACHE: std::cell::RefCell<BTreeMap<String, Address>> = const { std::cell::RefCell::new(BTreeMap::new()) };
    }
    CACHE.with(|c| {
        *c.borrow_mut()
            .entry(name.to_string())
            .or_insert_with(|| Address::from_public_key(&key_of(name).public_key()))
    })
}

/// A transfer of 1 from `from` at `nonce` to a fresh account (`bob{nonce}`, so every transfer
/// writes a new account), for a fee of 10, signed for the scenario chain.
pub fn transfer_to_fresh(from: &str, nonce: u64, expires_at_height: u64) -> SignedTx {
    Tx {
        chain_id: SCENARIO_CHAIN_ID.into(),
        nonce,
        fee: Amount::new(10),
        expires_at_height,
        action: Action::Transfer {
            to: addr(&format!("bob{nonce}")),
            amount: Amount::new(1),
        },
    }
    .sign(&key_of(from))
}

impl Scenario {
    /// A chain whose fee is a flat 10 and half of it burned, so fee arithmetic is easy to read, a
    /// proven storage replica-epoch paying at least that fee, and whose one admitted engine
    /// class is the one scenario offers declare by default.
    pub fn new() -> Self {
        Scenario {
            state: MemState::default(),
            params: ChainParams {
                min_fee: Amount::new(10),
                // A flat fee unless a test sets the schedule (`tests/fees.rs`).
                fee_per_byte: Amount::ZERO,
                fee_per_write: Amount::ZERO,
                fee_burn_bps: 5_000,
                market: MarketParams {
                    engine_classes: vec![engine_class(ENGINE_CLASS_DEFAULT)],
                    ..MarketParams::default()
                },
                storage: yun_types::StorageParams {
                    replica_epoch_pay_min: Amount::new(10),
                    ..yun_types::StorageParams::default()
                },
                ..ChainParams::default()
            },
            height: 0,
            time_ms: 0,
            block_ms: 1_000,
            proposer: "validator".into(),
            genesis_accounts: Vec::new(),
            genesis_validators: Vec::new(),
            started: false,
            signers: None,
        }
    }

    /// Gives `name` an opening balance (only before the first block).
    pub fn fund(&mut self, name: &str, amount: u128) -> &mut Self {
        assert!(
            !self.started,
            "fund() is a genesis step: call it before any transaction"
        );
        self.genesis_accounts
            .push((name.to_string(), Amount::new(amount)));
        self
    }

    /// Makes `name` a genesis validator bonding `self_bond` (only before the first block).
    /// Without any, the chain has one validator "validator" with no self bond.
    pub fn genesis_validator(&mut self, name: &str, self_bond: u128) -> &mut Self {
        assert!(
            !self.started,
            "genesis_validator() is a genesis step: call it before any transaction"
        );
        self.genesis_validators
            .push((name.to_string(), Amount::new(self_bond)));
        self
    }

    pub(crate) fn start(&mut self) {
        if self.started {
            return;
        }
        let genesis = Genesis {
            chain_id: SCENARIO_CHAIN_ID.into(),
            genesis_time_ms: 0,
            accounts: self
                .genesis_accounts
                .iter()
                .map(|(n, a)| GenesisAccount {
                    address: addr(n),
                    balance: *a,
                })
                .collect(),
            validators: if self.genesis_validators.is_empty() {
                vec![("validator".to_string(), Amount::ZERO)]
            } else {
                self.genesis_validators.clone()
            }
            .into_iter()
            .map(|(name, self_bond)| GenesisValidator {
                address: addr(&name),
                seed_key: seed_signer_of(&name).key(),
                name,
                p2p_address: "127.0.0.1:1".into(),
                self_bond,
            })
            .collect(),
            params: self.params.clone(),
            dev_accounts: 0,
            evm_accounts: Vec::new(),
        };
        self.state
            .apply(genesis_writes(&genesis).expect("scenario genesis is valid"));
        // Only a validator can propose (it signs the block's seed): with named genesis
        // validators and the default proposer, the first of them proposes.
        if self.proposer == "validator" && !self.genesis_validators.is_empty() {
            self.proposer = self.genesis_validators[0].0.clone();
        }
        self.started = true;
    }

    pub fn balance(&mut self, name: &str) -> u128 {
        self.start();
        Overlay::new(&self.state)
            .account(&addr(name))
            .balance
            .base_units()
    }

    pub fn nonce(&mut self, name: &str) -> u64 {
        self.start();
        Overlay::new(&self.state).account(&addr(name)).nonce
    }

    pub fn burned(&mut self) -> u128 {
        self.start();
        Overlay::new(&self.state).supply().burned.base_units()
    }

    /// Starts a transaction from `name` with its next nonce, the minimum fee and a near expiry.
    pub fn tx(&mut self, name: &str) -> TxBuilder<'_> {
        self.start();
        let nonce = self.nonce(name);
        let tx = Tx {
            chain_id: SCENARIO_CHAIN_ID.into(),
            nonce,
            fee: self.params.min_fee,
            expires_at_height: self.height + 10,
            action: Action::Transfer {
                to: addr(name),
                amount: Amount::new(1),
            },
        };
        TxBuilder {
            scenario: self,
            signer: key_of(name),
            tx,
            fee_set: false,
        }
    }

    /// A block with no transactions (the market step still runs).
    pub fn empty_block(&mut self) -> &mut Self {
        self.block(&[]).expect("an empty block is valid");
        self
    }

    /// Runs `n` empty blocks.
    pub fn blocks(&mut self, n: u64) -> &mut Self {
        for _ in 0..n {
            self.empty_block();
        }
        self
    }

    /// A read-only view of the current state.
    pub fn view(&mut self) -> Overlay<'_, MemState> {
        self.start();
        Overlay::new(&self.state)
    }

    /// Executes one block holding `txs`; on success commits it and checks supply. Every such
    /// block is also built from `txs` as a proposer would, and the two must agree exactly:
    /// a verifier that re-executes a proposer's block to another state halts the chain.
    pub fn block(&mut self, txs: &[SignedTx]) -> Result<BlockOutcome, BlockError> {
        let env = self.begin_block(txs);
        let mut overlay = Overlay::new(&self.state);
        let outcome = execute_block(&mut overlay, &env, txs)?;
        let writes = overlay.into_writes();
        // Built as the node's proposer builds: its seed signed and checked once, then reused.
        let signer = seed_signer_of(&self.proposer);
        let signed = crate::sign_seed(&Overlay::new(&self.state), &self.draft(), &signer)
            .expect("the scenario's proposer signs its seed");
        assert_eq!(signed.proof, env.seed_proof, "a BLS signature is unique");
        let mut overlay = Overlay::new(&self.state);
        let built = build_block_signed(&mut overlay, &env, &signed, txs.iter().cloned())
            .expect("a seed checked on this state");
        assert!(
            built.left_out.is_empty(),
            "a valid block's transactions are all includable: {:?}",
            built.left_out
        );
        assert_eq!(
            built.receipts, outcome.receipts,
            "build and execute receipts"
        );
        assert!(
            overlay.into_writes() == writes,
            "building and executing the same block wrote different state"
        );
        self.commit(writes);
        Ok(outcome)
    }

    /// Executes one block whose first effect is `first` (what an action at index 0 would do,
    /// e.g. slashing evidence), then `txs`; on success commits it and checks supply. If
    /// `first` fails its writes are kept anyway, so it must leave nothing on failure (as
    /// every action does).
    pub fn block_with<T>(
        &mut self,
        txs: &[SignedTx],
        first: impl FnOnce(&mut Overlay<'_, MemState>, &BlockEnv) -> T,
    ) -> Result<(BlockOutcome, T), BlockError> {
        let env = self.begin_block(txs);
        let mut overlay = Overlay::new(&self.state);
        let first = first(&mut overlay, &env);
        let outcome = execute_block(&mut overlay, &env, txs)?;
        let writes = overlay.into_writes();
        self.commit(writes);
        Ok((outcome, first))
    }

    /// The genesis if not yet written, the signatures checked, and the next block's env.
    fn begin_block(&mut self, txs: &[SignedTx]) -> BlockEnv {
        self.start();
        assert!(
            verify_signatures(txs, &mut rand::rng()),
            "scenario signs every transaction"
        );
        let signers = self.signers.take();
        self.next_env().with_signers(signers)
    }

    /// The next block's env, its seed signed by the proposer (which must be a validator).
    fn next_env(&self) -> BlockEnv {
        crate::randomness::next_env(
            &Overlay::new(&self.state),
            &self.draft(),
            &seed_signer_of(&self.proposer),
        )
    }

    /// The next block as its proposer starts it: height, time (a second a block), proposer.
    pub fn draft(&self) -> crate::randomness::BlockDraft {
        crate::randomness::BlockDraft {
            chain_id: SCENARIO_CHAIN_ID.into(),
            height: self.height + 1,
            timestamp_ms: self.time_ms + self.block_ms,
            proposer: addr(&self.proposer),
        }
    }

    fn commit(&mut self, writes: crate::overlay::StateWrites) {
        self.state.apply(writes);
        self.height += 1;
        self.time_ms += self.block_ms;
        let entries = self
            .state
            .entries
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()));
        check_supply(entries).expect("supply is conserved after every block");
    }
}

/// A transaction being described; finish it with an action method.
#[derive(Debug)]
pub struct TxBuilder<'a> {
    scenario: &'a mut Scenario,
    signer: PrivateKey,
    tx: Tx,
    /// Set by [`TxBuilder::fee`]; otherwise the fee is what a client would declare.
    fee_set: bool,
}

impl TxBuilder<'_> {
    pub fn nonce(mut self, nonce: u64) -> Self {
        self.tx.nonce = nonce;
        self
    }
    pub fn fee(mut self, fee: u128) -> Self {
        self.tx.fee = Amount::new(fee);
        self.fee_set = true;
        self
    }

    /// Signs `self.tx` with `action`, declaring (unless [`TxBuilder::fee`] set one) what a
    /// client would: the fee schedule's estimate, with a `CancelJob`'s tasks counted.
    fn signed(&mut self, action: Action) -> SignedTx {
        self.tx.action = action;
        if !self.fee_set {
            let extra = match &self.tx.action {
                Action::CancelJob { job } => Overlay::new(&self.scenario.state)
                    .job(job)
                    .map_or(0, |j| j.spec.tasks.len() as u64 + 1),
                _ => 0,
            };
            let draft = self.tx.clone().sign(&self.signer);
            self.tx.fee = FeeSchedule::of(&self.scenario.params).estimate(&draft, extra);
        }
        self.tx.clone().sign(&self.signer)
    }
    pub fn expires_at(mut self, height: u64) -> Self {
        self.tx.expires_at_height = height;
        self
    }
    pub fn chain(mut self, chain_id: &str) -> Self {
        self.tx.chain_id = chain_id.into();
        self
    }

    /// Signs a transfer without executing it.
    pub fn sign_transfer(mut self, to: &str, amount: u128) -> SignedTx {
        self.signed(Action::Transfer {
            to: addr(to),
            amount: Amount::new(amount),
        })
    }

    /// Executes a transfer in a block of its own.
    pub fn transfer(self, to: &str, amount: u128) -> Step {
        self.act(Action::Transfer {
            to: addr(to),
            amount: Amount::new(amount),
        })
    }

    /// Signs any action without executing it.
    pub fn sign(mut self, action: Action) -> SignedTx {
        self.signed(action)
    }

    /// Executes any action in a block of its own.
    pub fn act(mut self, action: Action) -> Step {
        let stx = self.signed(action);
        match self.scenario.block(std::slice::from_ref(&stx)) {
            Ok(mut outcome) => Step::Included(outcome.receipts.remove(0)),
            Err(BlockError::Tx { reason, .. }) => Step::Rejected(reason),
            Err(e @ (BlockError::Seed(_) | BlockError::Signers(_))) => {
                panic!("the scenario's block was refused: {e}")
            }
        }
    }
}

/// What became of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Included(Receipt),
    Rejected(TxRejection),
}

impl Step {
    #[track_caller]
    pub fn expect_ok(self) -> Receipt {
        match self {
            Step::Included(r) if r.outcome == TxOutcome::Success => r,
            other => panic!("expected success, got {other:?}"),
        }
    }

    /// Included (fee and nonce taken) but the action failed for `reason`.
    #[track_caller]
    pub fn expect_failed(self, reason: TxRejection) -> Receipt {
        match self {
            Step::Included(r) if r.outcome == TxOutcome::Failed(reason) => r,
            other => panic!("expected included-but-failed {reason:?}, got {other:?}"),
        }
    }

    /// Not includable at all: the block would be invalid.
    #[track_caller]
    pub fn expect_rejected(self, reason: TxRejection) {
        match self {
            Step::Rejected(r) if r == reason => {}
            other => panic!("expected rejection {reason:?}, got {other:?}"),
        }
    }
}
