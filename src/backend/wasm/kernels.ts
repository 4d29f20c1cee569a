// The exports of the kernels module (kernels/index.ts) as TypeScript sees them, and the job op
// codes of kernels/jobs.ts. Pointers are byte offsets into the shared memory; bools are 0/1.
// Keep in step with kernels/ by hand: the parity tests catch a mismatch.

export interface KernelExports {
  heap_base(): number;
  /** out[i0..i1) = the 32-bit pattern `bits` (byte pointer out; one thread, the caller's) */
  fill_u32(out: number, bits: number, i0: number, i1: number): void;
  /** the benchmark's one-core ceiling: iters * 96 FLOPs of f32x4 madd chains (kernels/peak.ts) */
  madd_peak(iters: number, seed: number): number;
  /** opens the job written to the control block, cut into `parts` ranges (threads 0..parts-1) */
  job_publish(ctrl: number, parts: number): void;
  job_close(ctrl: number): void;
  /** runs chunks of the current job as thread `me` (0: the caller); returns how many it ran */
  run_job(ctrl: number, me: number): number;
  matmul_rows(
    c: number,
    a: number,
    bp: number,
    m: number,
    k: number,
    n: number,
    transA: number,
    accumulate: number,
    r0: number,
    r1: number,
    q0?: number,
    q1?: number,
  ): void;
  matmul_scalar(
    c: number,
    a: number,
    b: number,
    m: number,
    k: number,
    n: number,
    transA: number,
    transB: number,
    accumulate: number,
  ): void;
  gemv_nt(c: number, a: number, b: number, m: number, k: number, n: number, accumulate: number): void;
  pack_b_panel(dst: number, b: number, k: number, n: number, sk: number, sn: number, p: number): void;
  sum_squares(x: number, i0: number, i1: number): number;
}

export { CTRL_BYTES, MAX_THREADS } from './job-ops.js';
/** Int32 slot of the control block holding the thread count (see kernels/jobs.ts). */
export const CTRL_THREADS = 0;
/** Int32 slots of the control block (see kernels/jobs.ts). */
export const CTRL_DONE = 2;
export const CTRL_TOTAL = 3;
export const CTRL_OP = 4;
export const CTRL_WAKE = 5;
export const CTRL_QUIT = 6;
/** workers asleep in Atomics.wait on the wake word (the caller notifies only then) */
export const CTRL_SLEEPERS = 7;
export const CTRL_ARGS = 16;

export {
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
} from './job-ops.js';

/** Layouts of A for matmul_rows (kernels/matmul.ts). */
export const A_ROWS = 0;
export const A_TRANS = 1;
export const A_PACKED = 2;

/** Which build of the kernels: plain SIMD128, or SIMD128 + relaxed SIMD (fused multiply-add). */
export type KernelFlavor = 'simd' | 'relaxed';

/** Bytes of WebAssembly memory per page. */
export const PAGE = 65536;
/** The shared memory's maximum, in pages (2 GiB keeps every pointer a positive int32). */
export const MAX_PAGES = 32768;
