// Seed 002's DecentralizedComputeMarket on a Yun devnet, from ethers.js v6: compile with
// solc-js, deploy, add a miner, post, confirm, pay, read the status, and check an owner's
// post reverts with its reason. Prints "ok - …" per check; exits non-zero on the first
// failure. Env: RPC_URL, and OWNER_KEY, USER_KEY, MINER_KEY (the devnet's test keys).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import solc from "solc";
import { ethers } from "ethers";

const here = fileURLToPath(new URL("..", import.meta.url));
const source = readFileSync(here + "DecentralizedComputeMarket.sol", "utf8");

function compile() {
  const input = {
    language: "Solidity",
    sources: { "DecentralizedComputeMarket.sol": { content: source } },
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  assert.equal(errors.length, 0, errors.map((e) => e.formattedMessage).join("\n"));
  const c = out.contracts["DecentralizedComputeMarket.sol"].DecentralizedComputeMarket;
  return { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
}

const ok = (what) => console.log(`ok - ${what}`);

async function main() {
  const { abi, bytecode } = compile();
  ok(`compiled with solc ${solc.version()}`);
  const provider = new ethers.JsonRpcProvider(process.env.RPC_URL, undefined, {
    pollingInterval: 100,
    // Blocks come every few tens of milliseconds here: ethers' 250 ms request cache would
    // answer a second "pending" nonce from before the first transaction was mined.
    cacheTimeout: -1,
  });
  if (process.env.RPC_TRACE) {
    const send = provider._send.bind(provider);
    provider._send = async (p) => { const r = await send(p); console.error("rpc", JSON.stringify(p).slice(0, 200), "=>", JSON.stringify(r).slice(0, 200)); return r; };
  }
  const net = await provider.getNetwork();
  ok(`chain id ${net.chainId}`);
  const owner = new ethers.Wallet(process.env.OWNER_KEY, provider);
  const user = new ethers.Wallet(process.env.USER_KEY, provider);
  const miner = new ethers.Wallet(process.env.MINER_KEY, provider);

  const factory = new ethers.ContractFactory(abi, bytecode, owner);
  const deployed = await factory.deploy();
  const deployReceipt = await deployed.deploymentTransaction().wait();
  assert.equal(deployReceipt.status, 1);
  const address = await deployed.getAddress();
  assert.equal(deployReceipt.contractAddress, address);
  assert.ok((await provider.getCode(address)).length > 2, "code is stored");
  assert.equal(await deployed.owner(), owner.address);
  ok(`deployed at ${address} in block ${deployReceipt.blockNumber}`);

  const asOwner = deployed.connect(owner);
  const asUser = deployed.connect(user);
  const asMiner = deployed.connect(miner);

  let receipt = await (await asOwner.addMiner(miner.address, 1000)).wait();
  assert.equal(receipt.status, 1);
  const added = await asOwner.miners(miner.address);
  assert.equal(added.minerAddress, miner.address);
  assert.equal(added.totalComputePower, 1000n);
  ok("the owner adds a miner");

  const requestId = ethers.id("request-1");
  const minersSig = ethers.keccak256(requestId);
  receipt = await (await asUser.postComputeRequest(requestId, minersSig)).wait();
  assert.equal(receipt.status, 1);
  assert.equal(await asUser.computeRequests(requestId), minersSig);
  ok("a user posts a request");

  receipt = await (await asMiner.confirmComputeRequest(requestId, requestId)).wait();
  assert.equal(receipt.status, 1);
  ok("the miner confirms it");

  const payment = ethers.parseUnits("1", "gwei");
  const before = await provider.getBalance(miner.address);
  receipt = await (await asUser.payMiner(miner.address, payment, { value: payment })).wait();
  assert.equal(receipt.status, 1);
  const after = await provider.getBalance(miner.address);
  assert.equal(after - before, payment, "the miner's balance rises by the payment");
  ok(`the user pays the miner ${payment} wei and its balance rises by exactly that`);

  const block = await provider.getBlock(receipt.blockNumber);
  const [power, lastPaid] = await asUser.getMinerStatus(miner.address);
  assert.equal(power, 1000n);
  assert.equal(lastPaid, BigInt(block.timestamp));
  ok(`getMinerStatus returns (${power}, ${lastPaid}), the payment block's time`);

  await assert.rejects(asOwner.postComputeRequest(requestId, minersSig), (e) => {
    assert.equal(e.code, "CALL_EXCEPTION", e.message);
    assert.equal(e.reason, "Owner cannot post requests", e.message);
    return true;
  });
  ok('an owner\'s postComputeRequest reverts with "Owner cannot post requests"');

  // Receipts and logs as ethers reads them: by hash, in their block, and a block's list.
  const tx = await provider.getTransaction(receipt.hash);
  assert.equal(tx.from, user.address);
  assert.equal(tx.blockNumber, receipt.blockNumber);
  const again = await provider.getTransactionReceipt(receipt.hash);
  assert.equal(again.blockHash, block.hash);
  assert.equal(again.gasUsed, receipt.gasUsed);
  assert.ok(block.transactions.includes(receipt.hash));
  const logs = await provider.getLogs({ fromBlock: 0, toBlock: "latest", address });
  assert.ok(Array.isArray(logs));
  ok("transactions, receipts, blocks and logs read back as ethers expects");
}

main().then(
  () => console.log("all ok"),
  (e) => {
    console.error("not ok -", e);
    process.exit(1);
  },
);
