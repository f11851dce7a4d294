//! Reads the CLI's keystore files (Web3 Secret Storage v3: scrypt, AES-128-CTR, a Keccak-256
//! MAC; crates/cli/src/keystore_v3.rs), so a key made with `yun keys new` imports here.

import { ctr } from '@noble/ciphers/aes.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { unhex } from '../chain/codec';

interface V3 {
  version: number;
  crypto: {
    cipher: string;
    cipherparams: { iv: string };
    ciphertext: string;
    kdf: string;
    kdfparams: { dklen: number; n: number; r: number; p: number; salt: string };
    mac: string;
  };
}

/** The 32-byte secret in a v3 keystore file, or an error saying what is wrong. */
export async function decryptKeystore(json: string, passphrase: string): Promise<Uint8Array> {
  let v: V3;
  try {
    v = JSON.parse(json) as V3;
  } catch {
    throw new Error('the file is not JSON; pick the keystore file `yun keys` wrote');
  }
  const c = v?.crypto;
  if (v?.version !== 3 || !c) throw new Error('not a version 3 keystore file');
  if (c.kdf !== 'scrypt') throw new Error(`keystore KDF ${c.kdf} is not supported (scrypt only)`);
  if (c.cipher !== 'aes-128-ctr') throw new Error(`keystore cipher ${c.cipher} is not supported`);
  const p = c.kdfparams;
  const derived = await scryptAsync(new TextEncoder().encode(passphrase), unhex(p.salt), {
    N: p.n,
    r: p.r,
    p: p.p,
    dkLen: p.dklen,
    maxmem: 2 ** 29,
  });
  const ciphertext = unhex(c.ciphertext);
  const mac = keccak_256(new Uint8Array([...derived.slice(16, 32), ...ciphertext]));
  if (!equal(mac, unhex(c.mac))) throw new Error('wrong passphrase (the keystore MAC does not match)');
  const secret = ctr(derived.slice(0, 16), unhex(c.cipherparams.iv)).decrypt(ciphertext);
  if (secret.length !== 32) throw new Error('the keystore does not hold a 32-byte ed25519 secret');
  return secret;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
