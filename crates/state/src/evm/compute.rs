//! The compute precompile at [`YUN_COMPUTE`]: a contract posts a Yun job, paid from its own
//! balance (`examples/contracts/IYunCompute.sol` is the interface).
//!
//! revm runs the precompile while the transaction executes, when nothing may be written to
//! the state yet. So a posting is made of journaled EVM effects, which a revert anywhere
//! undoes: the escrow and callback reserve move from the contract to [`YUN_COMPUTE`]'s own
//! balance, and a `JobPosted` log names the job. The posting itself waits in
//! [`Precompiles::postings`]; after the transaction, [`post_jobs`] posts exactly the
//! ones whose log survived, through the market's own `post_job`, after every check of it
//! already passed here on the same state ([`market::actions::check_post`]).

use crate::bank;
use crate::env::BlockEnv;
use crate::evm::compute_abi::{IYunCompute, YunJob, YunTask, YunTaskResult};
use crate::evm::db::alloy;
use crate::evm::records_compute::ComputeJob;
use crate::market;
use crate::overlay::{Overlay, StateReader};
use alloy_sol_types::{SolCall, SolError, SolEvent, SolInterface, SolValue};
use revm::context::Cfg;
use revm::context_interface::{ContextTr, JournalTr};
use revm::handler::{EthPrecompiles, PrecompileProvider, precompile_output_to_interpreter_result};
use revm::interpreter::{CallInputs, CallScheme, InterpreterResult};
use revm::precompile::{PrecompileHalt, PrecompileOutput, PrecompileStatus};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{AddressSet, B256, Bytes, Log, U256};
use std::collections::BTreeSet;
use yun_types::evm::EthAddress;
use yun_types::market::{
    DATA_SOURCES_MAX, JobId, JobSpec, ReduceSpec, TASK_ARG_BYTES_MAX, TASK_ARGS_MAX,
    TASKS_PER_JOB_MAX, TaskSpec, Text, URL_BYTES_MAX, Verification,
};
use yun_types::{Amount, ChainParams, Hash32, TxRejection};

/// The compute precompile's address (`0x…7963`, "yc"), beside the bridge's `0x…7975`.
pub const YUN_COMPUTE: EthAddress = EthAddress([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x79, 0x63,
]);

/// Gas `postJob` costs before its tasks: decoding, the checks, the escrow transfer, the log,
/// and the job record it writes after the transaction.
pub const POST_GAS_BASE: u64 = 60_000;
/// Gas per task of a posted job: each is a record written and a queue key, like an SSTORE
/// of a new slot (20,000) each.
pub const POST_GAS_PER_TASK: u64 = 25_000;
/// Gas `quote` and `callbackOf` cost (a cold account read's).
pub const VIEW_GAS: u64 = 2_600;
/// Most jobs one Ethereum transaction may post (bounds the postings held while it runs).
pub const POSTINGS_PER_TX_MAX: usize = 64;

/// A job the transaction posted, waiting for the transaction to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub job_id: JobId,
    pub contract: EthAddress,
    pub spec: JobSpec,
    pub escrow: Amount,
    pub callback_gas: u64,
    /// The base fee per gas when it was posted: the price its callback's gas is paid at.
    pub gas_price: u64,
}

impl Posting {
    /// callback gas × gas price: what the callback may cost, held until it ran.
    pub fn reserve(&self) -> Amount {
        Amount::new(u128::from(self.callback_gas) * u128::from(self.gas_price))
    }

    pub fn record(&self) -> ComputeJob {
        ComputeJob {
            contract: self.contract,
            callback_gas: self.callback_gas,
            gas_price: self.gas_price,
            reserve: self.reserve(),
            callback: None,
        }
    }
}

/// Ethereum's precompiles and the compute precompile, reading the block's overlay.
#[derive(Debug)]
pub struct Precompiles<'s, 'a, R: StateReader + ?Sized> {
    eth: EthPrecompiles,
    warm: AddressSet,
    state: &'s Overlay<'a, R>,
    height: u64,
    /// What job ids derive from: the Ethereum transaction's hash.
    origin: [u8; 32],
    /// Set while a settlement callback runs: `postJob` is refused then.
    in_callback: bool,
    params: Option<ChainParams>,
    /// Every `postJob` that returned, in call order (some may have been reverted since).
    pub postings: Vec<Posting>,
    /// `postJob` calls that got as far as an id (ids stay unique when one is reverted).
    ids_drawn: u32,
}

impl<'s, 'a, R: StateReader + ?Sized> Precompiles<'s, 'a, R> {
    pub fn new(
        state: &'s Overlay<'a, R>,
        spec: SpecId,
        height: u64,
        origin: [u8; 32],
        in_callback: bool,
    ) -> Self {
        let eth = EthPrecompiles::new(spec);
        let mut warm = eth.warm_addresses().clone();
        warm.insert(alloy(&YUN_COMPUTE));
        Precompiles {
            eth,
            warm,
            state,
            height,
            origin,
            in_callback,
            params: None,
            postings: Vec::new(),
            ids_drawn: 0,
        }
    }

    fn params(&mut self) -> &ChainParams {
        self.params.get_or_insert_with(|| self.state.params())
    }

    /// One call to the compute precompile.
    fn call<CTX: ContextTr>(
        &mut self,
        ctx: &mut CTX,
        inputs: &CallInputs,
        input: &[u8],
    ) -> Result<PrecompileOutput, String> {
        let reservoir = inputs.reservoir;
        // Value would stay here, where only reserves are kept: every call refuses it (the
        // revert sends it back).
        let Ok(call) = IYunCompute::IYunComputeCalls::abi_decode(input) else {
            return Ok(refuse(VIEW_GAS, TxRejection::ComputeCallInvalid, reservoir));
        };
        if !inputs.value.get().is_zero() {
            return Ok(refuse(VIEW_GAS, TxRejection::ComputeCallInvalid, reservoir));
        }
        let out = match call {
            IYunCompute::IYunComputeCalls::postJob(c) => {
                let gas = post_gas(&c.job);
                if gas > inputs.gas_limit {
                    return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
                }
                match self.post(ctx, inputs, &c.job)? {
                    Ok(job_id) => ok(
                        gas,
                        IYunCompute::postJobCall::abi_encode_returns(&job_id.0.into()),
                        reservoir,
                    ),
                    Err(r) => refuse(gas, r, reservoir),
                }
            }
            IYunCompute::IYunComputeCalls::quote(c) => {
                let gas = post_gas(&c.job);
                if gas > inputs.gas_limit {
                    return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
                }
                match self.check(&c.job, 0) {
                    Ok(p) => ok(
                        gas,
                        (
                            U256::from(p.escrow.base_units()),
                            U256::from(p.reserve().base_units()),
                        )
                            .abi_encode_params(),
                        reservoir,
                    ),
                    Err(r) => refuse(gas, r, reservoir),
                }
            }
            IYunCompute::IYunComputeCalls::callbackOf(c) => {
                if VIEW_GAS > inputs.gas_limit {
                    return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
                }
                let record = self.state.compute_job(&Hash32(c.jobId.0));
                let callback = record.as_ref().and_then(|r| r.callback.as_ref());
                let answer = (
                    record.is_some(),
                    callback.is_some(),
                    callback.is_some_and(|c| c.success),
                    callback.map_or(0, |c| c.gas_used),
                );
                ok(VIEW_GAS, answer.abi_encode_params(), reservoir)
            }
        };
        Ok(out)
    }

    /// `postJob`: checks, takes escrow and reserve from the caller, logs `JobPosted`.
    /// `Err` is a database failure (none: the overlay cannot fail); `Ok(Err)` a refusal.
    fn post<CTX: ContextTr>(
        &mut self,
        ctx: &mut CTX,
        inputs: &CallInputs,
        job: &YunJob,
    ) -> Result<Result<JobId, TxRejection>, String> {
        // DELEGATECALL or CALLCODE would run it as the calling contract; STATICCALL may not
        // move money.
        let direct = inputs.scheme == CallScheme::Call
            && inputs.target_address == alloy(&YUN_COMPUTE)
            && !inputs.is_static;
        if !direct || self.postings.len() >= POSTINGS_PER_TX_MAX {
            return Ok(Err(TxRejection::ComputeCallInvalid));
        }
        if self.in_callback {
            return Ok(Err(TxRejection::ComputeReentry));
        }
        let pending: u64 = self
            .postings
            .iter()
            .map(|p| p.spec.tasks.len() as u64)
            .sum();
        let mut posting = match self.check(job, pending) {
            Ok(p) => p,
            Err(r) => return Ok(Err(r)),
        };
        posting.contract = crate::evm::db::eth(inputs.caller);
        posting.job_id = self.next_job_id();
        if self.state.job(&posting.job_id).is_some() {
            return Ok(Err(TxRejection::ComputeCallInvalid));
        }
        let total = posting
            .escrow
            .checked_add(posting.reserve())
            .map_err(|_| "escrow overflow".to_string());
        let total = match total {
            Ok(t) => t,
            Err(_) => return Ok(Err(TxRejection::AmountOverflow)),
        };
        let short = ctx
            .journal_mut()
            .transfer(
                inputs.caller,
                alloy(&YUN_COMPUTE),
                U256::from(total.base_units()),
            )
            .map_err(|_| "state read failed".to_string())?;
        if short.is_some() {
            return Ok(Err(TxRejection::InsufficientEscrow));
        }
        let event = IYunCompute::JobPosted {
            jobId: B256::from(posting.job_id.0),
            requester: inputs.caller,
            escrow: U256::from(posting.escrow.base_units()),
            callbackReserve: U256::from(posting.reserve().base_units()),
        };
        ctx.journal_mut().log(Log {
            address: alloy(&YUN_COMPUTE),
            data: event.encode_log_data(),
        });
        let id = posting.job_id;
        self.postings.push(posting);
        Ok(Ok(id))
    }

    /// What posting `job` would take, checked as `PostJob` checks it (id and contract unset).
    fn check(&mut self, job: &YunJob, pending_tasks: u64) -> Result<Posting, TxRejection> {
        let height = self.height;
        let spec = job_spec(job, height)?;
        let params = self.params().clone();
        if job.callbackGas > params.evm.callback_gas_max {
            return Err(TxRejection::CallbackGasTooHigh);
        }
        let escrow =
            market::actions::check_post(self.state, &params, height, &spec, pending_tasks)?;
        Ok(Posting {
            job_id: Hash32::ZERO,
            contract: EthAddress::default(),
            spec,
            escrow,
            callback_gas: job.callbackGas,
            gas_price: params.evm.base_fee_per_gas,
        })
    }

    fn next_job_id(&mut self) -> JobId {
        let n = self.ids_drawn;
        self.ids_drawn = n.saturating_add(1);
        job_id_of(&self.origin, n)
    }
}

/// The id of the `n`th job (from 0) a transaction with hash `origin` posted: blake3 of a
/// domain, the hash and `n` (a reverted posting used its number too).
pub fn job_id_of(origin: &[u8; 32], n: u32) -> JobId {
    Hash32::digest(&[&b"yun/evm-job/v1"[..], origin, &n.to_be_bytes()].concat())
}

/// The gas `postJob` or `quote` costs for `job`.
fn post_gas(job: &YunJob) -> u64 {
    POST_GAS_BASE.saturating_add(POST_GAS_PER_TASK.saturating_mul(job.tasks.len() as u64))
}

fn output(
    status: PrecompileStatus,
    gas_used: u64,
    bytes: Vec<u8>,
    reservoir: u64,
) -> PrecompileOutput {
    PrecompileOutput {
        status,
        gas_used,
        gas_refunded: 0,
        state_gas_used: 0,
        state_gas_spilled: 0,
        reservoir,
        bytes: Bytes::from(bytes),
    }
}

fn ok(gas_used: u64, bytes: Vec<u8>, reservoir: u64) -> PrecompileOutput {
    output(PrecompileStatus::Success, gas_used, bytes, reservoir)
}

/// A revert with `YunRejected(code, name)`: what Solidity shows as the reason.
fn refuse(gas_used: u64, r: TxRejection, reservoir: u64) -> PrecompileOutput {
    let data = IYunCompute::YunRejected {
        code: r.code(),
        name: r.name().to_string(),
    }
    .abi_encode();
    output(PrecompileStatus::Revert, gas_used, data, reservoir)
}

/// A contract's job as a `JobSpec`: the deadline counted from this block, lists within the
/// codec's limits (else 23 `InvalidJobSpec`), no encryption (a contract cannot share keys).
pub fn job_spec(job: &YunJob, height: u64) -> Result<JobSpec, TxRejection> {
    let verification = match job.policy {
        0 => Verification::None,
        1 => Verification::Replicate {
            k: job.k,
            quorum: job.quorum,
        },
        2 => Verification::Adaptive {
            target_error_ppm: job.targetErrorPpm,
        },
        _ => return Err(TxRejection::ComputeCallInvalid),
    };
    if job.reduce.len() > 1 {
        return Err(TxRejection::ComputeCallInvalid);
    }
    let args_ok = |args: &[String]| {
        args.len() <= TASK_ARGS_MAX && args.iter().all(|a| a.len() <= TASK_ARG_BYTES_MAX)
    };
    let lists_ok = job.tasks.len() <= TASKS_PER_JOB_MAX
        && job.tasks.iter().all(|t| args_ok(&t.args))
        && job.reduce.iter().all(|r| args_ok(&r.args))
        && job.dataSources.len() <= DATA_SOURCES_MAX
        && job.dataSources.iter().all(|u| u.len() <= URL_BYTES_MAX);
    if !lists_ok {
        return Err(TxRejection::InvalidJobSpec);
    }
    let deadline_height = height
        .checked_add(job.deadlineBlocks)
        .ok_or(TxRejection::DeadlineOutOfRange)?;
    let texts = |v: &[String]| v.iter().map(|a| Text::from(a.as_str())).collect();
    Ok(JobSpec {
        program_hash: Hash32(job.programRoot.0),
        program_bytes: job.programBytes,
        tasks: job
            .tasks
            .iter()
            .map(|t: &YunTask| TaskSpec {
                input_hash: Hash32(t.inputRoot.0),
                input_bytes: t.inputBytes,
                args: texts(&t.args),
            })
            .collect(),
        fuel_per_task: job.fuelPerTask,
        memory_bytes_per_task: job.memoryBytesPerTask,
        verification,
        bid_per_mfuel: Amount::new(job.bidPerMfuel),
        deadline_height,
        required_labels: Vec::new(),
        reduce: job.reduce.first().map(|r| ReduceSpec {
            program_hash: Hash32(r.programRoot.0),
            program_bytes: r.programBytes,
            args: texts(&r.args),
        }),
        data_sources: texts(&job.dataSources),
        encryption_key: None,
    })
}

impl<CTX, R> PrecompileProvider<CTX> for Precompiles<'_, '_, R>
where
    CTX: ContextTr<Cfg: Cfg<Spec = SpecId>>,
    R: StateReader + ?Sized,
{
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: SpecId) -> bool {
        let changed = <EthPrecompiles as PrecompileProvider<CTX>>::set_spec(&mut self.eth, spec);
        self.warm = self.eth.warm_addresses().clone();
        self.warm.insert(alloy(&YUN_COMPUTE));
        changed
    }

    fn run(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        if inputs.bytecode_address != alloy(&YUN_COMPUTE) {
            return <EthPrecompiles as PrecompileProvider<CTX>>::run(
                &mut self.eth,
                context,
                inputs,
            );
        }
        let input = inputs.input.bytes(context);
        let out = self.call(context, inputs, &input)?;
        Ok(Some(precompile_output_to_interpreter_result(
            out,
            inputs.gas_limit,
        )))
    }

    fn warm_addresses(&self) -> &AddressSet {
        &self.warm
    }
}

/// The results a job's callback carries: one per task that exists (map tasks in order, then
/// the reduce task if it was added), verified or not.
pub fn task_results<R: StateReader + ?Sized>(
    state: &Overlay<'_, R>,
    job_id: &JobId,
    job: &market::Job,
) -> Vec<YunTaskResult> {
    state
        .job_tasks(job_id, job)
        .into_iter()
        .filter_map(|t| state.task(&t).map(|task| (t.index, task)))
        .map(|(index, task)| match task.phase {
            market::TaskPhase::Verified { verdict } => YunTaskResult {
                index,
                verified: true,
                statusTag: verdict.status_tag,
                statusValue: verdict.status_value,
                fuelUsed: verdict.fuel_used,
                outputDigest: B256::from(verdict.output_digest.0),
            },
            _ => YunTaskResult {
                index,
                verified: false,
                statusTag: 0,
                statusValue: 0,
                fuelUsed: 0,
                outputDigest: B256::ZERO,
            },
        })
        .collect()
}

/// Posts the jobs of a successful transaction whose `JobPosted` log survived it (a posting
/// in a frame that reverted lost its log and its escrow transfer together).
pub fn post_jobs<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    postings: Vec<Posting>,
    logs: &[Log],
) {
    let posted: BTreeSet<B256> = logs
        .iter()
        .filter(|l| {
            l.address == alloy(&YUN_COMPUTE)
                && l.topics().first() == Some(&IYunCompute::JobPosted::SIGNATURE_HASH)
        })
        .filter_map(|l| l.topics().get(1).copied())
        .collect();
    for p in postings {
        if !posted.contains(&B256::from(p.job_id.0)) {
            continue;
        }
        take_from_compute(state, p.escrow);
        let requester = p.contract.pseudo_address();
        bank::credit(state, &requester, p.escrow);
        market::actions::post_job(state, env, params, &requester, &p.job_id, &p.spec)
            .expect("invariant: the precompile checked this posting on this same state");
        state.set_compute_job(&p.job_id, &p.record());
    }
}

/// Takes `amount` from what [`YUN_COMPUTE`] holds (escrow on its way to the market, or a
/// reserve at its callback).
pub(crate) fn take_from_compute<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    amount: Amount,
) {
    let mut held = state.evm_account(&YUN_COMPUTE);
    held.balance = held
        .balance
        .checked_sub(amount)
        .expect("invariant: YUN_COMPUTE holds every unposted escrow and unspent reserve");
    state.set_evm_account(&YUN_COMPUTE, &held);
}
