// Run by test/alloc-free.test.ts as `node --expose-gc dist/test/alloc-probe.js`: trains a small
// GPT on the wasm backend, lets the compiled (captured) step warm up, then counts the JavaScript
// bytes that STEPS further steps allocate in the young generation, where every new object is
// born. With no allocation it does not move and no garbage collection runs. Prints one JSON line.

import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { DEFAULT_CONFIG, modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';

const STEPS = 200;
const threads = Number(process.argv[2] ?? 1);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

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

for (let i = 0; i < 2000; i++) trainer.trainStep(); // capture, then let V8 optimise the replay
let gcs = 0;
const obs = new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
});
obs.observe({ entryTypes: ['gc'] });
// new objects are born in the young generation ("new_space"); JIT code and feedback go to other
// spaces, so new_space growth (with no GC in between) is exactly what the steps allocated
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
let youngBytes = 0;
let heapBytes = 0;
let loss = 0;
// a collection V8 starts on its own (memory reducer, a busy machine) spoils a window: retry
for (let attempt = 0; attempt < 5; attempt++) {
  gc();
  await new Promise((r) => setTimeout(r, 10)); // let the observer see that collection
  gcs = 0;
  const before = newSpace();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < STEPS; i++) loss = trainer.trainStep().loss;
  youngBytes = newSpace() - before;
  heapBytes = process.memoryUsage().heapUsed - heapBefore;
  await new Promise((r) => setTimeout(r, 10));
  if (gcs === 0) break;
}
obs.disconnect();
await be.dispose();
process.stdout.write(`${JSON.stringify({ steps: STEPS, threads, youngBytes, heapBytes, gcs, loss })}\n`);
