// One chunk of each job that is more than "a kernel over a range of items": the matmul and its
// packing steps, layernorm's and rmsnorm's backward, attention, sum of squares. dispatch.gen.ts calls them with
// their arguments by name (job-table.mjs); `ch` is the chunk's index, `me` the running thread.
// Not here: the math (matmul.ts, layers.ts, elementwise.ts) or how chunks reach threads (jobs.ts).

import { sum_squares } from './elementwise';
import { attention_bwd, attention_fwd, layernorm_bwd_dw, layernorm_bwd_dx, masked_attention_bwd, masked_attention_fwd } from './layers';
import { matmul_rows, pack_a_tile, pack_b_panel } from './matmul';
import { rmsnorm_bwd_dw, rmsnorm_bwd_dx } from './variants';

/** Panel ch % panels of product ch / panels. */
export function pack_b_chunk(ch: i32, dst: usize, b: usize, k: i32, n: i32, sk: i32, sn: i32, bStrideBytes: usize, packedStrideBytes: usize, panels: i32): void {
  const bi = ch / panels;
  pack_b_panel(dst + <usize>bi * packedStrideBytes, b + <usize>bi * bStrideBytes, k, n, sk, sn, ch % panels);
}

/** Tile ch % tiles of product ch / tiles. */
export function pack_a_chunk(ch: i32, dst: usize, a: usize, m: i32, k: i32, aStrideBytes: usize, packedStrideBytes: usize, tiles: i32): void {
  const bi = ch / tiles;
  pack_a_tile(dst + <usize>bi * packedStrideBytes, a + <usize>bi * aStrideBytes, m, k, ch % tiles);
}

/**
 * A block of rows x panels of one product (colChunks column blocks per row block). srcA != 0 (a
 * transposed A, one per product, rows split only) means the chunk first packs the 4-row tiles
 * of its own rows into a (rowsPerChunk % 4 == 0).
 */
export function matmul_chunk(
  ch: i32, c: usize, a: usize, bp: usize, m: i32, k: i32, n: i32, aLayout: i32, accumulate: bool,
  aStrideBytes: usize, bpStrideBytes: usize, rowsPerChunk: i32, chunksPerBatch: i32, srcA: usize,
  srcAStrideBytes: usize, panelsPerChunk: i32, colChunks: i32,
): void {
  const bi = ch / chunksPerBatch;
  const rb = (ch % chunksPerBatch) / colChunks, cb = (ch % chunksPerBatch) % colChunks;
  const r0 = rb * rowsPerChunk;
  const r1 = r0 + rowsPerChunk < m ? r0 + rowsPerChunk : m;
  const np = (n + 7) >> 3;
  const q0 = cb * panelsPerChunk;
  const q1 = q0 + panelsPerChunk < np ? q0 + panelsPerChunk : np;
  const cb0 = c + ((<usize>bi * <usize>m * <usize>n) << 2);
  const ab = a + <usize>bi * aStrideBytes;
  if (srcA != 0) {
    const t1 = (r1 + 3) >> 2;
    const s = srcA + <usize>bi * srcAStrideBytes;
    for (let t = r0 >> 2; t < t1; t++) pack_a_tile(ab, s, m, k, t);
  }
  matmul_rows(cb0, ab, bp + <usize>bi * bpStrideBytes, m, k, n, aLayout, accumulate, r0, r1, q0, q1);
}

/** Chunks [0, rowChunks) are row blocks of dx, the rest column blocks of dw and db. */
export function layernorm_bwd_chunk(
  ch: i32, dx: usize, dw: usize, db: usize, dout: usize, x: usize, w: usize, meanp: usize, rstdp: usize,
  c: i32, n: i32, rowsPerChunk: i32, rowChunks: i32, colsPerChunk: i32,
): void {
  if (ch < rowChunks) {
    const r0 = ch * rowsPerChunk;
    const r1 = r0 + rowsPerChunk < n ? r0 + rowsPerChunk : n;
    layernorm_bwd_dx(dx, dout, x, w, meanp, rstdp, c, r0, r1);
  } else {
    const j0 = (ch - rowChunks) * colsPerChunk;
    const j1 = j0 + colsPerChunk < c ? j0 + colsPerChunk : c;
    layernorm_bwd_dw(dw, db, dout, x, meanp, rstdp, c, n, j0, j1);
  }
}

/** RMSNorm's backward, as layernorm_bwd_chunk: row blocks of dx, then column blocks of dw. */
export function rmsnorm_bwd_chunk(
  ch: i32, dx: usize, dw: usize, dout: usize, x: usize, w: usize, rstdp: usize,
  c: i32, n: i32, rowsPerChunk: i32, rowChunks: i32, colsPerChunk: i32,
): void {
  if (ch < rowChunks) {
    const r0 = ch * rowsPerChunk;
    const r1 = r0 + rowsPerChunk < n ? r0 + rowsPerChunk : n;
    rmsnorm_bwd_dx(dx, dout, x, w, rstdp, c, r0, r1);
  } else {
    const j0 = (ch - rowChunks) * colsPerChunk;
    const j1 = j0 + colsPerChunk < c ? j0 + colsPerChunk : c;
    rmsnorm_bwd_dw(dw, dout, x, rstdp, c, n, j0, j1);
  }
}

/** partials[ch] (f64) = sum of squares of chunk ch: fixed chunks, so the total is the same on any threads. */
export function sum_squares_chunk(ch: i32, partials: usize, x: usize, n: i32, per: i32): void {
  const i0 = ch * per;
  store<f64>(partials + (<usize>ch << 3), sum_squares(x, i0, i0 + per < n ? i0 + per : n));
}

// Attention: chunk = batch * NH + head. Each thread's range is whole sequences, the rows its
// share of the qkv matmul wrote, and concurrent chunks write different rows. Each thread packs
// its operands into its own scratchBytes of scratch.

export function attention_fwd_chunk(ch: i32, me: i32, out: usize, att: usize, qkv: usize, t: i32, c: i32, nh: i32, scale: f32, scratch: usize, scratchBytes: usize): void {
  attention_fwd(out, att, qkv, t, c, nh, scale, ch, scratch + <usize>me * scratchBytes);
}

export function attention_bwd_chunk(ch: i32, me: i32, dqkv: usize, datt: usize, dout: usize, qkv: usize, att: usize, t: i32, c: i32, nh: i32, scale: f32, scratch: usize, scratchBytes: usize): void {
  attention_bwd(dqkv, datt, dout, qkv, att, t, c, nh, scale, ch, scratch + <usize>me * scratchBytes);
}

// Masked attention: chunk = batch * NH + head, as for causal attention. Concurrent chunks write
// different columns (heads) or rows (batches) of out, dq and dkv.

export function masked_attention_fwd_chunk(ch: i32, me: i32, out: usize, att: usize, q: usize, kv: usize, mask: usize, tq: i32, tk: i32, c: i32, nh: i32, scale: f32, causal: bool, scratch: usize, scratchBytes: usize): void {
  masked_attention_fwd(out, att, q, kv, mask, tq, tk, c, nh, scale, causal, ch, scratch + <usize>me * scratchBytes);
}

export function masked_attention_bwd_chunk(ch: i32, me: i32, dq: usize, dkv: usize, datt: usize, dout: usize, q: usize, kv: usize, att: usize, tq: i32, tk: i32, c: i32, nh: i32, scale: f32, causal: bool, scratch: usize, scratchBytes: usize): void {
  masked_attention_bwd(dq, dkv, datt, dout, q, kv, att, tq, tk, c, nh, scale, causal, ch, scratch + <usize>me * scratchBytes);
}
