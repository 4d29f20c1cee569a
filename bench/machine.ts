// What the report says about the machine it ran on: CPU and its SIMD, cores, memory, Node, load
// average, the wasm kernel build, and the commit measured. Facts only; no timing.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { REPO } from './paths.js';

/** The machine at the start of a run (`loadAvgEnd` and `wasmKernels` are filled in later). */
export function machineInfo(threads: number): Record<string, string | number | null> {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  let flags = '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
    cpu = field('model name') ?? cpu;
    const fam = field('cpu family');
    const model = field('model');
    if (fam) cpu += ` (family ${fam}, model ${model})`;
    flags = field('flags') ?? '';
  } catch {
    // not Linux: os.cpus() it is
  }
  const simd = /\bavx512f\b/.test(flags) ? 'AVX-512' : /\bavx2\b/.test(flags) ? 'AVX2' : 'no AVX2';
  let commit: string | null = null;
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: REPO, encoding: 'utf8' }).trim();
    commit =
      git('rev-parse', '--short', 'HEAD') +
      (git('status', '--porcelain', '--untracked-files=no') ? ' + uncommitted changes' : '');
  } catch {
    // not a git checkout (an installed package)
  }
  return {
    cpu,
    cpuSimd: simd,
    cores: os.availableParallelism(),
    threads,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAvgStart: loadAverage(),
    envOpenblasCoretype: process.env['OPENBLAS_CORETYPE'] ?? null,
    wasmKernels: null,
    commit,
  };
}

/** The load average now, as the report prints it. */
export function loadAverage(): string {
  const [l1, l5] = os.loadavg();
  return `${l1!.toFixed(2)} (1 min), ${l5!.toFixed(2)} (5 min)`;
}

/** Which wasm kernel build this runtime gets: relaxed SIMD (FMA) or plain SIMD128. */
export async function wasmKernels(): Promise<string> {
  const { createWasmBackend } = await import('../src/backend/wasm/index.js');
  const be = await createWasmBackend({ threads: 1 });
  await be.dispose();
  return be.flavor === 'relaxed' ? 'relaxed SIMD (f32x4 FMA)' : 'plain SIMD128 (no relaxed SIMD: mul + add)';
}
