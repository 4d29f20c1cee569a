// The ladder: every autoregressive model, from the bigram up to GPT, trained on the same text
// for the same wall-clock budget and then measured the same way, on the whole val split (every
// token once, evaluateTokens): the table that shows why each step up the ladder was taken.
// Each model trains from its own preset (DEFAULT_PRESET; overrides on top), with its schedule
// fitted to the budget: a few calibration steps time a step and the cosine decay is set to end
// with the budget. Training runs for the whole budget whatever the calibration said (a shared
// machine's step time drifts): cut short if the steps are slower, on at the final learning
// rate if faster. Plus the bigram's counting solution, for the floor that needs no training.
// Not here: printing and files (the CLI's `tsgpt ladder`).

import type { Backend } from '../backend/backend.js';
import { countingSolution } from '../model/bigram.js';
import type { Arch } from '../model/config.js';
import { describeModel } from '../model/models.js';
import { tokenizerFromJSON } from '../tokenizer/index.js';
import { DEFAULT_PRESET, type PresetName } from './config.js';
import { evaluateTokens } from './evaluate.js';
import { buildRun, planRun, type RunData } from './setup.js';

/** The rungs, bottom up. */
export const LADDER_ARCHS: readonly Arch[] = ['bigram', 'mlp', 'rnn', 'lstm', 'gru', 'gpt'];

/** One rung: what was trained, for how long, and how well it predicts the val split. */
export interface LadderRow {
  /** the arch, or 'bigram-counts' for the counting solution */
  name: string;
  arch: Arch;
  /** the preset it trained from (null: the counting solution) */
  preset: PresetName | null;
  /** describeModel's line */
  model: string;
  params: number;
  /** optimizer steps taken, and the tokens they read */
  steps: number;
  tokens: number;
  /** seconds of training (the budgeted run; calibration not included) */
  trainSeconds: number;
  /** seconds of the calibration steps before it (a separate, discarded run) */
  calibrateSeconds: number;
  /** mean nats per token over the whole val split, and bits per character of that text */
  valLoss: number;
  bitsPerChar: number;
  evalSeconds: number;
}

/** What the ladder reports while it runs. */
export type LadderEvent =
  | { type: 'start'; arch: Arch; preset: PresetName; model: string; params: number }
  | { type: 'calibrated'; arch: Arch; msPerStep: number; steps: number }
  | { type: 'step'; arch: Arch; step: number; steps: number; loss: number; seconds: number }
  | { type: 'eval'; arch: Arch; done: number; total: number }
  | { type: 'row'; row: LadderRow };

export interface LadderOptions {
  backend: Backend;
  /** the text's token ids, split, and its tokenizer (a char tokenizer gives bits per character) */
  data: RunData;
  /** seconds of training per model */
  budgetSeconds: number;
  /** which rungs, in order (default LADDER_ARCHS); the counting solution comes with 'bigram' */
  archs?: readonly Arch[];
  /** config keys on top of a rung's preset, by arch (e.g. { lstm: { nHidden: 128 } }) */
  overrides?: Partial<Record<Arch, Readonly<Record<string, unknown>>>>;
  /** what errors call the overrides (default 'overrides') */
  overridesName?: string;
  /** windows per forward pass of the evaluation (default 32) */
  evalBatchSize?: number;
  /** the clock, in milliseconds (default performance.now; a test's fake one makes the steps fixed) */
  now?: () => number;
  onEvent?: (e: LadderEvent) => void;
  /** checked between steps: stop the ladder (what is done so far is returned) */
  shouldStop?: () => boolean;
}

/** Calibration: at least this many steps after the first (which captures the step) ... */
const CALIBRATE_MIN_STEPS = 3;
/** ... and until this share of the budget has passed, or CALIBRATE_MAX_STEPS. */
const CALIBRATE_SHARE = 0.04;
const CALIBRATE_MAX_STEPS = 50;

/**
 * Trains and measures each rung in turn; returns the rows (the counting solution after the
 * bigram). Await it: it yields to the event loop between steps, so a caller can interrupt.
 * @example const rows = await runLadder({ backend, data, budgetSeconds: 120 });
 */
export async function runLadder(o: LadderOptions): Promise<LadderRow[]> {
  const now = o.now ?? (() => performance.now());
  const stop = o.shouldStop ?? (() => false);
  const tok = tokenizerFromJSON(o.data.tokenizer);
  const evalOpts = (arch: Arch) => ({
    batchSize: o.evalBatchSize ?? 32,
    maxWindows: Number.POSITIVE_INFINITY,
    what: `${o.data.name} (val)`,
    onProgress: (done: number, total: number) => o.onEvent?.({ type: 'eval', arch, done, total }),
  });
  const rows: LadderRow[] = [];
  for (const arch of o.archs ?? LADDER_ARCHS) {
    if (stop()) break;
    const preset = DEFAULT_PRESET[arch];
    const given = o.overrides?.[arch] ?? {};
    const plan = (extra: Readonly<Record<string, unknown>>) =>
      planRun({
        data: o.data,
        preset,
        overrides: { ...given, ...extra },
        overridesName: `${o.overridesName ?? 'overrides'} (${arch})`,
      });
    // 1. time a few steps of the preset as it is (a run of its own, then dropped)
    const probe = buildRun(plan({}), o.backend);
    o.onEvent?.({
      type: 'start',
      arch,
      preset,
      model: describeModel(arch, probe.model.config),
      params: probe.model.numParams(),
    });
    const c0 = now();
    probe.trainer.timedStep(); // captures the step: slower than the rest
    const times: number[] = [];
    while (
      times.length < CALIBRATE_MIN_STEPS ||
      (times.length < CALIBRATE_MAX_STEPS && now() - c0 < CALIBRATE_SHARE * o.budgetSeconds * 1000)
    ) {
      const s0 = now();
      probe.trainer.timedStep();
      times.push(now() - s0);
      await yieldSometimes(now);
    }
    const calibrateSeconds = (now() - c0) / 1000;
    times.sort((a, b) => a - b);
    const msPerStep = times[Math.floor(times.length / 2)]!;
    const steps = Math.max(1, Math.floor((o.budgetSeconds * 1000) / msPerStep));
    o.onEvent?.({ type: 'calibrated', arch, msPerStep, steps });
    // 2. the run itself: the preset's schedule stretched to `steps`; every model trains for the
    // same wall-clock time, so it stops at the budget, not at `steps` (past them the learning
    // rate stays at the schedule's last, minLr)
    const warmup = Math.min(probe.config.warmupIters, Math.floor(steps / 10));
    const { model, trainer } = buildRun(
      plan({ maxIters: steps, lrDecayIters: steps, warmupIters: warmup }),
      o.backend,
    );
    const t0 = now();
    const budgetMs = o.budgetSeconds * 1000;
    while (now() - t0 < budgetMs && !stop()) {
      const s = trainer.timedStep();
      if (trainer.step % 10 === 0)
        o.onEvent?.({
          type: 'step',
          arch,
          step: trainer.step,
          steps,
          loss: s.loss,
          seconds: (now() - t0) / 1000,
        });
      await yieldSometimes(now);
    }
    const trainSeconds = (now() - t0) / 1000;
    if (stop()) break;
    // 3. the whole val split, every token once
    const e0 = now();
    const r = evaluateTokens(model, tok, o.data.val, evalOpts(arch));
    const row: LadderRow = {
      name: arch,
      arch,
      preset,
      model: describeModel(arch, model.config),
      params: model.numParams(),
      steps: trainer.step,
      tokens: trainer.step * trainer.tokensPerStep,
      trainSeconds,
      calibrateSeconds,
      valLoss: r.loss,
      bitsPerChar: r.bitsPerChar,
      evalSeconds: (now() - e0) / 1000,
    };
    rows.push(row);
    o.onEvent?.({ type: 'row', row });
    if (arch === 'bigram') {
      // the floor without training: the table counted from the train split (add-one smoothing)
      const k0 = now();
      const V = o.data.vocabSize;
      model.loadStateDict(
        new Map([['wte.weight', { shape: [V, V], data: countingSolution(o.data.train, V) }]]),
      );
      const seconds = (now() - k0) / 1000;
      const e1 = now();
      const c = evaluateTokens(model, tok, o.data.val, evalOpts(arch));
      const counted: LadderRow = {
        ...row,
        name: 'bigram-counts',
        preset: null,
        model: `bigram: the ${V} x ${V} table counted from the train split (add-one smoothing)`,
        steps: 0,
        tokens: o.data.train.length,
        trainSeconds: seconds,
        calibrateSeconds: 0,
        valLoss: c.loss,
        bitsPerChar: c.bitsPerChar,
        evalSeconds: (now() - e1) / 1000,
      };
      rows.push(counted);
      o.onEvent?.({ type: 'row', row: counted });
    }
  }
  return rows;
}

let lastYield = 0;

/**
 * Lets the event loop run (Ctrl-C, progress redraws) every 50 ms: a timer costs a millisecond,
 * as long as a whole step of the bigram.
 */
async function yieldSometimes(now: () => number): Promise<void> {
  if (now() - lastYield < 50) return;
  await new Promise((r) => setTimeout(r, 0));
  lastYield = now();
}
