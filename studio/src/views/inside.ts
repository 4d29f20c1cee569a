// The Inside view: what the model computes for a prompt and how its training is going.
// Attention of every layer and head as heatmaps (small multiples, one enlarged with labels);
// the token embeddings on their first two principal components; the learned position
// embeddings' cosine similarity; while training, per-layer activation and gradient histograms
// and update-to-weight ratios; for BPE tokenizers, the prompt coloured by token.
// The numbers come from the library's inspect(), in the engine; this file only draws them.

import type { Health, InsideResult } from '../engine/protocol.js';
import type { Studio } from '../studio.js';
import { compact, LineChart } from '../ui/chart.js';
import { fmt, h, MessageLine, setChildren } from '../ui/dom.js';
import {
  cellAt,
  DIVERGING,
  drawCells,
  hideTip,
  labeledHeatmap,
  labeledScatter,
  PROB,
  scaleLegend,
  showTip,
  tokenKindColor,
} from '../ui/heatmap.js';
import type { View } from './view.js';

const LAYER_COLORS = ['#4f46e5', '#0ea5e9', '#10b981', '#f59e0b', '#ef4444', '#a855f7', '#ec4899', '#14b8a6'];
const layerColor = (l: number) => LAYER_COLORS[l % LAYER_COLORS.length]!;
/** Pastel backgrounds for text coloured by token. */
const TOKEN_BG = ['#e0e7ff', '#fde68a', '#bbf7d0', '#fbcfe8', '#bae6fd', '#fed7aa'];

/** How a token is shown in a label: invisible characters made visible. */
const show = (s: string) => s.replace(/\n/g, '⏎').replace(/ /g, '␣').replace(/\t/g, '⇥');

export function insideView(studio: Studio): View {
  const engine = studio.engine;
  const msg = new MessageLine();
  const prompt = h('textarea', { rows: 2, 'data-testid': 'inside-prompt', spellcheck: false });
  prompt.value = 'ROMEO:\nBut soft, what light through yonder window breaks?';
  const goBtn = h('button', { class: 'primary', type: 'button', 'data-testid': 'inspect' }, 'Look inside');
  const live = h('input', { type: 'checkbox', checked: true });
  const info = h('div', { class: 'small muted' });

  const attnGrid = h('div', { class: 'heat-grid', 'data-testid': 'attention-grid' });
  const attnBig = h('div');
  const embBox = h('div');
  const posBox = h('div');
  const tokBox = h('div', { class: 'tokens-coloured' });
  const tokCard = h(
    'section',
    { class: 'card', hidden: true },
    h('h3', {}, 'Tokens'),
    h(
      'p',
      { class: 'sub' },
      'The prompt as the tokenizer cuts it: each coloured run is one token (hover for its id).',
    ),
    tokBox,
  );
  let selected: [number, number] = [0, 0];
  let busy = false;
  /** asked again while a look was under way: look once more when it ends */
  let again = false;

  async function look(): Promise<void> {
    if (!studio.state.model) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    msg.clear();
    try {
      studio.inside = await engine.request<InsideResult>({ type: 'inspect', prompt: prompt.value });
      studio.emit('inside');
      render();
    } catch (e) {
      msg.show((e as Error).message);
    } finally {
      busy = false;
    }
    if (again) {
      again = false;
      await look();
    }
  }
  goBtn.addEventListener('click', () => void look());
  prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      void look();
    }
  });

  function render(): void {
    const r = studio.inside;
    if (!r) return;
    const T = r.tokens.length;
    const labels = r.tokens.map(show);
    info.textContent = `${T} tokens · ${r.nLayer} layers × ${r.nHead} heads · step ${fmt.int(studio.state.step)}`;
    // small multiples: one row per layer, one column per head
    const cellPx = Math.max(56, Math.min(120, Math.floor(520 / r.nHead)));
    attnGrid.style.gridTemplateColumns = `max-content repeat(${r.nHead}, ${cellPx}px)`;
    const cells: HTMLElement[] = [
      h('div'),
      ...Array.from({ length: r.nHead }, (_, hd) => h('div', { class: 'small muted' }, `head ${hd}`)),
    ];
    for (let l = 0; l < r.nLayer; l++) {
      cells.push(h('div', { class: 'small muted', style: 'align-self:center' }, `layer ${l}`));
      for (let hd = 0; hd < r.nHead; hd++) {
        const canvas = h('canvas', { 'data-layer': l, 'data-head': hd });
        drawCells(canvas, r.attention[l]!, T, T, PROB, (i, j) => j > i, hd * T * T);
        canvas.addEventListener('mousemove', (e) => {
          const c = cellAt(canvas, e, T, T);
          if (!c) return hideTip();
          const [i, j] = c;
          const p = j > i ? 0 : r.attention[l]![hd * T * T + i * T + j]!;
          showTip(
            e,
            `layer ${l}, head ${hd}\n${labels[i]} (pos ${i}) → ${labels[j]} (pos ${j}): ${p.toFixed(3)}`,
          );
        });
        canvas.addEventListener('mouseleave', hideTip);
        canvas.addEventListener('click', () => {
          selected = [l, hd];
          render();
        });
        const cell = h(
          'div',
          { class: `heat-cell${selected[0] === l && selected[1] === hd ? ' sel' : ''}` },
          canvas,
        );
        cells.push(cell);
      }
    }
    setChildren(attnGrid, ...cells);
    const [sl, sh] = selected[0] < r.nLayer && selected[1] < r.nHead ? selected : [0, 0];
    const one = r.attention[sl]!.subarray(sh * T * T, (sh + 1) * T * T);
    setChildren(
      attnBig,
      h(
        'div',
        { class: 'small', style: 'margin-bottom:6px' },
        h('b', {}, `Layer ${sl}, head ${sh}`),
        h('span', { class: 'muted' }, ' · click a small map to enlarge it'),
      ),
      labeledHeatmap(one, T, T, {
        rowLabels: labels,
        colLabels: labels,
        color: PROB,
        masked: (i, j) => j > i,
        size: 420,
        rowTitle: 'query: the position looking',
        colTitle: 'key: the position looked at',
        describe: (i, j, v) =>
          `${labels[i]} (pos ${i}) → ${labels[j]} (pos ${j}): ${j > i ? 'masked (future)' : v.toFixed(3)}`,
      }),
    );
    // token embeddings, projected
    const e = r.embedding;
    const width = Math.max(320, embBox.clientWidth || 520);
    setChildren(
      embBox,
      labeledScatter(e.xy, e.labels, {
        width,
        height: 360,
        xTitle: `PC1 (${(100 * e.explained[0]!).toFixed(0)}% of variance)`,
        yTitle: `PC2 (${(100 * e.explained[1]!).toFixed(0)}%)`,
        color: tokenKindColor,
      }),
      r.tokenizer === 'char'
        ? h(
            'div',
            { class: 'legend', style: 'margin-top:8px' },
            ...[
              ['lower case', 'a'],
              ['capitals', 'A'],
              ['punctuation', ','],
              ['space, newline', '␣'],
              ['digits', '3'],
            ].map(([name, ch]) =>
              h('span', {}, h('i', { class: 'dot', style: `background:${tokenKindColor(ch!)}` }), name!),
            ),
          )
        : null,
    );
    // positions
    if (r.positions) {
      const n = r.positions.size;
      const nums = Array.from({ length: n }, (_, i) => String(i));
      setChildren(
        posBox,
        labeledHeatmap(r.positions.sim, n, n, {
          rowLabels: nums,
          colLabels: nums,
          color: (v) => DIVERGING((v + 1) / 2),
          size: Math.min(420, Math.max(260, posBox.clientWidth || 380)),
          every: n <= 16 ? 1 : n <= 64 ? 8 : n <= 128 ? 16 : 32,
          rowTitle: 'position',
          colTitle: 'position',
          describe: (i, j, v) => `positions ${i} and ${j}: cosine ${v.toFixed(3)}`,
        }),
        scaleLegend(DIVERGING, '−1', '1', 'cosine similarity'),
      );
    } else
      setChildren(
        posBox,
        h('div', { class: 'empty' }, 'This model uses fixed sinusoidal positions: nothing learned to show.'),
      );
    // tokens
    tokCard.hidden = r.tokenizer === 'char';
    if (r.tokenizer !== 'char')
      setChildren(
        tokBox,
        ...r.tokens.map((t, i) =>
          h('span', { style: `background:${TOKEN_BG[i % TOKEN_BG.length]}`, title: `token ${r.ids[i]}` }, t),
        ),
      );
  }

  // ------------------------------------------------------------ training health
  const healthBody = h('div');
  const healthEmpty = h(
    'div',
    { class: 'empty' },
    'Train a model to see these: they are measured on a training batch every second or two while it trains.',
  );
  let charts: {
    layers: number;
    act: LineChart;
    res: LineChart;
    grad: LineChart;
    ratio: LineChart;
    tables: HTMLElement[];
  } | null = null;

  function buildCharts(layers: number) {
    const series = () =>
      Array.from({ length: layers }, (_, l) => ({ label: `layer ${l}`, color: layerColor(l), width: 1.6 }));
    const act = new LineChart({
      height: 180,
      xLabel: 'value',
      yLabel: 'density',
      yFormat: (v) => v.toFixed(1),
      series: series(),
    });
    const res = new LineChart({
      height: 180,
      xLabel: 'value',
      yLabel: 'density',
      yFormat: (v) => v.toFixed(1),
      series: series(),
    });
    const grad = new LineChart({
      height: 180,
      xLabel: 'value',
      yLabel: 'density',
      yFormat: compact,
      series: series(),
    });
    const ratio = new LineChart({
      height: 220,
      xLabel: 'step',
      yLabel: 'log10(update / weight)',
      yFormat: (v) => v.toFixed(1),
      yMark: { value: -3, label: '1e-3: the usual healthy value' },
      series: [
        ...Array.from({ length: layers }, (_, l) => ({
          label: `layer ${l}`,
          color: layerColor(l),
          width: 1.6,
          points: true,
        })),
        { label: 'token embedding', color: '#6b6a66', width: 1.6, dash: [5, 4], points: true },
      ],
    });
    const tables = [h('div'), h('div'), h('div')];
    const box = (title: string, sub: string, c: LineChart, t: HTMLElement) =>
      h('div', {}, h('h3', {}, title), h('p', { class: 'sub' }, sub), c.el, t);
    setChildren(
      healthBody,
      h(
        'div',
        { class: 'three' },
        box(
          'MLP activations',
          'The hidden layer after its nonlinearity. Dead (all-zero) or exploding units show here.',
          act,
          tables[0]!,
        ),
        box(
          'Residual stream',
          'Each block’s output. Its spread should grow slowly with depth, not blow up.',
          res,
          tables[1]!,
        ),
        box(
          'Gradients',
          'Of each layer’s four weight matrices, at the last step. Similar widths across layers mean a healthy flow.',
          grad,
          tables[2]!,
        ),
      ),
      h('div', { style: 'height:18px' }),
      h('h3', {}, 'Update-to-weight ratio'),
      h(
        'p',
        { class: 'sub' },
        'How much one step changes the weights, relative to their size (per layer: the geometric mean over its matrices). Far above −3 the step is too big; far below, the layer barely learns.',
      ),
      ratio.el,
    );
    return { layers, act, res, grad, ratio, tables };
  }

  function density(
    hist: { lo: number; hi: number; counts: number[] },
    count: number,
  ): { x: number[]; y: number[] } {
    const n = hist.counts.length;
    const w = (hist.hi - hist.lo) / n || 1;
    return {
      x: hist.counts.map((_, i) => hist.lo + (i + 0.5) * w),
      y: hist.counts.map((c) => c / (count * w)),
    };
  }

  function statsTable(rows: { mean: number; std: number }[], digits: (v: number) => string): HTMLElement {
    return h(
      'dl',
      { class: 'kv small', style: 'margin-top:6px' },
      ...rows.flatMap((s, l) => [
        h('dt', { style: `color:${layerColor(l)}` }, `layer ${l}`),
        h('dd', {}, `mean ${digits(s.mean)} · std ${digits(s.std)}`),
      ]),
    );
  }

  function renderHealth(): void {
    const all = studio.health;
    const last: Health | undefined = all.at(-1);
    if (!last || last.layers.length === 0) {
      setChildren(healthBody, healthEmpty);
      charts = null;
      return;
    }
    const L = last.layers.length;
    if (!charts || charts.layers !== L) charts = buildCharts(L);
    const c = charts;
    const plot = (
      chart: LineChart,
      pick: (l: Health['layers'][number]) => {
        count: number;
        histogram: { lo: number; hi: number; counts: number[] };
      },
    ) => {
      const d = last.layers.map((l) => density(pick(l).histogram, pick(l).count));
      chart.setData(
        d[0]!.x,
        d.map((v) => v.y),
      );
    };
    plot(c.act, (l) => l.mlp);
    plot(c.res, (l) => l.block);
    plot(c.grad, (l) => l.grad);
    setChildren(
      c.tables[0]!,
      statsTable(
        last.layers.map((l) => l.mlp),
        (v) => v.toFixed(3),
      ),
    );
    setChildren(
      c.tables[1]!,
      statsTable(
        last.layers.map((l) => l.block),
        (v) => v.toFixed(3),
      ),
    );
    setChildren(
      c.tables[2]!,
      statsTable(
        last.layers.map((l) => l.grad),
        (v) => v.toExponential(2),
      ),
    );
    const xs = all.map((hh) => hh.step);
    const perLayer = Array.from({ length: L }, (_, l) =>
      all.map((hh) => {
        const rs = hh.ratios.filter((r) => r.name.startsWith(`transformer.h.${l}.`));
        return rs.length ? rs.reduce((a, r) => a + Math.log10(r.ratio), 0) / rs.length : null;
      }),
    );
    const wte = all.map((hh) => {
      const r = hh.ratios.find((x) => x.name === 'transformer.wte.weight');
      return r ? Math.log10(r.ratio) : null;
    });
    c.ratio.setData(xs, [...perLayer, wte]);
  }
  studio.on('health', () => {
    if (!el.hidden) renderHealth();
  });
  studio.on('history', renderHealth);

  // refresh the maps while training, when the view is open
  setInterval(() => {
    if (!el.hidden && live.checked && studio.state.status === 'training') void look();
  }, 2500);
  studio.on('state', () => {
    goBtn.disabled = !studio.state.model;
  });

  const el = h(
    'div',
    { class: 'view wide' },
    h(
      'div',
      { class: 'main-col' },
      h(
        'section',
        { class: 'card' },
        h(
          'div',
          { class: 'row' },
          h(
            'label',
            { class: 'field', style: 'flex:1;min-width:280px' },
            'Prompt (Enter looks inside; Shift+Enter for a new line)',
            prompt,
          ),
          h('div', { style: 'align-self:flex-end' }, goBtn),
          h(
            'label',
            { class: 'row small muted', style: 'align-self:flex-end;gap:6px' },
            live,
            'refresh while training',
          ),
        ),
        h('div', { style: 'height:6px' }),
        info,
        msg.el,
      ),
      h(
        'section',
        { class: 'card' },
        h('h3', {}, 'Attention'),
        h(
          'p',
          { class: 'sub' },
          'Row i is where position i looks: its attention over positions 0…i (each row sums to 1). The grey triangle is the future, which a causal model may not see.',
        ),
        scaleLegend(PROB, '0', '1', 'attention weight'),
        h('div', { style: 'height:12px' }),
        h('div', { class: 'attn-wrap' }, attnGrid, attnBig),
      ),
      h(
        'div',
        { class: 'two' },
        h(
          'section',
          { class: 'card' },
          h('h3', {}, 'Token embeddings'),
          h(
            'p',
            { class: 'sub' },
            'Each token’s learned vector, projected onto the two directions along which the vectors vary most (PCA). Tokens the model treats alike end up close.',
          ),
          embBox,
        ),
        h(
          'section',
          { class: 'card' },
          h('h3', {}, 'Position embeddings'),
          h(
            'p',
            { class: 'sub' },
            'How alike the learned vectors of two positions are. A band along the diagonal means nearby positions look alike to the model.',
          ),
          posBox,
        ),
      ),
      tokCard,
      h('section', { class: 'card' }, h('h2', {}, 'Is training healthy?'), healthBody),
    ),
  );
  setChildren(healthBody, healthEmpty);
  attnGrid.append(h('div', { class: 'empty' }, 'Press “Look inside” once there is a model.'));
  embBox.append(h('div', { class: 'empty' }, 'Appears with the first look inside.'));
  posBox.append(h('div', { class: 'empty' }, 'Appears with the first look inside.'));

  return {
    id: 'inside',
    title: 'Inside',
    el,
    shown() {
      renderHealth();
      if (studio.state.model && !studio.inside) void look();
      else if (studio.inside) render();
    },
  };
}
