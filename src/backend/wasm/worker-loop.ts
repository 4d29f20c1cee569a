// The body of a worker thread, host-neutral: instantiate the kernels over the shared memory,
// then forever: wait for the wake word to change (a short spin, then Atomics.wait, so an idle
// worker costs no CPU), run chunks of the current job, repeat until the quit word is set.
// Not here: how the worker was started (node-worker.ts) or how jobs are published (thread-pool.ts).

import { CTRL_QUIT, CTRL_SLEEPERS, CTRL_WAKE } from './kernels/abi.js';
import type { KernelExports } from './kernels.js';
import type { WorkerInit } from './platform.js';

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

/** Serves jobs until quit; call after posting "ready" to the parent. */
export function serveJobs(init: WorkerInit, kernels: KernelExports): void {
  const ctrl = new Int32Array(init.memory.buffer, init.ctrl, 16);
  let seen = Atomics.load(ctrl, CTRL_WAKE);
  for (;;) {
    // spin a bounded number of times (a job often follows soon: waking from Atomics.wait can
    // take milliseconds on a busy machine), then sleep until notified; the caller notifies only
    // when CTRL_SLEEPERS says someone sleeps, so register first (Atomics.wait re-checks the word)
    let spins = 0;
    while (Atomics.load(ctrl, CTRL_WAKE) === seen) {
      if (++spins > init.spins) {
        Atomics.add(ctrl, CTRL_SLEEPERS, 1);
        Atomics.wait(ctrl, CTRL_WAKE, seen);
        Atomics.sub(ctrl, CTRL_SLEEPERS, 1);
        spins = 0;
      }
    }
    if (Atomics.load(ctrl, CTRL_QUIT) !== 0) return;
    seen = Atomics.load(ctrl, CTRL_WAKE);
    kernels.run_job(init.ctrl, init.index);
  }
}
