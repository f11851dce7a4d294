// The console's layer rules (ARCHITECTURE.md, "console/"): `chain/` knows nothing of the
// page, `wallet/` builds on `chain/`, pages on both, and only the shell imports the page
// registry. The key-holding modules import nothing that talks to the network.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = new URL('../../src/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Each source file's local imports, as paths under src/ without extension. */
const imports = new Map(
  files(src).map((f) => {
    const text = readFileSync(f, 'utf8');
    const local = [...text.matchAll(/^import[^'"]*['"](\.[^'"]+)['"]/gm)].map((m) => relative(src, join(f, '..', m[1])).replace(/\.ts$/, ''));
    return [relative(src, f).replace(/\.ts$/, ''), local] as const;
  }),
);

const layer = (m: string) => m.split('/')[0];

describe('console layers', () => {
  it('finds the sources', () => {
    expect(imports.get('chain/tx')).toBeDefined();
    expect(imports.get('main')).toContain('pages/index');
  });
  it('chain/ imports only chain/', () => {
    for (const [m, deps] of imports) if (layer(m) === 'chain') for (const d of deps) expect([m, layer(d)]).toEqual([m, 'chain']);
  });
  it('wallet/ imports chain/, wallet/, ui and the page types only', () => {
    for (const [m, deps] of imports)
      if (layer(m) === 'wallet') for (const d of deps) expect(['chain', 'wallet', 'ui'].includes(layer(d)) || d === 'pages/page', `${m} → ${d}`).toBe(true);
  });
  it('only the shell imports the page registry', () => {
    for (const [m, deps] of imports) if (deps.includes('pages/index')) expect(m).toBe('main');
  });
  it('the modules holding keys do not import the network client', () => {
    for (const m of ['chain/keys', 'chain/tx', 'chain/codec', 'wallet/vault', 'wallet/keystore']) {
      expect(imports.get(m), m).toBeDefined();
      expect(imports.get(m)).not.toContain('chain/api');
      expect(readFileSync(join(src, `${m}.ts`), 'utf8')).not.toMatch(/\bfetch\(|XMLHttpRequest|EventSource|sendBeacon|WebSocket/);
    }
  });
});
