// The work-sharing protocol between the calling thread and the workers, on a control block in
// shared memory. A job is (op, args, total chunks), cut into one contiguous range of chunks per
// thread: thread i owns [i*total/parts, (i+1)*total/parts), front to back, so consecutive jobs
// over the same rows run on the same core and find their data in its cache. A thread that has
// finished its own range steals chunks from the back of another's, so a late thread (descheduled,
// still asleep) holds the job back by one chunk at most. Each range is one 64-bit word
// (end << 32 | next) changed only by compare-and-swap: the owner takes `next`, a thief `end - 1`.
// Not here: how threads sleep and wake (JavaScript Atomics.wait / notify in src/backend/wasm).
//
// Control block layout (bytes): 0 i32 threads, 8 i32 done, 12 i32 total, 16 i32 op, 20 i32 wake
// sequence (JS), 24 i32 quit (JS), 28 i32 sleeping workers (JS), 64.. 32 arg slots, then one
// 64-byte line per thread holding its range word (CTRL_RANGES; MAX_THREADS lines).

import {
  CTRL_BYTES,
  CTRL_RANGES,
  OP_ADAMW,
  OP_ADD_BIAS,
  OP_ATTENTION_BWD,
  OP_ATTENTION_FWD,
  OP_BIAS_BWD,
  OP_BINARY_ROW,
  OP_BINARY_SAME,
  OP_CROSSENTROPY_BWD,
  OP_CROSSENTROPY_FWD,
  OP_DROPOUT,
  OP_EMBEDDING_BWD,
  OP_EMBEDDING_FWD,
  OP_FILL,
  OP_LAYERNORM_BWD,
  OP_LAYERNORM_FWD,
  OP_MATMUL,
  OP_PACK_A,
  OP_PACK_B,
  OP_SCALE,
  OP_SOFTMAX_BWD,
  OP_SOFTMAX_FWD,
  OP_SUM_SQUARES,
  OP_UNARY_BWD,
  OP_UNARY_FWD,
} from '../src/backend/wasm/job-ops';
import {adamw_f32, 
  add_bias, bias_backward, binary_row, binary_same, dropout_fwd, fill_u32, scale_f32,
  sum_squares, unary_bwd, unary_fwd,
} from './elementwise';
import {
  attention_bwd, attention_fwd, crossentropy_bwd, crossentropy_fwd, embedding_bwd, embedding_fwd,
  layernorm_bwd_dw, layernorm_bwd_dx, layernorm_fwd, softmax_bwd, softmax_fwd,
} from './layers';
import { matmul_rows, pack_a_tile, pack_b_panel } from './matmul';

export { CTRL_BYTES };


// @ts-expect-error: decorator
@inline function ai(ctrl: usize, i: i32): i32 {
  return load<i32>(ctrl + 64 + (<usize>i << 2));
}
// @ts-expect-error: decorator
@inline function au(ctrl: usize, i: i32): usize {
  return <usize>load<u32>(ctrl + 64 + (<usize>i << 2));
}
// @ts-expect-error: decorator
@inline function af(ctrl: usize, i: i32): f32 {
  return load<f32>(ctrl + 64 + (<usize>i << 2));
}

// @ts-expect-error: decorator
@inline function rangeWord(ctrl: usize, t: i32): usize {
  return ctrl + CTRL_RANGES + (<usize>t << 6);
}

/**
 * Opens the job whose op, args and total were just written: the chunks are cut into `parts`
 * ranges, one for each of threads 0..parts-1 (parts = 1: the caller alone). Args are written
 * before any range is, so a thread that claims a chunk always sees the whole job.
 */
export function job_publish(ctrl: usize, parts: i32): void {
  const total = load<i32>(ctrl, 12);
  const threads = load<i32>(ctrl);
  atomic.store<i32>(ctrl + 8, 0);
  for (let t = 0; t < threads; t++) {
    const lo = t < parts ? <i64>(<i64>total * t / parts) : 0;
    const hi = t < parts ? <i64>(<i64>total * (t + 1) / parts) : 0;
    atomic.store<i64>(rangeWord(ctrl, t), (hi << 32) | lo);
  }
}

/**
 * Ends the current job once every chunk is done: every range is emptied, so a thread that is
 * still looking for work (it read a range word before the job finished) cannot claim a chunk of
 * the *next* job while the caller is still writing that job's op, args and total. A stale
 * compare-and-swap fails against the emptied word; one that meets an equal word of the next job
 * claims a real, unclaimed chunk of it, whose args are complete by then.
 */
export function job_close(ctrl: usize): void {
  const threads = load<i32>(ctrl);
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
  const threads = load<i32>(ctrl);
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
    const total = atomic.load<i32>(ctrl, 12);
    run_chunk(ctrl, load<i32>(ctrl, 16), chunk, me);
    if (atomic.add<i32>(ctrl + 8, 1) + 1 == total) atomic.notify(ctrl + 8, 1);
  }
}

/** [i0, i1) of chunk ch when n items are cut into pieces of `per`. */
// @ts-expect-error: decorator
@inline function lo(ch: i32, per: i32): i32 {
  return ch * per;
}
// @ts-expect-error: decorator
@inline function hi(ch: i32, per: i32, n: i32): i32 {
  const e = ch * per + per;
  return e < n ? e : n;
}

function run_chunk(x: usize, op: i32, ch: i32, me: i32): void {
  switch (op) {
    case OP_PACK_B: {
      // dst, b, k, n, sk, sn, bStrideBytes, packedStrideBytes, npanels
      const np = ai(x, 8);
      const bi = ch / np, p = ch % np;
      pack_b_panel(au(x, 0) + <usize>bi * au(x, 7), au(x, 1) + <usize>bi * au(x, 6), ai(x, 2), ai(x, 3), ai(x, 4), ai(x, 5), p);
      break;
    }
    case OP_MATMUL: {
      // c, a, bp, m, k, n, aLayout, accumulate, aStrideBytes, bpStrideBytes, rowsPerChunk,
      // chunksPerBatch, srcA, srcAStrideBytes, panelsPerChunk, colChunks: a chunk is a block of
      // rows x panels (colChunks column blocks per row block). srcA != 0 (a transposed A, one per
      // product, rows split only) means each chunk first packs the 4-row tiles of its own rows
      // into a (rowsPerChunk % 4 == 0)
      const m = ai(x, 3), k = ai(x, 4), n = ai(x, 5);
      const cpb = ai(x, 11), rpc = ai(x, 10), ppc = ai(x, 14), cc = ai(x, 15);
      const bi = ch / cpb;
      const rb = (ch % cpb) / cc, cb = (ch % cpb) % cc;
      const r0 = rb * rpc;
      const r1 = r0 + rpc < m ? r0 + rpc : m;
      const np = (n + 7) >> 3;
      const q0 = cb * ppc;
      const q1 = q0 + ppc < np ? q0 + ppc : np;
      const c = au(x, 0) + ((<usize>bi * <usize>m * <usize>n) << 2);
      const a = au(x, 1) + <usize>bi * au(x, 8);
      const src = au(x, 12);
      if (src != 0) {
        const t1 = (r1 + 3) >> 2;
        const s = src + <usize>bi * au(x, 13);
        for (let t = r0 >> 2; t < t1; t++) pack_a_tile(a, s, m, k, t);
      }
      matmul_rows(c, a, au(x, 2) + <usize>bi * au(x, 9), m, k, n, ai(x, 6), ai(x, 7) != 0, r0, r1, q0, q1);
      break;
    }
    case OP_PACK_A: {
      // dst, a, m, k, aStrideBytes, packedStrideBytes, tiles
      const nt = ai(x, 6);
      const bi = ch / nt;
      pack_a_tile(au(x, 0) + <usize>bi * au(x, 5), au(x, 1) + <usize>bi * au(x, 4), ai(x, 2), ai(x, 3), ch % nt);
      break;
    }
    case OP_UNARY_FWD: // op, out, x, n, per
      unary_fwd(ai(x, 0), au(x, 1), au(x, 2), lo(ch, ai(x, 4)), hi(ch, ai(x, 4), ai(x, 3)));
      break;
    case OP_UNARY_BWD: // op, dx, x, y, dout, n, per
      unary_bwd(ai(x, 0), au(x, 1), au(x, 2), au(x, 3), au(x, 4), lo(ch, ai(x, 6)), hi(ch, ai(x, 6), ai(x, 5)));
      break;
    case OP_BINARY_SAME: // op, out, a, b, n, per
      binary_same(ai(x, 0), au(x, 1), au(x, 2), au(x, 3), lo(ch, ai(x, 5)), hi(ch, ai(x, 5), ai(x, 4)));
      break;
    case OP_BINARY_ROW: // op, out, a, b, c, bIsRow, rows, per
      binary_row(ai(x, 0), au(x, 1), au(x, 2), au(x, 3), ai(x, 4), ai(x, 5) != 0, lo(ch, ai(x, 7)), hi(ch, ai(x, 7), ai(x, 6)));
      break;
    case OP_SCALE: // out, x, s, acc, n, per
      scale_f32(au(x, 0), au(x, 1), af(x, 2), ai(x, 3) != 0, lo(ch, ai(x, 5)), hi(ch, ai(x, 5), ai(x, 4)));
      break;
    case OP_LAYERNORM_FWD: // out, mean, rstd, x, w, b, c, eps, n, per
      layernorm_fwd(au(x, 0), au(x, 1), au(x, 2), au(x, 3), au(x, 4), au(x, 5), ai(x, 6), af(x, 7), lo(ch, ai(x, 9)), hi(ch, ai(x, 9), ai(x, 8)));
      break;
    case OP_SOFTMAX_FWD: // out, x, c, n, per
      softmax_fwd(au(x, 0), au(x, 1), ai(x, 2), lo(ch, ai(x, 4)), hi(ch, ai(x, 4), ai(x, 3)));
      break;
    case OP_SOFTMAX_BWD: // dx, dout, y, c, n, per
      softmax_bwd(au(x, 0), au(x, 1), au(x, 2), ai(x, 3), lo(ch, ai(x, 5)), hi(ch, ai(x, 5), ai(x, 4)));
      break;
    case OP_CROSSENTROPY_FWD: // losses, logits, targets, v, n, per
      crossentropy_fwd(au(x, 0), au(x, 1), au(x, 2), ai(x, 3), lo(ch, ai(x, 5)), hi(ch, ai(x, 5), ai(x, 4)));
      break;
    case OP_CROSSENTROPY_BWD: // dlogits, logits, targets, dlosses, v, n, per
      crossentropy_bwd(au(x, 0), au(x, 1), au(x, 2), au(x, 3), ai(x, 4), lo(ch, ai(x, 6)), hi(ch, ai(x, 6), ai(x, 5)));
      break;
    case OP_EMBEDDING_FWD: // out, table, ids, c, n, per
      embedding_fwd(au(x, 0), au(x, 1), au(x, 2), ai(x, 3), lo(ch, ai(x, 5)), hi(ch, ai(x, 5), ai(x, 4)));
      break;
    case OP_DROPOUT: // out, mask, x, seed, thr, n, per, -, keepScale (f64 in slots 8-9)
      dropout_fwd(au(x, 0), au(x, 1), au(x, 2), ai(x, 3), <u32>ai(x, 4), load<f64>(x + 64 + 32), lo(ch, ai(x, 6)), hi(ch, ai(x, 6), ai(x, 5)));
      break;
    case OP_ADAMW: // param, grad, m, v, lr, b1, b2, eps, wd, bc1, bc2, gradScale, n, per
      adamw_f32(
        au(x, 0), au(x, 1), au(x, 2), au(x, 3),
        af(x, 4), af(x, 5), af(x, 6), af(x, 7), af(x, 8), af(x, 9), af(x, 10), af(x, 11),
        lo(ch, ai(x, 13)), hi(ch, ai(x, 13), ai(x, 12)),
      );
      break;
    // chunk = batch * NH + head: each thread's range is whole sequences, the rows its share of
    // the qkv matmul wrote, and concurrent chunks write different rows
    case OP_ATTENTION_FWD: // out, att, qkv, t, c, nh, scale, scratch, scratchBytesPerThread
      attention_fwd(au(x, 0), au(x, 1), au(x, 2), ai(x, 3), ai(x, 4), ai(x, 5), af(x, 6), ch, au(x, 7) + <usize>me * au(x, 8));
      break;
    case OP_ATTENTION_BWD: // dqkv, datt, dout, qkv, att, t, c, nh, scale, scratch, scratchBytesPerThread
      attention_bwd(au(x, 0), au(x, 1), au(x, 2), au(x, 3), au(x, 4), ai(x, 5), ai(x, 6), ai(x, 7), af(x, 8), ch, au(x, 9) + <usize>me * au(x, 10));
      break;
    case OP_ADD_BIAS: // out, bias, oc, n, per
      add_bias(au(x, 0), au(x, 1), ai(x, 2), lo(ch, ai(x, 4)), hi(ch, ai(x, 4), ai(x, 3)));
      break;
    case OP_FILL: // out, bits, n, per
      fill_u32(au(x, 0), <u32>ai(x, 1), lo(ch, ai(x, 3)), hi(ch, ai(x, 3), ai(x, 2)));
      break;
    case OP_LAYERNORM_BWD: {
      // dx, dw, db, dout, x, w, mean, rstd, c, n, rowsPerChunk, rowChunks, colsPerChunk:
      // chunks [0, rowChunks) are row blocks of dx, the rest column blocks of dw and db
      const c = ai(x, 8), n = ai(x, 9), rc = ai(x, 11);
      if (ch < rc) {
        const rpc = ai(x, 10);
        layernorm_bwd_dx(au(x, 0), au(x, 3), au(x, 4), au(x, 5), au(x, 6), au(x, 7), c, lo(ch, rpc), hi(ch, rpc, n));
      } else {
        const cpc = ai(x, 12);
        layernorm_bwd_dw(au(x, 1), au(x, 2), au(x, 3), au(x, 4), au(x, 6), au(x, 7), c, n, lo(ch - rc, cpc), hi(ch - rc, cpc, c));
      }
      break;
    }
    case OP_BIAS_BWD: // dbias, dout, n, oc, colsPerChunk
      bias_backward(au(x, 0), au(x, 1), ai(x, 2), ai(x, 3), lo(ch, ai(x, 4)), hi(ch, ai(x, 4), ai(x, 3)));
      break;
    case OP_EMBEDDING_BWD: // dtable, dout, ids, n, c, colsPerChunk
      embedding_bwd(au(x, 0), au(x, 1), au(x, 2), ai(x, 3), ai(x, 4), lo(ch, ai(x, 5)), hi(ch, ai(x, 5), ai(x, 4)));
      break;
    case OP_SUM_SQUARES: // partials (f64 per chunk), x, n, per
      store<f64>(au(x, 0) + (<usize>ch << 3), sum_squares(au(x, 1), lo(ch, ai(x, 3)), hi(ch, ai(x, 3), ai(x, 2))));
      break;
    default:
      break;
  }
}
