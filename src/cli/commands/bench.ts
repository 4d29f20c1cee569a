// `tsgpt bench`: its command line (flags, help) and nothing else. The benchmark is a program of
// its own outside the library (bench/main.ts: it starts PyTorch and a child process per
// measurement), so this command does not import it: it runs the built program, dist/bench/main.js,
// as a child process with the same flags, stdout and stderr, and exits with its exit code. The
// program parses its argv with this very spec, so the two cannot disagree about a flag.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MAX_THREADS } from '../../backend/index.js';
import { TsgptError } from '../../errors.js';
import type { Args, FlagSpec } from '../args.js';

export const name = 'bench';
export const summary = 'Measure training, matmul, generation and tokenizer speed, beside PyTorch';
export const description =
  'Times the presets baby, plan and mini on the ref backend, on wasm with 1 thread and with all threads, ' +
  'and in PyTorch (bench/pytorch/train_ref.py on /usr/bin/python3) with the kernels OpenBLAS detects, those ' +
  'of OPENBLAS_CORETYPE in the environment, OPENBLAS_CORETYPE=SkylakeX (AVX-512) and, on baby, Prescott (SSE); baby while another process spins on a core (busy: 1 thread, all threads ' +
  'under the thread governor, all threads forced on); matmul GFLOP/s at the presets\u2019 shapes; greedy generation with and ' +
  'without the KV cache, and a GPT-2-124M-sized model beside PyTorch on the same weights; the tokenizers ' +
  'beside js-tiktoken; time to a good model (quality): PyTorch trains baby for 2000 steps, tsgpt its quick preset to the ' +
  'same val loss (whole split), and the ratio of the two wall times. Each training configuration runs in its own process (peak RSS per configuration). ' +
  'A full run takes about half an hour and wants an otherwise idle machine; --quick is a smoke test.';

/** The sections of a run, in the order they run (`--only`). */
export const SECTIONS = ['train', 'busy', 'matmul', 'generate', 'tokenizer', 'quality'] as const;
/** The presets the training section can time (`--presets`). */
export const PRESETS = ['baby', 'plan', 'mini'] as const;

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
    max: MAX_THREADS,
    help: `the "all threads" columns (default: all cores, ${availableParallelism()} here)`,
  },
  {
    name: 'text',
    type: 'string',
    metavar: 'FILE',
    help: 'training text, encoded char-level in memory (default: Tiny Shakespeare, assets/tinyshakespeare.txt)',
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
  'tsgpt bench --only quality',
];

/** The flags as given (defaults left out: the program fills them in from the same spec). */
export function argvOf(args: Args): string[] {
  const argv: string[] = [];
  for (const f of flags) {
    if (!args.has(f.name)) continue;
    if (f.type === 'bool') argv.push(args.bool(f.name) ? `--${f.name}` : `--no-${f.name}`);
    else if (f.type === 'string') argv.push(`--${f.name}=${args.string(f.name)}`);
    else argv.push(`--${f.name}=${f.type === 'int' ? args.int(f.name) : args.float(f.name)}`);
  }
  return argv;
}

export async function run(args: Args): Promise<number> {
  // dist/src/cli/commands/ -> dist/bench/main.js: built beside the CLI by `npm run build`
  const program = fileURLToPath(new URL('../../../bench/main.js', import.meta.url));
  if (!existsSync(program))
    throw new TsgptError(`the benchmark is not built: ${program} is missing (npm run build)`);
  const child = spawn(process.execPath, [program, ...argvOf(args)], { stdio: 'inherit' });
  // Ctrl-C reaches the whole process group (the program too); a `kill` of this process alone
  // is passed on, so the program never outlives the command
  const forward = () => child.kill('SIGTERM');
  process.once('SIGTERM', forward);
  return new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new TsgptError(`could not start the benchmark: ${e.message}`)));
    // killed by a signal: the shell's convention, 128 + its number
    child.on('exit', (code, signal) =>
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
    );
  }).finally(() => process.off('SIGTERM', forward));
}
