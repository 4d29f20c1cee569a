// What the host knows about the kernels module: the type of its exports (generated at build time
// from the AssemblyScript sources in kernels/), its two builds, the shared memory's page limits,
// and the constants both sides read (kernels/abi.ts), re-exported for the host's files.
// Not here: the jobs' argument slots (jobs.gen.ts, generated from kernels/job-table.mjs).

export type { KernelExports } from './kernel-exports.gen.js';
export {
  A_PACKED,
  A_ROWS,
  A_TRANS,
  ARG_SLOTS,
  B_ADD,
  B_DIV,
  B_MUL,
  B_SUB,
  CTRL_ARGS,
  CTRL_BYTES,
  CTRL_DONE,
  CTRL_OP,
  CTRL_QUIT,
  CTRL_SLEEPERS,
  CTRL_THREADS,
  CTRL_TOTAL,
  CTRL_WAKE,
  MAX_THREADS,
  U_EXP,
  U_GELU,
  U_GELU_TANH,
  U_LOG,
  U_NEG,
  U_RELU,
  U_SQRT,
  U_TANH,
} from './kernels/abi.js';

/** Which build of the kernels: plain SIMD128, or SIMD128 + relaxed SIMD (fused multiply-add). */
export type KernelFlavor = 'simd' | 'relaxed';

/** Bytes of WebAssembly memory per page. */
export const PAGE = 65536;
/** The shared memory's maximum, in pages (2 GiB keeps every pointer a positive int32). */
export const MAX_PAGES = 32768;
