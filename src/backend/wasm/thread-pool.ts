// Publishes jobs to the workers and takes part in them (kernels/jobs.ts has the protocol; the jobs'
// arguments are written by jobs.gen.ts into the slots this pool's views cover).
// The calling thread always runs chunks itself, so a job finishes even if no worker wakes up;
// waiting is a spin bounded by a calibrated count, then Atomics.wait: it never spins without
// bound. The pool reads no clock and allocates nothing per job.
// Not here: chunk sizes (the backend chooses them per op), or whether sharing pays on a busy
// machine (src/train/thread-governor.ts times whole steps and switches useWorkers).

import { TsgptError } from '../../errors.js';
import { JOB_COUNT } from './jobs.gen.js';
import {
  ARG_SLOTS,
  CTRL_ARGS,
  CTRL_DONE,
  CTRL_OP,
  CTRL_QUIT,
  CTRL_SLEEPERS,
  CTRL_THREADS,
  CTRL_TOTAL,
  CTRL_WAKE,
} from './kernels/abi.js';
import type { KernelExports } from './kernels.js';
import type { WorkerHandle } from './platform.js';

/**
 * Iterations of a wait loop (an Atomics.load and a compare) per millisecond on this machine:
 * the best of several tries, since a busy core or the baseline compiler only slows it.
 */
export function spinsPerMs(word: Int32Array): number {
  let best = 0;
  let sink = 0;
  for (let t = 0; t < 12; t++) {
    const n = 50_000;
    const t0 = performance.now();
    let i = 0;
    while (Atomics.load(word, 0) !== -12345 && ++i < n) sink ^= i;
    const dt = performance.now() - t0;
    if (dt > 0) best = Math.max(best, n / dt);
  }
  return sink === -1 ? 0 : Math.max(1000, Math.floor(best));
}

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
  /** wait-loop iterations before the caller sleeps (about spinMs) */
  private readonly spinLimit: number;
  /**
   * false: parallel jobs run on the calling thread alone and the workers sleep (set by whoever
   * measured that sharing does not pay right now, e.g. another process holds a core)
   */
  useWorkers = true;
  /**
   * parallel jobs run with the workers, their chunks, how many of those the calling thread ran
   * itself, jobs where the caller slept waiting for a worker's chunk, and parallel jobs run
   * alone because useWorkers was off
   */
  readonly stats = { parallelJobs: 0, chunks: 0, callerChunks: 0, stalls: 0, aloneJobs: 0 };

  constructor(
    private readonly kernels: KernelExports,
    memory: WebAssembly.Memory,
    private readonly ctrl: number,
    private readonly workers: WorkerHandle[],
    /** wait-loop iterations a waiting thread spins before it sleeps */
    spins: number,
  ) {
    this.ctrlI32 = new Int32Array(memory.buffer, ctrl, CTRL_ARGS + ARG_SLOTS);
    this.argI32 = new Int32Array(memory.buffer, ctrl + CTRL_ARGS * 4, ARG_SLOTS);
    this.argF32 = new Float32Array(memory.buffer, ctrl + CTRL_ARGS * 4, ARG_SLOTS);
    this.argF64 = new Float64Array(memory.buffer, ctrl + CTRL_ARGS * 4, ARG_SLOTS / 2);
    this.spinLimit = spins;
    this.ctrlI32[CTRL_THREADS] = workers.length + 1;
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
   * Runs job `op` (arguments already written to argI32 / argF32 / argF64, by jobs.gen.ts) as
   * `total` chunks. parallel = false keeps it on the calling thread (too small to be worth a
   * wake-up). An op the kernels do not know is an error before any thread sees the job.
   */
  run(op: number, total: number, parallel: boolean): void {
    if (total <= 0) return;
    const c = this.ctrlI32;
    c[CTRL_OP] = op;
    c[CTRL_TOTAL] = total;
    if (!parallel || total < 2 || this.workers.length === 0 || !this.useWorkers) {
      if (parallel && total >= 2 && this.workers.length > 0) this.stats.aloneJobs++;
      if (this.kernels.job_publish(this.ctrl, 1) === 0) throw unknownOp(op);
      this.kernels.run_job(this.ctrl, 0);
      this.finish(total, false);
      return;
    }
    if (this.kernels.job_publish(this.ctrl, this.workers.length + 1) === 0) throw unknownOp(op);
    Atomics.add(c, CTRL_WAKE, 1);
    // sleeping workers registered before they slept: none registered means none to notify
    if (Atomics.load(c, CTRL_SLEEPERS) !== 0) Atomics.notify(c, CTRL_WAKE);
    const mine = this.kernels.run_job(this.ctrl, 0);
    this.finish(total, true);
    const s = this.stats;
    s.parallelJobs++;
    s.chunks += total;
    s.callerChunks += mine;
  }

  /**
   * Waits for chunks that workers claimed but have not finished, then closes the job. Even a job
   * the workers were not woken for: a worker still leaving the previous job may have claimed a
   * chunk of it, and its count must land in this job, not the next.
   */
  private finish(total: number, shared: boolean): void {
    const c = this.ctrlI32;
    let spins = 0;
    while (Atomics.load(c, CTRL_DONE) !== total) {
      if (++spins > this.spinLimit) {
        this.sleepUntilDone(total, shared);
        break;
      }
    }
    this.kernels.job_close(this.ctrl); // late claimers must not see the next job half-written
  }

  /** The slow end of a job: a worker still holds a chunk after the spin; sleep until it is done. */
  private sleepUntilDone(total: number, shared: boolean): void {
    const c = this.ctrlI32;
    if (shared) this.stats.stalls++;
    for (;;) {
      const done = Atomics.load(c, CTRL_DONE);
      if (done === total) return;
      // the last chunk's thread notifies (kernels/jobs.ts); the timeout only bounds a lost race
      if (this.canWait) Atomics.wait(c, CTRL_DONE, done, 1);
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

function unknownOp(op: number): TsgptError {
  return new TsgptError(`wasm backend: job op ${op} is not a job of the kernels (1..${JOB_COUNT})`);
}
