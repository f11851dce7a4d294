// SPDX-License-Identifier: MIT
// Seed 002's contract, as printed, with the two smallest fixes that make it compile under
// solc 0.8 and let payMiner pay. Each change is marked "YUN FIX".
pragma solidity ^0.8.0;

// 定义矿工结构体
struct Miner {
    address payable minerAddress;
    uint256 totalComputePower;
    uint256 lastPaymentTime;
}

// 去中心化算力市场智能合约
contract DecentralizedComputeMarket {
    // 存储矿工信息
    mapping(address => Miner) public miners;
    // 存储用户需求
    mapping(bytes32 => bytes32) public computeRequests;

    // 智能合约部署者
    address public owner;

    // 构造函数，设置合约部署者为拥有者
    constructor() {
        owner = msg.sender;
    }

    // 添加矿工
    function addMiner(address _minerAddress, uint256 _computePower) external {
        require(msg.sender == owner, "Only owner can add miners");
        miners[_minerAddress] = Miner({
            minerAddress: payable(_minerAddress),
            totalComputePower: _computePower,
            lastPaymentTime: block.timestamp
        });
    }

    // 发布计算需求
    function postComputeRequest(bytes32 _requestId, bytes32 _minersSig) external {
        require(msg.sender != owner, "Owner cannot post requests");
        computeRequests[_requestId] = _minersSig;
    }

    // 矿工确认计算需求
    function confirmComputeRequest(bytes32 _requestId, bytes32 _minerSig) external {
        require(miners[msg.sender].minerAddress != address(0), "Not a registered miner");
        require(keccak256(abi.encodePacked(_requestId)) == computeRequests[_requestId], "Invalid request ID");
        // YUN FIX: keccak256 takes `bytes`; the seed passed the bytes32 `_minerSig` itself,
        // which solc 0.8 refuses. abi.encodePacked of a bytes32 is its 32 bytes, as the
        // line above already does for `_requestId`.
        require(keccak256(abi.encodePacked(_requestId)) == keccak256(abi.encodePacked(_minerSig)), "Invalid signature");
        // 矿工执行计算任务，并将结果发送给用户
        // ...
    }

    // 用户支付矿工
    // YUN FIX: `payable`, so the user sends the payment with the call; the seed's contract
    // had no way to receive funds, so its `transfer` always failed.
    function payMiner(address _minerAddress, uint256 _payment) external payable {
        require(msg.sender != owner, "Owner cannot pay miners");
        miners[_minerAddress].minerAddress.transfer(_payment);
        miners[_minerAddress].lastPaymentTime = block.timestamp;
    }

    // 查询矿工状态
    function getMinerStatus(address _minerAddress) external view returns (
        uint256 computePower,
        uint256 lastPaymentTime
    ) {
        Miner storage miner = miners[_minerAddress];
        computePower = miner.totalComputePower;
        lastPaymentTime = miner.lastPaymentTime;
    }
}
