//! Parameters of block rewards, validator commission and downtime: how much the chain issues
//! per block, how it decays and where it stops, who gets which share, and when a silent
//! validator is jailed.

use crate::Amount;
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// Block rewards and downtime. The default issues nothing (a chain without rewards, as before
/// this record existed) but still jails validators that stay silent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RewardParams {
    /// Units issued by the first block; later blocks issue this halved once per
    /// `halving_blocks`.
    pub issuance_per_block: Amount,
    /// Blocks between two halvings of the per-block issuance (0: it never halves, and only
    /// `issuance_max_total` ends it).
    pub halving_blocks: u64,
    /// Most units block rewards ever issue; the block that reaches it issues only the rest.
    pub issuance_max_total: Amount,
    /// Share of each block's issuance that goes to the treasury, in basis points.
    pub treasury_bps: u16,
    /// Share of each block's issuance that pays providers for proven work, in basis points
    /// (the rest, after the treasury's share, goes to the active validators and their
    /// delegators by stake).
    pub provider_bps: u16,
    /// Highest commission a validator may take from the rewards of its stake, in basis points.
    pub commission_max_bps: u16,
    /// Most a validator with delegators may raise its commission in one epoch, in basis
    /// points (lowering it is never limited).
    pub commission_raise_max_bps: u16,
    /// A validator of the active set that misses more than this share of an epoch's signer
    /// sets is jailed at the epoch's end, in basis points.
    pub downtime_missed_max_bps: u16,
    /// Fewest signer records an epoch must have counted for a validator before its downtime is
    /// judged: fewer say too little (an honest validator may be left out of a few
    /// certificates), so that epoch judges nobody. Chains whose epochs hold fewer blocks than
    /// this (a localnet's few-block epochs) never jail for downtime.
    pub downtime_records_min: u64,
    /// Share of a jailed-for-downtime validator's stake (self bond, delegations, unbonding)
    /// that is burned, in basis points.
    pub slash_downtime_bps: u16,
    /// A provider's compute reward for one verified task is at most this share of what the
    /// requester paid for it, in basis points: a provider that posts jobs to itself gets back
    /// less than it pays.
    pub compute_reward_payment_max_bps: u16,
}

impl Default for RewardParams {
    fn default() -> Self {
        RewardParams {
            issuance_per_block: Amount::ZERO,
            halving_blocks: 0,
            issuance_max_total: Amount::ZERO,
            treasury_bps: 1_000,
            provider_bps: 3_000,
            commission_max_bps: 2_000,
            commission_raise_max_bps: 100,
            downtime_missed_max_bps: 9_000,
            downtime_records_min: 50,
            slash_downtime_bps: 10,
            compute_reward_payment_max_bps: 500,
        }
    }
}

/// Lowest `downtime_records_min` a genesis may set: with fewer records an honest validator
/// left out of a few certificates in a row (each needs only a quorum) would be judged silent.
pub const DOWNTIME_RECORDS_MIN_FLOOR: u64 = 4;

impl RewardParams {
    /// What block `height` issues before the cap: the initial issuance halved once per
    /// `halving_blocks` (zero after 128 halvings).
    pub fn issuance_at(&self, height: u64) -> Amount {
        let halvings = height.checked_div(self.halving_blocks).unwrap_or(0);
        match u32::try_from(halvings) {
            Ok(h) if h < 128 => Amount::new(self.issuance_per_block.base_units() >> h),
            _ => Amount::ZERO,
        }
    }
}

impl Write for RewardParams {
    fn write(&self, buf: &mut impl BufMut) {
        self.issuance_per_block.write(buf);
        self.halving_blocks.write(buf);
        self.issuance_max_total.write(buf);
        self.treasury_bps.write(buf);
        self.provider_bps.write(buf);
        self.commission_max_bps.write(buf);
        self.commission_raise_max_bps.write(buf);
        self.downtime_missed_max_bps.write(buf);
        self.downtime_records_min.write(buf);
        self.slash_downtime_bps.write(buf);
        self.compute_reward_payment_max_bps.write(buf);
    }
}

impl EncodeSize for RewardParams {
    fn encode_size(&self) -> usize {
        16 + 8 + 16 + 2 * 7 + 8
    }
}

impl Read for RewardParams {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(RewardParams {
            issuance_per_block: Amount::read(buf)?,
            halving_blocks: u64::read(buf)?,
            issuance_max_total: Amount::read(buf)?,
            treasury_bps: u16::read(buf)?,
            provider_bps: u16::read(buf)?,
            commission_max_bps: u16::read(buf)?,
            commission_raise_max_bps: u16::read(buf)?,
            downtime_missed_max_bps: u16::read(buf)?,
            downtime_records_min: u64::read(buf)?,
            slash_downtime_bps: u16::read(buf)?,
            compute_reward_payment_max_bps: u16::read(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};

    #[test]
    fn issuance_halves_every_period_and_round_trips() {
        let p = RewardParams {
            issuance_per_block: Amount::new(1_000),
            halving_blocks: 10,
            ..RewardParams::default()
        };
        assert_eq!(p.issuance_at(0), Amount::new(1_000));
        assert_eq!(p.issuance_at(9), Amount::new(1_000));
        assert_eq!(p.issuance_at(10), Amount::new(500));
        assert_eq!(p.issuance_at(35), Amount::new(125));
        assert_eq!(p.issuance_at(10 * 200), Amount::ZERO);
        let never = RewardParams {
            halving_blocks: 0,
            ..p.clone()
        };
        assert_eq!(never.issuance_at(u64::MAX), Amount::new(1_000));
        let bytes = p.encode();
        assert_eq!(bytes.len(), p.encode_size());
        assert_eq!(RewardParams::decode(bytes).unwrap(), p);
    }
}
