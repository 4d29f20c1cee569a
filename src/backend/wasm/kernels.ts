// What the host knows about the kernels module: the type of its exports (generated at build time
// from the compiler's typings of kernels/index.ts), its two builds, the shared memory's limits.
// Not here: the constants both sides read (kernels/abi.ts, imported directly), the jobs'
// argument slots (jobs.gen.ts, generated from kernels/job-table.mjs).

export type { KernelExports } from './kernel-exports.gen.js';
/** the most threads a job can be shared among (defined in kernels/abi.ts) */
export { MAX_THREADS } from './kernels/abi.js';

/** Which build of the kernels: plain SIMD128, or SIMD128 + relaxed SIMD (fused multiply-add). */
export type KernelFlavor = 'simd' | 'relaxed';

/** Bytes of WebAssembly memory per page. */
export const PAGE = 65536;
/**
 * The shared memory's maximum, in pages: 4 GiB, all that 32-bit WebAssembly addresses. Pointers
 * above 2 GiB are negative as int32: kernels take them as usize and the host never shifts them.
 */
export const MAX_PAGES = 65536;
