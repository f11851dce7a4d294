//! Signing and sending: the nonce from the account, the fee from the node, a short expiry, the
//! signature made here, and only the signed bytes posted (`POST /v1/txs`).

import { get, postBlob, postJson, type Status } from '../chain/api';
import { hex } from '../chain/codec';
import { signTx, uploadTicketHeader, type Action } from '../chain/tx';
import type { Account } from '../chain/keys';
import { blake3 } from '@noble/hashes/blake3.js';

/** Blocks a transaction (and an upload ticket) stays valid for, as the CLI. */
export const EXPIRY_BLOCKS = 600;

/** Keys an action writes besides its items, at most, and per item (`yun_types::fee`). */
const WRITES_BOUND_BASE = 16n;
const WRITES_BOUND_PER_ITEM = 8n;

/** The bound on state keys `action` writes that clients declare (`fee::writes_bound`). */
export function writesBound(action: Action): bigint {
  const items = action.kind === 'post_job' ? BigInt(action.spec.tasks.length + 1) : 0n;
  return WRITES_BOUND_BASE + WRITES_BOUND_PER_ITEM * items;
}

/** The fee to declare (`FeeSchedule::estimate`): base + per byte × size + per write × the
 * writes bound, from the node's status. It is a cap: the chain refunds what the writes did
 * not use. A node without a schedule names only `min_fee`. */
export function feeFor(status: Pick<Status, 'min_fee' | 'fee_per_byte' | 'fee_per_write'>, txBytes: number, action: Action): bigint {
  const perByte = BigInt(status.fee_per_byte ?? '0');
  const perWrite = BigInt(status.fee_per_write ?? '0');
  return BigInt(status.min_fee) + perByte * BigInt(txBytes) + perWrite * writesBound(action);
}

export interface Sent {
  id: string;
}

export async function send(account: Account, action: Action): Promise<Sent> {
  const [status, acct] = await Promise.all([
    get<Status>('/v1/status'),
    get<{ next_nonce: number }>(`/v1/accounts/${account.address}`),
  ]);
  const base = {
    chainId: status.chain_id,
    nonce: BigInt(acct.next_nonce),
    expiresAtHeight: BigInt(status.height + EXPIRY_BLOCKS),
    action,
  };
  // The fee field is fixed width, so the size is known before the fee is.
  const size = signTx({ ...base, fee: 0n }, account.secret).bytes.length;
  const signed = signTx({ ...base, fee: feeFor(status, size, action) }, account.secret);
  const r = await postJson<{ id: string }>('/v1/txs', { tx_hex: hex(signed.bytes) });
  return { id: r.id };
}

export type TxOutcome = { state: 'committed'; success: boolean; failure: unknown } | { state: 'rejected'; message: string };

/** Waits until `id` is committed or rejected (polls once a second, at most `timeoutMs`). */
export async function settle(id: string, timeoutMs = 60_000): Promise<TxOutcome> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const t = await get<{ state: string; receipt: { success: boolean; failure: unknown } | null; rejection: { name: string; message: string } | null }>(`/v1/txs/${id}`);
    if (t.state === 'committed' && t.receipt) return { state: 'committed', success: t.receipt.success, failure: t.receipt.failure };
    if (t.state === 'rejected') return { state: 'rejected', message: `${t.rejection?.name}: ${t.rejection?.message}` };
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`transaction ${id} was not finalized within ${timeoutMs / 1000} s`);
}

/** Uploads `bytes` under a ticket signed here; answers its blake3 root and size. */
export async function upload(account: Account, bytes: Uint8Array): Promise<{ hash: string; bytes: number }> {
  const status = await get<Status>('/v1/status');
  const root = hex(blake3(bytes));
  const ticket = uploadTicketHeader(status.chain_id, root, bytes.length, BigInt(status.height + EXPIRY_BLOCKS), account.secret);
  const r = await postBlob(bytes, root, ticket);
  if (r.hash !== root) throw new Error(`the node stored ${r.hash}, not ${root}`);
  return { hash: root, bytes: bytes.length };
}
