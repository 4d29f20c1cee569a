// Data parallelism on one machine, Node's side: ranks 1..N-1 of a data-parallel group
// (data-parallel.ts) as worker threads, each with a backend, a replica of the model and its
// optimizer of its own, started from rank 0's state (its checkpoint bytes) and stepping when
// rank 0 steps. The caller's Trainer, built with the group's rank 0, is rank 0.
// Not here: the all-reduce and the step (data-parallel.ts, compiled-step.ts); the rank's loop is
// node-dp-worker.ts.
//
// @example
//   const { trainer, group } = setupRun({ backend, data, preset: 'baby', dataParallel: 2 });
//   const ranks = await startRanks(group!, trainer, data.train, { threads: 1 });
//   await trainer.run({});  // each step: every rank on its half of the batch, one AdamW step
//   await ranks.stop();

import { Worker } from 'node:worker_threads';
import type { TokenArray } from '../data/dataset.js';
import { TsgptError } from '../errors.js';
import type { DataParallelGroup } from './data-parallel.js';
import type { Trainer } from './trainer.js';

/** What a rank's thread is started with (node-dp-worker.ts reads it). */
export interface RankInit {
  buffer: SharedArrayBuffer;
  rank: number;
  ranks: number;
  /** rank 0's state: its checkpoint bytes (weights, optimizer, step, RNG, configs, tokenizer) */
  checkpoint: Uint8Array;
  train: TokenArray;
  /** the backend: 'wasm' with this many threads of its own, or 'ref' */
  backend: 'wasm' | 'ref';
  threads: number;
  compile: boolean;
}

/**
 * Starts ranks 1..N-1 of `group` from `trainer`'s current state (rank 0, built with
 * group.rank0) and waits until each is ready. stop() ends them once training is over.
 */
export async function startRanks(
  group: DataParallelGroup,
  trainer: Trainer,
  train: TokenArray,
  o: { backend?: 'wasm' | 'ref'; threads?: number; compile?: boolean } = {},
): Promise<{ stop(): Promise<void> }> {
  const { buffer, rank0 } = group;
  const checkpoint = trainer.checkpoint();
  const workers: Worker[] = [];
  const exited: Promise<void>[] = [];
  try {
    for (let rank = 1; rank < rank0.ranks; rank++) {
      const init: RankInit = {
        buffer,
        rank,
        ranks: rank0.ranks,
        checkpoint,
        train,
        backend: o.backend ?? 'wasm',
        threads: o.threads ?? 1,
        compile: o.compile ?? true,
      };
      const w = new Worker(new URL('./node-dp-worker.js', import.meta.url), { workerData: init });
      workers.push(w);
      exited.push(new Promise((resolve) => w.once('exit', () => resolve())));
      await new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', (e) =>
          reject(new TsgptError(`data parallel: rank ${rank} failed to start: ${e.message}`)),
        );
        w.once('exit', (code) =>
          reject(new TsgptError(`data parallel: rank ${rank} exited with code ${code} before it was ready`)),
        );
      });
    }
  } catch (e) {
    rank0.quit();
    await Promise.all(exited);
    throw e;
  }
  return {
    async stop() {
      rank0.quit();
      await Promise.all(exited);
    },
  };
}
