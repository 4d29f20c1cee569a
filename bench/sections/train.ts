// Section 1 of `tsgpt bench`: training throughput of the presets on ref, on wasm with 1 thread
// and with all threads, and in PyTorch (bench/pytorch/train_ref.py) per OpenBLAS kernel set and
// thread setting. Each configuration runs in a child process of its own (peak RSS per
// configuration), and the configurations take turns round by round, so that a burst of load from
// elsewhere hits them all. It measures and collects; bench/report.ts prints.

import { modelConfig } from '../../src/model/config.js';
import { node, retried, runChild } from '../child.js';
import type { BenchOptions, BenchReport, TrainRow, TrainSummary } from '../report.js';
import { PYTHON, TRAIN_REF, torchCoretypes } from '../torch.js';
import { median, presetConfig, type TrainSpeedResult, trainFlopsPerStep } from '../train-speed.js';

/** One column of a preset's table: an engine at a thread count. */
interface ConfigSpec {
  /** 'wasm' or 'torch-' + coretype */
  engine: string;
  threads: number;
  torchMode?: 'all' | 'blas';
}

/** What a configuration gathered over the rounds. */
interface Tally {
  /** ms/iter of each round that succeeded */
  ms: number[];
  steps: number;
  rss: number;
  core: string;
  /** the last failure, '' when none */
  err: string;
  fails: number;
  aloneSteps: number;
  torchThreads: string;
  intraOp: number;
}

/** A preset's size per step, from whichever side measured first. */
interface StepMeta {
  params: number;
  tokensPerStep: number;
  flopsPerStep: number;
}

/** How many steps each side runs, how often (per preset; fewer with --quick). */
interface Plan {
  preset: string;
  iters: number;
  rounds: number;
  wasmWarmup: number;
  torchWarmup: number;
}

function defaultIters(preset: string, quick: boolean): number {
  const full: Record<string, number> = { baby: 20, plan: 8, mini: 4 };
  const fast: Record<string, number> = { baby: 5, plan: 2, mini: 1 };
  return (quick ? fast : full)[preset] ?? (quick ? 2 : 8);
}

function refIters(preset: string, o: BenchOptions): { iters: number; skip?: string } {
  if (preset === 'mini' && !o.withRefMini)
    return { iters: 0, skip: 'skipped: minutes per step (--with-ref-mini to include)' };
  if (o.quick && preset !== 'baby') return { iters: 0, skip: 'skipped in --quick' };
  const n = o.quick ? 1 : ({ baby: 3, plan: 2, mini: 1 } as Record<string, number>)[preset]!;
  return { iters: o.iters !== undefined ? Math.min(n, o.iters) : n };
}

/** Every preset in turn; the notes explain the figures. */
export async function benchTraining(
  o: BenchOptions,
  torch: boolean,
  vocabSize: number,
): Promise<NonNullable<BenchReport['train']>> {
  const rows: TrainRow[] = [];
  const summary: TrainSummary[] = [];
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)}s`;
  for (const preset of o.presets) {
    const plan: Plan = {
      preset,
      iters: o.iters ?? defaultIters(preset, o.quick),
      // baby's steps take tens of ms, so a burst of load elsewhere can spoil a whole round: three
      rounds: o.quick ? 1 : preset === 'baby' ? 3 : 2,
      wasmWarmup: o.quick ? 2 : 3,
      torchWarmup: o.quick ? 2 : 5,
    };
    const log = (line: string) => o.log(`[train ${elapsed()}] ${preset}: ${line}`);
    const r = await benchPreset(plan, o, torch, vocabSize, log);
    rows.push(...r.rows);
    summary.push(r.summary);
  }
  const notes = [
    'GFLOP/s = (6*N*B*T + 12*nLayer*B*T^2*C) / step time: N = parameters less the position embedding ' +
      '(nanoGPT estimate_mfu, PaLM appendix B; causal mask not discounted; norms, GELU, softmax, AdamW not counted)',
    `ms/iter: median of each round's median timed step, ${o.quick ? '1 round' : '3 rounds (baby), 2 (others)'} with the configurations taking turns; ` +
      'warm-up steps untimed (tsgpt: the first step records the tape, later ones replay it)',
    'peak RSS: the whole process (maxRSS) of that configuration: runtime, data, model, optimizer, activations',
    'PyTorch threads: N = torch.set_num_threads(N) and N OpenBLAS threads; I+N = torch intra-op threads as ' +
      "installed (I) and N OpenBLAS threads, the way Debian's torch runs when nobody sets threads",
  ];
  if (o.threads === 1) notes.push('one thread available: no multi-thread columns, no thread scaling');
  return { rows, summary, notes };
}

/** One preset: ref once, then the wasm and PyTorch configurations taking turns, round by round. */
async function benchPreset(
  plan: Plan,
  o: BenchOptions,
  torch: boolean,
  vocabSize: number,
  log: (line: string) => void,
): Promise<{ rows: TrainRow[]; summary: TrainSummary }> {
  const { preset } = plan;
  const cfg = presetConfig(preset, vocabSize);
  const rows: TrainRow[] = [];
  // ref: a few steps, once (it is 30-100x slower than wasm; alternating buys nothing)
  const ref = await refRow(preset, o, log);
  rows.push(ref.row);
  let meta = ref.meta;

  const specs = configSpecs(preset, o.threads, torch);
  const got: Tally[] = specs.map(() => ({
    ms: [],
    steps: 0,
    rss: 0,
    core: '',
    err: '',
    fails: 0,
    aloneSteps: 0,
    torchThreads: '',
    intraOp: 0,
  }));
  for (let round = 0; round < plan.rounds; round++) {
    for (const [i, s] of specs.entries()) {
      const g = got[i]!;
      if (g.err && !g.err.startsWith('killed')) continue;
      log(
        `${s.engine} ${s.threads}t${s.torchMode === 'blas' ? ' (BLAS threads only)' : ''}, ` +
          `round ${round + 1}/${plan.rounds}, ${plan.iters} timed steps`,
      );
      if (s.engine === 'wasm') {
        // N threads: limited to 10x the 1-thread run's time this round (a stalled pool must not
        // stall the whole benchmark)
        const oneMs = s.threads > 1 ? got[0]!.ms[round] : undefined;
        const limitMs =
          oneMs === undefined ? undefined : 20_000 + 10 * (plan.iters + plan.wasmWarmup + 1) * oneMs;
        const m = await wasmRound(s, g, plan, o, limitMs);
        meta ??= m;
      } else {
        // limit: 5x the BLAS-only setting's time this round (+ 15 s to start), when there is one
        const blas = specs.findIndex(
          (x) => x.engine === s.engine && x.threads === s.threads && x.torchMode === 'blas',
        );
        const blasMs = s.torchMode === 'all' && blas >= 0 ? got[blas]!.ms[round] : undefined;
        const limitMs =
          blasMs === undefined ? undefined : 15_000 + 5 * (plan.iters + plan.torchWarmup) * blasMs;
        const params = await torchRound(s, g, plan, o, cfg, limitMs);
        if (!meta && params !== null)
          meta = {
            params,
            tokensPerStep: cfg.batchSize * cfg.blockSize,
            flopsPerStep: trainFlopsPerStep(modelConfig(cfg), cfg.batchSize, params),
          };
      }
    }
  }
  for (const [i, s] of specs.entries()) rows.push(tallyRow(preset, s, got[i]!, meta));
  const sizes = meta ?? { params: 0, tokensPerStep: cfg.batchSize * cfg.blockSize, flopsPerStep: 0 };
  return { rows, summary: summarize(preset, rows, sizes, o.threads, torch) };
}

/** The ref row: a warm-up and a few timed steps in one process, or why it was skipped. */
async function refRow(
  preset: string,
  o: BenchOptions,
  log: (line: string) => void,
): Promise<{ row: TrainRow; meta: StepMeta | null }> {
  const ref = refIters(preset, o);
  if (ref.skip) return { row: emptyRow(preset, 'ref', 1, ref.skip), meta: null };
  log(`ref, 1 warm-up + ${ref.iters} timed steps (seconds each)`);
  const r = await retried(
    () =>
      node('./train-speed.js', [
        ...['--preset', preset, '--backend', 'ref', '--threads', '1'],
        ...['--iters', String(ref.iters), '--warmup', '1', '--text', o.text, '--json'],
      ]),
    o.log,
  );
  if (!r.json) return { row: emptyRow(preset, 'ref', 1, `failed: ${r.error}`), meta: null };
  const t = r.json as unknown as TrainSpeedResult;
  return {
    row: fromTsgpt(t, [t.msPerIter]),
    meta: { params: t.params, tokensPerStep: t.tokensPerStep, flopsPerStep: t.flopsPerStep },
  };
}

/** The columns of a preset's table after ref: wasm at 1 and N threads, PyTorch per kernel set. */
function configSpecs(preset: string, N: number, torch: boolean): ConfigSpec[] {
  const specs: ConfigSpec[] = [{ engine: 'wasm', threads: 1 }];
  if (N > 1) specs.push({ engine: 'wasm', threads: N });
  if (torch) {
    for (const c of torchCoretypes(preset)) {
      // N OpenBLAS threads under torch's own intra-op threads (1: Debian's torch as installed),
      // then torch.set_num_threads(N) as well: its OpenMP threads spin, and collapse when
      // another process holds a core, so that one runs second, with a time limit set by the first
      if (N > 1) specs.push({ engine: `torch-${c}`, threads: N, torchMode: 'blas' });
      specs.push({ engine: `torch-${c}`, threads: N, torchMode: 'all' });
    }
    // one thread too on baby: the 1 -> N scaling of PyTorch beside tsgpt's
    if (preset === 'baby' && N > 1)
      for (const c of torchCoretypes(preset))
        specs.push({ engine: `torch-${c}`, threads: 1, torchMode: 'all' });
  }
  return specs;
}

/** One round of a wasm configuration into `g`; returns the step's size, or null when it failed. */
async function wasmRound(
  s: ConfigSpec,
  g: Tally,
  plan: Plan,
  o: BenchOptions,
  limitMs: number | undefined,
): Promise<StepMeta | null> {
  const r = await retried(
    () =>
      node(
        './train-speed.js',
        [
          ...['--preset', plan.preset, '--backend', 'wasm', '--threads', String(s.threads)],
          ...['--iters', String(plan.iters), '--warmup', String(plan.wasmWarmup), '--text', o.text, '--json'],
        ],
        limitMs,
      ),
    o.log,
  );
  if (!r.json) {
    g.err = r.timedOut
      ? `killed after ${(limitMs! / 1000).toFixed(0)} s, over 10x the 1-thread time (thread pool stalled?)`
      : `failed: ${r.error}`;
    g.fails++;
    return null;
  }
  const t = r.json as unknown as TrainSpeedResult;
  g.ms.push(t.msPerIter);
  g.steps += t.stepMs.length;
  g.rss = Math.max(g.rss, t.peakRssMiB);
  g.core = t.kernels ?? '';
  g.aloneSteps += t.aloneSteps ?? 0;
  return { params: t.params, tokensPerStep: t.tokensPerStep, flopsPerStep: t.flopsPerStep };
}

/** One round of a PyTorch configuration into `g`; returns its parameter count, or null when it failed. */
async function torchRound(
  s: ConfigSpec,
  g: Tally,
  plan: Plan,
  o: BenchOptions,
  cfg: ReturnType<typeof presetConfig>,
  limitMs: number | undefined,
): Promise<number | null> {
  // the same config as tsgpt's preset, keys in tsgpt's spelling (gradAccum is always 1 here)
  const { gradAccum: _, ...torchCfg } = cfg;
  const r = await retried(
    () =>
      runChild(
        PYTHON,
        [
          TRAIN_REF,
          ...['--preset', 'baby', '--preset-json', JSON.stringify(torchCfg), '--text', o.text],
          ...['--speed', String(plan.iters), '--bench-warmup', String(plan.torchWarmup)],
          ...(s.torchMode === 'blas'
            ? ['--blas-threads', String(s.threads)]
            : ['--threads', String(s.threads)]),
          ...['--openblas-coretype', s.engine.slice(6), '--json'],
        ],
        limitMs,
      ),
    o.log,
  );
  if (!r.json) {
    g.err = r.timedOut
      ? `killed after ${(limitMs! / 1000).toFixed(0)} s, over 5x the BLAS-only time (threads spinning on a busy core?)`
      : `failed: ${r.error}`;
    g.fails++;
    return null;
  }
  const j = r.json;
  g.ms.push(Number(j['ms_per_iter']));
  g.steps += Number(j['timed_iters']);
  g.rss = Math.max(g.rss, Number(j['peak_rss_mb']));
  g.core = String(j['openblas_core'] ?? '');
  g.torchThreads = `torch ${j['threads']} + BLAS ${j['blas_threads']}`;
  g.intraOp = Number(j['threads']);
  return Number(j['params']);
}

/** A configuration's row: the median of its rounds, or why there is none. */
function tallyRow(preset: string, s: ConfigSpec, g: Tally, meta: StepMeta | null): TrainRow {
  if (g.ms.length === 0 || !meta) {
    const row = emptyRow(preset, s.engine, s.threads, g.err || 'no result');
    if (s.torchMode) row.torchMode = s.torchMode;
    return row;
  }
  const ms = median(g.ms);
  const row: TrainRow = {
    preset,
    engine: s.engine,
    threads: s.threads,
    msPerIter: ms,
    tokensPerSec: (meta.tokensPerStep / ms) * 1000,
    gflops: meta.flopsPerStep / (ms * 1e6),
    peakRssMiB: g.rss,
    steps: g.steps,
    rounds: g.ms,
  };
  if (s.torchMode) {
    row.blasCore = g.core;
    row.torchMode = s.torchMode;
    row.torchThreads = g.torchThreads;
    row.torchIntraOp = g.intraOp;
  }
  if (s.engine === 'wasm' && s.threads > 1) row.aloneSteps = g.aloneSteps;
  if (g.err) row.note = `${g.fails} of ${g.fails + g.ms.length} rounds ${g.err}`;
  return row;
}

/** A preset's ratios: tsgpt against PyTorch per kernel set and against its fastest row, 1 -> N threads. */
function summarize(
  preset: string,
  rows: readonly TrainRow[],
  meta: StepMeta,
  N: number,
  torch: boolean,
): TrainSummary {
  const ms = (engine: string, threads: number, mode: 'all' | 'blas' = 'all') =>
    rows.find(
      (r) =>
        r.preset === preset &&
        r.engine === engine &&
        r.threads === threads &&
        (r.torchMode === undefined || r.torchMode === mode),
    )?.msPerIter ?? null;
  const div = (a: number | null, b: number | null) => (a !== null && b !== null ? a / b : null);
  const wasmAll = ms('wasm', N);
  const ratioVsTorch: Record<string, number | null> = {};
  const threadSpeedup: Record<string, number | null> = {};
  if (N > 1) threadSpeedup['wasm'] = div(ms('wasm', 1), wasmAll);
  // PyTorch on N threads: the faster of its two thread settings
  const torchN = (c: string) => {
    const xs = [ms(`torch-${c}`, N, 'all'), ms(`torch-${c}`, N, 'blas')].filter((x) => x !== null);
    return xs.length > 0 ? Math.min(...xs) : null;
  };
  if (torch)
    for (const c of torchCoretypes(preset)) {
      ratioVsTorch[c] = div(torchN(c), wasmAll);
      if (preset === 'baby' && N > 1) threadSpeedup[`torch-${c}`] = div(ms(`torch-${c}`, 1), torchN(c));
    }
  let best: TrainRow | null = null;
  for (const r of rows)
    if (
      r.preset === preset &&
      r.torchMode &&
      r.msPerIter !== null &&
      (!best || r.msPerIter < best.msPerIter!)
    )
      best = r;
  const ratioVsBestTorch =
    best && wasmAll !== null
      ? {
          ratio: best.msPerIter! / wasmAll,
          engine: best.engine,
          threads: best.threads,
          torchMode: best.torchMode!,
        }
      : null;
  return {
    preset,
    ...meta,
    ratioVsTorch,
    ratioVsBestTorch,
    threadSpeedup,
  };
}

/** A row without figures, and the reason. */
function emptyRow(preset: string, engine: string, threads: number, note: string): TrainRow {
  return {
    preset,
    engine,
    threads,
    msPerIter: null,
    tokensPerSec: null,
    gflops: null,
    peakRssMiB: null,
    steps: 0,
    rounds: [],
    note,
  };
}

function fromTsgpt(t: TrainSpeedResult, rounds: number[]): TrainRow {
  return {
    preset: t.preset,
    engine: t.backend,
    threads: t.threads,
    msPerIter: t.msPerIter,
    tokensPerSec: t.tokensPerSec,
    gflops: t.gflops,
    peakRssMiB: t.peakRssMiB,
    steps: t.stepMs.length,
    rounds,
  };
}
