//! Jobs: the job list, and one job live — each task's replicas, commits, reveals and verdict,
//! why an unfinished task waits, the bill, and its verified outputs downloaded from the
//! providers that computed them and checked here against the chain's blake3 digest.

import { blake3 } from '@noble/hashes/blake3.js';
import { get, type HeadEvent } from '../chain/api';
import { hex } from '../chain/codec';
import { describe, type WaitReason } from '../chain/why';
import { addrLink, amount, blockLink, errorBox, facts, h, jobLink, section, short, table } from '../ui';
import { jobForm } from '../wallet/forms';
import type { Page } from './page';

interface JobSummary {
  id: string;
  requester: string;
  status: string;
  posted_height: number;
  tasks: number;
  tasks_open: number;
  tasks_verified: number;
  tasks_failed: number;
  escrow: string;
  spent: string;
}

interface Verdict {
  status_tag: number;
  status_value: number;
  fuel_used: number;
  output_digest: string;
}
interface Replica {
  provider: string;
  assigned_height: number;
  price_per_mfuel: string;
  state: { state: string; amount?: string; verdict?: Verdict };
}
interface TaskView {
  index: number;
  phase: { phase: string; verdict?: Verdict; reason?: string };
  replicas: Replica[];
  replicas_wanted: number;
}
interface JobResponse {
  id: string;
  height: number;
  requester: string;
  spec: { tasks: unknown[]; fuel_per_task: number; bid_per_mfuel: string; deadline_height: number; verification: unknown };
  escrow: string;
  spent: string;
  refunded: string;
  status: string;
  posted_height: number;
  tasks_open: number;
  tasks_verified: number;
  tasks_failed: number;
  settled_height: number | null;
  tasks: TaskView[];
  reduce: (TaskView & { index: number }) | null;
}

/** Largest output the console downloads into memory. */
const OUTPUT_BYTES_MAX = 64 * 1024 * 1024;

export const jobs: Page = {
  route: 'jobs',
  nav: 'Jobs',
  title: () => 'Jobs',
  async render(root) {
    const list = h('div');
    root.append(h('h1', null, 'Jobs'), section('Recent jobs', list), section('Submit a job', jobForm()));
    const refresh = async () => {
      const r = await get<{ jobs: JobSummary[] }>('/v1/jobs?limit=50');
      list.replaceChildren(
        table(
          ['Job', 'Status', 'Requester', 'Tasks verified/failed/all', 'Escrow', 'Spent', 'Posted'],
          r.jobs
            .slice()
            .sort((a, b) => b.posted_height - a.posted_height)
            .map((j) => [jobLink(j.id), j.status, addrLink(j.requester), `${j.tasks_verified}/${j.tasks_failed}/${j.tasks}`, amount(j.escrow), amount(j.spent), blockLink(j.posted_height)]),
        ),
      );
    };
    await refresh();
    return { onHead: () => void refresh().catch(() => {}) };
  },
};

const count = (t: TaskView, states: string[]) => t.replicas.filter((r) => states.includes(r.state.state)).length;

function taskRows(tasks: TaskView[], why: Map<number, string>): (Node | string)[][] {
  return tasks.map((t) => [
    String(t.index),
    h('span', { 'data-testid': `task-${t.index}-phase` }, t.phase.phase),
    `${t.replicas.filter((r) => r.state.state !== 'expired').length}/${t.replicas_wanted}`,
    String(count(t, ['committed', 'revealed', 'sealed', 'paid', 'unsettled'])),
    String(count(t, ['revealed', 'sealed', 'paid', 'unsettled'])),
    t.phase.verdict ? `status ${t.phase.verdict.status_tag}/${t.phase.verdict.status_value}, ${t.phase.verdict.fuel_used.toLocaleString('en-US')} fuel` : '—',
    why.get(t.index) ?? (t.phase.phase === 'verified' ? 'verified' : t.phase.phase === 'failed' ? `failed: ${t.phase.reason ?? ''}` : '—'),
  ]);
}

/** Fetches a verified output from a paid holder and checks its blake3 against `digest`. */
async function fetchVerified(holders: string[], digest: string): Promise<Uint8Array> {
  const errors: string[] = [];
  for (const p of holders) {
    try {
      const prov = await get<{ spec: { endpoint: string } }>(`/v1/providers/${p}`);
      const r = await fetch(`${prov.spec.endpoint.replace(/\/$/, '')}/v1/blobs/${digest}`);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const bytes = new Uint8Array(await r.arrayBuffer());
      if (bytes.length > OUTPUT_BYTES_MAX) throw new Error('larger than the console downloads');
      const got = hex(blake3(bytes));
      if (got !== digest) throw new Error(`served bytes hash to ${got.slice(0, 12)}…, not the verified digest`);
      return bytes;
    } catch (e) {
      errors.push(`${short(p, 8)}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no holder served the verified output (${errors.join('; ') || 'none paid'})`);
}

function downloadCell(jobId: string, t: TaskView): Node | string {
  const digest = t.phase.verdict?.output_digest;
  if (t.phase.phase !== 'verified' || !digest) return '—';
  const holders = t.replicas.filter((r) => r.state.state === 'paid').map((r) => r.provider);
  const out = h('span', { role: 'status' });
  const b = h('button', { type: 'button', 'data-testid': `download-${t.index}` }, 'Download and verify');
  b.addEventListener('click', () => {
    out.textContent = ' fetching…';
    fetchVerified(holders, digest)
      .then((bytes) => {
        const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/x-tar' }));
        out.replaceChildren(
          ' ',
          h('span', { 'data-testid': `verified-${t.index}` }, `verified: blake3 matches (${bytes.length} bytes)`),
          ' ',
          h('a', { href: url, download: `${jobId.slice(0, 12)}-task-${t.index}.tar` }, 'save'),
        );
      })
      .catch((e: Error) => out.replaceChildren(' ', h('span', { class: 'error' }, e.message)));
  });
  return h('span', null, b, out);
}

export const job: Page = {
  route: 'job',
  title: (a) => `Job ${short(a[0] ?? '')}`,
  async render(root, [id]) {
    const jid = encodeURIComponent(id ?? '');
    const head = h('div');
    const tasksEl = h('div');
    const bill = h('div');
    const outputs = h('div');
    root.append(h('h1', null, 'Job'), head, section('Tasks', tasksEl), section('Bill', bill), section('Verified outputs', outputs));
    let last = '';
    const refresh = async () => {
      const j = await get<JobResponse>(`/v1/jobs/${jid}`);
      const why = new Map<number, string>();
      if (j.status !== 'settled') {
        try {
          const w = await get<{ tasks: { index: number; reason: WaitReason }[] }>(`/v1/jobs/${jid}/why`);
          for (const t of w.tasks) why.set(t.index, describe(t.reason));
        } catch {
          /* the page still shows the tasks */
        }
      }
      const all = j.reduce ? [...j.tasks, j.reduce] : j.tasks;
      const key = JSON.stringify([j.status, all, [...why]]);
      if (key === last) return j.status;
      last = key;
      head.replaceChildren(
        facts([
          ['Id', h('span', { class: 'mono' }, j.id)],
          ['Status', h('strong', { 'data-testid': 'job-status' }, j.status)],
          ['Requester', addrLink(j.requester)],
          ['Posted at', blockLink(j.posted_height)],
          ['Settled at', j.settled_height ? blockLink(j.settled_height) : '—'],
          ['Tasks', `${j.tasks_verified} verified, ${j.tasks_failed} failed, ${j.tasks_open} open`],
          ['Deadline height', String(j.spec.deadline_height)],
        ]),
      );
      tasksEl.replaceChildren(table(['Task', 'Phase', 'Replicas live/wanted', 'Commits', 'Reveals', 'Verdict', 'Why'], taskRows(all, why)));
      const paid = all.flatMap((t) => t.replicas.filter((r) => r.state.amount).map((r) => [String(t.index), addrLink(r.provider), amount(r.state.amount!)]));
      bill.replaceChildren(
        facts([
          ['Escrow locked now', amount(j.escrow)],
          ['Spent', h('span', { 'data-testid': 'job-spent' }, amount(j.spent))],
          ['Refunded', amount(j.refunded)],
        ]),
        table(['Task', 'Provider', 'Paid'], paid),
      );
      outputs.replaceChildren(
        table(['Task', 'Digest (blake3)', 'Download'], all.filter((t) => t.phase.verdict).map((t) => [String(t.index), h('span', { class: 'mono', title: t.phase.verdict!.output_digest }, short(t.phase.verdict!.output_digest)), downloadCell(j.id, t)])),
      );
      return j.status;
    };
    try {
      await refresh();
    } catch (e) {
      root.replaceChildren(h('h1', null, 'Job'), errorBox(e));
      return;
    }
    return { onHead: (_h: HeadEvent) => void refresh().catch(() => {}) };
  },
};
