//! Governance: the treasury, the parameters votes run under, proposals newest first with their
//! tallies (each proposal a page of its own with its open votes), and any account's voting
//! power. Read-only: proposals and votes are signed with `yun gov` (the CLI keeps the keys).

import { get } from '../chain/api';
import { addrLink, amount, errorBox, facts, h, link, pct, section, table } from '../ui';
import type { Page } from './page';

interface Tally {
  yes: string;
  no: string;
  abstain: string;
  veto: string;
  power_total: string;
}
type Kind =
  | { kind: 'param_change'; edits: { path: string; value: string }[] }
  | { kind: 'text'; text: string }
  | { kind: 'treasury_spend'; to: string; amount: string }
  | { kind: 'software_upgrade'; name: string };
interface Proposal {
  id: number;
  proposer: string;
  kind: Kind;
  deposit: string;
  deposit_held: string;
  submit_height: number;
  voting_end_height: number;
  apply_height: number;
  status: string;
  tally: Tally | null;
  votes: { voter: string; choice: string }[];
}
interface GovParams {
  voting_period_blocks: number;
  deposit_min: string;
  quorum_bps: number;
  threshold_bps: number;
  veto_bps: number;
  lock_blocks_max: number;
  open_proposals_max: number;
}
interface Proposals {
  height: number;
  treasury: string;
  open: number;
  next_proposal: number;
  upgrade: { proposal: number; name: string; height: number } | null;
  params: GovParams;
  proposals: Proposal[];
}
interface Power {
  locked: string;
  lock_until_height: number;
  lock_weight: string;
  bonded: string;
  stake_weight: string;
  total: string;
  power_total: string;
}

/** What a proposal does, in words. */
function describe(k: Kind): string {
  switch (k.kind) {
    case 'param_change':
      return `Change ${k.edits.map((e) => `${e.path} = ${e.value}`).join(', ')}`;
    case 'text':
      return k.text;
    case 'treasury_spend':
      return `Pay ${amount(k.amount)} from the treasury to ${k.to}`;
    case 'software_upgrade':
      return `Upgrade to ${k.name}`;
  }
}

function tallyText(t: Tally | null): string {
  if (!t) return 'not tallied yet';
  return `yes ${amount(t.yes)} · no ${amount(t.no)} · abstain ${amount(t.abstain)} · veto ${amount(t.veto)} of ${amount(t.power_total)}`;
}

/** The voting power lookup: any address, answered in words. */
function powerForm(): HTMLElement {
  const out = h('div', { 'aria-live': 'polite' });
  const input = h('input', { id: 'power-address', name: 'address', autocomplete: 'off', placeholder: 'yun1…' });
  const form = h(
    'form',
    null,
    h('label', { for: 'power-address' }, 'Address'),
    input,
    h('button', { type: 'submit' }, 'Show voting power'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const p = await get<Power>(`/v1/gov/power/${encodeURIComponent(input.value.trim())}`);
      out.replaceChildren(
        facts([
          ['Voting power', amount(p.total)],
          ['of all power', amount(p.power_total)],
          ['Locked', p.lock_until_height ? `${amount(p.locked)} until height ${p.lock_until_height}` : 'nothing'],
          ['Weight of the lock', amount(p.lock_weight)],
          ['Bonded (self bond and delegations)', amount(p.bonded)],
          ['Weight of the bonded stake', amount(p.stake_weight)],
        ]),
      );
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  });
  return h('div', null, form, out);
}

export const governance: Page = {
  route: 'governance',
  nav: 'Governance',
  title: () => 'Governance',
  async render(root) {
    const summary = h('div');
    const list = h('div');
    root.append(
      h('h1', null, 'Governance'),
      h('p', null, 'Proposals and votes are signed with ', h('code', null, 'yun gov'), '; this page follows them live.'),
      summary,
      section('Proposals', list),
      section('Voting power', powerForm()),
    );
    const refresh = async () => {
      const g = await get<Proposals>('/v1/gov/proposals?limit=50');
      const p = g.params;
      summary.replaceChildren(
        facts([
          ['Treasury', amount(g.treasury)],
          ['Open proposals', `${g.open} (at most ${p.open_proposals_max})`],
          ['Voting period', `${p.voting_period_blocks} blocks`],
          ['Minimum deposit', amount(p.deposit_min)],
          ['Quorum / threshold / veto', `${pct(p.quorum_bps)} / ${pct(p.threshold_bps)} / ${pct(p.veto_bps)}`],
          ['Longest lock', `${p.lock_blocks_max} blocks`],
          ['Scheduled upgrade', g.upgrade ? `${g.upgrade.name} at height ${g.upgrade.height}` : 'none'],
        ]),
      );
      list.replaceChildren(
        g.proposals.length === 0
          ? h('p', null, 'No proposals yet.')
          : table(
              ['#', 'What', 'Status', 'Voting ends', 'Applies at', 'Tally'],
              g.proposals.map((x) => [
                link(`#/proposal/${x.id}`, String(x.id)),
                describe(x.kind),
                x.status,
                String(x.voting_end_height),
                String(x.apply_height),
                tallyText(x.tally),
              ]),
            ),
      );
    };
    await refresh();
    return { onHead: () => void refresh().catch(() => {}) };
  },
};

export const proposal: Page = {
  route: 'proposal',
  title: (args) => `Proposal ${args[0] ?? ''}`,
  async render(root, args) {
    const id = args[0] ?? '';
    const body = h('div');
    root.append(h('h1', null, `Proposal ${id}`), body);
    const refresh = async () => {
      const x = await get<Proposal>(`/v1/gov/proposals/${encodeURIComponent(id)}`);
      body.replaceChildren(
        facts([
          ['What', describe(x.kind)],
          ['Status', x.status],
          ['Proposer', addrLink(x.proposer)],
          ['Deposit', `${amount(x.deposit)} (held now: ${amount(x.deposit_held)})`],
          ['Submitted at', String(x.submit_height)],
          ['Voting ends at', String(x.voting_end_height)],
          ['Applies at', String(x.apply_height)],
          ['Tally', tallyText(x.tally)],
        ]),
        section(
          'Votes so far',
          x.votes.length === 0
            ? h('p', null, 'No open votes (votes are counted and cleared at the voting end).')
            : table(
                ['Voter', 'Choice'],
                x.votes.map((v) => [addrLink(v.voter), v.choice]),
              ),
        ),
      );
    };
    await refresh();
    return { onHead: () => void refresh().catch(() => {}) };
  },
};
