// A single-line progress bar for long CLI jobs (training, prepare, downloads, tokenizer training):
// on a TTY it redraws `[#####.....] 120/2000 loss 2.41 lr 9.8e-4 7.3k tok/s ETA 3m12s` in place
// with `\r`, at most ~10 times a second; elsewhere (CI, pipes, files) it prints a plain line
// every N percent instead. Not a logger: lines that must stay go through `log()`.

/** The bits of a stream the bar uses (process.stderr by default; a fake one in tests). */
export interface ProgressStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** Number of units when done (0 or undefined: unknown, shows only the count). */
  total?: number;
  /** Words before the bar, e.g. `download` or `train`. */
  label?: string;
  /** `count`: 120/2000; `bytes`: 1.2 MB/4.4 MB; `seconds`: 3m12s/15m0s (a time budget). */
  unit?: 'count' | 'bytes' | 'seconds';
  /** Where to draw (default process.stderr). */
  stream?: ProgressStream;
  /** Override TTY detection (default: stream.isTTY). */
  tty?: boolean;
  /** Characters inside the brackets (default 20). */
  width?: number;
  /** Minimum milliseconds between TTY redraws (default 100). */
  minIntervalMs?: number;
  /** Non-TTY: print a line each time progress crosses a multiple of this percent (default 10). */
  plainEveryPercent?: number;
  /** Clock in milliseconds (tests pass a fake one). */
  now?: () => number;
}

/** The bar currently drawn on a terminal, so that main.ts can erase it before an error line. */
let active: ProgressBar | undefined;

/** Erase whichever bar is on the terminal (main.ts calls this before printing an error). */
export function clearActiveProgress(): void {
  active?.clear();
}

/**
 * Extra stats shown after the count, in insertion order. Numbers are shown compactly
 * (2.41, 9.8e-4); a key ending in `/s` is a rate and is shown as `7.3k tok/s`.
 */
export type ProgressStats = Readonly<Record<string, number | string>>;

/**
 * @example
 * const bar = new ProgressBar({ total: 2000, label: 'train' });
 * for (let step = 1; step <= 2000; step++) bar.update(step, { loss, lr, 'tok/s': rate });
 * bar.done();
 */
export class ProgressBar {
  private readonly total: number;
  private readonly label: string;
  private readonly unit: 'count' | 'bytes' | 'seconds';
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly width: number;
  private readonly minIntervalMs: number;
  private readonly plainEvery: number;
  private readonly now: () => number;
  private readonly start: number;
  private current = 0;
  private stats: ProgressStats = {};
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastBucket = 0;
  private drawnLength = 0;
  private finished = false;

  constructor(opts: ProgressOptions = {}) {
    this.total = opts.total !== undefined && opts.total > 0 ? opts.total : 0;
    this.label = opts.label ?? '';
    this.unit = opts.unit ?? 'count';
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? this.stream.isTTY === true;
    this.width = opts.width ?? 20;
    this.minIntervalMs = opts.minIntervalMs ?? 100;
    this.plainEvery = opts.plainEveryPercent ?? 10;
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** Set progress to `current` units (absolute, not a delta) and redraw if it is time. */
  update(current: number, stats?: ProgressStats): void {
    if (this.finished) return;
    this.current = current;
    if (stats) this.stats = stats;
    if (this.tty) {
      const t = this.now();
      if (t - this.lastDraw < this.minIntervalMs && current < this.total) return;
      this.lastDraw = t;
      this.draw();
    } else if (this.total > 0) {
      const bucket = Math.floor((Math.min(current, this.total) / this.total) * (100 / this.plainEvery));
      if (bucket > this.lastBucket && current < this.total) {
        this.lastBucket = bucket;
        this.stream.write(this.line(false) + '\n');
      }
    }
  }

  /** Print a line that stays (an eval result, a warning) without garbling the bar. */
  log(line: string): void {
    if (this.tty && this.drawnLength > 0) {
      this.clear();
      this.stream.write(line + '\n');
      this.draw();
    } else {
      this.stream.write(line + '\n');
    }
  }

  /** Final line (always printed) and a newline; later updates are ignored. */
  done(stats?: ProgressStats): void {
    if (this.finished) return;
    if (stats) this.stats = stats;
    if (this.tty) {
      this.draw();
      this.stream.write('\n');
      this.drawnLength = 0;
      if (active === this) active = undefined;
    } else {
      this.stream.write(this.line(false) + '\n');
    }
    this.finished = true;
  }

  /** Erase the bar from the terminal (e.g. before an error message); the bar can still be redrawn. */
  clear(): void {
    if (this.tty && this.drawnLength > 0) this.stream.write(`\r${' '.repeat(this.drawnLength)}\r`);
    this.drawnLength = 0;
    if (active === this) active = undefined;
  }

  /** The text of the current line (without `\r`/newline). */
  line(withBar = this.tty): string {
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    const frac = this.total > 0 ? Math.min(1, Math.max(0, this.current / this.total)) : 0;
    if (withBar && this.total > 0) {
      const filled = Math.round(frac * this.width);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}]`);
    }
    const fmt =
      this.unit === 'bytes'
        ? formatBytes
        : this.unit === 'seconds'
          ? (n: number) => formatDuration(Math.round(n))
          : (n: number) => String(n);
    parts.push(this.total > 0 ? `${fmt(this.current)}/${fmt(this.total)}` : fmt(this.current));
    if (!withBar && this.total > 0) parts.push(`(${Math.floor(frac * 100)}%)`);
    for (const [k, v] of Object.entries(this.stats)) {
      if (k.endsWith('/s')) parts.push(`${typeof v === 'number' ? formatSI(v) : v} ${k}`);
      else parts.push(`${k} ${typeof v === 'number' ? formatStat(v) : v}`);
    }
    const elapsed = (this.now() - this.start) / 1000;
    if (this.total > 0 && this.current > 0 && this.current < this.total && elapsed > 0) {
      parts.push(`ETA ${formatDuration((elapsed * (this.total - this.current)) / this.current)}`);
    } else if (this.current >= this.total && this.total > 0) {
      parts.push(`in ${formatDuration(elapsed)}`);
    }
    return parts.join(' ');
  }

  private draw(): void {
    let s = this.line(true);
    const cols = this.stream.columns;
    if (cols && s.length > cols - 1) s = s.slice(0, cols - 1);
    // pad over the tail of a longer previous line instead of clearing it (less flicker)
    const pad = Math.max(0, this.drawnLength - s.length);
    this.stream.write(`\r${s}${' '.repeat(pad)}`);
    this.drawnLength = s.length;
    active = this;
  }
}

/** Compact number for stats: 2.41, 0.0123, 9.8e-4, 1.2e+5. */
export function formatStat(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-2 || a >= 1e5)) return x.toExponential(1).replace('.0e', 'e');
  return Number(x.toPrecision(3)).toString();
}

/** Number with an SI suffix: 7300 → 7.3k, 1.5e6 → 1.5M, 12 → 12. */
export function formatSI(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  for (const [div, suffix] of [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (a >= div) return `${trim(x / div)}${suffix}`;
  }
  return trim(x);
}

/** Byte count: 512 B, 1.1 MB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${trim(n / 1e3)} kB`;
  if (n < 1e9) return `${trim(n / 1e6)} MB`;
  return `${trim(n / 1e9)} GB`;
}

/** Seconds as 45s, 3m12s, 1h05m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function trim(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : String(Number(x.toFixed(1)));
}
