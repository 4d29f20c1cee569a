// Generation speed, measured in a process of its own (so that peak RSS is this run's alone).
// Three modes, started by bench/sections/generate.ts:
//   --model baby              greedy tokens with and without the KV cache: tokens/s of each, the
//                             speedup, and whether both produced the same tokens (they must)
//   --model gpt2 --write-weights FILE
//                             a random GPT-2-124M-sized model (seeded) written as safetensors,
//                             so that tsgpt and PyTorch time the very same weights
//   --model gpt2 --weights FILE
//                             load those weights, prefill a random prompt, then time greedy
//                             decoding with the KV cache, as bench/pytorch/train_ref.py does
//   --model gpt2 --weights FILE --write-int8 OUT
//                             those weights as an int8 model (src/model/quantize.ts), written as
//                             safetensors; --weights OUT then times the int8 model
// Prints one JSON line with --json. Not a test; not a sampler (see `tsgpt sample`).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Backend } from '../src/backend/backend.js';
import { refBackend } from '../src/backend/index.js';
import { DEFAULT_GPT_CONFIG, type GPTConfig, modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { int8Tensors, loadInt8, quantizeModel } from '../src/model/quantize.js';
import { DEFAULT_SAMPLING, generate } from '../src/sample/sampling.js';
import { tokenizerFromJSON } from '../src/tokenizer/index.js';
import { decodeCheckpoint, gptConfigOf } from '../src/train/checkpoint.js';
import { Rng } from '../src/util/rng.js';
import { decodeSafetensors, encodeSafetensors, type TensorToEncode } from '../src/util/safetensors.js';
import { SHAKESPEARE } from './paths.js';
import { argValue, charData, median, presetConfig } from './train-speed.js';

/** GPT-2 small (124M): the shape of the Hugging Face `gpt2` checkpoint. */
export const GPT2_CONFIG: GPTConfig = {
  ...DEFAULT_GPT_CONFIG,
  vocabSize: 50257,
  blockSize: 1024,
  nLayer: 12,
  nHead: 12,
  nEmbd: 768,
  dropout: 0,
  bias: true,
  positional: 'learned',
  norm: 'pre',
  activation: 'gelu_tanh',
};

const GREEDY = { ...DEFAULT_SAMPLING, greedy: true };

export interface BabyGenerateResult {
  model: 'baby';
  /** 'random' or the checkpoint path */
  weights: string;
  backend: string;
  threads: number;
  kernels: string | null;
  blockSize: number;
  newTokens: number;
  repeats: number;
  cachedTokensPerSec: number;
  uncachedTokensPerSec: number;
  speedup: number;
  /** the cached and uncached runs chose the same tokens, every repeat */
  identical: boolean;
  firstTokens: number[];
  peakRssMiB: number;
}

export interface Gpt2GenerateResult {
  model: 'gpt2';
  params: number;
  threads: number;
  kernels: string;
  promptLen: number;
  newTokens: number;
  /** reading the file, building the model (no random init: the weights follow) and copying the weights in */
  loadS: number;
  /** loadS in parts: read + decode the file, build the model (no init: weights follow), copy weights in */
  loadParts: { readS: number; buildS: number; copyS: number };
  prefillMs: number;
  /** decoding only: the forward passes of one token each, after the prefill */
  tokensPerSec: number;
  msPerToken: number;
  firstTokens: number[];
  peakRssMiB: number;
  wasmMiB: number;
  /** an int8 model (its linear layers and embedding in int8) */
  int8?: boolean;
  /** wasm memory in use while generating (the weights, the KV cache, scratch), MiB */
  wasmInUseMiB?: number;
}

async function openBackend(
  name: string,
  threads: number,
): Promise<{ be: Backend; wasm: import('../src/backend/wasm/index.js').WasmBackend | null }> {
  if (name === 'ref') return { be: refBackend, wasm: null };
  const { createWasmBackend } = await import('../src/backend/wasm/index.js');
  const wasm = await createWasmBackend({ threads });
  return { be: wasm, wasm };
}

/** Greedy generation, timed: total seconds and the time each token was chosen (ms since start). */
function timedGenerate(
  model: GPT,
  prompt: readonly number[],
  n: number,
  cache: boolean,
): { tokens: number[]; s: number; at: number[] } {
  const at: number[] = [];
  const t0 = performance.now();
  const tokens = generate(
    model,
    prompt,
    n,
    GREEDY,
    new Rng(1),
    () => {
      at.push(performance.now() - t0);
    },
    { cache },
  );
  return { tokens, s: (performance.now() - t0) / 1000, at };
}

export async function measureBaby(o: {
  text: string;
  ckpt: string | undefined;
  tokens: number;
  repeats: number;
  backend: string;
  threads: number;
}): Promise<BabyGenerateResult> {
  const { be, wasm } = await openBackend(o.backend, o.threads);
  try {
    let model: GPT;
    let prompt: number[] = [0];
    if (o.ckpt) {
      const ck = decodeCheckpoint(readFileSync(o.ckpt), o.ckpt);
      model = new GPT(gptConfigOf(ck, 'generate bench', o.ckpt), be, { init: false, grads: false });
      model.loadStateDict(ck.weights);
      try {
        prompt = tokenizerFromJSON(ck.meta.tokenizer).encode('\n');
      } catch {
        prompt = [0]; // a tokenizer that needs files (gpt2): any token will do for timing
      }
    } else {
      const { tokenizer } = charData(readFileSync(o.text, 'utf8'));
      const cfg = presetConfig('baby', tokenizer.vocabSize);
      model = new GPT(modelConfig(cfg), be, { seed: cfg.seed, grads: false });
      prompt = tokenizer.encode('\n');
    }
    if (prompt.length === 0) prompt = [0];
    // warm-up: both paths, past one window jump, so optimised code runs in the timed part
    const warm = Math.min(o.tokens, model.config.blockSize + 8);
    timedGenerate(model, prompt, warm, true);
    timedGenerate(model, prompt, warm, false);
    const cached: number[] = [];
    const uncached: number[] = [];
    let identical = true;
    let first: number[] = [];
    // alternate, so a burst of load from another process hits both alike
    for (let r = 0; r < o.repeats; r++) {
      const a = timedGenerate(model, prompt, o.tokens, true);
      const b = timedGenerate(model, prompt, o.tokens, false);
      cached.push(a.tokens.length / a.s);
      uncached.push(b.tokens.length / b.s);
      identical &&= a.tokens.length === b.tokens.length && a.tokens.every((t, i) => t === b.tokens[i]);
      first = a.tokens.slice(0, 16);
    }
    const c = median(cached);
    const u = median(uncached);
    return {
      model: 'baby',
      weights: o.ckpt ?? 'random',
      backend: be.name,
      threads: wasm ? wasm.threads : 1,
      kernels: wasm ? wasm.flavor : null,
      blockSize: model.config.blockSize,
      newTokens: o.tokens,
      repeats: o.repeats,
      cachedTokensPerSec: c,
      uncachedTokensPerSec: u,
      speedup: c / u,
      identical,
      firstTokens: first,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await wasm?.dispose();
  }
}

/** Writes a seeded random GPT-2-sized model's weights (tsgpt names, f32) to a safetensors file. */
export function writeGpt2Weights(path: string, seed: number): number {
  const model = new GPT(GPT2_CONFIG, refBackend, { seed, grads: false });
  const tensors = new Map<string, TensorToEncode>();
  for (const [name, p] of model.stateDict())
    tensors.set(name, { shape: p.shape, data: p.data as Float32Array });
  writeFileSync(path, encodeSafetensors(tensors, { format: 'pt' }));
  return model.numParams();
}

export async function measureGpt2(o: {
  weights: string;
  promptLen: number;
  tokens: number;
  threads: number;
}): Promise<Gpt2GenerateResult> {
  const cfg = GPT2_CONFIG;
  if (o.promptLen + o.tokens > cfg.blockSize)
    throw new Error(`prompt ${o.promptLen} + ${o.tokens} new tokens > blockSize ${cfg.blockSize}`);
  const { createWasmBackend } = await import('../src/backend/wasm/index.js');
  const wasm = await createWasmBackend({ threads: o.threads });
  try {
    const t0 = performance.now();
    const file = decodeSafetensors(readFileSync(o.weights), { source: o.weights, int8: true });
    const t1 = performance.now();
    const model = new GPT(cfg, wasm, { init: false, grads: false });
    const t2 = performance.now();
    const int8 = (file.int8?.size ?? 0) > 0;
    if (int8) {
      // an int8 file (--write-int8): the int8 weights first, they leave the float32 buffer
      const scales = new Map([...file.tensors].filter(([k]) => k.endsWith('.scale')));
      for (const k of scales.keys()) file.tensors.delete(k);
      loadInt8(model, file.int8!, scales, o.weights);
    }
    model.loadStateDict(file.tensors);
    file.tensors.clear();
    const t3 = performance.now();
    const loadS = (t3 - t0) / 1000;
    const rng = new Rng(1337);
    const prompt = Array.from({ length: o.promptLen }, () => rng.int(cfg.vocabSize));
    timedGenerate(model, prompt, Math.min(4, o.tokens), true); // warm up, as train_ref.py does
    // N + 1 tokens: the first comes from the prefill, each later one from a one-token forward
    // (PyTorch's --generate N times N one-token forwards after its prefill)
    const run = timedGenerate(model, prompt, o.tokens + 1, true);
    const prefillMs = run.at[0]!;
    const decodeMs = run.at[run.at.length - 1]! - prefillMs;
    const decoded = run.at.length - 1;
    return {
      model: 'gpt2',
      params: model.numParams(),
      threads: wasm.threads,
      kernels: wasm.flavor,
      promptLen: o.promptLen,
      newTokens: decoded,
      loadS,
      loadParts: { readS: (t1 - t0) / 1000, buildS: (t2 - t1) / 1000, copyS: (t3 - t2) / 1000 },
      prefillMs,
      tokensPerSec: (decoded / decodeMs) * 1000,
      msPerToken: decodeMs / decoded,
      firstTokens: run.tokens.slice(0, 8),
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      wasmMiB: wasm.peakBytes / 1048576,
      int8,
      wasmInUseMiB: wasm.bytesInUse / 1048576,
    };
  } finally {
    await wasm.dispose();
  }
}

/** The float32 weights file as an int8 model (quantizeModel), written as safetensors. */
export function writeInt8Weights(from: string, out: string): number {
  const model = new GPT(GPT2_CONFIG, refBackend, { init: false, grads: false });
  model.loadStateDict(decodeSafetensors(readFileSync(from), { source: from }).tensors);
  quantizeModel(model);
  const tensors = new Map<string, TensorToEncode>();
  for (const [name, p] of model.stateDict())
    tensors.set(name, { shape: p.shape, data: p.data as Float32Array });
  for (const [name, t] of int8Tensors(model)) tensors.set(name, t);
  const bytes = encodeSafetensors(tensors, { format: 'pt' });
  writeFileSync(out, bytes);
  return bytes.length;
}

async function main(argv: readonly string[]): Promise<void> {
  const num = (name: string, dflt: number) => Number(argValue(argv, name) ?? dflt);
  const model = argValue(argv, '--model') ?? 'baby';
  const threads = num('--threads', 1);
  let result: object;
  if (model === 'baby') {
    const text = argValue(argv, '--text') ?? SHAKESPEARE;
    const ckpt = argValue(argv, '--ckpt');
    if (!ckpt && !existsSync(text)) throw new Error(`text not found: ${text}`);
    result = await measureBaby({
      text,
      ckpt,
      tokens: num('--tokens', 500),
      repeats: num('--repeats', 1),
      backend: argValue(argv, '--backend') ?? 'wasm',
      threads,
    });
  } else if (model === 'gpt2') {
    const out = argValue(argv, '--write-weights');
    const weights = argValue(argv, '--weights');
    const int8Out = argValue(argv, '--write-int8');
    if (int8Out && weights) {
      const t0 = performance.now();
      const bytes = writeInt8Weights(weights, int8Out);
      result = { model: 'gpt2', wrote: int8Out, bytes, seconds: (performance.now() - t0) / 1000 };
    } else if (out) {
      const t0 = performance.now();
      const params = writeGpt2Weights(out, num('--seed', 1337));
      result = { model: 'gpt2', wrote: out, params, seconds: (performance.now() - t0) / 1000 };
    } else if (weights) {
      result = await measureGpt2({
        weights,
        promptLen: num('--prompt-len', 64),
        tokens: num('--tokens', 100),
        threads,
      });
    } else throw new Error('--model gpt2 needs --write-weights FILE or --weights FILE');
  } else throw new Error(`--model ${model}: baby or gpt2`);
  process.stdout.write(
    argv.includes('--json') ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`generate-speed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
