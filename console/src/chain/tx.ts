//! Transactions as crates/types/src/tx.rs encodes and signs them: the canonical `Tx` bytes,
//! signed with ed25519 under the `yun/tx/v1` namespace (commonware's `union_unique`), the
//! signed bytes `Tx ‖ public key ‖ signature`, the id blake3 of those.

import { ed25519 } from '@noble/curves/ed25519.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { Writer, hex, unhex } from './codec';
import { parseAddress } from './keys';

export const TX_NAMESPACE = new TextEncoder().encode('yun/tx/v1');

export interface TaskSpec {
  inputHash: string; // 64 hex
  inputBytes: number;
  args: string[];
}

export type Verification =
  | { kind: 'none' }
  | { kind: 'replicate'; k: number; quorum: number }
  | { kind: 'adaptive'; targetErrorPpm: number };

export interface JobSpec {
  programHash: string;
  programBytes: number;
  tasks: TaskSpec[];
  fuelPerTask: bigint;
  memoryBytesPerTask: bigint;
  verification: Verification;
  bidPerMfuel: bigint;
  deadlineHeight: bigint;
  requiredLabels: { key: string; value: string }[];
  reduce: { programHash: string; programBytes: number; args: string[] } | null;
  dataSources: string[];
  encryptionKey: string | null;
}

/** The actions the console signs (tags are the protocol's, from `Action::tag`). */
export type Action =
  | { kind: 'transfer'; to: string; amount: bigint }
  | { kind: 'post_job'; spec: JobSpec }
  | { kind: 'delegate'; validator: string; amount: bigint }
  | { kind: 'undelegate'; validator: string; amount: bigint };

export interface Tx {
  chainId: string;
  nonce: bigint;
  fee: bigint;
  expiresAtHeight: bigint;
  action: Action;
}

function writeJobSpec(w: Writer, s: JobSpec): void {
  w.fixed(unhex(s.programHash), 32).u64(s.programBytes);
  w.list(s.tasks, (w, t) => {
    w.fixed(unhex(t.inputHash), 32).u64(t.inputBytes);
    w.list(t.args, (w, a) => w.str(a));
  });
  w.u64(s.fuelPerTask).u64(s.memoryBytesPerTask);
  const v = s.verification;
  if (v.kind === 'none') w.u8(0);
  else if (v.kind === 'replicate') w.u8(1).u8(v.k).u8(v.quorum);
  else w.u8(2).u32(v.targetErrorPpm);
  w.u128(s.bidPerMfuel).u64(s.deadlineHeight);
  w.list(s.requiredLabels, (w, l) => w.str(l.key).str(l.value));
  w.option(s.reduce, (w, r) => {
    w.fixed(unhex(r.programHash), 32).u64(r.programBytes);
    w.list(r.args, (w, a) => w.str(a));
  });
  w.list(s.dataSources, (w, d) => w.str(d));
  w.option(s.encryptionKey, (w, k) => w.fixed(unhex(k), 32));
}

function writeAction(w: Writer, a: Action): void {
  switch (a.kind) {
    case 'transfer':
      w.u8(0).fixed(parseAddress(a.to), 32).u128(a.amount);
      return;
    case 'post_job':
      w.u8(5);
      writeJobSpec(w, a.spec);
      return;
    case 'delegate':
      w.u8(10).fixed(parseAddress(a.validator), 32).u128(a.amount);
      return;
    case 'undelegate':
      w.u8(11).fixed(parseAddress(a.validator), 32).u128(a.amount);
      return;
  }
}

/** The canonical bytes of `tx` (what is signed). */
export function encodeTx(tx: Tx): Uint8Array {
  const w = new Writer();
  w.str(tx.chainId).u64(tx.nonce).u128(tx.fee).u64(tx.expiresAtHeight);
  writeAction(w, tx.action);
  return w.bytes();
}

/** commonware's `union_unique(namespace, msg)`: the namespace's length, itself, the message. */
function signingPayload(msg: Uint8Array): Uint8Array {
  return new Writer().bytesVec(TX_NAMESPACE).raw(msg).bytes();
}

export interface SignedTx {
  bytes: Uint8Array;
  id: string;
}

/** Signs `tx` with a 32-byte ed25519 secret: the signed bytes and their id. */
export function signTx(tx: Tx, secret: Uint8Array): SignedTx {
  const body = encodeTx(tx);
  const signature = ed25519.sign(signingPayload(body), secret);
  const publicKey = ed25519.getPublicKey(secret);
  const bytes = new Writer().raw(body).fixed(publicKey, 32).fixed(signature, 64).bytes();
  return { bytes, id: hex(blake3(bytes)) };
}

export const UPLOAD_TICKET_NAMESPACE = new TextEncoder().encode('yun/upload-ticket/v1');

/** The `yun-upload-ticket` header for uploading a blob (crates/types/src/upload.rs): this
 * chain, the blob's blake3 root and size, a last height, signed by the uploader. */
export function uploadTicketHeader(
  chainId: string,
  rootHex: string,
  sizeBytes: number,
  expiresAtHeight: bigint,
  secret: Uint8Array,
): string {
  const body = new Writer().str(chainId).fixed(unhex(rootHex), 32).u64(sizeBytes).u64(expiresAtHeight).bytes();
  const payload = new Writer().bytesVec(UPLOAD_TICKET_NAMESPACE).raw(body).bytes();
  const signature = ed25519.sign(payload, secret);
  return hex(new Writer().raw(body).fixed(ed25519.getPublicKey(secret), 32).fixed(signature, 64).bytes());
}
