// Publishes jobs to the workers and takes part in them (see kernels/jobs.ts for the protocol).
// The calling thread always runs chunks itself, so a job finishes even if no worker wakes up;
// waiting is a spin bounded by a calibrated count, then Atomics.wait: it never spins without
// bound. The per-job path reads no clock (on Node 20 each performance.now() boxes a double on
// the JavaScript heap): every SAMPLE_EVERY-th parallel job, the jobs after a stall, and now and
// then a job run alone for reference, are timed to decide whether the workers pay off (adapt).
// Not here: chunk sizes (the backend chooses them per op).

import {
  CTRL_ARGS,
  CTRL_DONE,
  CTRL_OP,
  CTRL_QUIT,
  CTRL_SLEEPERS,
  CTRL_TOTAL,
  CTRL_WAKE,
  type KernelExports,
} from './kernels.js';
import type { WorkerHandle } from './platform.js';

/** Parallel jobs between two timed ones (a power of two). */
const SAMPLE_EVERY = 16;
/** Parallel jobs run on the caller alone after a back-off; doubled for each back-off in a row. */
const BACKOFF_JOBS = 200;
const BACKOFF_MAX = 1600;
/** Job classes (op, chunks, size) whose one-thread time is kept; a power of two. */
const CLASSES = 256;
/** Occurrences of a class between two timed runs alone (a power of two). */
const ALONE_EVERY = 32;

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
  /** parallel jobs left to run on the caller alone (see adapt) */
  private backoff = 0;
  /** length of the next back-off (doubles while back-offs follow each other) */
  private backoffLen = BACKOFF_JOBS;
  /** parallel jobs run with the workers since the last back-off ended */
  private sinceResume = 0;
  /** parallel jobs seen (for sampling) and timed jobs still owed after a stall */
  private jobCount = 0;
  private timeNext = 0;
  /** moving average of (one-thread estimate - elapsed) / one-thread estimate, timed jobs */
  private gain = 0;
  /** per job class: hash key (0 = free), occurrences, timed runs alone and their mean ms */
  private readonly key = new Int32Array(CLASSES);
  private readonly seen = new Int32Array(CLASSES);
  private readonly nSer = new Int32Array(CLASSES);
  private readonly tSer = new Float64Array(CLASSES);
  /** how many times the pool backed off to one thread (for benchmarks and tests) */
  backoffs = 0;
  /**
   * parallel jobs run, their chunks, how many of those the calling thread ran itself, jobs
   * where the caller slept waiting for a worker's chunk, and parallel jobs run alone during
   * back-offs
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
    this.ctrlI32 = new Int32Array(memory.buffer, ctrl, CTRL_ARGS + 32);
    this.argI32 = new Int32Array(memory.buffer, ctrl + CTRL_ARGS * 4, 32);
    this.argF32 = new Float32Array(memory.buffer, ctrl + CTRL_ARGS * 4, 32);
    this.argF64 = new Float64Array(memory.buffer, ctrl + CTRL_ARGS * 4, 16);
    this.spinLimit = spins;
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
   * parallel = false keeps it on the calling thread (too small to be worth a wake-up); `size`
   * (elements, multiply-adds) tells jobs of one op apart for the one-thread reference times.
   */
  run(op: number, total: number, parallel: boolean, size = 0): void {
    if (total <= 0) return;
    const c = this.ctrlI32;
    c[CTRL_OP] = op;
    c[CTRL_TOTAL] = total;
    if (!parallel || total < 2 || this.workers.length === 0) {
      this.kernels.job_publish(this.ctrl);
      this.kernels.run_job(this.ctrl);
      this.finish(total, false);
      return;
    }
    const k = this.classOf(op, total, size);
    const n = k < 0 ? 1 : ++this.seen[k]!;
    // alone: during a back-off, and now and then (timed) for the class's one-thread time
    const reference =
      k >= 0 && ((n > 2 && this.nSer[k]! < 2) || (n & (ALONE_EVERY - 1)) === ALONE_EVERY >> 1);
    if (this.backoff > 0 || reference) {
      const timed = reference || (k >= 0 && (n & (SAMPLE_EVERY - 1)) === 0);
      const t0 = timed ? performance.now() : 0;
      this.kernels.job_publish(this.ctrl);
      this.kernels.run_job(this.ctrl);
      this.finish(total, false);
      if (this.backoff > 0) {
        this.backoff--;
        this.stats.aloneJobs++;
      }
      if (timed) {
        const ms = performance.now() - t0;
        const m = this.nSer[k]!;
        // the first run may include compilation (V8 tiers wasm up between calls): replaced
        this.tSer[k] = m <= 1 ? ms : this.tSer[k]! + 0.3 * (ms - this.tSer[k]!);
        this.nSer[k] = m + 1;
      }
      return;
    }
    this.kernels.job_publish(this.ctrl);
    Atomics.add(c, CTRL_WAKE, 1);
    // sleeping workers registered before they slept: none registered means none to notify
    if (Atomics.load(c, CTRL_SLEEPERS) !== 0) Atomics.notify(c, CTRL_WAKE);
    let timed = (++this.jobCount & (SAMPLE_EVERY - 1)) === 0;
    if (this.timeNext > 0) {
      this.timeNext--;
      timed = true;
    }
    const t0 = timed ? performance.now() : 0;
    const mine = this.kernels.run_job(this.ctrl);
    const t1 = timed ? performance.now() : 0;
    this.finish(total, true);
    const s = this.stats;
    s.parallelJobs++;
    s.chunks += total;
    s.callerChunks += mine;
    this.sinceResume++;
    if (timed)
      this.adapt(
        t1 - t0,
        performance.now() - t0,
        mine,
        total,
        k >= 0 && this.nSer[k]! >= 2 ? this.tSer[k]! : 0,
      );
  }

  /** Slot of a job class in the reference table (open addressing), or -1 when it is full. */
  private classOf(op: number, total: number, size: number): number {
    let h = Math.imul(op + 1, 0x9e3779b1) ^ Math.imul(total, 0x85ebca77) ^ Math.imul(size | 0, 0xc2b2ae3d);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d) | 1; // never 0, the free mark
    for (let i = 0; i < 8; i++) {
      const slot = (h + i) & (CLASSES - 1);
      const kk = this.key[slot]!;
      if (kk === h) return slot;
      if (kk === 0) {
        this.key[slot] = h;
        return slot;
      }
    }
    return -1;
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
    if (shared) {
      this.stats.stalls++;
      // look closely at the next jobs: a worker that keeps the caller waiting may be descheduled
      this.timeNext = SAMPLE_EVERY;
    }
    for (;;) {
      const done = Atomics.load(c, CTRL_DONE);
      if (done === total) return;
      // the last chunk's thread notifies (kernels/jobs.ts); the timeout only bounds a lost race
      if (this.canWait) Atomics.wait(c, CTRL_DONE, done, 1);
    }
  }

  /**
   * Adapts to a busy machine. What a timed job would have taken on one thread is its class's
   * mean time alone (measured now and then), else the caller's own pace (worked * total / mine:
   * too high when the caller itself loses its core to our worker); the gain of sharing is that
   * minus the real time. A worker descheduled mid-chunk (another process holds its core) makes
   * the caller wait and the gain negative. While a moving average of the relative gain is below zero, the next
   * parallel jobs run on the caller alone (BACKOFF_JOBS, doubling while back-offs follow one
   * another), then the workers are tried again, so two threads do not fall below one thread's
   * speed for long, and a quiet machine is not kept on one thread.
   */
  private adapt(worked: number, elapsed: number, mine: number, total: number, reference: number): void {
    // a job the workers did not touch cost only a notify: it says nothing about them
    if (mine === total || mine === 0 || worked <= 0) return;
    const alone = reference > 0 ? reference : (worked * total) / mine;
    this.gain = 0.8 * this.gain + (0.2 * (alone - elapsed)) / alone;
    if (this.gain < -0.05) {
      this.backoffLen =
        this.sinceResume < 4 * SAMPLE_EVERY ? Math.min(BACKOFF_MAX, this.backoffLen * 2) : BACKOFF_JOBS;
      this.backoff = this.backoffLen;
      this.gain = 0;
      this.sinceResume = 0;
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
