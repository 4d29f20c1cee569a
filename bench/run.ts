// `npm run bench` / `tsgpt bench`: one run that measures tsgpt beside PyTorch on this machine and
// prints one table (or, with json, one object). Sections: training throughput of the presets
// (each configuration in a child process of its own, so peak RSS is per configuration, and
// configurations taking turns round by round, so a burst of load from elsewhere hits them all),
// matmul GFLOP/s at the presets' shapes, generation speed (KV cache, GPT-2-124M-sized), and the
// tokenizers. It prints nothing itself: progress goes to `o.log`, the caller prints the report.
// Never part of `npm test`.

import { execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MatmulParams } from '../src/backend/backend.js';
import { modelConfig } from '../src/model/config.js';
import type { BabyGenerateResult, Gpt2GenerateResult } from './generate-speed.js';
import { charData, median, presetConfig, type TrainSpeedResult, trainFlopsPerStep } from './train-speed.js';

export type Section = 'train' | 'busy' | 'matmul' | 'generate' | 'tokenizer';
export const SECTIONS: readonly Section[] = ['train', 'busy', 'matmul', 'generate', 'tokenizer'];
export const BENCH_PRESETS = ['baby', 'plan', 'mini'] as const;

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
    /** one core's arithmetic ceiling by kernel build, GFLOP/s (kernels/peak.ts) */
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
  torch: { available: boolean; detail: string };
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
// paths and child processes

const HERE = new URL('.', import.meta.url); // dist/bench/
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = '/usr/bin/python3';
const TRAIN_REF = join(REPO, 'bench', 'pytorch', 'train_ref.py');

interface ChildResult {
  json: Record<string, unknown> | null;
  /** one line saying why there is no JSON */
  error: string | null;
  /** killed for running past its time limit */
  timedOut?: boolean;
}

/**
 * Runs a command, returns the last JSON line of its stdout (or the last stderr line as error).
 * With timeoutMs, a child still running then is killed and reported as timed out.
 */
function runChild(cmd: string, args: readonly string[], timeoutMs?: number): Promise<ChildResult> {
  return new Promise((resolve) => {
    const opts: SpawnOptions = { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] };
    const child = spawn(cmd, args, opts);
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, timeoutMs);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.on('error', (e) => resolve({ json: null, error: `${cmd}: ${e.message}` }));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        resolve({ json: null, error: `killed after ${(timeoutMs! / 1000).toFixed(0)} s`, timedOut });
        return;
      }
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (code === 0 && line) {
        try {
          resolve({ json: JSON.parse(line) as Record<string, unknown>, error: null });
          return;
        } catch {
          // fall through: report as a failure
        }
      }
      const last = err.trim().split('\n').filter(Boolean).pop() ?? '';
      const why = signal ? `killed by ${signal}` : `exit ${code}`;
      resolve({ json: null, error: `${why}${last ? `: ${last}` : ''}` });
    });
  });
}

/** A tsgpt measuring script; killed after timeoutMs (default 20 min: nothing here should hang). */
const node = (script: string, args: readonly string[], timeoutMs = 20 * 60_000) =>
  runChild(process.execPath, [fileURLToPath(new URL(script, HERE)), ...args], timeoutMs);

/** Once more after a pause when a measurement fails (e.g. dist/ was being rebuilt meanwhile). */
async function retried(run: () => Promise<ChildResult>, log: (line: string) => void): Promise<ChildResult> {
  const first = await run();
  if (first.json || first.timedOut) return first;
  log(`  failed (${first.error}); trying once more`);
  await new Promise((r) => setTimeout(r, 3000));
  return run();
}

/** Whether /usr/bin/python3 has torch (installed by scripts/ensure-torch.sh when it can). */
async function checkTorch(): Promise<{ available: boolean; detail: string }> {
  const script = join(REPO, 'scripts', 'ensure-torch.sh');
  if (!existsSync(PYTHON)) return { available: false, detail: `${PYTHON} not found` };
  return new Promise((resolve) => {
    const child = spawn('bash', [script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      text += d.toString();
    });
    child.on('error', (e) => resolve({ available: false, detail: `ensure-torch.sh: ${e.message}` }));
    child.on('close', (code) => {
      const last = text.trim().split('\n').filter(Boolean).pop() ?? `exit ${code}`;
      resolve({ available: code === 0, detail: last.replace(/^ensure-torch: /, '') });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// machine

function machineInfo(threads: number): Record<string, string | number | null> {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  let flags = '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
    cpu = field('model name') ?? cpu;
    const fam = field('cpu family');
    const model = field('model');
    if (fam) cpu += ` (family ${fam}, model ${model})`;
    flags = field('flags') ?? '';
  } catch {
    // not Linux: os.cpus() it is
  }
  const simd = /\bavx512f\b/.test(flags) ? 'AVX-512' : /\bavx2\b/.test(flags) ? 'AVX2' : 'no AVX2';
  const [l1, l5] = os.loadavg();
  let commit: string | null = null;
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: REPO, encoding: 'utf8' }).trim();
    commit =
      git('rev-parse', '--short', 'HEAD') +
      (git('status', '--porcelain', '--untracked-files=no') ? ' + uncommitted changes' : '');
  } catch {
    // not a git checkout (an installed package)
  }
  return {
    cpu,
    cpuSimd: simd,
    cores: os.availableParallelism(),
    threads,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAvgStart: `${l1!.toFixed(2)} (1 min), ${l5!.toFixed(2)} (5 min)`,
    envOpenblasCoretype: process.env['OPENBLAS_CORETYPE'] ?? null,
    wasmKernels: null,
    commit,
  };
}

// ---------------------------------------------------------------------------------------------
// 1. training throughput

interface ConfigSpec {
  /** 'wasm' or 'torch-' + coretype */
  engine: string;
  threads: number;
  torchMode?: 'all' | 'blas';
}

/** OpenBLAS's SSE3 kernel set: what it picked by itself on the Xeon the issue was measured on. */
const SSE_CORETYPE = 'Prescott';

/**
 * The OpenBLAS kernel choices PyTorch runs with: 'default' (OPENBLAS_CORETYPE unset: OpenBLAS
 * detects the CPU), the environment's own setting if it has one, and 'SkylakeX' (AVX-512: the best
 * this PyTorch gets). For `baby`, the preset the issue's target is set on, also 'Prescott': the SSE
 * kernels OpenBLAS auto-detected on the issue's Xeon, so its "default" figure (~104 ms/iter) is
 * measured here too, whatever this CPU's auto-detection picks.
 */
export function torchCoretypes(preset?: string): string[] {
  const env = process.env['OPENBLAS_CORETYPE'];
  const out = ['default'];
  if (preset === 'baby' && env?.toLowerCase() !== 'prescott') out.push(SSE_CORETYPE);
  if (env && env !== 'default' && env.toLowerCase() !== 'skylakex') out.push(env);
  out.push('SkylakeX');
  return out;
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

async function benchTraining(
  o: BenchOptions,
  torch: boolean,
  vocabSize: number,
): Promise<NonNullable<BenchReport['train']>> {
  const rows: TrainRow[] = [];
  const summary: TrainSummary[] = [];
  const notes: string[] = [];
  const N = o.threads;
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)}s`;
  for (const preset of o.presets) {
    const cfg = presetConfig(preset, vocabSize);
    const iters = o.iters ?? defaultIters(preset, o.quick);
    // baby's steps take tens of ms, so a burst of load elsewhere can spoil a whole round: three
    const rounds = o.quick ? 1 : preset === 'baby' ? 3 : 2;
    const wasmWarmup = o.quick ? 2 : 3;
    const torchWarmup = o.quick ? 2 : 5;
    let meta: { params: number; tokensPerStep: number; flopsPerStep: number } | null = null;

    // ref: a few steps, once (it is 30-100x slower than wasm; alternating buys nothing)
    const ref = refIters(preset, o);
    if (ref.skip) rows.push(emptyRow(preset, 'ref', 1, ref.skip));
    else {
      o.log(`[train ${elapsed()}] ${preset}: ref, 1 warm-up + ${ref.iters} timed steps (seconds each)`);
      const r = await retried(
        () =>
          node('./train-speed.js', [
            ...['--preset', preset, '--backend', 'ref', '--threads', '1'],
            ...['--iters', String(ref.iters), '--warmup', '1', '--text', o.text, '--json'],
          ]),
        o.log,
      );
      if (r.json) {
        const t = r.json as unknown as TrainSpeedResult;
        meta = { params: t.params, tokensPerStep: t.tokensPerStep, flopsPerStep: t.flopsPerStep };
        rows.push(fromTsgpt(t, [t.msPerIter]));
      } else rows.push(emptyRow(preset, 'ref', 1, `failed: ${r.error}`));
    }

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
    const got = specs.map(() => ({
      ms: [] as number[],
      steps: 0,
      rss: 0,
      core: '',
      err: '',
      aloneSteps: 0,
      torchThreads: '',
      intraOp: 0,
      fails: 0,
    }));
    for (let round = 0; round < rounds; round++) {
      for (const [i, s] of specs.entries()) {
        const g = got[i]!;
        if (g.err && !g.err.startsWith('killed')) continue;
        o.log(
          `[train ${elapsed()}] ${preset}: ${s.engine} ${s.threads}t${s.torchMode === 'blas' ? ' (BLAS threads only)' : ''}, ` +
            `round ${round + 1}/${rounds}, ${iters} timed steps`,
        );
        if (s.engine === 'wasm') {
          // N threads: limited to 10x the 1-thread run's time this round (a stalled pool must not
          // stall the whole benchmark)
          const oneMs = s.threads > 1 ? got[0]!.ms[round] : undefined;
          const limitMs = oneMs === undefined ? undefined : 20_000 + 10 * (iters + wasmWarmup + 1) * oneMs;
          const r = await retried(
            () =>
              node(
                './train-speed.js',
                [
                  ...['--preset', preset, '--backend', 'wasm', '--threads', String(s.threads)],
                  ...['--iters', String(iters), '--warmup', String(wasmWarmup), '--text', o.text, '--json'],
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
            continue;
          }
          const t = r.json as unknown as TrainSpeedResult;
          meta ??= { params: t.params, tokensPerStep: t.tokensPerStep, flopsPerStep: t.flopsPerStep };
          g.ms.push(t.msPerIter);
          g.steps += t.stepMs.length;
          g.rss = Math.max(g.rss, t.peakRssMiB);
          g.core = t.kernels ?? '';
          g.aloneSteps += t.aloneSteps ?? 0;
        } else {
          // the same config as tsgpt's preset, keys in tsgpt's spelling (gradAccum is always 1 here)
          const { gradAccum: _, ...torchCfg } = cfg;
          // limit: 5x the BLAS-only setting's time this round (+ 15 s to start), when there is one
          const blas = specs.findIndex(
            (x) => x.engine === s.engine && x.threads === s.threads && x.torchMode === 'blas',
          );
          const blasMs = s.torchMode === 'all' && blas >= 0 ? got[blas]!.ms[round] : undefined;
          const limitMs = blasMs === undefined ? undefined : 15_000 + 5 * (iters + torchWarmup) * blasMs;
          const r = await retried(
            () =>
              runChild(
                PYTHON,
                [
                  TRAIN_REF,
                  ...['--preset', 'baby', '--preset-json', JSON.stringify(torchCfg), '--text', o.text],
                  ...['--speed', String(iters), '--bench-warmup', String(torchWarmup)],
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
            continue;
          }
          const j = r.json;
          g.ms.push(Number(j['ms_per_iter']));
          g.steps += Number(j['timed_iters']);
          g.rss = Math.max(g.rss, Number(j['peak_rss_mb']));
          g.core = String(j['openblas_core'] ?? '');
          g.torchThreads = `torch ${j['threads']} + BLAS ${j['blas_threads']}`;
          g.intraOp = Number(j['threads']);
          if (!meta) {
            const params = Number(j['params']);
            meta = {
              params,
              tokensPerStep: cfg.batchSize * cfg.blockSize,
              flopsPerStep: trainFlopsPerStep(modelConfig(cfg), cfg.batchSize, params),
            };
          }
        }
      }
    }
    for (const [i, s] of specs.entries()) {
      const g = got[i]!;
      if (g.ms.length === 0 || !meta) {
        const row = emptyRow(preset, s.engine, s.threads, g.err || 'no result');
        if (s.torchMode) row.torchMode = s.torchMode;
        rows.push(row);
        continue;
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
      rows.push(row);
    }
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
    summary.push({
      preset,
      params: meta?.params ?? 0,
      tokensPerStep: meta?.tokensPerStep ?? cfg.batchSize * cfg.blockSize,
      flopsPerStep: meta?.flopsPerStep ?? 0,
      ratioVsTorch,
      ratioVsBestTorch,
      threadSpeedup,
    });
  }
  notes.push(
    'GFLOP/s = (6*N*B*T + 12*nLayer*B*T^2*C) / step time: N = parameters less the position embedding ' +
      '(nanoGPT estimate_mfu, PaLM appendix B; causal mask not discounted; norms, GELU, softmax, AdamW not counted)',
    `ms/iter: median of each round's median timed step, ${o.quick ? '1 round' : '3 rounds (baby), 2 (others)'} with the configurations taking turns; ` +
      'warm-up steps untimed (tsgpt: the first step records the tape, later ones replay it)',
    'peak RSS: the whole process (maxRSS) of that configuration: runtime, data, model, optimizer, activations',
    'PyTorch threads: N = torch.set_num_threads(N) and N OpenBLAS threads; I+N = torch intra-op threads as ' +
      "installed (I) and N OpenBLAS threads, the way Debian's torch runs when nobody sets threads",
  );
  if (N === 1) notes.push('one thread available: no multi-thread columns, no thread scaling');
  return { rows, summary, notes };
}

/**
 * The "busy machine" check: `baby` on wasm while another process (a spinning node) holds a core,
 * with 1 thread, N threads under the ThreadGovernor (as `tsgpt train` runs), and N threads with
 * the workers forced on. Configurations take turns, two rounds; each figure is the median step.
 */
async function benchBusy(o: BenchOptions): Promise<BusyReport> {
  const preset = 'baby';
  // long enough for the governor to settle, as over a training run (its first probe is at step 35)
  const iters = o.quick ? 40 : (o.iters ?? 300);
  const specs = [
    { label: '1 thread', threads: 1, governor: false },
    { label: `${o.threads} threads, governor`, threads: o.threads, governor: true },
    { label: `${o.threads} threads, workers always on`, threads: o.threads, governor: false },
  ];
  const got = specs.map(() => ({ ms: [] as number[], alone: 0, steps: 0, err: '' }));
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    for (let round = 0; round < 2; round++) {
      for (const [i, s] of specs.entries()) {
        o.log(
          `[busy] ${preset} with another process spinning: ${s.label}, round ${round + 1}/2, ${iters} steps`,
        );
        const r = await retried(
          () =>
            node(
              './train-speed.js',
              [
                ...['--preset', preset, '--backend', 'wasm', '--threads', String(s.threads)],
                ...['--iters', String(iters), '--warmup', '3', '--text', o.text, '--json'],
                ...(s.threads > 1 && !s.governor ? ['--fixed-threads'] : []),
              ],
              10 * 60_000,
            ),
          o.log,
        );
        const g = got[i]!;
        if (!r.json) {
          g.err = `failed: ${r.error}`;
          continue;
        }
        const t = r.json as unknown as TrainSpeedResult;
        g.ms.push(t.msPerIter);
        g.steps += t.stepMs.length;
        g.alone += t.aloneSteps ?? 0;
      }
    }
  } finally {
    hog.kill('SIGKILL');
  }
  return {
    preset,
    rows: specs.map((s, i) => {
      const g = got[i]!;
      return {
        ...s,
        msPerIter: g.ms.length > 0 ? median(g.ms) : null,
        aloneSteps: s.governor ? g.alone : null,
        steps: g.steps,
        ...(g.err ? { note: g.err } : {}),
      };
    }),
  };
}

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

// ---------------------------------------------------------------------------------------------
// 2. matmul

/** The products of one training step, per Linear: forward (NT), input grad dX (NN), weight grad dW (TN). */
function matmulShapes(o: MatmulOptions, vocabSize: number): Omit<MatmulRow, 'gflops'>[] {
  const out: Omit<MatmulRow, 'gflops'>[] = [];
  for (const preset of o.presets) {
    const cfg = presetConfig(preset, vocabSize);
    const rows = cfg.batchSize * cfg.blockSize; // B*T
    const c = cfg.nEmbd;
    const layers: [string, number, number][] = [
      ['qkv C→3C', c, 3 * c],
      ['proj C→C', c, c],
      ['fc C→4C', c, 4 * c],
      ['fcproj 4C→C', 4 * c, c],
      [`head C→V`, c, vocabSize],
    ];
    for (const [layer, ic, oc] of layers) {
      out.push({ preset, layer, pass: 'fwd', m: rows, k: ic, n: oc });
      if (o.quick) continue;
      out.push({ preset, layer, pass: 'dX', m: rows, k: oc, n: ic });
      out.push({ preset, layer, pass: 'dW', m: oc, k: rows, n: ic });
    }
  }
  return out;
}

type MatmulOptions = Pick<BenchOptions, 'presets' | 'quick' | 'threads'>;

/**
 * One core's ceiling for each kernel build: GFLOP/s of twelve independent f32x4 madd chains
 * (kernels/peak.ts: relaxed_madd in the relaxed build, mul + add in the plain one), best of reps.
 */
async function maddCeilings(reps: number): Promise<Record<string, number>> {
  const { createWasmBackend } = await import('../src/backend/wasm/index.js');
  const out: Record<string, number> = {};
  for (const kernels of ['relaxed', 'simd'] as const) {
    let be: import('../src/backend/wasm/index.js').WasmBackend;
    try {
      be = await createWasmBackend({ threads: 1, kernels });
    } catch {
      continue; // no relaxed SIMD in this runtime
    }
    try {
      const iters = 1_000_000; // 96 MFLOP: ~2 ms
      for (let i = 0; i < 3; i++) be.kernels.madd_peak(iters, 1e-3);
      let best = Number.POSITIVE_INFINITY;
      for (let r = 0; r < reps; r++) {
        const t = performance.now();
        be.kernels.madd_peak(iters, 1e-3);
        best = Math.min(best, performance.now() - t);
      }
      out[kernels] = (iters * 96) / (best * 1e6);
    } finally {
      await be.dispose();
    }
  }
  return out;
}

async function benchMatmul(o: MatmulOptions, vocabSize: number): Promise<NonNullable<BenchReport['matmul']>> {
  const { createWasmBackend } = await import('../src/backend/wasm/index.js');
  const threadCounts = o.threads > 1 ? [1, o.threads] : [1];
  const reps = o.quick ? 3 : 7;
  const ceiling = await maddCeilings(o.quick ? 3 : 9);
  const backends = await Promise.all(threadCounts.map((threads) => createWasmBackend({ threads })));
  const flavor = backends[0]!.flavor;
  const rows: MatmulRow[] = [];
  try {
    const shapes = matmulShapes(o, vocabSize);
    for (const s of shapes) {
      const p: MatmulParams = {
        batch: 1,
        m: s.m,
        k: s.k,
        n: s.n,
        transA: s.pass === 'dW',
        transB: s.pass === 'fwd',
        accumulate: false,
        aBatchStride: 0,
        bBatchStride: 0,
      };
      const flop = 2 * s.m * s.k * s.n;
      const inner = Math.max(1, Math.ceil((o.quick ? 1e8 : 3e8) / flop)); // ~5-10 ms per timing
      const arrays = backends.map((be) => {
        const a = be.alloc('float32', s.m * s.k);
        const b = be.alloc('float32', s.k * s.n);
        const out = be.alloc('float32', s.m * s.n);
        for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 101) / 101 - 0.5;
        for (let i = 0; i < b.length; i++) b[i] = ((i * 104729) % 103) / 103 - 0.5;
        for (let i = 0; i < 2 * inner; i++) be.matmul(out, a, b, p); // past the baseline compiler
        return { a, b, out };
      });
      const best = backends.map(() => Number.POSITIVE_INFINITY);
      for (let r = 0; r < reps; r++) {
        for (const [i, be] of backends.entries()) {
          const { a, b, out } = arrays[i]!;
          const t = performance.now();
          for (let j = 0; j < inner; j++) be.matmul(out, a, b, p);
          best[i] = Math.min(best[i]!, (performance.now() - t) / inner);
        }
      }
      const gflops: Record<string, number> = {};
      for (const [i, be] of backends.entries()) {
        gflops[`${threadCounts[i]}t`] = flop / (best[i]! * 1e6);
        const { a, b, out } = arrays[i]!;
        be.free(a);
        be.free(b);
        be.free(out);
      }
      rows.push({ ...s, gflops });
    }
  } finally {
    for (const be of backends) await be.dispose();
  }
  return { rows, threads: threadCounts, reps, flavor, ceiling };
}

// ---------------------------------------------------------------------------------------------
// 3. generation

async function benchGenerate(o: BenchOptions, torch: boolean): Promise<NonNullable<BenchReport['generate']>> {
  const tokens = o.quick ? 200 : 500;
  o.log(`[generate] baby: ${tokens} greedy tokens with and without the KV cache`);
  const b = await retried(
    () =>
      node('./generate-speed.js', [
        ...['--model', 'baby', '--tokens', String(tokens), '--repeats', o.quick ? '1' : '3'],
        ...['--threads', String(o.threads), '--text', o.text, '--json'],
        ...(o.ckpt ? ['--ckpt', o.ckpt] : []),
      ]),
    o.log,
  );
  const baby = b.json ? (b.json as unknown as BabyGenerateResult) : { error: b.error! };

  const newTokens = o.quick ? 16 : 100;
  const promptLen = 64;
  const dir = mkdtempSync(join(os.tmpdir(), 'tsgpt-bench-'));
  const weights = join(dir, 'gpt2-124m-random.safetensors');
  let gpt2: NonNullable<BenchReport['generate']>['gpt2'];
  try {
    o.log('[generate] GPT-2-124M-sized: writing random weights (seeded) as safetensors for both sides');
    const w = await retried(
      () => node('./generate-speed.js', ['--model', 'gpt2', '--write-weights', weights, '--json']),
      o.log,
    );
    if (!w.json) gpt2 = { error: `writing weights failed: ${w.error}` };
    else {
      const threadCounts = o.threads > 1 ? [o.threads, 1] : [1];
      const tsgpt: Gpt2GenerateResult[] = [];
      const errors: string[] = [];
      for (const threads of threadCounts) {
        o.log(
          `[generate] GPT-2-124M-sized on wasm ${threads}t: load, ${promptLen}-token prompt, ${newTokens} new tokens`,
        );
        const g = await retried(
          () =>
            node('./generate-speed.js', [
              ...['--model', 'gpt2', '--weights', weights, '--threads', String(threads)],
              ...['--prompt-len', String(promptLen), '--tokens', String(newTokens), '--json'],
            ]),
          o.log,
        );
        if (g.json) tsgpt.push(g.json as unknown as Gpt2GenerateResult);
        else errors.push(`tsgpt ${threads}t failed: ${g.error}`);
      }
      const runs: TorchGenerate[] = [];
      // all threads for each kernel choice, BLAS-only threads, then one thread (the steadiest
      // comparison when other processes share the cores)
      const variants: [string, 'all' | 'blas', number][] = torchCoretypes().map((c) => [c, 'all', o.threads]);
      if (o.threads > 1)
        variants.push(
          ['default', 'blas', o.threads],
          ['SkylakeX', 'blas', o.threads],
          ['default', 'all', 1],
          ['SkylakeX', 'all', 1],
        );
      for (const [coretype, torchMode, threads] of variants) {
        if (!torch) break;
        o.log(
          `[generate] GPT-2-124M-sized on PyTorch ${threads}t (OpenBLAS ${coretype}` +
            `${torchMode === 'blas' ? ', BLAS threads only' : ''}), same weights`,
        );
        const r = await retried(
          () =>
            runChild(PYTHON, [
              TRAIN_REF,
              ...['--generate', String(newTokens), '--prompt-len', String(promptLen), '--weights', weights],
              ...(torchMode === 'blas'
                ? ['--blas-threads', String(threads)]
                : ['--threads', String(threads)]),
              ...['--openblas-coretype', coretype, '--json'],
            ]),
          o.log,
        );
        if (!r.json) {
          runs.push(noTorchGen(coretype, torchMode, threads, `failed: ${r.error}`));
          continue;
        }
        runs.push({
          coretype,
          torchMode,
          threads,
          torchThreads: `torch ${r.json['threads']} + BLAS ${r.json['blas_threads']}`,
          tokensPerSec: Number(r.json['tokens_per_s']),
          loadS: Number(r.json['model_load_s']),
          prefillMs: Number(r.json['prefill_ms']),
          peakRssMiB: Number(r.json['peak_rss_mb']),
          blasCore: String(r.json['openblas_core'] ?? ''),
        });
      }
      gpt2 =
        tsgpt.length === 0
          ? { error: errors.join('; ') }
          : { tsgpt, torch: runs, promptLen, newTokens: tsgpt[0]!.newTokens };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { baby, gpt2 };
}

function noTorchGen(
  coretype: string,
  torchMode: 'all' | 'blas',
  threads: number,
  note: string,
): TorchGenerate {
  return {
    coretype,
    torchMode,
    threads,
    tokensPerSec: null,
    loadS: null,
    prefillMs: null,
    peakRssMiB: null,
    note,
  };
}

// ---------------------------------------------------------------------------------------------
// the run

/** Runs the selected sections and returns every figure; prints nothing (see formatReport). */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const machine = machineInfo(o.threads);
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine,
    options: {
      sections: o.sections,
      presets: o.presets,
      quick: o.quick,
      iters: o.iters ?? null,
      threads: o.threads,
      text: o.text,
      torch: o.torch,
      withRefMini: o.withRefMini,
      ckpt: o.ckpt ?? null,
    },
    torch: { available: false, detail: 'skipped (--no-torch)' },
  };
  {
    const { createWasmBackend } = await import('../src/backend/wasm/index.js');
    const be = await createWasmBackend({ threads: 1 });
    machine['wasmKernels'] =
      be.flavor === 'relaxed' ? 'relaxed SIMD (f32x4 FMA)' : 'plain SIMD128 (no relaxed SIMD: mul + add)';
    await be.dispose();
  }
  const needsTorch = o.sections.includes('train') || o.sections.includes('generate');
  if (!needsTorch) report.torch.detail = 'not needed by these sections';
  else if (o.torch) {
    o.log('[setup] checking PyTorch (scripts/ensure-torch.sh)');
    report.torch = await checkTorch();
  }
  const torch = report.torch.available;
  const vocabSize = charData(readFileSync(o.text, 'utf8')).tokenizer.vocabSize;

  if (o.sections.includes('train')) report.train = await benchTraining(o, torch, vocabSize);
  if (o.sections.includes('busy') && o.threads > 1) report.busy = await benchBusy(o);
  if (o.sections.includes('matmul')) {
    // in a child process too: a stalled thread pool must not stall the whole run
    o.log(
      `[matmul] wasm matmul at the presets' shapes, 1${o.threads > 1 ? ` and ${o.threads}` : ''} thread(s)`,
    );
    const args = { presets: o.presets, quick: o.quick, threads: o.threads, vocabSize };
    const r = await retried(
      () => node('./run.js', ['--matmul-child', JSON.stringify(args)], 10 * 60_000),
      o.log,
    );
    report.matmul = r.json
      ? (r.json as unknown as NonNullable<BenchReport['matmul']>)
      : { rows: [], threads: [], reps: 0, error: r.error! };
  }
  if (o.sections.includes('generate')) report.generate = await benchGenerate(o, torch);
  if (o.sections.includes('tokenizer')) {
    o.log('[tokenizer] BPE training to 1024, GPT-2 encode/decode vs js-tiktoken');
    try {
      const { runTokenizerBench } = await import('./tokenizer.js');
      report.tokenizer = await runTokenizerBench({
        text: readFileSync(o.text, 'utf8'),
        repeats: o.quick ? 1 : 3,
      });
    } catch (e) {
      report.tokenizer = { error: e instanceof Error ? e.message : String(e) };
    }
  }
  const [l1, l5] = os.loadavg();
  machine['loadAvgEnd'] = `${l1!.toFixed(2)} (1 min), ${l5!.toFixed(2)} (5 min)`;
  return report;
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

/** The report as the text table `tsgpt bench` prints. */
export function formatReport(r: BenchReport): string {
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

  if (r.train) {
    const t = r.train;
    L.push('', '1. Training throughput (char-level Tiny Shakespeare, same config on both sides)');
    for (const s of t.summary) {
      const cfg = presetConfig(s.preset, 65);
      L.push(
        '',
        `${s.preset}: ${cfg.nLayer} layers, ${cfg.nHead} heads, ${cfg.nEmbd} wide, context ${cfg.blockSize}, batch ${cfg.batchSize}, ` +
          `dropout ${cfg.dropout}, bias ${cfg.bias}; ${s.params.toLocaleString('en-US')} params, ` +
          `${s.tokensPerStep} tokens/step, ${f(s.flopsPerStep / 1e9, 2)} GFLOP/step`,
      );
      const body = t.rows
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
              x.torchThreads && x.torchThreads !== `torch ${x.threads} + BLAS ${x.threads}`
                ? x.torchThreads
                : '',
            ]
              .filter(Boolean)
              .join('; '),
        ]);
      if (!r.torch.available)
        body.push(['PyTorch', '-', '-', '-', '-', '-', '-', `not measured: ${r.torch.detail}`]);
      L.push(
        ...table(
          ['engine', 'threads', 'ms/iter', 'tokens/s', 'GFLOP/s', 'peak RSS', 'steps', 'notes'],
          body,
        ).map((l) => `  ${l}`),
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
    }
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
  }

  if (r.busy) {
    const b = r.busy;
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
  }

  if (r.matmul) {
    const mm = r.matmul;
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
        `  * one core's ceiling, measured (twelve independent f32x4 multiply-add chains, kernels/peak.ts): ` +
          Object.entries(mm.ceiling)
            .map(([k, v]) => `${names[k] ?? k} ${v.toFixed(1)} GFLOP/s`)
            .join(', '),
        `  * the 1t column (${names[mm.flavor!] ?? mm.flavor}) reaches ${pct(shares[0]!)}-${pct(shares.at(-1)!)} of it, ` +
          `median ${pct(shares[shares.length >> 1]!)}; ${shares.filter((x) => x >= 0.75).length} of ${shares.length} shapes at 75% or more`,
      );
    }
  }

  if (r.generate) {
    const g = r.generate;
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
    else {
      const x = g.gpt2;
      L.push(
        `  GPT-2-124M-sized (12 layers, 12 heads, 768 wide, V 50257, context 1024, gelu_tanh; random weights, ` +
          `the same file on both sides): ${x.promptLen}-token prompt, ${x.newTokens} new tokens with the KV cache`,
      );
      const ours = (threads: number) => x.tsgpt.find((t) => t.threads === threads);
      const body: string[][] = x.tsgpt.map((t) => [
        `tsgpt wasm (${t.kernels})`,
        String(t.threads),
        f(t.loadS, 2),
        f(t.prefillMs, 0),
        f(t.tokensPerSec, 2),
        f(t.msPerToken, 1),
        `${f(t.peakRssMiB, 0)} MiB`,
        '',
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
              ? `tsgpt ${same.threads}t / this: ${ratio(same.tokensPerSec / p.tokensPerSec)}`
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
      const ourBest = fastest(x.tsgpt);
      if (best && ourBest)
        L.push(
          `    * fastest tsgpt (${ourBest.threads}t) / fastest PyTorch (${torchLabel(best.coretype, best.blasCore)}, ` +
            `${best.torchThreads}): ${ratio(ourBest.tokensPerSec / best.tokensPerSec!)} (target >= 0.5x)`,
        );
    }
  }

  if (r.tokenizer) {
    const t = r.tokenizer;
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
  }
  return `${L.join('\n')}\n`;
}

// `node dist/bench/run.js --matmul-child '{"presets":[...],"quick":false,"threads":2,"vocabSize":65}'`:
// the matmul section in a process of its own, one JSON line out (runBench starts it).
if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv[2] === '--matmul-child'
) {
  const a = JSON.parse(process.argv[3] ?? '{}') as MatmulOptions & { vocabSize: number };
  benchMatmul(a, a.vocabSize).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`matmul: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
