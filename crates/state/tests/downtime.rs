//! Downtime as stories: each block may carry the signer record of an earlier block's
//! finalization; a member of the active set that misses more than `downtime_missed_max_bps`
//! of the records counted for it in an epoch is slashed `slash_downtime_bps` and jailed at the
//! epoch's end, leaves the next set, and may `Unjail` after the jail time. A record that does
//! not fit its epoch's set, or repeats a height, makes the block invalid. Every block also
//! checks the supply. An epoch that counted fewer than `downtime_records_min` records for a
//! validator judges it not at all.

use yun_state::BlockError;
use yun_state::arith::bps_of;
use yun_state::rewards::SignersError;
use yun_state::scenario::{Scenario, addr};
use yun_state::scenario_staking::delegate;
use yun_state::staking::{self, ValidatorStatus};
use yun_types::signers::SignerRecord;
use yun_types::{Action, Amount, TxRejection};

const EPOCH: u64 = 10;
const BOND: u128 = 1_000_000;
const ALL: [&str; 4] = ["a", "b", "c", "d"];
const BUT_D: [&str; 3] = ["a", "b", "c"];
const RECORDS_MIN: u64 = 6;

/// Four genesis validators with equal bonds (twice the minimum), 10-block epochs, 20-block
/// jail; alice funded.
fn chain() -> Scenario {
    let mut s = Scenario::new();
    s.params.staking.epoch_blocks = EPOCH;
    s.params.staking.unbonding_blocks = staking::EVIDENCE_EPOCHS_KEPT * EPOCH;
    s.params.staking.jail_blocks = 20;
    // A downtime slash leaves the self bond above the minimum, so an unjailed validator is
    // eligible again without topping up.
    s.params.staking.validator_self_bond_min = Amount::new(BOND / 2);
    // Epoch 0 counts the records of heights 1–8: enough to judge.
    s.params.rewards.downtime_records_min = RECORDS_MIN;
    for v in ALL {
        s.genesis_validator(v, BOND);
        s.fund(v, 1_000);
    }
    s.fund("alice", 1_000_000_000);
    s
}

fn in_set(s: &mut Scenario, name: &str) -> bool {
    s.active_set().1.iter().any(|(a, _)| *a == addr(name))
}

#[test]
fn a_silent_validator_is_slashed_and_jailed_at_the_epochs_end_and_leaves_the_set() {
    let mut s = chain();
    s.tx("alice").act(delegate("d", 10_000)).expect_ok();
    s.blocks_signed_by(EPOCH - 1, &BUT_D);
    assert_eq!(s.height, EPOCH, "one block into epoch 1");
    // Epoch 0's last block (height 9) counted the records of heights 1–8: d missed them all
    // and was jailed at its end.
    let d = s.validator("d");
    assert_eq!(d.status, ValidatorStatus::Jailed);
    let bps = s.params.rewards.slash_downtime_bps;
    assert_eq!(
        d.self_bond.base_units(),
        BOND - bps_of(Amount::new(BOND), bps).base_units()
    );
    assert_eq!(
        s.delegated("alice", "d"),
        10_000 - bps_of(Amount::new(10_000), bps).base_units(),
        "its delegators share the slash, as with equivocation"
    );
    assert!(!in_set(&mut s, "d"));
    assert!(in_set(&mut s, "a"));
    let l = s.liveness("d");
    assert_eq!(l.downtime_jails, 1);
    assert!(l.missed_blocks_total >= EPOCH - 2);
    assert_eq!(s.liveness("a").missed_blocks_total, 0);
    assert_eq!(s.validator("a").status, ValidatorStatus::Active);
}

#[test]
fn missing_no_more_than_the_allowed_share_is_not_downtime() {
    let mut s = chain();
    s.params.rewards.downtime_missed_max_bps = 7_500;
    // Heights 1–9 are in epoch 0; genesis is never recorded, so blocks 2–9 carry the records
    // of heights 1–8: d misses 6 of 8, 75 %, not more than the allowed 75 %.
    s.empty_block();
    s.blocks_signed_by(6, &BUT_D);
    s.blocks_signed_by(2, &ALL);
    s.to_epoch_end();
    assert_eq!(s.liveness("d").missed_blocks, 6);
    assert_eq!(s.validator("d").status, ValidatorStatus::Active);
    assert!(in_set(&mut s, "d"));
}

#[test]
fn blocks_without_signer_records_count_nobody_missing() {
    let mut s = chain();
    s.blocks(EPOCH * 2);
    for v in ALL {
        assert_eq!(s.validator(v).status, ValidatorStatus::Active);
        assert_eq!(s.liveness(v).missed_blocks_total, 0);
    }
}

#[test]
fn a_jailed_validator_unjails_after_its_jail_and_rejoins_the_next_set() {
    let mut s = chain();
    s.blocks_signed_by(EPOCH - 1, &BUT_D);
    assert_eq!(s.validator("d").status, ValidatorStatus::Jailed);
    let until = s.validator("d").jailed_until_height;
    s.tx("d")
        .act(Action::Unjail)
        .expect_failed(TxRejection::JailNotOver);
    s.tx("a")
        .act(Action::Unjail)
        .expect_failed(TxRejection::NotJailed);
    while s.height + 1 < until {
        s.empty_block();
    }
    s.tx("d").act(Action::Unjail).expect_ok();
    s.empty_block().to_epoch_end();
    assert!(in_set(&mut s, "d"), "back at the next epoch boundary");
    // Its downtime of the jailed epochs is not held against it: it was not in the set.
    assert_eq!(s.validator("d").status, ValidatorStatus::Active);
}

#[test]
fn signer_records_must_fit_the_set_and_move_forward() {
    let mut s = chain();
    s.blocks_signed_by(3, &ALL);
    let refused = |s: &mut Scenario, record: SignerRecord| {
        s.signers = Some(record);
        match s.block(&[]) {
            Err(BlockError::Signers(e)) => e,
            other => panic!("expected a signer refusal, got {other:?}"),
        }
    };
    let h = s.height;
    // Four members take one byte; a bit past the fourth does not fit, nor a second byte.
    assert_eq!(
        refused(
            &mut s,
            SignerRecord {
                height: h,
                bitmap: vec![0b1_0000]
            }
        ),
        SignersError::WrongLength(4)
    );
    assert_eq!(
        refused(
            &mut s,
            SignerRecord {
                height: h,
                bitmap: vec![0b1111, 0]
            }
        ),
        SignersError::WrongLength(4)
    );
    // Height h − 1 was recorded by the last block: again, or the block's own height, no.
    for height in [h - 1, h + 1] {
        assert!(matches!(
            refused(&mut s, SignerRecord::from_signed(height, 4, 0..4)),
            SignersError::HeightOutOfOrder { .. }
        ));
    }
    // A gap is allowed: heights nobody recorded count for no one.
    s.signers = Some(SignerRecord::from_signed(h, 4, 0..4));
    s.block(&[]).unwrap();
    assert_eq!(s.rewards().signers_recorded_height, h);
}

#[test]
fn a_proposer_that_omits_records_frames_nobody() {
    let mut s = chain();
    // Every other block carries no record (its proposer left it out): only recorded heights
    // count, and a validator that signed them all missed none.
    for _ in 0..EPOCH / 2 {
        s.signed_by(&ALL).empty_block();
        s.empty_block();
    }
    for v in ALL {
        assert_eq!(s.liveness(v).missed_blocks_total, 0);
        assert_eq!(s.validator(v).status, ValidatorStatus::Active);
    }
}

#[test]
fn an_epoch_with_fewer_records_than_the_minimum_judges_nobody() {
    let mut s = chain();
    // Epoch 0: d is in none of the first RECORDS_MIN − 1 records (it started late, or was
    // always the slowest voter), then nothing is recorded: too little to judge.
    s.empty_block();
    s.blocks_signed_by(RECORDS_MIN - 1, &BUT_D);
    s.to_epoch_end();
    let l = s.liveness("d");
    assert_eq!((l.signed_blocks, l.missed_blocks), (0, RECORDS_MIN - 1));
    assert_eq!(s.validator("d").status, ValidatorStatus::Active);
    assert!(in_set(&mut s, "d"));
    assert_eq!(s.validator("d").slashed, Amount::ZERO);
    // Epoch 1: the same silence over RECORDS_MIN records is judged.
    s.blocks_signed_by(RECORDS_MIN, &BUT_D);
    s.to_epoch_end();
    assert_eq!(s.validator("d").status, ValidatorStatus::Jailed);
    assert_eq!(s.liveness("d").downtime_jails, 1);
    for v in BUT_D {
        assert_eq!(s.validator(v).status, ValidatorStatus::Active);
    }
}
