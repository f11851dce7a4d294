//! Wallet: import a mnemonic or a keystore file (kept encrypted in this browser), unlock one,
//! or on a devnet pick a dev account; then sign transfers and jobs. Keys never leave the page.

import { get } from '../chain/api';
import { accountFromSecret, devMnemonic, secretFromMnemonic } from '../chain/keys';
import { addrLink, amount, errorBox, h, section } from '../ui';
import { decryptKeystore } from '../wallet/keystore';
import { jobForm, transferForm } from '../wallet/forms';
import { current, forgetKey, lock, onChange, openKey, storedKeys, storeKey, use } from '../wallet/vault';
import type { Page } from './page';

function input(id: string, label: string, attrs: Record<string, string | boolean> = {}): [HTMLElement, HTMLInputElement] {
  const el = h('input', { id, autocomplete: 'off', spellcheck: 'false', ...attrs });
  return [h('div', { class: 'field' }, h('label', { for: id }, label), el), el];
}

function importMnemonic(done: () => void): HTMLElement {
  const [nameF, name] = input('import-name', 'Name', { value: 'main', required: true });
  const words = h('textarea', { id: 'import-mnemonic', rows: 3, required: true, autocomplete: 'off', spellcheck: 'false' });
  const [passF, pass] = input('import-pass', 'Passphrase to encrypt it here (8+ characters)', { type: 'password', required: true });
  const msg = h('p', { role: 'status', 'aria-live': 'polite' });
  const form = h('form', { 'aria-label': 'Import a mnemonic' }, nameF, h('div', { class: 'field' }, h('label', { for: 'import-mnemonic' }, 'Mnemonic (24 words)'), words), passF, h('button', { type: 'submit' }, 'Import'), msg);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    msg.textContent = 'Encrypting…';
    void (async () => {
      try {
        const secret = secretFromMnemonic(words.value);
        const entry = await storeKey(name.value.trim() || 'key', secret, pass.value);
        words.value = pass.value = '';
        msg.textContent = `Imported ${entry.address}; unlock it below.`;
        done();
      } catch (err) {
        msg.replaceChildren(errorBox(err));
      }
    })();
  });
  return form;
}

function importKeystore(done: () => void): HTMLElement {
  const file = h('input', { id: 'keystore-file', type: 'file', accept: '.json,application/json,*/*', required: true });
  const [nameF, name] = input('keystore-name', 'Name', { value: 'imported', required: true });
  const [passF, pass] = input('keystore-pass', 'The keystore’s passphrase (also encrypts it here)', { type: 'password', required: true });
  const msg = h('p', { role: 'status', 'aria-live': 'polite' });
  const form = h('form', { 'aria-label': 'Import a keystore file' }, h('div', { class: 'field' }, h('label', { for: 'keystore-file' }, 'Keystore file (from yun keys, in ~/.yun/keys)'), file), nameF, passF, h('button', { type: 'submit' }, 'Import'), msg);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    msg.textContent = 'Decrypting (scrypt takes a few seconds)…';
    void (async () => {
      try {
        const f = file.files?.[0];
        if (!f) throw new Error('pick a keystore file');
        const secret = await decryptKeystore(await f.text(), pass.value);
        const entry = await storeKey(name.value.trim() || 'key', secret, pass.value);
        pass.value = '';
        msg.textContent = `Imported ${entry.address}; unlock it below.`;
        done();
      } catch (err) {
        msg.replaceChildren(errorBox(err));
      }
    })();
  });
  return form;
}

function storedList(): HTMLElement {
  const keys = storedKeys();
  if (keys.length === 0) return h('p', null, 'No key is stored in this browser yet.');
  return h(
    'ul',
    { class: 'keys' },
    keys.map((k) => {
      const pass = h('input', { type: 'password', 'aria-label': `Passphrase for ${k.name}`, autocomplete: 'off' });
      const msg = h('span', { role: 'status' });
      const form = h('form', { class: 'inline' }, pass, h('button', { type: 'submit' }, 'Unlock'));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        msg.textContent = ' unlocking…';
        openKey(k, pass.value)
          .then((a) => {
            pass.value = '';
            msg.textContent = '';
            use(k.name, a);
          })
          .catch((err: Error) => (msg.textContent = ` ${err.message}`));
      });
      const forget = h('button', { type: 'button', class: 'secondary' }, 'Forget');
      forget.addEventListener('click', () => {
        if (confirm(`Forget ${k.name} (${k.address}) in this browser? Keep its mnemonic elsewhere.`)) {
          forgetKey(k.address);
          location.reload();
        }
      });
      return h('li', null, h('strong', null, k.name), ' ', addrLink(k.address), form, forget, msg);
    }),
  );
}

async function devAccounts(): Promise<HTMLElement | null> {
  const g = await get<{ dev_accounts?: number; accounts: { address: string }[] }>('/v1/genesis');
  const n = g.dev_accounts ?? 0;
  if (n === 0) return null;
  const items = Array.from({ length: n }, (_, i) => {
    const b = h('button', { type: 'button', 'data-testid': `use-dev${i}` }, `Use dev${i}`);
    b.addEventListener('click', () => {
      const a = accountFromSecret(secretFromMnemonic(devMnemonic(i)));
      // The words are the devnet's published test keys; the genesis must list the same address.
      if (a.address !== g.accounts[i]?.address) {
        b.replaceWith(errorBox(`dev${i} does not match this genesis`));
        return;
      }
      use(`dev${i}`, a);
    });
    return h('li', null, b, ' ', addrLink(g.accounts[i].address));
  });
  return section('Dev accounts', h('p', null, 'This chain is a devnet: its dev accounts’ keys are public test keys, derived here.'), h('ul', { class: 'keys' }, items));
}

export const wallet: Page = {
  route: 'wallet',
  nav: 'Wallet',
  title: () => 'Wallet',
  async render(root) {
    const unlockedEl = h('div', { 'data-testid': 'unlocked' });
    const listEl = h('div');
    const drawList = () => listEl.replaceChildren(storedList());
    const drawUnlocked = async () => {
      const who = current();
      if (!who) {
        unlockedEl.replaceChildren(h('p', null, 'No key is unlocked.'));
        return;
      }
      const lockBtn = h('button', { type: 'button', class: 'secondary' }, 'Lock');
      lockBtn.addEventListener('click', lock);
      const bal = h('span', { 'data-testid': 'wallet-balance' }, '…');
      unlockedEl.replaceChildren(h('p', null, 'Unlocked: ', h('strong', null, who.name), ' ', addrLink(who.account.address), ' balance ', bal, ' ', lockBtn));
      const a = await get<{ balance: string }>(`/v1/accounts/${who.account.address}`);
      bal.textContent = amount(a.balance);
    };
    drawList();
    root.append(
      h('h1', null, 'Wallet'),
      h('p', { class: 'note' }, 'Keys stay in this browser: stored encrypted under your passphrase (scrypt + XChaCha20-Poly1305), unlocked in this tab’s memory only, and only signed transactions are sent to the node.'),
      section('Unlocked key', unlockedEl),
    );
    const dev = await devAccounts();
    if (dev) root.append(dev);
    root.append(
      section('Keys in this browser', listEl),
      section('Import a mnemonic', importMnemonic(drawList)),
      section('Import a keystore file', importKeystore(drawList)),
      section('Transfer', transferForm()),
      section('Submit a job', jobForm()),
    );
    void drawUnlocked();
    const off = onChange(() => void drawUnlocked());
    return { dispose: off, onHead: () => void drawUnlocked() };
  },
};
