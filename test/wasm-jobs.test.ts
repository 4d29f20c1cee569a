// The wasm job interface: the job table (src/backend/wasm/kernels/job-table.mjs) agrees with the
// kernels' signatures, and each kind of disagreement between the table and one side of a job is
// caught by the generator's check (which fails the build); slots are laid out as the views
// expect; an op the kernels do not know is an error, not a silently skipped job; the generated
// KernelExports type matches the built module's exports.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JOB_COUNT, Jobs } from '../src/backend/wasm/jobs.gen.js';
import { ARG_SLOTS, B_DIV, CTRL_BYTES, U_RELU2 } from '../src/backend/wasm/kernels/abi.js';
import type { KernelExports } from '../src/backend/wasm/kernels.js';
import { nodePlatform } from '../src/backend/wasm/node-platform.js';
import type { WorkerHandle } from '../src/backend/wasm/platform.js';
import { ThreadPool } from '../src/backend/wasm/thread-pool.js';
import { instantiateKernels } from '../src/backend/wasm/worker-loop.js';
import { TsgptError } from '../src/errors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

type Args = Record<string, string>;
interface JobSpec {
  name: string;
  kernel: string;
  chunks?: string;
  doc: string;
  args: Args;
}
type Sigs = Map<string, { file: string; params: { name: string; type: string }[] }>;
interface Generator {
  readKernelSignatures(): Sigs;
  addSignatures(sigs: Sigs, file: string, source: string): void;
  readArgSlots(): number;
  layout(args: Args): { name: string; type: string; slot: number }[];
  checkJobs(jobs: readonly JobSpec[], sigs: Sigs, argSlots: number): string[];
}

let gen: Generator;
let JOBS: readonly JobSpec[];
before(async () => {
  gen = (await import(pathToFileURL(join(ROOT, 'scripts', 'gen-jobs.mjs')).href)) as Generator;
  const table = join(ROOT, 'src', 'backend', 'wasm', 'kernels', 'job-table.mjs');
  JOBS = ((await import(pathToFileURL(table).href)) as { JOBS: readonly JobSpec[] }).JOBS;
});

/** The table with job `name` changed by `edit` (a deep copy: the real table stays as it is). */
function withJob(name: string, edit: (job: JobSpec) => void): JobSpec[] {
  const jobs = JOBS.map((j) => ({ ...j, args: { ...j.args } }));
  const job = jobs.find((j) => j.name === name);
  assert.ok(job, `no job ${name}`);
  edit(job);
  return jobs;
}

/** The kernels' signatures with `source` (one AssemblyScript function) replacing its namesake. */
function withKernel(file: string, source: string): Sigs {
  const sigs = gen.readKernelSignatures();
  gen.addSignatures(sigs, file, source);
  return sigs;
}

describe('the job table', () => {
  test('agrees with the kernels: every job, every argument, every type', () => {
    assert.deepEqual(gen.checkJobs(JOBS, gen.readKernelSignatures(), gen.readArgSlots()), []);
    assert.equal(JOBS.length, JOB_COUNT, 'the generated host code is from another table: rebuild');
    assert.equal(gen.readArgSlots(), ARG_SLOTS);
  });

  test('an argument added to the table only is caught', () => {
    const jobs = withJob('scale', (j) => {
      j.args = { out: 'usize', x: 'usize', s: 'f32', shift: 'f32', accumulate: 'bool', n: 'i32', per: 'i32' };
    });
    assert.deepEqual(gen.checkJobs(jobs, gen.readKernelSignatures(), ARG_SLOTS), [
      "job 'scale': argument 'shift' is not a parameter of elementwise.ts scale_f32",
    ]);
  });

  test('a parameter added to the kernel only is caught', () => {
    const sigs = withKernel(
      'chunks',
      'export function pack_a_chunk(ch: i32, dst: usize, a: usize, m: i32, k: i32, kc: i32, ' +
        'aStrideBytes: usize, packedStrideBytes: usize, tiles: i32): void {}',
    );
    assert.deepEqual(gen.checkJobs(JOBS, sigs, ARG_SLOTS), [
      "job 'pack_a': chunks.ts pack_a_chunk parameter 'kc' is not an argument of the job",
    ]);
  });

  test("a slot's type changed on one side is caught", () => {
    const sigs = withKernel(
      'elementwise',
      'export function dropout_fwd(out: usize, mask: usize, x: usize, seed: i32, thr: i32, keepScale: f64, i0: i32, i1: i32): void {}',
    );
    assert.deepEqual(gen.checkJobs(JOBS, sigs, ARG_SLOTS), [
      "job 'dropout': elementwise.ts dropout_fwd parameter 'thr' is i32, the table says u32",
    ]);
    const jobs = withJob('attention_fwd', (j) => {
      j.args['scale'] = 'f64';
    });
    assert.deepEqual(gen.checkJobs(jobs, gen.readKernelSignatures(), ARG_SLOTS), [
      "job 'attention_fwd': chunks.ts attention_fwd_chunk parameter 'scale' is f32, the table says f64",
    ]);
  });

  test('a split kernel without its range, an unknown kernel, a bad chunks spec are caught', () => {
    const sigs = withKernel(
      'elementwise',
      'export function fill_u32(out: usize, bits: u32, n: i32): void {}',
    );
    const problems = gen.checkJobs(JOBS, sigs, ARG_SLOTS);
    assert.ok(
      problems.includes(
        "job 'fill': elementwise.ts fill_u32 must end in two i32 parameters (the chunk's range)",
      ),
      problems.join('\n'),
    );
    const renamed = withJob('softmax_fwd', (j) => {
      j.kernel = 'softmax_forward';
    });
    assert.deepEqual(gen.checkJobs(renamed, gen.readKernelSignatures(), ARG_SLOTS), [
      "job 'softmax_fwd': kernel softmax_forward is not an exported function of src/backend/wasm/kernels/",
    ]);
    const badSplit = withJob('scale', (j) => {
      j.chunks = 'n / s';
    });
    assert.deepEqual(gen.checkJobs(badSplit, gen.readKernelSignatures(), ARG_SLOTS), [
      "job 'scale': chunks 'n / s': 's' is not an i32 argument",
      "job 'scale': argument 'per' is not a parameter of elementwise.ts scale_f32",
    ]);
  });

  test('a job listed twice, a reserved name, too many slots are caught', () => {
    const twice = [...JOBS, JOBS[0]!];
    assert.ok(
      gen.checkJobs(twice, gen.readKernelSignatures(), ARG_SLOTS).includes("job 'pack_b': listed twice"),
    );
    const reserved = withJob('fill', (j) => {
      j.args = { out: 'usize', me: 'u32', n: 'i32', per: 'i32' };
    });
    assert.ok(
      gen
        .checkJobs(reserved, gen.readKernelSignatures(), ARG_SLOTS)
        .some((p) => p.startsWith("job 'fill': 'me' cannot name an argument")),
    );
    const matmul = JOBS.find((j) => j.name === 'matmul')!;
    assert.ok(
      gen
        .checkJobs([matmul], gen.readKernelSignatures(), 8)
        .includes("job 'matmul': its arguments take 16 slots, the control block has 8"),
    );
  });

  test('slots: 4 bytes each in table order, an f64 at the next even slot', () => {
    const dropout = JOBS.find((j) => j.name === 'dropout')!;
    assert.deepEqual(
      gen.layout(dropout.args).map((a) => `${a.name}@${a.slot}`),
      ['out@0', 'mask@1', 'x@2', 'seed@3', 'thr@4', 'keepScale@6', 'n@8', 'per@9'],
    );
  });
});

describe('an op the kernels do not know', () => {
  let pool: ThreadPool;
  let kernels: KernelExports;
  let memory: WebAssembly.Memory;
  let ctrl: number;
  const workers: WorkerHandle[] = [];
  before(async () => {
    const module = await WebAssembly.compile(await nodePlatform.kernelBytes('simd'));
    memory = new WebAssembly.Memory({ initial: 16, maximum: 64, shared: true });
    kernels = instantiateKernels(module, memory);
    ctrl = Math.ceil(kernels.heap_base() / 64) * 64;
    workers.push(await nodePlatform.startWorker({ module, memory, ctrl, spins: 1000, index: 1 }));
    pool = new ThreadPool(kernels, memory, ctrl, workers, 1000);
  });
  after(() => pool.dispose());

  test('is a TsgptError on the calling thread, alone or shared, and the pool stays usable', () => {
    for (const op of [0, -1, JOB_COUNT + 1, 1000]) {
      for (const parallel of [false, true]) {
        assert.throws(
          () => pool.run(op, 8, parallel),
          (e: unknown) =>
            e instanceof TsgptError &&
            e.message === `wasm backend: job op ${op} is not a job of the kernels (1..${JOB_COUNT})`,
        );
      }
    }
    // a real job afterwards runs to the end on both threads
    const n = 100_000;
    const out = ctrl + CTRL_BYTES;
    new Jobs(pool).fill(out, 0x3f800000, n, 1024);
    const view = new Float32Array(memory.buffer, out, n);
    assert.equal(view[0], 1);
    assert.equal(view[n - 1], 1);
  });

  test('a unary or binary op code outside abi.ts traps in the kernel', () => {
    const p = ctrl + CTRL_BYTES;
    // U_RELU2: the last unary op code
    kernels.unary_fwd(U_RELU2, p, p, 0, 4);
    assert.throws(() => kernels.unary_fwd(U_RELU2 + 1, p, p, 0, 4), WebAssembly.RuntimeError);
    assert.throws(() => kernels.unary_bwd(-1, p, p, p, p, 0, 4), WebAssembly.RuntimeError);
    assert.throws(() => kernels.binary_same(B_DIV + 1, p, p, p, 0, 4), WebAssembly.RuntimeError);
    assert.throws(() => kernels.binary_row(-1, p, p, p, 4, true, 0, 1), WebAssembly.RuntimeError);
  });
});

test('KernelExports (generated from the compiler typings) lists each export of the module with its arity', async () => {
  const src = readFileSync(join(ROOT, 'src', 'backend', 'wasm', 'kernel-exports.gen.ts'), 'utf8');
  const declared = new Map<string, number>();
  for (const m of src.matchAll(/^ {2}(\w+)\(([^)]*)\): \w+;$/gm)) {
    declared.set(m[1]!, m[2]!.trim() === '' ? 0 : m[2]!.split(',').length);
  }
  const module = await WebAssembly.compile(await nodePlatform.kernelBytes('simd'));
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const functions = Object.keys(exports).filter((k) => typeof exports[k] === 'function');
  assert.deepEqual([...declared.keys()].sort(), functions.sort());
  for (const name of functions) {
    assert.equal(declared.get(name), (exports[name] as (...a: number[]) => unknown).length, name);
  }
  assert.match(
    src,
    /matmul_rows\(c: number, a: number, bp: number, m: number, k: number, n: number, aLayout: number,/,
  );
});
