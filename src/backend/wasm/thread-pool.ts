// Publishes jobs to the workers and takes part in them (see kernels/jobs.ts for the protocol).
// The calling thread always runs chunks itself, so a job finishes even if no worker wakes up;
// waiting is a spin bounded in time, then Atomics.wait: it never spins without bound.
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

/** Parallel jobs run single-threaded after the workers were seen to stall the caller. */
const BACKOFF_JOBS = 200;

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
  private readonly canWait: boolean;
  /** parallel jobs left to run on the caller alone (see adapt) */
  private backoff = 0;
  /** moving average of (one-thread estimate - elapsed) / one-thread estimate, parallel jobs */
  private gain = 0;
  /** how many times the pool backed off to one thread (for benchmarks and tests) */
  backoffs = 0;
  /** parallel jobs run, their chunks, and how many of those the calling thread ran itself */
  readonly stats = { parallelJobs: 0, chunks: 0, callerChunks: 0 };

  constructor(
    private readonly kernels: KernelExports,
    memory: WebAssembly.Memory,
    private readonly ctrl: number,
    private readonly workers: WorkerHandle[],
    /** milliseconds the caller spins for workers' chunks before sleeping */
    private readonly spinMs: number,
  ) {
    this.ctrlI32 = new Int32Array(memory.buffer, ctrl, CTRL_ARGS + 32);
    this.argI32 = new Int32Array(memory.buffer, ctrl + CTRL_ARGS * 4, 32);
    this.argF32 = new Float32Array(memory.buffer, ctrl + CTRL_ARGS * 4, 32);
    this.argF64 = new Float64Array(memory.buffer, ctrl + CTRL_ARGS * 4, 16);
    // a browser's main thread may not block: Atomics.wait throws there (even on a value that
    // does not match), so the caller only spins; waits are bounded by one chunk anyway
    try {
      Atomics.wait(this.ctrlI32, CTRL_QUIT, -1, 0);
      this.canWait = true;
    } catch {
      this.canWait = false;
    }
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
    const wake = parallel && total > 1 && this.workers.length > 0 && this.backoff === 0;
    if (this.backoff > 0 && parallel) this.backoff--;
    if (wake) {
      Atomics.add(c, CTRL_WAKE, 1);
      Atomics.notify(c, CTRL_WAKE);
    }
    const t0 = wake ? performance.now() : 0;
    const mine = this.kernels.run_job(this.ctrl);
    const t1 = wake ? performance.now() : 0;
    // wait for chunks that workers claimed but have not finished
    let spins = 0;
    for (;;) {
      const done = Atomics.load(c, CTRL_DONE);
      if (done === total) break;
      if ((++spins & 255) === 0 && this.canWait && performance.now() - t1 > this.spinMs) {
        Atomics.wait(c, CTRL_DONE, done, 100);
      }
    }
    this.kernels.job_close(this.ctrl); // late claimers must not see the next job half-written
    if (wake) this.adapt(t1 - t0, performance.now() - t0, mine, total);
  }

  /**
   * Adapts to a busy machine. The caller's own pace estimates what the job would have taken on
   * one thread (worked * total / mine); the gain of sharing is that minus the real time. A
   * worker descheduled mid-chunk (another process holds its core) makes the caller wait and the
   * gain negative. While a moving average of the relative gain is below zero, the next
   * BACKOFF_JOBS parallel jobs run on the caller alone, then workers are tried again, so two
   * threads do not fall below one thread's speed for long.
   */
  private adapt(worked: number, elapsed: number, mine: number, total: number): void {
    this.stats.parallelJobs++;
    this.stats.chunks += total;
    this.stats.callerChunks += mine;
    if (mine === 0 || worked <= 0) return;
    const alone = (worked * total) / mine;
    this.gain = 0.8 * this.gain + (0.2 * (alone - elapsed)) / alone;
    if (this.gain < -0.05) {
      this.backoff = BACKOFF_JOBS;
      this.gain = 0;
      this.backoffs++;
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
