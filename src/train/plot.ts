// The loss chart written beside a training run: a standalone SVG string (axes with "nice"
// ticks, train and val curves, legend, title) that any browser opens. Pure string building,
// no DOM and no Node APIs, so the playground can draw the same chart; the caller writes the file.

/** One step's losses; either may be missing (val is only known at evals). */
export interface LossPoint {
  step: number;
  train?: number;
  val?: number;
}

export interface LossChartOptions {
  title?: string;
  /** Pixel size of the whole image (default 720 × 420). */
  width?: number;
  height?: number;
  xLabel?: string;
  yLabel?: string;
}

const COLORS = { train: '#1f77b4', val: '#ff7f0e' } as const;
const MARGIN = { left: 64, right: 24, top: 44, bottom: 52 };

/**
 * "Nice" tick values covering [lo, hi]: about `count` steps of 1, 2 or 5 × 10^k, starting at or
 * below lo and ending at or above hi (so the ticks also give the axis range).
 * @example niceTicks(1.43, 4.2) // [1, 2, 3, 4, 5]
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi)) || hi < lo) return [0, 1];
  if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // integer multiples, then one rounding: no 0.30000000000000004 in the labels
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** A tick label: as few decimals as the tick spacing needs; large values as 12k, 1.5M. */
function tickLabel(v: number, spacing: number): string {
  const a = Math.abs(v);
  if (a >= 1e6 && spacing >= 1e5) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4 && spacing >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(spacing) + 1e-9)));
  return v.toFixed(decimals);
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function num(x: number): string {
  return Number(x.toFixed(1)).toString();
}

/**
 * An SVG line chart of train and val loss against step. Non-finite values are skipped; with no
 * data it draws empty axes and says so.
 * @example
 * await writeFileAtomic('out/loss.svg', lossChartSvg([{ step: 0, train: 4.2, val: 4.2 }, { step: 100, train: 2.5 }]));
 */
export function lossChartSvg(points: readonly LossPoint[], opts: LossChartOptions = {}): string {
  const W = opts.width ?? 720;
  const H = opts.height ?? 420;
  const title = opts.title ?? 'loss';
  const plotW = W - MARGIN.left - MARGIN.right;
  const plotH = H - MARGIN.top - MARGIN.bottom;

  const ok = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  const pts = points.filter((p) => Number.isFinite(p.step)).sort((a, b) => a.step - b.step);
  const series = {
    train: pts.filter((p) => ok(p.train)).map((p) => [p.step, p.train!] as const),
    val: pts.filter((p) => ok(p.val)).map((p) => [p.step, p.val!] as const),
  };
  const all = [...series.train, ...series.val];

  // x from 0 (training starts there) to the last step; y from the data with a little headroom
  const steps = all.map(([s]) => s);
  const xTicks = niceTicks(Math.min(0, ...steps), Math.max(1, ...steps), 6);
  const ys = all.map(([, v]) => v);
  const yPad = ys.length ? 0.05 * (Math.max(...ys) - Math.min(...ys)) : 0;
  const yTicks = ys.length ? niceTicks(Math.min(...ys) - yPad, Math.max(...ys) + yPad, 5) : [0, 1];
  const [x0, x1] = [xTicks[0]!, xTicks[xTicks.length - 1]!];
  const [y0, y1] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const px = (s: number) => MARGIN.left + ((s - x0) / (x1 - x0)) * plotW;
  const py = (v: number) => MARGIN.top + plotH - ((v - y0) / (y1 - y0)) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${num(W / 2)}" y="26" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`,
  );

  // grid and ticks
  const xSpacing = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : 1;
  const ySpacing = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 1;
  out.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  for (const v of yTicks)
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${num(py(v))}" y2="${num(py(v))}"/>`);
  out.push('</g>', '<g class="ticks" fill="#333333">');
  for (const v of yTicks)
    out.push(
      `<text x="${MARGIN.left - 8}" y="${num(py(v) + 4)}" text-anchor="end">${tickLabel(v, ySpacing)}</text>`,
    );
  for (const s of xTicks)
    out.push(
      `<text x="${num(px(s))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${tickLabel(s, xSpacing)}</text>`,
    );
  out.push('</g>');

  // axes and their labels
  const bottom = MARGIN.top + plotH;
  out.push(
    `<path class="axes" d="M${MARGIN.left},${MARGIN.top} V${bottom} H${MARGIN.left + plotW}" fill="none" stroke="#333333"/>`,
    `<text x="${num(MARGIN.left + plotW / 2)}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel ?? 'step')}</text>`,
    `<text transform="translate(16 ${num(MARGIN.top + plotH / 2)}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel ?? 'loss')}</text>`,
  );

  // curves: a polyline per series (one vertex per data point); val also gets dots, since evals are sparse
  for (const name of ['train', 'val'] as const) {
    const s = series[name];
    if (s.length === 0) continue;
    const coords = s.map(([st, v]) => `${num(px(st))},${num(py(v))}`).join(' ');
    out.push(
      `<polyline class="${name}" fill="none" stroke="${COLORS[name]}" stroke-width="1.75" stroke-linejoin="round" points="${coords}"/>`,
    );
    if (name === 'val' || s.length === 1)
      for (const [st, v] of s)
        out.push(
          `<circle class="${name}" cx="${num(px(st))}" cy="${num(py(v))}" r="2.5" fill="${COLORS[name]}"/>`,
        );
  }

  if (all.length === 0) {
    out.push(
      `<text x="${num(MARGIN.left + plotW / 2)}" y="${num(MARGIN.top + plotH / 2)}" text-anchor="middle" fill="#888888">no data yet</text>`,
    );
  }

  // legend (top right, inside the plot), with each series' latest value
  const entries = (['train', 'val'] as const).filter((n) => series[n].length > 0);
  entries.forEach((name, i) => {
    const last = series[name][series[name].length - 1]![1];
    const y = MARGIN.top + 14 + i * 18;
    const x = MARGIN.left + plotW - 110;
    out.push(
      `<g class="legend"><line x1="${x}" x2="${x + 18}" y1="${y - 4}" y2="${y - 4}" stroke="${COLORS[name]}" stroke-width="2.5"/>`,
      `<text x="${x + 24}" y="${y}">${name} ${last.toFixed(4)}</text></g>`,
    );
  });

  out.push('</svg>', '');
  return out.join('\n');
}
