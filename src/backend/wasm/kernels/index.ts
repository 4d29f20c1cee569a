// Entry point of the tsgpt kernels module (compiled twice: plain SIMD and relaxed SIMD).
// Exports plain functions over byte pointers into the shared memory that the JavaScript side
// allocates; there is no AssemblyScript-managed heap (runtime stub, nothing allocated here).

export {
  adamw_f32,
  add_bias,
  bias_backward,
  binary_row,
  binary_same,
  copy_bytes,
  dropout_fwd,
  fill_u32,
  scale_f32,
  sum_squares,
  unary_bwd,
  unary_fwd,
} from './elementwise';
export { job_close, job_publish, run_job } from './jobs';
export {
  attention_bwd,
  attention_fwd,
  crossentropy_bwd,
  crossentropy_fwd,
  embedding_bwd,
  embedding_fwd,
  layernorm_bwd_dw,
  layernorm_bwd_dx,
  layernorm_fwd,
  softmax_bwd,
  softmax_fwd,
} from './layers';
export {
  gemv_nt,
  matmul_rows,
  matmul_scalar,
  pack_a_tile,
  pack_b_panel,
  packed_width,
  panel_count,
} from './matmul';
export { madd_peak } from './peak';
export {
  qknorm_bwd,
  qknorm_fwd,
  rmsnorm_bwd_dw,
  rmsnorm_bwd_dx,
  rmsnorm_fwd,
  rope_bwd,
  rope_fwd,
  swiglu_bwd,
  swiglu_fwd,
} from './variants';

/** First free byte after the module's static data: the JavaScript allocator starts above it. */
export function heap_base(): usize {
  return __heap_base;
}
