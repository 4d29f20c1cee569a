// The constants both sides of the kernel interface read: the control block's layout, the unary
// and binary op codes, matmul's layouts of A. Plain constants only, valid TypeScript and valid
// AssemblyScript: the kernels (jobs.ts, elementwise.ts, matmul.ts) and the host (thread-pool.ts,
// wasm-backend.ts) import this one file, so each value is written once.
// Not here: the jobs and their argument slots (job-table.mjs, from which both sides are generated).

// ---- the control block: header words, argument slots, one range line per thread ----

/** threads a job can be shared among (the caller included): one range line each */
export const MAX_THREADS = 64;
/** int32 word of the header: the number of threads taking part (the caller included) */
export const CTRL_THREADS = 0;
/** int32 word: chunks of the current job finished so far (the last one notifies it) */
export const CTRL_DONE = 2;
/** int32 word: chunks of the current job */
export const CTRL_TOTAL = 3;
/** int32 word: the current job's op code (1.. in job-table.mjs order) */
export const CTRL_OP = 4;
/** int32 word: bumped by the caller to wake the workers for a job (host only) */
export const CTRL_WAKE = 5;
/** int32 word: set when the workers should exit (host only) */
export const CTRL_QUIT = 6;
/** int32 word: workers asleep in Atomics.wait on the wake word (the caller notifies only then) */
export const CTRL_SLEEPERS = 7;
/** int32 word where the argument slots start (byte 64) */
export const CTRL_ARGS = 16;
/** 4-byte argument slots of a job (an f64 takes two, at an even slot) */
export const ARG_SLOTS = 32;
/** byte offset of the range words in the control block: one 64-byte line per thread */
export const CTRL_RANGES = 256;
/** bytes of the control block: header, argument slots, padding to CTRL_RANGES, range lines */
export const CTRL_BYTES = CTRL_RANGES + MAX_THREADS * 64;

// ---- unary op codes, in the order of UnaryOp in backend.ts (elementwise.ts unary_fwd / _bwd) ----

export const U_GELU = 0;
export const U_GELU_TANH = 1;
export const U_RELU = 2;
export const U_EXP = 3;
export const U_LOG = 4;
export const U_NEG = 5;
export const U_TANH = 6;
export const U_SQRT = 7;
export const U_SIGMOID = 8;
export const U_RELU2 = 9;

// ---- binary op codes, in the order of BinaryOp (elementwise.ts binary_same / binary_row) ----

export const B_ADD = 0;
export const B_SUB = 1;
export const B_MUL = 2;
export const B_DIV = 3;

// ---- layouts of A for matmul_rows (matmul.ts) ----

/** (M, K) row-major */
export const A_ROWS = 0;
/** (K, M): a transposed A read in place */
export const A_TRANS = 1;
/** 4-row tiles from pack_a_tile */
export const A_PACKED = 2;
