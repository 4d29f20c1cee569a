// Training throughput of one configuration (preset x backend x threads), measured in a process
// of its own so that its peak RSS belongs to it alone: warm-up steps, then timed steps of the
// real Trainer on char-level Tiny Shakespeare. `bench/sections/train.ts` starts one of these per
// configuration and reads the JSON line it prints. Not a test, not a trainer (no evals, no
// checkpoints).
//
//   node dist/bench/train-speed.js --preset baby --backend wasm --threads 1 --iters 20 --json
//   node dist/bench/train-speed.js --preset baby --overrides '{"optimizer":"muon"}' --threads 2
//   node dist/bench/train-speed.js --preset mini --overrides '{"gradCheckpoint":true}'
//   node dist/bench/train-speed.js --preset baby --data-parallel 2 --threads 1   (2 ranks x 1 thread)

import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Backend } from '../src/backend/backend.js';
import { refBackend } from '../src/backend/index.js';
import type { GPTConfig } from '../src/model/config.js';
import type { LanguageModel } from '../src/model/language-model.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import type { FullConfig } from '../src/train/config.js';
import type { DataParallelGroup } from '../src/train/data-parallel.js';
import { startRanks } from '../src/train/node-data-parallel.js';
import { resolveConfig, setupRun } from '../src/train/setup.js';
import type { Trainer } from '../src/train/trainer.js';
import { SHAKESPEARE } from './paths.js';

/** What one train-speed run reports (the JSON line on stdout). */
export interface TrainSpeedResult {
  preset: string;
  backend: 'ref' | 'wasm';
  threads: number;
  /** wasm kernel build: 'relaxed' (FMA) or 'simd'; null for ref */
  kernels: string | null;
  params: number;
  tokensPerStep: number;
  flopsPerStep: number;
  warmup: number;
  /** each timed step's wall time, ms */
  stepMs: number[];
  msPerIter: number;
  msPerIterMin: number;
  /**
   * CPU time (user + system, all of the process's threads) per timed step, ms: on one thread,
   * the work of a step, which other programs on the machine change far less than its wall time
   */
  cpuMsPerIter: number;
  tokensPerSec: number;
  gflops: number;
  lastLoss: number;
  /** process.resourceUsage().maxRSS, MiB: the whole process, startup and data included */
  peakRssMiB: number;
  /** wasm memory in use at the end (params, grads, optimizer state, activations), MiB */
  wasmMiB: number | null;
  /**
   * timed steps the thread governor ran on the calling thread alone (probes, or a busy machine;
   * wasm, threads > 1)
   */
  aloneSteps: number | null;
  /** data-parallel ranks (1: none); threads is then per rank, peakRssMiB all ranks' */
  dataParallel: number;
  /** the config keys given over the preset's */
  overrides: Readonly<Record<string, unknown>>;
}

/**
 * Training FLOPs of one optimizer step, counted analytically the way nanoGPT's estimate_mfu
 * (after the PaLM paper, appendix B) does:
 *   6 * N * tokens                      every weight takes part in one multiply-add (2 FLOPs)
 *                                       per token forward, and two more backward (dX and dW)
 *   + 12 * nLayer * B * T^2 * C         attention: Q K^T and att V are 2*T*C each per token and
 *                                       layer forward, times 3 for forward + backward
 * N counts the weights that multiply activations: all parameters minus the position embedding
 * (wte counts once: it is also the output layer). The causal mask is ignored (full T^2), as in
 * nanoGPT, so GFLOP/s compare across implementations, not as a count of work actually done.
 * Norms, GELU, softmax and AdamW are not counted.
 */
export function trainFlopsPerStep(cfg: GPTConfig, batchSize: number, params: number): number {
  const { blockSize: T, nLayer, nEmbd: C, positional } = cfg;
  const n = params - (positional === 'learned' ? T * C : 0);
  const tokens = batchSize * T;
  return 6 * n * tokens + 12 * nLayer * batchSize * T * T * C;
}

/** Char-level token ids of a text, split 90/10 as nanoGPT's prepare.py does. */
export function charData(text: string): {
  tokenizer: CharTokenizer;
  train: Uint16Array;
  val: Uint16Array;
} {
  const tokenizer = CharTokenizer.fromText(text);
  const ids = Uint16Array.from(tokenizer.encode(text));
  const n = Math.floor(0.9 * ids.length);
  return { tokenizer, train: ids.subarray(0, n), val: ids.subarray(n) };
}

/** A preset's full config for a char vocabulary (the preset's keys over DEFAULT_CONFIG). */
export function presetConfig(preset: string, vocabSize: number): FullConfig {
  return resolveConfig({ preset }, vocabSize);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `--name value` from argv, or undefined. */
export function argValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export interface TrainSpeedOptions {
  preset: string;
  backend: 'ref' | 'wasm';
  threads: number;
  iters: number;
  warmup: number;
  text: string;
  /** keep the worker threads on every step (no ThreadGovernor): what a fixed pool does */
  fixedThreads?: boolean;
  /** config keys over the preset's (e.g. { gradCheckpoint: true }) */
  overrides?: Readonly<Record<string, unknown>>;
  /** data parallelism: this many ranks (threads: per rank), as `tsgpt train --data-parallel` */
  dataParallel?: number;
}

/**
 * A preset's model and trainer on `backend`, over a text file encoded char-level (the setup the
 * speed measurements share), built by setupRun as `tsgpt train` builds its run. adaptThreads:
 * let the ThreadGovernor switch workers on and off.
 */
export function presetTrainer(
  preset: string,
  text: string,
  backend: Backend,
  adaptThreads: boolean,
  overrides: Readonly<Record<string, unknown>> = {},
  dataParallel = 1,
): {
  cfg: FullConfig;
  model: LanguageModel;
  trainer: Trainer;
  group?: DataParallelGroup;
  train: Uint16Array;
} {
  const { tokenizer, train, val } = charData(readFileSync(text, 'utf8'));
  const data = { train, val, vocabSize: tokenizer.vocabSize, tokenizer: tokenizer.toJSON(), name: text };
  const run = setupRun({ backend, data, preset, adaptThreads, overrides, dataParallel });
  return { ...run, cfg: run.config, train };
}

export async function measureTraining(o: TrainSpeedOptions): Promise<TrainSpeedResult> {
  let backend: Backend = refBackend;
  let wasm: import('../src/backend/wasm/index.js').WasmBackend | null = null;
  if (o.backend === 'wasm') {
    const { createWasmBackend } = await import('../src/backend/wasm/index.js');
    wasm = await createWasmBackend({ threads: o.threads });
    backend = wasm;
  }
  try {
    const { cfg, model, trainer, group, train } = presetTrainer(
      o.preset,
      o.text,
      backend,
      !o.fixedThreads,
      o.overrides,
      o.dataParallel,
    );
    const others = group ? await startRanks(group, trainer, train, { threads: o.threads }) : null;
    // the first step captures the tape (slow); later ones replay it: the steady state
    for (let i = 0; i < o.warmup; i++) trainer.timedStep();
    const stepMs: number[] = [];
    let lastLoss = Number.NaN;
    let aloneSteps = 0;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < o.iters; i++) {
      if (trainer.governor && !trainer.governor.useWorkers) aloneSteps++;
      const s = trainer.timedStep();
      stepMs.push(s.ms);
      lastLoss = s.loss;
    }
    const cpu = process.cpuUsage(cpu0);
    const params = model.numParams();
    const flopsPerStep = trainFlopsPerStep(cfg, cfg.batchSize, params); // the bench's presets are GPTs
    const ms = median(stepMs);
    const result: TrainSpeedResult = {
      preset: o.preset,
      backend: o.backend,
      threads: wasm ? wasm.threads : 1,
      kernels: wasm ? wasm.flavor : null,
      params,
      tokensPerStep: trainer.tokensPerStep,
      flopsPerStep,
      warmup: o.warmup,
      stepMs: stepMs.map((x) => Math.round(x * 1000) / 1000),
      msPerIter: ms,
      msPerIterMin: Math.min(...stepMs),
      cpuMsPerIter: (cpu.user + cpu.system) / 1000 / o.iters,
      tokensPerSec: (trainer.tokensPerStep / ms) * 1000,
      gflops: flopsPerStep / (ms * 1e6),
      lastLoss,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      wasmMiB: wasm ? wasm.peakBytes / 1048576 : null,
      aloneSteps: trainer.governor ? aloneSteps : null,
      dataParallel: o.dataParallel ?? 1,
      overrides: o.overrides ?? {},
    };
    await others?.stop();
    return result;
  } finally {
    await wasm?.dispose();
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const preset = argValue(argv, '--preset') ?? 'baby';
  const backend = argValue(argv, '--backend') ?? 'wasm';
  if (backend !== 'ref' && backend !== 'wasm') throw new Error(`--backend ${backend}: ref or wasm`);
  const text = argValue(argv, '--text') ?? SHAKESPEARE;
  if (!existsSync(text)) throw new Error(`text not found: ${text}`);
  const r = await measureTraining({
    preset,
    backend,
    threads: Number(argValue(argv, '--threads') ?? 1),
    iters: Number(argValue(argv, '--iters') ?? 10),
    warmup: Number(argValue(argv, '--warmup') ?? 3),
    text,
    fixedThreads: argv.includes('--fixed-threads'),
    overrides: JSON.parse(argValue(argv, '--overrides') ?? '{}') as Record<string, unknown>,
    dataParallel: Number(argValue(argv, '--data-parallel') ?? 1),
  });
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(r)}\n`);
  else
    process.stdout.write(
      `${r.preset} ${r.backend} ${r.threads}t: ${r.msPerIter.toFixed(1)} ms/iter, ${r.tokensPerSec.toFixed(0)} tok/s, ` +
        `${r.gflops.toFixed(2)} GFLOP/s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB\n`,
    );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`train-speed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
