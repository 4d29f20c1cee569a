// The ablation behind the `quick` preset: how much each change buys in wall time to a target
// loss on the whole val split (default 1.92: nanoGPT's baby after 2000 steps, in PyTorch).
// Three tables: each change alone on nanoGPT's `baby` recipe (AdamW 1e-3, cosine over 2000
// steps), each change taken out of `quick`, and `quick` at other depths and numbers of
// Newton-Schulz steps. Steps to the target are counted exactly (a snapshot every --every steps,
// evaluated on the whole split; noise cannot move them); the step time is measured separately
// (first), every configuration in turn for a few rounds, and wall time = steps x median step
// time. Each run is a process of its own (time-to-loss.js, train-speed.js). Long: a few hours on two cores. Not a test and not part of `tsgpt bench`.
//
//   node dist/bench/ablation.js [--target 1.92] [--seeds 1] [--tables alone,without,size] [--only NAME,NAME]
//                               [--rounds 3] [--json]

import { PRESETS } from '../src/train/config.js';
import { node } from './child.js';
import type { TimeToLossResult } from './time-to-loss.js';
import { argValue, median } from './train-speed.js';

/** One row: a configuration as a preset and overrides. */
interface Row {
  name: string;
  table: 'alone' | 'without' | 'size';
  preset: string;
  overrides: Record<string, unknown>;
  /** snapshot interval (steps) */
  every: number;
}

/** quick's options, each with what taking it out of quick puts back (baby's choice). */
const CHANGES: { name: string; on: Record<string, unknown>; off: Record<string, unknown> }[] = [
  { name: 'rotary positions', on: { positional: 'rope' }, off: { positional: 'learned' } },
  { name: 'RMSNorm', on: { normType: 'rmsnorm' }, off: { normType: 'layernorm' } },
  { name: 'QK-norm', on: { qkNorm: true }, off: { qkNorm: false } },
  { name: 'ReLU^2', on: { activation: 'relu2' }, off: { activation: 'gelu' } },
  { name: 'untied head', on: { tieWeights: false }, off: { tieWeights: true } },
  { name: 'Muon', on: { optimizer: 'muon' }, off: { optimizer: 'adamw' } },
  { name: 'warmup-stable-decay', on: { lrSchedule: 'wsd' }, off: { lrSchedule: 'cosine' } },
];
/** tried alone only (not in quick) */
const EXTRA: { name: string; on: Record<string, unknown> }[] = [
  { name: 'SwiGLU', on: { activation: 'swiglu' } },
  { name: 'logit soft-cap 30', on: { logitSoftcap: 30 } },
];

function rows(): Row[] {
  const out: Row[] = [{ name: 'baby (nanoGPT)', table: 'alone', preset: 'baby', overrides: {}, every: 50 }];
  for (const c of [...CHANGES, ...EXTRA])
    out.push({ name: `+ ${c.name}`, table: 'alone', preset: 'baby', overrides: c.on, every: 50 });
  out.push({ name: 'quick (all of the above)', table: 'alone', preset: 'quick', overrides: {}, every: 25 });
  out.push({ name: 'quick', table: 'without', preset: 'quick', overrides: {}, every: 25 });
  for (const c of CHANGES)
    out.push({ name: `- ${c.name}`, table: 'without', preset: 'quick', overrides: c.off, every: 25 });
  // quick at other depths and Newton-Schulz steps, the rest of its recipe as it is (600 steps);
  // no commas in the names: --only takes a comma-separated list
  const q = PRESETS.quick.config;
  for (const [layers, ns] of [
    [4, 5],
    [4, 3],
    [3, 3],
    [2, 3],
    [1, 3],
  ] as const) {
    const isQuick = layers === q.nLayer && ns === q.muonNsSteps;
    out.push({
      name: `${layers} layer${layers > 1 ? 's' : ''} with ${ns} Newton-Schulz steps${isQuick ? ' (quick)' : ''}`,
      table: 'size',
      preset: 'quick',
      overrides: { nLayer: layers, muonNsSteps: ns },
      every: 25,
    });
  }
  return out;
}

interface Result {
  row: Row;
  seeds: { seed: number; steps: number | null; finalLoss: number; stepsRun: number }[];
  msPerStep: number | null;
}

async function main(argv: readonly string[]): Promise<void> {
  const target = Number(argValue(argv, '--target') ?? 1.92);
  const nSeeds = Number(argValue(argv, '--seeds') ?? 1);
  const only = argValue(argv, '--only')?.split(',');
  const rounds = Number(argValue(argv, '--rounds') ?? 3);
  const tables = argValue(argv, '--tables')?.split(',');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const todo = rows().filter(
    (r) => (!only || only.includes(r.name)) && (!tables || tables.includes(r.table)),
  );
  const results: Result[] = todo.map((row) => ({ row, seeds: [], msPerStep: null }));
  // 1. the step time of each configuration, in turns (a burst of load hits them all alike); first,
  // so that the log of a run stopped part-way still gives wall times
  const ms: number[][] = results.map(() => []);
  for (let round = 0; round < rounds; round++)
    for (const [i, res] of results.entries()) {
      const r = await node('./train-speed.js', [
        ...['--preset', res.row.preset, '--overrides', JSON.stringify(res.row.overrides)],
        ...['--backend', 'wasm', '--threads', '2', '--iters', '30', '--warmup', '5', '--json'],
      ]);
      if (r.json) ms[i]!.push(r.json['msPerIter'] as number);
    }
  for (const [i, res] of results.entries()) {
    res.msPerStep = ms[i]!.length ? median(ms[i]!) : null;
    log(`[ablation] ${res.row.name}: ${res.msPerStep?.toFixed(1) ?? '-'} ms/step`);
  }
  // 2. steps to the target, per seed
  for (const res of results) {
    for (let s = 0; s < nSeeds; s++) {
      const seed = 1337 + s;
      log(`[ablation] ${res.row.name}, seed ${seed}: training to ${target}`);
      const r = await node(
        './time-to-loss.js',
        [
          ...['--preset', res.row.preset, '--overrides', JSON.stringify({ ...res.row.overrides, seed })],
          ...['--target', String(target), '--snapshot-every', String(res.row.every), '--stop-at-target'],
        ],
        3 * 3600_000,
      );
      if (!r.json) {
        log(`  failed: ${r.error}`);
        continue;
      }
      const t = r.json as unknown as TimeToLossResult;
      res.seeds.push({ seed, steps: t.stepsToTarget, finalLoss: t.finalLoss, stepsRun: t.steps });
      log(
        `  steps to ${target}: ${t.stepsToTarget ?? `not reached (${t.finalLoss.toFixed(4)} after ${t.steps})`}`,
      );
    }
  }
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ target, results })}\n`);
  else process.stdout.write(format(target, results));
}

/** The markdown tables, one per table asked for. */
function format(target: number, results: readonly Result[]): string {
  const L: string[] = [];
  // the row the others are compared with: baby, quick, and the size table's first (quick's old size)
  const base = (t: Row['table']) =>
    results.find((r) => r.row.table === t && (t === 'size' || !r.row.name.match(/^[+-] /)));
  const steps = (r: Result) => {
    const got = r.seeds.map((s) => s.steps).filter((s): s is number => s !== null);
    return got.length === r.seeds.length && got.length > 0 ? median(got) : null;
  };
  const titles = {
    alone: `Each change alone on baby's recipe (AdamW 1e-3, cosine over 2000 steps): time to val loss ${target}`,
    without: `Each change taken out of quick: time to val loss ${target}`,
    size: `quick's depth and Newton-Schulz steps: time to val loss ${target}`,
  };
  for (const table of ['alone', 'without', 'size'] as const) {
    if (!results.some((r) => r.row.table === table)) continue;
    const b = base(table);
    L.push(
      '',
      titles[table],
      '',
      '| configuration | steps to target | ms/step | wall time (s) | vs first row |',
      '|---|---|---|---|---|',
    );
    const bTime = b && steps(b) !== null && b.msPerStep ? (steps(b)! * b.msPerStep) / 1000 : null;
    for (const r of results.filter((x) => x.row.table === table)) {
      const n = steps(r);
      const seeds = r.seeds.map((s) => (s.steps === null ? `>${s.stepsRun}` : String(s.steps))).join(', ');
      const time = n !== null && r.msPerStep ? (n * r.msPerStep) / 1000 : null;
      L.push(
        `| ${r.row.name} | ${n === null ? `not reached (${seeds})` : r.seeds.length > 1 ? `${n} (${seeds})` : n} | ` +
          `${r.msPerStep?.toFixed(1) ?? '-'} | ${time?.toFixed(1) ?? '-'} | ` +
          `${time !== null && bTime !== null ? `${(bTime / time).toFixed(2)}x` : '-'} |`,
      );
    }
  }
  return `${L.join('\n')}\n`;
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`ablation: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
