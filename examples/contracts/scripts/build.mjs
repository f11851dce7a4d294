// Compiles the contracts whose bytecode Rust embeds (BenchToken, for `yun bench evm`) with
// solc-js and writes build/<Name>.bin (hex, no 0x). With --check it writes nothing and fails
// when a committed .bin differs from what the source compiles to, so the two cannot drift.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import solc from "solc";

const here = fileURLToPath(new URL("..", import.meta.url));
const EMBEDDED = ["BenchToken"];
const check = process.argv.includes("--check");

function compile(name) {
  const input = {
    language: "Solidity",
    sources: { [`${name}.sol`]: { content: readFileSync(`${here}${name}.sol`, "utf8") } },
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 200 },
      // No metadata hash: the bytecode then depends on the source alone, not on file paths.
      metadata: { bytecodeHash: "none", appendCBOR: false },
      outputSelection: { "*": { "*": ["evm.bytecode.object"] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  return out.contracts[`${name}.sol`][name].evm.bytecode.object;
}

let stale = 0;
for (const name of EMBEDDED) {
  const path = `${here}build/${name}.bin`;
  const bin = compile(name);
  if (check) {
    let committed = "";
    try { committed = readFileSync(path, "utf8").trim(); } catch {}
    if (committed !== bin) {
      console.error(`stale - build/${name}.bin differs from ${name}.sol compiled with solc ${solc.version()}; run: node scripts/build.mjs`);
      stale += 1;
    } else {
      console.log(`ok - build/${name}.bin is ${name}.sol compiled with solc ${solc.version()}`);
    }
  } else {
    writeFileSync(path, bin + "\n");
    console.log(`wrote build/${name}.bin (${bin.length / 2} bytes)`);
  }
}
process.exit(stale ? 1 : 0);
