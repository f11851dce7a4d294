//! Account keys exactly as the CLI derives them (crates/cli/src/keys.rs): a BIP-39 seed, blake3
//! key derivation with the scheme's context, an ed25519 secret; addresses are bech32m `yun1…`.

import { ed25519 } from '@noble/curves/ed25519.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { bech32m } from '@scure/base';
import { entropyToMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';

/** The context of `key_from_mnemonic`. */
const ACCOUNT_KEY_CONTEXT = 'yun 2026 account key ed25519 v1';
/** The context of the devnet's dev account entropy (`dev_account`). */
const DEV_ENTROPY_CONTEXT = 'yun 2026 devnet account entropy';
export const ADDRESS_HRP = 'yun';

export interface Account {
  secret: Uint8Array;
  publicKey: Uint8Array;
  address: string;
}

export function isMnemonic(words: string): boolean {
  return validateMnemonic(normalizeWords(words), wordlist);
}

function normalizeWords(words: string): string {
  return words.trim().toLowerCase().split(/\s+/).join(' ');
}

/** The ed25519 secret a mnemonic stands for (no BIP-39 passphrase, as the CLI). */
export function secretFromMnemonic(words: string): Uint8Array {
  const m = normalizeWords(words);
  if (!validateMnemonic(m, wordlist)) throw new Error('not a valid BIP-39 English mnemonic (check the words and their order)');
  const seed = mnemonicToSeedSync(m, '');
  return blake3(seed, { context: new TextEncoder().encode(ACCOUNT_KEY_CONTEXT) });
}

export function accountFromSecret(secret: Uint8Array): Account {
  const publicKey = ed25519.getPublicKey(secret);
  return { secret, publicKey, address: addressOf(publicKey) };
}

export function addressOf(publicKey: Uint8Array): string {
  return bech32m.encode(ADDRESS_HRP, bech32m.toWords(publicKey), 200);
}

/** Why `s` is not an address, or its 32 bytes. */
export function parseAddress(s: string): Uint8Array {
  let decoded;
  try {
    decoded = bech32m.decode(s.trim() as `${string}1${string}`, 200);
  } catch (e) {
    throw new Error(`not a bech32m address: ${(e as Error).message}`);
  }
  if (decoded.prefix !== ADDRESS_HRP) throw new Error(`an address starts with yun1, not ${decoded.prefix}1`);
  const bytes = bech32m.fromWords(decoded.words);
  if (bytes.length !== 32) throw new Error(`an address holds 32 bytes, this one ${bytes.length}`);
  return bytes;
}

/** The mnemonic of devnet account `i` (public test keys, as `yun devnet` prints them). */
export function devMnemonic(i: number): string {
  const le = new Uint8Array(8);
  new DataView(le.buffer).setBigUint64(0, BigInt(i), true);
  const entropy = blake3(le, { context: new TextEncoder().encode(DEV_ENTROPY_CONTEXT) });
  return entropyToMnemonic(entropy, wordlist);
}
