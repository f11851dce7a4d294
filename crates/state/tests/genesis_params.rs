//! Genesis parameters out of range are refused before any state is written, each refusal
//! naming the field and the range it must lie in; parameters at the edge of their range are
//! accepted.

use yun_state::GenesisError;
use yun_state::genesis_writes;
use yun_state::scenario::genesis_with;
use yun_state::staking::EVIDENCE_EPOCHS_KEPT;
use yun_types::{Amount, ChainParams};

type Change = fn(&mut ChainParams);

/// One bad value per row, and the field the refusal must name.
const REFUSED: &[(&str, Change)] = &[
    ("fee_burn_bps", |p| p.fee_burn_bps = 10_001),
    ("block_txs_max", |p| p.block_txs_max = 0),
    ("tx_bytes_max", |p| p.tx_bytes_max = 255),
    ("expiry_blocks_max", |p| p.expiry_blocks_max = 0),
    // Staking.
    ("staking.epoch_blocks", |p| p.staking.epoch_blocks = 1),
    ("staking.epoch_blocks", |p| {
        p.staking.epoch_blocks = u64::MAX / 2
    }),
    ("staking.active_validators_max", |p| {
        p.staking.active_validators_max = 0
    }),
    ("staking.validator_self_bond_min", |p| {
        p.staking.validator_self_bond_min = Amount::ZERO
    }),
    ("staking.delegation_min", |p| {
        p.staking.delegation_min = Amount::ZERO
    }),
    ("staking.slash_equivocation_bps", |p| {
        p.staking.slash_equivocation_bps = 10_001
    }),
    ("staking.jail_blocks", |p| p.staking.jail_blocks = 0),
    // Delegators could leave before late evidence against their validator is reported.
    ("staking.unbonding_blocks", |p| {
        p.staking.unbonding_blocks = EVIDENCE_EPOCHS_KEPT * p.staking.epoch_blocks - 1
    }),
    // The market.
    ("market.provider_bond_min", |p| {
        p.market.provider_bond_min = Amount::ZERO
    }),
    ("market.provider_slots_max", |p| {
        p.market.provider_slots_max = 0
    }),
    ("market.commit_window_blocks", |p| {
        p.market.commit_window_blocks = 0
    }),
    ("market.reveal_window_blocks", |p| {
        p.market.reveal_window_blocks = 0
    }),
    ("market.job_deadline_blocks_max", |p| {
        p.market.job_deadline_blocks_max = 0
    }),
    ("market.task_memory_bytes_max", |p| {
        p.market.task_memory_bytes_max = 0
    }),
    ("market.slash_dissent_bps", |p| {
        p.market.slash_dissent_bps = 10_001
    }),
    ("market.slash_silent_bps", |p| {
        p.market.slash_silent_bps = 10_001
    }),
    ("market.protocol_fee_bps", |p| {
        p.market.protocol_fee_bps = 10_001
    }),
    ("market.selection_weight_cap_bps", |p| {
        p.market.selection_weight_cap_bps = 0
    }),
    ("market.selection_weight_cap_bps", |p| {
        p.market.selection_weight_cap_bps = 10_001
    }),
    ("market.price_target_utilization_bps", |p| {
        p.market.price_target_utilization_bps = 0
    }),
    ("market.price_target_utilization_bps", |p| {
        p.market.price_target_utilization_bps = 10_001
    }),
    ("market.price_step_divisor", |p| {
        p.market.price_step_divisor = 0
    }),
    ("market.price_floor_per_mfuel", |p| {
        p.market.price_floor_per_mfuel = Amount::ZERO
    }),
    ("market.adaptive_prior_error_ppm", |p| {
        p.market.adaptive_prior_error_ppm = 0
    }),
    ("market.adaptive_prior_error_ppm", |p| {
        p.market.adaptive_prior_error_ppm = 1_000_001
    }),
    // An exiting provider's bond must outlive a replica's commit-and-reveal path.
    ("market.unbonding_blocks", |p| {
        p.market.unbonding_blocks =
            p.market.commit_window_blocks + p.market.reveal_window_blocks - 1
    }),
    ("market.governed_labels", |p| {
        let first = p.market.governed_labels[0].clone();
        p.market.governed_labels.push(first);
    }),
    // Storage.
    ("storage.epoch_blocks", |p| {
        p.storage.epoch_blocks = 1;
        p.storage.proof_window_blocks = 1;
    }),
    ("storage.proof_window_blocks", |p| {
        p.storage.proof_window_blocks = p.storage.epoch_blocks
    }),
    ("storage.deals_matched_per_block_max", |p| {
        p.storage.deals_matched_per_block_max = 0
    }),
    ("storage.price_floor_per_mib_epoch", |p| {
        p.storage.price_floor_per_mib_epoch = Amount::ZERO
    }),
    // Rewards.
    ("rewards.treasury_bps", |p| p.rewards.treasury_bps = 10_001),
    ("rewards.commission_max_bps", |p| {
        p.rewards.commission_max_bps = 10_001
    }),
    ("rewards.slash_downtime_bps", |p| {
        p.rewards.slash_downtime_bps = 10_001
    }),
    // The treasury's and providers' shares would leave the validators less than nothing.
    ("rewards.provider_bps", |p| {
        p.rewards.treasury_bps = 5_000;
        p.rewards.provider_bps = 5_001;
    }),
    ("rewards.issuance_max_total", |p| {
        p.rewards.issuance_per_block = Amount::new(10);
        p.rewards.issuance_max_total = Amount::new(9);
    }),
    // Proposers could leave an honest validator out of a third of the signer records.
    ("rewards.downtime_missed_max_bps", |p| {
        p.rewards.downtime_missed_max_bps = 6_666
    }),
    ("rewards.downtime_missed_max_bps", |p| {
        p.rewards.downtime_missed_max_bps = 10_001
    }),
    // Three records cannot tell a silent validator from one left out of three quorums.
    ("rewards.downtime_records_min", |p| {
        p.rewards.downtime_records_min = yun_types::rewards::DOWNTIME_RECORDS_MIN_FLOOR - 1
    }),
    // A provider posting jobs to itself would earn more than it burns.
    ("rewards.compute_reward_payment_max_bps", |p| {
        p.rewards.compute_reward_payment_max_bps = p.market.protocol_fee_bps + 1
    }),
    // A wallet polling for its receipt would find it gone.
    ("evm.receipt_retention_blocks", |p| {
        p.evm.receipt_retention_blocks = 255
    }),
];

#[test]
fn each_parameter_out_of_range_is_refused_naming_the_field_and_its_range() {
    assert!(genesis_writes(&genesis_with(&[("alice", 1)])).is_ok());
    for (field, change) in REFUSED {
        let mut g = genesis_with(&[("alice", 1)]);
        change(&mut g.params);
        match genesis_writes(&g) {
            Err(GenesisError::Param { field: f, allowed }) => {
                assert_eq!(f, *field);
                let words = GenesisError::Param {
                    field: f,
                    allowed: allowed.clone(),
                }
                .to_string();
                assert!(
                    words.contains(field) && words.contains(&allowed) && !allowed.is_empty(),
                    "{words}"
                );
            }
            other => panic!("{field}: expected a parameter refusal, got {other:?}"),
        }
    }
}

#[test]
fn the_cross_checks_name_the_smallest_allowed_value_and_accept_it() {
    let mut g = genesis_with(&[("alice", 1)]);
    g.params.staking.epoch_blocks = 10;
    g.params.staking.unbonding_blocks = 79;
    let err = genesis_writes(&g).unwrap_err().to_string();
    assert!(err.contains("at least 80 blocks"), "{err}");
    g.params.staking.unbonding_blocks = 80;
    assert!(genesis_writes(&g).is_ok(), "exactly the evidence window");

    g.params.market.commit_window_blocks = 7;
    g.params.market.reveal_window_blocks = 5;
    g.params.market.unbonding_blocks = 11;
    let err = genesis_writes(&g).unwrap_err().to_string();
    assert!(err.contains("at least 12 blocks"), "{err}");
    g.params.market.unbonding_blocks = 12;
    assert!(genesis_writes(&g).is_ok(), "exactly commit + reveal");

    g.params.storage.epoch_blocks = 2;
    g.params.storage.proof_window_blocks = 1;
    assert!(genesis_writes(&g).is_ok(), "the shortest storage epoch");

    g.params.rewards.treasury_bps = 4_000;
    g.params.rewards.provider_bps = 6_000;
    assert!(
        genesis_writes(&g).is_ok(),
        "treasury and providers take it all"
    );
    g.params.rewards.issuance_per_block = Amount::new(10);
    g.params.rewards.issuance_max_total = Amount::new(10);
    assert!(genesis_writes(&g).is_ok(), "a cap of one block's issuance");
    g.params.rewards.downtime_missed_max_bps = 6_667;
    g.params.rewards.downtime_records_min = yun_types::rewards::DOWNTIME_RECORDS_MIN_FLOOR;
    g.params.rewards.compute_reward_payment_max_bps = g.params.market.protocol_fee_bps;
    assert!(
        genesis_writes(&g).is_ok(),
        "the edges of the downtime and reward bounds"
    );
}
