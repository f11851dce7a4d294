//! Encrypted jobs on chain: a provider assigned to one cannot run it before the requester
//! seals it the job's key, so it never loses bond or trust for that silence, and the key's
//! arrival gives it a whole commit window.

use yun_state::market::{ReplicaState, TAG_ASSIGNED, TaskPhase};
use yun_state::scenario::{Scenario, addr};
use yun_state::scenario_market::{Commitments, JobDraft, job_spec, offer, verdict};
use yun_types::storage::{SealedKey, StorageAction};
use yun_types::{Action, Address, Amount};

const BOND: u128 = 1_000_000;

fn one_provider() -> Scenario {
    let mut s = Scenario::new();
    s.fund("alice", 1_000_000_000_000).fund("p1", 10 * BOND);
    s.tx("p1").act(offer().register(BOND)).expect_ok();
    s
}

fn encrypted(mut draft: JobDraft) -> JobDraft {
    draft.spec.encryption_key = Some(yun_types::Hash32([9; 32]));
    draft
}

fn share_with(job: yun_types::market::JobId, provider: Address) -> Action {
    Action::Storage(StorageAction::ShareJobKeys {
        job,
        keys: vec![SealedKey {
            provider,
            sealed: vec![7; 32],
        }],
    })
}

#[test]
fn a_provider_whose_key_never_arrives_keeps_its_bond_and_trust() {
    let mut s = one_provider();
    let before = s.provider("p1");
    let job = s
        .post(&encrypted(job_spec().deadline_in(10_000)), "alice")
        .expect_ok()
        .tx_id;
    assert_eq!(s.assigned("p1").len(), 1);
    // Post encrypted job / assign / never share keys: the window passes, again and again
    // (p1, the only provider, is drawn again each time), until the task fails.
    let expirations_max = u64::from(s.params.market.task_expirations_max);
    s.blocks((expirations_max + 2) * (s.params.market.commit_window_blocks + 12));
    let task = s.task(&job, 0);
    assert!(matches!(task.phase, TaskPhase::Failed { .. }), "{task:?}");
    assert!(
        task.replicas
            .iter()
            .all(|r| r.state == ReplicaState::Expired)
    );
    let after = s.provider("p1");
    assert_eq!(after.bond, before.bond, "no slash for a key never shared");
    assert!(after.slashed.is_zero());
    assert_eq!(after.reputation, before.reputation);
    assert!(s.view().scan(&[TAG_ASSIGNED]).is_empty(), "slots released");
    // The requester got its unspent escrow back: the job ended with nothing paid.
    assert_eq!(s.job(&job).escrow, Amount::ZERO);
}

#[test]
fn a_provider_that_had_its_key_and_stayed_silent_is_slashed_as_ever() {
    let mut s = one_provider();
    let job = s
        .post(&encrypted(job_spec().deadline_in(10_000)), "alice")
        .expect_ok()
        .tx_id;
    s.tx("alice").act(share_with(job, addr("p1"))).expect_ok();
    s.blocks(s.params.market.commit_window_blocks + 12);
    assert_eq!(s.task(&job, 0).replicas[0].state, ReplicaState::Expired);
    assert!(!s.provider("p1").slashed.is_zero());
}

#[test]
fn a_key_shared_late_gives_the_provider_a_whole_commit_window() {
    let mut s = one_provider();
    let window = s.params.market.commit_window_blocks;
    let job = s
        .post(&encrypted(job_spec().deadline_in(10_000)), "alice")
        .expect_ok()
        .tx_id;
    // The requester shares one block before the window would close...
    s.blocks(window - 2);
    s.tx("alice").act(share_with(job, addr("p1"))).expect_ok();
    let shared_at = s.height;
    let ReplicaState::Assigned { commit_deadline } = s.task(&job, 0).replicas[0].state else {
        panic!("still assigned");
    };
    assert_eq!(commit_deadline, shared_at + window);
    // ...so p1 still has most of a window later, and commits, reveals and is paid.
    s.blocks(window - 3);
    let mut book = Commitments::default();
    s.work_round(&["p1"], &mut book, |_, _| verdict(1, 400_000));
    assert!(matches!(s.task(&job, 0).phase, TaskPhase::Verified { .. }));
    assert!(s.provider("p1").slashed.is_zero());
}

#[test]
fn a_plaintext_job_gets_no_excuse_for_silence() {
    let mut s = one_provider();
    let job = s
        .post(&job_spec().deadline_in(10_000), "alice")
        .expect_ok()
        .tx_id;
    s.blocks(s.params.market.commit_window_blocks + 12);
    assert_eq!(s.task(&job, 0).replicas[0].state, ReplicaState::Expired);
    assert!(!s.provider("p1").slashed.is_zero());
}
