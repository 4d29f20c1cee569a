// Section 2 of `tsgpt bench`: wasm matmul GFLOP/s at the shapes of the presets' training steps
// (forward and both backward products of every Linear), on 1 and N threads, and one core's
// measured multiply-add ceiling to read them against. It runs in a child process of its own
// (`node dist/bench/sections/matmul.js JSON`, one JSON line out) so that a stalled thread pool
// cannot stall the whole run; benchMatmulSection starts it. bench/report.ts prints.

import { pathToFileURL } from 'node:url';
import type { MatmulParams } from '../../src/backend/backend.js';
import { node, retried } from '../child.js';
import type { BenchOptions, BenchReport, MatmulRow } from '../report.js';
import { presetConfig } from '../train-speed.js';

/** The section from the run: the child process, its JSON, or the error. */
export async function benchMatmulSection(
  o: BenchOptions,
  vocabSize: number,
): Promise<NonNullable<BenchReport['matmul']>> {
  o.log(
    `[matmul] wasm matmul at the presets' shapes, 1${o.threads > 1 ? ` and ${o.threads}` : ''} thread(s)`,
  );
  const args = { presets: o.presets, quick: o.quick, threads: o.threads, vocabSize };
  const r = await retried(() => node('./sections/matmul.js', [JSON.stringify(args)], 10 * 60_000), o.log);
  return r.json
    ? (r.json as unknown as NonNullable<BenchReport['matmul']>)
    : { rows: [], threads: [], reps: 0, error: r.error! };
}

/** The products of one training step, per Linear: forward (NT), input grad dX (NN), weight grad dW (TN). */
function matmulShapes(o: MatmulOptions, vocabSize: number): Omit<MatmulRow, 'gflops'>[] {
  const out: Omit<MatmulRow, 'gflops'>[] = [];
  for (const preset of o.presets) {
    const cfg = presetConfig(preset, vocabSize);
    const rows = cfg.batchSize * cfg.blockSize; // B*T
    const c = cfg.nEmbd;
    const layers: [string, number, number][] = [
      ['qkv C→3C', c, 3 * c],
      ['proj C→C', c, c],
      ['fc C→4C', c, 4 * c],
      ['fcproj 4C→C', 4 * c, c],
      [`head C→V`, c, vocabSize],
    ];
    for (const [layer, ic, oc] of layers) {
      out.push({ preset, layer, pass: 'fwd', m: rows, k: ic, n: oc });
      if (o.quick) continue;
      out.push({ preset, layer, pass: 'dX', m: rows, k: oc, n: ic });
      out.push({ preset, layer, pass: 'dW', m: oc, k: rows, n: ic });
    }
  }
  return out;
}

type MatmulOptions = Pick<BenchOptions, 'presets' | 'quick' | 'threads'>;

/**
 * One core's ceiling for each kernel build: GFLOP/s of twelve independent f32x4 madd chains
 * (src/backend/wasm/kernels/peak.ts: relaxed_madd in the relaxed build, mul + add in the plain one), best of reps.
 */
async function maddCeilings(reps: number): Promise<Record<string, number>> {
  const { createWasmBackend } = await import('../../src/backend/wasm/index.js');
  const out: Record<string, number> = {};
  for (const kernels of ['relaxed', 'simd'] as const) {
    let be: import('../../src/backend/wasm/index.js').WasmBackend;
    try {
      be = await createWasmBackend({ threads: 1, kernels });
    } catch {
      continue; // no relaxed SIMD in this runtime
    }
    try {
      const iters = 1_000_000; // 96 MFLOP: ~2 ms
      for (let i = 0; i < 3; i++) be.kernels.madd_peak(iters, 1e-3);
      let best = Number.POSITIVE_INFINITY;
      for (let r = 0; r < reps; r++) {
        const t = performance.now();
        be.kernels.madd_peak(iters, 1e-3);
        best = Math.min(best, performance.now() - t);
      }
      out[kernels] = (iters * 96) / (best * 1e6);
    } finally {
      await be.dispose();
    }
  }
  return out;
}

async function benchMatmul(o: MatmulOptions, vocabSize: number): Promise<NonNullable<BenchReport['matmul']>> {
  const { createWasmBackend } = await import('../../src/backend/wasm/index.js');
  const threadCounts = o.threads > 1 ? [1, o.threads] : [1];
  const reps = o.quick ? 3 : 7;
  const ceiling = await maddCeilings(o.quick ? 3 : 9);
  const backends = await Promise.all(threadCounts.map((threads) => createWasmBackend({ threads })));
  const flavor = backends[0]!.flavor;
  const rows: MatmulRow[] = [];
  try {
    const shapes = matmulShapes(o, vocabSize);
    for (const s of shapes) {
      const p: MatmulParams = {
        batch: 1,
        m: s.m,
        k: s.k,
        n: s.n,
        transA: s.pass === 'dW',
        transB: s.pass === 'fwd',
        accumulate: false,
        aBatchStride: 0,
        bBatchStride: 0,
      };
      const flop = 2 * s.m * s.k * s.n;
      const inner = Math.max(1, Math.ceil((o.quick ? 1e8 : 3e8) / flop)); // ~5-10 ms per timing
      const arrays = backends.map((be) => {
        const a = be.alloc('float32', s.m * s.k);
        const b = be.alloc('float32', s.k * s.n);
        const out = be.alloc('float32', s.m * s.n);
        for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 101) / 101 - 0.5;
        for (let i = 0; i < b.length; i++) b[i] = ((i * 104729) % 103) / 103 - 0.5;
        for (let i = 0; i < 2 * inner; i++) be.matmul(out, a, b, p); // past the baseline compiler
        return { a, b, out };
      });
      const best = backends.map(() => Number.POSITIVE_INFINITY);
      for (let r = 0; r < reps; r++) {
        for (const [i, be] of backends.entries()) {
          const { a, b, out } = arrays[i]!;
          const t = performance.now();
          for (let j = 0; j < inner; j++) be.matmul(out, a, b, p);
          best[i] = Math.min(best[i]!, (performance.now() - t) / inner);
        }
      }
      const gflops: Record<string, number> = {};
      for (const [i, be] of backends.entries()) {
        gflops[`${threadCounts[i]}t`] = flop / (best[i]! * 1e6);
        const { a, b, out } = arrays[i]!;
        be.free(a);
        be.free(b);
        be.free(out);
      }
      rows.push({ ...s, gflops });
    }
  } finally {
    for (const be of backends) await be.dispose();
  }
  return { rows, threads: threadCounts, reps, flavor, ceiling };
}

// the child: `node dist/bench/sections/matmul.js '{"presets":["baby"],"quick":false,"threads":2,"vocabSize":65}'`
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const a = JSON.parse(process.argv[2] ?? '{}') as MatmulOptions & { vocabSize: number };
  benchMatmul(a, a.vocabSize).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`matmul: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
