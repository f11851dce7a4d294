//! Downtime in the whole network: a validator silent from genesis is jailed and slashed at an
//! epoch's end while the rest keep finalizing; more than a third of the seats going silent
//! halts the chain (nobody jailed) until they return; proposers that tamper with signer
//! records get no such block finalized, and one that omits them frames nobody; an honest
//! validator whose votes always arrive last is in the records (its late votes) and never
//! jailed.

use crate::net::{Ctx, SimNet};
use crate::node::SimNode;
use crate::{Fault, Scenario, VALIDATOR_SELF_BOND};
use commonware_runtime::Clock as _;
use std::time::Duration;
use yun_state::staking;
use yun_types::Address;

/// Longest the silent-validator check waits, in simulated time, for the jailing.
pub const JAIL_TIME_MAX: Duration = Duration::from_secs(90);
/// Blocks past the halt a [`Fault::Halt`] run waits for before it calls the chain resumed.
const RESUME_BLOCKS_MIN: u64 = 4;

/// How long more than a third of the seats stay silent in [`Fault::Halt`].
pub const HALT_SILENCE: Duration = Duration::from_secs(6);

/// What a downtime run observed on an honest node at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DowntimeReport {
    /// Validators jailed (for any reason), by genesis index.
    pub jailed: Vec<usize>,
    /// What each validator had burned from its self bond, by genesis index.
    pub slashed: Vec<u128>,
    /// The highest height the survivors held during the silence, and the height after it.
    pub halted_at: Option<(u64, u64)>,
    /// Finalized blocks carrying a signer record: the faulty proposer's, and everyone else's.
    pub records_by_faulty: u64,
    pub records_by_others: u64,
    /// Finalized blocks the faulty proposer made (with or without a record).
    pub blocks_by_faulty: u64,
    /// Records each validator was missing from, in all epochs, by genesis index.
    pub missed_total: Vec<u64>,
}

/// The signer fault the last validator injects, if the scenario calls for one.
pub fn signer_fault(fault: Fault) -> Option<yun_node::app::SignerFault> {
    use yun_node::app::SignerFault;
    match fault {
        Fault::SignersDrop => Some(SignerFault::DropSigner),
        Fault::SignersAdd => Some(SignerFault::AddNonSigner),
        Fault::SignersOmit => Some(SignerFault::Omit),
        _ => None,
    }
}

/// What a run expects downtime to have done (`r`, read on an honest node at the end): panics
/// (naming the seed) otherwise. Only a validator silent from genesis is ever jailed.
pub fn check(s: &Scenario, validators: &[Address], r: &DowntimeReport) {
    let fail = |what: String| -> ! {
        panic!(
            "seed {} ({:?}, {} validators): {what}; {r:?}",
            s.seed, s.fault, s.validators
        )
    };
    let silent = (s.fault == Fault::Silent).then_some(validators.len() - 1);
    let fine =
        VALIDATOR_SELF_BOND * u128::from(crate::sim_params(1).rewards.slash_downtime_bps) / 10_000;
    for i in 0..validators.len() {
        let jailed = r.jailed.contains(&i);
        if Some(i) == silent {
            if !jailed || r.slashed[i] != fine {
                fail(format!(
                    "the silent validator {i} is not jailed and slashed {fine}"
                ));
            }
        } else if jailed || r.slashed[i] != 0 {
            fail(format!(
                "validator {i}, never silent, was jailed or slashed"
            ));
        }
    }
    match s.fault {
        Fault::Halt => {
            let (halted, after) = r.halted_at.expect("a halt run measures the halt");
            if after <= halted {
                fail("the chain did not resume after the silence".into());
            }
        }
        Fault::SignersDrop | Fault::SignersAdd if r.records_by_faulty > 0 => {
            fail("a block with a tampered signer record was finalized".into())
        }
        Fault::SignersOmit if r.records_by_faulty > 0 || r.blocks_by_faulty == 0 => {
            fail("the omitting proposer's blocks are missing or carry records".into())
        }
        // Its vote is never in a quorum certificate: only the late votes can name it.
        Fault::SlowVoter
            if r.missed_total[validators.len() - 1] * 2
                > r.records_by_faulty + r.records_by_others =>
        {
            fail("the slow voter is missing from most records".into())
        }
        _ => {}
    }
    if r.records_by_others == 0 {
        fail("no block carried a signer record".into());
    }
}

/// Reads the downtime outcome on `node` (an honest one) up to `height`.
pub fn report(node: &SimNode, validators: &[Address], height: u64) -> DowntimeReport {
    let state = node.state().expect("honest nodes run at the end");
    let snapshot = state.store.snapshot().expect("store read");
    let mut r = DowntimeReport::default();
    for (i, a) in validators.iter().enumerate() {
        let v = staking::validator(&snapshot, a).expect("genesis validators have records");
        if v.is_jailed() {
            r.jailed.push(i);
        }
        r.slashed.push(v.slashed.base_units());
        r.missed_total
            .push(yun_state::rewards::liveness(&snapshot, a).missed_blocks_total);
    }
    let faulty = validators.last().expect("validators");
    for h in 1..=height {
        let block = node
            .store
            .block(h)
            .expect("store read")
            .expect("a finalized height has a block");
        let by_faulty = block.header.proposer == *faulty;
        r.blocks_by_faulty += u64::from(by_faulty);
        if block.signers.is_some() {
            if by_faulty {
                r.records_by_faulty += 1;
            } else {
                r.records_by_others += 1;
            }
        }
    }
    r
}

/// Waits until every honest node's state shows the silent validator jailed.
pub async fn await_jailed(context: &Ctx, s: &Scenario, nodes: &[&SimNode], silent: &Address) {
    let start = context.current();
    loop {
        let jailed = nodes.iter().all(|n| {
            n.state().is_some_and(|state| {
                state
                    .store
                    .snapshot()
                    .ok()
                    .and_then(|snap| staking::validator(&snap, silent))
                    .is_some_and(|v| v.is_jailed())
            })
        });
        if jailed {
            return;
        }
        if context.current().duration_since(start).unwrap_or_default() > JAIL_TIME_MAX {
            panic!(
                "seed {} ({:?}): the silent validator was never jailed",
                s.seed, s.fault
            );
        }
        context.sleep(Duration::from_millis(250)).await;
    }
}

/// More than a third of the seats go silent (the last ⌊n/3⌋ + 1 validators crash), stay so
/// for [`HALT_SILENCE`], then return. Returns the survivors' height during the silence and
/// once the chain moved again.
pub async fn halt(
    context: &Ctx,
    s: &Scenario,
    net: &mut SimNet,
    nodes: &mut [SimNode],
) -> (u64, u64) {
    let n = s.validators;
    let silent: Vec<usize> = (n - s.f() - 1..n).collect();
    context.sleep(s.load / 2).await;
    for i in &silent {
        nodes[*i].crash().await;
    }
    let top = |nodes: &[SimNode]| {
        (0..n)
            .filter_map(|i| nodes[i].state())
            .map(|st| st.head().height)
            .max()
            .unwrap_or(0)
    };
    // Blocks whose votes were already out may still finalize: settle, then watch.
    context.sleep(Duration::from_secs(1)).await;
    let halted = top(nodes);
    context.sleep(HALT_SILENCE).await;
    let still = top(nodes);
    assert_eq!(
        halted, still,
        "seed {}: blocks finalized with more than a third of the seats silent",
        s.seed
    );
    for i in &silent {
        nodes[*i].start(context, net).await;
    }
    let start = context.current();
    loop {
        let now = top(nodes);
        // Resumed for real: far enough past the halt that proposers (who record heights two
        // blocks behind their head) have put signer records on chain again.
        if now >= halted + RESUME_BLOCKS_MIN {
            return (halted, now);
        }
        assert!(
            context.current().duration_since(start).unwrap_or_default() < JAIL_TIME_MAX,
            "seed {}: the chain never resumed after the silent seats returned",
            s.seed
        );
        context.sleep(Duration::from_millis(250)).await;
    }
}
