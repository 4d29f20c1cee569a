// Data parallelism, the idea of PyTorch's DistributedDataParallel on one machine: N ranks each
// hold a replica of the model and its optimizer, each takes its share of every batch (rows
// [rank*B/N, (rank+1)*B/N) of the same B windows), runs forward and backward on it, then the
// gradients are averaged over the ranks (an all-reduce over shared memory) and every rank takes
// the same AdamW step, so the replicas stay identical. This file is the rank's side and the
// shared-memory group (SharedArrayBuffer + Atomics, so a browser's workers could run it too);
// starting the ranks as threads is the Node adapter's (node-data-parallel.ts).
// Not here: the training step itself (compiled-step.ts takes a rank and calls it).
//
// The all-reduce, for N ranks and a gradient of n floats:
//   1. each rank copies its gradient into its own slot;                         barrier
//   2. rank r sums slice r (n/N floats) of every slot, in rank order, times 1/N,
//      into the result (a reduce-scatter: each float is added by one rank only); barrier
//   3. each rank copies the whole result back into its gradient (an all-gather).
// Every rank ends with the same bits, so the same AdamW step keeps the replicas identical.

import type { FloatArray } from '../backend/backend.js';
import { ConfigError, TsgptError } from '../errors.js';

/** What the training step asks of its rank in a data-parallel group. */
export interface DataParallelRank {
  readonly rank: number;
  readonly ranks: number;
  /** Rank 0 at the start of each optimizer step: wakes the other ranks to take step `step`. */
  beginStep(step: number): void;
  /**
   * After the backward: grad (this rank's, float32) and loss[0] (its mean micro-step loss)
   * become their means over the ranks, identical on every rank.
   */
  allReduce(grad: FloatArray, loss: Float64Array): void;
}

// ---- the shared buffer: control words, the losses, then the slots and the result ----

/**
 * int32 words: barrier arrivals, barrier generation, step go-counter, the step to take, quit,
 * a failed rank (rank + 1) and the byte length of its message, which follows in MESSAGE_BYTES
 */
const ARRIVED = 0;
const GENERATION = 1;
const GO = 2;
const STEP = 3;
const QUIT = 4;
const FAILED = 5;
const MESSAGE_LENGTH = 6;
const MESSAGE_AT = 64;
const MESSAGE_BYTES = 448;
const CONTROL_BYTES = MESSAGE_AT + MESSAGE_BYTES;

/** Byte layout of a group's buffer for `ranks` ranks and gradients of n floats. */
function layout(ranks: number, n: number) {
  const losses = CONTROL_BYTES; // f64 per rank
  const slots = losses + Math.ceil((ranks * 8) / 64) * 64;
  const slotBytes = Math.ceil((n * 4) / 64) * 64;
  const result = slots + ranks * slotBytes;
  return { losses, slots, slotBytes, result, bytes: result + slotBytes };
}

/**
 * The shared memory of a group of `ranks` ranks with gradients of n floats: make it once, hand
 * it to every rank (new SharedMemoryRank(buffer, rank, ranks, n)).
 */
export function groupBuffer(ranks: number, n: number): SharedArrayBuffer {
  if (!(Number.isInteger(ranks) && ranks >= 1))
    throw new ConfigError(`data parallel: ranks ${ranks} must be a positive integer`);
  return new SharedArrayBuffer(layout(ranks, n).bytes);
}

/** A group's shared memory and rank 0's end of it. */
export interface DataParallelGroup {
  readonly buffer: SharedArrayBuffer;
  readonly rank0: SharedMemoryRank;
}

/** A new group of `ranks` ranks for a model of n parameters. */
export function dataParallelGroup(ranks: number, n: number): DataParallelGroup {
  const buffer = groupBuffer(ranks, n);
  return { buffer, rank0: new SharedMemoryRank(buffer, 0, ranks, n) };
}

/** One rank of a group over a shared buffer (groupBuffer). */
export class SharedMemoryRank implements DataParallelRank {
  private readonly ctl: Int32Array;
  private readonly message: Uint8Array;
  private readonly losses: Float64Array;
  private readonly slots: Float32Array[];
  private readonly result: Float32Array;
  /** this rank's slice of the reduce-scatter: [lo, hi) */
  private readonly lo: number;
  private readonly hi: number;
  private readonly inv: number;

  constructor(
    buffer: SharedArrayBuffer,
    readonly rank: number,
    readonly ranks: number,
    readonly n: number,
  ) {
    const l = layout(ranks, n);
    if (buffer.byteLength !== l.bytes)
      throw new TsgptError(
        `data parallel: the group buffer has ${buffer.byteLength} bytes, ${ranks} ranks of ${n} floats need ${l.bytes}`,
      );
    if (!(Number.isInteger(rank) && rank >= 0 && rank < ranks))
      throw new TsgptError(`data parallel: rank ${rank} is not in [0, ${ranks})`);
    this.ctl = new Int32Array(buffer, 0, MESSAGE_AT / 4);
    this.message = new Uint8Array(buffer, MESSAGE_AT, MESSAGE_BYTES);
    this.losses = new Float64Array(buffer, l.losses, ranks);
    this.slots = Array.from(
      { length: ranks },
      (_, r) => new Float32Array(buffer, l.slots + r * l.slotBytes, n),
    );
    this.result = new Float32Array(buffer, l.result, n);
    const per = Math.ceil(n / ranks);
    this.lo = Math.min(n, rank * per);
    this.hi = Math.min(n, this.lo + per);
    this.inv = 1 / ranks;
  }

  beginStep(step: number): void {
    Atomics.store(this.ctl, STEP, step);
    Atomics.add(this.ctl, GO, 1);
    Atomics.notify(this.ctl, GO);
  }

  /**
   * The other ranks' side of beginStep: waits until rank 0 starts a step after the `seen`-th
   * and returns [the go count, the step], or null when the group is told to quit.
   */
  waitStep(seen: number): [number, number] | null {
    for (;;) {
      if (Atomics.load(this.ctl, QUIT) !== 0 || Atomics.load(this.ctl, FAILED) !== 0) return null;
      const go = Atomics.load(this.ctl, GO);
      if (go !== seen) return [go, Atomics.load(this.ctl, STEP)];
      Atomics.wait(this.ctl, GO, go, 1000);
    }
  }

  /**
   * Ends the group: every rank waiting in waitStep returns null, one waiting in a barrier (rank 0
   * stopped mid-step, e.g. on an error) throws.
   */
  quit(): void {
    Atomics.store(this.ctl, QUIT, 1);
    Atomics.add(this.ctl, GO, 1);
    Atomics.notify(this.ctl, GO);
    Atomics.add(this.ctl, GENERATION, 1);
    Atomics.notify(this.ctl, GENERATION);
  }

  allReduce(grad: FloatArray, loss: Float64Array): void {
    const n = this.n;
    if (grad.length !== n)
      throw new TsgptError(`data parallel: gradient of ${grad.length} floats, the group reduces ${n}`);
    this.slots[this.rank]!.set(grad);
    this.losses[this.rank] = loss[0]!;
    this.barrier();
    // reduce-scatter: this rank's slice, summed over the ranks in rank order, averaged
    const out = this.result;
    const first = this.slots[0]!;
    for (let i = this.lo; i < this.hi; i++) out[i] = first[i]!;
    for (let r = 1; r < this.ranks; r++) {
      const s = this.slots[r]!;
      for (let i = this.lo; i < this.hi; i++) out[i] += s[i]!;
    }
    for (let i = this.lo; i < this.hi; i++) out[i] *= this.inv;
    this.barrier();
    // all-gather: the whole mean back into this rank's gradient
    grad.set(out);
    let sum = 0;
    for (let r = 0; r < this.ranks; r++) sum += this.losses[r]!;
    loss[0] = sum / this.ranks;
    // the losses and result are rewritten only after every rank has read them
    this.barrier();
  }

  /**
   * A rank that cannot go on says why: every rank waiting on it (in a barrier or for a step)
   * stops with that message instead of waiting forever.
   */
  fail(why: string): void {
    const bytes = new TextEncoder().encode(why).subarray(0, MESSAGE_BYTES);
    if (Atomics.compareExchange(this.ctl, FAILED, 0, this.rank + 1) !== 0) return; // the first says it
    this.message.set(bytes);
    Atomics.store(this.ctl, MESSAGE_LENGTH, bytes.length);
    Atomics.add(this.ctl, GENERATION, 1);
    Atomics.notify(this.ctl, GENERATION);
    Atomics.add(this.ctl, GO, 1);
    Atomics.notify(this.ctl, GO);
  }

  /** The failed rank's message, or null while none has failed. */
  failure(): string | null {
    const who = Atomics.load(this.ctl, FAILED);
    if (who === 0) return null;
    const text = new TextDecoder().decode(this.message.slice(0, Atomics.load(this.ctl, MESSAGE_LENGTH)));
    return `rank ${who - 1}: ${text}`;
  }

  /** Waits until every rank has arrived (sense-reversing: the last one bumps the generation). */
  private barrier(): void {
    const gen = Atomics.load(this.ctl, GENERATION);
    if (Atomics.add(this.ctl, ARRIVED, 1) === this.ranks - 1) {
      Atomics.store(this.ctl, ARRIVED, 0);
      Atomics.add(this.ctl, GENERATION, 1);
      Atomics.notify(this.ctl, GENERATION);
      return;
    }
    for (;;) {
      if (Atomics.load(this.ctl, FAILED) !== 0)
        throw new TsgptError(`data parallel: ${this.failure()} (the other ranks stop too)`);
      if (Atomics.load(this.ctl, QUIT) !== 0) throw new TsgptError('data parallel: the group was stopped');
      if (Atomics.load(this.ctl, GENERATION) !== gen) return;
      Atomics.wait(this.ctl, GENERATION, gen, 1000);
    }
  }
}
