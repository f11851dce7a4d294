//! Explorer: the latest blocks and their transactions, and a page per block, transaction,
//! account and blob, every one reachable from the search box.

import { ApiError, get, getBlock, getTx, type HeadEvent } from '../chain/api';
import { addrLink, ago, amount, blockLink, errorBox, facts, h, jobLink, section, short, table, txLink } from '../ui';
import type { Page } from './page';

export interface BlockView {
  hash: string;
  height: number;
  parent: string;
  timestamp_ms: number;
  proposer: string;
  state_root: string;
  txs_root: string;
  tx_count: number;
  tx_ids: string[];
}

interface TxView {
  id: string;
  state: 'pending' | 'committed' | 'rejected';
  tx: { sender: string; nonce: number; fee: string; expires_at_height: number; action: Record<string, unknown> & { type: string } } | null;
  receipt: { height: number; index: number; success: boolean; failure: unknown; fee_paid: string } | null;
  rejection: { code: number; name: string; message: string; hint?: string } | null;
}

const LATEST_BLOCKS = 12;

/** An action's fields in words, addresses and ids as links. */
export function actionCell(a: Record<string, unknown> & { type: string }): HTMLElement {
  const parts: (Node | string)[] = [h('strong', null, a.type.replace(/_/g, ' '))];
  for (const [k, v] of Object.entries(a)) {
    if (k === 'type' || v === null || typeof v === 'object') continue;
    const s = String(v);
    const shown = /^yun1/.test(s) ? addrLink(s) : /^[0-9a-f]{64}$/.test(s) ? h('span', { class: 'mono', title: s }, short(s)) : /amount|bond/.test(k) && /^\d+$/.test(s) ? amount(s) : s;
    parts.push(' ', `${k.replace(/_/g, ' ')} `, shown);
  }
  return h('span', null, parts);
}

export const explorer: Page = {
  route: 'explorer',
  nav: 'Explorer',
  title: () => 'Explorer',
  async render(root) {
    const blocksEl = h('div');
    const txsEl = h('div');
    root.append(
      h('h1', null, 'Explorer'),
      h('p', null, 'The search box at the top takes an address, a transaction, a block height, a job or a root.'),
      section('Latest blocks', blocksEl),
      section('Latest transactions', txsEl),
    );
    const refresh = async (height: number) => {
      const hs = Array.from({ length: Math.min(LATEST_BLOCKS, height) }, (_, i) => height - i);
      const blocks = await Promise.all(hs.map((n) => getBlock<BlockView>(n)));
      blocksEl.replaceChildren(
        table(
          ['Height', 'Time', 'Txs', 'Proposer', 'Hash'],
          blocks.map((b) => [blockLink(b.height), ago(b.timestamp_ms), b.tx_count, addrLink(b.proposer), h('span', { class: 'mono', title: b.hash }, short(b.hash))]),
        ),
      );
      const ids = blocks.flatMap((b) => b.tx_ids.map((id) => ({ id, height: b.height }))).slice(0, 15);
      const txs = await Promise.all(ids.map(({ id }) => getTx<TxView>(id)));
      txsEl.replaceChildren(
        table(
          ['Tx', 'Block', 'From', 'Action', 'Result'],
          txs.map((t, i) => [
            txLink(t.id),
            blockLink(ids[i].height),
            t.tx ? addrLink(t.tx.sender) : '',
            t.tx ? actionCell(t.tx.action) : '',
            t.receipt ? (t.receipt.success ? 'ok' : 'failed') : t.state,
          ]),
        ),
      );
    };
    await refresh((await get<{ height: number }>('/v1/status')).height);
    return { onHead: (hd: HeadEvent) => void refresh(hd.height).catch(() => {}) };
  },
};

export const block: Page = {
  route: 'block',
  title: (a) => `Block ${a[0]}`,
  async render(root, [height]) {
    const b = await get<BlockView>(`/v1/blocks/${encodeURIComponent(height ?? '')}`);
    root.append(
      h('h1', null, `Block ${b.height}`),
      facts([
        ['Hash', h('span', { class: 'mono' }, b.hash)],
        ['Time', `${new Date(b.timestamp_ms).toISOString()} (${ago(b.timestamp_ms)})`],
        ['Proposer', addrLink(b.proposer)],
        ['Parent', b.height > 1 ? blockLink(b.height - 1) : h('span', { class: 'mono' }, short(b.parent))],
        ['State root', h('span', { class: 'mono' }, b.state_root)],
        ['Transactions root', h('span', { class: 'mono' }, b.txs_root)],
      ]),
      section(`Transactions (${b.tx_count})`, table(['Tx'], b.tx_ids.map((id) => [txLink(id)]))),
    );
  },
};

export const tx: Page = {
  route: 'tx',
  title: (a) => `Transaction ${short(a[0] ?? '')}`,
  async render(root, [id]) {
    const heading = h('h1', null, 'Transaction');
    const body = h('div');
    root.append(heading, body);
    const show = async () => {
      const t = await get<TxView>(`/v1/txs/${encodeURIComponent(id ?? '')}`);
      const pairs: [string, Node | string][] = [
        ['Id', h('span', { class: 'mono' }, t.id)],
        ['State', h('strong', { 'data-testid': 'tx-state' }, t.state)],
      ];
      if (t.tx) {
        pairs.push(['From', addrLink(t.tx.sender)], ['Nonce', String(t.tx.nonce)], ['Fee (cap)', amount(t.tx.fee)], ['Action', actionCell(t.tx.action)]);
      }
      if (t.receipt) {
        pairs.push(
          ['Block', blockLink(t.receipt.height)],
          ['Outcome', t.receipt.success ? 'succeeded' : `failed: ${JSON.stringify(t.receipt.failure)}`],
          ['Fee paid', amount(t.receipt.fee_paid)],
        );
        if (t.tx?.action.type === 'post_job') pairs.push(['Job', jobLink(t.id)]);
      }
      if (t.rejection) pairs.push(['Rejected', `${t.rejection.name} (${t.rejection.code}): ${t.rejection.message}${t.rejection.hint ? ` — ${t.rejection.hint}` : ''}`]);
      body.replaceChildren(facts(pairs));
      return t.state;
    };
    let state = await show();
    return {
      onHead: async () => {
        if (state === 'pending') state = await show().catch(() => state);
      },
    };
  },
};

interface AccountView {
  address: string;
  balance: string;
  nonce: number;
  next_nonce: number;
  pending_txs: number;
  height: number;
}

export const account: Page = {
  route: 'account',
  title: (a) => `Account ${short(a[0] ?? '', 8)}`,
  async render(root, [address]) {
    const addr = encodeURIComponent(address ?? '');
    const [a, ids] = await Promise.all([get<AccountView>(`/v1/accounts/${addr}`), get<string[]>(`/v1/accounts/${addr}/txs?limit=50`)]);
    const txs = await Promise.all(ids.slice(-50).reverse().map((id) => getTx<TxView>(id)));
    let delegations: HTMLElement = h('p', null, 'none');
    try {
      const d = await get<{ delegations: { validator: string; amount: string }[] }>(`/v1/accounts/${addr}/delegations`);
      if (d.delegations?.length) delegations = table(['Validator', 'Amount'], d.delegations.map((x) => [addrLink(x.validator), amount(x.amount)]));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) delegations = errorBox(e);
    }
    root.append(
      h('h1', null, 'Account'),
      facts([
        ['Address', h('span', { class: 'mono', 'data-testid': 'account-address' }, a.address)],
        ['Balance', h('span', { 'data-testid': 'account-balance' }, amount(a.balance))],
        ['Next nonce', String(a.next_nonce)],
        ['Pending transactions', String(a.pending_txs)],
      ]),
      section(
        'Transactions',
        table(
          ['Tx', 'Block', 'From', 'Action', 'Result'],
          txs.map((t) => [
            txLink(t.id),
            t.receipt ? blockLink(t.receipt.height) : t.state,
            t.tx ? addrLink(t.tx.sender) : '',
            t.tx ? actionCell(t.tx.action) : '',
            t.receipt ? (t.receipt.success ? 'ok' : 'failed') : t.state,
          ]),
        ),
      ),
      section('Delegations', delegations),
    );
  },
};

export const blob: Page = {
  route: 'blob',
  title: (a) => `Blob ${short(a[0] ?? '')}`,
  async render(root, [hash]) {
    const r = await fetch(`/v1/blobs/${encodeURIComponent(hash ?? '')}`, { method: 'HEAD' });
    root.append(
      h('h1', null, 'Blob'),
      facts([
        ['Root (blake3)', h('span', { class: 'mono' }, hash ?? '')],
        ['Held by this node', r.ok ? `yes, ${r.headers.get('content-length') ?? '?'} bytes` : 'no'],
      ]),
      r.ok ? h('p', null, h('a', { href: `/v1/blobs/${hash}`, download: hash }, 'Download')) : '',
    );
  },
};
