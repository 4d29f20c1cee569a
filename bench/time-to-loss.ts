// Wall time to a target loss: trains one configuration on char-level Tiny Shakespeare, keeps a
// copy of the weights every --snapshot-every steps (with the training wall time at that point),
// and afterwards finds the first copy whose loss on the whole val split (splitLoss: every token
// predicted once) is at or below --target. What it counts: the training loop's wall time up to
// that step, snapshot copies included; not the evaluations (made after training, on the copies),
// startup, data loading or building the model. Run in a process of its own by the ablation
// (bench/ablation.ts) and the bench's quality section; prints one JSON line. Not a test.
//
//   node dist/bench/time-to-loss.js --preset quick --target 1.92 --json
//   node dist/bench/time-to-loss.js --preset baby --overrides '{"positional":"rope"}' --target 1.92 --stop-at-target

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Backend } from '../src/backend/backend.js';
import { createBackend } from '../src/backend/index.js';
import { splitLoss } from '../src/train/evaluate.js';
import { setupRun } from '../src/train/setup.js';
import { SHAKESPEARE } from './paths.js';
import { argValue, charData, median } from './train-speed.js';

/** What one run reports (the JSON line). */
export interface TimeToLossResult {
  preset: string;
  overrides: Record<string, unknown>;
  target: number | null;
  threads: number;
  params: number;
  /** steps trained (maxIters, or fewer with stopAtTarget) */
  steps: number;
  /** the first snapshot step at or below the target, or null */
  stepsToTarget: number | null;
  /** training wall time (s) up to that step, or null */
  secondsToTarget: number | null;
  /** val loss (whole split) at stepsToTarget */
  lossAtTarget: number | null;
  /** val loss (whole split) after the last step */
  finalLoss: number;
  /** training wall time of all steps, s */
  trainSeconds: number;
  msPerStep: number;
  /** [step, val loss] of every snapshot evaluated */
  evaluated: [number, number][];
  /** steps the thread governor ran on one thread (a busy machine) */
  aloneSteps: number | null;
  loadAvg: number[];
}

export interface TimeToLossOptions {
  preset: string;
  overrides: Record<string, unknown>;
  /** null: train and report the final loss only */
  target: number | null;
  snapshotEvery: number;
  threads: number;
  text: string;
  /** evaluate every snapshot, not only the ones the search needs */
  curve?: boolean;
  /**
   * stop training at the first snapshot at or below the target: snapshots are evaluated as they
   * are taken once the mean training loss since the last one is within 0.15 of the target (the
   * evaluations pause the clock). For ablations, where only the crossing matters.
   */
  stopAtTarget?: boolean;
  log?: (line: string) => void;
}

export async function timeToLoss(o: TimeToLossOptions): Promise<TimeToLossResult> {
  const data = charData(readFileSync(o.text, 'utf8'));
  const backend: Backend = await createBackend('wasm', { threads: o.threads });
  try {
    const { trainer, model, config } = setupRun({
      backend,
      data: {
        train: data.train,
        val: data.val,
        vocabSize: data.tokenizer.vocabSize,
        tokenizer: data.tokenizer.toJSON(),
        name: 'tinyshakespeare',
      },
      preset: o.preset,
      overrides: o.overrides,
    });
    const store = model.store.data;
    const snaps: { step: number; seconds: number; weights: Float32Array }[] = [];
    const stepMs: number[] = [];
    // evaluate copies on demand: the loss of snapshot i, cached (the live weights put back after)
    const losses = new Map<number, number>();
    const lossAt = (i: number): number => {
      let l = losses.get(i);
      if (l === undefined) {
        const live = Float32Array.from(store);
        store.set(snaps[i]!.weights);
        l = splitLoss(model, data.val, 64);
        store.set(live);
        losses.set(i, l);
        o.log?.(`val loss at step ${snaps[i]!.step}: ${l.toFixed(4)}`);
      }
      return l;
    };
    let trainMs = 0; // the training loop's wall time, evaluations left out
    let sinceSnap = 0; // training loss summed since the last snapshot
    let early = false;
    while (trainer.step < config.maxIters && !early) {
      const t = performance.now();
      const info = trainer.timedStep();
      stepMs.push(info.ms);
      sinceSnap += info.loss;
      if (trainer.step % o.snapshotEvery === 0 || trainer.step === config.maxIters) {
        snaps.push({
          step: trainer.step,
          seconds: (trainMs + performance.now() - t) / 1000,
          weights: Float32Array.from(store),
        });
        const mean = sinceSnap / o.snapshotEvery;
        sinceSnap = 0;
        trainMs += performance.now() - t;
        if (o.stopAtTarget && o.target !== null && mean < o.target + 0.15)
          early = lossAt(snaps.length - 1) <= o.target;
      } else trainMs += performance.now() - t;
      if (trainer.step % 100 === 0)
        o.log?.(`step ${trainer.step}: ${(trainMs / 1000).toFixed(1)} s, loss ${info.loss.toFixed(3)}`);
    }
    const trainSeconds = trainMs / 1000;
    const last = snaps.length - 1;
    const finalLoss = lossAt(last);
    if (o.curve) for (let i = 0; i < last; i++) lossAt(i);
    let hit: number | null = null;
    if (o.target !== null && finalLoss <= o.target) {
      // the loss falls nearly monotonically: bisect for the first snapshot at or below the target,
      // then step back while the one before is also below (a bump can hide an earlier crossing)
      let lo = -1; // above the target (or before the first snapshot)
      let hi = last; // at or below
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (lossAt(mid) <= o.target) hi = mid;
        else lo = mid;
      }
      while (hi > 0 && lossAt(hi - 1) <= o.target) hi--;
      hit = hi;
    }
    const g = trainer.governor;
    return {
      preset: o.preset,
      overrides: o.overrides,
      target: o.target,
      threads: o.threads,
      params: model.numParams(),
      steps: trainer.step,
      stepsToTarget: hit === null ? null : snaps[hit]!.step,
      secondsToTarget: hit === null ? null : snaps[hit]!.seconds,
      lossAtTarget: hit === null ? null : losses.get(hit)!,
      finalLoss,
      trainSeconds,
      msPerStep: median(stepMs.slice(Math.min(5, stepMs.length - 1))),
      evaluated: [...losses.entries()].sort((a, b) => a[0] - b[0]).map(([i, l]) => [snaps[i]!.step, l]),
      aloneSteps: g ? g.aloneSteps : null,
      loadAvg: (await import('node:os')).loadavg(),
    };
  } finally {
    await backend.dispose?.();
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const target = argValue(argv, '--target');
  const r = await timeToLoss({
    preset: argValue(argv, '--preset') ?? 'baby',
    overrides: JSON.parse(argValue(argv, '--overrides') ?? '{}') as Record<string, unknown>,
    target: target === undefined ? null : Number(target),
    snapshotEvery: Number(argValue(argv, '--snapshot-every') ?? 50),
    threads: Number(argValue(argv, '--threads') ?? 2),
    text: argValue(argv, '--text') ?? SHAKESPEARE,
    curve: argv.includes('--curve'),
    stopAtTarget: argv.includes('--stop-at-target'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2));
