//! Block randomness: each block's seed is the hash of its proposer's unique BLS signature over
//! the seed before it, checked here on every block (see `yun_types::seed` for why it cannot be
//! ground).
//!
//! The state keeps the last seed and every validator's seed key, so the state root covers
//! both and `chain verify` re-checks the whole chain of seeds by re-executing it.

use crate::env::BlockEnv;
use crate::keys::{TAG_SEED, TAG_SEED_KEY};
use crate::overlay::{Overlay, StateReader};
use yun_types::seed::genesis_seed;
use yun_types::{Address, Hash32, SeedKey, SeedProof, SeedSigner, TxRejection};

/// Why a block's randomness is refused (the whole block is invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("the proposer has no registered seed key")]
    NoSeedKey,
    #[error("the seed proof is not the proposer's signature of the previous seed")]
    BadProof,
    #[error("the block's seed is not the hash of its seed proof")]
    SeedMismatch,
}

fn seed_key_key(validator: &Address) -> Vec<u8> {
    [&[TAG_SEED_KEY][..], validator.as_bytes()].concat()
}

/// The seed of the last executed block, or the chain's genesis seed before the first.
pub fn last_seed<R: StateReader + ?Sized>(state: &Overlay<'_, R>) -> Hash32 {
    match state.get(&[TAG_SEED]) {
        Some(v) => Hash32(v.try_into().expect("invariant: a stored seed is 32 bytes")),
        None => Hash32::ZERO,
    }
}

pub fn seed_key<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    validator: &Address,
) -> Option<SeedKey> {
    state.get(&seed_key_key(validator)).map(|v| {
        SeedKey(
            v.try_into()
                .expect("invariant: a stored seed key is 48 bytes"),
        )
    })
}

/// Genesis: the seed before block 1, and the genesis validators' keys.
pub(crate) fn write_genesis<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    chain_id: &str,
    genesis_time_ms: u64,
    keys: impl IntoIterator<Item = (Address, SeedKey)>,
) {
    let seed = genesis_seed(chain_id, genesis_time_ms);
    state.put(vec![TAG_SEED], seed.0.to_vec());
    for (validator, key) in keys {
        state.put(seed_key_key(&validator), key.0.to_vec());
    }
}

/// Whether a registration's key is a key its owner holds (checked before anything is written).
pub(crate) fn check_key(
    validator: &Address,
    key: &SeedKey,
    possession: &SeedProof,
) -> Result<(), TxRejection> {
    if key.verify_possession(validator, possession) {
        Ok(())
    } else {
        Err(TxRejection::SeedKeyInvalid)
    }
}

/// Records a validator's seed key (checked by [`check_key`]).
pub(crate) fn register_key<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    validator: &Address,
    key: &SeedKey,
) {
    state.put(seed_key_key(validator), key.0.to_vec());
}

/// Checks the block's seed proof against the proposer's key and the last seed, and records
/// the block's seed. Runs first in every block, so everything after it may use `env.seed`.
pub(crate) fn advance<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
) -> Result<(), SeedError> {
    if env.seed != env.seed_proof.seed() {
        return Err(SeedError::SeedMismatch);
    }
    let key = seed_key(state, &env.proposer).ok_or(SeedError::NoSeedKey)?;
    let previous = last_seed(state);
    if !key.verify_seed(&env.chain_id, env.height, &previous, &env.seed_proof) {
        return Err(SeedError::BadProof);
    }
    state.put(vec![TAG_SEED], env.seed.0.to_vec());
    Ok(())
}

/// [`advance`] for a proof [`sign_seed`] signed and checked on this very state: comparing what
/// it was checked for (chain, height, proposer, previous seed, proof) replaces the pairing, so
/// a proposer that builds again on the same parent (a retry after the head moved) neither
/// signs nor verifies again. Anything else falls back to the full check. Only the proposer's
/// build path uses it; every execution (`execute_block`) runs [`advance`].
pub(crate) fn advance_signed<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    signed: &SignedSeed,
) -> Result<(), SeedError> {
    let checked_here = signed.chain_id == env.chain_id
        && signed.height == env.height
        && signed.proposer == env.proposer
        && signed.proof == env.seed_proof
        && signed.previous == last_seed(state);
    if !checked_here {
        return advance(state, env);
    }
    if env.seed != env.seed_proof.seed() {
        return Err(SeedError::SeedMismatch);
    }
    state.put(vec![TAG_SEED], env.seed.0.to_vec());
    Ok(())
}

/// A proposer's seed proof for the block after some state, signed and checked once against
/// its registered key (see [`sign_seed`]), and what it was checked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedSeed {
    pub proof: SeedProof,
    chain_id: String,
    height: u64,
    proposer: Address,
    previous: Hash32,
}

impl SignedSeed {
    /// The environment of the block `draft` describes, with this proof.
    pub fn env(&self, draft: &BlockDraft) -> BlockEnv {
        BlockEnv::new(
            &draft.chain_id,
            draft.height,
            draft.timestamp_ms,
            draft.proposer,
            self.proof,
        )
    }
}

/// Signs the seed of the block after `state` (the previous seed is `state`'s) and checks it
/// once, as [`advance`] would, so a build may reuse it ([`advance_signed`]).
pub fn sign_seed<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    draft: &BlockDraft,
    signer: &SeedSigner,
) -> Result<SignedSeed, SeedError> {
    let previous = last_seed(state);
    let proof = signer.prove_seed(&draft.chain_id, draft.height, &previous);
    let key = seed_key(state, &draft.proposer).ok_or(SeedError::NoSeedKey)?;
    if !key.verify_seed(&draft.chain_id, draft.height, &previous, &proof) {
        return Err(SeedError::BadProof);
    }
    Ok(SignedSeed {
        proof,
        chain_id: draft.chain_id.clone(),
        height: draft.height,
        proposer: draft.proposer,
        previous,
    })
}

/// What a proposer decides about its next block before it can sign the block's seed (which
/// needs the parent's state).
#[derive(Debug, Clone)]
pub struct BlockDraft {
    pub chain_id: String,
    pub height: u64,
    pub timestamp_ms: u64,
    pub proposer: Address,
}

/// The environment of the next block on `state`, with `signer`'s seed proof: what a proposer
/// (or a test) builds a block with.
pub fn next_env<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    draft: &BlockDraft,
    signer: &SeedSigner,
) -> BlockEnv {
    let proof = signer.prove_seed(&draft.chain_id, draft.height, &last_seed(state));
    BlockEnv::new(
        &draft.chain_id,
        draft.height,
        draft.timestamp_ms,
        draft.proposer,
        proof,
    )
}
