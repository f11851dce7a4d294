//! The console's shell: the navigation, the search box, the live-head indicator and the hash
//! router that renders one page at a time (every page is a shareable `#/…` URL).

import './style.css';
import { followHeads, get, type HeadEvent, type Status } from './chain/api';
import { resolve } from './chain/search';
import { pages } from './pages/index';
import type { Ctx, Live } from './pages/page';
import { errorBox, h } from './ui';

let head: HeadEvent | null = null;
let live: Live | void = undefined;
let renderSeq = 0;

function parseHash(): { route: string; args: string[] } {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { route: parts[0] ?? 'overview', args: parts.slice(1) };
}

function shell(): { main: HTMLElement; nav: HTMLElement; liveEl: HTMLElement; searchMsg: HTMLElement } {
  const searchMsg = h('p', { id: 'search-message', class: 'search-message', role: 'status', 'aria-live': 'polite' });
  const input = h('input', {
    id: 'search',
    type: 'search',
    placeholder: 'address, tx, block, job or root',
    'aria-label': 'Search by address, transaction, block height, job or root',
    autocomplete: 'off',
  });
  const form = h('form', { class: 'search', role: 'search' }, input, h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    searchMsg.textContent = 'Searching…';
    try {
      const found = await resolve(input.value);
      if ('route' in found) {
        searchMsg.textContent = '';
        input.value = '';
        location.hash = found.route;
      } else searchMsg.textContent = found.message;
    } catch (err) {
      searchMsg.textContent = `The node could not answer: ${(err as Error).message}`;
    }
  });
  const nav = h('nav', { 'aria-label': 'Pages' });
  const liveEl = h('span', { class: 'live', 'data-testid': 'live', 'aria-live': 'off' }, 'connecting…');
  const header = h(
    'header',
    null,
    h('div', { class: 'brand' }, h('a', { href: '#/overview' }, 'Yun console'), liveEl),
    nav,
    form,
  );
  const main = h('main', { id: 'main', tabindex: -1 });
  document.body.replaceChildren(h('a', { class: 'skip', href: '#main', onclick: skipToMain }, 'Skip to content'), header, searchMsg, main);
  return { main, nav, liveEl, searchMsg };
}

function skipToMain(e: Event): void {
  e.preventDefault();
  document.getElementById('main')?.focus();
}

async function start(): Promise<void> {
  const { main, nav, liveEl, searchMsg } = shell();
  let status: Status;
  try {
    status = await get<Status>('/v1/status');
  } catch (e) {
    main.replaceChildren(errorBox(e));
    return;
  }
  const ctx: Ctx = { status, head: () => head };
  for (const p of pages.filter((p) => p.nav)) nav.append(h('a', { href: `#/${p.route}`, 'data-route': p.route }, p.nav!));

  const render = async () => {
    const seq = ++renderSeq;
    live?.dispose?.();
    live = undefined;
    searchMsg.textContent = '';
    const { route, args } = parseHash();
    const page = pages.find((p) => p.route === route);
    for (const a of nav.querySelectorAll('a')) {
      if (a.dataset.route === route) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const root = h('div', { class: 'page' });
    main.replaceChildren(root);
    if (!page) {
      document.title = 'Not found · Yun';
      root.append(h('h1', null, 'No such page'), h('p', null, `There is no page “${route}”. Pick one above.`));
      return;
    }
    document.title = `${page.title(args)} · Yun console`;
    try {
      const l = await page.render(root, args, ctx);
      if (seq === renderSeq) live = l;
      else l?.dispose?.();
    } catch (e) {
      root.append(errorBox(e));
    }
  };
  window.addEventListener('hashchange', render);
  followHeads(
    (hd) => {
      head = hd;
      liveEl.textContent = `height ${hd.height}`;
      liveEl.dataset.height = String(hd.height);
      live?.onHead?.(hd);
    },
    (ok) => liveEl.classList.toggle('offline', !ok),
  );
  await render();
}

void start();
