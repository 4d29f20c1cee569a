// The browser host for the wasm backend: kernel bytes by fetch(), engine threads as module Web
// Workers that share the backend's WebAssembly memory. A page can hand shared memory to a worker
// only when it is cross-origin isolated (COOP/COEP headers); otherwise the backend runs on the
// calling thread alone. Not here: any Node import (node-platform.ts), or the worker's body
// (browser-worker.ts).

import { TsgptError } from '../../errors.js';
import type { KernelFlavor } from './kernels.js';
import type { WasmPlatform, WorkerHandle, WorkerInit } from './platform.js';

export interface BrowserPlatformOptions {
  /** Where each build of the kernels is served (the files tsgpt-simd.wasm and tsgpt-relaxed.wasm). */
  kernelUrls: Readonly<Record<KernelFlavor, string | URL>>;
  /**
   * Starts one engine thread: a module Worker whose script calls serveEngineThread(). The app
   * makes it, because only the app's bundler knows the worker script's URL, e.g.
   * `() => new Worker(new URL('./engine-thread.ts', import.meta.url), { type: 'module' })`.
   */
  startThread: () => Worker;
}

/** Whether this page or worker may share memory with workers (it is cross-origin isolated). */
export function canShareMemory(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/**
 * A WasmPlatform for browsers. Its parallelism() is navigator.hardwareConcurrency when the page
 * is cross-origin isolated and 1 otherwise, so createBackend('wasm', { platform }) picks the most
 * threads the page allows. Use it from a worker: a page's main thread may not block, so the
 * backend there could only spin while its threads work.
 * @example
 * const platform = browserPlatform({
 *   kernelUrls: { simd: simdUrl, relaxed: relaxedUrl },
 *   startThread: () => new Worker(new URL('./engine-thread.ts', import.meta.url), { type: 'module' }),
 * });
 * const backend = await createBackend('wasm', { platform });
 */
export function browserPlatform(opts: BrowserPlatformOptions): WasmPlatform {
  return {
    async kernelBytes(flavor: KernelFlavor): Promise<Uint8Array<ArrayBuffer>> {
      const url = String(opts.kernelUrls[flavor]);
      let res: Response;
      try {
        res = await fetch(url);
      } catch (e) {
        throw new TsgptError(`wasm backend: cannot fetch the ${flavor} kernels from ${url} (${String(e)})`);
      }
      if (!res.ok)
        throw new TsgptError(`wasm backend: the ${flavor} kernels at ${url} answered HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },

    enableRelaxedSimd(): void {
      // a browser's engine either has relaxed SIMD or not; a page cannot switch it on
    },

    startWorker(init: WorkerInit): Promise<WorkerHandle> {
      if (!canShareMemory())
        throw new TsgptError(
          'wasm backend: more than one thread needs a cross-origin isolated page (COOP/COEP headers); ask for threads: 1',
        );
      const worker = opts.startThread();
      return new Promise((resolve, reject) => {
        worker.onmessage = (e: MessageEvent) => {
          if (e.data === 'ready') {
            worker.onmessage = null;
            worker.onerror = null;
            resolve({
              terminate: async () => {
                worker.terminate();
              },
            });
          }
        };
        worker.onerror = (e: ErrorEvent) => {
          worker.terminate();
          reject(
            new TsgptError(
              `wasm backend: an engine thread failed to start (${e.message || 'no reason given'})`,
            ),
          );
        };
        worker.postMessage(init);
      });
    },

    parallelism(): number {
      if (!canShareMemory()) return 1;
      return Math.max(
        1,
        (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
      );
    },
  };
}
