// A few lines of DOM building, so views read as their structure: h('div', { class: 'card' }, ...).
// Not a framework: views update the elements they keep, by hand.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** An element with attributes (on* keys become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces an element's children. */
export function setChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A message line (role=status or alert) that shows one notice at a time. */
export class MessageLine {
  readonly el = h('div', { class: 'message', 'data-testid': 'message', role: 'status', hidden: true });

  show(text: string, level: 'error' | 'info' = 'error'): void {
    this.el.textContent = text;
    this.el.className = `message ${level}`;
    this.el.setAttribute('role', level === 'error' ? 'alert' : 'status');
    this.el.hidden = false;
  }

  clear(): void {
    this.el.hidden = true;
    this.el.textContent = '';
  }
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  loss: (n: number | null | undefined) =>
    n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(4),
  duration(s: number): string {
    if (!Number.isFinite(s) || s < 0) return '–';
    if (s < 60) return `${Math.round(s)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${String(Math.round(s - m * 60)).padStart(2, '0')} s`;
    return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
  },
  params(n: number): string {
    return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
  },
};
