//! Delegated proof of stake as deterministic state: validators with self bonds, delegations,
//! unbonding, epochs with an active set chosen by stake, fee sharing and equivocation
//! slashing with jail.
//!
//! Money never appears or vanishes here either: a bond leaves a balance when it is locked,
//! waits in an unbonding entry when it is unbonded, and returns to a balance when released
//! (or goes to `burned` when slashed), so balances + provider bonds + job escrow + self bonds
//! + delegations + unbonding + burned stays equal to the supply (see `supply::check_supply`).
//!
//! Epochs: epoch `e` is heights `e × epoch_blocks ..= (e + 1) × epoch_blocks − 1`; genesis
//! (height 0) is in epoch 0 and its validators are epoch 0's set. At the end of the last block
//! of epoch `e` (`(height + 1) % epoch_blocks == 0`) the step stores the set of epoch `e + 1`,
//! which governs the blocks from height `(e + 1) × epoch_blocks` on. [`active_set`] therefore
//! always answers the set of the epoch the *next* block belongs to.

pub mod actions;
pub mod records;
pub mod step;

use crate::exec::BlockEnv;
use crate::market::burn;
use crate::overlay::{Overlay, StateReader};
pub use actions::check_p2p_address;
pub use records::*;
pub use step::{choose_active_set, distribute_fees, eligible, end_block, sort_by_stake};
use yun_types::{Action, Address, Amount, ChainParams, StakingParams, TxRejection};

/// The epoch a height belongs to.
pub fn epoch_of_height(params: &StakingParams, height: u64) -> u64 {
    height / params.epoch_blocks.max(1)
}

/// The first height of an epoch.
pub fn first_height_of_epoch(params: &StakingParams, epoch: u64) -> u64 {
    epoch.saturating_mul(params.epoch_blocks.max(1))
}

/// Whether `height` is the last block of its epoch (the one whose end-of-block step chooses
/// the next epoch's active set).
pub fn is_last_block_of_epoch(params: &StakingParams, height: u64) -> bool {
    (height % params.epoch_blocks.max(1)) == params.epoch_blocks.max(1) - 1
}

/// The stored active set: the epoch it is for and its members with their stake when chosen,
/// by stake high to low, ties by address bytes. After the last block of epoch `e` has been
/// applied this is epoch `e + 1`'s set.
pub fn active_set<R: StateReader + ?Sized>(reader: &R) -> (u64, Vec<(Address, Amount)>) {
    let set = Overlay::new(reader).active_set();
    (
        set.epoch,
        set.validators
            .into_iter()
            .map(|v| (v.address, v.stake))
            .collect(),
    )
}

/// One validator's record.
pub fn validator<R: StateReader + ?Sized>(reader: &R, address: &Address) -> Option<Validator> {
    Overlay::new(reader).validator(address)
}

/// Every validator ever registered (jailed and fully unbonded ones too), by address bytes.
pub fn validators<R: StateReader + ?Sized>(reader: &R) -> Vec<Validator> {
    Overlay::new(reader)
        .scan(&[TAG_VALIDATOR])
        .into_iter()
        .map(|(_, raw)| crate::market::decode(&raw))
        .collect()
}

/// Every validator ever registered, in the active set's order: stake high to low, then
/// address bytes low to high (what the node tracks as candidates and the API lists).
pub fn validators_by_stake<R: StateReader + ?Sized>(reader: &R) -> Vec<Validator> {
    let mut all = validators(reader);
    all.sort_by(|a, b| {
        b.stake()
            .cmp(&a.stake())
            .then_with(|| a.address.as_bytes().cmp(b.address.as_bytes()))
    });
    all
}

/// An account's delegations, `(validator, delegation)` by validator address bytes. A
/// validator's own self bond is in its [`Validator`] record, not here.
pub fn delegations_of<R: StateReader + ?Sized>(
    reader: &R,
    delegator: &Address,
) -> Vec<(Address, Delegation)> {
    let prefix = [&[TAG_DELEGATION][..], delegator.as_bytes()].concat();
    Overlay::new(reader)
        .scan(&prefix)
        .into_iter()
        .map(|(k, raw)| (address_at(&k, 33), crate::market::decode(&raw)))
        .collect()
}

/// The delegations to a validator, `(delegator, delegation)` by delegator address bytes.
pub fn delegators_of<R: StateReader + ?Sized>(
    reader: &R,
    validator: &Address,
) -> Vec<(Address, Delegation)> {
    let view = Overlay::new(reader);
    let prefix = [&[TAG_DELEGATED_TO][..], validator.as_bytes()].concat();
    view.scan(&prefix)
        .into_iter()
        .map(|(k, _)| {
            let delegator = address_at(&k, 33);
            let d = view
                .delegation(&delegator, validator)
                .expect("the index names a delegation");
            (delegator, d)
        })
        .collect()
}

/// An account's amounts on their way back (self bond unbondings included), by validator, then
/// release height.
pub fn unbondings_of<R: StateReader + ?Sized>(reader: &R, delegator: &Address) -> Vec<Unbonding> {
    let prefix = [&[TAG_UNBONDING][..], delegator.as_bytes()].concat();
    Overlay::new(reader)
        .scan(&prefix)
        .into_iter()
        .map(|(_, raw)| crate::market::decode(&raw))
        .collect()
}

/// Whether an action is staking's.
pub fn is_staking_action(action: &Action) -> bool {
    matches!(
        action,
        Action::RegisterValidator { .. }
            | Action::Delegate { .. }
            | Action::Undelegate { .. }
            | Action::Unjail
            | Action::ReportEquivocation { .. }
    )
}

/// Checks equivocation evidence against the consensus set and slashes the offender, once per
/// validator and view.
pub fn report_equivocation<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    evidence: &yun_types::evidence::Equivocation,
) -> Result<(), TxRejection> {
    // The set of the epoch the pair claims; the signatures then prove the claim.
    let epoch = evidence.epoch().ok_or(TxRejection::EvidenceInvalid)?;
    let keys: Vec<_> = state
        .consensus_set(epoch)
        .iter()
        .filter_map(|a| a.public_key().ok())
        .collect();
    // The generator only randomises batch-verification coefficients (the answer does not
    // depend on it); seeding it from the block and the evidence keeps execution pure.
    let seed = blake3::Hasher::new()
        .update(&env.seed.0)
        .update(&evidence.bytes)
        .finalize();
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed(*seed.as_bytes());
    let offence = evidence
        .verify(&keys, &mut rng)
        .ok_or(TxRejection::EvidenceInvalid)?;
    slash_equivocation(state, offence.offender, offence.epoch, offence.view, env).map(|_| ())
}

/// The rules that need no state.
pub fn check_stateless(action: &Action) -> Result<(), TxRejection> {
    match action {
        Action::RegisterValidator { p2p_address, .. } => check_p2p_address(p2p_address),
        Action::Delegate { amount, .. } | Action::Undelegate { amount, .. } if amount.is_zero() => {
            Err(TxRejection::ZeroAmount)
        }
        _ => Ok(()),
    }
}

/// What a staking action locks out of the sender's balance beyond the fee.
pub fn action_spend(action: &Action) -> Amount {
    match action {
        Action::RegisterValidator { self_bond, .. } => *self_bond,
        Action::Delegate { amount, .. } => *amount,
        _ => Amount::ZERO,
    }
}

/// Applies a staking action. On error nothing has been written.
pub fn apply_action<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    action: &Action,
) -> Result<(), TxRejection> {
    match action {
        Action::RegisterValidator {
            p2p_address,
            self_bond,
        } => actions::register_validator(state, env, params, sender, p2p_address, *self_bond),
        Action::Delegate { validator, amount } => {
            actions::delegate(state, env, params, sender, validator, *amount)
        }
        Action::Undelegate { validator, amount } => {
            actions::undelegate(state, env, params, sender, validator, *amount)
        }
        Action::Unjail => actions::unjail(state, env, sender),
        Action::ReportEquivocation { evidence } => report_equivocation(state, env, evidence),
        other => unreachable!("{} is not a staking action", other.name()),
    }
}

/// Punishes one proven equivocation of `validator` in consensus `view`: burns
/// `slash_equivocation_bps` of its self bond, of every delegation to it and of every unbonding
/// entry from it (each rounded down), jails it until `env.height + jail_blocks` (it leaves the
/// active set at the next epoch boundary and stays out until it sends `Unjail` after that
/// height), and records `(validator, epoch, view)` so the same equivocation is punished once.
/// Returns the amount burned. The caller verifies the evidence (two conflicting signed
/// messages of that view); on `Err` nothing was written.
///
/// Unbonding entries are slashed whenever they started: the evidence names a view, not the
/// height of the offence, and the unbonding period exists so that stake stays answerable.
pub fn slash_equivocation<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    validator: Address,
    epoch: u64,
    view: u64,
    env: &BlockEnv,
) -> Result<Amount, TxRejection> {
    let mut v = state
        .validator(&validator)
        .ok_or(TxRejection::UnknownValidator)?;
    let evidence = evidence_key(&validator, epoch, view);
    if state.get(&evidence).is_some() {
        return Err(TxRejection::EvidenceAlreadyUsed);
    }
    let params = state.params().staking;
    let bps = params.slash_equivocation_bps;
    let within = "slashes are parts of amounts in the supply";

    let own = bps_of(v.self_bond, bps);
    v.self_bond = v.self_bond.checked_sub(own).expect(within);
    v.slashed = v.slashed.checked_add(own).expect(within);
    let mut burned = own;

    let prefix = [&[TAG_DELEGATED_TO][..], validator.as_bytes()].concat();
    for (key, _) in state.scan(&prefix) {
        let delegator = address_at(&key, 33);
        let mut d = state
            .delegation(&delegator, &validator)
            .expect("the index names a delegation");
        let cut = bps_of(d.amount, bps);
        d.amount = d.amount.checked_sub(cut).expect(within);
        v.delegated = v.delegated.checked_sub(cut).expect(within);
        burned = burned.checked_add(cut).expect(within);
        state.set_delegation(&delegator, &validator, &d);
    }

    let prefix = [&[TAG_UNBONDING_OF][..], validator.as_bytes()].concat();
    for (key, _) in state.scan(&prefix) {
        let release = height_at(&key, 33);
        let delegator = address_at(&key, 41);
        let mut u = state
            .unbonding(&delegator, &validator, release)
            .expect("the index names an unbonding");
        let cut = bps_of(u.amount, bps);
        u.amount = u.amount.checked_sub(cut).expect(within);
        burned = burned.checked_add(cut).expect(within);
        state.set_unbonding(&u);
    }

    v.status = ValidatorStatus::Jailed;
    v.jailed_until_height = v
        .jailed_until_height
        .max(env.height.saturating_add(params.jail_blocks));
    state.set_validator(&v);
    state.put(evidence, env.height.to_be_bytes().to_vec());
    burn(state, burned);
    Ok(burned)
}

/// Whether `(validator, epoch, view)` has already been punished.
pub fn evidence_used<R: StateReader + ?Sized>(
    reader: &R,
    validator: &Address,
    epoch: u64,
    view: u64,
) -> bool {
    reader.get(&evidence_key(validator, epoch, view)).is_some()
}

/// How many epochs' consensus sets the state keeps (the current one included): evidence from
/// an older epoch no longer verifies (`EvidenceInvalid`). Validators report within seconds;
/// the window only bounds the state.
pub const EVIDENCE_EPOCHS_KEPT: u64 = 8;

/// ⌊amount × bps ÷ 10,000⌋ without overflow for any amount (bps ≤ 10,000).
pub fn bps_of(amount: Amount, bps: u16) -> Amount {
    let a = amount.base_units();
    let b = u128::from(bps.min(10_000));
    Amount::new(a / 10_000 * b + a % 10_000 * b / 10_000)
}

/// ⌊a × b ÷ c⌋ computed over 256 bits, for a quotient that fits in 128 (here b ≤ c).
pub fn mul_div_floor_wide(a: u128, b: u128, c: u128) -> u128 {
    assert!(c != 0, "mul_div_floor_wide by zero");
    const LOW: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // lo = p00 + (p01 << 64) + (p10 << 64), carries into hi.
    let (lo, c1) = p00.overflowing_add(p01 << 64);
    let (lo, c2) = lo.overflowing_add(p10 << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + u128::from(c1) + u128::from(c2);
    if hi == 0 {
        return lo / c;
    }
    let (mut rem, mut q) = (0u128, 0u128);
    for i in (0..256u32).rev() {
        let bit = if i >= 128 {
            (hi >> (i - 128)) & 1
        } else {
            (lo >> i) & 1
        };
        let carry = rem >> 127 == 1;
        rem = (rem << 1) | bit;
        q <<= 1;
        if carry || rem >= c {
            rem = rem.wrapping_sub(c);
            q |= 1;
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_mul_div_is_exact() {
        assert_eq!(mul_div_floor_wide(10, 3, 4), 7);
        assert_eq!(mul_div_floor_wide(0, 3, 4), 0);
        assert_eq!(mul_div_floor_wide(u128::MAX, 1, 1), u128::MAX);
        assert_eq!(
            mul_div_floor_wide(u128::MAX, u128::MAX, u128::MAX),
            u128::MAX
        );
        assert_eq!(mul_div_floor_wide(u128::MAX, 2, 3), u128::MAX / 3 * 2);
        let big = 1u128 << 100;
        assert_eq!(mul_div_floor_wide(big, big, big), big);
        assert_eq!(mul_div_floor_wide(big + 1, 1 << 90, 1 << 91), big / 2);
        // Against u128 wherever the product fits.
        for a in [1u128, 7, 1 << 40, u64::MAX as u128] {
            for b in [1u128, 3, 1 << 20, u64::MAX as u128] {
                for c in [1u128, 9, 1 << 33, u128::MAX] {
                    assert_eq!(mul_div_floor_wide(a, b, c), a * b / c, "{a} {b} {c}");
                }
            }
        }
    }

    #[test]
    fn bps_never_overflows_and_rounds_down() {
        assert_eq!(bps_of(Amount::new(1_000), 500), Amount::new(50));
        assert_eq!(bps_of(Amount::new(19), 500), Amount::ZERO);
        assert_eq!(bps_of(Amount::new(39), 500), Amount::new(1));
        assert_eq!(bps_of(Amount::MAX, 10_000), Amount::MAX);
        assert_eq!(
            bps_of(Amount::MAX, 5_000).base_units(),
            u128::MAX / 2,
            "floor of half of 2^128 - 1"
        );
    }

    #[test]
    fn epochs_split_heights() {
        let p = StakingParams {
            epoch_blocks: 10,
            ..StakingParams::default()
        };
        assert_eq!(epoch_of_height(&p, 0), 0);
        assert_eq!(epoch_of_height(&p, 9), 0);
        assert_eq!(epoch_of_height(&p, 10), 1);
        assert!(is_last_block_of_epoch(&p, 9));
        assert!(!is_last_block_of_epoch(&p, 10));
        assert_eq!(first_height_of_epoch(&p, 3), 30);
    }
}
