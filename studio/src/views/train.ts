// The Train view: choose the text (Tiny Shakespeare or a dropped file) and the tokenizer, a
// preset and the main hyperparameters (checked here, in the page, before the engine sees
// them), then train with a live loss chart, tokens/s and ETA; pause, resume, stop; download the
// checkpoint (the CLI's .safetensors format) or load one. A refused input leaves the model as
// it was. Not here: the training itself (engine/worker.ts).

import { type FullConfig, PRESETS, validateConfig } from 'tsgpt';
import type { DataSource, TokenizerChoice } from '../engine/protocol.js';
import type { Studio } from '../studio.js';
import { compact, LineChart } from '../ui/chart.js';
import { fmt, h, MessageLine, setChildren } from '../ui/dom.js';
import type { View } from './view.js';

/** A hyperparameter the form shows, with the range the studio accepts. */
interface Field {
  key: keyof FullConfig;
  label: string;
  min: number;
  max: number;
  int: boolean;
  step?: string;
}

const FIELDS: Field[] = [
  { key: 'nLayer', label: 'Layers', min: 1, max: 16, int: true },
  { key: 'nHead', label: 'Heads', min: 1, max: 16, int: true },
  { key: 'nEmbd', label: 'Width', min: 4, max: 1024, int: true },
  { key: 'blockSize', label: 'Context (tokens)', min: 2, max: 1024, int: true },
  { key: 'batchSize', label: 'Batch', min: 1, max: 256, int: true },
  { key: 'maxIters', label: 'Steps', min: 1, max: 200000, int: true },
  { key: 'learningRate', label: 'Learning rate', min: 1e-6, max: 1, int: false, step: 'any' },
  { key: 'dropout', label: 'Dropout', min: 0, max: 0.9, int: false, step: '0.05' },
  { key: 'warmupIters', label: 'Warm-up steps', min: 0, max: 100000, int: true },
  { key: 'evalInterval', label: 'Evaluate every', min: 1, max: 100000, int: true },
  { key: 'evalIters', label: 'Eval batches', min: 1, max: 500, int: true },
  { key: 'seed', label: 'Seed', min: 0, max: 2 ** 31 - 1, int: true },
];

/** The presets the page offers: a quick one of its own, then the library's. */
const STUDIO_PRESETS: Record<string, { summary: string; config: Partial<FullConfig> }> = {
  tiny: {
    summary: 'a first look: 2 layers, 64 wide, context 32, 600 steps (under a minute)',
    config: {
      nLayer: 2,
      nHead: 4,
      nEmbd: 64,
      blockSize: 32,
      batchSize: 16,
      maxIters: 600,
      lrDecayIters: 600,
      learningRate: 3e-3,
      minLr: 3e-4,
      warmupIters: 50,
      dropout: 0,
      bias: false,
      evalInterval: 100,
      evalIters: 10,
    },
  },
  ...PRESETS,
};

/** The engine's memory is one WebAssembly memory of at most 2 GiB; leave room for the rest. */
const MEMORY_LIMIT = 1.6 * 2 ** 30;

/** A bad value in the form: which field, and why. */
class FormError extends Error {
  constructor(
    readonly field: keyof FullConfig | null,
    message: string,
  ) {
    super(message);
  }
}

/** Bytes a training step needs, roughly: parameters (weights, grads, two Adam moments) and activations. */
function memoryEstimate(c: FullConfig): number {
  const params = 12 * c.nLayer * c.nEmbd ** 2 + (c.vocabSize + c.blockSize) * c.nEmbd;
  const perToken = c.nLayer * (36 * c.nEmbd + 2 * c.nHead * c.blockSize) + 3 * c.vocabSize;
  return 16 * params + 4 * c.batchSize * c.blockSize * perToken;
}

function paramEstimate(c: Partial<FullConfig>, vocab: number): number {
  const C = c.nEmbd ?? 0;
  const L = c.nLayer ?? 0;
  return 12 * L * C * C + (vocab + (c.blockSize ?? 0)) * C;
}

export function trainView(studio: Studio): View {
  const engine = studio.engine;
  const dataMsg = new MessageLine();
  const modelMsg = new MessageLine();
  const ckptMsg = new MessageLine();
  const runMsg = new MessageLine();

  // ------------------------------------------------------------ data
  const fileInput = h('input', {
    type: 'file',
    accept: '.txt,text/plain',
    hidden: true,
    'data-testid': 'data-file',
  });
  const builtinRadio = h('input', { type: 'radio', name: 'src', value: 'builtin', checked: true });
  const fileRadio = h('input', { type: 'radio', name: 'src', value: 'file' });
  const NO_FILE = 'a UTF-8 text file: none chosen yet';
  const fileName = h('span', { class: 'small muted' }, NO_FILE);
  const tokSelect = h(
    'select',
    { 'data-testid': 'tokenizer' },
    h('option', { value: 'char' }, 'Characters (one token each)'),
    h('option', { value: 'bpe' }, 'Byte-level BPE, learned from the text'),
  );
  const bpeSize = h('input', { type: 'number', value: 512, min: 260, max: 8192, step: 1 });
  const bpeRow = h('label', { class: 'field', hidden: true }, 'BPE vocabulary size', bpeSize);
  const dataSummary = h('div', { class: 'small muted', 'data-testid': 'data-summary' });
  let fileBytes: { name: string; bytes: ArrayBuffer } | null = null;
  /** the choice the engine last accepted (a refused file puts the form back to it) */
  let applied: { file: { name: string; bytes: ArrayBuffer } | null; radio: 'builtin' | 'file' } = {
    file: null,
    radio: 'builtin',
  };

  const drop = h(
    'div',
    { class: 'drop' },
    'Drop a UTF-8 text file here, or ',
    h('button', { class: 'link', type: 'button', onclick: () => fileInput.click() }, 'choose one'),
  );
  const dataCard = h(
    'section',
    { class: 'card' },
    h('h2', {}, 'Data'),
    h(
      'label',
      { class: 'choice' },
      builtinRadio,
      h(
        'span',
        {},
        h('b', {}, 'Tiny Shakespeare'),
        h('span', { class: 'small muted' }, '1.1 MB of plays, public domain'),
      ),
    ),
    h('label', { class: 'choice' }, fileRadio, h('span', {}, h('b', {}, 'Your own text'), fileName)),
    drop,
    fileInput,
    h('div', { style: 'height:10px' }),
    h('label', { class: 'field' }, 'Tokenizer', tokSelect),
    h('div', { style: 'height:8px' }),
    bpeRow,
    h('div', { style: 'height:8px' }),
    dataSummary,
    dataMsg.el,
  );

  const tokenizerChoice = (): TokenizerChoice => {
    if (tokSelect.value === 'char') return { kind: 'char' };
    const n = Number(bpeSize.value);
    if (!Number.isInteger(n) || n < 260 || n > 8192)
      throw new FormError(
        null,
        `BPE vocabulary size ${bpeSize.value}: must be a whole number from 260 to 8192`,
      );
    return { kind: 'bpe', vocabSize: n };
  };

  async function applyData(): Promise<void> {
    dataMsg.clear();
    let source: DataSource;
    let choice: TokenizerChoice;
    try {
      choice = tokenizerChoice();
      if (fileRadio.checked) {
        if (!fileBytes) return;
        source = { kind: 'file', name: fileBytes.name, bytes: fileBytes.bytes.slice(0) };
      } else source = { kind: 'builtin', name: 'tinyshakespeare' };
    } catch (e) {
      dataMsg.show((e as Error).message);
      return;
    }
    dataSummary.textContent = 'reading…';
    try {
      await engine.request({ type: 'setData', source, tokenizer: choice } as const);
      dataMsg.clear();
      applied = { file: fileBytes, radio: fileRadio.checked ? 'file' : 'builtin' };
    } catch (e) {
      dataMsg.show((e as Error).message);
      // the engine kept the text it had: so does the form
      fileBytes = applied.file;
      fileName.textContent = applied.file?.name ?? NO_FILE;
      (applied.radio === 'file' ? fileRadio : builtinRadio).checked = true;
    }
    renderData();
  }

  async function takeFile(f: File): Promise<void> {
    fileBytes = { name: f.name, bytes: await f.arrayBuffer() };
    fileName.textContent = f.name;
    fileRadio.checked = true;
    await applyData();
  }
  fileInput.addEventListener('change', () => {
    const f = fileInput.files?.[0];
    fileInput.value = '';
    if (f) void takeFile(f);
  });
  for (const el of [dataCard]) {
    el.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    el.addEventListener('dragleave', () => drop.classList.remove('over'));
    el.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      const f = e.dataTransfer?.files[0];
      if (f) void takeFile(f);
    });
  }
  builtinRadio.addEventListener('change', () => void applyData());
  fileRadio.addEventListener('change', () => (fileBytes ? void applyData() : fileInput.click()));
  tokSelect.addEventListener('change', () => {
    bpeRow.hidden = tokSelect.value !== 'bpe';
    void applyData();
  });
  bpeSize.addEventListener('change', () => void applyData());

  function renderData(): void {
    const d = studio.state.data;
    dataSummary.textContent = d
      ? `${d.name}: ${fmt.int(d.chars)} characters → ${d.tokenizer}; ${fmt.int(d.trainTokens)} train / ${fmt.int(d.valTokens)} val tokens`
      : 'no text yet';
  }

  // ------------------------------------------------------------ model
  const presetSelect = h(
    'select',
    { 'data-testid': 'preset' },
    ...Object.keys(STUDIO_PRESETS).map((p) => h('option', { value: p }, p)),
  );
  presetSelect.value = 'baby';
  const presetNote = h('div', { class: 'small muted', style: 'margin:4px 0 12px' });
  const inputs = new Map<keyof FullConfig, HTMLInputElement>();
  const fieldEls = FIELDS.map((f) => {
    const input = h('input', {
      type: 'number',
      min: f.min,
      max: f.max,
      step: f.step ?? (f.int ? '1' : 'any'),
      'data-key': f.key,
      'data-testid': `field-${f.key}`,
    });
    input.addEventListener('input', () => {
      input.removeAttribute('aria-invalid');
      presetNote.textContent = `${presetSelect.value}, edited`;
      renderEstimate();
    });
    inputs.set(f.key, input);
    return h('label', { class: 'field' }, f.label, input);
  });
  const estimate = h('div', { class: 'small muted', style: 'margin-top:12px' });
  const newBtn = h('button', { type: 'button', 'data-testid': 'new-model' }, 'New model');
  const modelInfo = h('div', { class: 'small', style: 'margin-top:12px', 'data-testid': 'model-info' });

  function fillPreset(name: string): void {
    const p = STUDIO_PRESETS[name]!;
    presetNote.textContent = p.summary;
    const c = { ...validateConfig({}), ...p.config } as FullConfig;
    for (const f of FIELDS) inputs.get(f.key)!.value = String(c[f.key]);
    renderEstimate();
  }
  presetSelect.addEventListener('change', () => fillPreset(presetSelect.value));

  /** The form's configuration, checked: FormError names the first bad field. */
  function readConfig(): Partial<FullConfig> {
    const base = { ...STUDIO_PRESETS[presetSelect.value]!.config } as Partial<FullConfig>;
    for (const f of FIELDS) {
      const raw = inputs.get(f.key)!.value.trim();
      const v = Number(raw);
      if (raw === '' || !Number.isFinite(v))
        throw new FormError(f.key, `${f.label}: “${raw}” is not a number`);
      if (f.int && !Number.isInteger(v))
        throw new FormError(f.key, `${f.label} = ${raw}: must be a whole number`);
      if (v < f.min || v > f.max)
        throw new FormError(f.key, `${f.label} = ${raw}: must be between ${f.min} and ${f.max}`);
      (base as Record<string, number>)[f.key] = v;
    }
    // the cosine decay spans the run and ends a tenth of the peak (as every preset does)
    base.lrDecayIters = base.maxIters!;
    base.minLr = base.learningRate! / 10;
    if (base.warmupIters! > base.maxIters!)
      throw new FormError(
        'warmupIters',
        `Warm-up steps = ${base.warmupIters}: more than the ${base.maxIters} steps`,
      );
    const vocab = studio.state.data?.vocabSize ?? 65;
    let full: FullConfig;
    try {
      full = validateConfig({ ...base, vocabSize: vocab }, 'model');
    } catch (e) {
      const m = (e as Error).message;
      throw new FormError(m.includes('nHead') ? 'nHead' : null, m.replace(/^model: /, ''));
    }
    const bytes = memoryEstimate(full);
    if (bytes > MEMORY_LIMIT)
      throw new FormError(
        'batchSize',
        `this model needs about ${(bytes / 2 ** 30).toFixed(1)} GiB to train, more than the engine's ${(MEMORY_LIMIT / 2 ** 30).toFixed(1)} GiB: lower the batch, the context or the width`,
      );
    return base;
  }

  function renderEstimate(): void {
    const c: Partial<FullConfig> = {};
    for (const f of FIELDS) (c as Record<string, number>)[f.key] = Number(inputs.get(f.key)!.value);
    const n = paramEstimate(c, studio.state.data?.vocabSize ?? 65);
    const tokens = (c.batchSize ?? 0) * (c.blockSize ?? 0);
    estimate.textContent = Number.isFinite(n)
      ? `≈ ${fmt.params(n)} parameters · ${fmt.int(tokens)} tokens per step`
      : '';
  }

  function showFormError(e: unknown, where: MessageLine): void {
    if (e instanceof FormError && e.field) inputs.get(e.field)?.setAttribute('aria-invalid', 'true');
    where.show((e as Error).message);
  }

  async function createModel(): Promise<boolean> {
    modelMsg.clear();
    let cfg: Partial<FullConfig>;
    try {
      cfg = readConfig();
    } catch (e) {
      showFormError(e, modelMsg);
      return false;
    }
    newBtn.disabled = true;
    try {
      await engine.request({ type: 'newModel', preset: presetSelect.value, config: cfg });
      return true;
    } catch (e) {
      modelMsg.show((e as Error).message);
      return false;
    } finally {
      newBtn.disabled = false;
    }
  }
  newBtn.addEventListener('click', () => void createModel());

  const modelCard = h(
    'section',
    { class: 'card' },
    h('h2', {}, 'Model'),
    h('label', { class: 'field' }, 'Preset', presetSelect),
    presetNote,
    h('div', { class: 'fields' }, ...fieldEls),
    estimate,
    h('div', { class: 'row', style: 'margin-top:12px' }, newBtn),
    modelMsg.el,
    modelInfo,
  );

  // ------------------------------------------------------------ checkpoint
  const downloadBtn = h('button', { type: 'button', 'data-testid': 'download' }, 'Download');
  const loadInput = h('input', {
    type: 'file',
    accept: '.safetensors',
    hidden: true,
    'data-testid': 'load-file',
  });
  const loadBtn = h('button', { type: 'button', onclick: () => loadInput.click() }, 'Load…');
  const savedLine = h('div', { class: 'small muted', style: 'margin-top:10px', 'data-testid': 'saved' });
  const forgetBtn = h('button', { class: 'link small', type: 'button' }, 'forget it');

  downloadBtn.addEventListener('click', async () => {
    ckptMsg.clear();
    try {
      const r = await engine.request<{ bytes: Uint8Array; step: number }>({ type: 'download' });
      const url = URL.createObjectURL(
        new Blob([r.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
      );
      const a = h('a', { href: url, download: `tsgpt-step${r.step}.safetensors` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      ckptMsg.show((e as Error).message);
    }
  });
  loadInput.addEventListener('change', async () => {
    const f = loadInput.files?.[0];
    loadInput.value = '';
    if (!f) return;
    ckptMsg.clear();
    try {
      const bytes = await f.arrayBuffer();
      await engine.request({ type: 'load', name: f.name, bytes }, [bytes]);
      ckptMsg.show(`loaded ${f.name}`, 'info');
    } catch (e) {
      ckptMsg.show((e as Error).message);
    }
  });
  forgetBtn.addEventListener('click', () => void engine.request({ type: 'forget' }));

  const ckptCard = h(
    'section',
    { class: 'card' },
    h('h2', {}, 'Checkpoint'),
    h(
      'p',
      { class: 'sub' },
      'A .safetensors file, the one the command line writes: sample from it with ',
      h('span', { class: 'mono' }, 'tsgpt sample --ckpt'),
      ', or load one it made.',
    ),
    h('div', { class: 'row' }, downloadBtn, loadBtn),
    loadInput,
    savedLine,
    ckptMsg.el,
  );

  // ------------------------------------------------------------ run
  const trainBtn = h('button', { class: 'primary', type: 'button', 'data-testid': 'train' }, 'Train');
  const pauseBtn = h('button', { type: 'button', 'data-testid': 'pause' }, 'Pause');
  const stopBtn = h('button', { type: 'button', 'data-testid': 'stop' }, 'Stop');
  const statusEl = h('div', { class: 'status', 'data-testid': 'status' });

  trainBtn.addEventListener('click', async () => {
    runMsg.clear();
    if (!studio.state.model && !(await createModel())) return;
    try {
      await engine.request({ type: 'train' });
    } catch (e) {
      runMsg.show((e as Error).message);
    }
  });
  pauseBtn.addEventListener('click', () => void engine.request({ type: 'pause' }));
  stopBtn.addEventListener('click', () => void engine.request({ type: 'stop' }));

  const tile = (k: string, testid: string) => {
    const v = h('div', { class: 'v', 'data-testid': testid }, '–');
    return { el: h('div', { class: 'tile' }, h('div', { class: 'k' }, k), v), v };
  };
  const tStep = tile('Step', 'tile-step');
  const tLoss = tile('Train loss', 'tile-loss');
  const tVal = tile('Val loss', 'tile-val');
  const tSpeed = tile('Tokens / s', 'tile-speed');
  const tEta = tile('ETA', 'tile-eta');
  const tParams = tile('Parameters', 'tile-params');
  const bar = h('div');
  tStep.el.append(h('div', { class: 'progress' }, bar));

  const chart = new LineChart({
    height: 340,
    xLabel: 'step',
    yLabel: 'loss (cross-entropy, nats)',
    yFormat: (v) => v.toFixed(2),
    series: [
      { label: 'train loss, each step', color: 'rgba(79,70,229,0.22)', width: 1 },
      { label: 'train loss, smoothed', color: '#4f46e5', width: 2 },
      { label: 'val loss (evaluation)', color: '#e4572e', width: 2, points: true },
      { label: 'train loss (evaluation)', color: '#3730a3', pointsOnly: true },
    ],
  });
  const lrChart = new LineChart({
    height: 150,
    xLabel: 'step',
    yFormat: compact,
    series: [{ label: 'learning rate: warm-up, then cosine decay', color: '#0f766e', width: 1.5 }],
  });
  const sampleText = h('div', {
    class: 'output',
    style: 'min-height:150px;max-height:220px',
    'data-testid': 'eval-sample',
  });
  const sampleTitle = h('h3', {}, 'What it writes');
  const renderSample = () => {
    const sm = studio.sample;
    sampleTitle.textContent = sm ? `What it writes at step ${fmt.int(sm.step)}` : 'What it writes';
    sampleText.textContent = sm ? sm.text : '';
    if (!sm)
      sampleText.append(
        h('span', { class: 'muted' }, 'A sample appears at each evaluation while it trains.'),
      );
  };
  renderSample();
  studio.on('sample', renderSample);
  const lowerCards = h(
    'div',
    { class: 'two' },
    h(
      'section',
      { class: 'card' },
      sampleTitle,
      h('p', { class: 'sub' }, '200 tokens from a newline, temperature 0.8, the same seed each time.'),
      sampleText,
    ),
    h('section', { class: 'card' }, h('h3', {}, 'Learning rate'), lrChart.el),
  );
  const chartEmpty = h(
    'div',
    { class: 'empty', style: 'padding:120px 0' },
    'The loss curves appear here as soon as the model trains.',
  );
  const chartCard = h(
    'section',
    { class: 'card' },
    h('h3', {}, 'Loss'),
    h(
      'p',
      { class: 'sub' },
      'Lower is better. A model that knows nothing scores ln(vocabulary size); the gap between the curves is overfitting.',
    ),
    chartEmpty,
    chart.el,
  );

  // ------------------------------------------------------------ rendering
  /** (time, step) as step events arrive: the rate over the last seconds gives tokens/s and the ETA */
  const rate: { t: number; step: number }[] = [];
  let lastDraw = 0;
  let drawQueued = false;

  function drawChart(): void {
    const steps = studio.history.steps;
    const evals = studio.history.evals;
    const xs: number[] = [];
    const raw: (number | null)[] = [];
    const smooth: (number | null)[] = [];
    const val: (number | null)[] = [];
    const etrain: (number | null)[] = [];
    const evalAt = new Map(evals.map((e) => [e.step, e]));
    let ema: number | null = null;
    let i = 0;
    // merge step points and evaluation points on one x axis (an eval at step s comes before step s+1)
    const evalSteps = [...evalAt.keys()].sort((a, b) => a - b);
    let j = 0;
    while (i < steps.length || j < evalSteps.length) {
      const s = i < steps.length ? steps[i]!.step : Number.POSITIVE_INFINITY;
      const e = j < evalSteps.length ? evalSteps[j]! : Number.POSITIVE_INFINITY;
      if (e < s) {
        const ev = evalAt.get(e)!;
        xs.push(e);
        raw.push(null);
        smooth.push(ema);
        val.push(ev.val);
        etrain.push(ev.train);
        j++;
        continue;
      }
      const p = steps[i]!;
      ema = ema === null ? p.loss : 0.9 * ema + 0.1 * p.loss;
      xs.push(p.step);
      raw.push(p.loss);
      smooth.push(ema);
      const ev = e === s ? evalAt.get(e)! : null;
      val.push(ev ? ev.val : null);
      etrain.push(ev ? ev.train : null);
      if (e === s) j++;
      i++;
    }
    const none = xs.length === 0;
    chartEmpty.hidden = !none;
    chart.el.hidden = none;
    lrChart.el.hidden = none;
    chart.setData(xs, [raw, smooth, val, etrain]);
    lrChart.setData(
      steps.map((p) => p.step),
      [steps.map((p) => p.lr)],
    );
  }

  function queueDraw(): void {
    if (drawQueued) return;
    drawQueued = true;
    const wait = Math.max(0, 250 - (performance.now() - lastDraw));
    setTimeout(() => {
      drawQueued = false;
      lastDraw = performance.now();
      drawChart();
      renderTiles();
    }, wait);
  }

  function renderTiles(): void {
    const st = studio.state;
    const steps = studio.history.steps;
    const last = steps.at(-1);
    tStep.v.replaceChildren(
      fmt.int(st.step),
      h('small', {}, st.maxIters ? ` / ${fmt.int(st.maxIters)}` : ''),
    );
    bar.style.width = st.maxIters ? `${Math.min(100, (100 * st.step) / st.maxIters)}%` : '0';
    const recent = steps.slice(-20);
    const smooth = recent.length ? recent.reduce((a, p) => a + p.loss, 0) / recent.length : null;
    tLoss.v.textContent = fmt.loss(smooth ?? last?.loss);
    tVal.v.textContent = fmt.loss(studio.history.evals.at(-1)?.val);
    // throughput as the wall clock sees it over the last few seconds (evaluations included)
    const now = performance.now();
    while (rate.length > 2 && now - rate[0]!.t > 6000) rate.shift();
    const first = rate[0];
    const lastR = rate.at(-1);
    const stepsPerSec =
      st.status === 'training' && first && lastR && lastR.step > first.step
        ? (lastR.step - first.step) / ((lastR.t - first.t) / 1000)
        : null;
    const c = st.model?.config;
    // while training: the wall-clock rate; otherwise the median step's, over the last steps
    const speeds = recent.map((p) => p.tokensPerSec).sort((a, b) => a - b);
    tSpeed.v.textContent =
      stepsPerSec !== null && c
        ? fmt.int(stepsPerSec * c.batchSize * c.blockSize * c.gradAccum)
        : speeds.length
          ? fmt.int(speeds[Math.floor(speeds.length / 2)]!)
          : '–';
    if (stepsPerSec !== null) tEta.v.textContent = fmt.duration((st.maxIters - st.step) / stepsPerSec);
    else tEta.v.textContent = st.status === 'done' ? 'done' : '–';
    tParams.v.textContent = st.model ? fmt.params(st.model.params) : '–';
  }

  function renderState(): void {
    const st = studio.state;
    const training = st.status === 'training';
    if (!training) rate.length = 0;
    const m = st.model;
    trainBtn.textContent =
      st.status === 'paused' || (st.status === 'done' && st.step < st.maxIters) ? 'Resume' : 'Train';
    trainBtn.disabled =
      training || (m !== null && (!m.canTrain || st.step >= st.maxIters)) || st.engine === null;
    pauseBtn.disabled = !training;
    stopBtn.disabled = !training && st.status !== 'paused';
    newBtn.disabled = training || st.data === null;
    downloadBtn.disabled = m === null;
    for (const el of [builtinRadio, fileRadio, tokSelect, bpeSize]) el.disabled = training;
    const label: Record<string, string> = {
      empty: 'No model yet: pick a preset and press Train',
      ready: 'Ready to train',
      training: 'Training…',
      paused: `Paused at step ${fmt.int(st.step)}`,
      done: st.step >= st.maxIters ? 'Finished' : `Stopped at step ${fmt.int(st.step)}`,
    };
    setChildren(statusEl, h('b', {}, label[st.status] ?? st.status));
    if (m) {
      const c = m.config;
      setChildren(
        modelInfo,
        h(
          'dl',
          { class: 'kv' },
          h('dt', {}, 'current'),
          h('dd', {}, `${c.nLayer} layers · ${c.nHead} heads · ${c.nEmbd} wide · context ${c.blockSize}`),
          h('dt', {}, 'tokenizer'),
          h('dd', {}, m.tokenizer),
          h('dt', {}, 'from'),
          h(
            'dd',
            {},
            m.origin === 'new'
              ? 'created here'
              : m.origin === 'loaded'
                ? 'a loaded checkpoint'
                : 'this browser (restored)',
          ),
        ),
        m.trainBlocked ? h('div', { class: 'message error' }, m.trainBlocked) : null,
      );
    } else modelInfo.replaceChildren();
    savedLine.replaceChildren(
      ...(st.savedStep !== null
        ? [
            `Kept in this browser at step ${fmt.int(st.savedStep)}: a reload continues from there · `,
            forgetBtn,
          ]
        : ['Nothing kept in this browser yet.']),
    );
    renderData();
    renderTiles();
  }

  studio.on('state', renderState);
  studio.on('steps', () => {
    const last = studio.history.steps.at(-1);
    if (last && studio.state.status === 'training') rate.push({ t: performance.now(), step: last.step });
    queueDraw();
  });
  studio.on('history', () => {
    drawChart();
    renderTiles();
  });
  studio.on('notice', () => {
    if (studio.notice) runMsg.show(studio.notice.text, studio.notice.level);
  });

  fillPreset('baby');
  drawChart();

  const el = h(
    'div',
    { class: 'view' },
    h('div', { class: 'side' }, dataCard, modelCard, ckptCard),
    h(
      'div',
      { class: 'main-col' },
      h(
        'section',
        { class: 'card' },
        h('div', { class: 'runbar' }, trainBtn, pauseBtn, stopBtn, statusEl),
        runMsg.el,
      ),
      h('div', { class: 'tiles' }, tStep.el, tLoss.el, tVal.el, tSpeed.el, tEta.el, tParams.el),
      chartCard,
      lowerCards,
    ),
  );

  return {
    id: 'train',
    title: 'Train',
    el,
    /** First data: what a restored run brought, or Tiny Shakespeare by characters. */
    async boot(restored: boolean) {
      if (restored) {
        const d = studio.state.data;
        if (d && d.name !== 'tinyshakespeare') {
          fileRadio.checked = true;
          fileName.textContent = d.name;
          applied = { file: null, radio: 'file' };
        }
        if (d?.tokenizer.startsWith('byte-level')) {
          tokSelect.value = 'bpe';
          bpeRow.hidden = false;
          bpeSize.value = String(d.vocabSize);
        }
        const c = studio.state.model?.config;
        if (c) {
          for (const f of FIELDS) inputs.get(f.key)!.value = String(c[f.key]);
          presetNote.textContent = 'the restored model’s settings';
        }
        renderState();
        drawChart();
        return;
      }
      await applyData();
    },
  };
}
