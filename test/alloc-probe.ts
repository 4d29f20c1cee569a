// Run by test/alloc-free.test.ts as `node --expose-gc dist/test/alloc-probe.js [threads [steps]]`:
// trains a small GPT on the wasm backend, lets the compiled (captured) step warm up, then counts
// the JavaScript bytes that STEPS further steps allocate in the young generation, where every new
// object is born (less what an empty window counts: the measurement's own objects). With no
// allocation it does not move and no garbage collection runs. Prints one JSON line.

import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { DEFAULT_CONFIG, modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';

const STEPS = Number(process.argv[3] ?? 200);
const threads = Number(process.argv[2] ?? 1);
const maybeGc = (globalThis as { gc?: () => void }).gc;
if (!maybeGc) throw new Error('run with --expose-gc');
const gc = maybeGc;

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
  maxIters: 10_000,
  lrDecayIters: 10_000, // the measured steps stay in the cosine phase: no new branch, no deopt
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
steps(2000); // capture, then let V8 optimise the replay
let gcs = 0;
const obs = new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
});
obs.observe({ entryTypes: ['gc'] });
// new objects are born in the young generation ("new_space"); JIT code and feedback go to other
// spaces, so new_space growth (with no GC in between) is what a window allocated: its steps, and
// the objects this function makes after it reads the size (the same in every window)
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
/** new_space growth over n steps and the GCs seen in the last try */
async function window(n: number): Promise<{ bytes: number; gcs: number }> {
  let bytes = 0;
  // a collection V8 starts on its own (memory reducer, a busy machine) spoils a window: retry
  for (let attempt = 0; attempt < 5; attempt++) {
    gc();
    await new Promise((r) => setTimeout(r, 10)); // let the observer see that collection
    gcs = 0;
    const before = newSpace();
    steps(n);
    bytes = newSpace() - before;
    await new Promise((r) => setTimeout(r, 10));
    if (gcs === 0) break;
  }
  return { bytes, gcs };
}
await window(0);
const overhead = await window(0); // the measurement's own bytes
const run = await window(STEPS);
obs.disconnect();
await be.dispose();
const out = {
  steps: STEPS,
  threads,
  youngBytes: run.bytes - overhead.bytes,
  overheadBytes: overhead.bytes,
  gcs: run.gcs + overhead.gcs,
  loss: info.loss,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
