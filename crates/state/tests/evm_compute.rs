//! Contracts that buy verified compute: the precompile at `0x…7963` posts a job from a
//! contract's balance, the chain calls the contract back when the job settles, and the
//! example `ComputeBounty` pays only for a verified result. Abuse: no balance, bad input, a
//! revert after posting, a callback that reverts or loops, a callback that posts again.
//! The scenario checks supply after every block.
//!
//! The contracts are compiled by `examples/contracts/test/compile.mjs --write` into
//! `tests/fixtures/*.json` (ABI and bytecode), read here by alloy's `sol!`; the devnet test
//! (`crates/cli/tests/eth_contracts.rs`) fails if those files are stale.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address as AlloyAddress, B256, Bytes, FixedBytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolConstructor, SolError, SolValue, sol};
use yun_state::evm::compute_abi::{IYunCompute, YunJob as AbiJob, YunTask as AbiTask};
use yun_state::evm::{self, EvmReceipt, YUN_COMPUTE};
use yun_state::market::{FailReason, JobStatus, TaskPhase};
use yun_state::scenario::{SCENARIO_CHAIN_ID, Scenario};
use yun_state::scenario_market::{Commitments, offer, verdict};
use yun_types::evm::EthAddress;
use yun_types::market::{JobId, TaskRef, Verdict};
use yun_types::{Action, Amount, Hash32, TxOutcome, TxRejection};

sol!(ComputeProbe, "tests/fixtures/ComputeProbe.json");
sol!(ComputeBounty, "tests/fixtures/ComputeBounty.json");

const GAS_PRICE: u128 = 1_000;
const CALLBACK_GAS: u64 = 300_000;

fn signer(n: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&[n; 32].into()).unwrap()
}

fn eth_of(s: &PrivateKeySigner) -> EthAddress {
    EthAddress(s.address().into_array())
}

fn a(e: EthAddress) -> AlloyAddress {
    AlloyAddress::from(e.0)
}

/// A chain with `providers` registered providers and an Ethereum user holding 10^11.
struct Net {
    s: Scenario,
    user: PrivateKeySigner,
    nonce: u64,
}

impl Net {
    fn new(providers: usize) -> Net {
        let mut s = Scenario::with_providers(providers);
        let names: Vec<String> = (1..=providers).map(|i| format!("p{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        s.register_all(&names, offer().slots(2));
        let user = signer(1);
        s.tx("alice")
            .act(Action::TransferToEth {
                to: eth_of(&user),
                amount: Amount::new(100_000_000_000),
            })
            .expect_ok();
        Net { s, user, nonce: 0 }
    }

    /// Sends an Ethereum transaction in its own block; its Yun outcome and EVM receipt.
    fn send(
        &mut self,
        to: Option<EthAddress>,
        data: Vec<u8>,
        value: u128,
    ) -> (TxOutcome, EvmReceipt) {
        let tx = TxEip1559 {
            chain_id: 986,
            nonce: self.nonce,
            gas_limit: 5_000_000,
            max_fee_per_gas: GAS_PRICE,
            max_priority_fee_per_gas: 0,
            to: to.map_or(TxKind::Create, |t| TxKind::Call(a(t))),
            value: U256::from(value),
            access_list: Default::default(),
            input: Bytes::from(data),
        };
        self.nonce += 1;
        let sig = self.user.sign_hash_sync(&tx.signature_hash()).unwrap();
        let raw = TxEnvelope::from(tx.into_signed(sig)).encoded_2718();
        let stx = evm::wrap(SCENARIO_CHAIN_ID, raw).unwrap().0;
        let out = self.s.block(&[stx]).expect("includable");
        let h = self.s.height;
        let receipt = self.s.view().evm_receipts_at(h).pop().unwrap();
        (out.receipts[0].outcome, receipt)
    }

    fn deploy(&mut self, code: Vec<u8>, value: u128) -> EthAddress {
        let (outcome, r) = self.send(None, code, value);
        assert_eq!(outcome, TxOutcome::Success, "{r:?}");
        r.contract_address.unwrap()
    }

    /// `eth_call` on the head: the return data, or the revert data.
    fn call(&mut self, to: EthAddress, data: Vec<u8>) -> (bool, Vec<u8>) {
        let height = self.s.height + 1;
        let time = self.s.time_ms;
        let from = Some(eth_of(&self.user));
        let view = self.s.view();
        let params = view.params().evm;
        let call = evm::CallRequest {
            from,
            to: Some(to),
            data,
            ..Default::default()
        };
        let out = evm::simulate(&view, SCENARIO_CHAIN_ID, height, time, &params, &call).unwrap();
        (out.success, out.output)
    }

    fn balance(&mut self, e: EthAddress) -> u128 {
        self.s.view().evm_account(&e).balance.base_units()
    }

    fn fund(&mut self, to: EthAddress, amount: u128) {
        self.s
            .tx("alice")
            .act(Action::TransferToEth {
                to,
                amount: Amount::new(amount),
            })
            .expect_ok();
    }
}

/// One task of 1,000,000 fuel at bid 10 per Mfuel, deadline in 100 blocks, `policy`.
fn job(policy: u8, k: u8, quorum: u8, callback_gas: u64) -> AbiJob {
    AbiJob {
        programRoot: B256::from(Hash32::digest(b"program").0),
        programBytes: 1_000,
        tasks: vec![AbiTask {
            inputRoot: B256::from(Hash32::digest(b"input").0),
            inputBytes: 4,
            args: vec!["--samples".into(), "1000".into()],
        }],
        fuelPerTask: 1_000_000,
        memoryBytesPerTask: 64 << 20,
        policy,
        k,
        quorum,
        targetErrorPpm: 0,
        bidPerMfuel: 10,
        deadlineBlocks: 100,
        reduce: Vec::new(),
        dataSources: Vec::new(),
        callbackGas: callback_gas,
    }
}

/// The same job as the probe's and the bounty's ABI types (one JSON ABI each).
fn probe_job(j: &AbiJob) -> ComputeProbe::YunJob {
    <ComputeProbe::YunJob as SolValue>::abi_decode(&j.abi_encode()).unwrap()
}

fn bounty_job(j: &AbiJob) -> ComputeBounty::YunJob {
    <ComputeBounty::YunJob as SolValue>::abi_decode(&j.abi_encode()).unwrap()
}

/// The job a receipt's `JobPosted` log names.
fn posted(r: &EvmReceipt) -> JobId {
    let log = r
        .logs
        .iter()
        .find(|l| l.address == YUN_COMPUTE)
        .expect("a JobPosted log");
    Hash32(log.topics[1])
}

/// `YunRejected(code, name)` revert data → the code.
fn rejection(data: &[u8]) -> u16 {
    IYunCompute::YunRejected::abi_decode(data)
        .unwrap_or_else(|e| panic!("not YunRejected: {e}: {}", hex(data)))
        .code
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn honest(_: &str, _: &TaskRef) -> Verdict {
    verdict(7, 400_000)
}

/// A probe contract holding `funds`.
fn probe(net: &mut Net, funds: u128) -> EthAddress {
    let p = net.deploy(ComputeProbe::BYTECODE.to_vec(), 0);
    if funds > 0 {
        net.fund(p, funds);
    }
    p
}

fn read_u256(net: &mut Net, to: EthAddress, data: Vec<u8>) -> U256 {
    let (ok, out) = net.call(to, data);
    assert!(ok);
    U256::abi_decode(&out).unwrap()
}

#[test]
fn a_contract_posts_from_its_balance_and_is_called_back_with_the_verified_digest() {
    let mut net = Net::new(1);
    let p = probe(&mut net, 1_000_000_000);
    let (ok, quote) = net.call(
        YUN_COMPUTE,
        IYunCompute::quoteCall {
            job: job(0, 0, 0, CALLBACK_GAS),
        }
        .abi_encode(),
    );
    assert!(ok);
    let (escrow, reserve) = <(U256, U256)>::abi_decode_params(&quote).unwrap();
    // 1 task × 1 replica × 1,000,000 fuel × 10 per million; 300,000 gas × 1,000.
    assert_eq!(escrow, U256::from(10));
    assert_eq!(reserve, U256::from(300_000_000u64));

    let data = ComputeProbe::postCall {
        job: probe_job(&job(0, 0, 0, CALLBACK_GAS)),
    }
    .abi_encode();
    let (outcome, r) = net.send(Some(p), data, 0);
    assert_eq!(outcome, TxOutcome::Success, "{r:?}");
    let id = posted(&r);
    let j = net.s.job(&id);
    assert_eq!(j.requester, p.pseudo_address());
    assert_eq!(j.escrow.base_units(), 10);
    assert_eq!(net.balance(p), 1_000_000_000 - 10 - 300_000_000);
    assert_eq!(net.balance(YUN_COMPUTE), 300_000_000, "the reserve is held");
    assert_eq!(net.s.view().compute_job(&id).unwrap().contract, p);

    // The one provider runs it (no verification: one replica), the job settles.
    let mut book = Commitments::default();
    net.s.work_round(&["p1"], &mut book, honest);
    let j = net.s.job(&id);
    assert_eq!(j.status, JobStatus::Settled);
    let record = net.s.view().compute_job(&id).unwrap();
    let cb = record.callback.clone().expect("the callback ran");
    assert!(cb.success, "{cb:?}");
    assert!(cb.gas_used > 0 && cb.gas_used <= CALLBACK_GAS);
    assert_eq!(cb.paid.base_units(), u128::from(cb.gas_used) * GAS_PRICE);
    assert_eq!(cb.refunded, j.refunded);
    assert_eq!(
        read_u256(&mut net, p, ComputeProbe::callbacksCall {}.abi_encode()),
        U256::from(1)
    );
    let (_, digest) = net.call(p, ComputeProbe::lastDigestCall {}.abi_encode());
    assert_eq!(digest, [7u8; 32].to_vec(), "the verified output digest");
    let (_, verified) = net.call(p, ComputeProbe::lastVerifiedCall {}.abi_encode());
    assert!(bool::abi_decode(&verified).unwrap());
    // Everything the job did not spend and the callback did not burn is back.
    assert_eq!(
        net.balance(p),
        1_000_000_000 - j.spent.base_units() - cb.paid.base_units()
    );
    assert_eq!(net.balance(YUN_COMPUTE), 0, "no reserve left behind");
    assert!(
        net.s.view().account(&p.pseudo_address()).balance.is_zero(),
        "the refund left the pseudo-address"
    );
    // callbackOf says the same.
    let (_, out) = net.call(
        YUN_COMPUTE,
        IYunCompute::callbackOfCall {
            jobId: B256::from(id.0),
        }
        .abi_encode(),
    );
    let (known, settled, success, gas) =
        <(bool, bool, bool, u64)>::abi_decode_params(&out).unwrap();
    assert!(known && settled && success);
    assert_eq!(gas, cb.gas_used);
}

#[test]
fn a_revert_undoes_the_posting_and_its_escrow() {
    let mut net = Net::new(1);
    let p = probe(&mut net, 1_000_000_000);
    let j = probe_job(&job(0, 0, 0, CALLBACK_GAS));
    let queue_before = net.s.market().queue_tasks;
    let (outcome, r) = net.send(
        Some(p),
        ComputeProbe::postThenRevertCall { job: j.clone() }.abi_encode(),
        0,
    );
    assert_eq!(outcome, TxOutcome::Failed(TxRejection::EvmReverted));
    assert!(r.logs.is_empty());
    let id = evm::compute::job_id_of(&r.tx_hash, 0);
    assert!(net.s.view().job(&id).is_none(), "no job");
    assert!(net.s.view().compute_job(&id).is_none());
    assert_eq!(net.balance(p), 1_000_000_000, "the escrow never left");
    assert_eq!(net.balance(YUN_COMPUTE), 0);

    // Posted in a sub-call that reverted; the outer call succeeds and keeps nothing of it.
    let (outcome, r) = net.send(
        Some(p),
        ComputeProbe::postInFailedSubcallCall { job: j }.abi_encode(),
        0,
    );
    assert_eq!(outcome, TxOutcome::Success);
    assert!(r.logs.is_empty(), "{r:?}");
    assert!(
        net.s
            .view()
            .job(&evm::compute::job_id_of(&r.tx_hash, 0))
            .is_none()
    );
    assert_eq!(net.balance(p), 1_000_000_000);
    assert_eq!(net.balance(YUN_COMPUTE), 0);
    assert_eq!(net.s.market().queue_tasks, queue_before);
}

#[test]
fn no_balance_bad_input_and_bad_calls_are_refused_by_number() {
    let mut net = Net::new(1);
    let poor = probe(&mut net, 5);
    let post = |j: AbiJob| ComputeProbe::postCall { job: probe_job(&j) }.abi_encode();
    let (ok, out) = net.call(poor, post(job(0, 0, 0, CALLBACK_GAS)));
    assert!(!ok);
    // The probe bubbles the precompile's revert data up unchanged.
    assert_eq!(rejection(&out), TxRejection::InsufficientEscrow.code());
    let (outcome, _) = net.send(Some(poor), post(job(0, 0, 0, CALLBACK_GAS)), 0);
    assert_eq!(outcome, TxOutcome::Failed(TxRejection::EvmReverted));
    assert_eq!(net.balance(poor), 5);

    let rich = probe(&mut net, 1_000_000_000);
    let cases = [
        (job(0, 0, 0, 1_000_001), TxRejection::CallbackGasTooHigh),
        (job(9, 0, 0, 0), TxRejection::ComputeCallInvalid),
        (job(1, 3, 1, 0), TxRejection::InvalidJobSpec),
        (
            AbiJob {
                bidPerMfuel: 0,
                ..job(0, 0, 0, 0)
            },
            TxRejection::BidBelowPriceFloor,
        ),
        (
            AbiJob {
                deadlineBlocks: u64::MAX,
                ..job(0, 0, 0, 0)
            },
            TxRejection::DeadlineOutOfRange,
        ),
        (
            AbiJob {
                tasks: Vec::new(),
                ..job(0, 0, 0, 0)
            },
            TxRejection::InvalidJobSpec,
        ),
    ];
    for (j, reason) in cases {
        let (ok, out) = net.call(rich, post(j));
        assert!(!ok);
        assert_eq!(rejection(&out), reason.code(), "{}", reason.name());
    }
    // By DELEGATECALL the precompile would post as the calling contract's code; by
    // STATICCALL it may move no money.
    for how in [0u8, 1] {
        let data = ComputeProbe::postByCall {
            how,
            job: probe_job(&job(0, 0, 0, 0)),
        }
        .abi_encode();
        let (ok, out) = net.call(rich, data);
        assert!(!ok, "how {how}");
        assert_eq!(
            rejection(&out),
            TxRejection::ComputeCallInvalid.code(),
            "how {how}"
        );
    }
    // Garbage input, straight from an account.
    let (ok, out) = net.call(YUN_COMPUTE, vec![1, 2, 3, 4, 5]);
    assert!(!ok);
    assert_eq!(rejection(&out), TxRejection::ComputeCallInvalid.code());
    // Value sent with postJob would sit where no posting accounts for it: refused, and the
    // revert returns it.
    let user = eth_of(&net.user);
    let before = net.balance(user);
    let data = IYunCompute::postJobCall {
        job: job(0, 0, 0, 0),
    }
    .abi_encode();
    let (outcome, r) = net.send(Some(YUN_COMPUTE), data.clone(), 1_000);
    assert_eq!(outcome, TxOutcome::Failed(TxRejection::EvmReverted));
    assert_eq!(
        rejection(&r.revert_data),
        TxRejection::ComputeCallInvalid.code()
    );
    let gas = u128::from(r.gas_used) * GAS_PRICE;
    assert_eq!(net.balance(user), before - gas, "only gas was paid");
    // Nor does a view keep value sent with it.
    let (outcome, _) = net.send(
        Some(YUN_COMPUTE),
        IYunCompute::quoteCall {
            job: job(0, 0, 0, 0),
        }
        .abi_encode(),
        1_000,
    );
    assert_eq!(outcome, TxOutcome::Failed(TxRejection::EvmReverted));
    assert_eq!(net.balance(YUN_COMPUTE), 0);
    // An account may post for itself: it is its own requester and gets no call.
    let (outcome, r) = net.send(Some(YUN_COMPUTE), data, 0);
    assert_eq!(outcome, TxOutcome::Success, "{r:?}");
    assert_eq!(net.s.job(&posted(&r)).requester, user.pseudo_address());
}

/// A callback that reverts or runs out of gas pays its gas, changes nothing of its own,
/// and leaves the refund with the contract; the block goes on.
#[test]
fn a_failing_callback_loses_nobody_money_and_is_recorded() {
    for (mode, reverted) in [(1u8, true), (2u8, false)] {
        let mut net = Net::new(1);
        let p = probe(&mut net, 1_000_000_000);
        net.send(
            Some(p),
            ComputeProbe::setModeCall { m: mode }.abi_encode(),
            0,
        );
        let (_, r) = net.send(
            Some(p),
            ComputeProbe::postCall {
                job: probe_job(&job(0, 0, 0, CALLBACK_GAS)),
            }
            .abi_encode(),
            0,
        );
        let id = posted(&r);
        let mut book = Commitments::default();
        net.s.work_round(&["p1"], &mut book, honest);
        let j = net.s.job(&id);
        assert_eq!(j.status, JobStatus::Settled);
        let cb = net.s.view().compute_job(&id).unwrap().callback.unwrap();
        assert!(!cb.success, "mode {mode}");
        if reverted {
            assert!(
                String::from_utf8_lossy(&cb.revert_data).contains("callback refuses"),
                "{cb:?}"
            );
            assert!(cb.gas_used < CALLBACK_GAS);
        } else {
            assert_eq!(cb.gas_used, CALLBACK_GAS, "out of gas uses all of it");
        }
        assert_eq!(cb.paid.base_units(), u128::from(cb.gas_used) * GAS_PRICE);
        assert_eq!(
            read_u256(&mut net, p, ComputeProbe::callbacksCall {}.abi_encode()),
            U256::ZERO,
            "its own changes were undone"
        );
        assert_eq!(
            net.balance(p),
            1_000_000_000 - j.spent.base_units() - cb.paid.base_units(),
            "the refund and the unused reserve still reached the contract"
        );
        assert_eq!(net.balance(YUN_COMPUTE), 0);
        // The chain goes on.
        net.s.empty_block();
    }
}

#[test]
fn a_callback_cannot_post_again() {
    let mut net = Net::new(1);
    let p = probe(&mut net, 1_000_000_000);
    net.send(Some(p), ComputeProbe::setModeCall { m: 3 }.abi_encode(), 0);
    let (_, r) = net.send(
        Some(p),
        ComputeProbe::postCall {
            job: probe_job(&job(0, 0, 0, CALLBACK_GAS)),
        }
        .abi_encode(),
        0,
    );
    let id = posted(&r);
    let mut book = Commitments::default();
    net.s.work_round(&["p1"], &mut book, honest);
    let cb = net.s.view().compute_job(&id).unwrap().callback.unwrap();
    assert!(cb.success, "{cb:?}");
    let (_, refused) = net.call(p, ComputeProbe::reentryRefusedCall {}.abi_encode());
    assert!(
        bool::abi_decode(&refused).unwrap(),
        "postJob reverted in the callback"
    );
    assert_eq!(net.s.market().queue_tasks, 0, "nothing was posted");
    assert_eq!(net.balance(YUN_COMPUTE), 0);
}

/// Deploys a bounty of 1,000,000 for `claimant` (expecting `expected`), funds its job and
/// posts it with `j`.
fn bounty(
    net: &mut Net,
    claimant: EthAddress,
    expected: [u8; 32],
    j: &AbiJob,
) -> (EthAddress, JobId) {
    let args = ComputeBounty::constructorCall {
        claimant_: a(claimant),
        expectedDigest_: FixedBytes(expected),
        bounty_: U256::from(1_000_000),
    }
    .abi_encode();
    let code = [ComputeBounty::BYTECODE.to_vec(), args].concat();
    let b = net.deploy(code, 1_000_000);
    let (outcome, r) = net.send(
        Some(b),
        ComputeBounty::postCall { job: bounty_job(j) }.abi_encode(),
        1_000_000_000,
    );
    assert_eq!(outcome, TxOutcome::Success, "{r:?}");
    (b, posted(&r))
}

#[test]
fn the_bounty_pays_a_verified_result_to_its_claimant() {
    let mut net = Net::new(3);
    let claimant = eth_of(&signer(9));
    let (b, id) = bounty(&mut net, claimant, [0; 32], &job(1, 3, 2, CALLBACK_GAS));
    let mut book = Commitments::default();
    net.s.work_round(&["p1", "p2", "p3"], &mut book, honest);
    assert_eq!(net.s.job(&id).status, JobStatus::Settled);
    let cb = net.s.view().compute_job(&id).unwrap().callback.unwrap();
    assert!(cb.success, "{cb:?}");
    assert_eq!(
        net.balance(claimant),
        1_000_000,
        "the bounty reached the claimant"
    );
    let (_, digest) = net.call(b, ComputeBounty::resultDigestCall {}.abi_encode());
    assert_eq!(digest, [7u8; 32].to_vec());
}

/// No quorum: every replica says something else, the task fails after the cap, and the
/// callback returns the bounty to the sponsor. An expected digest the verified output does
/// not have pays nothing either.
#[test]
fn a_wrong_or_unverified_result_is_never_paid() {
    let mut net = Net::new(5);
    let claimant = eth_of(&signer(9));
    let sponsor = eth_of(&net.user);
    let (_, id) = bounty(&mut net, claimant, [0; 32], &job(1, 3, 3, CALLBACK_GAS));
    let each_own = |p: &str, _: &TaskRef| verdict(p.as_bytes()[1], 400_000);
    let all = ["p1", "p2", "p3", "p4", "p5"];
    let mut book = Commitments::default();
    let sponsor_before = net.balance(sponsor);
    for _ in 0..3 {
        net.s.work_round(&all, &mut book, each_own);
        net.s.empty_block();
    }
    assert_eq!(
        net.s.task(&id, 0).phase,
        TaskPhase::Failed {
            reason: FailReason::NoQuorum
        }
    );
    let cb = net.s.view().compute_job(&id).unwrap().callback.unwrap();
    assert!(cb.success, "{cb:?}");
    assert_eq!(
        net.balance(claimant),
        0,
        "an unverified result pays nothing"
    );
    assert_eq!(
        net.balance(sponsor),
        sponsor_before + 1_000_000,
        "the bounty went back to the sponsor"
    );

    // Verified, but not the output the sponsor expected.
    let (_, id) = bounty(&mut net, claimant, [8; 32], &job(1, 3, 2, CALLBACK_GAS));
    let sponsor_before = net.balance(sponsor);
    net.s.work_round(&all, &mut book, honest);
    assert!(matches!(
        net.s.task(&id, 0).phase,
        TaskPhase::Verified { .. }
    ));
    assert!(
        net.s
            .view()
            .compute_job(&id)
            .unwrap()
            .callback
            .unwrap()
            .success
    );
    assert_eq!(net.balance(claimant), 0);
    assert_eq!(net.balance(sponsor), sponsor_before + 1_000_000);
}

/// Callbacks run outside the block's gas limit, so a block runs at most
/// `CALLBACKS_PER_BLOCK_MAX` of them; the rest run in the next blocks, oldest first.
#[test]
fn callbacks_per_block_are_bounded_and_the_rest_wait() {
    let n = evm::CALLBACKS_PER_BLOCK_MAX + 1;
    let mut net = Net::new(n);
    let p = probe(&mut net, 10_000_000_000);
    let ids: Vec<JobId> = (0..n)
        .map(|_| {
            let (_, r) = net.send(
                Some(p),
                ComputeProbe::postCall {
                    job: probe_job(&job(0, 0, 0, CALLBACK_GAS)),
                }
                .abi_encode(),
                0,
            );
            posted(&r)
        })
        .collect();
    let names: Vec<String> = (1..=n).map(|i| format!("p{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut book = Commitments::default();
    net.s.work_round(&names, &mut book, honest);
    let called = |net: &mut Net| {
        ids.iter()
            .filter(|id| net.s.view().compute_job(id).unwrap().callback.is_some())
            .count()
    };
    assert!(
        ids.iter()
            .all(|id| net.s.job(id).status == JobStatus::Settled)
    );
    assert_eq!(called(&mut net), evm::CALLBACKS_PER_BLOCK_MAX);
    let due = |net: &mut Net| net.s.view().scan(&[yun_state::keys::TAG_COMPUTE_DUE]).len();
    assert_eq!(due(&mut net), 1, "one callback waits");
    assert!(net.s.view().market_awaits_blocks(), "and asks for a block");
    net.s.empty_block();
    assert_eq!(called(&mut net), n);
    assert_eq!(due(&mut net), 0);
    assert_eq!(
        read_u256(&mut net, p, ComputeProbe::callbacksCall {}.abi_encode()),
        U256::from(n)
    );
    assert_eq!(net.balance(YUN_COMPUTE), 0);
}
