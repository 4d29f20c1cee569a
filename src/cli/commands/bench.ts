// `tsgpt bench`: flags in, then bench/run.ts does the measuring; this prints its table (or JSON)
// on stdout while progress goes to stderr. The benchmark lives outside src/ (it starts PyTorch
// and child processes), so it is loaded only when this command runs.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import type { Args, FlagSpec } from '../args.js';

export const name = 'bench';
export const summary = 'Measure training, matmul, generation and tokenizer speed, beside PyTorch';
export const description =
  'Times the presets baby, plan and mini on the ref backend, on wasm with 1 thread and with all threads, ' +
  'and in PyTorch (bench/pytorch/train_ref.py on /usr/bin/python3) with the kernels OpenBLAS detects, those ' +
  'of OPENBLAS_CORETYPE in the environment, OPENBLAS_CORETYPE=SkylakeX (AVX-512) and, on baby, Prescott (SSE); baby while another process spins on a core (busy: 1 thread, all threads ' +
  'under the thread governor, all threads forced on); matmul GFLOP/s at the presets\u2019 shapes; greedy generation with and ' +
  'without the KV cache, and a GPT-2-124M-sized model beside PyTorch on the same weights; the tokenizers ' +
  'beside js-tiktoken. Each training configuration runs in its own process (peak RSS per configuration). ' +
  'A full run takes about half an hour and wants an otherwise idle machine; --quick is a smoke test.';

const SECTIONS = ['train', 'busy', 'matmul', 'generate', 'tokenizer'] as const;
const PRESETS = ['baby', 'plan', 'mini'] as const;

export const flags: readonly FlagSpec[] = [
  { name: 'json', type: 'bool', help: 'print one JSON object instead of the table' },
  { name: 'quick', type: 'bool', help: 'few steps and tokens: a smoke test, not figures to quote' },
  {
    name: 'only',
    type: 'string',
    metavar: 'LIST',
    help: `sections to run, comma-separated: ${SECTIONS.join(', ')} (default: all)`,
  },
  {
    name: 'presets',
    type: 'string',
    metavar: 'LIST',
    default: PRESETS.join(','),
    help: 'training presets, comma-separated',
  },
  {
    name: 'iters',
    type: 'int',
    min: 1,
    help: 'timed training steps per round (default: 20 baby, 8 plan, 4 mini)',
  },
  {
    name: 'threads',
    type: 'int',
    min: 1,
    max: 64,
    help: `the "all threads" columns (default: all cores, ${availableParallelism()} here)`,
  },
  {
    name: 'text',
    type: 'string',
    metavar: 'FILE',
    default: join('data', 'tinyshakespeare.txt'),
    help: 'training text, encoded char-level in memory',
  },
  { name: 'torch', type: 'bool', default: true, help: 'run the PyTorch side (--no-torch: tsgpt only)' },
  { name: 'with-ref-mini', type: 'bool', help: 'also time the ref backend on mini (minutes per step)' },
  {
    name: 'ckpt',
    type: 'string',
    metavar: 'FILE',
    help: 'time baby generation on this checkpoint (default: random weights)',
  },
];

export const examples = [
  'npm run bench',
  'tsgpt bench --quick --only matmul',
  'tsgpt bench --only train --presets baby --iters 40 --json > baby.json',
];

function list<T extends string>(flag: string, raw: string, allowed: readonly T[]): T[] {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of items)
    if (!allowed.includes(s as T))
      throw new UsageError(`--${flag}: unknown "${s}" (choose from ${allowed.join(', ')})`);
  if (items.length === 0) throw new UsageError(`--${flag}: empty list`);
  return [...new Set(items)] as T[];
}

/** --text (absolute: the measuring processes run in the repository root), or the shared copy of Tiny Shakespeare when the default is not there. */
function resolveText(args: Args): string {
  const text = args.string('text')!;
  if (existsSync(text)) return resolve(text);
  const shared = join('..', 'shared', 'data', 'tinyshakespeare.txt');
  if (!args.has('text') && existsSync(shared)) return resolve(shared);
  throw new UsageError(`text not found: ${text} (run \`tsgpt prepare\` first, or pass --text FILE)`);
}

export async function run(args: Args): Promise<number> {
  const sections = args.has('only') ? list('only', args.string('only')!, SECTIONS) : [...SECTIONS];
  const presets = list('presets', args.string('presets')!, PRESETS);
  const ckpt = args.string('ckpt');
  if (ckpt !== undefined && !existsSync(ckpt)) throw new UsageError(`--ckpt: not found: ${ckpt}`);
  const iters = args.int('iters');
  const { runBench, formatReport } = (await import(
    '../../../bench/run.js'
  )) as typeof import('../../../bench/run.js');
  const report = await runBench({
    sections,
    presets,
    quick: args.bool('quick'),
    ...(iters !== undefined ? { iters } : {}),
    threads: args.int('threads') ?? availableParallelism(),
    text: resolveText(args),
    torch: args.bool('torch'),
    withRefMini: args.bool('with-ref-mini'),
    ...(ckpt !== undefined ? { ckpt: resolve(ckpt) } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(args.bool('json') ? `${JSON.stringify(report)}\n` : formatReport(report));
  return 0;
}
