// Starts a `yun devnet` for the browser tests on a free 127.0.0.1 port, in a temporary
// directory, and runs CLI commands against it.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Runs `yun devnet` until its banner is printed; resolves with its URL and dev accounts. */
export async function startDevnet(yunBin, repoRoot) {
  const dir = mkdtempSync(join(tmpdir(), 'yun-console-test-'));
  const port = await freePort();
  const env = { ...process.env, YUN_HOME: join(dir, 'home') };
  delete env.YUN_NODE;
  delete env.YUN_DEVNET_DIR;
  const child = spawn(yunBin, ['devnet', '--data-dir', join(dir, 'chain'), '--port', String(port)], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let banner = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`devnet did not start in 120 s:\n${banner}\n${stderr}`)), 120_000);
    child.stdout.on('data', (d) => {
      banner += d;
      if (banner.includes('Stop with Ctrl-C')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`devnet exited (${code}):\n${banner}\n${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const dev = [...banner.matchAll(/^\s+(dev\d+)\s+(yun1\w+)\s*\n\s+([a-z ]+)$/gm)].map((m) => ({ name: m[1], address: m[2], mnemonic: m[3].trim() }));
  const cli = (args, opts = {}) =>
    new Promise((resolve, reject) => {
      execFile(yunBin, [...args, '--node', url], { cwd: repoRoot, env, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 1 << 24 }, (err, stdout, se) =>
        err ? reject(new Error(`yun ${args.join(' ')} failed: ${err.message}\n${stdout}\n${se}`)) : resolve(stdout),
      );
    });
  /** Stops the devnet (SIGTERM, SIGKILL after 10 s) and removes its directory. */
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, port, banner, dev, cli, stop, dir };
}
