//! The wallet's storage: each key encrypted in localStorage under a passphrase (scrypt, then
//! XChaCha20-Poly1305 with the address as associated data), and the unlocked key held in this
//! tab's memory only. Keys are never sent anywhere: nothing here touches the network.

import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/ciphers/utils.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { hex, unhex } from '../chain/codec';
import { accountFromSecret, type Account } from '../chain/keys';

const STORE_KEY = 'yun.console.wallet.v1';
/** scrypt N = 2^15, r = 8, p = 1: 32 MiB, a fraction of a second in a browser. */
const KDF = { N: 2 ** 15, r: 8, p: 1 } as const;

export interface StoredKey {
  name: string;
  address: string;
  kdf: { N: number; r: number; p: number; salt: string };
  nonce: string;
  ciphertext: string;
}

export function storedKeys(): StoredKey[] {
  try {
    return (JSON.parse(localStorage.getItem(STORE_KEY) ?? '[]') as StoredKey[]).filter((k) => k && k.address);
  } catch {
    return [];
  }
}

function save(keys: StoredKey[]): void {
  localStorage.setItem(STORE_KEY, JSON.stringify(keys));
}

async function kdf(passphrase: string, salt: Uint8Array, p: { N: number; r: number; p: number }): Promise<Uint8Array> {
  return scryptAsync(new TextEncoder().encode(passphrase), salt, { ...p, dkLen: 32, maxmem: 2 ** 27 });
}

/** Encrypts `secret` under `passphrase` and keeps it as `name`. */
export async function storeKey(name: string, secret: Uint8Array, passphrase: string): Promise<StoredKey> {
  if (passphrase.length < 8) throw new Error('choose a passphrase of at least 8 characters');
  const acct = accountFromSecret(secret);
  const salt = randomBytes(16);
  const nonce = randomBytes(24);
  const key = await kdf(passphrase, salt, KDF);
  const ct = xchacha20poly1305(key, nonce, new TextEncoder().encode(acct.address)).encrypt(secret);
  const entry: StoredKey = { name, address: acct.address, kdf: { ...KDF, salt: hex(salt) }, nonce: hex(nonce), ciphertext: hex(ct) };
  save([...storedKeys().filter((k) => k.address !== acct.address), entry]);
  return entry;
}

export async function openKey(entry: StoredKey, passphrase: string): Promise<Account> {
  const key = await kdf(passphrase, unhex(entry.kdf.salt), entry.kdf);
  let secret: Uint8Array;
  try {
    secret = xchacha20poly1305(key, unhex(entry.nonce), new TextEncoder().encode(entry.address)).decrypt(unhex(entry.ciphertext));
  } catch {
    throw new Error('wrong passphrase');
  }
  return accountFromSecret(secret);
}

export function forgetKey(address: string): void {
  save(storedKeys().filter((k) => k.address !== address));
}

/** The key this tab signs with: in memory, gone on reload or lock. */
let unlocked: { name: string; account: Account } | null = null;
const listeners = new Set<() => void>();

export function current(): { name: string; account: Account } | null {
  return unlocked;
}

export function use(name: string, account: Account): void {
  unlocked = { name, account };
  listeners.forEach((f) => f());
}

export function lock(): void {
  if (unlocked) unlocked.account.secret.fill(0);
  unlocked = null;
  listeners.forEach((f) => f());
}

export function onChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}
