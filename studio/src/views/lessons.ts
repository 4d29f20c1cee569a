// The Lessons view: the learning path (lessons/*.md) as pages. #lessons lists them; #lessons/ID
// opens one: its text with the equations typeset (KaTeX), and its cells as editable code that
// runs on the real engine in a lesson kernel (a worker, lessons/kernel.ts), outputs and plots
// under each. Exercises can be checked; solutions stay folded until asked for. Quick mode (the
// tests' fewer training steps) is a switch kept in this browser. Not here: running cells.

import 'katex/dist/katex.min.css';
import { type Block, type Cell, type Lesson, parseLesson, renderOutput, splitMath } from '@lessons/runtime';
import katex from 'katex';
import { marked } from 'marked';
import type { KernelEvent, KernelRequest } from '../lessons/protocol.js';
import { h } from '../ui/dom.js';
import type { View } from './view.js';

/** Every lesson file, bundled as text: { '../../../lessons/04-self-attention.md': '---\n...' }. */
const SOURCES = import.meta.glob('../../../lessons/*.md', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

const LESSONS: Lesson[] = Object.entries(SOURCES)
  .map(([path, text]) => parseLesson(path.split('/').pop()!.replace(/\.md$/, ''), text))
  .sort((a, b) => a.meta.id.localeCompare(b.meta.id));

const QUICK_KEY = 'tsgpt-lessons-quick';

/** Markdown with $...$ and $$...$$ typeset by KaTeX (math is cut out first, so Markdown cannot mangle it). */
export function markdownToHtml(md: string): string {
  const math: string[] = [];
  const text = splitMath(md)
    .map((p) => {
      if ('text' in p) return p.text;
      math.push(katex.renderToString(p.tex, { displayMode: p.display, throwOnError: false }));
      return `@@MATH${math.length - 1}@@`;
    })
    .join('');
  const html = marked.parse(text, { async: false, gfm: true }) as string;
  return html.replace(/@@MATH(\d+)@@/g, (_, i: string) => math[Number(i)]!);
}

const fmtTime = (s: number) => (s < 60 ? `${s} s` : `${Math.round(s / 60)} min`);

/** How a cell's last run went. */
type CellState = 'idle' | 'queued' | 'running' | 'ok' | 'error' | 'not-yet';

interface CellView {
  cell: Cell;
  editor: HTMLTextAreaElement;
  out: HTMLElement;
  status: HTMLElement;
  /** the cell (its data-state says how its last run went) */
  el: HTMLElement;
  /** what goes on the page: the cell, or the fold around a solution */
  wrapper: HTMLElement;
}

export function lessonsView(): View {
  const el = h('section', { class: 'view wide lessons', 'data-testid': 'lessons-view' });
  let kernel: Worker | null = null;
  let current: Lesson | null = null;
  let cells: CellView[] = [];
  let nextRun = 1;
  /** bumped at each (re)start of the kernel: cells queued before it do not run after it */
  let generation = 0;
  /** the run waiting for 'done', and what to do then */
  const pending = new Map<number, { view: CellView; resolve: () => void }>();
  let queue: Promise<void> = Promise.resolve();
  let quick = localStorage.getItem(QUICK_KEY) === '1';

  function startKernel(lesson: Lesson): void {
    kernel?.terminate();
    generation++;
    for (const p of pending.values()) {
      setState(p.view, 'idle', 'stopped');
      p.resolve();
    }
    pending.clear();
    queue = Promise.resolve();
    kernel = new Worker(new URL('../lessons/kernel.ts', import.meta.url), { type: 'module' });
    kernel.onmessage = (e: MessageEvent<KernelEvent>) => {
      const ev = e.data;
      if (ev.type === 'opened') return;
      const p = pending.get(ev.run);
      if (!p) return;
      if (ev.type === 'output') p.view.out.insertAdjacentHTML('beforeend', renderOutput(ev.output));
      else {
        pending.delete(ev.run);
        const role = p.view.cell.role;
        const state: CellState = ev.error === null ? 'ok' : role === 'check' ? 'not-yet' : 'error';
        setState(
          p.view,
          state,
          ev.error === null ? `${(ev.ms / 1000).toFixed(1)} s` : state === 'not-yet' ? 'not yet' : 'error',
        );
        p.resolve();
      }
    };
    kernel.onerror = (e) => {
      for (const p of pending.values()) {
        p.view.out.insertAdjacentHTML(
          'beforeend',
          renderOutput({ kind: 'error', text: `the lesson kernel stopped: ${e.message}` }),
        );
        setState(p.view, 'error', 'error');
        p.resolve();
      }
      pending.clear();
    };
    const req: KernelRequest = {
      type: 'open',
      id: lesson.meta.id,
      text: SOURCES[`../../../lessons/${lesson.meta.id}.md`]!,
      quick,
    };
    kernel.postMessage(req);
  }

  function setState(v: CellView, state: CellState, label: string): void {
    v.el.dataset['state'] = state;
    v.status.textContent = label;
  }

  /** Queues a cell to run (after those already queued), with the code now in its editor. */
  function runCell(v: CellView, source = v.editor.value): Promise<void> {
    setState(v, 'queued', 'queued');
    const gen = generation;
    queue = queue.then(
      () =>
        new Promise<void>((resolve) => {
          // restarted since it was queued: it does not run on the new kernel
          if (!kernel || gen !== generation) {
            setState(v, 'idle', '');
            return resolve();
          }
          v.out.replaceChildren();
          setState(v, 'running', 'running…');
          const run = nextRun++;
          pending.set(run, { view: v, resolve });
          const req: KernelRequest = { type: 'run', run, cell: v.cell.index, source };
          kernel.postMessage(req);
        }),
    );
    return queue;
  }

  function runAll(): Promise<void> {
    for (const v of cells) if (v.cell.role !== 'solution') void runCell(v);
    return queue;
  }

  function cellView(cell: Cell): CellView {
    const editor = h('textarea', {
      class: 'cell-editor',
      spellcheck: 'false',
      'data-testid': 'cell-code',
      rows: String(Math.max(2, cell.source.split('\n').length)),
    });
    editor.value = cell.source;
    editor.addEventListener('input', () => {
      editor.rows = Math.max(2, editor.value.split('\n').length);
    });
    const out = h('div', { class: 'cell-out', 'data-testid': 'cell-out' });
    const status = h('span', { class: 'cell-status', 'data-testid': 'cell-status' });
    const label =
      cell.role === 'exercise'
        ? `Exercise ${cell.exercise}: your turn`
        : cell.role === 'check'
          ? `Check exercise ${cell.exercise}`
          : cell.role === 'solution'
            ? `A solution to exercise ${cell.exercise}`
            : '';
    const body = h('div', {
      class: `cell cell-${cell.role}`,
      'data-testid': 'cell',
      'data-role': cell.role,
      'data-state': 'idle',
    });
    // a solution stays folded until the reader asks for it
    const wrapper =
      cell.role === 'solution'
        ? h(
            'details',
            { class: 'solution' },
            h('summary', {}, `Show a solution to exercise ${cell.exercise}`),
            body,
          )
        : body;
    const view: CellView = { cell, editor, out, status, el: body, wrapper };
    const run = h(
      'button',
      { class: 'small', type: 'button', 'data-testid': 'cell-run', title: 'Run (Shift+Enter)' },
      cell.role === 'solution' ? 'Use this solution' : 'Run',
    );
    run.addEventListener('click', () => void runCell(view));
    editor.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && e.shiftKey) {
        e.preventDefault();
        void runCell(view);
      }
    });
    body.append(
      h('div', { class: 'cell-bar' }, label ? h('span', { class: 'cell-label' }, label) : null, run, status),
      editor,
      out,
    );
    return view;
  }

  function showIndex(): void {
    current = null;
    kernel?.terminate();
    kernel = null;
    el.replaceChildren(
      h(
        'div',
        { class: 'lesson-index card' },
        h('h1', {}, 'The learning path'),
        h(
          'p',
          { class: 'muted' },
          'Thirteen lessons, from the models before the transformer to training your own GPT. Each builds its piece from plain arrays, then checks it against tsgpt. Every cell is editable and runs on the real engine.',
        ),
        h(
          'ol',
          { class: 'lesson-list', start: 0 },
          ...LESSONS.map((l) =>
            h(
              'li',
              { 'data-testid': 'lesson-link' },
              h('a', { href: `#lessons/${l.meta.id}` }, `${l.meta.number} · ${l.meta.title}`),
              h('span', { class: 'muted' }, ` · ${fmtTime(l.meta.time.full)}`),
              h('div', { class: 'muted small' }, l.meta.summary),
            ),
          ),
        ),
      ),
    );
  }

  function showLesson(lesson: Lesson): void {
    current = lesson;
    const i = LESSONS.indexOf(lesson);
    const prev = LESSONS[i - 1];
    const next = LESSONS[i + 1];
    cells = [];
    const parts: HTMLElement[] = [];
    for (const b of lesson.blocks as Block[]) {
      if (b.kind === 'markdown') {
        const div = h('div', { class: 'lesson-prose' });
        div.innerHTML = markdownToHtml(b.text);
        parts.push(div);
      } else {
        const v = cellView(b.cell);
        cells.push(v);
        parts.push(v.wrapper);
      }
    }
    const quickBox = h('input', { type: 'checkbox', 'data-testid': 'quick', checked: quick });
    quickBox.addEventListener('change', () => {
      quick = quickBox.checked;
      localStorage.setItem(QUICK_KEY, quick ? '1' : '0');
      startKernel(lesson);
      for (const v of cells) {
        v.out.replaceChildren();
        setState(v, 'idle', '');
      }
    });
    const runAllBtn = h('button', { class: 'primary', type: 'button', 'data-testid': 'run-all' }, 'Run all');
    runAllBtn.addEventListener('click', () => {
      runAllBtn.disabled = true;
      void runAll().then(() => {
        runAllBtn.disabled = false;
        el.dataset['ran'] = lesson.meta.id;
      });
    });
    const restart = h(
      'button',
      { type: 'button', 'data-testid': 'restart', title: 'Stop what runs and forget every cell’s results' },
      'Restart',
    );
    restart.addEventListener('click', () => {
      startKernel(lesson);
      for (const v of cells) {
        v.out.replaceChildren();
        setState(v, 'idle', '');
      }
      runAllBtn.disabled = false;
    });
    const head = h(
      'div',
      { class: 'lesson-head' },
      h('a', { href: '#lessons', class: 'muted' }, '← all lessons'),
      h(
        'div',
        { class: 'lesson-meta muted' },
        `Runs in about ${fmtTime(lesson.meta.time.full)} on a 2-core laptop (quick mode: ${fmtTime(lesson.meta.time.quick)}). The real thing: `,
        ...lesson.meta.src.flatMap((s, k) => [k > 0 ? ', ' : '', h('code', {}, s)]),
      ),
      h(
        'div',
        { class: 'lesson-actions' },
        runAllBtn,
        restart,
        h('label', { class: 'muted' }, quickBox, ' quick mode (fewer training steps)'),
      ),
    );
    const nav = h(
      'div',
      { class: 'lesson-nav' },
      prev
        ? h('a', { href: `#lessons/${prev.meta.id}` }, `← ${prev.meta.number} · ${prev.meta.title}`)
        : h('span'),
      next
        ? h('a', { href: `#lessons/${next.meta.id}` }, `${next.meta.number} · ${next.meta.title} →`)
        : h('span'),
    );
    el.replaceChildren(
      h(
        'article',
        { class: 'lesson card', 'data-testid': 'lesson', 'data-lesson': lesson.meta.id },
        head,
        ...parts,
        nav,
      ),
    );
    delete el.dataset['ran'];
    startKernel(lesson);
    window.scrollTo(0, 0);
  }

  return {
    id: 'lessons',
    title: 'Lessons',
    el,
    shown() {
      const id = location.hash.slice(1).split('/')[1];
      const lesson = id ? LESSONS.find((l) => l.meta.id === id || l.meta.number === id) : undefined;
      if (!lesson) showIndex();
      else if (lesson !== current) showLesson(lesson);
    },
  };
}
