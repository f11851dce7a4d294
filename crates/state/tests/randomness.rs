//! Block randomness: every block's seed must be its proposer's unique signature over the seed
//! before it, and a seed key is registered only by the validator that holds it.

use yun_state::scenario::{SCENARIO_CHAIN_ID, Scenario, addr, seed_signer_of};
use yun_state::scenario_staking::register_validator;
use yun_state::{
    BlockEnv, BlockError, Overlay, SeedError, build_block_signed, execute_block, next_env,
    sign_seed,
};
use yun_types::{Action, Hash32, SeedProof, SeedSigner, TxRejection};

const MIN_BOND: u128 = 1_000_000;

fn env_signed_by(s: &Scenario, proposer: &str, signer: &SeedSigner) -> BlockEnv {
    let mut draft = s.draft();
    draft.proposer = addr(proposer);
    next_env(&Overlay::new(&s.state), &draft, signer)
}

fn refused(s: &Scenario, env: &BlockEnv) -> BlockError {
    let mut o = Overlay::new(&s.state);
    execute_block(&mut o, env, &[]).expect_err("the block must be refused")
}

#[test]
fn each_block_carries_a_fresh_seed_signed_by_its_proposer() {
    let mut s = Scenario::new();
    s.fund("alice", 1_000);
    s.view(); // genesis
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let env = env_signed_by(&s, "validator", &seed_signer_of("validator"));
        assert!(seen.insert(env.seed), "a seed repeated");
        s.empty_block();
        assert_eq!(
            yun_state::randomness::last_seed(&Overlay::new(&s.state)),
            env.seed,
            "the state records the block's seed"
        );
    }
}

#[test]
fn a_block_whose_seed_is_not_its_proposers_signature_is_refused() {
    let mut s = Scenario::new();
    s.genesis_validator("v1", MIN_BOND)
        .genesis_validator("v2", MIN_BOND);
    s.proposer = "v1".into();
    s.empty_block();
    // Signed by somebody else's key.
    let env = env_signed_by(&s, "v1", &seed_signer_of("v2"));
    assert_eq!(refused(&s, &env), BlockError::Seed(SeedError::BadProof));
    // A proposer that is not a validator has no seed key at all.
    let env = env_signed_by(&s, "mallory", &seed_signer_of("mallory"));
    assert_eq!(refused(&s, &env), BlockError::Seed(SeedError::NoSeedKey));
    // The right key over the wrong previous seed (a replayed or ground proof).
    let stale = seed_signer_of("v1").prove_seed(SCENARIO_CHAIN_ID, s.height + 1, &Hash32::ZERO);
    let env = BlockEnv::new(SCENARIO_CHAIN_ID, s.height + 1, 0, addr("v1"), stale);
    assert_eq!(refused(&s, &env), BlockError::Seed(SeedError::BadProof));
    // A seed that is not the proof's hash: the proposer chose its randomness.
    let mut env = env_signed_by(&s, "v1", &seed_signer_of("v1"));
    env.seed = Hash32::digest(b"chosen");
    assert_eq!(refused(&s, &env), BlockError::Seed(SeedError::SeedMismatch));
    // No proof at all.
    let env = BlockEnv::new(
        SCENARIO_CHAIN_ID,
        s.height + 1,
        0,
        addr("v1"),
        SeedProof::GENESIS,
    );
    assert_eq!(refused(&s, &env), BlockError::Seed(SeedError::BadProof));
    // The honest block still goes through.
    s.empty_block();
}

#[test]
fn a_seed_key_is_registered_only_with_a_proof_that_its_owner_holds_it() {
    let mut s = Scenario::new();
    s.fund("val1", 10 * MIN_BOND).fund("mallory", 10 * MIN_BOND);
    // Mallory registers with val1's key and val1's proof: the proof names val1's address.
    let Action::RegisterValidator {
        seed_key,
        seed_key_possession,
        p2p_address,
        self_bond,
    } = register_validator("val1", MIN_BOND)
    else {
        unreachable!()
    };
    s.tx("mallory")
        .act(Action::RegisterValidator {
            p2p_address: p2p_address.clone(),
            self_bond,
            seed_key,
            seed_key_possession,
        })
        .expect_failed(TxRejection::SeedKeyInvalid);
    // Bytes that are no key at all.
    let own = seed_signer_of("mallory");
    s.tx("mallory")
        .act(Action::RegisterValidator {
            p2p_address,
            self_bond,
            seed_key: yun_types::SeedKey([0xff; 48]),
            seed_key_possession: own.possession(&addr("mallory")),
        })
        .expect_failed(TxRejection::SeedKeyInvalid);
    assert!(yun_state::randomness::seed_key(&Overlay::new(&s.state), &addr("mallory")).is_none());
    // With its own key and proof it registers, and its key is recorded.
    s.tx("mallory")
        .act(register_validator("mallory", MIN_BOND))
        .expect_ok();
    assert_eq!(
        yun_state::randomness::seed_key(&Overlay::new(&s.state), &addr("mallory")),
        Some(own.key())
    );
}

/// The proof of possession is a pairing check: a registration that fails a cheap rule is
/// refused for that rule before any pairing is computed (the bad proof is never looked at).
#[test]
fn a_registration_failing_a_cheap_rule_is_refused_before_its_key_is_checked() {
    let mut s = Scenario::new();
    s.fund("val1", 10 * MIN_BOND)
        .fund("val2", 10 * MIN_BOND)
        .fund("poor", MIN_BOND / 2);
    let bad_key = |name: &str, self_bond: u128, p2p_address: &str| Action::RegisterValidator {
        p2p_address: p2p_address.into(),
        self_bond: yun_types::Amount::new(self_bond),
        seed_key: yun_types::SeedKey([0xff; 48]),
        seed_key_possession: seed_signer_of(name).possession(&addr(name)),
    };
    s.tx("val1")
        .act(bad_key("val1", MIN_BOND - 1, "127.0.0.1:9000"))
        .expect_failed(TxRejection::SelfBondBelowMin);
    s.tx("poor")
        .act(bad_key("poor", MIN_BOND, "127.0.0.1:9000"))
        .expect_failed(TxRejection::InsufficientBalance);
    s.tx("val1")
        .act(register_validator("val1", MIN_BOND))
        .expect_ok();
    s.tx("val1")
        .act(bad_key("val1", MIN_BOND, "127.0.0.1:9000"))
        .expect_failed(TxRejection::ValidatorExists);
    // Only a registration that passes every cheap rule meets the key check.
    s.tx("val2")
        .act(bad_key("val2", MIN_BOND, "127.0.0.1:9000"))
        .expect_failed(TxRejection::SeedKeyInvalid);
}

/// The proposer signs and checks its seed once per parent (`sign_seed`) and builds with it
/// without pairing again; a proof checked for another state is never taken on trust: the
/// build falls back to the full check and refuses it.
#[test]
fn a_seed_checked_once_is_reused_only_on_the_state_it_was_checked_on() {
    let mut s = Scenario::new();
    s.genesis_validator("v1", MIN_BOND)
        .genesis_validator("v2", MIN_BOND);
    s.proposer = "v1".into();
    s.empty_block();
    let signer = seed_signer_of("v1");
    let draft = s.draft();
    // Someone else's key, or a proposer with none, is refused when signing.
    let mut theirs = draft.clone();
    theirs.proposer = addr("v2");
    assert_eq!(
        sign_seed(&Overlay::new(&s.state), &theirs, &signer),
        Err(SeedError::BadProof)
    );
    theirs.proposer = addr("mallory");
    assert_eq!(
        sign_seed(&Overlay::new(&s.state), &theirs, &signer),
        Err(SeedError::NoSeedKey)
    );
    let signed = sign_seed(&Overlay::new(&s.state), &draft, &signer).unwrap();
    let env = signed.env(&draft);
    // Built with the checked proof, the block writes what its execution writes.
    let mut built = Overlay::new(&s.state);
    build_block_signed(&mut built, &env, &signed, Vec::new()).unwrap();
    let mut executed = Overlay::new(&s.state);
    execute_block(&mut executed, &env, &[]).unwrap();
    assert!(built.into_writes() == executed.into_writes());
    // A block later the same proof is stale: building the next height with it falls back to
    // the full check, which refuses it.
    s.empty_block();
    let next = s.draft();
    let stale_env = signed.env(&next);
    let mut o = Overlay::new(&s.state);
    assert_eq!(
        build_block_signed(&mut o, &stale_env, &signed, Vec::new()).err(),
        Some(SeedError::BadProof)
    );
    // And a proof claimed for the right height but signed over another parent's seed.
    let mut forged = Overlay::new(&s.state);
    let wrong = BlockEnv::new(
        SCENARIO_CHAIN_ID,
        next.height,
        next.timestamp_ms,
        next.proposer,
        signed.proof,
    );
    assert_eq!(
        build_block_signed(&mut forged, &wrong, &signed, Vec::new()).err(),
        Some(SeedError::BadProof)
    );
}
