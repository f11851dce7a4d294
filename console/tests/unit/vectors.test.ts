// The console signs exactly as the chain expects: its key derivation, transaction encoding,
// signatures, upload tickets and keystore reading give the bytes Rust gives for the same input
// (console/tests/vectors.json, pinned by crates/cli/tests/console_vectors.rs).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hex } from '../../src/chain/codec';
import { accountFromSecret, devMnemonic, parseAddress, secretFromMnemonic } from '../../src/chain/keys';
import { signTx, uploadTicketHeader, type Action, type Tx } from '../../src/chain/tx';
import { decryptKeystore } from '../../src/wallet/keystore';
import { feeFor } from '../../src/wallet/send';

const v = JSON.parse(readFileSync(new URL('../vectors.json', import.meta.url), 'utf8'));

function tx(nonce: number, action: Action): Tx {
  return { chainId: 'yun-devnet', nonce: BigInt(nonce), fee: 1000n, expiresAtHeight: 1234n, action };
}

const secret = () => secretFromMnemonic(v.mnemonic);

/** The job posting the Rust side signs (`job_spec` in console_vectors.rs). */
const jobAction: Action = {
  kind: 'post_job',
  spec: {
    programHash: '07'.repeat(32),
    programBytes: 4096,
    tasks: [{ inputHash: '09'.repeat(32), inputBytes: 10, args: ['--digits', '100'] }],
    fuelPerTask: 1_000_000_000n,
    memoryBytesPerTask: 64n << 20n,
    verification: { kind: 'replicate', k: 3, quorum: 2 },
    bidPerMfuel: 5n,
    deadlineHeight: 500n,
    requiredLabels: [{ key: 'region', value: 'eu' }],
    reduce: { programHash: '08'.repeat(32), programBytes: 2048, args: [] },
    dataSources: [],
    encryptionKey: null,
  },
};

describe('keys', () => {
  it('derive the same secret, public key and address from the mnemonic', () => {
    const a = accountFromSecret(secret());
    expect(hex(a.secret)).toBe(v.secret_hex);
    expect(hex(a.publicKey)).toBe(v.public_key_hex);
    expect(a.address).toBe(v.address);
  });
  it('derive the devnet accounts’ words as the CLI does', () => {
    expect(devMnemonic(0)).toBe(v.mnemonic);
    expect(devMnemonic(1)).toBe(v.dev1_mnemonic);
    expect(accountFromSecret(secretFromMnemonic(devMnemonic(1))).address).toBe(v.dev1_address);
  });
  it('refuse a bad address with a reason', () => {
    expect(() => parseAddress('yun1qqqq')).toThrow(/bech32m|address/);
    expect(() => parseAddress(v.address.slice(0, -1) + (v.address.endsWith('q') ? 'p' : 'q'))).toThrow();
    expect(() => secretFromMnemonic('abandon abandon')).toThrow(/mnemonic/);
  });
});

describe('signed transactions', () => {
  const cases: [string, number, Action][] = [
    ['transfer', 7, { kind: 'transfer', to: v.dev1_address, amount: 123456789n }],
    ['delegate', 8, { kind: 'delegate', validator: v.dev1_address, amount: 5000n }],
    ['undelegate', 9, { kind: 'undelegate', validator: v.dev1_address, amount: 1000n }],
    ['post_job', 10, jobAction],
  ];
  for (const [name, nonce, action] of cases) {
    it(`${name}: the same signed bytes and id as Rust`, () => {
      const s = signTx(tx(nonce, action), secret());
      expect(hex(s.bytes)).toBe(v[name].signed_hex);
      expect(s.id).toBe(v[name].id);
    });
  }
  it('an upload ticket header is the bytes Rust signs', () => {
    expect(uploadTicketHeader('yun-devnet', '05'.repeat(32), 100, 50n, secret())).toBe(v.upload_ticket.header);
  });
});

describe('keystore', () => {
  it('opens the CLI’s v3 keystore file to the same secret', async () => {
    expect(hex(await decryptKeystore(v.keystore.json, v.keystore.passphrase))).toBe(v.secret_hex);
  });
  it('says a wrong passphrase is wrong', async () => {
    await expect(decryptKeystore(v.keystore.json, 'not it')).rejects.toThrow(/wrong passphrase/);
  });
});

describe('fees', () => {
  it('declare what FeeSchedule::estimate declares, and sign to the same bytes', () => {
    const f = v.fee_estimates;
    const cases: [string, Action][] = [
      ['transfer', { kind: 'transfer', to: v.dev1_address, amount: 5n }],
      ['post_job', jobAction],
    ];
    for (const [name, action] of cases) {
      const draft = { chainId: 'yun-devnet', nonce: 3n, fee: 0n, expiresAtHeight: 99n, action };
      const size = signTx(draft, secret()).bytes.length;
      const fee = feeFor(f.schedule, size, action);
      expect(fee.toString(), name).toBe(f[name].fee);
      expect(hex(signTx({ ...draft, fee }, secret()).bytes), name).toBe(f[name].signed_hex);
    }
  });
});
