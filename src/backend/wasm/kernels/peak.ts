// The arithmetic ceiling of one core for the matmul kernels, measured rather than assumed:
// twelve independent chains c = c * a + b of f32x4 `madd` (a fused multiply-add in the relaxed
// build, mul + add in the plain one), enough chains to hide the latency of two FMA pipes, few
// enough (12 + 2 registers) not to spill. Each iteration is 12 * 4 lanes * 2 = 96 FLOPs. Used by
// the benchmark only (`tsgpt bench --only matmul` prints matmul GFLOP/s as a share of it).

import { hsum, madd } from './simd';

/** Runs `iters` iterations; returns a sum of the chains so that nothing is optimised away. */
export function madd_peak(iters: i32, seed: f32): f32 {
  const a = f32x4.splat(0.9999);
  const b = f32x4.splat(seed);
  let c0 = f32x4.splat(0.0);
  let c1 = f32x4.splat(0.1);
  let c2 = f32x4.splat(0.2);
  let c3 = f32x4.splat(0.3);
  let c4 = f32x4.splat(0.4);
  let c5 = f32x4.splat(0.5);
  let c6 = f32x4.splat(0.6);
  let c7 = f32x4.splat(0.7);
  let c8 = f32x4.splat(0.8);
  let c9 = f32x4.splat(0.9);
  let c10 = f32x4.splat(1.0);
  let c11 = f32x4.splat(1.1);
  for (let i = 0; i < iters; i++) {
    c0 = madd(c0, a, b);
    c1 = madd(c1, a, b);
    c2 = madd(c2, a, b);
    c3 = madd(c3, a, b);
    c4 = madd(c4, a, b);
    c5 = madd(c5, a, b);
    c6 = madd(c6, a, b);
    c7 = madd(c7, a, b);
    c8 = madd(c8, a, b);
    c9 = madd(c9, a, b);
    c10 = madd(c10, a, b);
    c11 = madd(c11, a, b);
  }
  const s0 = f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3));
  const s1 = f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7));
  const s2 = f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11));
  return hsum(f32x4.add(f32x4.add(s0, s1), s2));
}
