//! The compute precompile's record of each job a contract posted (`#` ‖ job id, tag in
//! `crate::keys`): who gets the callback, its gas and reserve, and how it went. The market
//! deletes it with the job's other records when the job is pruned.

use crate::keys::compute_job_key;
use crate::overlay::{Overlay, StateReader};
use crate::record::{decode, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use yun_types::Amount;
use yun_types::evm::EthAddress;
use yun_types::market::JobId;

/// A job a contract posted.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ComputeJob {
    /// The requester: the contract called back (its pseudo-address is the market's requester).
    pub contract: EthAddress,
    /// The callback's gas limit (at most `evm.callback_gas_max` when posted).
    pub callback_gas: u64,
    /// The base fee per gas at posting: the callback's gas is paid at this price.
    pub gas_price: u64,
    /// `callback_gas` × `gas_price`, taken from the contract at posting and held in
    /// `YUN_COMPUTE`'s balance until the callback ran.
    pub reserve: Amount,
    /// Set once the callback ran.
    pub callback: Option<CallbackOutcome>,
}

/// How a job's settlement callback went.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CallbackOutcome {
    pub height: u64,
    /// False when it reverted or halted (out of gas included): its own changes were undone.
    pub success: bool,
    pub gas_used: u64,
    /// gas used × the reserved price: burned. The rest of the reserve went back to the contract.
    pub paid: Amount,
    /// The job's unspent escrow, moved into the contract's balance before the call.
    pub refunded: Amount,
    /// The revert data (at most `REVERT_DATA_BYTES_MAX` bytes).
    pub revert_data: Vec<u8>,
}

impl<R: StateReader + ?Sized> Overlay<'_, R> {
    pub fn compute_job(&self, job: &JobId) -> Option<ComputeJob> {
        self.get(&compute_job_key(job)).map(|v| decode(&v))
    }

    pub(crate) fn set_compute_job(&mut self, job: &JobId, record: &ComputeJob) {
        self.put(compute_job_key(job), encode(record));
    }
}
