// The studio's shell: the header (tabs, and which engine runs: threads or one thread), the
// views, and the start-up: start the engine, bring back the run kept in this browser or load
// Tiny Shakespeare. Views are listed in VIEWS, in tab order.

import 'uplot/dist/uPlot.min.css';
import './style.css';
import { Studio } from './studio.js';
import { h } from './ui/dom.js';
import { generateView } from './views/generate.js';
import { insideView } from './views/inside.js';
import { lessonsView } from './views/lessons.js';
import { trainView } from './views/train.js';
import type { View } from './views/view.js';

const studio = new Studio();

/** The views, in tab order. A new section (the lessons, issue 13) adds its factory here. */
const VIEWS: ((s: Studio) => View)[] = [trainView, generateView, insideView, lessonsView];

const views = VIEWS.map((make) => make(studio));
const tabs = views.map((v) => h('a', { href: `#${v.id}`, 'data-view': v.id }, v.title));
const pill = h(
  'div',
  { class: 'engine-pill', 'data-testid': 'engine' },
  h('span', { class: 'dot' }),
  'starting the engine…',
);
const header = h(
  'header',
  { class: 'top' },
  h('div', { class: 'brand' }, 'tsgpt ', h('span', {}, 'studio')),
  h('nav', { class: 'tabs' }, ...tabs),
  pill,
);
const main = h('main', {}, ...views.map((v) => v.el));
document.getElementById('app')!.replaceChildren(header, main);

function route(): void {
  // #lessons/04-self-attention: the view is the part before the slash
  const id = location.hash.slice(1).split('/')[0] || views[0]!.id;
  const current = views.find((v) => v.id === id) ?? views[0]!;
  for (const v of views) v.el.hidden = v !== current;
  for (const t of tabs) {
    if (t.dataset['view'] === current.id) t.setAttribute('aria-current', 'page');
    else t.removeAttribute('aria-current');
  }
  current.shown?.();
}
window.addEventListener('hashchange', route);
route();

function renderEngine(): void {
  const e = studio.state.engine;
  if (!e) return;
  const kernels = e.flavor === 'relaxed' ? 'relaxed SIMD' : 'SIMD';
  pill.className = `engine-pill ${e.threads > 1 ? 'threads' : 'single'}`;
  pill.replaceChildren(
    h('span', { class: 'dot' }),
    e.isolated
      ? `wasm · ${kernels} · ${e.threads} thread${e.threads > 1 ? 's' : ''}`
      : `wasm · ${kernels} · 1 thread: this page is not cross-origin isolated`,
  );
  pill.title = e.isolated
    ? 'The page is cross-origin isolated: the engine shares memory with its worker threads.'
    : 'Without the COOP/COEP headers a page cannot share memory with workers, so the engine runs on one thread. Serve it with `tsgpt studio` or `npm run studio`.';
}
studio.on('state', renderEngine);

/** For tests and the curious: the page's state (window.tsgptStudio). */
(window as unknown as { tsgptStudio: Studio }).tsgptStudio = studio;

async function boot(): Promise<void> {
  try {
    await studio.engine.request({
      type: 'init',
      stop: (studio.engine.stopFlag?.buffer as SharedArrayBuffer | null) ?? null,
    });
    const restored = await studio.engine.request<boolean>({ type: 'restore' });
    for (const v of views) await v.boot?.(restored);
    document.body.dataset['ready'] = 'true';
  } catch (e) {
    pill.replaceChildren(h('span', { class: 'dot' }), `the engine did not start: ${(e as Error).message}`);
    document.body.dataset['ready'] = 'failed';
  }
}
void boot();
