// Browser entry point of an engine thread: a module Web Worker that receives the compiled
// kernels and the shared memory (WorkerInit) in its first message, says "ready", then serves
// jobs (worker-loop.ts) until the backend is disposed. The app's worker script is one line:
// `import { serveEngineThread } from 'tsgpt'; serveEngineThread();`. No Node import here.

import type { WorkerInit } from './platform.js';
import { instantiateKernels, serveJobs } from './worker-loop.js';

/** What a dedicated worker's global scope offers that this file uses. */
interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}

/**
 * Makes this worker an engine thread of a wasm backend created with browserPlatform().
 * Call it once, at the top of the worker script.
 */
export function serveEngineThread(): void {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = (e: MessageEvent) => {
    scope.onmessage = null;
    const init = e.data as WorkerInit;
    const kernels = instantiateKernels(init.module, init.memory);
    scope.postMessage('ready');
    serveJobs(init, kernels); // returns when the backend is disposed
  };
}
