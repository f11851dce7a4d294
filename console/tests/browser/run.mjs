// The console's browser tests: real headless Chromium (the system's, driven by Playwright)
// against a devnet this script starts. Every check prints `ok - …` or fails the run; a missing
// browser is a failure, never a skip. Screenshots go to target/console-screenshots/.
//
// Environment: YUN_BIN (the `yun` to run; default <target>/debug/yun), CHROMIUM (default
// /usr/bin/chromium).
import AxeBuilder from '@axe-core/playwright';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startDevnet } from './devnet.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repoRoot, 'target');
const yunBin = process.env.YUN_BIN ?? join(targetDir, 'debug/yun');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = join(repoRoot, 'target/console-screenshots');
const vectors = JSON.parse(readFileSync(join(here, '../vectors.json'), 'utf8'));

function fail(msg) {
  console.error(`not ok - ${msg}`);
  process.exitCode = 1;
  throw new Error(msg);
}
if (!existsSync(chromiumPath)) fail(`no Chromium at ${chromiumPath}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM`);
if (!existsSync(yunBin)) fail(`no yun binary at ${yunBin}: build it (cargo build --bin yun) or set YUN_BIN`);
mkdirSync(shots, { recursive: true });

const results = [];
async function check(name, f) {
  const t0 = Date.now();
  try {
    await f();
    results.push(name);
    console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    console.error(`not ok - ${name}: ${e.stack ?? e}`);
    process.exitCode = 1;
  }
}

const expectTrue = (cond, msg) => {
  if (!cond) throw new Error(msg);
};

const net = await startDevnet(yunBin, repoRoot);
const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
/** Every request body any page sent, to prove no key left the browser. */
const sentBodies = [];
const newPage = async (viewport = { width: 1280, height: 900 }) => {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await ctx.newPage();
  page.on('request', (r) => {
    const b = r.postData();
    if (b) sentBodies.push(b);
    sentBodies.push(r.url());
    for (const v of Object.values(r.headers())) sentBodies.push(v);
  });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  return page;
};
const heightOf = async (page) => Number((await page.getByTestId('height').textContent()) || '0');
async function axe(page, name) {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
  const bad = r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  expectTrue(bad.length === 0, `${name}: accessibility violations:\n  ${bad.join('\n  ')}`);
}

try {
  const console_built = await (await fetch(`${net.url}/`)).text();
  if (!console_built.includes('<script type="module"')) fail(`${yunBin} was built without the console: run ./scripts/build-console, then rebuild yun`);

  await check('first load of the overview: time and bytes', async () => {
    const page = await newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    let bytes = 0;
    let requests = 0;
    cdp.on('Network.loadingFinished', (e) => {
      bytes += e.encodedDataLength;
      requests += 1;
    });
    const t0 = Date.now();
    await page.goto(`${net.url}/`);
    await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-testid=height]')?.textContent ?? ''));
    const ms = Date.now() - t0;
    const nav = await page.evaluate(() => JSON.parse(JSON.stringify(performance.getEntriesByType('navigation')[0])));
    const line = `first load: overview with data in ${ms} ms (DOMContentLoaded ${Math.round(nav.domContentLoadedEventEnd)} ms, load ${Math.round(nav.loadEventEnd)} ms), ${requests} finished requests, ${bytes} bytes transferred (the event stream stays open and is not counted)`;
    console.log(`# ${line}`);
    writeFileSync(join(shots, 'first-load.txt'), line + '\n');
    await page.close();
  });

  const page = await newPage();
  await check('the overview shows a rising height', async () => {
    await page.goto(`${net.url}/#/overview`);
    await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-testid=height]')?.textContent ?? ''));
    const before = await heightOf(page);
    await net.cli(['tx', 'transfer', '--from', 'dev5', '--to', 'dev6', '--amount', '1000']);
    await page.waitForFunction((b) => Number(document.querySelector('[data-testid=height]')?.textContent) > b, before, { timeout: 30_000 });
    expectTrue((await heightOf(page)) > before, 'height did not rise');
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });
    await axe(page, 'overview');
  });

  await check('a bad address in the search box gets a clear message', async () => {
    await page.fill('#search', 'yun1thisisnotanaddress');
    await page.press('#search', 'Enter');
    await page.waitForFunction(() => /not a valid address/.test(document.getElementById('search-message')?.textContent ?? ''));
    await page.fill('#search', 'hello world');
    await page.press('#search', 'Enter');
    await page.waitForFunction(() => /is not an address/.test(document.getElementById('search-message')?.textContent ?? ''));
    await page.screenshot({ path: join(shots, 'search-bad-address.png') });
  });

  await check('keyboard: skip link, navigation and search work without a mouse', async () => {
    await page.goto('about:blank');
    await page.goto(`${net.url}/#/overview`);
    await page.waitForSelector('main h1');
    await page.keyboard.press('Tab');
    expectTrue((await page.evaluate(() => document.activeElement?.textContent)) === 'Skip to content', 'first Tab does not reach the skip link');
    await page.keyboard.press('Enter');
    expectTrue((await page.evaluate(() => document.activeElement?.id)) === 'main', 'the skip link does not focus the content');
    await page.focus('nav a[data-route=market]');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/market$/);
    await page.focus('#search');
    await page.keyboard.type(net.dev[1].address);
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`#/account/${net.dev[1].address}$`));
  });

  await check('a mnemonic imported in the browser is kept encrypted; a transfer signed there is found committed by the explorer', async () => {
    const w = page;
    await w.goto(`${net.url}/#/wallet`);
    await w.fill('#import-name', 'mine');
    await w.fill('#import-mnemonic', vectors.mnemonic);
    await w.fill('#import-pass', 'a long passphrase');
    await w.click('form[aria-label="Import a mnemonic"] button[type=submit]');
    await w.waitForFunction(() => /Imported yun1/.test(document.body.textContent ?? ''));
    const stored = await w.evaluate(() => localStorage.getItem('yun.console.wallet.v1') ?? '');
    expectTrue(!stored.includes(vectors.secret_hex) && !stored.includes(vectors.mnemonic.split(' ').slice(0, 3).join(' ')), 'the key is stored in the clear');
    await w.fill('input[aria-label="Passphrase for mine"]', 'a long passphrase');
    await w.press('input[aria-label="Passphrase for mine"]', 'Enter');
    await w.waitForSelector(`[data-testid=unlocked] a[title="${vectors.address}"]`);
    await w.fill('#transfer-to', net.dev[3].address);
    await w.fill('#transfer-amount', '4242');
    await w.click('form[aria-label="Transfer"] button[type=submit]');
    await w.waitForSelector('[data-testid=tx-outcome]', { timeout: 60_000 });
    const outcome = await w.getByTestId('tx-outcome').textContent();
    expectTrue(outcome === 'Committed', `transfer outcome: ${outcome}`);
    const id = (await w.getByTestId('sent-tx').getAttribute('href')).replace('#/tx/', '');
    await w.screenshot({ path: join(shots, 'wallet.png'), fullPage: true });
    await axe(w, 'wallet');
    await w.fill('#search', id);
    await w.press('#search', 'Enter');
    await w.waitForURL(new RegExp(`#/tx/${id}$`));
    await w.waitForFunction(() => document.querySelector('[data-testid=tx-state]')?.textContent === 'committed');
    expectTrue((await w.textContent('main')).includes('4,242'), 'the explorer does not show the amount');
    await w.screenshot({ path: join(shots, 'transaction.png'), fullPage: true });
    await w.goto(`${net.url}/#/account/${net.dev[3].address}`);
    await w.waitForSelector(`a[href="#/tx/${id}"]`);
    await w.screenshot({ path: join(shots, 'account.png'), fullPage: true });
  });

  await check('a keystore file written by the CLI imports in the browser', async () => {
    await page.goto(`${net.url}/#/wallet`);
    await page.setInputFiles('#keystore-file', { name: 'dev0', mimeType: 'application/json', buffer: Buffer.from(vectors.keystore.json) });
    await page.fill('#keystore-name', 'from-file');
    await page.fill('#keystore-pass', 'wrong passphrase');
    await page.click('form[aria-label="Import a keystore file"] button[type=submit]');
    await page.waitForFunction(() => /wrong passphrase/.test(document.querySelector('form[aria-label="Import a keystore file"]')?.textContent ?? ''));
    await page.fill('#keystore-pass', vectors.keystore.passphrase);
    await page.click('form[aria-label="Import a keystore file"] button[type=submit]');
    await page.waitForFunction((a) => (document.querySelector('form[aria-label="Import a keystore file"]')?.textContent ?? '').includes(`Imported ${a}`), vectors.address);
  });

  await check('a delegation signed in the browser is committed', async () => {
    const validator = (await (await fetch(`${net.url}/v1/status`)).json()).validators[0];
    await page.goto(`${net.url}/#/staking`);
    await page.fill('#delegate-validator', validator);
    await page.fill('#delegate-amount', '2000');
    await page.click('form[aria-label="Delegate"] button[type=submit]');
    await page.waitForSelector('[data-testid=tx-outcome]', { timeout: 60_000 });
    const outcome = await page.getByTestId('tx-outcome').textContent();
    expectTrue(outcome === 'Committed', `delegation outcome: ${outcome}`);
    await page.screenshot({ path: join(shots, 'staking.png'), fullPage: true });
    await axe(page, 'staking');
  });

  await check('a job submitted with the CLI is followed to settled; its output downloads and verifies in the browser', async () => {
    const jobDir = join(net.dir, 'job');
    mkdirSync(jobDir, { recursive: true });
    const wasm = join(repoRoot, 'guest/target/wasm32-wasip1/release/pi.wasm');
    expectTrue(existsSync(wasm), `no ${wasm}: run ./scripts/build-guest`);
    writeFileSync(
      join(jobDir, 'job.toml'),
      `program = "${wasm}"\nargs = ["--samples", "200000"]\nfuel_per_task = 300_000_000\nmemory_mb = 64\nbid_per_mfuel = "100"\ndeadline_blocks = 600\n[verification]\npolicy = "replicate"\nk = 3\nquorum = 2\n[inputs]\ncount = 2\n`,
    );
    const before = new Set((await (await fetch(`${net.url}/v1/jobs?limit=100`)).json()).jobs.map((j) => j.id));
    const submitted = net.cli(['job', 'submit', join(jobDir, 'job.toml'), '--out', join(jobDir, 'out')], { timeoutMs: 400_000 });
    let id;
    for (let i = 0; i < 120 && !id; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      id = (await (await fetch(`${net.url}/v1/jobs?limit=100`)).json()).jobs.map((j) => j.id).find((j) => !before.has(j));
    }
    expectTrue(id, 'the CLI posted no job within 120 s');
    await page.goto(`${net.url}/#/job/${id}`);
    await page.waitForFunction(() => document.querySelector('[data-testid=job-status]')?.textContent === 'settled', null, { timeout: 300_000 });
    await page.click('[data-testid=download-0]');
    await page.waitForSelector('[data-testid=verified-0]', { timeout: 30_000 });
    await page.screenshot({ path: join(shots, 'job.png'), fullPage: true });
    await axe(page, 'job');
    await submitted;
  });

  await check('a job submitted from the browser (program uploaded under a ticket signed there) runs to settled', async () => {
    const wasm = join(repoRoot, 'guest/target/wasm32-wasip1/release/pi.wasm');
    await page.goto(`${net.url}/#/wallet`);
    await page.click('[data-testid=use-dev7]');
    await page.goto(`${net.url}/#/jobs`);
    await page.setInputFiles('#job-program', wasm);
    await page.fill('#job-count', '1');
    await page.fill('#job-args', '--samples 100000');
    await page.click('form[aria-label="Submit a job"] button[type=submit]');
    await page.waitForURL(/#\/job\/[0-9a-f]{64}$/, { timeout: 120_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid=job-status]')?.textContent === 'settled', null, { timeout: 300_000 });
    expectTrue((await page.getByTestId('task-0-phase').textContent()) === 'verified', 'the browser job did not verify');
    await page.screenshot({ path: join(shots, 'job-from-browser.png'), fullPage: true });
  });

  await check('a proposal made and voted with the CLI is followed on the governance pages', async () => {
    await net.cli(['gov', 'lock', '--amount', '1000000', '--from', 'dev4']);
    await net.cli(['gov', 'propose', '--text', 'Console test proposal', '--from', 'dev4']);
    await net.cli(['gov', 'vote', '1', 'yes', '--from', 'dev4']);
    await page.goto(`${net.url}/#/governance`);
    await page.waitForFunction(() => (document.querySelector('main')?.textContent ?? '').includes('Console test proposal'), null, { timeout: 30_000 });
    await page.screenshot({ path: join(shots, 'governance.png'), fullPage: true });
    await axe(page, 'governance');
    await page.click('a[href="#/proposal/1"]');
    await page.waitForFunction(() => (document.querySelector('main')?.textContent ?? '').includes('Votes so far'), null, { timeout: 30_000 });
    const text = await page.textContent('main');
    expectTrue(text.includes('voting') && text.includes('yes'), `the proposal page lacks its status or vote: ${text.slice(0, 400)}`);
    await page.screenshot({ path: join(shots, 'proposal.png'), fullPage: true });
    await axe(page, 'proposal');
  });

  await check('every other page renders and passes the accessibility checks', async () => {
    for (const route of ['explorer', 'market', 'jobs', 'storage']) {
      await page.goto(`${net.url}/#/${route}`);
      await page.waitForSelector('main h1');
      await page.waitForLoadState('networkidle').catch(() => {});
      await page.waitForTimeout(300);
      expectTrue(!(await page.$('main .error')), `${route} shows an error: ${await page.textContent('main')}`);
      await page.screenshot({ path: join(shots, `${route}.png`), fullPage: true });
      await axe(page, route);
    }
  });

  await check('at 375 px wide the overview and the wallet fit the screen', async () => {
    const narrow = await newPage({ width: 375, height: 800 });
    for (const route of ['overview', 'wallet', 'explorer']) {
      await narrow.goto(`${net.url}/#/${route}`);
      await narrow.waitForSelector('main h1');
      await narrow.waitForTimeout(500);
      const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expectTrue(overflow <= 1, `${route} is ${overflow} px wider than a 375 px screen`);
      await narrow.screenshot({ path: join(shots, `${route}-375px.png`), fullPage: true });
    }
    await narrow.context().close();
  });

  await check('no request the pages sent carries the mnemonic or the secret key', async () => {
    const words = vectors.mnemonic.split(' ');
    const phrases = [vectors.secret_hex, vectors.mnemonic, words.slice(0, 4).join(' '), words.slice(0, 4).join('+'), words.slice(0, 4).join('%20')];
    const leaked = sentBodies.filter((b) => phrases.some((p) => b.includes(p)));
    expectTrue(sentBodies.length > 0, 'no request was recorded');
    expectTrue(leaked.length === 0, `a request carried key material: ${leaked[0]?.slice(0, 120)}`);
  });
} finally {
  await browser.close().catch(() => {});
  await net.stop();
}
console.log(`# ${results.length} passed${process.exitCode ? ', some FAILED' : ''}; screenshots in ${shots}`);
