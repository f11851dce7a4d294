//! Golden digests that pin the state machine's output across changes meant to move no state.
//!
//! A fixed story over transfers, staking and the market, and a short market simulation, each
//! pinned to the digest it produced before the issue 13 restructuring, so a change meant to
//! move code around cannot silently move state (every node must agree on it byte for byte).

use commonware_cryptography::Signer as _;
use yun_state::MemState;
use yun_state::market::ReplicaState;
use yun_state::market_sim::{SimConfig, simulate};
use yun_state::scenario::{Scenario, addr, key_of};
use yun_state::scenario_market::{Commitments, job_spec, offer, verdict};
use yun_state::scenario_staking::{delegate, register_validator, undelegate};
use yun_types::evidence::sign_conflicting_notarize;
use yun_types::market::{TaskRef, Verification};
use yun_types::{Action, TxRejection};

const MIN_BOND: u128 = 1_000_000;
const BOND: u128 = 1_000_000;
const RICH: u128 = 1_000_000_000_000;

/// The state's content digest, as hex.
fn state_digest(state: &MemState) -> String {
    state.content_digest().to_string()
}

/// The story: every kind of balance movement, every staking verb with an epoch boundary, a
/// slash by reported evidence and a release, and market jobs that verify, slash a liar,
/// expire a silent provider, get cancelled, and a provider that exits.
fn story() -> Scenario {
    let mut s = Scenario::new();
    s.params.staking.epoch_blocks = 10;
    // The shortest unbonding genesis allows with 10-block epochs (the evidence window).
    s.params.staking.unbonding_blocks = yun_state::staking::EVIDENCE_EPOCHS_KEPT * 10;
    s.params.staking.jail_blocks = 20;
    s.params.staking.active_validators_max = 3;
    s.genesis_validator("v1", MIN_BOND)
        .genesis_validator("v2", 2 * MIN_BOND);
    for name in [
        "alice", "bob", "v1", "v2", "val3", "p1", "p2", "p3", "p4", "liar", "mute",
    ] {
        s.fund(name, RICH);
    }

    // Transfers, one of them failing after its fee.
    s.tx("alice").transfer("bob", 12_345).expect_ok();
    s.tx("bob").transfer("carol", 300).expect_ok();
    s.tx("carol")
        .transfer("alice", 1_000)
        .expect_failed(TxRejection::InsufficientBalance);

    // Staking: a third validator, delegations, an undelegation, an epoch boundary.
    s.tx("val3")
        .act(register_validator("val3", 3 * MIN_BOND))
        .expect_ok();
    s.tx("alice").act(delegate("val3", 50_000)).expect_ok();
    s.tx("bob").act(delegate("v1", 40_000)).expect_ok();
    s.tx("v1").act(delegate("v1", 7)).expect_ok();
    s.tx("alice").act(undelegate("val3", 20_000)).expect_ok();
    s.tx("v2").act(undelegate("v2", MIN_BOND)).expect_ok();
    s.to_epoch_end().empty_block();

    // Equivocation evidence from epoch 0 slashes v1 (its delegations and unbondings too).
    let set = [key_of("v1").public_key(), key_of("v2").public_key()];
    let evidence = sign_conflicting_notarize(&key_of("v1"), &set, 0, 7).expect("v1 is a member");
    s.tx("bob").act(undelegate("v1", 10_000)).expect_ok();
    s.tx("alice")
        .act(Action::ReportEquivocation {
            evidence: evidence.clone(),
        })
        .expect_ok();
    s.tx("alice")
        .act(Action::ReportEquivocation { evidence })
        .expect_failed(TxRejection::EvidenceAlreadyUsed);
    s.tx("v1")
        .act(Action::Unjail)
        .expect_failed(TxRejection::JailNotOver);

    // The market: four providers, one of them a liar and one silent.
    for name in ["p1", "p2", "p3", "p4"] {
        s.tx(name)
            .act(offer().slots(2).ask(2_500).register(BOND))
            .expect_ok();
    }
    s.tx("liar")
        .act(offer().slots(2).ask(2_500).register(BOND))
        .expect_ok();
    s.tx("mute")
        .act(offer().ask(2_500).register(BOND))
        .expect_ok();
    let replicated = s
        .post(&job_spec().tasks(3).replicate(3, 2).bid(10_000), "alice")
        .expect_ok()
        .tx_id;
    let adaptive = s
        .post(&job_spec().tasks(2).adaptive(1_000).bid(10_000), "bob")
        .expect_ok()
        .tx_id;
    let mut book = Commitments::default();
    let workers = ["p1", "p2", "p3", "p4", "liar"];
    for _ in 0..4 {
        // The liar lies on the replicated job only: against five providers, a dissent on the
        // adaptive job asks for more agreeing replicas than the story has (the largest group
        // is weighed against the dissent, `verification::contested_error_ppm`).
        s.work_round(&workers, &mut book, |p, t: &TaskRef| {
            if p == "liar" && t.job == replicated {
                verdict(66, 300_000)
            } else {
                verdict(t.index as u8, 400_000)
            }
        });
    }
    // The silent provider's replica expires and its task is re-queued.
    s.blocks(s.params.market.commit_window_blocks + 1);
    for _ in 0..3 {
        s.work_round(&workers, &mut book, |_, t: &TaskRef| {
            verdict(t.index as u8, 400_000)
        });
    }

    // A job nobody can take (no provider has the label), cancelled; another left to its deadline.
    let cancelled = s
        .post(&job_spec().tasks(2).label("gpu", "h100"), "alice")
        .expect_ok()
        .tx_id;
    s.tx("alice")
        .act(Action::CancelJob { job: cancelled })
        .expect_ok();
    s.post(
        &job_spec().label("gpu", "h100").deadline_in(4).bid(20),
        "bob",
    )
    .expect_ok();
    s.tx("p4")
        .act(Action::PauseProvider { paused: true })
        .expect_ok();
    // Replicas are drawn at random, so who is still busy depends on the draw: work on until
    // one of p1–p3 is idle, and that one exits.
    let leaver = (0..40)
        .find_map(|_| {
            let idle = ["p3", "p1", "p2"]
                .into_iter()
                .find(|p| s.assigned(p).is_empty());
            if idle.is_none() {
                s.work_round(&workers, &mut book, |_, t: &TaskRef| {
                    verdict(t.index as u8, 400_000)
                });
            }
            idle
        })
        .expect("an idle provider");
    s.tx(leaver).act(Action::ExitProvider).expect_ok();
    s.blocks(s.params.market.unbonding_blocks + 1);

    // Unjail after the jail, a full release of unbonding, and one more epoch boundary.
    s.blocks(s.params.staking.jail_blocks);
    s.tx("v1").act(Action::Unjail).expect_ok();
    s.to_epoch_end().empty_block();
    s.tx("bob").transfer("alice", 1).expect_ok();

    // The jobs got where the story says (a pin on the path, not just on the bytes).
    assert!(s.job(&replicated).tasks_verified >= 1);
    assert!(s.job(&adaptive).tasks_verified >= 1);
    // The liar was outvoted (never slashed for a vote: issue 14), unpaid for it.
    let outvoted = (0..s.job(&replicated).spec.tasks.len() as u32).any(|i| {
        s.task(&replicated, i)
            .replicas
            .iter()
            .any(|r| r.provider == addr("liar") && r.state == ReplicaState::Unsettled)
    });
    assert!(outvoted, "the liar was outvoted");
    assert!(!s.provider("mute").slashed.is_zero());
    assert!(!s.validator("v1").slashed.is_zero());
    s
}

#[test]
fn golden_story_state_digest_is_unchanged() {
    // Re-pinned for issue 19: the stored chain parameters gained the `evm` section, then
    // `evm.callback_gas_max` and `evm.receipt_retention_blocks` (the story itself runs no EVM
    // transaction, so nothing else moved). Re-pinned for issue 18: they gained
    // `rewards.downtime_records_min` (the story carries no signer records, so no downtime is
    // judged; it passed unchanged before the parameter).
    let s = story();
    assert_eq!(s.height, 191);
    assert_eq!(
        state_digest(&s.state),
        "104874738de6333ed4f0b22d7776ec7332ad688c0211ee0c010eaf6d4d101afa"
    );
}

#[test]
fn golden_market_sim_report_is_unchanged() {
    let mut cfg = SimConfig::new(
        Verification::Adaptive {
            target_error_ppm: 1_000,
        },
        20,
    );
    cfg.tasks = 200;
    let report = simulate(&cfg);
    let digest = blake3::hash(format!("{report:?}").as_bytes()).to_hex();
    assert_eq!(
        digest.as_str(),
        "8b7e001499e7b32c8e5a3dc7c20a3421e5247d4ddaef4050ac483b8183594207",
        "{report:?}"
    );
}
