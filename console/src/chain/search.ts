//! The one search box: an address, a transaction, a block height, a job, or a root (a blob or
//! storage deal), resolved to the page that shows it, or a message saying what was wrong.

import { ApiError, get } from './api';
import { parseAddress } from './keys';

export type Found = { route: string } | { message: string };

async function exists(path: string): Promise<boolean> {
  try {
    await get(path);
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return false;
    throw e;
  }
}

async function blobExists(hash: string): Promise<boolean> {
  const r = await fetch(`/v1/blobs/${hash}`, { method: 'HEAD' });
  return r.ok;
}

export async function resolve(input: string): Promise<Found> {
  const q = input.trim();
  if (q === '') return { message: 'Type an address (yun1…), a transaction or job id, a root (64 hex) or a block height.' };
  if (/^yun1/i.test(q)) {
    try {
      parseAddress(q.toLowerCase());
    } catch (e) {
      return { message: `“${q}” is not a valid address: ${(e as Error).message}.` };
    }
    return { route: `#/account/${q.toLowerCase()}` };
  }
  if (/^\d{1,18}$/.test(q)) return { route: `#/block/${q}` };
  if (/^[0-9a-fA-F]{64}$/.test(q)) {
    const id = q.toLowerCase();
    if (await exists(`/v1/txs/${id}`)) return { route: `#/tx/${id}` };
    if (await exists(`/v1/jobs/${id}`)) return { route: `#/job/${id}` };
    if (await exists(`/v1/storage/deals/${id}`)) return { route: `#/storage/deal/${id}` };
    if (await blobExists(id)) return { route: `#/blob/${id}` };
    return { message: `No transaction, job, storage deal or blob ${id.slice(0, 12)}… is known to this node.` };
  }
  return {
    message: `“${q.slice(0, 80)}” is not an address (yun1…), a 64-hex id or root, or a block height.`,
  };
}
