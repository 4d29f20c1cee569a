// `tsgpt train`: config (preset < config file < flags) + prepared data -> a trained checkpoint,
// with a progress bar, a JSONL log of steps and evals, and a loss chart (SVG) redrawn at each
// eval. Checkpoints are written atomically at every eval; --resume continues from the last one.
// This file parses flags, reads files and prints; how the run is configured and built (the
// order of the layers, resume, init-from) is src/train/setup.ts's; the lock and the log, ../run-dir.ts's.

import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type LoadedDataset, readInputFile } from '../../data/node-io.js';
import { ConfigError, FileError, UsageError } from '../../errors.js';
import type { Arch } from '../../model/config.js';
import { describeModel } from '../../model/models.js';
import {
  CONFIG_KEYS,
  DEFAULT_CONFIG,
  DEFAULT_PRESET,
  type FullConfig,
  NEWCOMER_PRESET,
  PRESETS,
} from '../../train/config.js';
import { startRanks } from '../../train/node-data-parallel.js';
import { lossChartSvg } from '../../train/plot.js';
import { buildRun, planRun } from '../../train/setup.js';
import { checkWritableDir, ensureDir, removeStaleTemps, writeFileAtomic } from '../../util/atomic-write.js';
import { fileError } from '../../util/file-error.js';
import type { Args, CommandContext, FlagSpec } from '../args.js';
import { BACKEND_FLAGS, backendChoice, closeBackend, openBackend, readCheckpoint } from '../common.js';
import { formatDuration, ProgressBar } from '../progress.js';
import { existingPaths } from '../replace.js';
import { OutLock, RunLog } from '../run-dir.js';
import { loadTrainingData, parseTokenizerSpec } from '../tokenizer-spec.js';

export const name = 'train';
export const summary =
  'Train a GPT (or a bigram, MLP, RNN, LSTM or GRU: --arch) on prepared data (default: the quick preset on Tiny Shakespeare)';
export const description =
  'Trains from scratch (or continues with --resume) and writes into --out: ckpt.safetensors ' +
  '(weights, optimizer state, config, tokenizer, step, RNG state; rewritten atomically at every eval), ' +
  'log.jsonl (one JSON object per step and per eval) and loss.svg (the loss curves). Configuration ' +
  'comes from --preset, then --config FILE (a JSON object of the keys below), then the flags. ' +
  '--arch picks the model: gpt (default), or one of the models before it, each with a preset of its ' +
  'own name that --arch starts from (bigram, mlp, rnn, lstm, gru); a flag that does not apply to ' +
  'the architecture (--n-head with --arch lstm) is refused. ' +
  'A run already in --out is continued with --resume or replaced with --force, never silently; ' +
  'while a training runs, --out holds train.lock and a second training into it is refused. ' +
  'Ctrl-C (or SIGTERM) stops at the next step with a checkpoint.';

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** One flag per config key (vocabSize comes from the data). */
const configFlags: FlagSpec[] = Object.entries(CONFIG_KEYS)
  .filter(([k]) => k !== 'vocabSize')
  .map(([k, spec]) => {
    const kind = spec.kind;
    const type = Array.isArray(kind)
      ? 'string'
      : kind === 'bool'
        ? 'bool'
        : kind === 'int' || kind === 'posint'
          ? 'int'
          : 'float';
    const f: FlagSpec = {
      name: kebab(k),
      type,
      help: `${spec.help} (default ${String(DEFAULT_CONFIG[k as keyof FullConfig])} or the preset's)`,
    };
    return Array.isArray(kind) ? { ...f, choices: kind } : f;
  });

export const flags: readonly FlagSpec[] = [
  {
    name: 'data',
    type: 'string',
    metavar: 'DIR|FILE',
    default: join('data', 'tinyshakespeare'),
    help: 'prepared data (tsgpt prepare), or a UTF-8 text file tokenized in memory with --tokenizer',
  },
  {
    name: 'tokenizer',
    type: 'string',
    metavar: 'SPEC',
    help: 'char | bpe:FILE | word:FILE | gpt2, for a text file --data (default char); a prepared --data must have been made with it',
  },
  {
    name: 'preset',
    type: 'string',
    choices: Object.keys(PRESETS),
    help: "starting configuration (default: quick; baby with --init-from; with --arch, the architecture's own)",
  },
  {
    name: 'config',
    type: 'string',
    metavar: 'FILE',
    help: 'JSON file of config keys (overrides the preset)',
  },
  {
    name: 'out',
    type: 'string',
    metavar: 'DIR',
    help: 'output directory (default: out/<preset>, e.g. out/quick, out/lstm)',
  },
  { name: 'resume', type: 'bool', help: 'continue from the checkpoint in --out' },
  {
    name: 'init-from',
    type: 'string',
    metavar: 'CKPT',
    help: 'start from these weights (fine-tuning; e.g. an imported GPT-2), with a fresh optimizer',
  },
  {
    name: 'force',
    type: 'bool',
    help: 'start over, replacing the checkpoint, log and chart in --out (without --force or --resume, a run that is there is never replaced)',
  },
  {
    name: 'max-time',
    type: 'float',
    min: 0,
    help: 'stop (with a checkpoint) after this many minutes; the schedule stays in steps (--time-budget lays it over the minutes)',
  },
  ...BACKEND_FLAGS,
  {
    name: 'data-parallel',
    type: 'int',
    min: 1,
    max: 64,
    metavar: 'N',
    help: 'data parallelism: N model replicas (threads), each on batchSize/N rows of every batch, gradients averaged before one AdamW step; --threads is then per replica (default: cores / N)',
  },
  ...configFlags,
];

export const examples = [
  'tsgpt train                                     # the quick preset, into out/quick',
  'tsgpt train --preset quick15                    # the best model in 15 minutes (the schedule laid over them)',
  'tsgpt train --preset baby --time-budget 5       # any run fitted to 5 minutes',
  'tsgpt train --preset shakespeare --data data/tinyshakespeare --out out/big',
  'tsgpt train --config my.json --max-iters 500 --learning-rate 3e-4',
  'tsgpt train --data input.txt --tokenizer bpe:tok.json --out out/bpe',
  'tsgpt train --preset baby --out out/baby --resume --max-iters 4000',
  'tsgpt train --init-from gpt2.safetensors --data data/mine-gpt2 --block-size 256 --learning-rate 3e-5 --out out/ft',
  'tsgpt train --arch lstm --max-iters 1000        # the lstm preset, into out/lstm',
  'tsgpt train --arch mlp --context 5 --n-hidden 200',
];

export const handlesInterrupt = true;

/** A config file's parsed JSON (planRun checks what is in it). */
async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = (await readInputFile(path)).toString('utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw new ConfigError(`config file not found: ${path}`);
    throw fileError(err, 'read', path);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** The config keys given as flags (vocabSize comes from the data), typed by their flag. */
function flagOverrides(args: Args): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const k of Object.keys(CONFIG_KEYS)) {
    const flag = kebab(k);
    if (k === 'vocabSize' || !args.has(flag)) continue;
    const f = configFlags.find((x) => x.name === flag)!;
    given[k] =
      f.type === 'int'
        ? args.int(flag)
        : f.type === 'float'
          ? args.float(flag)
          : f.type === 'bool'
            ? args.bool(flag)
            : args.string(flag);
  }
  return given;
}

export async function run(args: Args, ctx: CommandContext): Promise<number | undefined> {
  const choice = backendChoice(args);
  const arch = args.string('arch') as Arch | undefined;
  // a new GPT run with no preset named is the newcomer's (quick); fine-tuning (--init-from) and
  // the other architectures start from their DEFAULT_PRESET
  const initFromGiven = args.has('init-from');
  const newcomer = (arch ?? 'gpt') === 'gpt' && !initFromGiven;
  const preset = args.string('preset') ?? (newcomer ? NEWCOMER_PRESET : DEFAULT_PRESET[arch ?? 'gpt']);
  const out = args.string('out') ?? join('out', preset);
  const ckptPath = join(out, 'ckpt.safetensors');
  const logPath = join(out, 'log.jsonl');
  const chartPath = join(out, 'loss.svg');
  const resume = args.bool('resume');
  const force = args.bool('force');
  const initFrom = args.string('init-from');
  if (resume && initFrom !== undefined)
    throw new UsageError(
      '--resume and --init-from exclude each other: --resume continues the run in --out, --init-from starts a new one',
    );
  if (resume && force)
    throw new UsageError(
      '--resume and --force exclude each other: --resume continues the checkpoint in --out, --force starts over and replaces it',
    );
  // a new run replaces nothing without --force (checked again under the lock, before writing)
  const refuseExisting = async () => {
    if (resume || force) return;
    const found = await existingPaths([ckptPath, logPath, chartPath]);
    if (found.includes(ckptPath))
      throw new UsageError(
        `${ckptPath} exists: pass --resume to continue it, --force to start over, or another --out`,
      );
    if (found.length > 0)
      throw new UsageError(
        `${found[0]} exists (a run without a checkpoint): pass --force to start over, or another --out`,
      );
  };
  await refuseExisting();
  await checkWritableDir(out);
  for (const path of [ckptPath, logPath, chartPath])
    if (await isDirectory(path))
      throw new FileError(`cannot write ${path}: it is a directory`, path, 'EISDIR');
  const p = (s: string) => process.stderr.write(`${s}\n`);
  // one training at a time in --out: an existing --out is locked before its checkpoint is read
  // (no other run replaces it meanwhile), a new one once it is created, just before writing
  let lock: OutLock | undefined;
  const takeLock = () => {
    const taken = OutLock.acquire(out);
    if (taken.note !== undefined) p(taken.note);
    lock = taken.lock;
  };
  let log: RunLog | undefined;
  try {
    if (await isDirectory(out)) takeLock();
    const configPath = args.string('config');
    const spec = args.string('tokenizer');
    const data: LoadedDataset = await loadTrainingData(
      args.string('data')!,
      spec === undefined ? undefined : parseTokenizerSpec(spec, 'train'),
    );
    const configFile =
      configPath === undefined ? undefined : { name: configPath, values: await readConfigFile(configPath) };
    const fileArch =
      typeof configFile?.values === 'object' && configFile.values !== null
        ? (configFile.values as Record<string, unknown>)['arch']
        : undefined;
    // everything is read and checked before the backend starts its threads
    const plan = planRun({
      data: {
        train: data.train,
        val: data.val,
        vocabSize: data.meta.vocabSize,
        tokenizer: data.meta.tokenizer,
        name: data.dir,
      },
      ...(args.has('preset') || (newcomer && !resume && fileArch === undefined) ? { preset } : {}),
      ...(configFile === undefined ? {} : { configFile }),
      overrides: flagOverrides(args),
      overridesName: 'flags',
      dataParallel: args.int('data-parallel') ?? 1,
      ...(resume ? { resume: { checkpoint: await readCheckpoint(ckptPath), name: ckptPath } } : {}),
      ...(initFrom === undefined
        ? {}
        : { initFrom: { checkpoint: await readCheckpoint(initFrom), name: initFrom } }),
    });
    if (ctx.signal.aborted) {
      p('tsgpt train: interrupted before training started; nothing written');
      return 130;
    }
    const ranks = plan.dataParallel ?? 1;
    // data parallel: the cores shared among the replicas unless --threads says how many each gets
    const perRank =
      ranks > 1 && choice.name === 'wasm' && choice.threads === undefined
        ? { ...choice, threads: Math.max(1, Math.floor(availableParallelism() / ranks)) }
        : choice;
    const backend = await openBackend(perRank);
    let others: { stop(): Promise<void> } | null = null;
    try {
      const { config: cfg, model, trainer, group } = buildRun(plan, backend);
      if (lock === undefined) {
        await ensureDir(out);
        takeLock();
        await refuseExisting();
      }
      const removed = await removeStaleTemps(out);
      if (removed.length > 0)
        p(
          `note: removed ${removed.length} temp file${removed.length === 1 ? '' : 's'} that a killed run left in ${out}/`,
        );
      if (group)
        others = await startRanks(group, trainer, data.train, {
          backend: choice.name,
          threads: backend.threads ?? 1,
        });
      const points: { step: number; train?: number; val?: number }[] = [];
      // the checkpoint's own eval, when its run logged one: Trainer.run evaluates there again on
      // resume (the same numbers), which rewrites the checkpoint but is not logged or charted twice
      let loggedEvalAt = -1;
      if (resume) {
        // the log up to the checkpoint: what came after it (a crash lost those steps) is trained again
        const resumed = RunLog.resume(logPath, trainer.step);
        log = resumed.log;
        for (const note of resumed.notes) p(note);
        for (const r of resumed.records)
          if (r.type === 'eval' && typeof r['train'] === 'number' && typeof r['val'] === 'number') {
            points.push({ step: r.step, train: r['train'], val: r['val'] });
            if (r.step === trainer.step) loggedEvalAt = r.step;
          }
      } else log = RunLog.create(logPath);
      const runLog = log;
      const shape =
        cfg.arch === 'gpt'
          ? describeModel('gpt', model.config).slice('gpt: '.length)
          : describeModel(cfg.arch, model.config);
      p(
        `tsgpt train: ${(model.numParams() / 1e6).toFixed(2)}M parameters, ${shape}, ` +
          `${cfg.arch === 'gpt' ? '' : `window ${cfg.blockSize}, `}batch ${cfg.batchSize}x${cfg.gradAccum}, vocab ${cfg.vocabSize}, ` +
          `backend ${backend.name}${resume ? `, resuming at step ${trainer.step}` : ''}${force ? ' (--force: starting over)' : ''}`,
      );
      p(`data ${data.dir}: ${data.train.length} train / ${data.val.length} val tokens; writing to ${out}/`);
      runLog.append({
        type: 'config',
        time: new Date().toISOString(),
        step: trainer.step,
        backend: backend.name,
        config: cfg,
      });
      // a time budget's bar counts its minutes; otherwise steps
      const budgetS = cfg.timeBudget * 60;
      const bar =
        budgetS > 0
          ? new ProgressBar({ total: budgetS, unit: 'seconds', label: 'train' })
          : new ProgressBar({ total: cfg.maxIters, label: 'train' });
      const started = performance.now();
      const maxMs = (args.float('max-time') ?? 0) * 60_000;
      let tokens = 0;
      let lastStep = { loss: Number.NaN, lr: 0 };
      await trainer.run({
        onStep: (s) => {
          tokens += trainer.tokensPerStep;
          lastStep = s;
          const elapsed = (performance.now() - started) / 1000;
          const stats = { loss: s.loss, lr: s.lr, 'tok/s': tokens / elapsed };
          if (budgetS > 0) bar.update(trainer.elapsedMs / 1000, { step: s.step, ...stats });
          else bar.update(s.step, stats);
          // synchronous, one whole line: records stay in step order and a crash tears at most one
          runLog.append({ type: 'step', ...s });
        },
        onEval: async (e, checkpoint) => {
          const again = e.step === loggedEvalAt;
          loggedEvalAt = -1;
          if (!again) points.push({ step: e.step, train: e.train, val: e.val });
          bar.log(
            `step ${e.step}: train loss ${e.train.toFixed(4)}, val loss ${e.val.toFixed(4)}${e.improved ? ' (best)' : ''} ` +
              `[${formatDuration((performance.now() - started) / 1000)}]`,
          );
          await writeFileAtomic(ckptPath, checkpoint());
          await writeFileAtomic(
            chartPath,
            lossChartSvg(points, { title: `tsgpt ${cfg.arch === 'gpt' ? preset : cfg.arch} — ${out}` }),
          );
          if (!again) runLog.append({ type: 'eval', time: new Date().toISOString(), ...e });
          runLog.sync(); // the log keeps up with the checkpoint, also after a power cut
        },
        shouldStop: () => ctx.signal.aborted || (maxMs > 0 && performance.now() - started > maxMs),
      });
      const secs = (performance.now() - started) / 1000;
      bar.done(Number.isNaN(lastStep.loss) ? undefined : { loss: lastStep.loss }); // no step: no loss to show
      if (ctx.signal.aborted || trainer.step < cfg.maxIters) {
        // interrupted: save where we are so that --resume continues exactly from here
        await writeFileAtomic(ckptPath, trainer.checkpoint());
        runLog.sync();
        p(`stopped at step ${trainer.step}; checkpoint saved (continue with --resume)`);
      }
      p(
        `done: ${trainer.step} steps in ${formatDuration(secs)} (${Math.round(tokens / secs)} tokens/s), ` +
          `best val loss ${trainer.bestValLoss.toFixed(4)}; checkpoint ${ckptPath}, log ${logPath}, chart ${chartPath}`,
      );
      const g = trainer.governor;
      // said only when one thread won a probe: another program was using a core
      if (g && g.switches > 0)
        p(
          `threads: ${backend.threads}, but ${g.aloneSteps} of ${g.steps} steps ran on one thread, which measured ` +
            'faster (another program was using a core)',
        );
      return undefined;
    } finally {
      await others?.stop();
      closeBackend(backend);
    }
  } finally {
    log?.close();
    (lock as OutLock | undefined)?.release();
  }
}

const isDirectory = (path: string): Promise<boolean> =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
