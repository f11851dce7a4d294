//! Overview: the chain's pulse (height, finality, tx/s, validators) and the compute market's
//! (price index over time, slot utilization, queued tasks), refreshed on every head.

import { get, getBlock, type HeadEvent } from '../chain/api';
import { lineChart } from '../chart';
import { addrLink, ago, amount, h, pct, section, stat, table } from '../ui';
import type { Page } from './page';

interface Block {
  height: number;
  timestamp_ms: number;
  tx_count: number;
}
interface Market {
  height: number;
  price_index: { compute_per_mfuel: string; storage_per_mib_epoch: string };
  slots_total: number;
  slots_busy: number;
  utilization_bps: number;
  queue_tasks: number;
  recent_clearing: { height: number; price_per_mfuel: string }[];
}
interface Validators {
  active: { address: string; stake: string }[];
  validators_total: number;
  epoch: number;
}

/** Blocks the tx/s and finality figures average over. */
const WINDOW_BLOCKS = 10;

/** Price samples (time s, price) seen this session, kept across page changes. */
const priceSeries: { xs: number[]; ys: number[] } = { xs: [], ys: [] };

async function recentBlocks(height: number): Promise<Block[]> {
  const from = Math.max(1, height - WINDOW_BLOCKS + 1);
  const hs = Array.from({ length: height - from + 1 }, (_, i) => from + i);
  return Promise.all(hs.map((n) => getBlock<Block>(n)));
}

export const overview: Page = {
  route: 'overview',
  nav: 'Overview',
  title: () => 'Overview',
  async render(root) {
    const v = {
      height: h('span'),
      finality: h('span'),
      tps: h('span'),
      validators: h('span'),
      price: h('span'),
      util: h('span'),
      queue: h('span'),
    };
    const chart = lineChart('compute price index', 'per Mfuel');
    const valTable = h('div');
    root.append(
      h('h1', null, 'Overview'),
      h(
        'div',
        { class: 'stats' },
        stat('Height', v.height, 'height'),
        stat('Finality (block interval)', v.finality, 'finality'),
        stat('Transactions / s', v.tps, 'tps'),
        stat('Validators', v.validators, 'validators'),
        stat('Compute price / Mfuel', v.price, 'price'),
        stat('Slot utilization', v.util, 'utilization'),
        stat('Queued tasks', v.queue, 'queue'),
      ),
      section('Compute price index', chart.el, h('p', { class: 'note' }, 'Recent clearing prices, then the index at each new head while this page is open.')),
      section('Active validators', valTable),
    );

    const refresh = async (height: number) => {
      const [blocks, market, vals] = await Promise.all([
        recentBlocks(height),
        get<Market>('/v1/market'),
        get<Validators>('/v1/validators'),
      ]);
      v.height.textContent = String(height);
      const last = blocks.at(-1);
      if (blocks.length >= 2) {
        const span = (blocks.at(-1)!.timestamp_ms - blocks[0].timestamp_ms) / 1000;
        const txs = blocks.slice(1).reduce((n, b) => n + b.tx_count, 0);
        v.tps.textContent = span > 0 ? (txs / span).toFixed(2) : '—';
        v.finality.textContent = `${(span / (blocks.length - 1)).toFixed(2)} s`;
      } else v.tps.textContent = v.finality.textContent = '—';
      if (last) v.finality.title = `last block finalized ${ago(last.timestamp_ms)}`;
      v.validators.textContent = `${vals.active.length} active / ${vals.validators_total}`;
      v.price.textContent = amount(market.price_index.compute_per_mfuel);
      v.util.textContent = `${pct(market.utilization_bps)} (${market.slots_busy}/${market.slots_total})`;
      v.queue.textContent = String(market.queue_tasks);
      if (priceSeries.xs.length === 0) {
        for (const c of market.recent_clearing) {
          const b = blocks.find((x) => x.height === c.height);
          if (b) {
            priceSeries.xs.push(b.timestamp_ms / 1000);
            priceSeries.ys.push(Number(c.price_per_mfuel));
          }
        }
      }
      const t = (last?.timestamp_ms ?? Date.now()) / 1000;
      if (priceSeries.xs.at(-1) !== t) {
        priceSeries.xs.push(t);
        priceSeries.ys.push(Number(market.price_index.compute_per_mfuel));
      }
      chart.set([...priceSeries.xs], [...priceSeries.ys]);
      valTable.replaceChildren(
        table(['Validator', 'Stake'], vals.active.map((a) => [addrLink(a.address), amount(a.stake)])),
      );
    };
    const status = await get<{ height: number }>('/v1/status');
    await refresh(status.height);
    let busy = false;
    return {
      onHead: async (hd: HeadEvent) => {
        if (busy) return; // heads coalesce: the next one refreshes
        busy = true;
        try {
          await refresh(hd.height);
        } finally {
          busy = false;
        }
      },
    };
  },
};
