//! The layout of the key-value state, and the one registry of its one-byte key tags.
//!
//! Every key is a one-byte kind tag and its body. A tag is protocol: two kinds sharing a byte
//! would read each other's records, and a changed tag is a state every node reads
//! differently. So the tags live in one list ([`ALL_TAGS`], checked unique by a test) rather
//! than next to the records they prefix; the market's, staking's, storage's and governance's key
//! builders (`market::records`, `staking::records`, `storage::records`, `governance::records`) use these. Multi-byte parts of a key follow the tag
//! at fixed widths, heights big-endian so key order is height order.

use yun_types::Address;

// Accounts and chain-wide records.

/// `a` ‖ address: an [`crate::Account`] (balance and nonce).
pub const TAG_ACCOUNT: u8 = b'a';
/// `p`: the chain parameters, fixed at genesis.
pub const TAG_PARAMS: u8 = b'p';
/// `s`: the [`crate::supply::Supply`] record (total minted, burned).
pub const TAG_SUPPLY: u8 = b's';

// The market.

/// `P` ‖ provider: a provider record.
pub const TAG_PROVIDER: u8 = b'P';
/// `J` ‖ job id: a job record.
pub const TAG_JOB: u8 = b'J';
/// `T` ‖ job ‖ task index: a task record.
pub const TAG_TASK: u8 = b'T';
/// `Q` ‖ job ‖ task index: tasks that want more replicas than they have (the matching queue).
pub const TAG_QUEUE: u8 = b'Q';
/// `A` ‖ provider ‖ job ‖ task index: replicas a provider holds (what its agent works on).
pub const TAG_ASSIGNED: u8 = b'A';
/// `D` ‖ height ‖ job ‖ task index: a replica deadline falls at that height.
pub const TAG_DEADLINE: u8 = b'D';
/// `V` ‖ job ‖ task index: tasks whose replicas have all revealed or expired (verify at the
/// end of the block).
pub const TAG_VERIFY: u8 = b'V';
/// `X` ‖ height ‖ provider: a provider bond to return at that height.
pub const TAG_EXIT: u8 = b'X';
/// `E` ‖ height ‖ job: a job's deadline.
pub const TAG_JOB_DEADLINE: u8 = b'E';
/// `U` ‖ provider ‖ job ‖ task index: a revealed replica awaiting its verdict (the provider
/// cannot leave, nor its bond return, while one remains: a dissent slash must reach it).
pub const TAG_REVEALED: u8 = b'U';
/// `M`: the market-wide numbers (price index, slots, queue length, recent clearing prices).
pub const TAG_MARKET: u8 = b'M';
/// `R` ‖ requester: a requester's usage.
pub const TAG_REQUESTER: u8 = b'R';
/// `H` ‖ job ‖ task index: the verdicts revealed for a task, sealed (kept out of the task
/// record) until no replica of it is working any more.
pub const TAG_SEALED: u8 = b'H';
/// `C` ‖ height ‖ job ‖ task index: a task whose spot check is decided at that height, a
/// block after its last commit, with that block's seed.
pub const TAG_SPOT_CHECK: u8 = b'C';
/// `I` ‖ job: the inputs of a job's reduce task (the verified map outputs, in index order),
/// written when the chain adds the reduce task.
pub const TAG_REDUCE_INPUTS: u8 = b'I';
/// `O` ‖ height ‖ job: a settled job whose records are pruned from that height on (the value:
/// the index of its next task to delete, when a large job takes more than one block).
pub const TAG_PRUNE: u8 = b'O';

// Storage deals.

/// `G` ‖ deal id: a storage deal record (its replicas inside).
pub const TAG_DEAL: u8 = b'G';
/// `N` ‖ owner ‖ deal id: the deals one account posted (for listing by owner).
pub const TAG_DEAL_OWNER: u8 = b'N';
/// `S` ‖ provider: a provider's storage offer and encryption key.
pub const TAG_STORAGE_OFFER: u8 = b'S';
/// `K` ‖ deal id: deals that want (more) replicas (the storage matching queue).
pub const TAG_STORAGE_QUEUE: u8 = b'K';
/// `W` ‖ height ‖ deal id: the height of a deal's next event (an epoch opens, a window
/// closes, the deal ends).
pub const TAG_STORAGE_DUE: u8 = b'W';
/// `L` ‖ provider ‖ deal id ‖ replica index: live replicas a provider holds (what its agent
/// proves; a provider holding any may not exit).
pub const TAG_STORAGE_HELD: u8 = b'L';
/// `B`: the storage market's numbers (price index, capacity, queue length).
pub const TAG_STORAGE_MARKET: u8 = b'B';
/// `Y` ‖ job ‖ provider: a job's data key sealed to one provider.
pub const TAG_JOB_KEY: u8 = b'Y';

// Block randomness.

/// `z`: the seed of the last executed block (what the next proposer signs).
pub const TAG_SEED: u8 = b'z';
/// `y` ‖ validator: the BLS key its seed proofs verify under.
pub const TAG_SEED_KEY: u8 = b'y';

// Staking.

/// `v` ‖ validator: a validator record.
pub const TAG_VALIDATOR: u8 = b'v';
/// `d` ‖ delegator ‖ validator: a delegation.
pub const TAG_DELEGATION: u8 = b'd';
/// `w` ‖ validator ‖ delegator: the delegations to one validator (for slashing).
pub const TAG_DELEGATED_TO: u8 = b'w';
/// `u` ‖ delegator ‖ validator ‖ release height: an unbonding entry.
pub const TAG_UNBONDING: u8 = b'u';
/// `r` ‖ release height ‖ delegator ‖ validator: unbondings to release at that height.
pub const TAG_RELEASE: u8 = b'r';
/// `n` ‖ validator ‖ release height ‖ delegator: the unbondings from one validator (for
/// slashing).
pub const TAG_UNBONDING_OF: u8 = b'n';
/// `q` ‖ validator ‖ epoch ‖ view: an equivocation already punished.
pub const TAG_EVIDENCE: u8 = b'q';
/// `k`: the active set of the epoch the next block belongs to.
pub const TAG_ACTIVE_SET: u8 = b'k';
/// `c` ‖ epoch: the validators consensus signs with in that epoch, which equivocation
/// evidence is checked against (kept for `staking::EVIDENCE_EPOCHS_KEPT` epochs).
pub const TAG_CONSENSUS_SET: u8 = b'c';

// Rewards and downtime.

/// `x`: the chain-wide rewards record (issued, paid, owed, and the signer-record cursor).
pub const TAG_REWARDS: u8 = b'x';
/// `i` ‖ validator: a validator's liveness (signer sets it was in and missed this epoch).
pub const TAG_LIVENESS: u8 = b'i';
// Governance and the faucet.

/// `l` ‖ address: a governance lock.
pub const TAG_LOCK: u8 = b'l';
/// `g` ‖ proposal id: a proposal.
pub const TAG_PROPOSAL: u8 = b'g';
/// `o` ‖ proposal id ‖ voter: a vote on a proposal still open.
pub const TAG_VOTE: u8 = b'o';
/// `e` ‖ height ‖ proposal id: a proposal to tally or apply at the end of that block.
pub const TAG_GOV_DUE: u8 = b'e';
/// `h`: governance's counters (next proposal id, open proposals, the upgrade plan).
pub const TAG_GOV_STATE: u8 = b'h';
/// `f` ‖ address: the epoch of the address's last faucet claim (overwritten each claim).
pub const TAG_FAUCET_CLAIM: u8 = b'f';

// The EVM (`crate::evm::records`).

/// `b` ‖ Ethereum address: an EVM account (balance, nonce, code hash).
pub const TAG_EVM_ACCOUNT: u8 = b'b';
/// `j` ‖ code hash: contract bytecode.
pub const TAG_EVM_CODE: u8 = b'j';
/// `m` ‖ Ethereum address ‖ slot: a contract storage slot.
pub const TAG_EVM_STORAGE: u8 = b'm';
/// `t` ‖ height ‖ index: an Ethereum transaction's receipt (with its logs).
pub const TAG_EVM_RECEIPT: u8 = b't';
/// `F` ‖ Ethereum transaction hash: where the transaction is (height, index).
pub const TAG_EVM_TX: u8 = b'F';
/// `Z`: the gas and logs of the block being executed.
pub const TAG_EVM_BLOCK: u8 = b'Z';
/// `#` ‖ job id: a job a contract posted through the compute precompile (`evm::compute`):
/// its contract, callback gas and reserve, and how its callback went.
pub const TAG_COMPUTE_JOB: u8 = b'#';
/// `!` ‖ settled height ‖ job id: a contract's job settled, its callback not yet run.
pub const TAG_COMPUTE_DUE: u8 = b'!';

/// Every tag with its name: the registry a new kind of key must join.
pub const ALL_TAGS: &[(u8, &str)] = &[
    (TAG_ACCOUNT, "account"),
    (TAG_PARAMS, "params"),
    (TAG_SUPPLY, "supply"),
    (TAG_SEED, "seed"),
    (TAG_SEED_KEY, "seed key"),
    (TAG_PROVIDER, "provider"),
    (TAG_JOB, "job"),
    (TAG_TASK, "task"),
    (TAG_QUEUE, "queue"),
    (TAG_ASSIGNED, "assigned"),
    (TAG_REVEALED, "revealed"),
    (TAG_DEADLINE, "deadline"),
    (TAG_VERIFY, "verify"),
    (TAG_EXIT, "exit"),
    (TAG_JOB_DEADLINE, "job_deadline"),
    (TAG_PRUNE, "prune"),
    (TAG_MARKET, "market"),
    (TAG_REQUESTER, "requester"),
    (TAG_SEALED, "sealed"),
    (TAG_SPOT_CHECK, "spot_check"),
    (TAG_REDUCE_INPUTS, "reduce_inputs"),
    (TAG_DEAL, "deal"),
    (TAG_DEAL_OWNER, "deal_owner"),
    (TAG_STORAGE_OFFER, "storage_offer"),
    (TAG_STORAGE_QUEUE, "storage_queue"),
    (TAG_STORAGE_DUE, "storage_due"),
    (TAG_STORAGE_HELD, "storage_held"),
    (TAG_STORAGE_MARKET, "storage_market"),
    (TAG_JOB_KEY, "job_key"),
    (TAG_VALIDATOR, "validator"),
    (TAG_DELEGATION, "delegation"),
    (TAG_DELEGATED_TO, "delegated_to"),
    (TAG_UNBONDING, "unbonding"),
    (TAG_RELEASE, "release"),
    (TAG_UNBONDING_OF, "unbonding_of"),
    (TAG_EVIDENCE, "evidence"),
    (TAG_ACTIVE_SET, "active_set"),
    (TAG_CONSENSUS_SET, "consensus_set"),
    (TAG_REWARDS, "rewards"),
    (TAG_LIVENESS, "liveness"),
    (TAG_LOCK, "lock"),
    (TAG_PROPOSAL, "proposal"),
    (TAG_VOTE, "vote"),
    (TAG_GOV_DUE, "gov_due"),
    (TAG_GOV_STATE, "gov_state"),
    (TAG_FAUCET_CLAIM, "faucet_claim"),
    (TAG_EVM_ACCOUNT, "evm_account"),
    (TAG_EVM_CODE, "evm_code"),
    (TAG_EVM_STORAGE, "evm_storage"),
    (TAG_EVM_RECEIPT, "evm_receipt"),
    (TAG_EVM_TX, "evm_tx"),
    (TAG_EVM_BLOCK, "evm_block"),
    (TAG_COMPUTE_JOB, "compute_job"),
    (TAG_COMPUTE_DUE, "compute_due"),
];

/// `#` ‖ job id: the compute precompile's record of a contract's job. Here rather than in
/// `evm` because the market prunes it with the job.
pub fn compute_job_key(job: &yun_types::market::JobId) -> Vec<u8> {
    [&[TAG_COMPUTE_JOB][..], job.as_bytes()].concat()
}

/// `!` ‖ settled height ‖ job id: the market marks a contract's job settled (its callback
/// runs at the end of the block, `evm::callback`).
pub fn compute_due_key(height: u64, job: &yun_types::market::JobId) -> Vec<u8> {
    [
        &[TAG_COMPUTE_DUE][..],
        &height.to_be_bytes(),
        job.as_bytes(),
    ]
    .concat()
}

/// A typed state key; [`StateKey::bytes`] is what the authenticated tree stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StateKey {
    Account(Address),
    Params,
    Supply,
}

impl StateKey {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            StateKey::Account(a) => {
                let mut k = Vec::with_capacity(33);
                k.push(TAG_ACCOUNT);
                k.extend_from_slice(a.as_bytes());
                k
            }
            StateKey::Params => vec![TAG_PARAMS],
            StateKey::Supply => vec![TAG_SUPPLY],
        }
    }

    /// The account a raw key names, if it is an account key.
    pub fn account_of(raw: &[u8]) -> Option<Address> {
        match raw {
            [TAG_ACCOUNT, rest @ ..] => rest.try_into().ok().map(Address),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ALL_TAGS;
    use std::collections::BTreeMap;

    #[test]
    fn every_tag_is_unique_and_named_once() {
        let mut bytes: BTreeMap<u8, &str> = BTreeMap::new();
        let mut names: BTreeMap<&str, u8> = BTreeMap::new();
        for &(tag, name) in ALL_TAGS {
            if let Some(other) = bytes.insert(tag, name) {
                panic!("{other} and {name} share the tag {:?}", tag as char);
            }
            if let Some(other) = names.insert(name, tag) {
                panic!(
                    "{name} names both {:?} and {:?}",
                    other as char, tag as char
                );
            }
        }
    }

    /// The registry is the whole list: every `TAG_` constant of this file is in `ALL_TAGS`
    /// (a tag defined but not registered would escape the uniqueness check above).
    #[test]
    fn every_tag_constant_is_registered() {
        let source = include_str!("keys.rs");
        let defined = source
            .lines()
            .filter(|l| l.starts_with("pub const TAG_") && l.contains(": u8 = b'"))
            .count();
        assert_eq!(
            defined,
            ALL_TAGS.len(),
            "a TAG_ constant is missing from ALL_TAGS"
        );
    }
}
