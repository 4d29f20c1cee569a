// The work-sharing protocol between the calling thread and the workers, on a control block in
// shared memory. A job is (op, args, total chunks), cut into one contiguous range of chunks per
// thread: thread i owns [i*total/parts, (i+1)*total/parts), front to back, so consecutive jobs
// over the same rows run on the same core and find their data in its cache. A thread that has
// finished its own range steals chunks from the back of another's, so a late thread (descheduled,
// still asleep) holds the job back by one chunk at most. Each range is one 64-bit word
// (end << 32 | next) changed only by compare-and-swap: the owner takes `next`, a thief `end - 1`.
// Not here: how threads sleep and wake (JavaScript Atomics.wait / notify in src/backend/wasm),
// nor what a chunk does (dispatch.gen.ts, generated from job-table.mjs).
//
// Control block layout: abi.ts (header words, argument slots, then one 64-byte line per thread
// holding its range word at CTRL_RANGES).

import { CTRL_ARGS, CTRL_DONE, CTRL_OP, CTRL_RANGES, CTRL_THREADS, CTRL_TOTAL } from './abi';
import { JOB_COUNT, run_chunk } from './dispatch.gen';

// @ts-expect-error: decorator
@inline function rangeWord(ctrl: usize, t: i32): usize {
  return ctrl + CTRL_RANGES + (<usize>t << 6);
}

/**
 * Opens the job whose op, args and total were just written: the chunks are cut into `parts`
 * ranges, one for each of threads 0..parts-1 (parts = 1: the caller alone). Args are written
 * before any range is, so a thread that claims a chunk always sees the whole job. Returns 0 and
 * opens nothing when the op is not a job of the table (the host reports it), else 1.
 */
export function job_publish(ctrl: usize, parts: i32): i32 {
  const op = load<i32>(ctrl, CTRL_OP << 2);
  if (op < 1 || op > JOB_COUNT) return 0;
  const total = load<i32>(ctrl, CTRL_TOTAL << 2);
  const threads = load<i32>(ctrl, CTRL_THREADS << 2);
  atomic.store<i32>(ctrl, 0, CTRL_DONE << 2);
  for (let t = 0; t < threads; t++) {
    const lo = t < parts ? <i64>(<i64>total * t / parts) : 0;
    const hi = t < parts ? <i64>(<i64>total * (t + 1) / parts) : 0;
    atomic.store<i64>(rangeWord(ctrl, t), (hi << 32) | lo);
  }
  return 1;
}

/**
 * Ends the current job once every chunk is done: every range is emptied, so a thread that is
 * still looking for work (it read a range word before the job finished) cannot claim a chunk of
 * the *next* job while the caller is still writing that job's op, args and total. A stale
 * compare-and-swap fails against the emptied word; one that meets an equal word of the next job
 * claims a real, unclaimed chunk of it, whose args are complete by then.
 */
export function job_close(ctrl: usize): void {
  const threads = load<i32>(ctrl, CTRL_THREADS << 2);
  for (let t = 0; t < threads; t++) atomic.store<i64>(rangeWord(ctrl, t), 0);
}

/** Takes the next chunk of thread t's own range, or -1 when it is empty. */
function claimOwn(w: usize): i32 {
  while (true) {
    const v = atomic.load<i64>(w);
    const next = <i32>v;
    if (next >= <i32>(v >>> 32)) return -1;
    if (atomic.cmpxchg<i64>(w, v, v + 1) == v) return next;
  }
}

/** Takes the last chunk of another thread's range, or -1 when every range is empty. */
function steal(ctrl: usize, me: i32): i32 {
  const threads = load<i32>(ctrl, CTRL_THREADS << 2);
  for (let d = 1; d < threads; d++) {
    const w = rangeWord(ctrl, (me + d) % threads);
    while (true) {
      const v = atomic.load<i64>(w);
      const next = <i32>v;
      const end = <i32>(v >>> 32);
      if (next >= end) break;
      if (atomic.cmpxchg<i64>(w, v, v - (<i64>1 << 32)) == v) return end - 1;
    }
  }
  return -1;
}

/**
 * Runs chunks of the current job until none is left: its own range first, then stolen ones;
 * returns how many it ran. Called by every thread, `me` = 0 for the caller, 1.. for workers.
 */
export function run_job(ctrl: usize, me: i32): i32 {
  let ran = 0;
  const own = rangeWord(ctrl, me);
  while (true) {
    let chunk = claimOwn(own);
    if (chunk < 0) chunk = steal(ctrl, me);
    if (chunk < 0) return ran;
    ran++;
    // the job cannot finish before this chunk is counted, so op, args and total are stable
    const total = atomic.load<i32>(ctrl, CTRL_TOTAL << 2);
    run_chunk(ctrl + (CTRL_ARGS << 2), load<i32>(ctrl, CTRL_OP << 2), chunk, me);
    const done = ctrl + (CTRL_DONE << 2);
    if (atomic.add<i32>(done, 1) + 1 == total) atomic.notify(done, 1);
  }
}
