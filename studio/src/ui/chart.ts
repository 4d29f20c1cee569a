// Line charts on uPlot (a small, fast canvas chart library): the loss curves, the update ratios
// and the histograms (as density lines over shared bins). One x axis, one y axis, our own
// legend, and a redraw that is cheap enough to call a few times a second.

import uPlot from 'uplot';
import { h } from './dom.js';

/** A short tick label for values of any size: 0.003 -> 3e-3, 12.5 -> 13, 0.25 -> 0.25. */
export const compact = (v: number): string =>
  v === 0
    ? '0'
    : Math.abs(v) >= 1000 || Math.abs(v) < 0.01
      ? v.toExponential(0)
      : String(Number(v.toPrecision(2)));

export interface LineSeries {
  label: string;
  color: string;
  width?: number;
  dash?: number[];
  /** draw a dot at each point (sparse series, e.g. evaluations) */
  points?: boolean;
  /** no line, only the dots */
  pointsOnly?: boolean;
  /** fill under the line with this colour */
  fill?: string;
  /** leave this series out of the legend */
  hideInLegend?: boolean;
}

export interface ChartOptions {
  series: LineSeries[];
  height: number;
  xLabel?: string;
  yLabel?: string;
  /** format of the y axis' tick labels */
  yFormat?: (v: number) => string;
  /** fixed y range; default: the data's */
  yRange?: [number, number];
  /** a horizontal reference line (e.g. the healthy update ratio) */
  yMark?: { value: number; label: string };
}

const AXIS = {
  stroke: '#6b6a66',
  grid: { stroke: '#eeece7', width: 1 },
  ticks: { stroke: '#e4e2dc', width: 1, size: 4 },
  font: '11.5px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif',
  labelFont: '12px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif',
};

export class LineChart {
  readonly el: HTMLElement;
  private readonly plot: uPlot;
  private readonly box: HTMLElement;

  constructor(opts: ChartOptions) {
    this.box = h('div', { class: 'chart' });
    const legend = h(
      'div',
      { class: 'legend' },
      ...opts.series
        .filter((s) => !s.hideInLegend)
        .map((s) =>
          h(
            'span',
            {},
            h('i', {
              class: s.pointsOnly ? 'dot' : '',
              style: `background:${s.color}`,
            }),
            s.label,
          ),
        ),
    );
    this.el = h('div', {}, legend, this.box);
    const mark = opts.yMark;
    const uopts: uPlot.Options = {
      width: 600,
      height: opts.height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: {
        x: { time: false },
        y: opts.yRange ? { range: opts.yRange } : { auto: true },
      },
      axes: [
        { ...AXIS, label: opts.xLabel ?? '', labelSize: opts.xLabel ? 22 : 0 },
        {
          ...AXIS,
          label: opts.yLabel ?? '',
          labelSize: opts.yLabel ? 22 : 0,
          size: 52,
          ...(opts.yFormat
            ? { values: (_u: uPlot, vals: number[]) => vals.map((v) => opts.yFormat!(v)) }
            : {}),
        },
      ],
      series: [
        {},
        ...opts.series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            width: s.pointsOnly ? 0 : (s.width ?? 1.5),
            spanGaps: true,
            ...(s.dash ? { dash: s.dash } : {}),
            ...(s.fill ? { fill: s.fill } : {}),
            points:
              s.points || s.pointsOnly
                ? { show: true, size: 6, fill: s.color, stroke: s.color }
                : { show: false },
          }),
        ),
      ],
      hooks: mark
        ? {
            draw: [
              (u: uPlot) => {
                const y = u.valToPos(mark.value, 'y', true);
                if (!Number.isFinite(y) || y < u.bbox.top || y > u.bbox.top + u.bbox.height) return;
                const ctx = u.ctx;
                ctx.save();
                ctx.strokeStyle = '#9a988f';
                ctx.setLineDash([4, 4]);
                ctx.lineWidth = devicePixelRatio;
                ctx.beginPath();
                ctx.moveTo(u.bbox.left, y);
                ctx.lineTo(u.bbox.left + u.bbox.width, y);
                ctx.stroke();
                ctx.setLineDash([]);
                ctx.fillStyle = '#6b6a66';
                ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
                // uPlot leaves the y axis' right alignment set: say ours
                ctx.textAlign = 'left';
                ctx.textBaseline = 'bottom';
                ctx.fillText(mark.label, u.bbox.left + 8 * devicePixelRatio, y - 3 * devicePixelRatio);
                ctx.restore();
              },
            ],
          }
        : {},
    };
    this.plot = new uPlot(
      uopts,
      [[], ...opts.series.map(() => [])] as unknown as uPlot.AlignedData,
      this.box,
    );
    new ResizeObserver(() => {
      const w = this.box.clientWidth;
      if (w > 0 && w !== this.plot.width) this.plot.setSize({ width: w, height: opts.height });
    }).observe(this.box);
  }

  setData(x: ArrayLike<number>, ys: ArrayLike<number | null>[]): void {
    this.plot.setData([x, ...ys] as unknown as uPlot.AlignedData);
  }
}
