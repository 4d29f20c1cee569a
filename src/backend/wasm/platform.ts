// What the wasm backend needs from its host, kept apart so the browser can supply its own:
// the kernel bytes, a way to turn on relaxed SIMD where a flag gates it, and worker threads.
// Not here: any Node import (see node-platform.ts).

import type { KernelFlavor } from './kernels.js';

/** A started worker thread that runs jobs on the shared memory. */
export interface WorkerHandle {
  terminate(): Promise<unknown>;
}

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** byte offset of the control block */
  ctrl: number;
  /** this worker's thread index in the job protocol (1..threads-1; the caller is 0) */
  index: number;
  /** wait-loop iterations a worker spins on the wake word after a job before it sleeps in
   * Atomics.wait (the caller's calibration of its spinMs option) */
  spins: number;
}

export interface WasmPlatform {
  /** The .wasm bytes of one build of the kernels. */
  kernelBytes(flavor: KernelFlavor): Promise<Uint8Array<ArrayBuffer>>;
  /** Tries to enable relaxed SIMD in the engine (Node 20: a V8 flag); may do nothing. */
  enableRelaxedSimd(): void;
  /** Starts a worker that instantiates `module` over `memory` and serves jobs. */
  startWorker(init: WorkerInit): Promise<WorkerHandle>;
  /** Number of hardware threads. */
  parallelism(): number;
}
