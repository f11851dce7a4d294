// SPDX-License-Identifier: MIT
// A bounty paid only for a verified result (issue 19, step 4).
//
// A sponsor deploys it with the bounty, names who earns it (the claimant: whoever brought
// the question, wrote the program, or will use the answer) and, optionally, the output
// digest a correct answer must have. It posts one Yun job through the compute precompile,
// paid from its own balance. The chain runs the job on independent providers, verifies it by
// the job's policy (for example 3 replicas, 2 of which must agree bit for bit) and calls
// onYunJobSettled back when the job settles.
//
// "A wrong result is never paid" means: the bounty leaves this contract only inside the
// chain's own callback (msg.sender is the precompile, which no account can impersonate: its
// address has no key and no code), for the job this contract posted, and only when every
// task's verdict was accepted by the job's verification policy, exited with code 0, and the
// final output (the reduce task's, when the job has one) equals the expected digest if one
// was set. A task whose replicas disagreed without a quorum, expired, or missed the deadline
// is not verified, and then the bounty goes back to the sponsor instead. Providers are paid
// by the market from the job's escrow, never from the bounty.
pragma solidity ^0.8.20;

import "./IYunCompute.sol";

contract ComputeBounty is IYunComputeReceiver {
    IYunCompute public constant YUN = IYunCompute(0x0000000000000000000000000000000000007963);

    address payable public immutable sponsor;
    address payable public immutable claimant;
    /// Zero: any verified result earns the bounty.
    bytes32 public immutable expectedDigest;
    uint256 public immutable bounty;

    bytes32 public jobId;
    bool public settled;
    bool public paid;
    /// The verified final output digest (zero until a verified result arrived).
    bytes32 public resultDigest;
    /// What could not be sent in the callback (a payee that refuses value); withdraw() sends it.
    mapping(address => uint256) public owed;
    uint256 public totalOwed;

    event JobPosted(bytes32 indexed jobId);
    event BountyPaid(bytes32 indexed jobId, address indexed claimant, uint256 amount, bytes32 digest);
    event BountyReturned(bytes32 indexed jobId, address indexed sponsor, uint256 amount, string why);

    constructor(address payable claimant_, bytes32 expectedDigest_, uint256 bounty_) payable {
        require(msg.value >= bounty_, "fund at least the bounty");
        sponsor = payable(msg.sender);
        claimant = claimant_;
        expectedDigest = expectedDigest_;
        bounty = bounty_;
    }

    receive() external payable {}

    /// Posts the job, once. Escrow and callback reserve come from this contract's balance
    /// beyond the bounty (send them with the call or before).
    function post(YunJob calldata job) external payable returns (bytes32) {
        require(msg.sender == sponsor, "only the sponsor posts");
        require(jobId == bytes32(0), "already posted");
        (uint256 escrow, uint256 reserve) = YUN.quote(job);
        require(address(this).balance >= bounty + escrow + reserve, "fund the job beyond the bounty");
        jobId = YUN.postJob(job);
        emit JobPosted(jobId);
        return jobId;
    }

    function onYunJobSettled(bytes32 id, YunTaskResult[] calldata results) external {
        require(msg.sender == address(YUN), "only the chain calls back");
        require(id == jobId && !settled, "not this contract's job");
        settled = true;
        (bool ok, string memory why) = verdict(results);
        if (ok) {
            paid = true;
            resultDigest = results[results.length - 1].outputDigest;
            emit BountyPaid(id, claimant, bounty, resultDigest);
            pay(claimant, bounty);
        } else {
            emit BountyReturned(id, sponsor, bounty, why);
            pay(sponsor, bounty);
        }
    }

    /// Whether the results earn the bounty, and why not.
    function verdict(YunTaskResult[] calldata results) public view returns (bool, string memory) {
        if (results.length == 0) return (false, "no results");
        for (uint256 i = 0; i < results.length; i++) {
            if (!results[i].verified) return (false, "a task was not verified");
            if (results[i].statusTag != 0 || results[i].statusValue != 0) {
                return (false, "a task did not exit 0");
            }
        }
        bytes32 last = results[results.length - 1].outputDigest;
        if (expectedDigest != bytes32(0) && last != expectedDigest) {
            return (false, "the verified output is not the expected one");
        }
        return (true, "");
    }

    /// Sends what a payee could not receive in the callback.
    function withdraw() external {
        uint256 amount = owed[msg.sender];
        owed[msg.sender] = 0;
        totalOwed -= amount;
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        require(ok, "transfer failed");
    }

    /// After settlement, the sponsor takes back what the job did not spend (the market's
    /// refund and the callback's unused reserve arrive here), leaving what is owed.
    function reclaim(uint256 amount) external {
        require(msg.sender == sponsor && settled, "only the sponsor, after settlement");
        require(address(this).balance - totalOwed >= amount, "that much is owed to others");
        (bool ok,) = sponsor.call{value: amount}("");
        require(ok, "transfer failed");
    }

    /// A plain transfer with little gas (so a payee cannot spend the callback's); a payee
    /// that refuses it is owed instead.
    function pay(address payable to, uint256 amount) private {
        (bool ok,) = to.call{value: amount, gas: 10000}("");
        if (!ok) {
            owed[to] += amount;
            totalOwed += amount;
        }
    }
}
