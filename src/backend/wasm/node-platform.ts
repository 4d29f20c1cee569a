// The Node host for the wasm backend: kernel bytes from the build (dist/src/backend/wasm/kernels/)
// via node:fs, relaxed SIMD via a V8 flag on Node 20 (on by default from Node 21), workers via
// node:worker_threads.
// The only file of the backend that imports node: modules besides node-worker.ts.

import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { KernelFlavor } from './kernels.js';
import type { WasmPlatform, WorkerHandle, WorkerInit } from './platform.js';

let relaxedFlagTried = false;

export const nodePlatform: WasmPlatform = {
  async kernelBytes(flavor: KernelFlavor): Promise<Uint8Array<ArrayBuffer>> {
    // dist/src/backend/wasm/kernels/, where scripts/build-kernels.mjs writes them
    return new Uint8Array(await readFile(new URL(`./kernels/tsgpt-${flavor}.wasm`, import.meta.url)));
  },

  enableRelaxedSimd(): void {
    if (relaxedFlagTried) return;
    relaxedFlagTried = true;
    // Node calls run-time flag changes undefined behaviour; the caller re-validates afterwards
    // and falls back to the plain SIMD build if the flag did not take.
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // flag unknown to this V8: nothing to do
    }
  },

  startWorker(init: WorkerInit): Promise<WorkerHandle> {
    const worker = new Worker(new URL('./node-worker.js', import.meta.url), { workerData: init });
    worker.unref();
    return new Promise((resolve, reject) => {
      worker.once('message', () => resolve(worker));
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`wasm worker exited with code ${code} before it was ready`)),
      );
    });
  },

  parallelism(): number {
    return availableParallelism();
  },
};
