// Matmul GFLOP/s micro-benchmark of the wasm backend at the shapes a GPT of width C uses
// (B*T = 768 rows): qkv (C -> 3C), attention proj (C -> C), MLP up (C -> 4C), MLP down (4C -> C),
// lm head (C -> 65, a char vocabulary); forward NT plus the two backward products.
// Not a test: run `node dist/bench/matmul.js [--quick] [--threads 1,2]`. Best of N after warm-up.

import type { MatmulParams } from '../src/backend/backend.js';
import { createWasmBackend, type KernelFlavor } from '../src/backend/wasm/index.js';

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
  const flavors: KernelFlavor[] = ['simd', 'relaxed'];
  const reps = quick ? 5 : 9;
  const results = new Map<string, number>();
  const columns: string[] = [];
  for (const flavor of flavors) {
    for (const threads of threadList) {
      const col = `${flavor} ${threads}t`;
      columns.push(col);
      const be = await createWasmBackend({ threads, kernels: flavor });
      for (const c of widths) {
        for (const s of shapesFor(c, quick)) {
          const a = be.alloc('float32', s.m * s.k);
          const b = be.alloc('float32', s.k * s.n);
          const out = be.alloc('float32', s.m * s.n);
          a.fill(0.5);
          b.fill(0.25);
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
          // enough calls per timing to last ~20 ms; first calls run unoptimised code
          const inner = Math.max(1, Math.round(2e7 / flop));
          for (let i = 0; i < 3 * inner; i++) be.matmul(out, a, b, p);
          let best = Infinity;
          for (let r = 0; r < reps; r++) {
            const t0 = performance.now();
            for (let i = 0; i < inner; i++) be.matmul(out, a, b, p);
            best = Math.min(best, (performance.now() - t0) / inner);
          }
          results.set(`${c} ${s.name} ${s.m}x${s.k}x${s.n}|${col}`, flop / (best * 1e6));
          be.free(a);
          be.free(b);
          be.free(out);
        }
      }
      await be.dispose();
    }
  }
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
  console.log(lines.join('\n'));
}

await main();
