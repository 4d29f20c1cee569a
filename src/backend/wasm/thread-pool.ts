// Publishes jobs to the workers and takes part in them (see kernels/jobs.ts for the protocol).
// The calling thread always runs chunks itself, so a job finishes even if no worker wakes up;
// waiting is a spin bounded by a calibrated count, then Atomics.wait: it never spins without
// bound. Whether sharing pays is measured, not assumed: per class of job (op, chunks, size) the
// pool keeps the mean time with the workers and on the caller alone, shares unless that is
// measured slower, and tries the other way now and then. So when another process holds a core,
// the jobs that suffer go back to one thread (not below one thread's speed), and on a quiet
// machine every job that gains runs on all threads. Only those sampled runs read the clock (on
// Node 20 each performance.now() boxes a double on the JavaScript heap).
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

/** Job classes (op, chunks, size) whose timings are kept; a power of two. */
const CLASSES = 256;
/** Timed runs of each mode a class gets before its mode is chosen by the timings. */
const WARM = 3;
/** Occurrences of a class between two timed runs of its chosen mode (a power of two). */
const TIME_EVERY = 16;
/** Occurrences of a class between two timed runs of the other mode (a power of two). */
const EXPLORE_EVERY = 16;
/** A class runs alone only when sharing measured slower by this fraction. */
const MARGIN = 0.03;
/** Weight of a new timing in a class's moving average. */
const ALPHA = 0.3;
/** How a job runs: with the workers or on the caller alone, timed or not. */
const MODE_PAR = 0;
const MODE_SER = 1;
const MODE_PAR_TIMED = 2;
const MODE_SER_TIMED = 3;

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
  /** per job class: hash key (0 = free), occurrences, timed runs and mean ms of each mode */
  private readonly key = new Int32Array(CLASSES);
  private readonly seen = new Int32Array(CLASSES);
  private readonly nPar = new Int32Array(CLASSES);
  private readonly nSer = new Int32Array(CLASSES);
  private readonly tPar = new Float64Array(CLASSES);
  private readonly tSer = new Float64Array(CLASSES);
  /** 1 while a class runs on the caller alone because sharing measured slower */
  private readonly alone = new Uint8Array(CLASSES);
  /** how many times a class of job went over to the caller alone (for benchmarks and tests) */
  backoffs = 0;
  /**
   * parallel jobs run, their chunks, how many of those the calling thread ran itself, jobs
   * where the caller slept waiting for a worker's chunk, and parallelisable jobs run alone
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
   * (elements, multiply-adds) tells jobs of one op apart for the timings behind `choose`.
   */
  run(op: number, total: number, parallel: boolean, size = 0): void {
    if (total <= 0) return;
    const c = this.ctrlI32;
    c[CTRL_OP] = op;
    c[CTRL_TOTAL] = total;
    if (!parallel || total < 2 || this.workers.length === 0) {
      this.kernels.job_publish(this.ctrl);
      this.kernels.run_job(this.ctrl);
      this.finish(total, -1);
      return;
    }
    const k = this.classOf(op, total, size);
    const mode = k < 0 ? MODE_PAR : this.choose(k);
    const timed = mode === MODE_PAR_TIMED || mode === MODE_SER_TIMED;
    const t0 = timed ? performance.now() : 0;
    this.kernels.job_publish(this.ctrl);
    if (mode === MODE_SER || mode === MODE_SER_TIMED) {
      this.kernels.run_job(this.ctrl);
      this.finish(total, -1);
      this.stats.aloneJobs++;
      if (timed) this.record(k, false, performance.now() - t0);
      return;
    }
    Atomics.add(c, CTRL_WAKE, 1);
    // sleeping workers registered before they slept: none registered means none to notify
    if (Atomics.load(c, CTRL_SLEEPERS) !== 0) Atomics.notify(c, CTRL_WAKE);
    const mine = this.kernels.run_job(this.ctrl);
    this.finish(total, timed ? -2 : k);
    const s = this.stats;
    s.parallelJobs++;
    s.chunks += total;
    s.callerChunks += mine;
    if (timed) this.record(k, true, performance.now() - t0);
  }

  /** Slot of a job class in the timing tables (open addressing), or -1 when they are full. */
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
   * Picks how class k runs this time: each mode a few timed times first (alternating), then
   * shared unless that measured slower than alone by MARGIN; the chosen mode is timed now and
   * then, and the other one tried now and then, so a machine that got busier or quieter is seen.
   */
  private choose(k: number): number {
    const n = ++this.seen[k]!;
    const np = this.nPar[k]!;
    const ns = this.nSer[k]!;
    if (np < WARM || ns < WARM) return np <= ns ? MODE_PAR_TIMED : MODE_SER_TIMED;
    const useAlone = this.tPar[k]! > this.tSer[k]! * (1 + MARGIN);
    if (useAlone !== (this.alone[k] === 1)) {
      this.alone[k] = useAlone ? 1 : 0;
      if (useAlone) this.backoffs++;
    }
    if ((n & (EXPLORE_EVERY - 1)) === 0) return useAlone ? MODE_PAR_TIMED : MODE_SER_TIMED;
    if ((n & (TIME_EVERY - 1)) === TIME_EVERY >> 1) return useAlone ? MODE_SER_TIMED : MODE_PAR_TIMED;
    return useAlone ? MODE_SER : MODE_PAR;
  }

  private record(k: number, par: boolean, ms: number): void {
    if (par) {
      const n = this.nPar[k]!;
      // the first run may include compilation (V8 tiers wasm up between calls): replaced
      this.tPar[k] = n <= 1 ? ms : this.tPar[k]! + ALPHA * (ms - this.tPar[k]!);
      this.nPar[k] = n + 1;
    } else {
      const n = this.nSer[k]!;
      this.tSer[k] = n <= 1 ? ms : this.tSer[k]! + ALPHA * (ms - this.tSer[k]!);
      this.nSer[k] = n + 1;
    }
  }

  /**
   * Waits for chunks that workers claimed but have not finished, then closes the job. Even a job
   * the workers were not woken for: a worker still leaving the previous job may have claimed a
   * chunk of it, and its count must land in this job, not the next.
   */
  private finish(total: number, k: number): void {
    const c = this.ctrlI32;
    let spins = 0;
    while (Atomics.load(c, CTRL_DONE) !== total) {
      if (++spins > this.spinLimit) {
        this.sleepUntilDone(total, k);
        break;
      }
    }
    this.kernels.job_close(this.ctrl); // late claimers must not see the next job half-written
  }

  /**
   * The slow end of a job: a worker still holds a chunk after the spin; sleep until it is done.
   * k: -1 a job the workers were not woken for, -2 a timed shared job, else the class of an
   * untimed shared job, whose mean shared time takes the time slept (a worker descheduled
   * mid-chunk must count against sharing between timed runs too).
   */
  private sleepUntilDone(total: number, k: number): void {
    const c = this.ctrlI32;
    if (k !== -1) this.stats.stalls++;
    const t0 = k >= 0 ? performance.now() : 0;
    for (;;) {
      const done = Atomics.load(c, CTRL_DONE);
      if (done === total) break;
      // the last chunk's thread notifies (kernels/jobs.ts); the timeout only bounds a lost race
      if (this.canWait) Atomics.wait(c, CTRL_DONE, done, 1);
    }
    if (k >= 0 && this.nPar[k]! >= WARM) this.tPar[k] = this.tPar[k]! + ALPHA * (performance.now() - t0);
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
