// Compiles the compute contracts (ComputeBounty, and the test-only ComputeProbe) with
// solc-js, the settings every test uses. `node test/compile.mjs --write` writes their ABI
// and creation bytecode to crates/state/tests/fixtures/NAME.json, which the state tests
// read with alloy's `sol!` and deploy; the devnet test (test/compute.mjs) fails when those
// files differ from a fresh compile.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import solc from "solc";

export const here = fileURLToPath(new URL("..", import.meta.url));
export const fixtures = here + "../../crates/state/tests/fixtures/";

const files = ["IYunCompute.sol", "ComputeBounty.sol", "test/ComputeProbe.sol"];

export function compile() {
  const sources = {};
  for (const f of files) sources[f] = { content: readFileSync(here + f, "utf8") };
  const input = {
    language: "Solidity",
    sources,
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: (p) => ({ contents: readFileSync(here + p, "utf8") }) }));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  assert.equal(errors.length, 0, errors.map((e) => e.formattedMessage).join("\n"));
  const pick = (file, name) => {
    const c = out.contracts[file][name];
    return { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
  };
  return {
    bounty: pick("ComputeBounty.sol", "ComputeBounty"),
    probe: pick("test/ComputeProbe.sol", "ComputeProbe"),
    yun: pick("IYunCompute.sol", "IYunCompute"),
  };
}

/// The fixture files' names and the bytecode each must hold.
export function fixtureFiles(c) {
  const json = (x) => JSON.stringify({ abi: x.abi, bytecode: x.bytecode }, null, 1) + "\n";
  return [
    ["ComputeBounty.json", json(c.bounty)],
    ["ComputeProbe.json", json(c.probe)],
  ];
}

/// The fixtures that differ from a fresh compile (empty when all are current).
export function staleFixtures(c) {
  return fixtureFiles(c)
    .filter(([name, text]) => {
      try {
        return readFileSync(fixtures + name, "utf8") !== text;
      } catch {
        return true;
      }
    })
    .map(([name]) => name);
}

if (process.argv[2] === "--write") {
  for (const [name, text] of fixtureFiles(compile())) {
    writeFileSync(fixtures + name, text);
    console.log(`wrote ${fixtures + name}`);
  }
}
