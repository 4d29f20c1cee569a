// The job op codes and the control block size, shared by both sides of the work-sharing
// protocol: the AssemblyScript kernels (kernels/jobs.ts dispatches on them) and the TypeScript
// host (wasm-backend.ts publishes them). Plain constants only, so both compilers read this one
// file and the two sides cannot drift apart.

/** threads a job can be shared among (the caller included): one range line each */
export const MAX_THREADS = 64;
/** byte offset of the range words in the control block: one 64-byte line per thread */
export const CTRL_RANGES = 256;
/**
 * bytes of the control block: 64 of header words, 32 argument slots of 4 bytes, padding to
 * CTRL_RANGES, then a 64-byte line per thread for its range of the current job
 */
export const CTRL_BYTES = CTRL_RANGES + MAX_THREADS * 64;

export const OP_PACK_B = 1;
export const OP_MATMUL = 2;
export const OP_UNARY_FWD = 3;
export const OP_UNARY_BWD = 4;
export const OP_BINARY_SAME = 5;
export const OP_BINARY_ROW = 6;
export const OP_SCALE = 7;
export const OP_LAYERNORM_FWD = 8;
export const OP_SOFTMAX_FWD = 9;
export const OP_SOFTMAX_BWD = 10;
export const OP_CROSSENTROPY_FWD = 11;
export const OP_CROSSENTROPY_BWD = 12;
export const OP_EMBEDDING_FWD = 13;
export const OP_DROPOUT = 14;
export const OP_ADAMW = 15;
export const OP_ATTENTION_FWD = 16;
export const OP_ATTENTION_BWD = 17;
export const OP_ADD_BIAS = 18;
export const OP_PACK_A = 19;
export const OP_FILL = 20;
export const OP_LAYERNORM_BWD = 21;
export const OP_BIAS_BWD = 22;
export const OP_EMBEDDING_BWD = 23;
export const OP_SUM_SQUARES = 24;
