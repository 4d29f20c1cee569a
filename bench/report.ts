// The bench's report: the types of every figure a run collects (BenchReport, one part per
// section) and the text table `tsgpt bench` prints from it (formatReport; with --json the report
// itself is printed). Formatting only: nothing here measures, and the figures are never changed.

import type { BabyGenerateResult, Gpt2GenerateResult } from './generate-speed.js';
import { SSE_CORETYPE } from './torch.js';
import { presetConfig } from './train-speed.js';

/** The sections of a run, in the order they run and print (`tsgpt bench --only`). */
export type Section = 'train' | 'busy' | 'matmul' | 'generate' | 'tokenizer' | 'quality';

export interface BenchOptions {
  sections: readonly Section[];
  presets: readonly string[];
  /** fewer steps, tokens and repeats: a smoke test, not figures to quote */
  quick: boolean;
  /** timed training steps per round for wasm and PyTorch (default: per preset) */
  iters?: number;
  /** "all threads": the thread count of the multi-threaded columns */
  threads: number;
  /** char-level training text (Tiny Shakespeare) */
  text: string;
  /** run the PyTorch side (false: --no-torch) */
  torch: boolean;
  /** time the ref backend on mini too (minutes per step) */
  withRefMini: boolean;
  /** a checkpoint for the baby generation figure instead of random weights */
  ckpt?: string;
  /** progress lines (what is being measured now) */
  log: (line: string) => void;
}

/** One training configuration's figures, as the table shows them. */
export interface TrainRow {
  preset: string;
  /** 'ref', 'wasm', or 'torch-' + an OpenBLAS kernel choice (see torchCoretypes) */
  engine: string;
  threads: number;
  msPerIter: number | null;
  tokensPerSec: number | null;
  gflops: number | null;
  peakRssMiB: number | null;
  /** timed steps, all rounds together */
  steps: number;
  /** ms/iter of each round (its median step) */
  rounds: number[];
  /** why there are no figures (skipped, failed, unavailable) */
  note?: string;
  /** OpenBLAS's kernel set as reported by the library (torch rows) */
  blasCore?: string;
  /** wasm rows on several threads: timed steps the thread governor ran on one thread */
  aloneSteps?: number;
  /**
   * PyTorch rows: 'all' = `--threads N` (N intra-op threads and N OpenBLAS threads), 'blas' =
   * torch's intra-op threads as installed (1 for Debian's) and N OpenBLAS threads
   */
  torchMode?: 'all' | 'blas';
  /** PyTorch rows: the intra-op / OpenBLAS thread counts train_ref.py reported */
  torchThreads?: string;
  /** PyTorch rows: torch's intra-op threads (torch.get_num_threads()) */
  torchIntraOp?: number;
}

export interface TrainSummary {
  preset: string;
  params: number;
  tokensPerStep: number;
  flopsPerStep: number;
  /**
   * by PyTorch kernel choice: PyTorch ms on N threads (the faster of its two thread settings) /
   * tsgpt (wasm, N threads) ms; > 1 means tsgpt is faster
   */
  ratioVsTorch: Record<string, number | null>;
  /** the same against the fastest PyTorch row of this preset, whatever its threads or kernels */
  ratioVsBestTorch: { ratio: number; engine: string; threads: number; torchMode: string } | null;
  /** ms/iter on 1 thread / ms/iter on N threads, by engine ('wasm', 'torch-default', ...; PyTorch: its faster N-thread setting) */
  threadSpeedup: Record<string, number | null>;
}

export interface MatmulRow {
  preset: string;
  layer: string;
  pass: 'fwd' | 'dX' | 'dW';
  m: number;
  k: number;
  n: number;
  /** GFLOP/s (2*M*K*N per product), best of reps, by thread count */
  gflops: Record<string, number>;
}

export interface TorchGenerate {
  coretype: string;
  /** as in TrainRow: 'all' = --threads N, 'blas' = intra-op threads as installed + N OpenBLAS threads */
  torchMode: 'all' | 'blas';
  /** e.g. 'torch 1 + BLAS 2' */
  torchThreads?: string;
  /** the thread count asked for (OpenBLAS threads; also torch's with torchMode 'all') */
  threads: number;
  tokensPerSec: number | null;
  loadS: number | null;
  prefillMs: number | null;
  peakRssMiB: number | null;
  blasCore?: string;
  note?: string;
}

export interface BenchReport {
  date: string;
  machine: Record<string, string | number | null>;
  options: Record<string, unknown>;
  train?: { rows: TrainRow[]; summary: TrainSummary[]; notes: string[] };
  matmul?: {
    rows: MatmulRow[];
    threads: number[];
    reps: number;
    /** the kernel build the rows ran on */
    flavor?: string;
    /** one core's arithmetic ceiling by kernel build, GFLOP/s (src/backend/wasm/kernels/peak.ts) */
    ceiling?: Record<string, number>;
    error?: string;
  };
  generate?: {
    baby: BabyGenerateResult | { error: string };
    /** tsgpt at 1 and all threads, PyTorch per kernel choice and thread setting, same weights */
    gpt2:
      | { tsgpt: Gpt2GenerateResult[]; torch: TorchGenerate[]; promptLen: number; newTokens: number }
      | { error: string };
  };
  tokenizer?: Record<string, number> | { error: string };
  busy?: BusyReport;
  quality?: QualityReport;
  torch: { available: boolean; detail: string };
}

/**
 * Time to a good model (bench/sections/quality.ts): PyTorch's baby run and its val loss (the
 * target), tsgpt's recipe timed to that loss, and PyTorch's seconds / tsgpt's (> 1: tsgpt sooner).
 */
export interface QualityReport {
  torch?: {
    steps: number;
    /** the training loop's wall time, s */
    seconds: number;
    /** val loss (whole split) after the last step: the target */
    valLoss: number;
    msPerStep: number;
    blasCore: string;
    threads: string;
  };
  tsgpt?: {
    preset: string;
    threads: number;
    /** steps trained (the recipe's schedule) */
    steps: number;
    /** the first snapshot at or below the target, or null */
    stepsToTarget: number | null;
    /** the training loop's wall time to it, s */
    seconds: number | null;
    valLoss: number | null;
    /** val loss after the whole schedule */
    finalLoss: number;
    trainSeconds: number;
    msPerStep: number;
    aloneSteps: number | null;
  };
  ratio?: number | null;
  error?: string;
  notes: string[];
}

/** baby training while another process spins on one core: 1 thread, N with and without the governor */
export interface BusyReport {
  preset: string;
  rows: {
    label: string;
    threads: number;
    governor: boolean;
    msPerIter: number | null;
    aloneSteps: number | null;
    steps: number;
    note?: string;
  }[];
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// the table

/** Columns padded to width: the first `left` and a 'notes' column left-aligned, the rest right. */
function table(head: readonly string[], body: readonly (readonly string[])[], left = 1): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]) =>
    r
      .map((c, i) => (i < left || head[i] === 'notes' ? c.padEnd(w[i]!) : c.padStart(w[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(fmt)];
}

const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));
const ratio = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${x.toFixed(2)}x`);

/** 'PyTorch, OpenBLAS auto-detect -> Cooperlake', 'PyTorch, OPENBLAS_CORETYPE=SkylakeX'. */
function torchLabel(coretype: string, blasCore: string | undefined): string {
  const core = blasCore && blasCore.toLowerCase() !== coretype.toLowerCase() ? ` -> ${blasCore}` : '';
  if (coretype === 'default') return `PyTorch, OpenBLAS auto-detect${core}`;
  const env =
    process.env['OPENBLAS_CORETYPE'] === coretype
      ? ' (env)'
      : coretype === SSE_CORETYPE
        ? " (SSE: the issue's default)"
        : '';
  return `PyTorch, OPENBLAS_CORETYPE=${coretype}${env}${core}`;
}

function engineLabel(r: TrainRow): string {
  if (r.engine === 'ref') return 'tsgpt ref';
  if (r.engine === 'wasm') return 'tsgpt wasm';
  return torchLabel(r.engine.slice('torch-'.length), r.blasCore);
}

/** '2', or for PyTorch with only OpenBLAS threaded: '1+2' (intra-op + BLAS). */
function threadsLabel(r: TrainRow): string {
  return r.torchMode === 'blas' ? `${r.torchIntraOp ?? '?'}+${r.threads}` : String(r.threads);
}

/** 'tsgpt wasm', 'PyTorch auto-detect', 'PyTorch SkylakeX' for the engine keys of the summaries. */
function engineKeyLabel(key: string): string {
  if (key === 'wasm') return 'tsgpt wasm';
  const c = key.slice('torch-'.length);
  return `PyTorch ${c === 'default' ? 'auto-detect' : c === SSE_CORETYPE ? `${c} (SSE)` : c}`;
}

/** The report as the text table `tsgpt bench` prints: the machine, then each section run. */
export function formatReport(r: BenchReport): string {
  const L = formatHeader(r);
  if (r.train) L.push(...formatTrain(r.train, r));
  if (r.busy) L.push(...formatBusy(r.busy));
  if (r.matmul) L.push(...formatMatmul(r.matmul));
  if (r.generate) L.push(...formatGenerate(r.generate, r));
  if (r.tokenizer) L.push(...formatTokenizer(r.tokenizer));
  if (r.quality) L.push(...formatQuality(r.quality));
  return `${L.join('\n')}\n`;
}

/** Date, machine, wasm kernels, PyTorch, load average. */
function formatHeader(r: BenchReport): string[] {
  const m = r.machine;
  const L: string[] = [];
  L.push(
    `tsgpt bench, ${r.date.slice(0, 16).replace('T', ' ')} UTC${r.options['quick'] ? ' (--quick: smoke test)' : ''}`,
  );
  L.push(
    `machine: ${m['cpu']}, ${m['cores']} cores (${m['cpuSimd']}), ${m['memGiB']} GiB, ${m['platform']}, Node ${m['node']}`,
  );
  L.push(
    `wasm kernels: ${m['wasmKernels']}; all threads = ${m['threads']}` +
      (m['commit'] ? `; tsgpt at ${m['commit']}` : ''),
  );
  if (r.train || r.generate)
    L.push(
      `PyTorch: ${r.torch.available ? r.torch.detail : `not measured: ${r.torch.detail}`}` +
        (m['envOpenblasCoretype']
          ? `; environment OPENBLAS_CORETYPE=${m['envOpenblasCoretype']} (each column sets its own)`
          : ''),
    );
  L.push(
    `load average: ${m['loadAvgStart']} at start, ${m['loadAvgEnd']} at end (other processes share these cores)`,
  );
  return L;
}

/** 1. Training throughput: one table per preset, then peak RSS and the notes. */
function formatTrain(t: NonNullable<BenchReport['train']>, r: BenchReport): string[] {
  const m = r.machine;
  const L: string[] = [];
  L.push('', '1. Training throughput (char-level Tiny Shakespeare, same config on both sides)');
  for (const s of t.summary) L.push(...formatTrainPreset(s, t.rows, r));
  const rss = t.summary
    .map((s) => {
      const w = t.rows.find(
        (x) => x.preset === s.preset && x.engine === 'wasm' && x.threads === m['threads'],
      );
      return `${s.preset} ${w?.peakRssMiB ? `${w.peakRssMiB.toFixed(0)} MiB` : '-'}`;
    })
    .join(', ');
  L.push('', `  peak RSS, tsgpt wasm ${m['threads']}t: ${rss}`);
  for (const n of t.notes) L.push(`  * ${n}`);
  return L;
}

/** One preset's config line, its table (one row per engine and thread count) and its ratios. */
function formatTrainPreset(s: TrainSummary, rows: readonly TrainRow[], r: BenchReport): string[] {
  const m = r.machine;
  const L: string[] = [];
  const cfg = presetConfig(s.preset, 65);
  L.push(
    '',
    `${s.preset}: ${cfg.nLayer} layers, ${cfg.nHead} heads, ${cfg.nEmbd} wide, context ${cfg.blockSize}, batch ${cfg.batchSize}, ` +
      `dropout ${cfg.dropout}, bias ${cfg.bias}; ${s.params.toLocaleString('en-US')} params, ` +
      `${s.tokensPerStep} tokens/step, ${f(s.flopsPerStep / 1e9, 2)} GFLOP/step`,
  );
  const body = rows
    .filter((x) => x.preset === s.preset)
    .map((x) => [
      engineLabel(x),
      threadsLabel(x),
      f(x.msPerIter),
      f(x.tokensPerSec, 0),
      f(x.gflops),
      x.peakRssMiB === null ? '-' : `${x.peakRssMiB.toFixed(0)} MiB`,
      x.steps ? String(x.steps) : '-',
      x.note ??
        [
          x.rounds.length > 1 ? `rounds ${x.rounds.map((v) => v.toFixed(1)).join(' / ')}` : '',
          x.aloneSteps ? `${x.aloneSteps} of ${x.steps} steps on 1 thread (thread governor)` : '',
          x.torchThreads && x.torchThreads !== `torch ${x.threads} + BLAS ${x.threads}` ? x.torchThreads : '',
        ]
          .filter(Boolean)
          .join('; '),
    ]);
  if (!r.torch.available)
    body.push(['PyTorch', '-', '-', '-', '-', '-', '-', `not measured: ${r.torch.detail}`]);
  L.push(
    ...table(['engine', 'threads', 'ms/iter', 'tokens/s', 'GFLOP/s', 'peak RSS', 'steps', 'notes'], body).map(
      (l) => `  ${l}`,
    ),
  );
  const n = m['threads'];
  const vs = Object.entries(s.ratioVsTorch);
  if (vs.length > 0)
    L.push(
      `  tsgpt wasm ${n}t / PyTorch on ${n} cores (its faster thread setting), throughput (> 1: tsgpt faster): ` +
        vs.map(([c, x]) => `${ratio(x)} vs ${c === 'default' ? 'auto-detect' : c}`).join(', '),
    );
  const b = s.ratioVsBestTorch;
  if (b)
    L.push(
      `  tsgpt wasm ${n}t / the fastest PyTorch row (${engineKeyLabel(b.engine)}, ` +
        `${b.torchMode === 'blas' ? `BLAS-only ${b.threads}t` : `${b.threads}t`}): ${ratio(b.ratio)}`,
    );
  const sp = Object.entries(s.threadSpeedup);
  if (sp.length > 0)
    L.push(
      `  1 -> ${n} threads: ` +
        sp.map(([e, x]) => `${engineKeyLabel(e)} ${ratio(x)}`).join(', ') +
        (sp.length > 1 ? ` (PyTorch: its faster ${n}-thread setting)` : ''),
    );
  return L;
}

/** 1b. baby beside a spinning process. */
function formatBusy(b: BusyReport): string[] {
  const L: string[] = [];
  const one = b.rows[0]?.msPerIter ?? null;
  L.push('', `1b. ${b.preset} while another process spins on one core (wasm; median ms per step)`);
  const body = b.rows.map((x) => [
    x.label,
    f(x.msPerIter),
    x.msPerIter && one ? ratio(one / x.msPerIter) : '-',
    x.note ??
      (x.aloneSteps !== null
        ? `${x.aloneSteps} of ${x.steps} steps on 1 thread (the governor's choice)`
        : ''),
  ]);
  L.push(...table(['configuration', 'ms/iter', 'speed vs 1 thread', 'notes'], body).map((l) => `  ${l}`));
  return L;
}

/** 2. Matmul GFLOP/s by shape and thread count, and the share of one core's measured ceiling. */
function formatMatmul(mm: NonNullable<BenchReport['matmul']>): string[] {
  const L: string[] = [];
  const cols = mm.threads.map((x) => `${x}t GFLOP/s`);
  L.push('', `2. Matmul on wasm at the presets' shapes (rows = B*T; best of ${mm.reps}; 2*M*K*N FLOPs)`);
  if (mm.error) L.push(`  failed: ${mm.error}`);
  const body = mm.rows.map((x) => [
    x.preset,
    x.layer,
    x.pass,
    `${x.m}x${x.k}x${x.n}`,
    ...mm.threads.map((th) => f(x.gflops[`${th}t`])),
    ...(mm.threads.length > 1 ? [ratio(x.gflops[`${mm.threads[1]}t`]! / x.gflops['1t']!)] : []),
  ]);
  L.push(
    ...table(
      ['preset', 'layer', 'pass', 'MxKxN', ...cols, ...(mm.threads.length > 1 ? ['scaling'] : [])],
      body,
      4,
    ).map((l) => `  ${l}`),
  );
  L.push('  * fwd: X W^T (weights stored (OC, C)); dX: dY W; dW: dY^T X');
  const peak = mm.flavor ? mm.ceiling?.[mm.flavor] : undefined;
  if (mm.ceiling && peak) {
    const shares = mm.rows.map((x) => x.gflops['1t']! / peak).sort((a, b) => a - b);
    const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
    const names: Record<string, string> = { relaxed: 'relaxed SIMD (FMA)', simd: 'plain SIMD (mul + add)' };
    L.push(
      `  * one core's ceiling, measured (twelve independent f32x4 multiply-add chains, src/backend/wasm/kernels/peak.ts): ` +
        Object.entries(mm.ceiling)
          .map(([k, v]) => `${names[k] ?? k} ${v.toFixed(1)} GFLOP/s`)
          .join(', '),
      `  * the 1t column (${names[mm.flavor!] ?? mm.flavor}) reaches ${pct(shares[0]!)}-${pct(shares.at(-1)!)} of it, ` +
        `median ${pct(shares[shares.length >> 1]!)}; ${shares.filter((x) => x >= 0.75).length} of ${shares.length} shapes at 75% or more`,
    );
  }
  return L;
}

/** 3. Generation: baby with and without the KV cache, then GPT-2-124M-sized beside PyTorch. */
function formatGenerate(g: NonNullable<BenchReport['generate']>, r: BenchReport): string[] {
  const L: string[] = [];
  L.push('', '3. Generation (greedy)');
  if ('error' in g.baby) L.push(`  baby: failed: ${g.baby.error}`);
  else {
    const b = g.baby;
    L.push(
      `  baby (${b.weights === 'random' ? 'random weights' : b.weights}, ${b.backend} ${b.threads}t, context ${b.blockSize}), ` +
        `${b.newTokens} tokens, median of ${b.repeats}:`,
    );
    L.push(
      `    KV cache ${f(b.cachedTokensPerSec, 0)} tokens/s, no cache ${f(b.uncachedTokensPerSec, 0)} tokens/s: ` +
        `speedup ${ratio(b.speedup)} (target >= 5x); same tokens: ${b.identical ? 'yes' : 'NO'}; ` +
        `peak RSS ${f(b.peakRssMiB, 0)} MiB`,
    );
  }
  if ('error' in g.gpt2) L.push(`  GPT-2-124M-sized: ${g.gpt2.error}`);
  else L.push(...formatGpt2(g.gpt2, r));
  return L;
}

type Gpt2Figures = Exclude<NonNullable<BenchReport['generate']>['gpt2'], { error: string }>;

/** GPT-2-124M-sized generation: one row per tsgpt thread count and PyTorch setting. */
function formatGpt2(x: Gpt2Figures, r: BenchReport): string[] {
  const L: string[] = [];
  L.push(
    `  GPT-2-124M-sized (12 layers, 12 heads, 768 wide, V 50257, context 1024, gelu_tanh; random weights, ` +
      `the same file on both sides): ${x.promptLen}-token prompt, ${x.newTokens} new tokens with the KV cache`,
  );
  const ours = (threads: number) => x.tsgpt.find((t) => t.threads === threads && !t.int8);
  const ours8 = (threads: number) => x.tsgpt.find((t) => t.threads === threads && t.int8);
  const body: string[][] = x.tsgpt.map((t) => [
    `tsgpt wasm${t.int8 ? ' int8' : ''} (${t.kernels})`,
    String(t.threads),
    f(t.loadS, 2),
    f(t.prefillMs, 0),
    f(t.tokensPerSec, 2),
    f(t.msPerToken, 1),
    `${f(t.peakRssMiB, 0)} MiB`,
    t.wasmInUseMiB === undefined ? '' : `wasm memory in use ${f(t.wasmInUseMiB, 0)} MiB`,
  ]);
  for (const p of x.torch) {
    const same = ours(p.threads);
    body.push([
      torchLabel(p.coretype, p.blasCore),
      p.torchMode === 'blas'
        ? `${/torch (\d+)/.exec(p.torchThreads ?? '')?.[1] ?? '?'}+${p.threads}`
        : String(p.threads),
      f(p.loadS, 2),
      f(p.prefillMs, 0),
      f(p.tokensPerSec, 2),
      p.tokensPerSec ? f(1000 / p.tokensPerSec, 1) : '-',
      p.peakRssMiB === null ? '-' : `${f(p.peakRssMiB, 0)} MiB`,
      p.note ??
        (p.tokensPerSec && same
          ? `tsgpt ${same.threads}t / this: ${ratio(same.tokensPerSec / p.tokensPerSec)}` +
            (ours8(p.threads)
              ? `; int8 ${p.threads}t / this: ${ratio(ours8(p.threads)!.tokensPerSec / p.tokensPerSec)}`
              : '')
          : ''),
    ]);
  }
  if (x.torch.length === 0)
    body.push(['PyTorch', '-', '-', '-', '-', '-', '-', `not measured: ${r.torch.detail}`]);
  L.push(
    ...table(
      ['engine', 'threads', 'load s', 'prefill ms', 'tokens/s', 'ms/token', 'peak RSS', 'notes'],
      body,
    ).map((l) => `    ${l}`),
  );
  const t0 = x.tsgpt[0]!;
  L.push(
    `    * tsgpt load = read + decode the file ${f(t0.loadParts.readS, 2)} s, build the model (no init: the weights follow) ` +
      `${f(t0.loadParts.buildS, 2)} s, copy weights ${f(t0.loadParts.copyS, 2)} s; wasm memory ${f(t0.wasmMiB, 0)} MiB`,
  );
  const fastest = <T extends { tokensPerSec: number | null }>(xs: readonly T[]) =>
    xs.filter((p) => p.tokensPerSec).sort((p, q) => q.tokensPerSec! - p.tokensPerSec!)[0];
  const best = fastest(x.torch);
  const ourBest = fastest(x.tsgpt.filter((t) => !t.int8));
  const ourBest8 = fastest(x.tsgpt.filter((t) => t.int8));
  if (best && ourBest)
    L.push(
      `    * fastest tsgpt (${ourBest.threads}t) / fastest PyTorch (${torchLabel(best.coretype, best.blasCore)}, ` +
        `${best.torchThreads}): ${ratio(ourBest.tokensPerSec / best.tokensPerSec!)} (target >= 0.5x)`,
    );
  if (best && ourBest8)
    L.push(
      `    * fastest tsgpt int8 (${ourBest8.threads}t) / fastest PyTorch float32: ` +
        `${ratio(ourBest8.tokensPerSec / best.tokensPerSec!)} (goal >= 1.5x)`,
    );
  return L;
}

/** 4. Tokenizers beside js-tiktoken. */
function formatTokenizer(t: NonNullable<BenchReport['tokenizer']>): string[] {
  const L: string[] = [];
  L.push('', '4. Tokenizers (Tiny Shakespeare; MB = 10^6 bytes of UTF-8; best of runs)');
  if ('error' in t) L.push(`  failed: ${t['error']}`);
  else {
    const n = t as Record<string, number>;
    L.push(
      ...table(
        ['figure', 'tsgpt', 'js-tiktoken', 'tsgpt/tiktoken'],
        [
          ['BPE training to 1024 tokens (s, target < 30)', f(n['bpe_train_1024_s'], 2), '', ''],
          ['BPE (1024) encode MB/s', f(n['bpe_encode_mb_s'], 2), '', ''],
          ['GPT-2 tokenizer load (s)', f(n['gpt2_load_s'], 3), '', ''],
          [
            'GPT-2 encode MB/s, cold cache',
            f(n['gpt2_encode_cold_mb_s'], 2),
            f(n['tiktoken_encode_mb_s'], 2),
            ratio(n['gpt2_encode_cold_mb_s']! / n['tiktoken_encode_mb_s']!),
          ],
          [
            'GPT-2 encode MB/s, warm cache',
            f(n['gpt2_encode_warm_mb_s'], 2),
            f(n['tiktoken_encode_mb_s'], 2),
            ratio(n['gpt2_encode_warm_mb_s']! / n['tiktoken_encode_mb_s']!),
          ],
          [
            'GPT-2 decode MB/s',
            f(n['gpt2_decode_mb_s'], 2),
            f(n['tiktoken_decode_mb_s'], 2),
            ratio(n['gpt2_decode_mb_s']! / n['tiktoken_decode_mb_s']!),
          ],
        ],
      ).map((l) => `  ${l}`),
    );
    L.push(`  * ${f(n['text_mb'], 2)} MB of text; GPT-2 ids checked identical to js-tiktoken's`);
  }
  return L;
}

function formatQuality(q: QualityReport): string[] {
  const L = [
    '',
    '## Time to a good model: PyTorch baby (2000 steps) vs tsgpt quick, to the same val loss',
    '',
  ];
  if (q.error) L.push(`  ${q.error}`);
  const t = q.torch;
  const g = q.tsgpt;
  const body: string[][] = [];
  if (t)
    body.push([
      `PyTorch baby (${t.blasCore}, ${t.threads})`,
      String(t.steps),
      t.valLoss.toFixed(4),
      t.seconds.toFixed(1),
      t.msPerStep.toFixed(1),
    ]);
  if (g)
    body.push([
      `tsgpt ${g.preset} (wasm, ${g.threads} threads)`,
      g.stepsToTarget === null ? `not reached in ${g.steps}` : `${g.stepsToTarget} of ${g.steps}`,
      g.valLoss === null ? `${g.finalLoss.toFixed(4)} at the end` : g.valLoss.toFixed(4),
      g.seconds === null ? '-' : g.seconds.toFixed(1),
      g.msPerStep.toFixed(1),
    ]);
  if (body.length > 0)
    L.push(...table(['', 'steps', 'val loss', 'wall time (s)', 'ms/step'], body).map((l) => `  ${l}`));
  if (q.ratio !== undefined)
    L.push(
      '',
      q.ratio === null
        ? '  ratio: tsgpt did not reach the target'
        : `  ratio (PyTorch's wall time / tsgpt's, to the same val loss): ${q.ratio.toFixed(2)}x`,
    );
  if (g && g.aloneSteps !== null && g.aloneSteps > 0)
    L.push(
      `  (${g.aloneSteps} of tsgpt's steps ran on one thread, which measured faster: the machine was busy)`,
    );
  L.push('', ...q.notes.map((n) => `  - ${n}`));
  return L;
}
