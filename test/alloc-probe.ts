// Run by test/alloc-free.test.ts as `node --expose-gc dist/test/alloc-probe.js [threads [steps [warmup]]]`
// (`--grad-checkpoint`: with gradient checkpointing; `--bf16`: in mixed precision):
// trains a small GPT on the wasm backend, lets the compiled (captured) step warm up
// (src/train/compiled-step.ts), then counts the JavaScript bytes that STEPS further steps allocate
// in the young generation, where every new object is born (less what an empty window counts: the
// measurement's own objects). With no
// allocation it does not move and no garbage collection runs. Prints one JSON line.
// perStepBytes is the growth from a STEPS window to a 2*STEPS one, per step. Each window starts
// with a forced GC (a clean young generation: steadiest on Node 20); with --no-gc it does not:
// on Node 24 and 26 code runs a little less optimised after a forced GC, allocating ~30 kB.

import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';

const STEPS = Number(process.argv[3] ?? 200);
const WARMUP = Number(process.argv[4] ?? 2000);
const forceGc = !process.argv.includes('--no-gc');
const maybeGc = (globalThis as { gc?: () => void }).gc;
if (forceGc && !maybeGc) throw new Error('run with --expose-gc (or pass --no-gc)');
const gc = maybeGc ?? (() => {});
const threads = Number(process.argv[2] ?? 1);

const be = await createWasmBackend({ threads });
const cfg = {
  ...DEFAULT_CONFIG,
  vocabSize: 65,
  blockSize: 16,
  nLayer: 2,
  nHead: 2,
  nEmbd: 32,
  batchSize: 2,
  dropout: 0.1,
  gradAccum: 2,
  maxIters: 1_000_000,
  lrDecayIters: 1_000_000, // the measured steps stay in the cosine phase: no new branch, no deopt
  gradCheckpoint: process.argv.includes('--grad-checkpoint'), // each block recomputed in backward
  precision: process.argv.includes('--bf16') ? ('bf16' as const) : ('fp32' as const), // mixed precision
};
const rng = new Rng(1);
const tokens = Uint16Array.from({ length: 20_000 }, () => rng.int(65));
const model = new GPT(modelConfig(cfg), be, { seed: 1 });
const trainer = new Trainer({
  model,
  config: cfg,
  train: tokens,
  val: tokens,
  tokenizer: { kind: 'char', version: 1 },
});

// The loop is a function, warmed up with the rest: top-level module code is not optimised, and
// there `loss = trainer.trainStep().loss` would itself box a double per step.
function steps(n: number): void {
  for (let i = 0; i < n; i++) trainer.trainStep();
}
const info = trainer.trainStep(); // the same object after every step
steps(WARMUP); // capture, then let V8 optimise the replay
let gcs = 0;
const obs = new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
});
obs.observe({ entryTypes: ['gc'] });
// new objects are born in the young generation ("new_space"); JIT code and feedback go to other
// spaces, so new_space growth (with no GC in between) is what a window allocated: its steps, and
// the objects this function makes after it reads the size (the same in every window)
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
/**
 * new_space growth over n steps: the least of three clean windows (no GC inside), and the GCs
 * seen in the last try. A cost every step pays shows in every window; a one-off (V8 re-optimising
 * a function after a branch first taken under load, say a wait on a descheduled worker) in one.
 */
async function window(n: number): Promise<{ bytes: number; gcs: number }> {
  let bytes = Number.POSITIVE_INFINITY;
  let clean = 0;
  // a collection during the window (new space filled up, the memory reducer) spoils it: retry
  for (let attempt = 0; attempt < 8 && clean < 3; attempt++) {
    if (forceGc) gc();
    await new Promise((r) => setTimeout(r, 10)); // let the observer report that collection
    gcs = 0;
    const before = newSpace();
    steps(n);
    const grew = newSpace() - before;
    await new Promise((r) => setTimeout(r, 10));
    if (gcs !== 0) continue;
    clean++;
    bytes = Math.min(bytes, grew);
  }
  return { bytes: clean > 0 ? bytes : Number.NaN, gcs };
}
await window(0);
const overhead = await window(0); // the measurement's own bytes
const run = await window(STEPS);
const twice = await window(2 * STEPS);
obs.disconnect();
await be.dispose();
const out = {
  steps: STEPS,
  threads,
  warmup: WARMUP,
  youngBytes: run.bytes - overhead.bytes,
  perStepBytes: (twice.bytes - run.bytes) / STEPS,
  overheadBytes: overhead.bytes,
  gcs: run.gcs + overhead.gcs + twice.gcs,
  loss: info.loss,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
