//! Market: providers (reputation, bond, earned, slashed, slots, labels), recent clearing
//! prices, the matching queue and the storage index.

import { get } from '../chain/api';
import { lineChart } from '../chart';
import { addrLink, amount, h, jobLink, pct, section, stat, table } from '../ui';
import type { Page } from './page';

interface ProviderView {
  address: string;
  spec: { slots: number; labels: { key: string; value: string }[]; ask_per_mfuel: string; endpoint: string };
  bond: string;
  status: { state: string };
  reputation: number;
  tasks_in_flight: number;
  tasks_verified: number;
  earned: string;
  slashed: string;
  free_slots: number;
  storage: { capacity_bytes: number; used_bytes: number; ask_per_mib_epoch: string } | null;
}
interface Market {
  price_index: { compute_per_mfuel: string; storage_per_mib_epoch: string };
  slots_total: number;
  slots_busy: number;
  utilization_bps: number;
  queue_tasks: number;
  recent_clearing: { height: number; price_per_mfuel: string }[];
}
interface Queued {
  queue_tasks: number;
  tasks: { job: string; index: number; requester: string; bid_per_mfuel: string; replicas_wanted: number; replicas_live: number; posted_height: number }[];
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

export const market: Page = {
  route: 'market',
  nav: 'Market',
  title: () => 'Market',
  async render(root) {
    const stats = h('div', { class: 'stats' });
    const chart = lineChart('clearing price', 'per Mfuel', true);
    const clearing = h('div');
    const providers = h('div');
    const queue = h('div');
    root.append(
      h('h1', null, 'Market'),
      stats,
      section('Providers', providers),
      section('Recent clearing prices', chart.el, clearing),
      section('Queue', queue),
    );
    const refresh = async () => {
      const [m, p, q] = await Promise.all([
        get<Market>('/v1/market'),
        get<{ providers: ProviderView[] }>('/v1/providers?limit=200'),
        get<Queued>('/v1/tasks/queued?limit=100'),
      ]);
      stats.replaceChildren(
        stat('Compute index / Mfuel', amount(m.price_index.compute_per_mfuel), 'compute-index'),
        stat('Storage index / MiB·epoch', amount(m.price_index.storage_per_mib_epoch), 'storage-index'),
        stat('Slots busy', `${m.slots_busy}/${m.slots_total} (${pct(m.utilization_bps)})`, 'slots'),
        stat('Queued tasks', String(m.queue_tasks), 'queued'),
      );
      providers.replaceChildren(
        table(
          ['Provider', 'State', 'Reputation', 'Bond', 'Earned', 'Slashed', 'Slots free/all', 'Ask / Mfuel', 'Verified tasks', 'Storage', 'Labels'],
          p.providers.map((x) => [
            addrLink(x.address),
            x.status.state,
            String(x.reputation),
            amount(x.bond),
            amount(x.earned),
            amount(x.slashed),
            `${x.free_slots}/${x.spec.slots}`,
            amount(x.spec.ask_per_mfuel),
            String(x.tasks_verified),
            x.storage ? `${gib(x.storage.used_bytes)} of ${gib(x.storage.capacity_bytes)}` : '—',
            x.spec.labels.map((l) => `${l.key}=${l.value}`).join(', ') || '—',
          ]),
        ),
      );
      chart.set(
        m.recent_clearing.map((c) => c.height),
        m.recent_clearing.map((c) => Number(c.price_per_mfuel)),
      );
      clearing.replaceChildren(table(['Block', 'Price / Mfuel'], m.recent_clearing.slice().reverse().slice(0, 10).map((c) => [String(c.height), amount(c.price_per_mfuel)])));
      queue.replaceChildren(
        table(
          ['Job', 'Task', 'Requester', 'Bid / Mfuel', 'Replicas live/wanted', 'Posted at'],
          q.tasks.map((t) => [jobLink(t.job), String(t.index), addrLink(t.requester), amount(t.bid_per_mfuel), `${t.replicas_live}/${t.replicas_wanted}`, String(t.posted_height)]),
        ),
      );
    };
    await refresh();
    return { onHead: () => void refresh().catch(() => {}) };
  },
};
