// Builds the AssemblyScript kernels twice: dist/kernels/tsgpt-simd.wasm (SIMD128) and
// dist/kernels/tsgpt-relaxed.wasm (+ relaxed SIMD: f32x4.relaxed_madd is a fused multiply-add).
// Both import one shared memory (env.memory) so worker threads can instantiate the same module
// over it. Called by scripts/build-kernels.mjs from `npm run build`.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const here = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../dist/kernels/', import.meta.url));
mkdirSync(outDir, { recursive: true });

const common = [
  `${here}index.ts`,
  '-O3',
  '--noAssert',
  '--runtime',
  'stub',
  '--use',
  'abort=',
  '--importMemory',
  '--sharedMemory',
  '--initialMemory',
  '1',
  '--maximumMemory',
  '65536',
  '--enable',
  'simd',
  '--enable',
  'threads',
];
const builds = [
  { name: 'simd', flags: [] },
  { name: 'relaxed', flags: ['--enable', 'relaxed-simd'] },
];
for (const b of builds) {
  const { error, stderr } = await asc.main([
    ...common,
    ...b.flags,
    '--outFile',
    `${outDir}tsgpt-${b.name}.wasm`,
  ]);
  if (error) {
    console.error(stderr.toString());
    throw new Error(`kernels/build.mjs: ${b.name} build failed: ${error.message}`);
  }
}
