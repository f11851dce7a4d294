//! One simulated node: its store outlives crashes (as a file would), everything else — the
//! consensus engine, marshal, executor, gossip, mempool — is rebuilt on every start, exactly
//! as a restarted `yun node run` rebuilds it.

use crate::net::{Ctx, SimNet};
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use commonware_runtime::{Handle, Spawner as _, Supervisor as _};
use std::sync::{Arc, Mutex};
use yun_node::engine::EngineConfig;
use yun_node::mempool::MempoolLimits;
use yun_node::state::{BlockTiming, NodeState};
use yun_store::Store;
use yun_types::{Address, Genesis};

/// Block pacing in the simulation: what `yun localnet` uses.
pub fn sim_timing() -> BlockTiming {
    BlockTiming {
        min_block_interval: std::time::Duration::from_millis(50),
        idle_block_interval: std::time::Duration::from_millis(1_000),
        busy_block_interval: std::time::Duration::from_millis(500),
        leader_timeout: std::time::Duration::from_millis(2_000),
        ..BlockTiming::default()
    }
}

/// The node states currently running, by validator index, for clients to submit to.
#[derive(Debug, Clone, Default)]
pub struct Live(Arc<Mutex<Vec<Option<Arc<NodeState>>>>>);

impl Live {
    pub fn get(&self, i: usize) -> Option<Arc<NodeState>> {
        self.0.lock().expect("live").get(i).cloned().flatten()
    }

    fn set(&self, i: usize, state: Option<Arc<NodeState>>) {
        let mut v = self.0.lock().expect("live");
        if v.len() <= i {
            v.resize(i + 1, None);
        }
        v[i] = state;
    }
}

pub struct SimNode {
    pub index: usize,
    pub key: PrivateKey,
    pub store: Store,
    genesis: Genesis,
    handle: Option<Handle<()>>,
    incarnation: u32,
    live: Live,
    /// How many times this node was crashed.
    pub crashes: u32,
    /// Set on the simulation's faulty proposers only (seed bias, fast clock).
    pub faults: yun_node::app::ProposerFaults,
}

impl std::fmt::Debug for SimNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SimNode({}, running {})",
            self.index,
            self.handle.is_some()
        )
    }
}

impl SimNode {
    /// A node of a run whose running nodes are registered in `live` (one per run).
    pub fn new(index: usize, key: PrivateKey, genesis: &Genesis, live: Live) -> SimNode {
        SimNode {
            index,
            key,
            store: Store::in_memory().expect("in-memory store"),
            genesis: genesis.clone(),
            handle: None,
            incarnation: 0,
            live,
            crashes: 0,
            faults: Default::default(),
        }
    }

    pub fn running(&self) -> bool {
        self.handle.is_some()
    }

    /// This node's state while it runs.
    pub fn state(&self) -> Option<Arc<NodeState>> {
        self.live.get(self.index)
    }

    pub fn address(&self) -> Address {
        Address::from_public_key(&self.key.public_key())
    }

    /// Starts (or restarts) the node on its store.
    pub async fn start(&mut self, context: &Ctx, net: &mut SimNet) {
        assert!(self.handle.is_none(), "node {} already running", self.index);
        let state = Arc::new(
            NodeState::new(
                self.store.reopened().expect("the store reopens"),
                self.genesis.clone(),
                self.address(),
                sim_timing(),
                MempoolLimits::default(),
            )
            .expect("node state opens on its store"),
        );
        let channels = net.register(&self.key.public_key()).await;
        let control = net.oracle.control(self.key.public_key());
        let manager = net.oracle.manager();
        let key = self.key.clone();
        let mut engine_cfg = EngineConfig::simulation(format!("v{}-", self.index));
        engine_cfg.faults = self.faults;
        let node_state = state.clone();
        let handle = context
            .child("node")
            .with_attribute("index", self.index)
            .with_attribute("incarnation", self.incarnation)
            .spawn(move |ctx| async move {
                let consensus = yun_node::engine::start(
                    ctx,
                    node_state,
                    key,
                    &engine_cfg,
                    channels,
                    manager,
                    control,
                    Vec::new(),
                )
                .await;
                let _ = consensus.await;
            });
        self.incarnation += 1;
        self.handle = Some(handle);
        self.live.set(self.index, Some(state));
    }

    /// Kills every task of the node at once (a crash: nothing gets to finish or flush).
    pub async fn crash(&mut self) {
        let handle = self.handle.take().expect("crashing a running node");
        self.live.set(self.index, None);
        handle.abort();
        let _ = handle.await;
        self.crashes += 1;
    }
}
