// Section 3 of `tsgpt bench`: greedy generation. `baby` with and without the KV cache (same
// tokens, and how much faster), then a GPT-2-124M-sized model with random weights written once
// as safetensors and timed on both sides, tsgpt at 1 and N threads and PyTorch per OpenBLAS kernel
// set and thread setting. Each run is a child process (bench/generate-speed.ts, train_ref.py).
// It measures and collects; bench/report.ts prints.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { node, retried, runChild } from '../child.js';
import type { BabyGenerateResult, Gpt2GenerateResult } from '../generate-speed.js';
import type { BenchOptions, BenchReport, TorchGenerate } from '../report.js';
import { PYTHON, TRAIN_REF, torchCoretypes } from '../torch.js';

type Generate = NonNullable<BenchReport['generate']>;

/** Greedy generation from a 64-token prompt on the GPT-2-sized model; fewer tokens with --quick. */
interface Gpt2Plan {
  weights: string;
  promptLen: number;
  newTokens: number;
}

export async function benchGenerate(o: BenchOptions, torch: boolean): Promise<Generate> {
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

  const dir = mkdtempSync(join(os.tmpdir(), 'tsgpt-bench-'));
  const plan: Gpt2Plan = {
    weights: join(dir, 'gpt2-124m-random.safetensors'),
    promptLen: 64,
    newTokens: o.quick ? 16 : 100,
  };
  try {
    return { baby, gpt2: await benchGpt2(o, torch, plan) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The GPT-2-sized figures: the weights written once, then tsgpt's runs and PyTorch's. */
async function benchGpt2(o: BenchOptions, torch: boolean, plan: Gpt2Plan): Promise<Generate['gpt2']> {
  const { weights, promptLen, newTokens } = plan;
  o.log('[generate] GPT-2-124M-sized: writing random weights (seeded) as safetensors for both sides');
  const w = await retried(
    () => node('./generate-speed.js', ['--model', 'gpt2', '--write-weights', weights, '--json']),
    o.log,
  );
  if (!w.json) return { error: `writing weights failed: ${w.error}` };
  // the same weights as an int8 model (src/model/quantize.ts), written once
  const int8Weights = `${weights.replace(/\.safetensors$/, '')}-int8.safetensors`;
  o.log('[generate] GPT-2-124M-sized: the same weights quantized to int8 (tsgpt quantize), written once');
  const q = await retried(
    () =>
      node('./generate-speed.js', [
        '--model',
        'gpt2',
        '--weights',
        weights,
        '--write-int8',
        int8Weights,
        '--json',
      ]),
    o.log,
  );
  const threadCounts = o.threads > 1 ? [o.threads, 1] : [1];
  const tsgpt: Gpt2GenerateResult[] = [];
  const errors: string[] = [];
  if (!q.json) errors.push(`writing int8 weights failed: ${q.error}`);
  for (const threads of threadCounts)
    for (const file of q.json ? [weights, int8Weights] : [weights]) {
      const kind = file === weights ? 'float32' : 'int8';
      o.log(
        `[generate] GPT-2-124M-sized on wasm ${threads}t, ${kind}: load, ${promptLen}-token prompt, ${newTokens} new tokens`,
      );
      const g = await retried(
        () =>
          node('./generate-speed.js', [
            ...['--model', 'gpt2', '--weights', file, '--threads', String(threads)],
            ...['--prompt-len', String(promptLen), '--tokens', String(newTokens), '--json'],
          ]),
        o.log,
      );
      if (g.json) tsgpt.push(g.json as unknown as Gpt2GenerateResult);
      else errors.push(`tsgpt ${threads}t ${kind} failed: ${g.error}`);
    }
  const runs = torch ? await torchGpt2(o, plan) : [];
  return tsgpt.length === 0
    ? { error: errors.join('; ') }
    : { tsgpt, torch: runs, promptLen, newTokens: tsgpt[0]!.newTokens };
}

/**
 * PyTorch on the same weights: all threads for each kernel choice, BLAS-only threads, then one
 * thread (the steadiest comparison when other processes share the cores).
 */
async function torchGpt2(o: BenchOptions, plan: Gpt2Plan): Promise<TorchGenerate[]> {
  const { weights, promptLen, newTokens } = plan;
  const runs: TorchGenerate[] = [];
  const variants: [string, 'all' | 'blas', number][] = torchCoretypes().map((c) => [c, 'all', o.threads]);
  if (o.threads > 1)
    variants.push(
      ['default', 'blas', o.threads],
      ['SkylakeX', 'blas', o.threads],
      ['default', 'all', 1],
      ['SkylakeX', 'all', 1],
    );
  for (const [coretype, torchMode, threads] of variants) {
    o.log(
      `[generate] GPT-2-124M-sized on PyTorch ${threads}t (OpenBLAS ${coretype}` +
        `${torchMode === 'blas' ? ', BLAS threads only' : ''}), same weights`,
    );
    const r = await retried(
      () =>
        runChild(PYTHON, [
          TRAIN_REF,
          ...['--generate', String(newTokens), '--prompt-len', String(promptLen), '--weights', weights],
          ...(torchMode === 'blas' ? ['--blas-threads', String(threads)] : ['--threads', String(threads)]),
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
  return runs;
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
