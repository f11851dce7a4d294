//! Small DOM helpers: element building with text (never HTML strings from the network),
//! amounts, hashes and times in words.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function link(href: string, text: string, attrs: Attrs = {}): HTMLAnchorElement {
  return h('a', { href, ...attrs }, text);
}

export function short(s: string, keep = 10): string {
  return s.length <= keep * 2 + 1 ? s : `${s.slice(0, keep)}…${s.slice(-6)}`;
}

export const addrLink = (a: string) => link(`#/account/${a}`, short(a, 12), { title: a, class: 'mono' });
export const txLink = (id: string) => link(`#/tx/${id}`, short(id), { title: id, class: 'mono' });
export const blockLink = (n: number | string) => link(`#/block/${n}`, `#${n}`);
export const jobLink = (id: string) => link(`#/job/${id}`, short(id), { title: id, class: 'mono' });

/** Base units with thousands separators (amounts are integers on the chain). */
export function amount(v: string | bigint | number): string {
  return BigInt(v).toLocaleString('en-US');
}

export function pct(bps: number): string {
  return `${(bps / 100).toFixed(1)} %`;
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function table(headers: string[], rows: Child[][], caption?: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h(
        'tbody',
        null,
        rows.length === 0
          ? h('tr', null, h('td', { colspan: headers.length, class: 'empty' }, 'none yet'))
          : rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))),
      ),
    ),
  );
}

/** A definition list of label → value pairs. */
export function facts(pairs: [string, Child][]): HTMLElement {
  return h('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export function stat(label: string, value: Child, testid: string): HTMLElement {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value', 'data-testid': testid }, value));
}

export function errorBox(e: unknown): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e));
}

export function section(title: string, ...children: (Child | Child[])[]): HTMLElement {
  return h('section', null, h('h2', null, title), ...children);
}
