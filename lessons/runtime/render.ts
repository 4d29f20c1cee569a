// Draws a lesson's outputs as HTML strings: tables as <table>, heatmaps, curves and scatter
// plots as inline SVG. Plain functions of the data, so the studio shows them and a test can
// check them without a browser. Not here: interaction (hover values are SVG <title>s, no more).

import { formatNumber, type Output } from './run.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];
const FONT = 'font-family="system-ui, sans-serif" font-size="11"';

/** One output as HTML (text outputs as <pre>). */
export function renderOutput(o: Output): string {
  switch (o.kind) {
    case 'text':
      return `<pre class="lesson-text">${esc(o.text)}</pre>`;
    case 'error':
      return `<pre class="lesson-error">${esc(o.text)}</pre>`;
    case 'claim':
      return `<div class="lesson-claim ${o.ok ? 'ok' : 'no'}">${o.ok ? '✓' : '✗'} ${esc(o.text)}</div>`;
    case 'table':
      return renderTable(o);
    case 'heatmap':
      return renderHeatmap(o);
    case 'curves':
      return renderCurves(o);
    case 'scatter':
      return renderScatter(o);
  }
}

const caption = (title: string) => (title ? `<figcaption>${esc(title)}</figcaption>` : '');

function renderTable(o: Extract<Output, { kind: 'table' }>): string {
  const cell = (v: string | number) =>
    typeof v === 'number' ? `<td class="num">${esc(formatNumber(v))}</td>` : `<td>${esc(v)}</td>`;
  return `<figure class="lesson-visual" data-kind="table">${caption(o.title)}<table><thead><tr>${o.columns
    .map((c) => `<th>${esc(c)}</th>`)
    .join(
      '',
    )}</tr></thead><tbody>${o.rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table></figure>`;
}

/** White to blue (sequential) or blue-white-red (diverging) for t in [0, 1] or [-1, 1]. */
function colour(t: number, diverging: boolean): string {
  const mix = (a: number[], f: number) => a.map((c) => Math.round(255 + (c - 255) * f));
  if (!Number.isFinite(t)) return '#f0f';
  const rgb = diverging ? (t < 0 ? mix([37, 99, 235], -t) : mix([220, 38, 38], t)) : mix([30, 64, 175], t);
  return `rgb(${rgb.join(',')})`;
}

function renderHeatmap(o: Extract<Output, { kind: 'heatmap' }>): string {
  const rows = o.values.length;
  const cols = o.values[0]?.length ?? 0;
  const flat = o.values.flat().filter(Number.isFinite);
  const lo = Math.min(...flat, 0);
  const hi = Math.max(...flat, 0);
  const span = o.scale === 'diverging' ? Math.max(Math.abs(lo), Math.abs(hi)) || 1 : hi - lo || 1;
  const cell = Math.max(6, Math.min(36, Math.floor(480 / Math.max(rows, cols, 1))));
  const labelW = Math.min(90, 8 + 7 * Math.max(0, ...o.rowLabels.map((l) => l.length)));
  const labelH = Math.min(90, 8 + 7 * Math.max(0, ...o.colLabels.map((l) => l.length)));
  const showLabels = cell >= 10;
  const w = labelW + cols * cell + 60;
  const h = labelH + rows * cell + 4;
  const parts: string[] = [];
  o.values.forEach((r, i) => {
    r.forEach((v, j) => {
      const t = o.scale === 'diverging' ? v / span : (v - lo) / span;
      parts.push(
        `<rect x="${labelW + j * cell}" y="${labelH + i * cell}" width="${cell}" height="${cell}" fill="${colour(t, o.scale === 'diverging')}"><title>${esc(
          `${o.rowLabels[i] ?? i} → ${o.colLabels[j] ?? j}: ${formatNumber(v)}`,
        )}</title></rect>`,
      );
    });
  });
  if (showLabels) {
    o.rowLabels.forEach((l, i) => {
      parts.push(
        `<text x="${labelW - 4}" y="${labelH + i * cell + cell / 2 + 4}" text-anchor="end">${esc(l)}</text>`,
      );
    });
    o.colLabels.forEach((l, j) => {
      const x = labelW + j * cell + cell / 2 + 4;
      parts.push(
        `<text x="${x}" y="${labelH - 4}" transform="rotate(-90 ${x} ${labelH - 4})">${esc(l)}</text>`,
      );
    });
  }
  // the colour scale: its two ends
  const sx = labelW + cols * cell + 10;
  parts.push(
    `<rect x="${sx}" y="${labelH}" width="10" height="${rows * cell}" fill="url(#g)" stroke="#ccc"/>`,
    `<text x="${sx + 14}" y="${labelH + 10}">${esc(formatNumber(o.scale === 'diverging' ? span : hi))}</text>`,
    `<text x="${sx + 14}" y="${labelH + rows * cell}">${esc(formatNumber(o.scale === 'diverging' ? -span : lo))}</text>`,
  );
  const grad = `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${colour(1, o.scale === 'diverging')}"/>${
    o.scale === 'diverging' ? '<stop offset="0.5" stop-color="#fff"/>' : ''
  }<stop offset="1" stop-color="${colour(o.scale === 'diverging' ? -1 : 0, o.scale === 'diverging')}"/></linearGradient></defs>`;
  return `<figure class="lesson-visual" data-kind="heatmap">${caption(o.title)}<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ${FONT}>${grad}${parts.join('')}</svg></figure>`;
}

/** "Nice" tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= n) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

interface Frame {
  w: number;
  h: number;
  x: (v: number) => number;
  y: (v: number) => number;
  axes: string;
}

function frame(xs: number[], ys: number[], xLabel: string, yLabel: string, logY: boolean): Frame {
  const w = 560;
  const h = 300;
  const m = { l: 56, r: 130, t: 10, b: 40 };
  const fy = (v: number) => (logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const fx = xs.filter(Number.isFinite);
  const fyv = ys.filter((v) => Number.isFinite(v) && (!logY || v > 0)).map(fy);
  let x0 = Math.min(...fx);
  let x1 = Math.max(...fx);
  let y0 = Math.min(...fyv);
  let y1 = Math.max(...fyv);
  if (!(x1 > x0)) [x0, x1] = [x0 - 1, x0 + 1];
  if (!(y1 > y0)) [y0, y1] = [y0 - 1, y0 + 1];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const x = (v: number) => m.l + ((v - x0) / (x1 - x0)) * (w - m.l - m.r);
  const y = (v: number) => h - m.b - ((fy(v) - y0) / (y1 - y0)) * (h - m.t - m.b);
  const parts = [
    `<rect x="${m.l}" y="${m.t}" width="${w - m.l - m.r}" height="${h - m.t - m.b}" fill="none" stroke="#bbb"/>`,
  ];
  for (const t of ticks(x0, x1))
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${h - m.b}" y2="${h - m.b + 4}" stroke="#888"/><text x="${x(t)}" y="${h - m.b + 15}" text-anchor="middle">${esc(formatNumber(t))}</text>`,
    );
  const yt = logY ? ticks(Math.floor(y0), Math.ceil(y1)).filter((t) => Number.isInteger(t)) : ticks(y0, y1);
  for (const t of yt) {
    const v = logY ? 10 ** t : t;
    const py = y(v);
    if (py < m.t - 1 || py > h - m.b + 1) continue;
    parts.push(
      `<line x1="${m.l - 4}" x2="${w - m.r}" y1="${py}" y2="${py}" stroke="#eee"/><text x="${m.l - 6}" y="${py + 4}" text-anchor="end">${esc(formatNumber(v))}</text>`,
    );
  }
  parts.push(
    `<text x="${(m.l + w - m.r) / 2}" y="${h - 6}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="12" y="${(m.t + h - m.b) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(m.t + h - m.b) / 2})">${esc(yLabel)}${logY ? ' (log)' : ''}</text>`,
  );
  return { w, h, x, y, axes: parts.join('') };
}

function renderCurves(o: Extract<Output, { kind: 'curves' }>): string {
  const f = frame(
    o.series.flatMap((s) => s.x),
    o.series.flatMap((s) => s.y),
    o.xLabel,
    o.yLabel,
    o.logY,
  );
  const lines = o.series.map((s, i) => {
    const c = PALETTE[i % PALETTE.length]!;
    const pts = s.x
      .map((x, k) => [x, s.y[k]!] as const)
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0))
      .map(([x, y]) => `${f.x(x).toFixed(1)},${f.y(y).toFixed(1)}`);
    const dots =
      pts.length <= 40
        ? pts
            .map((p) => `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${c}"/>`)
            .join('')
        : '';
    const ly = 18 + i * 16;
    return `<polyline fill="none" stroke="${c}" stroke-width="1.8" points="${pts.join(' ')}"/>${dots}<line x1="${f.w - 122}" x2="${f.w - 106}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/><text x="${f.w - 102}" y="${ly + 4}">${esc(s.name)}</text>`;
  });
  return `<figure class="lesson-visual" data-kind="curves">${caption(o.title)}<svg xmlns="http://www.w3.org/2000/svg" width="${f.w}" height="${f.h}" viewBox="0 0 ${f.w} ${f.h}" ${FONT}>${f.axes}${lines.join('')}</svg></figure>`;
}

function renderScatter(o: Extract<Output, { kind: 'scatter' }>): string {
  const f = frame(
    o.points.map((p) => p.x),
    o.points.map((p) => p.y),
    o.xLabel,
    o.yLabel,
    false,
  );
  const dots = o.points.map(
    (p) =>
      `<circle cx="${f.x(p.x).toFixed(1)}" cy="${f.y(p.y).toFixed(1)}" r="3" fill="${PALETTE[0]}" fill-opacity="0.6"><title>${esc(p.label)}</title></circle>${
        p.label
          ? `<text x="${(f.x(p.x) + 4).toFixed(1)}" y="${(f.y(p.y) - 3).toFixed(1)}">${esc(p.label)}</text>`
          : ''
      }`,
  );
  return `<figure class="lesson-visual" data-kind="scatter">${caption(o.title)}<svg xmlns="http://www.w3.org/2000/svg" width="${f.w}" height="${f.h}" viewBox="0 0 ${f.w} ${f.h}" ${FONT}>${f.axes}${dots.join('')}</svg></figure>`;
}
