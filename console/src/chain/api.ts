//! The node's JSON API, same origin: typed reads, transaction submission and the `/v1/events`
//! stream. Every refusal the node sends is a numbered error whose words are shown as they are.

export interface ApiErrorBody {
  code: number;
  name: string;
  message: string;
  hint?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody | null,
    text: string,
  ) {
    super(body ? `${body.name} (${body.code}): ${body.message}${body.hint ? ` — ${body.hint}` : ''}` : text);
  }
}

async function answer<T>(resp: Response): Promise<T> {
  const text = await resp.text();
  if (!resp.ok) {
    let body: ApiErrorBody | null = null;
    try {
      body = (JSON.parse(text) as { error: ApiErrorBody }).error ?? null;
    } catch {
      /* not the node's JSON: keep the text */
    }
    throw new ApiError(resp.status, body, `HTTP ${resp.status}: ${text.slice(0, 200)}`);
  }
  return JSON.parse(text) as T;
}

export async function get<T>(path: string): Promise<T> {
  return answer<T>(await fetch(path, { headers: { accept: 'application/json' } }));
}

/** Writes are JSON (the node refuses other bodies) and same-origin. */
export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return answer<T>(
    await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  );
}

export async function postBlob(bytes: Uint8Array, rootHex: string, ticket: string): Promise<{ hash: string }> {
  return answer(
    await fetch(`/v1/blobs?expected=${rootHex}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'yun-upload-ticket': ticket },
      body: bytes as BodyInit,
    }),
  );
}

export interface HeadEvent {
  height: number;
  block_hash: string;
  state_root: string;
  timestamp_ms: number;
}

export interface Status {
  chain_id: string;
  genesis_hash: string;
  height: number;
  block_hash: string;
  state_root: string;
  latest_block_time_ms: number;
  validators: string[];
  mempool_size: number;
  /** The fee schedule: base, per encoded byte, per state key written. */
  min_fee: string;
  fee_per_byte?: string;
  fee_per_write?: string;
  version: string;
  role: string;
  epoch: number;
  [more: string]: unknown;
}

/** Follows finalized heads; reconnects by itself (EventSource does). */
export function followHeads(onHead: (h: HeadEvent) => void, onState: (live: boolean) => void): () => void {
  const es = new EventSource('/v1/events');
  es.addEventListener('head', (e) => onHead(JSON.parse((e as MessageEvent<string>).data) as HeadEvent));
  es.onopen = () => onState(true);
  es.onerror = () => onState(false);
  return () => es.close();
}

/** Finalized blocks never change: each is fetched once per page load (at most this many kept). */
const BLOCKS_CACHED_MAX = 512;
const blockCache = new Map<number, Promise<unknown>>();

/** The finalized block at `height` (cached: pages re-read recent blocks on every head). */
export function getBlock<T>(height: number): Promise<T> {
  let p = blockCache.get(height);
  if (!p) {
    p = get<T>(`/v1/blocks/${height}`);
    p.catch(() => blockCache.delete(height));
    blockCache.set(height, p);
    if (blockCache.size > BLOCKS_CACHED_MAX) blockCache.delete(blockCache.keys().next().value!);
  }
  return p as Promise<T>;
}

const committedTxs = new Map<string, unknown>();

/** A transaction's status; committed ones are kept (they never change). */
export async function getTx<T extends { state: string }>(id: string): Promise<T> {
  const hit = committedTxs.get(id);
  if (hit) return hit as T;
  const t = await get<T>(`/v1/txs/${id}`);
  if (t.state === 'committed') {
    committedTxs.set(id, t);
    if (committedTxs.size > BLOCKS_CACHED_MAX) committedTxs.delete(committedTxs.keys().next().value!);
  }
  return t;
}
