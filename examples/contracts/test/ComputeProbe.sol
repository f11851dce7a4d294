// SPDX-License-Identifier: MIT
// A test contract for the compute precompile's abuse cases (crates/state/tests/evm_compute.rs):
// posting then reverting, a callback that reverts, one that runs out of gas, and one that
// tries to post again from inside the callback.
pragma solidity ^0.8.20;

import "../IYunCompute.sol";

contract ComputeProbe is IYunComputeReceiver {
    IYunCompute public constant YUN = IYunCompute(0x0000000000000000000000000000000000007963);

    /// 0 records the callback; 1 reverts; 2 loops until out of gas; 3 records, then tries
    /// to post a job from inside the callback.
    uint8 public mode;
    uint256 public callbacks;
    bytes32 public lastJob;
    uint256 public resultCount;
    bool public lastVerified;
    bytes32 public lastDigest;
    bool public reentryRefused;

    receive() external payable {}

    function setMode(uint8 m) external {
        mode = m;
    }

    function post(YunJob calldata job) external returns (bytes32) {
        lastJob = YUN.postJob(job);
        return lastJob;
    }

    /// Posts, then reverts the whole call: the posting must not survive.
    function postThenRevert(YunJob calldata job) external {
        YUN.postJob(job);
        revert("undone");
    }

    /// Posts inside a sub-call that reverts, and goes on: only the outer changes survive.
    function postInFailedSubcall(YunJob calldata job) external returns (bool) {
        try this.postThenRevert(job) {
            return true;
        } catch {
            return false;
        }
    }

    /// Calls postJob by DELEGATECALL (how 0) or STATICCALL (how 1), bubbling up a revert.
    function postBy(uint8 how, YunJob calldata job) external returns (bytes memory) {
        bytes memory call = abi.encodeCall(IYunCompute.postJob, (job));
        (bool ok, bytes memory out) =
            how == 0 ? address(YUN).delegatecall(call) : address(YUN).staticcall(call);
        if (!ok) {
            assembly {
                revert(add(out, 32), mload(out))
            }
        }
        return out;
    }

    function onYunJobSettled(bytes32 id, YunTaskResult[] calldata results) external {
        require(msg.sender == address(YUN), "only the chain calls back");
        if (mode == 1) revert("callback refuses");
        if (mode == 2) {
            uint256 i;
            while (true) {
                i++;
            }
        }
        callbacks += 1;
        lastJob = id;
        resultCount = results.length;
        if (results.length > 0) {
            lastVerified = results[0].verified;
            lastDigest = results[0].outputDigest;
        }
        if (mode == 3) {
            YunJob memory j;
            j.programRoot = bytes32(uint256(1));
            j.programBytes = 1000;
            j.tasks = new YunTask[](1);
            j.fuelPerTask = 1000000;
            j.memoryBytesPerTask = 1 << 26;
            j.bidPerMfuel = 10;
            j.deadlineBlocks = 100;
            try YUN.postJob(j) returns (bytes32) {
                reentryRefused = false;
            } catch {
                reentryRefused = true;
            }
        }
    }
}
