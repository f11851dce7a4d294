//! What every run must satisfy once faults end: every accepted transaction final on every
//! honest node (liveness); one chain — no two different finalized blocks at any height, the
//! same state root on every node (safety); supply conserved; each transaction included once.

use crate::Scenario;
use crate::node::SimNode;
use commonware_runtime::Clock;
use commonware_runtime::deterministic::Context;
use std::collections::BTreeMap;
use std::time::Duration;
use yun_types::{Action, Address, TxId, TxOutcome};

/// What the checks measured.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub common_height: u64,
    /// blake3 over the agreed blocks' hashes.
    pub chain_digest: [u8; 32],
    pub equivocations_reported: usize,
}

/// Waits until every accepted transaction is final on every honest node; a run that cannot
/// get there within [`crate::SETTLE_TIME_MAX`] has lost liveness.
pub async fn await_final(context: &Context, s: &Scenario, nodes: &[&SimNode], accepted: &[TxId]) {
    let start = context.current();
    let mut done = vec![0usize; nodes.len()];
    loop {
        for (n, node) in nodes.iter().enumerate() {
            let state = node.state().expect("honest nodes run at the end");
            while done[n] < accepted.len()
                && state
                    .store
                    .tx(&accepted[done[n]])
                    .expect("store read")
                    .is_some()
            {
                done[n] += 1;
            }
        }
        if done.iter().all(|d| *d == accepted.len()) {
            return;
        }
        let waited = context.current().duration_since(start).unwrap_or_default();
        if waited > crate::SETTLE_TIME_MAX {
            let heights: Vec<u64> = nodes
                .iter()
                .map(|n| n.state().map_or(0, |s| s.head().height))
                .collect();
            panic!(
                "seed {} ({:?}, {} validators): liveness lost — after {:?} nodes have {:?} of {} accepted transactions final, heights {:?}",
                s.seed,
                s.fault,
                s.validators,
                waited,
                done,
                accepted.len(),
                heights
            );
        }
        context.sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until every honest node finalized `more` blocks past the lowest head among them now:
/// the chain keeps going.
pub async fn await_height(context: &Context, s: &Scenario, nodes: &[&SimNode], more: u64) {
    let lowest = || {
        nodes
            .iter()
            .map(|n| n.state().map_or(0, |st| st.head().height))
            .min()
            .unwrap_or(0)
    };
    let target = lowest() + more;
    let start = context.current();
    while lowest() < target {
        if context.current().duration_since(start).unwrap_or_default() > crate::SETTLE_TIME_MAX {
            panic!(
                "seed {} ({:?}): the chain stopped below height {target}",
                s.seed, s.fault
            );
        }
        context.sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until every honest node's state shows the equivocator slashed: the honest validators
/// report its conflicting votes as evidence and the chain punishes it.
pub async fn await_slashed(
    context: &Context,
    s: &Scenario,
    nodes: &[&SimNode],
    offender: &Address,
) {
    let start = context.current();
    loop {
        let slashed = nodes.iter().all(|n| {
            let state = n.state().expect("honest nodes run at the end");
            let snapshot = state.store.snapshot().expect("store read");
            yun_state::staking::validator(&snapshot, offender).is_some_and(|v| !v.slashed.is_zero())
        });
        if slashed {
            return;
        }
        let waited = context.current().duration_since(start).unwrap_or_default();
        if waited > crate::SETTLE_TIME_MAX {
            panic!(
                "seed {} ({:?}, {} validators): the equivocator {offender} was not slashed within {waited:?}",
                s.seed, s.fault, s.validators
            );
        }
        context.sleep(Duration::from_millis(250)).await;
    }
}

/// Safety, supply and exactly-once checks over the honest nodes' stores.
pub fn verify(
    s: &Scenario,
    nodes: &[&SimNode],
    accepted: &[TxId],
    equivocator: Option<&Address>,
) -> Verdict {
    let fail = |what: String| -> ! {
        panic!(
            "seed {} ({:?}, {} validators): {what}",
            s.seed, s.fault, s.validators
        )
    };
    let states: Vec<_> = nodes
        .iter()
        .map(|n| n.state().expect("honest nodes run at the end"))
        .collect();
    let common = states
        .iter()
        .map(|st| st.head().height)
        .min()
        .expect("one node");
    let mut chain = blake3::Hasher::new();
    let mut included: BTreeMap<TxId, u32> = BTreeMap::new();
    let mut reports_succeeded = 0usize;
    for h in 1..=common {
        let blocks: Vec<_> = states
            .iter()
            .map(|st| {
                st.store
                    .block(h)
                    .expect("store read")
                    .expect("block below head")
            })
            .collect();
        let first = blocks[0].hash();
        if let Some((i, b)) = blocks.iter().enumerate().find(|(_, b)| b.hash() != first) {
            fail(format!(
                "two finalized blocks at height {h}: node {} has {}, node {i} has {}",
                nodes[0].index,
                first,
                b.hash()
            ));
        }
        chain.update(&first.0);
        if let Err(e) = check_record(&states[0], &blocks[0]) {
            fail(format!(
                "height {h}: a finalized signer record does not check: {e}"
            ));
        }
        for tx in &blocks[0].txs {
            *included.entry(tx.id()).or_default() += 1;
            // A report of an equivocation already punished is included (its fee taken) but
            // fails; only the successful ones slashed.
            if matches!(tx.tx.action, Action::ReportEquivocation { .. })
                && states[0]
                    .store
                    .tx(&tx.id())
                    .expect("store read")
                    .is_some_and(|(_, r)| r.outcome == TxOutcome::Success)
            {
                reports_succeeded += 1;
            }
        }
    }
    for (node, st) in nodes.iter().zip(&states) {
        let head = st.head();
        let header = st
            .store
            .header(head.height)
            .expect("store read")
            .expect("head header");
        if header.state_root != head.state_root {
            fail(format!(
                "node {} state root {} differs from its header's {} at height {}",
                node.index, head.state_root, header.state_root, head.height
            ));
        }
        let mem = st.store.state_entries().expect("state scan");
        if let Err(e) = yun_state::check_supply(
            mem.entries
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_slice())),
        ) {
            fail(format!("node {} supply not conserved: {e}", node.index));
        }
        if let Some(offender) = equivocator
            && let Err(e) = check_slashed_once(&mem, offender, reports_succeeded)
        {
            fail(format!("node {}: {e}", node.index));
        }
    }
    if let Some((id, n)) = included.iter().find(|(_, n)| **n > 1) {
        fail(format!("transaction {id} included {n} times"));
    }
    for id in accepted {
        if !included.contains_key(id) {
            fail(format!(
                "accepted transaction {id} is not in the agreed chain up to height {common}"
            ));
        }
    }
    Verdict {
        common_height: common,
        chain_digest: *chain.finalize().as_bytes(),
        equivocations_reported: states
            .iter()
            .map(|st| st.evidence.reported_total() as usize)
            .sum(),
    }
}

/// A finalized block's signer record names exactly the signers of the certificate it carries,
/// checked as a verifier does (sets pruned from the kept window are not checked).
fn check_record(
    state: &yun_node::NodeState,
    block: &yun_types::Block,
) -> Result<(), yun_node::signers::SignerProofError> {
    use commonware_cryptography::Digestible as _;
    use yun_node::signers::{RecordedBlock, check_proof};
    let Some(proof) = &block.signers else {
        return Ok(());
    };
    let snapshot = state.store.snapshot().expect("store read");
    let o = yun_state::Overlay::new(&snapshot);
    let epoch = yun_state::staking::epoch_of_height(&o.params().staking, proof.record.height);
    let set = o.consensus_set(epoch);
    if set.is_empty() {
        return Ok(());
    }
    let recorded = state
        .store
        .block(proof.record.height)
        .expect("store read")
        .expect("a record names a finalized height");
    let at = RecordedBlock {
        epoch,
        set: &set,
        digest: recorded.digest(),
    };
    check_proof(proof, &at, &mut rand::rng())
}

/// The equivocator is slashed, and exactly once per equivocation: each report that succeeded
/// punished a distinct (validator, view), recorded as evidence in a node's state `mem`.
fn check_slashed_once(
    mem: &yun_state::MemState,
    offender: &Address,
    reports_succeeded: usize,
) -> Result<(), String> {
    let Some(v) = yun_state::staking::validator(mem, offender) else {
        return Err(format!(
            "the equivocator {offender} has no validator record"
        ));
    };
    if v.slashed.is_zero() {
        return Err(format!("the equivocator {offender} was never slashed"));
    }
    let key = yun_state::staking::records::evidence_key(offender, 0, 0);
    let prefix = &key[..key.len() - 16];
    let punished = mem
        .entries
        .range(prefix.to_vec()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .count();
    if punished != reports_succeeded || punished == 0 {
        return Err(format!(
            "{punished} equivocations punished but {reports_succeeded} reports succeeded"
        ));
    }
    Ok(())
}

/// Counts the seeds of the finalized blocks 1..=`height` on `node` by proposer: `biased`'s own
/// blocks, and everyone else's, with how many of each `bias` likes.
pub fn seed_bias(
    node: &SimNode,
    (biased, bias): (&Address, yun_node::app::SeedBias),
    height: u64,
) -> crate::SeedBiasReport {
    let mut r = crate::SeedBiasReport::default();
    for h in 1..=height {
        let header = node
            .store
            .header(h)
            .expect("store read")
            .expect("a finalized height has a header");
        let liked = u64::from(bias.likes(&header.seed_proof.seed()));
        if header.proposer == *biased {
            r.own_blocks += 1;
            r.own_liked += liked;
        } else {
            r.other_blocks += 1;
            r.other_liked += liked;
        }
    }
    r
}

/// Counts the finalized blocks 1..=`height` on `node` that `proposer` proposed, and the rest.
pub fn blocks_by(node: &SimNode, proposer: &Address, height: u64) -> (u64, u64) {
    let mut own = 0;
    for h in 1..=height {
        let header = node
            .store
            .header(h)
            .expect("store read")
            .expect("a finalized height has a header");
        own += u64::from(header.proposer == *proposer);
    }
    (own, height - own)
}
