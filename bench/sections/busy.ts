// Section 1b of `tsgpt bench`: `baby` on wasm while another process (a spinning node) holds a
// core, with 1 thread, N threads under the ThreadGovernor (as `tsgpt train` runs), and N threads
// with the workers forced on: whether sharing a step among threads still pays on a busy machine.
// It measures and collects; bench/report.ts prints.

import { spawn } from 'node:child_process';
import { node, retried } from '../child.js';
import type { BenchOptions, BusyReport } from '../report.js';
import { median, type TrainSpeedResult } from '../train-speed.js';

/**
 * The "busy machine" check: `baby` on wasm while another process (a spinning node) holds a core,
 * with 1 thread, N threads under the ThreadGovernor (as `tsgpt train` runs), and N threads with
 * the workers forced on. Configurations take turns, two rounds; each figure is the median step.
 */
export async function benchBusy(o: BenchOptions): Promise<BusyReport> {
  const preset = 'baby';
  // long enough for the governor to settle, as over a training run (its first probe is at step 35)
  const iters = o.quick ? 40 : (o.iters ?? 300);
  const specs = [
    { label: '1 thread', threads: 1, governor: false },
    { label: `${o.threads} threads, governor`, threads: o.threads, governor: true },
    { label: `${o.threads} threads, workers always on`, threads: o.threads, governor: false },
  ];
  const got = specs.map(() => ({ ms: [] as number[], alone: 0, steps: 0, err: '' }));
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    for (let round = 0; round < 2; round++) {
      for (const [i, s] of specs.entries()) {
        o.log(
          `[busy] ${preset} with another process spinning: ${s.label}, round ${round + 1}/2, ${iters} steps`,
        );
        const r = await retried(
          () =>
            node(
              './train-speed.js',
              [
                ...['--preset', preset, '--backend', 'wasm', '--threads', String(s.threads)],
                ...['--iters', String(iters), '--warmup', '3', '--text', o.text, '--json'],
                ...(s.threads > 1 && !s.governor ? ['--fixed-threads'] : []),
              ],
              10 * 60_000,
            ),
          o.log,
        );
        const g = got[i]!;
        if (!r.json) {
          g.err = `failed: ${r.error}`;
          continue;
        }
        const t = r.json as unknown as TrainSpeedResult;
        g.ms.push(t.msPerIter);
        g.steps += t.stepMs.length;
        g.alone += t.aloneSteps ?? 0;
      }
    }
  } finally {
    hog.kill('SIGKILL');
  }
  return {
    preset,
    rows: specs.map((s, i) => {
      const g = got[i]!;
      return {
        ...s,
        msPerIter: g.ms.length > 0 ? median(g.ms) : null,
        aloneSteps: s.governor ? g.alone : null,
        steps: g.steps,
        ...(g.err ? { note: g.err } : {}),
      };
    }),
  };
}
