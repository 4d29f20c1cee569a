// Matmul GFLOP/s micro-benchmark of the wasm backend at the shapes a GPT of width C uses
// (B*T = 768 rows): qkv (C -> 3C), attention proj (C -> C), MLP up (C -> 4C), MLP down (4C -> C),
// lm head (C -> 65, a char vocabulary); forward NT plus the two backward products.
// Not a test: run `node dist/bench/matmul.js [--quick] [--threads 1,2] [--c 128,256,384]
// [--kernels simd,relaxed]`. Best of N after warm-up.

import type { MatmulParams } from '../src/backend/backend.js';
import { createWasmBackend, type KernelFlavor, type WasmBackend } from '../src/backend/wasm/index.js';

interface Shape {
  name: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

function shapesFor(c: number, quick: boolean): Shape[] {
  const rows = 768;
  const linear = (name: string, ic: number, oc: number): Shape[] => {
    const fwd = { name: `${name} fwd`, m: rows, k: ic, n: oc, transA: false, transB: true };
    if (quick) return [fwd];
    return [
      fwd,
      { name: `${name} dX`, m: rows, k: oc, n: ic, transA: false, transB: false },
      { name: `${name} dW`, m: oc, k: rows, n: ic, transA: true, transB: false },
    ];
  };
  return [
    ...linear('qkv', c, 3 * c),
    ...linear('proj', c, c),
    ...linear('fc', c, 4 * c),
    ...linear('fcproj', 4 * c, c),
    ...linear('head65', c, 65),
  ];
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const threadList = (arg('--threads') ?? '1,2').split(',').map(Number);
  const widths = (arg('--c') ?? '128,256,384').split(',').map(Number);
  const flavors = (arg('--kernels') ?? 'simd,relaxed').split(',') as KernelFlavor[];
  const reps = quick ? 5 : 9;
  // every configuration is alive at once and they take turns per repetition, so a burst of
  // load from another process hits them all alike (idle workers sleep in Atomics.wait)
  const configs: { col: string; be: WasmBackend }[] = [];
  for (const flavor of flavors) {
    for (const threads of threadList) {
      configs.push({
        col: `${flavor} ${threads}t`,
        be: await createWasmBackend({ threads, kernels: flavor }),
      });
    }
  }
  const results = new Map<string, number>();
  for (const c of widths) {
    for (const s of shapesFor(c, quick)) {
      const p: MatmulParams = {
        batch: 1,
        m: s.m,
        k: s.k,
        n: s.n,
        transA: s.transA,
        transB: s.transB,
        accumulate: false,
        aBatchStride: 0,
        bBatchStride: 0,
      };
      const flop = 2 * s.m * s.k * s.n;
      // enough calls per timing to last ~10 ms; the first calls run unoptimised code
      const inner = Math.ceil(4e8 / flop);
      const arrays = configs.map(({ be }) => {
        const a = be.alloc('float32', s.m * s.k);
        const b = be.alloc('float32', s.k * s.n);
        const out = be.alloc('float32', s.m * s.n);
        a.fill(0.5);
        b.fill(0.25);
        for (let i = 0; i < 3 * inner; i++) be.matmul(out, a, b, p);
        return { a, b, out };
      });
      const best = configs.map(() => Infinity);
      for (let r = 0; r < reps; r++) {
        configs.forEach(({ be }, ci) => {
          const { a, b, out } = arrays[ci]!;
          const t0 = performance.now();
          for (let i = 0; i < inner; i++) be.matmul(out, a, b, p);
          best[ci] = Math.min(best[ci]!, (performance.now() - t0) / inner);
        });
      }
      configs.forEach(({ col, be }, ci) => {
        results.set(`${c} ${s.name} ${s.m}x${s.k}x${s.n}|${col}`, flop / (best[ci]! * 1e6));
        const { a, b, out } = arrays[ci]!;
        be.free(a);
        be.free(b);
        be.free(out);
      });
    }
  }
  const shares = configs
    .filter(({ be }) => be.threads > 1)
    .map(({ col, be }) => {
      const s = be.threadStats;
      const workerShare = s.chunks > 0 ? (100 * (s.chunks - s.callerChunks)) / s.chunks : 0;
      return `${col}: workers ran ${workerShare.toFixed(0)}% of chunks, the caller slept ${s.stalls} times waiting for one`;
    })
    .join('; ');
  for (const { be } of configs) await be.dispose();
  const columns = configs.map((c) => c.col);
  const rowsSeen = [...new Set([...results.keys()].map((k) => k.split('|')[0]!))];
  const pad = (s: string, w: number) => s.padStart(w);
  const lines = [
    `${'C shape (MxKxN)'.padEnd(28)}${columns.map((c) => pad(c, 13)).join('')}   (GFLOP/s, best of ${reps})`,
  ];
  for (const r of rowsSeen) {
    lines.push(
      r.padEnd(28) + columns.map((c) => pad((results.get(`${r}|${c}`) ?? 0).toFixed(1), 13)).join(''),
    );
  }
  lines.push(`thread pool: ${shares}`);
  console.log(lines.join('\n'));
}

await main();
