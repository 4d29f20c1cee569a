// A data-parallel rank's thread (started by node-data-parallel.ts): builds its backend and a
// replica of rank 0's model, optimizer and RNG from rank 0's checkpoint bytes, says it is ready,
// then takes each step rank 0 starts (compiled-step.ts averages the gradients with the other
// ranks) until told to quit. Any error stops the whole group with its message.

import { parentPort, workerData } from 'node:worker_threads';
import type { Backend } from '../backend/backend.js';
import { createBackend } from '../backend/index.js';
import { decodeCheckpoint, modelFromCheckpoint } from './checkpoint.js';
import { SharedMemoryRank } from './data-parallel.js';
import type { RankInit } from './node-data-parallel.js';
import { Trainer } from './trainer.js';

const init = workerData as RankInit;
const ck = decodeCheckpoint(init.checkpoint, 'rank 0');
const rank = new SharedMemoryRank(init.buffer, init.rank, init.ranks, countParams());
let backend: Backend | null = null;

/** the model's parameter count (the gradients the group averages), from the checkpoint */
function countParams(): number {
  let n = 0;
  for (const t of ck.weights.values()) n += t.data.length;
  return n;
}

try {
  backend = await createBackend(init.backend, init.backend === 'wasm' ? { threads: init.threads } : {});
  const model = modelFromCheckpoint(ck, backend);
  const trainer = new Trainer({
    model,
    config: ck.meta.train!,
    train: init.train,
    val: init.train, // evaluation is rank 0's
    tokenizer: ck.meta.tokenizer,
    resume: ck,
    compile: init.compile,
    adaptThreads: false,
    dataParallel: rank,
  });
  parentPort!.postMessage('ready');
  let seen = 0;
  for (;;) {
    const next = rank.waitStep(seen);
    if (!next) break;
    seen = next[0];
    if (next[1] !== trainer.step)
      throw new Error(`asked for step ${next[1]}, this rank has taken ${trainer.step}`);
    trainer.trainStep();
  }
} catch (e) {
  const why = e instanceof Error ? e.message : String(e);
  rank.fail(why);
  parentPort!.postMessage('ready'); // unblocks a start that waits for it; the group is failed
} finally {
  await backend?.dispose?.();
}
