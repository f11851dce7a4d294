// SPDX-License-Identifier: MIT
// The Yun compute precompile: how a contract buys verified compute (issue 19, step 4).
//
// This file is the ABI. The chain reads it with alloy's `sol!` macro
// (`crates/state/src/evm/compute_abi.rs`), so the Solidity a contract imports and the Rust
// the precompile decodes are the same text.
//
// At YUN_COMPUTE (0x0000000000000000000000000000000000007963) the chain answers:
// - postJob: posts a Yun job exactly as a `PostJob` transaction would, with the calling
//   contract as its requester. Its escrow ((tasks + 1 for a reduce) x replica cap x fuel x
//   bid) and the callback's gas reserve (callbackGas x the base fee per gas) leave the
//   contract's own balance in the same call. Send no value with the call. Every rejection
//   reverts with YunRejected(code, name): the numbered `TxRejection` a native `PostJob` gets
//   (25 InsufficientEscrow, 23 InvalidJobSpec, 70 BidBelowPriceFloor, ...), or 97
//   ComputeCallInvalid, 98 CallbackGasTooHigh, 99 ComputeReentry. If the transaction (or
//   the frame that called postJob) reverts later, the job was never posted and the escrow
//   never left: the posting is journaled like any state change.
// - quote: what postJob would take, without posting (a view).
// - callbackOf: whether the job's callback ran and how.
//
// When the job settles (every task verified or failed, at the end of a block), the chain
// calls the requester's onYunJobSettled once, from YUN_COMPUTE, with callbackGas gas and
// one TaskResult per task the job had (the map tasks in order, then the reduce task if one
// was added). Before the call, the job's unspent escrow is back in the contract's balance.
// The callback's gas is paid from the reserve at the price reserved at posting; what it did
// not use comes back to the contract. A callback that reverts or runs out of gas changes
// nothing of its own, loses nobody's money, and is recorded (callbackOf). postJob called
// during a callback reverts with 99 ComputeReentry.
pragma solidity ^0.8.20;

/// One task: its input blob (blake3 root and size; an empty input is the root of no bytes)
/// and its command-line arguments.
struct YunTask {
    bytes32 inputRoot;
    uint64 inputBytes;
    string[] args;
}

/// A reduce step: one more task, run once every map task ended, over their verified outputs.
struct YunReduce {
    bytes32 programRoot;
    uint64 programBytes;
    string[] args;
}

/// A job as a contract posts it (the fields of a Yun `JobSpec`).
struct YunJob {
    /// The program: blake3 root and size of the wasm module, uploaded to the network.
    bytes32 programRoot;
    uint64 programBytes;
    YunTask[] tasks;
    uint64 fuelPerTask;
    uint64 memoryBytesPerTask;
    /// 0: none (one replica); 1: replicate (k replicas, quorum equal verdicts);
    /// 2: adaptive (replicas added until the error estimate is at most targetErrorPpm).
    uint8 policy;
    uint8 k;
    uint8 quorum;
    uint32 targetErrorPpm;
    /// The highest price per million fuel, in base units (wei).
    uint128 bidPerMfuel;
    /// Blocks from now until the job's deadline.
    uint64 deadlineBlocks;
    /// At most one.
    YunReduce[] reduce;
    /// API base URLs providers may fetch the job's blobs from (plain http(s)).
    string[] dataSources;
    /// Gas for the settlement callback, at most the chain's evm.callback_gas_max; 0: no call.
    uint64 callbackGas;
}

/// What the chain decided for one task.
struct YunTaskResult {
    uint32 index;
    /// True when the job's policy accepted a verdict; false when the task failed (no
    /// accepted verdict: replicas disagreed, expired, or the deadline passed).
    bool verified;
    /// The accepted verdict: status (0 exited with statusValue as its code, 1 trapped,
    /// 2 out of fuel, 0xC0 cannot run), fuel used, and the blake3 digest of its output
    /// archive. All zero when not verified.
    uint8 statusTag;
    int32 statusValue;
    uint64 fuelUsed;
    bytes32 outputDigest;
}

interface IYunCompute {
    /// A job posted by `requester` (logged by YUN_COMPUTE in the posting transaction).
    event JobPosted(bytes32 indexed jobId, address indexed requester, uint256 escrow, uint256 callbackReserve);

    /// Every refusal: the `TxRejection` number and name.
    error YunRejected(uint16 code, string name);

    function postJob(YunJob calldata job) external returns (bytes32 jobId);

    function quote(YunJob calldata job) external view returns (uint256 escrow, uint256 callbackReserve);

    /// known: a job a contract posted; settled: its callback ran (success false when it
    /// reverted or ran out of gas); gasUsed: what the callback used (and paid).
    function callbackOf(bytes32 jobId)
        external
        view
        returns (bool known, bool settled, bool success, uint64 gasUsed);
}

/// What a requesting contract implements.
interface IYunComputeReceiver {
    function onYunJobSettled(bytes32 jobId, YunTaskResult[] calldata results) external;
}
