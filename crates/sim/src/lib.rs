//! Whole-network deterministic simulation: N real Yun nodes (application, executor, mempool,
//! gossip, simplex and marshal exactly as `yun node run` wires them) on commonware's
//! deterministic runtime and simulated p2p, under crashes and restarts, partitions, slow and
//! lossy links and a Byzantine validator that equivocates; every run ends with the safety and
//! liveness checks in [`checks`].
//!
//! A run is a pure function of its [`Scenario`] (seed included): the same scenario gives the
//! same [`Report::digest`], and a failing run panics with a message that names its seed.

pub mod byzantine;
pub mod checks;
pub mod liveness;
pub mod net;
pub mod node;
pub mod rotation;

use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use commonware_runtime::{Clock, Runner as _, Spawner as _, Supervisor as _, deterministic};
use rand::RngExt as _;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use yun_types::{
    Action, Address, Amount, ChainParams, Genesis, GenesisAccount, GenesisValidator, SeedSigner,
    Tx, TxId,
};

/// What goes wrong during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Everything healthy.
    Steady,
    /// Up to f honest validators crash (tasks aborted mid-flight) and restart from their stores.
    Crashes,
    /// The validators split in two halves (neither has a quorum), then heal.
    Partition,
    /// Every link is slow, jittery and drops messages.
    Lossy,
    /// The last validator signs two different notarize votes in every view it sees.
    Equivocator,
    /// A newcomer (a follower at genesis) registers with the largest bond, so the next
    /// epoch's set takes it in and drops one genesis validator; then the dropped one and one
    /// more genesis validator crash. Only the new set has a quorum left, so blocks keep
    /// finalizing only if consensus really moved to it.
    Rotation,
    /// The last validator tries to bias the chain's randomness: it withholds every proposal
    /// whose seed's lowest bit is 1 (the one lever a unique-signature seed leaves it).
    SeedBias,
    /// The last validator's clock runs fast: it stamps every proposal
    /// [`FAST_CLOCK_AHEAD_MS`] ahead, past what the others accept, so its rounds time out
    /// instead of dragging every later leader's pace forward.
    FastClock,
    /// The last validator never starts: silent from genesis, it must be jailed and slashed
    /// for downtime at an epoch's end while the rest keep finalizing.
    Silent,
    /// More than a third of the seats go silent for a while, then return: the chain halts
    /// (nothing finalizes, nobody is jailed) and resumes.
    Halt,
    /// The last validator clears a signer's bit in its blocks' signer records.
    SignersDrop,
    /// The last validator sets a non-signer's bit in its blocks' signer records.
    SignersAdd,
    /// The last validator carries no signer records.
    SignersOmit,
    /// The last validator is honest but its messages arrive [`net::SLOW_VOTER_DELAY`] after
    /// everyone else's: its finalize vote is always the last, in no quorum certificate, and
    /// only the late votes proposers add to their records show it is there. It must never be
    /// jailed.
    SlowVoter,
}

impl Fault {
    /// Whether the run checks downtime (jails, slashes, signer records) at its end.
    pub fn checks_downtime(self) -> bool {
        matches!(
            self,
            Fault::Silent
                | Fault::Halt
                | Fault::SignersDrop
                | Fault::SignersAdd
                | Fault::SignersOmit
                | Fault::SlowVoter
        )
    }
}

/// How far ahead the fast-clock validator stamps its proposals.
pub const FAST_CLOCK_AHEAD_MS: u64 = 5_000;

/// One simulated run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub validators: usize,
    pub fault: Fault,
    /// How long clients submit transfers, in simulated time.
    pub load: Duration,
    /// Funded accounts submitting transfers (each to its own home node).
    pub accounts: usize,
}

impl Scenario {
    pub fn new(seed: u64, validators: usize, fault: Fault) -> Scenario {
        Scenario {
            seed,
            validators,
            fault,
            load: Duration::from_secs(4),
            accounts: 6,
        }
    }

    /// Most validators that may fail at once while more than two thirds stay honest.
    pub fn f(&self) -> usize {
        (self.validators - 1) / 3
    }
}

/// What a passing run observed.
#[derive(Debug, Clone)]
pub struct Report {
    pub seed: u64,
    /// Height every honest node reached and agreed on.
    pub common_height: u64,
    pub txs_finalized: usize,
    /// Equivocations the honest nodes reported as evidence.
    pub equivocations_reported: usize,
    /// With [`Fault::SeedBias`]: what the biased proposer achieved.
    pub seed_bias: Option<SeedBiasReport>,
    /// With [`Fault::FastClock`]: finalized blocks the fast-clock validator proposed, and
    /// everyone else's.
    pub fast_clock_blocks: Option<(u64, u64)>,
    /// With the downtime faults: jails, slashes, the halt and the signer records observed.
    pub downtime: Option<liveness::DowntimeReport>,
    /// blake3 over the agreed chain and the runtime's audit of every event, in hex.
    pub digest: String,
}

/// The finalized chain's seeds, as the seed-biasing proposer would count them: how many have
/// the lowest bit it wants, among its own blocks and among everyone else's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedBiasReport {
    pub own_blocks: u64,
    pub own_liked: u64,
    pub other_blocks: u64,
    pub other_liked: u64,
}

impl SeedBiasReport {
    /// Liked seeds among all blocks, in parts per million (500,000 is no bias).
    pub fn liked_ppm(&self) -> u64 {
        let all = self.own_blocks + self.other_blocks;
        if all == 0 {
            return 0;
        }
        (self.own_liked + self.other_liked) * 1_000_000 / all
    }
}

/// Longest a run may take in simulated time before it is a liveness failure.
pub const RUN_SIMULATED_TIME_MAX: Duration = Duration::from_secs(240);
/// How long after the load stops every accepted transaction must be final everywhere.
pub const SETTLE_TIME_MAX: Duration = Duration::from_secs(90);

/// Runs one scenario to completion; panics (naming the seed) if any check fails.
pub fn run(scenario: &Scenario) -> Report {
    assert!(scenario.validators >= 1);
    let cfg = deterministic::Config::new()
        .with_seed(scenario.seed)
        .with_timeout(Some(RUN_SIMULATED_TIME_MAX));
    let s = scenario.clone();
    deterministic::Runner::new(cfg).start(|context| async move { run_in(context, s).await })
}

/// The funded accounts' keys (deterministic, the same in every run).
pub fn account_keys(n: usize) -> Vec<PrivateKey> {
    (0..n)
        .map(|j| PrivateKey::from_seed(1_000_000 + j as u64))
        .collect()
}

/// The validators' keys (deterministic, the same in every run).
pub fn validator_keys(n: usize) -> Vec<PrivateKey> {
    (0..n).map(|i| PrivateKey::from_seed(i as u64)).collect()
}

pub const ACCOUNT_BALANCE: u128 = 1_000_000_000_000;
/// Each validator's genesis self bond (what an equivocation is slashed from).
pub const VALIDATOR_SELF_BOND: u128 = 10_000_000;

/// The key of the rotation scenario's newcomer (funded at genesis, not a validator).
pub fn newcomer_key() -> PrivateKey {
    PrivateKey::from_seed(500)
}

pub fn genesis(validators: &[PrivateKey], accounts: &[PrivateKey]) -> Genesis {
    let mut funded: Vec<GenesisAccount> = accounts
        .iter()
        .map(|k| GenesisAccount {
            address: Address::from_public_key(&k.public_key()),
            balance: Amount::new(ACCOUNT_BALANCE),
        })
        .collect();
    // Validators hold a balance too, like any account (their evidence reports pay no fee).
    funded.extend(validators.iter().map(|k| GenesisAccount {
        address: Address::from_public_key(&k.public_key()),
        balance: Amount::new(ACCOUNT_BALANCE),
    }));
    Genesis {
        chain_id: "yun-sim".into(),
        genesis_time_ms: 0,
        accounts: funded,
        validators: validators
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisValidator {
                name: format!("v{i}"),
                address: Address::from_public_key(&k.public_key()),
                p2p_address: format!("10.0.0.{}:9000", i + 1),
                self_bond: Amount::new(VALIDATOR_SELF_BOND),
                seed_key: SeedSigner::from_node_key(k).key(),
            })
            .collect(),
        params: sim_params(validators.len()),
        dev_accounts: 0,
        evm_accounts: Vec::new(),
    }
}

/// Short epochs, so every run crosses several boundaries: consensus moves to a new engine (and,
/// once the equivocator is jailed, to a smaller set) under crashes, partitions and loss.
pub const SIM_EPOCH_BLOCKS: u64 = 8;

/// The set holds as many validators as genesis has, so a newcomer displaces one.
pub(crate) fn sim_params(validators: usize) -> ChainParams {
    let mut params = ChainParams::default();
    // A genesis admits at least one engine class; the simulated network has no providers, so
    // which one does not matter.
    params.market.engine_classes = vec![yun_types::Hash32::digest(b"yun-sim engine class")];
    params.staking.epoch_blocks = SIM_EPOCH_BLOCKS;
    params.staking.active_validators_max = validators as u32;
    // Downtime is judged in these short epochs (a few records each) too.
    params.rewards.downtime_records_min = yun_types::rewards::DOWNTIME_RECORDS_MIN_FLOOR;
    params
}

/// Transactions the clients saw accepted, in submission order.
#[derive(Debug, Default)]
pub struct Ledger {
    pub accepted: Vec<TxId>,
    pub rejected: Vec<String>,
}

async fn run_in(context: deterministic::Context, s: Scenario) -> Report {
    let vkeys = validator_keys(s.validators);
    let mut akeys = account_keys(s.accounts);
    let rotation = s.fault == Fault::Rotation;
    if rotation {
        akeys.push(newcomer_key());
    }
    let genesis = genesis(&vkeys, &akeys);
    if rotation {
        akeys.pop();
    }
    let byzantine = (s.fault == Fault::Equivocator).then_some(s.validators - 1);
    let biased = (s.fault == Fault::SeedBias).then_some(s.validators - 1);
    let fast = (s.fault == Fault::FastClock).then_some(s.validators - 1);
    let silent = (s.fault == Fault::Silent).then_some(s.validators - 1);
    // Every node's key: the validators', then the rotation's newcomer.
    let mut keys = vkeys.clone();
    if rotation {
        keys.push(newcomer_key());
    }

    let mut net = net::SimNet::start(&context, &keys, s.fault == Fault::Lossy).await;
    if s.fault == Fault::SlowVoter {
        net.slow_sender(&keys, s.validators - 1).await;
    }
    let live = node::Live::default();
    let mut nodes: Vec<node::SimNode> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| node::SimNode::new(i, k.clone(), &genesis, live.clone()))
        .collect();
    if let Some(b) = biased {
        nodes[b].faults.seed_bias = Some(yun_node::app::SeedBias { wanted: 0 });
    }
    if let Some(f) = fast {
        nodes[f].faults.clock_ahead_ms = FAST_CLOCK_AHEAD_MS;
    }
    nodes[s.validators - 1].faults.signers = liveness::signer_fault(s.fault);
    for (i, n) in nodes.iter_mut().enumerate() {
        if Some(i) == silent {
            continue;
        }
        if Some(i) == byzantine {
            byzantine::start(&context, &mut net, n.key.clone(), &vkeys).await;
        } else {
            n.start(&context, &mut net).await;
        }
    }

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let honest: Vec<usize> = (0..keys.len())
        .filter(|i| Some(*i) != byzantine && Some(*i) != silent)
        .collect();
    let load = {
        let states = live.clone();
        let ledger = ledger.clone();
        let s = s.clone();
        let honest = honest.clone();
        context
            .child("load")
            .spawn(move |ctx| load(ctx, s, akeys, honest, states, ledger))
    };

    let halted_at = faults(&context, &s, &mut net, &mut nodes, &keys).await;
    load.await.expect("load generator");
    // Everyone is back and connected; what was accepted must now become final everywhere.
    net.heal(&keys).await;
    for i in &honest {
        if !nodes[*i].running() {
            nodes[*i].start(&context, &mut net).await;
        }
    }
    let accepted: Vec<TxId> = ledger.lock().expect("ledger").accepted.clone();
    let honest_nodes: Vec<&node::SimNode> = honest.iter().map(|i| &nodes[*i]).collect();
    checks::await_final(&context, &s, &honest_nodes, &accepted).await;

    let offender = byzantine.map(|b| Address::from_public_key(&vkeys[b].public_key()));
    if let Some(offender) = &offender {
        checks::await_slashed(&context, &s, &honest_nodes, offender).await;
    }
    if let Some(silent) = silent {
        let silent = Address::from_public_key(&vkeys[silent].public_key());
        liveness::await_jailed(&context, &s, &honest_nodes, &silent).await;
        // The chain goes on without it: another epoch finalizes on the smaller set.
        checks::await_height(&context, &s, &honest_nodes, SIM_EPOCH_BLOCKS).await;
    }
    if s.fault == Fault::SlowVoter {
        // Epochs enough to have judged the slow voter (wrongly) were its votes not counted.
        checks::await_height(&context, &s, &honest_nodes, 3 * SIM_EPOCH_BLOCKS).await;
    }
    let verdict = checks::verify(&s, &honest_nodes, &accepted, offender.as_ref());
    let seed_bias = biased.map(|b| {
        let bias = nodes[b]
            .faults
            .seed_bias
            .expect("the biased node has its bias");
        checks::seed_bias(
            &nodes[0],
            (&nodes[b].address(), bias),
            verdict.common_height,
        )
    });
    let fast_clock_blocks =
        fast.map(|f| checks::blocks_by(&nodes[0], &nodes[f].address(), verdict.common_height));
    let downtime = s.fault.checks_downtime().then(|| {
        let addresses: Vec<Address> = vkeys
            .iter()
            .map(|k| Address::from_public_key(&k.public_key()))
            .collect();
        let mut r = liveness::report(&nodes[0], &addresses, verdict.common_height);
        r.halted_at = halted_at;
        liveness::check(&s, &addresses, &r);
        r
    });
    let mut digest = blake3::Hasher::new();
    digest.update(&verdict.chain_digest);
    digest.update(context.auditor().state().as_bytes());
    Report {
        seed: s.seed,
        common_height: verdict.common_height,
        txs_finalized: accepted.len(),
        equivocations_reported: verdict.equivocations_reported,
        seed_bias,
        fast_clock_blocks,
        downtime,
        digest: digest.finalize().to_hex().to_string(),
    }
}

/// Crashes, partitions: whatever the scenario calls for, during the load period. Returns
/// what a halt observed (the height during the silence and after it).
async fn faults(
    context: &deterministic::Context,
    s: &Scenario,
    net: &mut net::SimNet,
    nodes: &mut [node::SimNode],
    vkeys: &[PrivateKey],
) -> Option<(u64, u64)> {
    let mut ctx = context.child("faults");
    match s.fault {
        Fault::Steady
        | Fault::Lossy
        | Fault::Equivocator
        | Fault::SeedBias
        | Fault::FastClock
        | Fault::Silent
        | Fault::SignersDrop
        | Fault::SignersAdd
        | Fault::SignersOmit
        | Fault::SlowVoter => context.sleep(s.load).await,
        Fault::Halt => return Some(liveness::halt(context, s, net, nodes).await),
        Fault::Crashes => {
            let mut victims = BTreeSet::new();
            while victims.len() < s.f().max(1).min(s.validators - 1) {
                victims.insert(ctx.random_range(0..s.validators));
            }
            context
                .sleep(Duration::from_millis(ctx.random_range(1_000..3_000)))
                .await;
            for v in &victims {
                nodes[*v].crash().await;
            }
            context
                .sleep(Duration::from_millis(ctx.random_range(1_000..4_000)))
                .await;
            for v in &victims {
                nodes[*v].start(context, net).await;
            }
            // A second crash of one node, right after it came back: restarts must survive it.
            let again = *victims.iter().next().expect("one victim");
            context
                .sleep(Duration::from_millis(ctx.random_range(100..1_500)))
                .await;
            nodes[again].crash().await;
            context.sleep(Duration::from_millis(500)).await;
            nodes[again].start(context, net).await;
            context.sleep(s.load / 4).await;
        }
        Fault::Rotation => rotation::run(context, s, net, nodes).await,
        Fault::Partition => {
            context
                .sleep(Duration::from_millis(ctx.random_range(1_000..3_000)))
                .await;
            let split = s.validators / 2;
            net.partition(vkeys, split).await;
            context
                .sleep(Duration::from_millis(ctx.random_range(2_000..5_000)))
                .await;
            net.heal(vkeys).await;
            context.sleep(s.load / 4).await;
        }
    }
    None
}

/// Clients: each account submits transfers to its home node (an honest validator) with
/// consecutive nonces, pausing while that node is down.
async fn load(
    mut ctx: deterministic::Context,
    s: Scenario,
    keys: Vec<PrivateKey>,
    honest: Vec<usize>,
    live: node::Live,
    ledger: Arc<Mutex<Ledger>>,
) {
    let addresses: Vec<Address> = keys
        .iter()
        .map(|k| Address::from_public_key(&k.public_key()))
        .collect();
    let mut nonces = vec![0u64; keys.len()];
    let start = ctx.current();
    let fees = yun_types::fee::FeeSchedule::of(&ChainParams::default());
    while ctx.current().duration_since(start).unwrap_or_default() < s.load {
        let j = ctx.random_range(0..keys.len());
        let home = honest[j % honest.len()];
        let Some(state) = live.get(home) else {
            ctx.sleep(Duration::from_millis(50)).await;
            continue;
        };
        let to = addresses[(j + 1 + ctx.random_range(0..keys.len() - 1)) % keys.len()];
        let tx = Tx {
            chain_id: "yun-sim".into(),
            nonce: nonces[j],
            fee: Amount::ZERO,
            expires_at_height: state.head().height + 10_000,
            action: Action::Transfer {
                to,
                amount: Amount::new(ctx.random_range(1..1_000)),
            },
        };
        let tx = fees.sign(tx, &keys[j], 0);
        let id = tx.id();
        match state.submit(vec![tx]).pop().expect("one result") {
            Ok(_) => {
                nonces[j] += 1;
                ledger.lock().expect("ledger").accepted.push(id);
            }
            Err(r) => ledger
                .lock()
                .expect("ledger")
                .rejected
                .push(format!("{r:?}")),
        }
        drop(state);
        let pause = Duration::from_millis(ctx.random_range(5..60));
        ctx.sleep(pause).await;
    }
}
