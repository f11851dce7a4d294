//! Wire types of vote-escrowed governance and the proof-of-work faucet: locks, proposals and
//! their kinds, votes, the governance and faucet parameters, and the faucet's puzzle.

use crate::market::{Text, codec_struct, list};
use crate::{Address, Amount, Hash32};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// Most edits one parameter-change proposal may carry.
pub const PARAM_EDITS_MAX: usize = 32;
/// Longest dotted field path of an edit (`market.price_step_divisor`), in bytes.
pub const PARAM_PATH_BYTES_MAX: usize = 128;
/// Longest value of an edit (JSON text, or a bare string), in bytes.
pub const PARAM_VALUE_BYTES_MAX: usize = 4_096;
/// Longest text of a text proposal or name of a software upgrade, in bytes.
pub const PROPOSAL_TEXT_BYTES_MAX: usize = 2_048;

/// A proposal's number: proposals are numbered 1, 2, 3… in the order they are made.
pub type ProposalId = u64;

/// One edit of a parameter change: the dotted path of a field of `ChainParams` as it is
/// spelled in genesis JSON (`market.price_step_divisor`, `min_fee`, `governance.quorum_bps`)
/// and its new value as JSON text (`16`, `true`, `"2000"`, `[]`; a bare word is taken as a
/// string, so `min_fee=2000` and `min_fee="2000"` agree). Numbers must be integers.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct ParamEdit {
    pub path: Text,
    pub value: Text,
}
codec_struct!(ParamEdit {
    path: PARAM_PATH_BYTES_MAX,
    value: PARAM_VALUE_BYTES_MAX,
});

/// What a proposal asks for.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProposalKind {
    /// Edits of the chain parameters, applied in order to the parameters in force at the
    /// apply height (so two proposals that touch different fields both take effect), then
    /// checked by the rules genesis is checked by.
    ParamChange { edits: Vec<ParamEdit> },
    /// A statement the network votes on; passing it changes nothing in state.
    Text { text: Text },
    /// Pays `amount` from the treasury to `to` at the apply height.
    TreasurySpend { to: Address, amount: Amount },
    /// Announces that nodes switch to the release `name` at the apply height (state records
    /// the plan; operators' nodes act on it).
    SoftwareUpgrade { name: Text },
}

impl ProposalKind {
    fn tag(&self) -> u8 {
        match self {
            ProposalKind::ParamChange { .. } => 0,
            ProposalKind::Text { .. } => 1,
            ProposalKind::TreasurySpend { .. } => 2,
            ProposalKind::SoftwareUpgrade { .. } => 3,
        }
    }

    /// A short name for lists and logs.
    pub fn name(&self) -> &'static str {
        match self {
            ProposalKind::ParamChange { .. } => "param_change",
            ProposalKind::Text { .. } => "text",
            ProposalKind::TreasurySpend { .. } => "treasury_spend",
            ProposalKind::SoftwareUpgrade { .. } => "software_upgrade",
        }
    }
}

impl Write for ProposalKind {
    fn write(&self, buf: &mut impl BufMut) {
        self.tag().write(buf);
        match self {
            ProposalKind::ParamChange { edits } => edits.write(buf),
            ProposalKind::Text { text } => text.write(buf),
            ProposalKind::TreasurySpend { to, amount } => {
                to.write(buf);
                amount.write(buf);
            }
            ProposalKind::SoftwareUpgrade { name } => name.write(buf),
        }
    }
}

impl EncodeSize for ProposalKind {
    fn encode_size(&self) -> usize {
        1 + match self {
            ProposalKind::ParamChange { edits } => edits.encode_size(),
            ProposalKind::Text { text } => text.encode_size(),
            ProposalKind::TreasurySpend { to, amount } => to.encode_size() + amount.encode_size(),
            ProposalKind::SoftwareUpgrade { name } => name.encode_size(),
        }
    }
}

impl Read for ProposalKind {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(match u8::read(buf)? {
            0 => ProposalKind::ParamChange {
                edits: Vec::read_cfg(buf, &list(PARAM_EDITS_MAX, ()))?,
            },
            1 => ProposalKind::Text {
                text: Text::read_cfg(buf, &PROPOSAL_TEXT_BYTES_MAX)?,
            },
            2 => ProposalKind::TreasurySpend {
                to: Address::read(buf)?,
                amount: Amount::read(buf)?,
            },
            3 => ProposalKind::SoftwareUpgrade {
                name: Text::read_cfg(buf, &PROPOSAL_TEXT_BYTES_MAX)?,
            },
            tag => return Err(Error::InvalidEnum(tag)),
        })
    }
}

/// A vote.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum VoteChoice {
    Yes,
    No,
    /// Counts toward the quorum only.
    Abstain,
    /// No, and the proposal is abusive: a veto share at or above `governance.veto_bps` of the
    /// votes rejects it and burns its deposit.
    Veto,
}

impl VoteChoice {
    pub const ALL: [VoteChoice; 4] = [Self::Yes, Self::No, Self::Abstain, Self::Veto];

    pub fn name(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::No => "no",
            Self::Abstain => "abstain",
            Self::Veto => "veto",
        }
    }
}

impl std::str::FromStr for VoteChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("{s:?} is not a vote: yes, no, abstain or veto"))
    }
}

impl Write for VoteChoice {
    fn write(&self, buf: &mut impl BufMut) {
        (*self as u8).write(buf);
    }
}
impl EncodeSize for VoteChoice {
    fn encode_size(&self) -> usize {
        1
    }
}
impl Read for VoteChoice {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        let tag = u8::read(buf)?;
        Self::ALL
            .get(tag as usize)
            .copied()
            .ok_or(Error::InvalidEnum(tag))
    }
}

/// The governance domain's actions (one tag of [`crate::Action`]; the inner tag is part of
/// the protocol too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum GovAction {
    /// Locks `amount` more from the balance until `until_height` (at or after the current
    /// lock's end: a lock can grow and lengthen, never shorten). Locked tokens cannot move.
    Lock { amount: Amount, until_height: u64 },
    /// Returns the whole lock to the balance once its `until_height` is reached.
    Unlock,
    /// Opens a proposal, locking `deposit` from the balance until the tally. Voting ends
    /// `governance.voting_period_blocks` after this block; a passed proposal takes effect
    /// from block `apply_height` on (after the voting end).
    Propose {
        kind: ProposalKind,
        deposit: Amount,
        apply_height: u64,
    },
    /// Votes on an open proposal, replacing the sender's earlier vote on it.
    Vote {
        proposal: ProposalId,
        choice: VoteChoice,
    },
}

impl GovAction {
    fn tag(&self) -> u8 {
        match self {
            GovAction::Lock { .. } => 0,
            GovAction::Unlock => 1,
            GovAction::Propose { .. } => 2,
            GovAction::Vote { .. } => 3,
        }
    }

    /// A short name for receipts and logs.
    pub fn name(&self) -> &'static str {
        match self {
            GovAction::Lock { .. } => "gov_lock",
            GovAction::Unlock => "gov_unlock",
            GovAction::Propose { .. } => "gov_propose",
            GovAction::Vote { .. } => "gov_vote",
        }
    }
}

impl Write for GovAction {
    fn write(&self, buf: &mut impl BufMut) {
        self.tag().write(buf);
        match self {
            GovAction::Lock {
                amount,
                until_height,
            } => {
                amount.write(buf);
                until_height.write(buf);
            }
            GovAction::Unlock => {}
            GovAction::Propose {
                kind,
                deposit,
                apply_height,
            } => {
                kind.write(buf);
                deposit.write(buf);
                apply_height.write(buf);
            }
            GovAction::Vote { proposal, choice } => {
                proposal.write(buf);
                choice.write(buf);
            }
        }
    }
}

impl EncodeSize for GovAction {
    fn encode_size(&self) -> usize {
        1 + match self {
            GovAction::Lock { .. } => 16 + 8,
            GovAction::Unlock => 0,
            GovAction::Propose { kind, .. } => kind.encode_size() + 16 + 8,
            GovAction::Vote { .. } => 8 + 1,
        }
    }
}

impl Read for GovAction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(match u8::read(buf)? {
            0 => GovAction::Lock {
                amount: Amount::read(buf)?,
                until_height: u64::read(buf)?,
            },
            1 => GovAction::Unlock,
            2 => GovAction::Propose {
                kind: ProposalKind::read(buf)?,
                deposit: Amount::read(buf)?,
                apply_height: u64::read(buf)?,
            },
            3 => GovAction::Vote {
                proposal: u64::read(buf)?,
                choice: VoteChoice::read(buf)?,
            },
            tag => return Err(Error::InvalidEnum(tag)),
        })
    }
}

/// Parameters of vote-escrowed governance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GovernanceParams {
    /// Blocks a proposal is open for votes, counting the block that made it.
    pub voting_period_blocks: u64,
    /// Least deposit a proposal locks (refunded unless vetoed).
    pub deposit_min: Amount,
    /// Share of all voting power that must vote (abstain counts) for a tally to count, in
    /// basis points.
    pub quorum_bps: u16,
    /// Share of the yes + no + veto weight that yes must exceed to pass, in basis points.
    pub threshold_bps: u16,
    /// Share of the voted weight at or above which veto rejects and burns the deposit, in
    /// basis points.
    pub veto_bps: u16,
    /// Longest lock that counts: a lock (or stake's unbonding period) this long or longer
    /// votes with its whole amount; a shorter one with amount × remaining / this.
    pub lock_blocks_max: u64,
    /// Most blocks between a proposal's voting end and its apply height.
    pub apply_delay_blocks_max: u64,
    /// Most proposals open for votes at once (each one is tallied by a scan).
    pub open_proposals_max: u32,
}

impl Default for GovernanceParams {
    fn default() -> Self {
        GovernanceParams {
            voting_period_blocks: 1_000,
            deposit_min: Amount::new(1_000_000),
            quorum_bps: 3_340,
            threshold_bps: 5_000,
            veto_bps: 3_340,
            lock_blocks_max: 100_000,
            apply_delay_blocks_max: 100_000,
            open_proposals_max: 16,
        }
    }
}

codec_struct!(GovernanceParams {
    voting_period_blocks: (),
    deposit_min: (),
    quorum_bps: (),
    threshold_bps: (),
    veto_bps: (),
    lock_blocks_max: (),
    apply_delay_blocks_max: (),
    open_proposals_max: (),
});

/// Parameters of the proof-of-work faucet (off unless a genesis turns it on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
pub struct FaucetParams {
    /// Whether `Faucet` claims are accepted at all.
    pub enabled: bool,
    /// What one claim pays (minted).
    pub amount: Amount,
    /// Hashes one claim takes on average: a claim's puzzle hash, read as a big-endian u64
    /// from its first 8 bytes, must be at most `u64::MAX / work_hashes`.
    pub work_hashes: u64,
}

codec_struct!(FaucetParams {
    enabled: (),
    amount: (),
    work_hashes: (),
});

/// The faucet puzzle's hash for `address` claiming in `epoch` (a staking epoch) with `nonce`:
/// blake3 of a domain tag, the chain id, the address, the epoch and the nonce.
pub fn faucet_hash(chain_id: &str, address: &Address, epoch: u64, nonce: u64) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(b"yun/faucet/v1");
    h.update(&(chain_id.len() as u64).to_be_bytes());
    h.update(chain_id.as_bytes());
    h.update(address.as_bytes());
    h.update(&epoch.to_be_bytes());
    h.update(&nonce.to_be_bytes());
    Hash32(*h.finalize().as_bytes())
}

/// The largest puzzle value that wins at `work_hashes` (zero work: every hash wins).
pub fn faucet_target(work_hashes: u64) -> u64 {
    u64::MAX / work_hashes.max(1)
}

/// Whether `hash` solves the puzzle at `work_hashes`.
pub fn faucet_solves(hash: &Hash32, work_hashes: u64) -> bool {
    let head = u64::from_be_bytes(hash.0[..8].try_into().expect("8 of 32 bytes"));
    head <= faucet_target(work_hashes)
}

/// Searches nonces from `start` for one that solves the puzzle, calling `progress` every
/// 65,536 tries with the number tried so far; `None` after `tries` without one.
pub fn faucet_solve(
    chain_id: &str,
    address: &Address,
    epoch: u64,
    work_hashes: u64,
    start: u64,
    tries: u64,
    mut progress: impl FnMut(u64),
) -> Option<u64> {
    for i in 0..tries {
        let nonce = start.wrapping_add(i);
        if faucet_solves(&faucet_hash(chain_id, address, epoch, nonce), work_hashes) {
            return Some(nonce);
        }
        if i % 65_536 == 65_535 {
            progress(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};

    #[test]
    fn governance_actions_round_trip() {
        let actions = [
            GovAction::Lock {
                amount: Amount::new(5),
                until_height: 9,
            },
            GovAction::Unlock,
            GovAction::Propose {
                kind: ProposalKind::ParamChange {
                    edits: vec![ParamEdit {
                        path: "market.price_step_divisor".into(),
                        value: "16".into(),
                    }],
                },
                deposit: Amount::new(7),
                apply_height: 40,
            },
            GovAction::Propose {
                kind: ProposalKind::TreasurySpend {
                    to: Address([3; 32]),
                    amount: Amount::new(1),
                },
                deposit: Amount::new(7),
                apply_height: 40,
            },
            GovAction::Vote {
                proposal: 3,
                choice: VoteChoice::Veto,
            },
        ];
        for a in actions {
            let bytes = a.encode();
            assert_eq!(bytes.len(), a.encode_size());
            assert_eq!(GovAction::decode(bytes).unwrap(), a);
        }
        assert!(
            GovAction::decode(commonware_codec::Copying(
                &[3u8, 0, 0, 0, 0, 0, 0, 0, 1, 4][..]
            ))
            .is_err()
        );
    }

    #[test]
    fn the_faucet_target_shrinks_as_the_work_grows() {
        assert_eq!(faucet_target(1), u64::MAX);
        assert_eq!(faucet_target(0), u64::MAX);
        assert!(faucet_target(1_000) < faucet_target(10));
        let a = Address([1; 32]);
        let nonce = faucet_solve("c", &a, 0, 64, 0, 1 << 20, |_| {}).unwrap();
        assert!(faucet_solves(&faucet_hash("c", &a, 0, nonce), 64));
        assert_ne!(
            faucet_hash("c", &a, 0, nonce),
            faucet_hash("c", &a, 1, nonce)
        );
    }
}
