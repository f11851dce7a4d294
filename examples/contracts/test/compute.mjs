// ComputeBounty on a Yun devnet, from ethers.js v6: a contract buys verified compute.
// The sponsor deploys the bounty, quotes and posts a pi job (replicated 3 times, 2 must
// agree, with a reduce step) through the precompile at 0x…7963, the devnet's providers run
// it, and the chain's callback pays the claimant. Also checks that the state tests'
// compiled fixtures are current. Prints "ok - …" per check; exits non-zero on the first
// failure. Env: RPC_URL, SPONSOR_KEY, CLAIMANT_KEY (devnet test keys), PROGRAM_ROOT and
// PROGRAM_BYTES (pi.wasm, uploaded to the node), TASKS.
import assert from "node:assert/strict";
import { ethers } from "ethers";
import solc from "solc";
import { compile, staleFixtures } from "./compile.mjs";

const YUN = "0x0000000000000000000000000000000000007963";
// blake3 of no bytes: the root of an empty input (nothing to upload).
const EMPTY_ROOT = "0xaf1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
const ok = (what) => console.log(`ok - ${what}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const c = compile();
  ok(`compiled with solc ${solc.version()}`);
  assert.deepEqual(staleFixtures(c), [], "stale fixtures: run `node test/compile.mjs --write`");
  ok("the state tests' fixtures match a fresh compile");

  const provider = new ethers.JsonRpcProvider(process.env.RPC_URL, undefined, {
    pollingInterval: 100,
    cacheTimeout: -1,
  });
  const sponsor = new ethers.Wallet(process.env.SPONSOR_KEY, provider);
  const claimant = new ethers.Wallet(process.env.CLAIMANT_KEY, provider);
  const yun = new ethers.Contract(YUN, c.yun.abi, provider);

  const bounty = ethers.parseEther("1");
  const factory = new ethers.ContractFactory(c.bounty.abi, c.bounty.bytecode, sponsor);
  const b = await factory.deploy(claimant.address, ethers.ZeroHash, bounty, { value: bounty });
  await b.deploymentTransaction().wait();
  ok(`ComputeBounty deployed at ${await b.getAddress()} holding a bounty of 1 ETH-unit`);

  const program = { root: process.env.PROGRAM_ROOT, bytes: BigInt(process.env.PROGRAM_BYTES) };
  const tasks = Number(process.env.TASKS || "2");
  const job = {
    programRoot: program.root,
    programBytes: program.bytes,
    tasks: Array.from({ length: tasks }, () => ({
      inputRoot: EMPTY_ROOT,
      inputBytes: 0n,
      args: ["--samples", "200000"],
    })),
    fuelPerTask: 500_000_000n,
    memoryBytesPerTask: 32n << 20n,
    policy: 1,
    k: 3,
    quorum: 2,
    targetErrorPpm: 0,
    bidPerMfuel: 1000n,
    deadlineBlocks: 600n,
    reduce: [{ programRoot: program.root, programBytes: program.bytes, args: ["--merge"] }],
    dataSources: [],
    callbackGas: 300_000n,
  };
  const [escrow, reserve] = await yun.quote(job);
  ok(`quote: escrow ${escrow}, callback reserve ${reserve}`);

  // Not the sponsor: refused with the contract's reason.
  await assert.rejects(b.connect(claimant).post(job), /only the sponsor posts/);
  ok('a stranger\'s post reverts with "only the sponsor posts"');
  // Too much callback gas: the precompile's numbered refusal reaches ethers as YunRejected.
  await assert.rejects(yun.quote({ ...job, callbackGas: 10n ** 9n }), (e) => {
    const parsed = yun.interface.parseError(e.data);
    return parsed.name === "YunRejected" && parsed.args.code === 98n;
  });
  ok("callback gas above evm.callback_gas_max is refused: YunRejected(98, CallbackGasTooHigh)");

  const receipt = await (await b.post(job, { value: escrow + reserve })).wait();
  assert.equal(receipt.status, 1);
  const posted = receipt.logs
    .filter((l) => l.address.toLowerCase() === YUN)
    .map((l) => yun.interface.parseLog(l))
    .find((e) => e && e.name === "JobPosted");
  assert.ok(posted, "the precompile logged JobPosted");
  const jobId = posted.args.jobId;
  assert.equal(posted.args.requester, await b.getAddress());
  assert.equal(posted.args.escrow, escrow);
  assert.equal(await b.jobId(), jobId);
  console.log(`job ${jobId}`);
  ok(`the contract posted job ${jobId} in block ${receipt.blockNumber}`);

  const before = await provider.getBalance(claimant.address);
  const deadline = Date.now() + 240_000;
  while (!(await b.settled())) {
    assert.ok(Date.now() < deadline, "the job settles within 4 minutes");
    await sleep(500);
  }
  const [known, settled, success, gasUsed] = await yun.callbackOf(jobId);
  assert.ok(known && settled && success, "the callback ran and succeeded");
  ok(`the chain called the contract back (${gasUsed} gas)`);
  assert.equal(await b.paid(), true, "a verified result");
  const after = await provider.getBalance(claimant.address);
  assert.equal(after - before, bounty);
  ok("the callback released the bounty: the claimant's balance rose by exactly the bounty");
  const digest = await b.resultDigest();
  assert.notEqual(digest, ethers.ZeroHash);
  console.log(`result digest ${digest}`);
  ok("the verified reduce digest is stored in the contract");

  // The sponsor takes back what the job did not spend.
  const left = await provider.getBalance(await b.getAddress());
  assert.ok(left > 0n && left < escrow + reserve);
  await (await b.reclaim(left)).wait();
  assert.equal(await provider.getBalance(await b.getAddress()), 0n);
  ok(`the sponsor reclaimed the unspent escrow and reserve (${left})`);
  console.log("all ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
