// `tsgpt ladder`: every autoregressive model (bigram, MLP, RNN, LSTM, GRU, GPT) trained on Tiny
// Shakespeare for the same wall-clock budget each, then the table: val loss on the whole val
// split, bits per character, parameters, steps, time; --json writes it too. The work is
// src/train/ladder.ts's; this file parses flags, reads the text, prints and writes.

import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { type PreparedDataset, prepareDataset } from '../../data/dataset.js';
import { readShippedTinyShakespeare } from '../../data/node-io.js';
import { ConfigError, UsageError } from '../../errors.js';
import { type Arch, isArch } from '../../model/config.js';
import { CharTokenizer } from '../../tokenizer/char.js';
import { DEFAULT_PRESET } from '../../train/config.js';
import { LADDER_ARCHS, type LadderRow, runLadder } from '../../train/ladder.js';
import { planRun } from '../../train/setup.js';
import { ensureDir, writeFileAtomic } from '../../util/atomic-write.js';
import type { Args, CommandContext, FlagSpec } from '../args.js';
import { BACKEND_FLAGS, backendChoice, closeBackend, openBackend } from '../common.js';
import { formatDuration, ProgressBar } from '../progress.js';
import { loadTrainingData, parseTokenizerSpec } from '../tokenizer-spec.js';

export const name = 'ladder';
export const summary = 'Train every model from the bigram up to GPT for the same time each, and compare them';
export const description =
  'Trains bigram, mlp, rnn, lstm, gru and gpt in turn, each from its own preset (tsgpt train --arch X), ' +
  'for --budget seconds of wall-clock time: a few calibration steps time a step, the learning-rate ' +
  'schedule is fitted to the budget, and training stops when it is spent. Each model is then ' +
  'evaluated on the whole val split (every token once, as tsgpt eval), and the table shows val loss, ' +
  'bits per character, parameters, steps and time, beside the bigram counting solution (no training). ' +
  'Progress goes to stderr, the table to stdout. Machine load changes the steps a budget buys: run ' +
  'it on a quiet machine.';
export const flags: readonly FlagSpec[] = [
  {
    name: 'budget',
    type: 'float',
    min: 1,
    default: 120,
    metavar: 'SECONDS',
    help: 'training time per model',
  },
  {
    name: 'archs',
    type: 'string',
    metavar: 'LIST',
    default: LADDER_ARCHS.join(','),
    help: 'which models, comma-separated, in order',
  },
  {
    name: 'data',
    type: 'string',
    metavar: 'DIR|FILE',
    help: 'prepared data or a UTF-8 text file (default: the shipped Tiny Shakespeare, characters, 90/10 split)',
  },
  { name: 'tokenizer', type: 'string', metavar: 'SPEC', help: 'for a text file --data (default char)' },
  {
    name: 'config',
    type: 'string',
    metavar: 'FILE',
    help: 'JSON of config keys on top of each model\'s preset, by model: {"lstm": {"nHidden": 128}}',
  },
  { name: 'json', type: 'string', metavar: 'FILE', help: 'also write the table (and the setup) as JSON' },
  {
    name: 'eval-batch-size',
    type: 'int',
    min: 1,
    default: 32,
    help: 'windows per forward pass of the evaluation',
  },
  ...BACKEND_FLAGS,
];
export const examples = [
  'tsgpt ladder --budget 180 --json ladder.json',
  'tsgpt ladder --budget 30 --archs bigram,mlp,lstm',
];
export const handlesInterrupt = true;

function parseArchs(list: string): Arch[] {
  const archs = list.split(',').map((a) => a.trim());
  for (const a of archs)
    if (!isArch(a))
      throw new UsageError(`--archs: unknown model "${a}" (models: ${LADDER_ARCHS.join(', ')})`);
  if (new Set(archs).size !== archs.length) throw new UsageError(`--archs ${list}: a model is named twice`);
  return archs as Arch[];
}

/** --config: a JSON object of config keys by model, e.g. {"lstm": {"nHidden": 128}}. */
async function readLadderConfig(path: string): Promise<Partial<Record<Arch, Record<string, unknown>>>> {
  let values: unknown;
  try {
    values = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConfigError(`${path}: ${missing ? 'not found' : `not valid JSON (${(e as Error).message})`}`);
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    throw new ConfigError(
      `${path}: must be a JSON object of config keys by model: {"lstm": {"nHidden": 128}}`,
    );
  for (const [k, v] of Object.entries(values)) {
    if (!isArch(k))
      throw new UsageError(`${path}: "${k}" is not a model (models: ${LADDER_ARCHS.join(', ')})`);
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new ConfigError(`${path}: ${k}: must be a JSON object of config keys`);
  }
  return values as Partial<Record<Arch, Record<string, unknown>>>;
}

/** The table, as Markdown. */
export function ladderTable(rows: readonly LadderRow[]): string {
  const lines = [
    '| model | params | steps | tokens | train time | val loss | bits/char |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.name} | ${r.params.toLocaleString('en-US')} | ${r.steps} | ${(r.tokens / 1e6).toFixed(2)}M | ${r.trainSeconds.toFixed(1)} s | ${r.valLoss.toFixed(4)} | ${r.bitsPerChar.toFixed(3)} |`,
    );
  return `${lines.join('\n')}\n`;
}

export async function run(args: Args, ctx: CommandContext): Promise<void> {
  const choice = backendChoice(args);
  const archs = parseArchs(args.string('archs')!);
  const budget = args.float('budget')!;
  const jsonPath = args.string('json');
  const dataPath = args.string('data');
  const spec = args.string('tokenizer');
  if (spec !== undefined && dataPath === undefined)
    throw new UsageError(
      '--tokenizer is for a text file --data; the shipped Tiny Shakespeare is read by characters',
    );
  const configPath = args.string('config');
  const overrides = configPath === undefined ? {} : await readLadderConfig(configPath);
  let ds: PreparedDataset;
  let dataName: string;
  if (dataPath === undefined) {
    const file = await readShippedTinyShakespeare();
    ds = prepareDataset(file.text, CharTokenizer.fromText(file.text), {
      path: file.path,
      sha256: file.sha256,
    });
    dataName = file.path;
  } else {
    ds = await loadTrainingData(
      dataPath,
      spec === undefined ? undefined : parseTokenizerSpec(spec, 'ladder'),
    );
    dataName = dataPath;
  }
  const data = {
    train: ds.train,
    val: ds.val,
    vocabSize: ds.meta.vocabSize,
    tokenizer: ds.meta.tokenizer,
    name: dataName,
  };
  // a bad key in the file fails now, before any model trains
  for (const arch of archs)
    if (overrides[arch])
      planRun({
        data,
        preset: DEFAULT_PRESET[arch],
        overrides: overrides[arch],
        overridesName: `${configPath} (${arch})`,
      });
  const backend = await openBackend(choice);
  const err = (s: string) => process.stderr.write(`${s}\n`);
  try {
    err(
      `tsgpt ladder: ${archs.join(', ')} on ${dataName} (${data.train.length} train / ${data.val.length} val tokens), ` +
        `${formatDuration(budget)} each, backend ${backend.name}${backend.threads ? ` (${backend.threads} threads)` : ''}`,
    );
    let bar: ProgressBar | null = null;
    const started = new Date().toISOString();
    const rows = await runLadder({
      backend,
      data,
      budgetSeconds: budget,
      archs,
      overrides,
      ...(configPath === undefined ? {} : { overridesName: configPath }),
      evalBatchSize: args.int('eval-batch-size')!,
      shouldStop: () => ctx.signal.aborted,
      onEvent: (e) => {
        if (e.type === 'start')
          err(`${e.model}, ${e.params.toLocaleString('en-US')} parameters (preset ${e.preset})`);
        else if (e.type === 'calibrated') {
          // the bar counts seconds of the budget: the run stops when they are spent
          bar = new ProgressBar({ total: Math.ceil(budget), label: `${e.arch} s` });
          bar.log(
            `${e.arch}: ${e.msPerStep.toFixed(1)} ms a step: the schedule fitted to ${e.steps} steps in ${formatDuration(budget)}`,
          );
        } else if (e.type === 'step') bar?.update(Math.floor(e.seconds), { step: e.step, loss: e.loss });
        else if (e.type === 'eval') {
          if (e.done === 0 || !bar) bar = new ProgressBar({ total: e.total, label: `${e.arch} eval` });
          bar.update(e.done, { windows: e.total });
        } else {
          bar?.clear();
          bar = null;
          const r = e.row;
          err(
            `${r.name}: val loss ${r.valLoss.toFixed(4)}, ${r.bitsPerChar.toFixed(3)} bits/char after ${r.steps} steps in ${r.trainSeconds.toFixed(1)} s`,
          );
        }
      },
    });
    process.stdout.write(ladderTable(rows));
    if (jsonPath !== undefined) {
      await ensureDir(dirname(jsonPath));
      const report = {
        command: `tsgpt ladder ${process.argv.slice(3).join(' ')}`.trim(),
        started,
        budgetSeconds: budget,
        data: {
          name: dataName,
          trainTokens: data.train.length,
          valTokens: data.val.length,
          vocabSize: data.vocabSize,
        },
        backend: backend.name,
        threads: backend.threads ?? 1,
        cores: availableParallelism(),
        node: process.version,
        overrides,
        complete: rows.length >= archs.length,
        rows,
      };
      await writeFileAtomic(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
      err(`wrote ${jsonPath}`);
    }
    if (ctx.signal.aborted) err('stopped early: the table holds the models finished so far');
  } finally {
    closeBackend(backend);
  }
}
