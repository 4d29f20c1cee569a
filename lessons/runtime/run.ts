// Runs a lesson's cells, in Node (the tests) and in the studio's lesson worker alike: one scope
// object shared by every cell, the names a cell can use without importing them (show, table,
// heatmap, curves, scatter, check, quick, ...), and the outputs each cell produced. The host
// gives the modules cells may import ('tsgpt'), a backend and the shipped texts. Not here:
// parsing the lesson (parse.ts), drawing outputs (render.ts), any DOM or Node API.

import type { Cell, Lesson } from './parse.js';
import { compileCell } from './transpile.js';

/** One thing a cell showed. Plain data: it crosses from the lesson worker to the page. */
export type Output =
  | { kind: 'text'; text: string }
  | { kind: 'table'; title: string; columns: string[]; rows: (string | number)[][] }
  | {
      kind: 'heatmap';
      title: string;
      values: number[][];
      rowLabels: string[];
      colLabels: string[];
      /** colour scale: 'sequential' (0 = white) or 'diverging' (0 = white, sign = hue) */
      scale: 'sequential' | 'diverging';
    }
  | {
      kind: 'curves';
      title: string;
      xLabel: string;
      yLabel: string;
      logY: boolean;
      series: { name: string; x: number[]; y: number[] }[];
    }
  | {
      kind: 'scatter';
      title: string;
      xLabel: string;
      yLabel: string;
      points: { x: number; y: number; label: string }[];
    }
  | { kind: 'claim'; text: string; ok: boolean }
  | { kind: 'error'; text: string };

export type Visual = Extract<Output, { kind: 'table' | 'heatmap' | 'curves' | 'scatter' }>;

/** What the lesson's code gets from where it runs. */
export interface LessonHost {
  /** the modules a cell may import, by specifier: { tsgpt: await import('tsgpt') } */
  modules: Record<string, unknown>;
  /** quick mode: fewer training steps, the same claims (the tests run every lesson this way) */
  quick: boolean;
  /** the shared fast backend (wasm), made once */
  backend(): Promise<unknown>;
  /** a text the repository ships: 'tinyshakespeare', 'gpt2-encoder.json', 'gpt2-vocab.bpe' */
  loadText(name: string): Promise<string>;
}

/** A claim a lesson makes that did not hold. */
export class ClaimError extends Error {
  override readonly name = 'ClaimError';
}

export interface CellResult {
  cell: Cell;
  outputs: Output[];
  /** the error that stopped the cell, as one line (null when it ran to the end) */
  error: string | null;
  ms: number;
}

type Mode = 'code' | 'check';

/**
 * The running state of one lesson: run cells in any order (the studio re-runs edited ones); the
 * scope keeps what earlier runs made.
 * @example const run = new LessonRun(lesson, host); for (const c of lesson.cells) await run.run(c);
 */
export class LessonRun {
  readonly scope: Record<string, unknown>;
  private outputs: Output[] = [];
  private mode: Mode = 'code';
  /** called with each output as soon as a cell makes it (the studio streams them) */
  onOutput: ((o: Output) => void) | null = null;

  constructor(
    readonly lesson: Lesson,
    readonly host: LessonHost,
  ) {
    this.scope = Object.create(null) as Record<string, unknown>;
    Object.assign(this.scope, lessonApi(this), { quick: host.quick });
  }

  /** Records an output of the cell now running. */
  emit(o: Output): void {
    this.outputs.push(o);
    this.onOutput?.(o);
  }

  /** A claim: recorded either way; one that fails stops the cell (in a check cell: "not yet"). */
  claim(ok: boolean, text: string): void {
    this.emit({ kind: 'claim', text, ok });
    if (!ok) throw new ClaimError(this.mode === 'check' ? `not yet: ${text}` : `claim failed: ${text}`);
  }

  /**
   * Runs one cell (source: an edited version of it). Errors do not throw: they are the result's
   * `error`, and an 'error' output.
   */
  async run(cell: Cell, source = cell.source): Promise<CellResult> {
    this.outputs = [];
    this.mode = cell.role === 'check' ? 'check' : 'code';
    const t0 = Date.now();
    let error: string | null = null;
    try {
      const where = `lessons/${this.lesson.meta.id}.md:${cell.line}`;
      const compiled = compileCell(source, where, cell.line);
      for (const spec of compiled.imports)
        if (!(spec in this.host.modules))
          throw new Error(
            `${where}: cannot import '${spec}' (a lesson imports ${Object.keys(this.host.modules).join(', ')})`,
          );
      for (const n of compiled.names) if (!(n in this.scope)) this.scope[n] = undefined;
      const fn = new Function(
        '__scope',
        '__import',
        `with (__scope) { return (async () => {\n${compiled.body}\n})(); }`,
      ) as (scope: Record<string, unknown>, imp: (spec: string) => unknown) => Promise<unknown>;
      const value = await fn(this.scope, (spec) => this.host.modules[spec]);
      if (value !== undefined) this.emit({ kind: 'text', text: formatValue(value) });
    } catch (e) {
      error = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
      if (!(e instanceof ClaimError)) this.emit({ kind: 'error', text: error });
    }
    return { cell, outputs: this.outputs, error, ms: Date.now() - t0 };
  }
}

/** Options every visual takes. */
interface Titled {
  title?: string;
}

/** The names every cell can use without importing them. */
function lessonApi(run: LessonRun): Record<string, unknown> {
  const host = run.host;
  return {
    /** Shows values: numbers, strings, arrays, tensors (shape and values), objects. */
    show(...values: unknown[]): void {
      run.emit({ kind: 'text', text: values.map(formatValue).join(' ') });
    },
    /** A table: rows of objects (their keys are the columns) or of arrays (with opts.columns). */
    table(
      rows: readonly (Record<string, unknown> | readonly unknown[])[],
      opts: Titled & { columns?: string[] } = {},
    ): void {
      const first = rows[0];
      const columns =
        opts.columns ??
        (first && !Array.isArray(first)
          ? Object.keys(first)
          : ((first as unknown[] | undefined)?.map((_, i) => String(i)) ?? []));
      const cells = rows.map((r) =>
        (Array.isArray(r) ? r : columns.map((c) => (r as Record<string, unknown>)[c])).map((v) =>
          typeof v === 'number' ? v : formatValue(v),
        ),
      );
      run.emit({ kind: 'table', title: opts.title ?? '', columns, rows: cells });
    },
    /** A heatmap of a matrix: number[][], or flat values with opts.rows x opts.cols. */
    heatmap(
      values: readonly (readonly number[])[] | ArrayLike<number>,
      opts: Titled & {
        rows?: number;
        cols?: number;
        rowLabels?: string[];
        colLabels?: string[];
        diverging?: boolean;
      } = {},
    ): void {
      let m: number[][];
      if (Array.isArray(values) && Array.isArray(values[0]))
        m = (values as number[][]).map((r) => Array.from(r));
      else {
        const flat = Array.from(values as ArrayLike<number>);
        const cols = opts.cols ?? Math.round(flat.length / (opts.rows ?? 1));
        m = [];
        for (let i = 0; i + cols <= flat.length; i += cols) m.push(flat.slice(i, i + cols));
      }
      run.emit({
        kind: 'heatmap',
        title: opts.title ?? '',
        values: m,
        rowLabels: opts.rowLabels ?? m.map((_, i) => String(i)),
        colLabels: opts.colLabels ?? (m[0] ?? []).map((_, i) => String(i)),
        scale: opts.diverging ? 'diverging' : 'sequential',
      });
    },
    /**
     * Line curves. series: { name: ys } (x = 0, 1, 2, ...), or [{ name, x?, y }].
     * @example curves({ train: losses }, { title: 'loss', xLabel: 'step' })
     */
    curves(
      series:
        | Record<string, ArrayLike<number>>
        | { name: string; x?: ArrayLike<number>; y: ArrayLike<number> }[],
      opts: Titled & { xLabel?: string; yLabel?: string; logY?: boolean } = {},
    ): void {
      type Series = { name: string; x?: ArrayLike<number>; y: ArrayLike<number> };
      const list: Series[] = Array.isArray(series)
        ? series
        : Object.entries(series).map(([name, y]) => ({ name, y }));
      run.emit({
        kind: 'curves',
        title: opts.title ?? '',
        xLabel: opts.xLabel ?? '',
        yLabel: opts.yLabel ?? '',
        logY: opts.logY ?? false,
        series: list.map((s) => {
          const y = Array.from(s.y);
          const x = s.x ? Array.from(s.x) : y.map((_, i) => i);
          return { name: s.name, x, y };
        }),
      });
    },
    /** Labelled points on a plane (a 2-D projection). */
    scatter(
      points: { x: number; y: number; label?: string }[],
      opts: Titled & { xLabel?: string; yLabel?: string } = {},
    ): void {
      run.emit({
        kind: 'scatter',
        title: opts.title ?? '',
        xLabel: opts.xLabel ?? '',
        yLabel: opts.yLabel ?? '',
        points: points.map((p) => ({ x: p.x, y: p.y, label: p.label ?? '' })),
      });
    },
    /** States a claim the lesson makes; the tests fail when one does not hold. */
    check(ok: unknown, claim: string): void {
      run.claim(Boolean(ok), claim);
    },
    /** Largest absolute difference between two arrays of the same length (Infinity if not). */
    maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
      if (a.length !== b.length) return Number.POSITIVE_INFINITY;
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      return Number.isNaN(worst) ? Number.POSITIVE_INFINITY : worst;
    },
    /** quick ? q : full: a size that quick mode shrinks. */
    pick<T>(full: T, q: T): T {
      return host.quick ? q : full;
    },
    /** The shared wasm backend. */
    backend: () => host.backend(),
    /** A text the repository ships: 'tinyshakespeare'. */
    loadText: (name: string) => host.loadText(name),
  };
}

/** One readable line (or a few) for any value a cell shows. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return `[function ${v.name || 'anonymous'}]`;
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  const t = v as { shape?: readonly number[]; data?: ArrayLike<number>; dtype?: string };
  if (Array.isArray(t.shape) && t.data && typeof t.data.length === 'number')
    return formatTensor(t.shape, t.data, t.dtype ?? '');
  if (ArrayBuffer.isView(v) || Array.isArray(v)) {
    const a = Array.from(v as ArrayLike<unknown>);
    if (a.every((x) => Array.isArray(x) || ArrayBuffer.isView(x))) return a.map(formatValue).join('\n');
    const shown = a.slice(0, 12).map(formatValue);
    return `[${shown.join(', ')}${a.length > 12 ? `, … ${a.length} in all` : ''}]`;
  }
  if (v instanceof Map)
    return `Map(${v.size}) {${[...v]
      .slice(0, 8)
      .map(([k, x]) => `${formatValue(k)} => ${formatValue(x)}`)
      .join(', ')}}`;
  try {
    return JSON.stringify(v, (_, x) => (typeof x === 'number' ? Number(formatNumber(x)) : x));
  } catch {
    return String(v);
  }
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e5 || a < 1e-3) return n.toExponential(3);
  return String(Number(n.toPrecision(4)));
}

function formatTensor(shape: readonly number[], data: ArrayLike<number>, dtype: string): string {
  const head = `Tensor(${shape.join(', ')}) ${dtype}`;
  const cols = shape.at(-1) ?? 1;
  const rows: string[] = [];
  for (let r = 0; r * cols < data.length && r < 8; r++) {
    const row = Array.from({ length: Math.min(cols, 10) }, (_, i) => formatNumber(data[r * cols + i]!));
    rows.push(`  [${row.join(', ')}${cols > 10 ? ', …' : ''}]`);
  }
  if (data.length > 8 * cols) rows.push('  …');
  return [head, ...rows].join('\n');
}

/** The outputs that draw something. */
export function isVisual(o: Output): o is Visual {
  return o.kind === 'table' || o.kind === 'heatmap' || o.kind === 'curves' || o.kind === 'scatter';
}
