// The "bigger models" measurements: step time and the process's peak RSS of training presets
// with and without gradient checkpointing (and bf16 storage), and data parallelism against
// intra-op threading, each configuration in a child process of its own (train-speed.ts). Prints
// a markdown table and one JSON line per measurement. Not a test; run it under
// `flock /work/bench.lock` or alone: it is heavy.
//
//   node dist/bench/bigger.js --what memory --presets mini,shakespeare --iters 3
//   node dist/bench/bigger.js --what parallel --presets baby,plan,mini --iters 10

import { node } from './child.js';
import { argValue } from './train-speed.js';

interface Variant {
  name: string;
  args: string[];
}

const MEMORY: Variant[] = [
  { name: 'fp32', args: ['--threads', '2'] },
  { name: 'grad-checkpoint', args: ['--threads', '2', '--overrides', '{"gradCheckpoint":true}'] },
  { name: 'bf16', args: ['--threads', '2', '--overrides', '{"precision":"bf16"}'] },
  {
    name: 'grad-checkpoint + bf16',
    args: ['--threads', '2', '--overrides', '{"gradCheckpoint":true,"precision":"bf16"}'],
  },
];
const PARALLEL: Variant[] = [
  { name: '1 thread', args: ['--threads', '1'] },
  { name: 'intra-op, 2 threads', args: ['--threads', '2', '--fixed-threads'] },
  { name: 'intra-op, 2 threads + governor', args: ['--threads', '2'] },
  { name: 'data parallel, 2 ranks x 1 thread', args: ['--threads', '1', '--data-parallel', '2'] },
];

async function main(argv: readonly string[]): Promise<void> {
  const what = argValue(argv, '--what') ?? 'memory';
  const presets = (argValue(argv, '--presets') ?? 'mini,shakespeare').split(',');
  const iters = argValue(argv, '--iters') ?? '3';
  const warmup = argValue(argv, '--warmup') ?? '1';
  const extra = argValue(argv, '--variants');
  let variants = what === 'parallel' ? PARALLEL : MEMORY;
  if (extra) variants = JSON.parse(extra) as Variant[];
  const rows: string[] = [
    '| preset | variant | ms/step (median) | tokens/s | peak RSS MiB | wasm MiB | last loss |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const preset of presets)
    for (const v of variants) {
      process.stderr.write(`[bigger] ${preset} ${v.name}\n`);
      const r = await node('./train-speed.js', [
        '--preset',
        preset,
        '--iters',
        iters,
        '--warmup',
        warmup,
        '--json',
        ...v.args,
      ]);
      if (!r.json) {
        rows.push(`| ${preset} | ${v.name} | failed: ${r.error} | | | | |`);
        continue;
      }
      const j = r.json as Record<string, number>;
      process.stdout.write(`${JSON.stringify({ variant: v.name, ...r.json })}\n`);
      rows.push(
        `| ${preset} | ${v.name} | ${j['msPerIter']!.toFixed(0)} | ${j['tokensPerSec']!.toFixed(0)} | ${j['peakRssMiB']!.toFixed(0)} | ${j['wasmMiB'] === null ? '' : j['wasmMiB']!.toFixed(0)} | ${j['lastLoss']!.toFixed(4)} |`,
      );
    }
  process.stdout.write(`${rows.join('\n')}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`bigger: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
