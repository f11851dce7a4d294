//! The rotation scenario: a follower bonds its way into the active set, one genesis validator
//! drops out, and then the network must run on the new set alone — the proof that consensus
//! and the peer set really move with the epoch.

use crate::net::{Ctx, SimNet};
use crate::node::SimNode;
use crate::{Scenario, VALIDATOR_SELF_BOND, newcomer_key};
use commonware_cryptography::Signer as _;
use commonware_runtime::Clock as _;
use std::time::Duration;
use yun_state::staking;
use yun_types::{Action, Address, Amount, ChainParams, Tx};

/// Longest the scenario waits, in simulated time, for each step it expects.
pub const ROTATION_STEP_TIME_MAX: Duration = Duration::from_secs(60);
/// Blocks the new set must finalize while the dropped validator and one more are down.
pub const BLOCKS_ON_THE_NEW_SET: u64 = 3;

/// Registers the newcomer, waits for its epoch, crashes the dropped genesis validator and one
/// more (leaving the old set without a quorum), and waits for blocks; restarts both after.
pub async fn run(context: &Ctx, s: &Scenario, net: &mut SimNet, nodes: &mut [SimNode]) {
    let newcomer = nodes.len() - 1;
    let me = nodes[newcomer].address();
    context.sleep(Duration::from_millis(500)).await;
    register(s, &nodes[0]);

    // The newcomer follows the chain from genesis; wait until it sees itself elected and the
    // first block of that epoch final.
    let joined = wait(context, s, "the newcomer is elected", || {
        let state = nodes[newcomer].state()?;
        let (epoch, set) = staking::active_set(&state.store.snapshot().ok()?);
        set.iter().any(|(a, _)| *a == me).then_some(epoch)
    })
    .await;
    let first = staking::first_height_of_epoch(&crate::sim_params(newcomer).staking, joined);
    wait(context, s, "a block of the newcomer's first epoch", || {
        (nodes[newcomer].state()?.head().height >= first).then_some(())
    })
    .await;

    // Down: the genesis validator the set dropped, and the lowest-indexed one it kept.
    let set: Vec<Address> = {
        let state = nodes[newcomer].state().expect("the newcomer runs");
        let snapshot = state.store.snapshot().expect("snapshot");
        staking::active_set(&snapshot)
            .1
            .into_iter()
            .map(|(a, _)| a)
            .collect()
    };
    let dropped = (0..newcomer)
        .find(|i| !set.contains(&nodes[*i].address()))
        .unwrap_or_else(|| panic!("seed {}: no genesis validator left the set", s.seed));
    let kept = (0..newcomer)
        .find(|i| set.contains(&nodes[*i].address()))
        .expect("genesis validators remain in the set");
    nodes[dropped].crash().await;
    nodes[kept].crash().await;
    let from = nodes[newcomer].state().expect("runs").head().height;
    wait(context, s, "blocks finalize on the new set alone", || {
        let height = nodes[newcomer].state()?.head().height;
        (height >= from + BLOCKS_ON_THE_NEW_SET).then_some(())
    })
    .await;
    nodes[dropped].start(context, net).await;
    nodes[kept].start(context, net).await;
}

/// The newcomer's `RegisterValidator`, bonding twice what each genesis validator holds.
fn register(s: &Scenario, node: &SimNode) {
    let state = node.state().expect("node 0 runs at the start");
    let seed = yun_types::SeedSigner::from_node_key(&newcomer_key());
    let tx = Tx {
        chain_id: "yun-sim".into(),
        nonce: 0,
        fee: Amount::ZERO,
        expires_at_height: state.head().height + 10_000,
        action: Action::RegisterValidator {
            p2p_address: "10.0.0.99:9000".into(),
            self_bond: Amount::new(2 * VALIDATOR_SELF_BOND),
            seed_key: seed.key(),
            seed_key_possession: seed
                .possession(&Address::from_public_key(&newcomer_key().public_key())),
        },
    };
    let tx = yun_types::fee::FeeSchedule::of(&ChainParams::default()).sign(tx, &newcomer_key(), 0);
    if let Err(r) = state.submit(vec![tx]).pop().expect("one result") {
        panic!(
            "seed {}: the newcomer's registration was refused: {r}",
            s.seed
        );
    }
}

/// Polls `ready` every 100 ms of simulated time; panics, naming the seed, after
/// [`ROTATION_STEP_TIME_MAX`].
async fn wait<T>(
    context: &Ctx,
    s: &Scenario,
    what: &str,
    mut ready: impl FnMut() -> Option<T>,
) -> T {
    let start = context.current();
    loop {
        if let Some(t) = ready() {
            return t;
        }
        let waited = context.current().duration_since(start).unwrap_or_default();
        if waited > ROTATION_STEP_TIME_MAX {
            panic!(
                "seed {} ({:?}): waited {waited:?} and still not: {what}",
                s.seed, s.fault
            );
        }
        context.sleep(Duration::from_millis(100)).await;
    }
}
