//! The forms that sign: a transfer, a delegation, a job (program and inputs uploaded, then
//! posted). Each shows the unlocked account, the outcome, and a link to what it made.

import { blake3 } from '@noble/hashes/blake3.js';
import { get, type Status } from '../chain/api';
import { hex } from '../chain/codec';
import { parseAddress } from '../chain/keys';
import type { Action, JobSpec } from '../chain/tx';
import type { Ctx } from '../pages/page';
import { h, link } from '../ui';
import { send, settle, upload } from './send';
import { current, onChange } from './vault';

function field(label: string, input: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLElement {
  input.id ||= `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hint ? h('small', null, hint) : null);
}

/** Parses a whole number of base units. */
function units(s: string, what: string): bigint {
  if (!/^\d+$/.test(s.trim())) throw new Error(`${what} must be a whole number of base units`);
  return BigInt(s.trim());
}

/** A form that needs the unlocked key: says so while there is none. */
function signingForm(title: string, build: (out: HTMLElement) => HTMLFormElement): HTMLElement {
  const wrap = h('div', { class: 'signing' });
  const draw = () => {
    const who = current();
    const out = h('div', { class: 'outcome', role: 'status', 'aria-live': 'polite' });
    wrap.replaceChildren(
      who
        ? h('div', null, h('p', null, 'Signing as ', h('strong', null, who.name), ' ', h('span', { class: 'mono' }, who.account.address)), build(out), out)
        : h('p', null, `To ${title}, unlock a key in the `, link('#/wallet', 'wallet'), ' first.'),
    );
  };
  draw();
  // A form on a page that was left stops following the wallet.
  const off = onChange(() => (wrap.isConnected ? draw() : off()));
  return wrap;
}

async function submitAndWatch(out: HTMLElement, action: Action, onDone?: (id: string) => void): Promise<void> {
  const who = current();
  if (!who) throw new Error('no key is unlocked');
  out.textContent = 'Signing and sending…';
  const { id } = await send(who.account, action);
  out.replaceChildren('Sent ', link(`#/tx/${id}`, id.slice(0, 16) + '…', { 'data-testid': 'sent-tx' }), ', waiting for finality…');
  const r = await settle(id);
  if (r.state === 'committed') {
    out.replaceChildren(
      h('span', { 'data-testid': 'tx-outcome' }, r.success ? 'Committed' : `Committed but failed: ${JSON.stringify(r.failure)}`),
      ' in a block: ',
      link(`#/tx/${id}`, 'see the transaction', { 'data-testid': 'sent-tx' }),
    );
    onDone?.(id);
  } else out.replaceChildren(h('span', { class: 'error', 'data-testid': 'tx-outcome' }, `Rejected: ${r.message}`));
}

function guarded(out: HTMLElement, f: () => Promise<void>): (e: Event) => void {
  return (e) => {
    e.preventDefault();
    f().catch((err: unknown) => out.replaceChildren(h('span', { class: 'error', role: 'alert' }, (err as Error).message)));
  };
}

export function transferForm(): HTMLElement {
  return signingForm('send a transfer', (out) => {
    const to = h('input', { id: 'transfer-to', required: true, autocomplete: 'off', spellcheck: 'false' });
    const amt = h('input', { id: 'transfer-amount', required: true, inputmode: 'numeric' });
    const form = h('form', { 'aria-label': 'Transfer' }, field('To (yun1…)', to), field('Amount (base units)', amt), h('button', { type: 'submit' }, 'Sign and send'));
    form.addEventListener(
      'submit',
      guarded(out, async () => {
        parseAddress(to.value);
        await submitAndWatch(out, { kind: 'transfer', to: to.value.trim(), amount: units(amt.value, 'the amount') });
      }),
    );
    return form;
  });
}

export function delegateForm(_ctx: Ctx): HTMLElement {
  return signingForm('delegate', (out) => {
    const v = h('input', { id: 'delegate-validator', required: true, autocomplete: 'off', spellcheck: 'false' });
    const amt = h('input', { id: 'delegate-amount', required: true, inputmode: 'numeric' });
    const kind = h('select', { id: 'delegate-kind' }, h('option', { value: 'delegate' }, 'Delegate'), h('option', { value: 'undelegate' }, 'Undelegate'));
    const form = h('form', { 'aria-label': 'Delegate' }, field('Validator (yun1…)', v), field('Amount (base units)', amt), field('Action', kind), h('button', { type: 'submit' }, 'Sign and send'));
    form.addEventListener(
      'submit',
      guarded(out, async () => {
        parseAddress(v.value);
        await submitAndWatch(out, { kind: kind.value as 'delegate' | 'undelegate', validator: v.value.trim(), amount: units(amt.value, 'the amount') });
      }),
    );
    return form;
  });
}

async function fileBytes(input: HTMLInputElement): Promise<{ name: string; bytes: Uint8Array }[]> {
  return Promise.all(Array.from(input.files ?? []).map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}

export function jobForm(): HTMLElement {
  return signingForm('submit a job', (out) => {
    const program = h('input', { id: 'job-program', type: 'file', accept: '.wasm,application/wasm', required: true });
    const inputs = h('input', { id: 'job-inputs', type: 'file', multiple: true });
    const count = h('input', { id: 'job-count', inputmode: 'numeric', value: '1' });
    const args = h('input', { id: 'job-args', value: '', spellcheck: 'false' });
    const fuel = h('input', { id: 'job-fuel', inputmode: 'numeric', value: '300000000' });
    const mem = h('input', { id: 'job-memory', inputmode: 'numeric', value: '64' });
    const k = h('input', { id: 'job-k', inputmode: 'numeric', value: '3' });
    const quorum = h('input', { id: 'job-quorum', inputmode: 'numeric', value: '2' });
    const bid = h('input', { id: 'job-bid', inputmode: 'numeric', value: '100' });
    const deadline = h('input', { id: 'job-deadline', inputmode: 'numeric', value: '600' });
    const form = h(
      'form',
      { 'aria-label': 'Submit a job' },
      field('Program (.wasm)', program),
      field('Inputs (one task per file; none: empty stdin)', inputs),
      field('Tasks when there are no input files', count),
      field('Arguments (space separated)', args),
      field('Fuel per task', fuel),
      field('Memory per task (MiB)', mem),
      field('Replicas (k)', k),
      field('Quorum', quorum),
      field('Bid per million fuel (base units)', bid),
      field('Deadline (blocks from now)', deadline),
      h('button', { type: 'submit' }, 'Upload, sign and post'),
    );
    form.addEventListener(
      'submit',
      guarded(out, async () => {
        const who = current();
        if (!who) throw new Error('no key is unlocked');
        const [prog] = await fileBytes(program);
        if (!prog) throw new Error('pick the program (.wasm)');
        const files = await fileBytes(inputs);
        out.textContent = `Uploading the program (${prog.bytes.length} bytes)…`;
        const p = await upload(who.account, prog.bytes);
        const argv = args.value.trim() ? args.value.trim().split(/\s+/) : [];
        const tasks = [];
        if (files.length === 0) {
          const n = Number(units(count.value, 'the task count'));
          for (let i = 0; i < n; i++) tasks.push({ inputHash: hex(blake3(new Uint8Array())), inputBytes: 0, args: argv });
        } else {
          for (const f of files) {
            out.textContent = `Uploading input ${f.name}…`;
            const u = await upload(who.account, f.bytes);
            tasks.push({ inputHash: u.hash, inputBytes: u.bytes, args: argv });
          }
        }
        const status = await get<Status>('/v1/status');
        const spec: JobSpec = {
          programHash: p.hash,
          programBytes: p.bytes,
          tasks,
          fuelPerTask: units(fuel.value, 'fuel'),
          memoryBytesPerTask: units(mem.value, 'memory') << 20n,
          verification: { kind: 'replicate', k: Number(units(k.value, 'k')), quorum: Number(units(quorum.value, 'quorum')) },
          bidPerMfuel: units(bid.value, 'the bid'),
          deadlineHeight: BigInt(status.height) + units(deadline.value, 'the deadline'),
          requiredLabels: [],
          reduce: null,
          dataSources: [location.origin],
          encryptionKey: null,
        };
        await submitAndWatch(out, { kind: 'post_job', spec }, (id) => {
          location.hash = `#/job/${id}`;
        });
      }),
    );
    return form;
  });
}
