// Publishes jobs to the workers and takes part in them (see kernels/jobs.ts for the protocol).
// The calling thread always runs chunks itself, so a job finishes even if no worker wakes up;
// waiting is a short spin, then Atomics.wait: it never spins without bound.
// Not here: chunk sizes (the backend chooses them per op).

import {
  CTRL_ARGS,
  CTRL_DONE,
  CTRL_OP,
  CTRL_QUIT,
  CTRL_TOTAL,
  CTRL_WAKE,
  type KernelExports,
} from './kernels.js';
import type { WorkerHandle } from './platform.js';

export class ThreadPool {
  /** int32 view of the control block */
  private readonly ctrlI32: Int32Array;
  /** argument slots, as int32 (pointers, sizes, flags) */
  readonly argI32: Int32Array;
  /** the same slots as float32 (scales, epsilons, learning rates) */
  readonly argF32: Float32Array;
  /** the same slots as float64 (index i = slots 2i, 2i+1) */
  readonly argF64: Float64Array;
  private disposed = false;

  constructor(
    private readonly kernels: KernelExports,
    memory: WebAssembly.Memory,
    private readonly ctrl: number,
    private readonly workers: WorkerHandle[],
    private readonly spin: number,
  ) {
    this.ctrlI32 = new Int32Array(memory.buffer, ctrl, CTRL_ARGS + 32);
    this.argI32 = new Int32Array(memory.buffer, ctrl + CTRL_ARGS * 4, 32);
    this.argF32 = new Float32Array(memory.buffer, ctrl + CTRL_ARGS * 4, 32);
    this.argF64 = new Float64Array(memory.buffer, ctrl + CTRL_ARGS * 4, 16);
  }

  /** Threads that take part in a job: the workers plus the caller. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs job `op` (arguments already written to argI32 / argF32) as `total` chunks.
   * parallel = false keeps it on the calling thread (too small to be worth a wake-up).
   */
  run(op: number, total: number, parallel: boolean): void {
    if (total <= 0) return;
    const c = this.ctrlI32;
    c[CTRL_OP] = op;
    c[CTRL_TOTAL] = total;
    this.kernels.job_publish(this.ctrl);
    if (parallel && total > 1 && this.workers.length > 0) {
      Atomics.add(c, CTRL_WAKE, 1);
      Atomics.notify(c, CTRL_WAKE);
    }
    this.kernels.run_job(this.ctrl);
    // wait for chunks that workers claimed but have not finished
    let spins = 0;
    for (;;) {
      const done = Atomics.load(c, CTRL_DONE);
      if (done === total) return;
      if (++spins >= this.spin) {
        Atomics.wait(c, CTRL_DONE, done, 100);
        spins = 0;
      }
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctrlI32, CTRL_QUIT, 1);
    Atomics.add(this.ctrlI32, CTRL_WAKE, 1);
    Atomics.notify(this.ctrlI32, CTRL_WAKE);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
