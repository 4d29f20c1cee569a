// The benchmark program: `tsgpt bench` starts it (and `node dist/bench/main.js` runs it
// directly, with the same flags). It parses argv against the CLI command's spec
// (src/cli/commands/bench.ts, with the CLI's own parser, so both take exactly the same flags),
// runs the chosen sections (bench/sections/) and prints the report (bench/report.ts) on stdout,
// progress on stderr. The library never imports this; it imports the library. Never a test.

import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { type Args, formatHelp, parseArgs } from '../src/cli/args.js';
import * as command from '../src/cli/commands/bench.js';
import { formatError } from '../src/cli/main.js';
import { UsageError } from '../src/errors.js';
import { loadAverage, machineInfo, wasmKernels } from './machine.js';
import { SHAKESPEARE } from './paths.js';
import { type BenchOptions, type BenchReport, formatReport, type Section } from './report.js';
import { benchBusy } from './sections/busy.js';
import { benchGenerate } from './sections/generate.js';
import { benchMatmulSection } from './sections/matmul.js';
import { benchQuality } from './sections/quality.js';
import { benchTokenizers } from './sections/tokenizer.js';
import { benchTraining } from './sections/train.js';
import { checkTorch } from './torch.js';
import { charData } from './train-speed.js';

/** Runs the selected sections and returns every figure; prints nothing (see formatReport). */
async function runBench(o: BenchOptions): Promise<BenchReport> {
  const machine = machineInfo(o.threads);
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine,
    options: {
      sections: o.sections,
      presets: o.presets,
      quick: o.quick,
      iters: o.iters ?? null,
      threads: o.threads,
      text: o.text,
      torch: o.torch,
      withRefMini: o.withRefMini,
      ckpt: o.ckpt ?? null,
    },
    torch: { available: false, detail: 'skipped (--no-torch)' },
  };
  machine['wasmKernels'] = await wasmKernels();
  const needsTorch =
    o.sections.includes('train') || o.sections.includes('generate') || o.sections.includes('quality');
  if (!needsTorch) report.torch.detail = 'not needed by these sections';
  else if (o.torch) {
    o.log('[setup] checking PyTorch (scripts/ensure-torch.sh)');
    report.torch = await checkTorch();
  }
  const torch = report.torch.available;
  const vocabSize = charData(readFileSync(o.text, 'utf8')).tokenizer.vocabSize;

  if (o.sections.includes('train')) report.train = await benchTraining(o, torch, vocabSize);
  if (o.sections.includes('busy') && o.threads > 1) report.busy = await benchBusy(o);
  if (o.sections.includes('matmul')) report.matmul = await benchMatmulSection(o, vocabSize);
  if (o.sections.includes('generate')) report.generate = await benchGenerate(o, torch);
  if (o.sections.includes('tokenizer')) report.tokenizer = await benchTokenizers(o);
  if (o.sections.includes('quality')) report.quality = await benchQuality(o, torch);
  machine['loadAvgEnd'] = loadAverage();
  return report;
}

/** A comma-separated list of known names, each once: `--only train,matmul`. */
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

/** The flags as options; paths made absolute (the measuring processes run in the repository root). */
function benchOptions(args: Args): BenchOptions {
  const sections: Section[] = args.has('only')
    ? list('only', args.string('only')!, command.SECTIONS)
    : [...command.SECTIONS];
  const presets = list('presets', args.string('presets')!, command.PRESETS);
  const ckpt = args.string('ckpt');
  if (ckpt !== undefined && !existsSync(ckpt)) throw new UsageError(`--ckpt: not found: ${ckpt}`);
  const text = args.string('text') ?? SHAKESPEARE;
  if (!existsSync(text)) throw new UsageError(`text not found: ${text} (pass --text FILE)`);
  const iters = args.int('iters');
  return {
    sections,
    presets,
    quick: args.bool('quick'),
    ...(iters !== undefined ? { iters } : {}),
    threads: args.int('threads') ?? availableParallelism(),
    text: resolve(text),
    torch: args.bool('torch'),
    withRefMini: args.bool('with-ref-mini'),
    ...(ckpt !== undefined ? { ckpt: resolve(ckpt) } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(command, argv);
  if (args.help) {
    process.stdout.write(formatHelp(command));
    return 0;
  }
  const report = await runBench(benchOptions(args));
  process.stdout.write(args.bool('json') ? `${JSON.stringify(report)}\n` : formatReport(report));
  return 0;
}

// `tsgpt bench | head`: a closed pipe is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // one line, as the CLI prints it: `tsgpt bench: --only: unknown "x" (choose from ...)`
    process.stderr.write(`${formatError(err, command.name)}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
