//! Storage: the storage market's offers and deals, and one deal's replicas.

import { get } from '../chain/api';
import { addrLink, amount, h, section, short, table } from '../ui';
import type { Page } from './page';

type Rec = Record<string, unknown>;

const cell = (v: unknown): Node | string => {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string' && /^yun1/.test(v)) return addrLink(v);
  if (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)) return h('span', { class: 'mono', title: v }, short(v));
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

export const storage: Page = {
  route: 'storage',
  nav: 'Storage',
  title: (a) => (a[0] === 'deal' ? `Deal ${short(a[1] ?? '')}` : 'Storage'),
  async render(root, args) {
    if (args[0] === 'deal') {
      const d = await get<Rec>(`/v1/storage/deals/${encodeURIComponent(args[1] ?? '')}`);
      root.append(
        h('h1', null, 'Storage deal'),
        table(['Field', 'Value'], Object.entries(d).map(([k, v]) => [k.replace(/_/g, ' '), cell(v)])),
      );
      return;
    }
    const offers = h('div');
    const deals = h('div');
    root.append(h('h1', null, 'Storage'), section('Offers', offers), section('Deals', deals));
    const refresh = async () => {
      const [o, d] = await Promise.all([
        get<{ offers: (Rec & { provider: string; free_bytes: number; eligible: boolean; capacity_bytes: number; ask_per_mib_epoch: string })[] }>('/v1/storage/offers?limit=200'),
        get<{ deals: (Rec & { id: string })[] }>('/v1/storage/deals?limit=100'),
      ]);
      offers.replaceChildren(
        table(
          ['Provider', 'Capacity', 'Free', 'Ask / MiB·epoch', 'Eligible'],
          o.offers.map((x) => [addrLink(x.provider), `${x.capacity_bytes} B`, `${x.free_bytes} B`, amount(x.ask_per_mib_epoch), x.eligible ? 'yes' : 'no']),
        ),
      );
      const keys = d.deals.length ? Object.keys(d.deals[0]).filter((k) => k !== 'id').slice(0, 6) : [];
      deals.replaceChildren(
        table(
          ['Deal', ...keys.map((k) => k.replace(/_/g, ' '))],
          d.deals.map((x) => [h('a', { href: `#/storage/deal/${x.id}`, class: 'mono' }, short(x.id)), ...keys.map((k) => cell(x[k]))]),
        ),
      );
    };
    await refresh();
    return { onHead: () => void refresh().catch(() => {}) };
  },
};
