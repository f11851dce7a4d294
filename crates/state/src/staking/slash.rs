//! Equivocation: evidence checked against its epoch's consensus set, then slash and jail.
//!
//! Each (validator, epoch, view) is punished at most once.

use super::epoch::epoch_of_height;
use super::records::*;
use crate::arith::bps_of;
use crate::bank;
use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use yun_types::{Address, Amount, TxRejection};

/// Checks equivocation evidence against the consensus set and slashes the offender, once per
/// validator and view.
pub fn report_equivocation<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    evidence: &yun_types::evidence::Equivocation,
) -> Result<(), TxRejection> {
    let offence = verify_evidence(state, &env.seed.0, evidence)?;
    slash_equivocation(state, offence.offender, offence.epoch, offence.view, env).map(|_| ())
}

/// Whether `evidence` would slash if included now: it verifies against its epoch's stored
/// set, its signer is a known validator, and that equivocation is not punished yet. What a
/// fee-free report must prove before a mempool admits it (so such reports cannot be spam).
pub fn check_evidence<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    evidence: &yun_types::evidence::Equivocation,
) -> Result<yun_types::evidence::Offence, TxRejection> {
    let offence = verify_evidence(state, &[], evidence)?;
    if state.validator(&offence.offender).is_none() {
        return Err(TxRejection::UnknownValidator);
    }
    if state
        .get(&evidence_key(
            &offence.offender,
            offence.epoch,
            offence.view,
        ))
        .is_some()
    {
        return Err(TxRejection::EvidenceAlreadyUsed);
    }
    Ok(offence)
}

/// The offence `evidence` proves against the consensus set of the epoch it claims.
fn verify_evidence<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    seed: &[u8],
    evidence: &yun_types::evidence::Equivocation,
) -> Result<yun_types::evidence::Offence, TxRejection> {
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
        .update(seed)
        .update(&evidence.bytes)
        .finalize();
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed(*seed.as_bytes());
    evidence
        .verify(&keys, &mut rng)
        .ok_or(TxRejection::EvidenceInvalid)
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
    if state.validator(&validator).is_none() {
        return Err(TxRejection::UnknownValidator);
    }
    let evidence = evidence_key(&validator, epoch, view);
    if state.get(&evidence).is_some() {
        return Err(TxRejection::EvidenceAlreadyUsed);
    }
    let bps = state.params().staking.slash_equivocation_bps;
    let burned = slash_and_jail(state, &validator, bps, env);
    state.put(evidence, env.height.to_be_bytes().to_vec());
    Ok(burned)
}

/// The staking slash path every offence takes (equivocation, downtime): burns `bps` of the
/// validator's self bond, of every delegation to it and of every unbonding entry from it (each
/// rounded down), and jails it until `env.height + jail_blocks` (it leaves the active set at
/// the next epoch boundary and stays out until it sends `Unjail` after that height). Returns
/// the amount burned. The validator must exist.
pub fn slash_and_jail<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    validator: &Address,
    bps: u16,
    env: &BlockEnv,
) -> Amount {
    let mut v = state
        .validator(validator)
        .expect("the caller checked the validator exists");
    let params = state.params().staking;
    let epoch_now = epoch_of_height(&params, env.height);
    let within = "slashes are parts of amounts in the supply";

    let own = bps_of(v.self_bond, bps);
    v.self_bond = v.self_bond.checked_sub(own).expect(within);
    v.slashed = v.slashed.checked_add(own).expect(within);
    let mut burned = own;

    let prefix = [&[TAG_DELEGATED_TO][..], validator.as_bytes()].concat();
    for (key, _) in state.scan(&prefix) {
        let delegator = address_at(&key, 33);
        let mut d = state
            .delegation(&delegator, validator)
            .expect("the index names a delegation");
        let cut = bps_of(d.amount, bps);
        d.set_amount(d.amount.checked_sub(cut).expect(within), epoch_now);
        v.delegated = v.delegated.checked_sub(cut).expect(within);
        burned = burned.checked_add(cut).expect(within);
        state.set_delegation(&delegator, validator, &d);
    }

    let prefix = [&[TAG_UNBONDING_OF][..], validator.as_bytes()].concat();
    for (key, _) in state.scan(&prefix) {
        let release = height_at(&key, 33);
        let delegator = address_at(&key, 41);
        let mut u = state
            .unbonding(&delegator, validator, release)
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
    bank::burn(state, burned);
    burned
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
