// Where a training step's time goes, kernel by kernel: wraps every Backend method (the names
// RefBackend implements, so wasm-internal helpers are not counted twice) with a clock, runs
// warm-up steps, then timed steps, and prints ms per step and calls per step for each kernel.
// Not a test and not part of `tsgpt bench`: a tool for deciding what to speed up next.
//   node dist/bench/profile.js [--preset baby] [--threads 2] [--steps 40] [--text FILE] [--overrides JSON]
// The optimizer's update (AdamW, or Muon's Newton-Schulz steps) is also timed as a whole.
// The clocks add ~1 us per kernel call; compare the kernels with each other, not with the bench.

import { existsSync } from 'node:fs';
import type { Backend } from '../src/backend/backend.js';
import { RefBackend } from '../src/backend/index.js';
import { SHAKESPEARE } from './paths.js';
import { argValue, median, presetTrainer } from './train-speed.js';

/** Replaces each kernel method of `be` by a timed wrapper; returns the totals it fills. */
function instrument(be: Backend): Map<string, { ms: number; calls: number }> {
  const totals = new Map<string, { ms: number; calls: number }>();
  const target = be as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(RefBackend.prototype)) {
    const f = target[name];
    if (name === 'constructor' || typeof f !== 'function') continue;
    const entry = { ms: 0, calls: 0 };
    totals.set(name, entry);
    target[name] = function (this: unknown, ...args: unknown[]) {
      const t = performance.now();
      const r = (f as (...a: unknown[]) => unknown).apply(this, args);
      entry.ms += performance.now() - t;
      entry.calls++;
      return r;
    };
  }
  return totals;
}

async function main(argv: readonly string[]): Promise<void> {
  const preset = argValue(argv, '--preset') ?? 'baby';
  const threads = Number(argValue(argv, '--threads') ?? 2);
  const steps = Number(argValue(argv, '--steps') ?? 40);
  const text = argValue(argv, '--text') ?? SHAKESPEARE;
  if (!existsSync(text)) throw new Error(`text not found: ${text} (--text FILE)`);
  const { createWasmBackend } = await import('../src/backend/wasm/index.js');
  const be = await createWasmBackend({ threads });
  try {
    const totals = instrument(be);
    // workers stay on: the profile of the multi-threaded step, not the governor's choice
    const overrides = JSON.parse(argValue(argv, '--overrides') ?? '{}') as Record<string, unknown>;
    const { trainer } = presetTrainer(preset, text, be, false, overrides);
    const opt = trainer.optimizer;
    const update = opt.update.bind(opt);
    const optimizer = { ms: 0, calls: 0 };
    opt.update = () => {
      const t = performance.now();
      update();
      optimizer.ms += performance.now() - t;
      optimizer.calls++;
    };
    for (let i = 0; i < 5; i++) trainer.timedStep();
    optimizer.ms = 0;
    optimizer.calls = 0;
    for (const e of totals.values()) {
      e.ms = 0;
      e.calls = 0;
    }
    const ms: number[] = [];
    for (let i = 0; i < steps; i++) ms.push(trainer.timedStep().ms);
    const step = ms.reduce((a, b) => a + b, 0) / steps;
    const rows = [...totals].filter(([, e]) => e.calls > 0).sort((a, b) => b[1].ms - a[1].ms);
    const kernels = rows.reduce((a, [, e]) => a + e.ms, 0) / steps;
    const out = [
      `${preset} on wasm (${be.flavor}), ${be.threads} thread(s), ${steps} steps: ` +
        `${step.toFixed(2)} ms/step mean, ${median(ms).toFixed(2)} median`,
      `${'kernel'.padEnd(22)}${'ms/step'.padStart(9)}${'share'.padStart(8)}${'calls/step'.padStart(12)}`,
      ...rows.map(
        ([name, e]) =>
          `${name.padEnd(22)}${(e.ms / steps).toFixed(3).padStart(9)}${`${((100 * e.ms) / steps / step).toFixed(1)}%`.padStart(8)}` +
          `${(e.calls / steps).toFixed(0).padStart(12)}`,
      ),
      `${'(outside kernels)'.padEnd(22)}${(step - kernels).toFixed(3).padStart(9)}${`${((100 * (step - kernels)) / step).toFixed(1)}%`.padStart(8)}`,
      `optimizer update (its kernels above included): ${(optimizer.ms / steps).toFixed(3)} ms/step, ` +
        `${((100 * optimizer.ms) / steps / step).toFixed(1)}% of the step`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await be.dispose();
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`profile: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
