// The wasm jobs, each described once: its name, the AssemblyScript function that runs one chunk
// of it, how it is cut into chunks, and its arguments (name and AssemblyScript type, in slot
// order). scripts/gen-jobs.mjs derives both sides from this table at build time: the host's
// writers (src/backend/wasm/jobs.gen.ts: one method per job, one parameter per argument) and the
// kernels' dispatcher (kernels/dispatch.gen.ts). Not here: the kernels' code, the chunk sizes.
//
// A job's op code is its position in this list, from 1. Each argument takes one 4-byte slot of
// the control block (an f64 two, at an even slot). Types: usize (a byte pointer or a byte
// stride), i32, u32 (a bit pattern), f32, f64, bool (written 0 / 1).
//
// `kernel` is matched to the job by parameter name: each parameter named like an argument
// receives it, `ch` the chunk's index, `me` the running thread (0 = the caller). With
// `chunks: 'n / per'` the job is n items cut into chunks of per (the host computes the count;
// it runs in parallel when there is more than one chunk) and the kernel's last two i32
// parameters receive the chunk's range [lo, hi). Without `chunks`, the host passes the number of
// chunks and whether to share them. Every argument must reach the kernel (or be the count or
// size of `chunks`); the build fails otherwise, or when a type differs. Adding a job: an entry
// here, its kernel, and the backend method that calls this.jobs.<name in camelCase>(...).

/**
 * @typedef {'usize' | 'i32' | 'u32' | 'f32' | 'f64' | 'bool'} SlotType
 * @typedef {{ name: string, kernel: string, chunks?: string, doc: string,
 *   args: Readonly<Record<string, SlotType>> }} JobSpec
 */

/** @type {readonly JobSpec[]} */
export const JOBS = [
  // ---- matmul.ts (chunk functions in chunks.ts) ----
  {
    name: 'pack_b',
    kernel: 'pack_b_chunk',
    doc: 'packs B into 8-column panels; chunk = product * panels + panel',
    args: {
      dst: 'usize',
      b: 'usize',
      k: 'i32',
      n: 'i32',
      sk: 'i32',
      sn: 'i32',
      bStrideBytes: 'usize',
      packedStrideBytes: 'usize',
      panels: 'i32',
    },
  },
  {
    name: 'pack_a',
    kernel: 'pack_a_chunk',
    doc: 'packs a transposed A into 4-row tiles; chunk = product * tiles + tile',
    args: {
      dst: 'usize',
      a: 'usize',
      m: 'i32',
      k: 'i32',
      aStrideBytes: 'usize',
      packedStrideBytes: 'usize',
      tiles: 'i32',
    },
  },
  {
    name: 'matmul',
    kernel: 'matmul_chunk',
    doc: 'C (+)= op(A) @ packed B; chunk = a block of rows x panels of one product',
    args: {
      c: 'usize',
      a: 'usize',
      bp: 'usize',
      m: 'i32',
      k: 'i32',
      n: 'i32',
      aLayout: 'i32',
      accumulate: 'bool',
      aStrideBytes: 'usize',
      bpStrideBytes: 'usize',
      rowsPerChunk: 'i32',
      chunksPerBatch: 'i32',
      srcA: 'usize',
      srcAStrideBytes: 'usize',
      panelsPerChunk: 'i32',
      colChunks: 'i32',
    },
  },
  // ---- elementwise.ts ----
  {
    name: 'fill',
    kernel: 'fill_u32',
    chunks: 'n / per',
    doc: 'out[i] = the 32-bit pattern bits',
    args: { out: 'usize', bits: 'u32', n: 'i32', per: 'i32' },
  },
  {
    name: 'unary_fwd',
    kernel: 'unary_fwd',
    chunks: 'n / per',
    doc: 'out = f(x), f a unary op code (abi.ts U_*)',
    args: { op: 'i32', out: 'usize', x: 'usize', n: 'i32', per: 'i32' },
  },
  {
    name: 'unary_bwd',
    kernel: 'unary_bwd',
    chunks: 'n / per',
    doc: "dx += f'(x) * dout",
    args: { op: 'i32', dx: 'usize', x: 'usize', y: 'usize', dout: 'usize', n: 'i32', per: 'i32' },
  },
  {
    name: 'binary_same',
    kernel: 'binary_same',
    chunks: 'n / per',
    doc: 'out = a op b, same shapes (abi.ts B_*)',
    args: { op: 'i32', out: 'usize', a: 'usize', b: 'usize', n: 'i32', per: 'i32' },
  },
  {
    name: 'binary_row',
    kernel: 'binary_row',
    chunks: 'rows / per',
    doc: 'out = a op row or row op b over rows of c',
    args: {
      op: 'i32',
      out: 'usize',
      a: 'usize',
      b: 'usize',
      c: 'i32',
      bIsRow: 'bool',
      rows: 'i32',
      per: 'i32',
    },
  },
  {
    name: 'scale',
    kernel: 'scale_f32',
    chunks: 'n / per',
    doc: 'out (+)= x * s',
    args: { out: 'usize', x: 'usize', s: 'f32', accumulate: 'bool', n: 'i32', per: 'i32' },
  },
  {
    name: 'add_bias',
    kernel: 'add_bias',
    chunks: 'n / per',
    doc: 'out (N, OC) += bias (OC), by rows',
    args: { out: 'usize', bias: 'usize', oc: 'i32', n: 'i32', per: 'i32' },
  },
  {
    name: 'bias_bwd',
    kernel: 'bias_backward',
    chunks: 'oc / per',
    doc: 'dbias (OC) += column sums of dout (N, OC), by columns',
    args: { dbias: 'usize', dout: 'usize', n: 'i32', oc: 'i32', per: 'i32' },
  },
  {
    name: 'dropout',
    kernel: 'dropout_fwd',
    chunks: 'n / per',
    doc: 'inverted dropout: keep iff hash >>> 8 >= thr, kept elements scaled by keepScale',
    args: {
      out: 'usize',
      mask: 'usize',
      x: 'usize',
      seed: 'i32',
      thr: 'u32',
      keepScale: 'f64',
      n: 'i32',
      per: 'i32',
    },
  },
  {
    name: 'adamw',
    kernel: 'adamw_f32',
    chunks: 'n / per',
    doc: 'one AdamW update of param from grad, with moments mp and vp',
    args: {
      param: 'usize',
      grad: 'usize',
      mp: 'usize',
      vp: 'usize',
      lr: 'f32',
      b1: 'f32',
      b2: 'f32',
      eps: 'f32',
      wd: 'f32',
      bc1: 'f32',
      bc2: 'f32',
      gradScale: 'f32',
      n: 'i32',
      per: 'i32',
    },
  },
  {
    name: 'sum_squares',
    kernel: 'sum_squares_chunk',
    doc: 'partials[ch] = sum of x^2 over chunk ch (n items, per a chunk), in f64',
    args: { partials: 'usize', x: 'usize', n: 'i32', per: 'i32' },
  },
  // ---- layers.ts ----
  {
    name: 'layernorm_fwd',
    kernel: 'layernorm_fwd',
    chunks: 'n / per',
    doc: 'LayerNorm of n rows of c, saving mean and rstd; bias 0 = none',
    args: {
      out: 'usize',
      meanp: 'usize',
      rstdp: 'usize',
      x: 'usize',
      w: 'usize',
      bias: 'usize',
      c: 'i32',
      eps: 'f32',
      n: 'i32',
      per: 'i32',
    },
  },
  {
    name: 'layernorm_bwd',
    kernel: 'layernorm_bwd_chunk',
    doc: 'chunks [0, rowChunks): row blocks of dx; the rest: column blocks of dw and db',
    args: {
      dx: 'usize',
      dw: 'usize',
      db: 'usize',
      dout: 'usize',
      x: 'usize',
      w: 'usize',
      meanp: 'usize',
      rstdp: 'usize',
      c: 'i32',
      n: 'i32',
      rowsPerChunk: 'i32',
      rowChunks: 'i32',
      colsPerChunk: 'i32',
    },
  },
  {
    name: 'softmax_fwd',
    kernel: 'softmax_fwd',
    chunks: 'n / per',
    doc: 'softmax of n rows of c',
    args: { out: 'usize', x: 'usize', c: 'i32', n: 'i32', per: 'i32' },
  },
  {
    name: 'softmax_bwd',
    kernel: 'softmax_bwd',
    chunks: 'n / per',
    doc: 'dx += backward of softmax with output y',
    args: { dx: 'usize', dout: 'usize', y: 'usize', c: 'i32', n: 'i32', per: 'i32' },
  },
  {
    name: 'crossentropy_fwd',
    kernel: 'crossentropy_fwd',
    chunks: 'n / per',
    doc: 'losses (N) of logits (N, V) against targets (N)',
    args: { losses: 'usize', logits: 'usize', targets: 'usize', v: 'i32', n: 'i32', per: 'i32' },
  },
  {
    name: 'crossentropy_bwd',
    kernel: 'crossentropy_bwd',
    chunks: 'n / per',
    doc: 'dlogits (N, V) += backward of crossentropy_fwd scaled by dlosses (N)',
    args: {
      dlogits: 'usize',
      logits: 'usize',
      targets: 'usize',
      dlosses: 'usize',
      v: 'i32',
      n: 'i32',
      per: 'i32',
    },
  },
  {
    name: 'embedding_fwd',
    kernel: 'embedding_fwd',
    chunks: 'n / per',
    doc: 'out (N, C) = rows ids (N) of table',
    args: { out: 'usize', table: 'usize', ids: 'usize', c: 'i32', n: 'i32', per: 'i32' },
  },
  {
    name: 'embedding_bwd',
    kernel: 'embedding_bwd',
    chunks: 'c / per',
    doc: 'dtable rows ids (N) += dout (N, C), by columns (rows may share an id)',
    args: { dtable: 'usize', dout: 'usize', ids: 'usize', n: 'i32', c: 'i32', per: 'i32' },
  },
  {
    name: 'attention_fwd',
    kernel: 'attention_fwd_chunk',
    doc: 'causal attention; chunk = batch * NH + head, scratch: scratchBytes per thread',
    args: {
      out: 'usize',
      att: 'usize',
      qkv: 'usize',
      t: 'i32',
      c: 'i32',
      nh: 'i32',
      scale: 'f32',
      scratch: 'usize',
      scratchBytes: 'usize',
    },
  },
  {
    name: 'attention_bwd',
    kernel: 'attention_bwd_chunk',
    doc: 'backward of attention_fwd; chunk = batch * NH + head',
    args: {
      dqkv: 'usize',
      datt: 'usize',
      dout: 'usize',
      qkv: 'usize',
      att: 'usize',
      t: 'i32',
      c: 'i32',
      nh: 'i32',
      scale: 'f32',
      scratch: 'usize',
      scratchBytes: 'usize',
    },
  },
];
