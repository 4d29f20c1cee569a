// The `quality` section of `tsgpt bench`: time to a good model, not time per step. PyTorch trains
// nanoGPT's `baby` recipe for 2000 steps (bench/pytorch/train_ref.py, OpenBLAS's own kernel
// choice), and its loss over the whole val split sets the target; then tsgpt trains its `quick`
// recipe and the wall time to its first snapshot at or below that loss is taken
// (bench/time-to-loss.ts). Both sides count the training loop only: not startup, data loading or
// building the model, and no evaluation (PyTorch's periodic estimates are switched off; tsgpt's
// snapshots are evaluated after training). Each side runs in a process of its own, one after
// the other. It measures and collects; bench/report.ts prints.

import { node, runChild } from '../child.js';
import type { BenchOptions, QualityReport } from '../report.js';
import type { TimeToLossResult } from '../time-to-loss.js';
import { PYTHON, TRAIN_REF } from '../torch.js';

/** tsgpt's side: the recipe timed to the target (a preset of src/train/config.ts). */
export const QUALITY_PRESET = 'quick';

export async function benchQuality(o: BenchOptions, torch: boolean): Promise<QualityReport> {
  const iters = o.quick ? 200 : 2000;
  const notes = [
    "PyTorch: nanoGPT's baby recipe (bench/pytorch/train_ref.py --preset baby: 4 layers, 4 heads, 128 wide, " +
      `context 64, batch 12, AdamW lr 1e-3 cosine to 1e-4, ${iters} steps), OPENBLAS_CORETYPE unset ` +
      "(OpenBLAS's own kernel choice), torch's threads as installed; its periodic loss estimates off",
    `tsgpt: the \`${QUALITY_PRESET}\` preset on wasm, ${o.threads} threads; weights copied every 25 steps and ` +
      'evaluated after training; the time is that of the training loop up to the first copy at or below the target',
    'val loss: the whole val split (10% of Tiny Shakespeare), consecutive windows of the context length, ' +
      'every token but the first predicted once, the same windows on both sides',
    'wall times: the training loop only (no startup, data loading, model building or evaluation), on a machine ' +
      'other programs may share: the ratio is the figure to read',
  ];
  if (!torch) return { error: 'needs PyTorch (the target is its loss): run without --no-torch', notes };
  o.log(`[quality] PyTorch baby, ${iters} steps (about ${o.quick ? 10 : 90} s on an idle machine)`);
  const t = await runChild(
    PYTHON,
    [
      TRAIN_REF,
      ...['--preset', 'baby', '--text', o.text, '--iters', String(iters), '--eval-iters', '0'],
      ...['--openblas-coretype', 'default', '--full-val', '--json'],
    ],
    30 * 60_000,
  );
  if (!t.json) return { error: `PyTorch failed: ${t.error}`, notes };
  const target = t.json['full_val_loss'] as number;
  const torchSeconds = t.json['train_s'] as number;
  o.log(
    `[quality] PyTorch: val loss ${target.toFixed(4)} after ${torchSeconds.toFixed(1)} s; tsgpt's ${QUALITY_PRESET} to it`,
  );
  const r = await node(
    './time-to-loss.js',
    [
      ...['--preset', QUALITY_PRESET, '--target', String(target), '--snapshot-every', '25'],
      ...['--threads', String(o.threads), '--text', o.text],
      ...(o.quick ? ['--overrides', '{"maxIters":100,"lrDecayIters":100}'] : []),
    ],
    30 * 60_000,
  );
  const torchRun = {
    steps: iters,
    seconds: torchSeconds,
    valLoss: target,
    msPerStep: t.json['ms_per_iter'] as number,
    blasCore: (t.json['openblas_core'] as string | null) ?? 'unknown',
    threads: `torch ${String(t.json['threads'])} + BLAS ${String(t.json['blas_threads'])}`,
  };
  if (!r.json) return { error: `tsgpt failed: ${r.error}`, torch: torchRun, notes };
  const q = r.json as unknown as TimeToLossResult;
  return {
    torch: torchRun,
    tsgpt: {
      preset: QUALITY_PRESET,
      threads: q.threads,
      steps: q.steps,
      stepsToTarget: q.stepsToTarget,
      seconds: q.secondsToTarget,
      valLoss: q.lossAtTarget,
      finalLoss: q.finalLoss,
      trainSeconds: q.trainSeconds,
      msPerStep: q.msPerStep,
      aloneSteps: q.aloneSteps,
    },
    ratio: q.secondsToTarget === null ? null : torchSeconds / q.secondsToTarget,
    notes,
  };
}
