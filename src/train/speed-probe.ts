// Times training steps of a preset on a text, the same way everywhere: the studio's speed
// request (studio/src/engine/worker.ts) and its Node side in bench/studio-speed.ts both call it,
// so the browser and Node run the very same steps. Not a benchmark harness: no repetition, no
// statistics, no printing; the backend is the caller's (and stays open).

import type { Backend } from '../backend/backend.js';
import { prepareDataset } from '../data/dataset.js';
import { CharTokenizer } from '../tokenizer/char.js';
import type { PresetName } from './config.js';
import { setupRun } from './setup.js';

export interface StepTiming {
  tokensPerSec: number;
  msPerStep: number;
  /** each timed step's own time, in order */
  stepMs: number[];
  threads: number;
  /** the wasm build that ran ('relaxed', 'simd'), '?' for a backend without one */
  flavor: string;
}

/** `warmup` untimed steps, then `steps` timed ones, of `preset` on `text` (characters, 90/10). */
export function timeTrainingSteps(
  backend: Backend,
  text: string,
  steps: number,
  warmup: number,
  preset: PresetName = 'baby',
): StepTiming {
  const tok = CharTokenizer.fromText(text);
  const ds = prepareDataset(text, tok);
  const data = {
    train: ds.train,
    val: ds.val,
    vocabSize: tok.vocabSize,
    tokenizer: tok.toJSON(),
    name: 'text',
  };
  const { trainer: t } = setupRun({ backend, data, preset });
  for (let i = 0; i < warmup; i++) t.timedStep();
  const stepMs: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) stepMs.push(t.timedStep().ms);
  const ms = performance.now() - t0;
  return {
    tokensPerSec: (steps * t.tokensPerStep * 1000) / ms,
    msPerStep: ms / steps,
    stepMs,
    threads: backend.threads ?? 1,
    flavor: (backend as { flavor?: string }).flavor ?? '?',
  };
}
