// Heatmaps and a labelled scatter plot, drawn on canvas directly: colour ramps (sequential for
// probabilities, diverging for similarities), a pixel-per-cell image for small multiples, a
// labelled heatmap with hover read-out for the large one, and the 2-D embedding map.

import { h } from './dom.js';

export type Rgb = readonly [number, number, number];

function hex(c: string): Rgb {
  const n = Number.parseInt(c.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** A colour scale through evenly spaced stops: t in [0, 1] -> rgb. */
export function ramp(stops: readonly string[]): (t: number) => Rgb {
  const cs = stops.map(hex);
  return (t: number) => {
    const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (cs.length - 1);
    const i = Math.min(cs.length - 2, Math.floor(x));
    const f = x - i;
    const a = cs[i]!;
    const b = cs[i + 1]!;
    return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
  };
}

/** Probabilities: white to deep indigo (sequential). */
export const PROB = ramp(['#ffffff', '#e0e3fd', '#aeb3f6', '#7b7ff0', '#4f46e5', '#3126a8', '#1c1660']);
/** Similarities in [-1, 1]: blue, white at 0, red (diverging); call with (v + 1) / 2. */
export const DIVERGING = ramp(['#2b59c3', '#8fb0ea', '#f7f7f7', '#f2a285', '#c7362b']);
/** Cells a causal model may not look at. */
export const MASKED: Rgb = [244, 243, 239];

export const css = (c: Rgb) => `rgb(${c[0] | 0},${c[1] | 0},${c[2] | 0})`;

/**
 * Draws a (rows, cols) matrix one pixel per cell (the canvas is scaled up by CSS, pixelated).
 * masked(i, j) cells get the MASKED colour.
 */
export function drawCells(
  canvas: HTMLCanvasElement,
  values: ArrayLike<number>,
  rows: number,
  cols: number,
  color: (v: number) => Rgb,
  masked?: (i: number, j: number) => boolean,
  offset = 0,
): void {
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(cols, rows);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const c = masked?.(i, j) ? MASKED : color(values[offset + i * cols + j]!);
      const k = (i * cols + j) * 4;
      img.data[k] = c[0];
      img.data[k + 1] = c[1];
      img.data[k + 2] = c[2];
      img.data[k + 3] = 255;
    }
  ctx.putImageData(img, 0, 0);
}

/** A colour-scale legend: a gradient bar between two labels. */
export function scaleLegend(color: (t: number) => Rgb, lo: string, hi: string, title: string): HTMLElement {
  const c = h('canvas', { width: 140, height: 10 });
  const ctx = c.getContext('2d')!;
  for (let x = 0; x < 140; x++) {
    ctx.fillStyle = css(color(x / 139));
    ctx.fillRect(x, 0, 1, 10);
  }
  return h('div', { class: 'scale' }, title, h('span', {}, lo), c, h('span', {}, hi));
}

/** One tooltip for the whole page. */
const tip = h('div', { class: 'tip', hidden: true });
document.body.append(tip);
export function showTip(e: MouseEvent, text: string): void {
  tip.textContent = text;
  tip.hidden = false;
  const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
  tip.style.left = `${x}px`;
  tip.style.top = `${e.clientY + 14}px`;
}
export function hideTip(): void {
  tip.hidden = true;
}

/** The cell under the mouse of a canvas showing (rows, cols) cells over its whole area. */
export function cellAt(
  canvas: HTMLCanvasElement,
  e: MouseEvent,
  rows: number,
  cols: number,
): [number, number] | null {
  const r = canvas.getBoundingClientRect();
  const j = Math.floor(((e.clientX - r.left) / r.width) * cols);
  const i = Math.floor(((e.clientY - r.top) / r.height) * rows);
  return i >= 0 && i < rows && j >= 0 && j < cols ? [i, j] : null;
}

export interface LabeledOptions {
  rowLabels: string[];
  colLabels: string[];
  color: (v: number) => Rgb;
  masked?: (i: number, j: number) => boolean;
  /** read-out for the cell under the mouse */
  describe: (i: number, j: number, v: number) => string;
  /** CSS pixel size of the drawing (square) */
  size: number;
  /** label every n-th row/column (default: all when they fit) */
  every?: number;
  rowTitle?: string;
  colTitle?: string;
}

/** A heatmap with its row and column labels, at device resolution, with hover read-out. */
export function labeledHeatmap(
  values: ArrayLike<number>,
  rows: number,
  cols: number,
  o: LabeledOptions,
): HTMLCanvasElement {
  const dpr = window.devicePixelRatio || 1;
  const labelFont = (px: number) => `${px}px ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace`;
  const measure = h('canvas').getContext('2d')!;
  const widest = (labels: string[], px: number) => {
    measure.font = labelFont(px);
    return Math.max(0, ...labels.map((l) => measure.measureText(l).width));
  };
  // a first guess of the cell size gives the font, the font gives the room the labels need
  const guess = Math.max(2, Math.floor((o.size - 54) / Math.max(rows, cols)));
  const fontPx = Math.min(12, Math.max(8, guess - 1));
  const every0 = o.every ?? Math.max(1, Math.ceil(9 / guess));
  const colWide = widest(
    o.colLabels.filter((_, j) => j % every0 === 0),
    fontPx,
  );
  // column labels that do not fit across the cells between two of them stand upright
  const rotate = colWide > every0 * guess - 2;
  const pad = {
    left: Math.max(54, Math.ceil(widest(o.rowLabels, fontPx)) + 22),
    top: rotate ? Math.max(40, Math.ceil(colWide) + 24) : 40,
  };
  const cell = Math.max(2, Math.floor((o.size - pad.left) / Math.max(rows, cols)));
  const w = pad.left + cell * cols + 8;
  const hgt = pad.top + cell * rows + 8;
  const canvas = h('canvas', { class: 'plot', style: `width:${w}px;height:${hgt}px;max-width:100%` });
  canvas.width = w * dpr;
  canvas.height = hgt * dpr;
  const ctx = canvas.getContext('2d')!;
  ctx.scale(dpr, dpr);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      ctx.fillStyle = css(o.masked?.(i, j) ? MASKED : o.color(values[i * cols + j]!));
      ctx.fillRect(pad.left + j * cell, pad.top + i * cell, cell, cell);
    }
  const every = o.every ?? Math.max(1, Math.ceil(9 / cell));
  ctx.fillStyle = '#3a3a3c';
  ctx.font = labelFont(fontPx);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (let i = 0; i < rows; i += every)
    ctx.fillText(o.rowLabels[i] ?? '', pad.left - 5, pad.top + i * cell + cell / 2);
  for (let j = 0; j < cols; j += every) {
    const x = pad.left + j * cell + cell / 2;
    if (rotate) {
      ctx.save();
      ctx.translate(x, pad.top - 5);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.textBaseline = 'middle';
      ctx.fillText(o.colLabels[j] ?? '', 0, 0);
      ctx.restore();
    } else {
      ctx.textAlign = 'center';
      ctx.textBaseline = 'bottom';
      ctx.fillText(o.colLabels[j] ?? '', x, pad.top - 4);
    }
  }
  ctx.textBaseline = 'bottom';
  ctx.font = "11px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
  ctx.fillStyle = '#6b6a66';
  if (o.colTitle) {
    ctx.textAlign = 'left';
    ctx.fillText(o.colTitle, pad.left, 12);
  }
  if (o.rowTitle) {
    ctx.save();
    ctx.translate(10, pad.top + (rows * cell) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(o.rowTitle, 0, 0);
    ctx.restore();
  }
  canvas.addEventListener('mousemove', (e) => {
    const r = canvas.getBoundingClientRect();
    const sx = w / r.width;
    const x = (e.clientX - r.left) * sx - pad.left;
    const y = (e.clientY - r.top) * sx - pad.top;
    const i = Math.floor(y / cell);
    const j = Math.floor(x / cell);
    if (x < 0 || y < 0 || i >= rows || j >= cols) return hideTip();
    showTip(e, o.describe(i, j, values[i * cols + j]!));
  });
  canvas.addEventListener('mouseleave', hideTip);
  return canvas;
}

/** Colour of a token label by what kind of character it is (letters, capitals, the rest). */
export function tokenKindColor(label: string): string {
  if (/^[a-z]+$/.test(label)) return '#4f46e5';
  if (/^[A-Z]+$/.test(label)) return '#c2410c';
  if (/^[aeiouAEIOU]$/.test(label)) return '#4f46e5';
  if (/^[␣⏎⇥]+$/.test(label)) return '#9a988f';
  if (/^[0-9]+$/.test(label)) return '#0f766e';
  if (/^[^\p{L}\p{N}]+$/u.test(label)) return '#be185d';
  return '#374151';
}

/** A scatter plot with a text label at each point (the token-embedding map). */
export function labeledScatter(
  xy: ArrayLike<number>,
  labels: string[],
  o: { width: number; height: number; xTitle: string; yTitle: string; color: (label: string) => string },
): HTMLCanvasElement {
  const n = labels.length;
  const dpr = window.devicePixelRatio || 1;
  const pad = 34;
  const canvas = h('canvas', { class: 'plot', style: `height:${o.height}px` });
  canvas.width = o.width * dpr;
  canvas.height = o.height * dpr;
  const ctx = canvas.getContext('2d')!;
  ctx.scale(dpr, dpr);
  let x0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, xy[2 * i]!);
    x1 = Math.max(x1, xy[2 * i]!);
    y0 = Math.min(y0, xy[2 * i + 1]!);
    y1 = Math.max(y1, xy[2 * i + 1]!);
  }
  const sx = (v: number) => pad + ((v - x0) / (x1 - x0 || 1)) * (o.width - 2 * pad);
  const sy = (v: number) => o.height - pad - ((v - y0) / (y1 - y0 || 1)) * (o.height - 2 * pad);
  ctx.strokeStyle = '#eeece7';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(sx(0), pad / 2);
  ctx.lineTo(sx(0), o.height - pad / 2);
  ctx.moveTo(pad / 2, sy(0));
  ctx.lineTo(o.width - pad / 2, sy(0));
  ctx.stroke();
  ctx.font = "11px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
  ctx.fillStyle = '#6b6a66';
  ctx.textAlign = 'right';
  ctx.fillText(o.xTitle, o.width - 8, o.height - 8);
  ctx.save();
  ctx.translate(12, pad);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'right';
  ctx.fillText(o.yTitle, 0, 0);
  ctx.restore();
  // up to LABELLED points get their text; with more, every point is a dot and only the ones
  // farthest out are labelled (the crowd in the middle would be unreadable ink)
  const LABELLED = 200;
  let labelled: Set<number> | null = null;
  if (n > LABELLED) {
    const far = Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => Math.hypot(xy[2 * b]!, xy[2 * b + 1]!) - Math.hypot(xy[2 * a]!, xy[2 * a + 1]!),
    );
    labelled = new Set(far.slice(0, 80));
    for (let i = 0; i < n; i++) {
      ctx.fillStyle = o.color(labels[i]!);
      ctx.globalAlpha = 0.35;
      ctx.beginPath();
      ctx.arc(sx(xy[2 * i]!), sy(xy[2 * i + 1]!), 2, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }
  ctx.font = `${n > 120 ? 11 : 13}px ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace`;
  ctx.textAlign = 'center';
  ctx.textBaseline = labelled ? 'bottom' : 'middle';
  for (let i = 0; i < n; i++) {
    if (labelled && !labelled.has(i)) continue;
    ctx.fillStyle = o.color(labels[i]!);
    ctx.fillText(labels[i]!, sx(xy[2 * i]!), sy(xy[2 * i + 1]!) - (labelled ? 3 : 0));
  }
  canvas.addEventListener('mousemove', (e) => {
    const r = canvas.getBoundingClientRect();
    const mx = ((e.clientX - r.left) / r.width) * o.width;
    const my = ((e.clientY - r.top) / r.height) * o.height;
    let best = -1;
    let bd = 100;
    for (let i = 0; i < n; i++) {
      const d = (sx(xy[2 * i]!) - mx) ** 2 + (sy(xy[2 * i + 1]!) - my) ** 2;
      if (d < bd) {
        bd = d;
        best = i;
      }
    }
    if (best < 0) return hideTip();
    showTip(
      e,
      `token ${best}: ${labels[best]}\nPC1 ${xy[2 * best]!.toFixed(3)}, PC2 ${xy[2 * best + 1]!.toFixed(3)}`,
    );
  });
  canvas.addEventListener('mouseleave', hideTip);
  return canvas;
}
