// `tsgpt seq2seq train|eval|translate`: the original encoder-decoder transformer on pairs of
// strings: train it on a toy task (copy, reverse, sort, dates) or a TSV file of your own pairs,
// measure its exact-match accuracy on the held-out pairs (greedy or beam search), and translate
// text with it. This file parses flags, reads files and prints; the run is set up by
// src/train/seq2seq-setup.ts, decoded by src/sample/seq2seq-decode.ts.

import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readTextFile } from '../../data/node-io.js';
import {
  DEFAULT_HELD_OUT,
  DEFAULT_STRING_TASK,
  type Pair,
  parsePairs,
  Seq2SeqVocab,
  TASKS,
  type TaskName,
  type TaskSpec,
  taskData,
} from '../../data/seq2seq.js';
import { ConfigError, DataError, TokenizerError, UsageError } from '../../errors.js';
import { DEFAULT_ENCODER_DECODER_CONFIG } from '../../model/encoder-decoder-config.js';
import { exactMatch, translate } from '../../sample/seq2seq-decode.js';
import { lossChartSvg } from '../../train/plot.js';
import {
  decodeSeq2SeqCheckpoint,
  encoderDecoderFromCheckpoint,
  type Seq2SeqCheckpoint,
} from '../../train/seq2seq-checkpoint.js';
import { buildSeq2SeqRun, planSeq2SeqRun, SEQ2SEQ_CONFIG_KEYS } from '../../train/seq2seq-setup.js';
import { DEFAULT_SEQ2SEQ_TRAIN_CONFIG } from '../../train/seq2seq-trainer.js';
import { ensureDir, removeStaleTemps, writeFileAtomic } from '../../util/atomic-write.js';
import { type Args, type CommandContext, closest, type FlagSpec } from '../args.js';
import { BACKEND_FLAGS, backendChoice, closeBackend, openBackend, readCheckpointBytes } from '../common.js';
import { formatDuration, ProgressBar } from '../progress.js';
import { OutLock, RunLog } from '../run-dir.js';

export const name = 'seq2seq';
export const summary =
  'The original encoder-decoder transformer: train on a toy task or TSV pairs, eval, translate';
export const description = [
  'tsgpt seq2seq train: trains an encoder-decoder ("Attention Is All You Need": post-norm, sinusoidal ' +
    'positions, ReLU, tied embeddings) on --task and writes --out/ckpt.safetensors (rewritten atomically at ' +
    'every evaluation), log.jsonl and loss.svg. Tasks: ' +
    Object.entries(TASKS)
      .map(([k, v]) => `${k} (${v})`)
      .join(', ') +
    '. Or --task FILE.tsv: one source<TAB>target per line. Each evaluation reports the loss on the held-out ' +
    'pairs (never drawn for training) and the greedy exact-match accuracy on --eval-examples of them; the ' +
    'end of training, on all of them.',
  'tsgpt seq2seq eval: exact-match accuracy of a checkpoint on its own held-out pairs (the task is saved in ' +
    'the checkpoint) or on --data FILE.tsv, greedy or with --beam N.',
  "tsgpt seq2seq translate: the model's output for --text, or for each line of standard input.",
].join('\n\n');

const SUBCOMMANDS = ['train', 'eval', 'translate'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

export const positionals = [{ name: 'subcommand', help: 'train | eval | translate' }];

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const DEFAULTS: Record<string, unknown> = {
  ...DEFAULT_ENCODER_DECODER_CONFIG,
  ...DEFAULT_SEQ2SEQ_TRAIN_CONFIG,
};

/** One flag per config key (model and training), as tsgpt train has for GPT. */
const configFlags: FlagSpec[] = Object.entries(SEQ2SEQ_CONFIG_KEYS).map(([k, spec]) => {
  const kind = spec.kind;
  const type = Array.isArray(kind)
    ? 'string'
    : kind === 'bool'
      ? 'bool'
      : kind === 'int' || kind === 'posint'
        ? 'int'
        : 'float';
  const dflt =
    k === 'blockSize' ? '' : ` (default ${k === 'lrDecayIters' ? 'max-iters' : String(DEFAULTS[k])})`;
  const f: FlagSpec = { name: kebab(k), type, help: `train: ${spec.help}${dflt}` };
  return Array.isArray(kind) ? { ...f, choices: kind } : f;
});

const DEFAULT_OUT = join('out', 'seq2seq');

export const flags: readonly FlagSpec[] = [
  {
    name: 'task',
    type: 'string',
    metavar: 'TASK|FILE',
    default: 'reverse',
    help: `train: ${Object.keys(TASKS).join(' | ')}, or a TSV file of source<TAB>target lines`,
  },
  {
    name: 'alphabet',
    type: 'string',
    help: `train: characters of the copy / reverse / sort strings (default ${DEFAULT_STRING_TASK.alphabet})`,
  },
  {
    name: 'min-len',
    type: 'int',
    min: 1,
    help: `train: shortest string (default ${DEFAULT_STRING_TASK.minLen})`,
  },
  {
    name: 'max-len',
    type: 'int',
    min: 1,
    help: `train: longest string (default ${DEFAULT_STRING_TASK.maxLen})`,
  },
  {
    name: 'held-out',
    type: 'int',
    min: 1,
    help: `train: pairs held out (a file: distinct sources; default ${DEFAULT_HELD_OUT}, a file: 10% of its sources)`,
  },
  { name: 'task-seed', type: 'int', min: 0, default: 1, help: 'train: seed of the held-out choice' },
  { name: 'out', type: 'string', metavar: 'DIR', default: DEFAULT_OUT, help: 'train: output directory' },
  { name: 'resume', type: 'bool', help: 'train: continue from the checkpoint in --out' },
  { name: 'force', type: 'bool', help: 'train: start over even if --out already holds a checkpoint' },
  {
    name: 'max-time',
    type: 'float',
    min: 0,
    help: 'train: stop (with a checkpoint) after this many minutes',
  },
  {
    name: 'eval-examples',
    type: 'int',
    min: 1,
    default: 200,
    help: 'train: held-out pairs decoded for the accuracy at each evaluation',
  },
  {
    name: 'ckpt',
    type: 'string',
    metavar: 'FILE',
    default: join(DEFAULT_OUT, 'ckpt.safetensors'),
    help: 'eval, translate: the checkpoint',
  },
  {
    name: 'data',
    type: 'string',
    metavar: 'FILE',
    help: 'eval: score these TSV pairs instead of the held-out set',
  },
  { name: 'beam', type: 'int', min: 1, default: 1, help: 'eval, translate: beam width (1 = greedy)' },
  {
    name: 'length-penalty',
    type: 'float',
    min: 0,
    default: 1,
    help: 'eval, translate: beam search ranks by logp / length^A (0 = plain logp)',
  },
  { name: 'show', type: 'int', min: 0, default: 5, help: 'eval: mistakes to print' },
  { name: 'json', type: 'bool', help: 'eval: print the figures as one JSON object' },
  {
    name: 'text',
    type: 'string',
    metavar: 'TEXT',
    help: 'translate: the source (default: each line of standard input)',
  },
  ...BACKEND_FLAGS,
  ...configFlags,
];

export const examples = [
  'tsgpt seq2seq train                                   # reverse strings of 1-12 letters',
  'tsgpt seq2seq train --task dates --out out/dates',
  'tsgpt seq2seq train --task pairs.tsv --out out/mine --max-iters 5000',
  'tsgpt seq2seq eval --ckpt out/seq2seq/ckpt.safetensors --beam 4',
  'tsgpt seq2seq translate --text "hello world"',
  'printf "March 5, 2021\\n5 Jul 1999\\n" | tsgpt seq2seq translate --ckpt out/dates/ckpt.safetensors',
];

export const handlesInterrupt = true;

const BACKEND = BACKEND_FLAGS.map((f) => f.name);
/** Which flags each subcommand reads; any other flag given is a usage error. */
const FLAGS_OF: Readonly<Record<Subcommand, readonly string[]>> = {
  train: [
    'task',
    'alphabet',
    'min-len',
    'max-len',
    'held-out',
    'task-seed',
    'out',
    'resume',
    'force',
    'max-time',
    'eval-examples',
    ...BACKEND,
    ...configFlags.map((f) => f.name),
  ],
  eval: ['ckpt', 'data', 'beam', 'length-penalty', 'show', 'json', ...BACKEND],
  translate: ['ckpt', 'text', 'beam', 'length-penalty', ...BACKEND],
};

export async function run(args: Args, ctx: CommandContext): Promise<void> {
  const sub = args.positional('subcommand')!;
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
    const near = closest(sub, SUBCOMMANDS);
    throw new UsageError(
      `unknown subcommand "${sub}"${near ? `; did you mean ${near}?` : ''} (tsgpt seq2seq train|eval|translate; see tsgpt seq2seq --help)`,
    );
  }
  const s = sub as Subcommand;
  for (const f of flags)
    if (args.has(f.name) && !FLAGS_OF[s].includes(f.name))
      throw new UsageError(`--${f.name} is not a flag of tsgpt seq2seq ${s} (see tsgpt seq2seq --help)`);
  if (s === 'train') return train(args, ctx);
  if (s === 'eval') return evaluate(args);
  return translateLines(args);
}

/** A checkpoint of tsgpt seq2seq train (a GPT checkpoint is refused in one line). */
async function readSeq2SeqCheckpoint(path: string): Promise<Seq2SeqCheckpoint> {
  return decodeSeq2SeqCheckpoint(await readCheckpointBytes(path), path);
}

/** A TSV file's pairs and its sha256. */
async function readPairs(path: string): Promise<{ pairs: Pair[]; sha256: string }> {
  const f = await readTextFile(path);
  return { pairs: parsePairs(f.text, path), sha256: f.sha256 };
}

/** A file task's pairs, from the file it was trained on, which must not have changed since. */
async function pairsOfFileTask(spec: TaskSpec, ckpt: string): Promise<Pair[] | undefined> {
  if (spec.task !== 'file') return undefined;
  const { pairs, sha256 } = await readPairs(spec.path);
  if (sha256 !== spec.sha256)
    throw new DataError(
      `${spec.path} has changed since ${ckpt} was trained on it (sha256 differs): its held-out pairs are lost (score other pairs with --data FILE)`,
    );
  return pairs;
}

/** The task the train flags describe (for a file: its pairs too). */
async function taskFromFlags(args: Args): Promise<{ spec: TaskSpec; pairs?: Pair[] }> {
  const task = args.string('task')!;
  const heldOut = args.int('held-out');
  const seed = args.int('task-seed')!;
  const isFile = !Object.hasOwn(TASKS, task);
  const stringFlags = ['alphabet', 'min-len', 'max-len'].filter((f) => args.has(f));
  if (stringFlags.length > 0 && (isFile || task === 'dates'))
    throw new UsageError(
      `--${stringFlags[0]} is for the copy, reverse and sort tasks, not ${isFile ? 'a file' : task}`,
    );
  if (isFile) {
    let isPath = false;
    try {
      isPath = (await stat(task)).isFile();
    } catch {
      // not a file: said below
    }
    if (!isPath && !/[./\\]/.test(task)) {
      const near = closest(task, Object.keys(TASKS));
      throw new UsageError(
        `--task ${task}: not a task${near ? ` (did you mean ${near}?)` : ''}; tasks: ${Object.keys(TASKS).join(', ')}, or a TSV file`,
      );
    }
    const { pairs, sha256 } = await readPairs(task);
    const sources = new Set(pairs.map((p) => p.source)).size;
    if (sources < 2)
      throw new DataError(`${task}: ${sources} distinct source: some must be held out and some trained on`);
    return {
      spec: {
        task: 'file',
        path: task,
        sha256,
        heldOut: heldOut ?? Math.max(1, Math.round(sources / 10)),
        seed,
      },
      pairs,
    };
  }
  const held = heldOut ?? DEFAULT_HELD_OUT;
  if (task === 'dates') return { spec: { task: 'dates', heldOut: held, seed } };
  return {
    spec: {
      task: task as Exclude<TaskName, 'dates'>,
      alphabet: args.string('alphabet') ?? DEFAULT_STRING_TASK.alphabet,
      minLen: args.int('min-len') ?? DEFAULT_STRING_TASK.minLen,
      maxLen: args.int('max-len') ?? DEFAULT_STRING_TASK.maxLen,
      heldOut: held,
      seed,
    },
  };
}

/** The config keys given as flags, typed by their flag. */
function flagOverrides(args: Args): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const f of configFlags) {
    if (!args.has(f.name)) continue;
    const key = Object.keys(SEQ2SEQ_CONFIG_KEYS).find((k) => kebab(k) === f.name)!;
    given[key] =
      f.type === 'int'
        ? args.int(f.name)
        : f.type === 'float'
          ? args.float(f.name)
          : f.type === 'bool'
            ? args.bool(f.name)
            : args.string(f.name);
  }
  return given;
}

async function train(args: Args, ctx: CommandContext): Promise<void> {
  const choice = backendChoice(args);
  const out = args.string('out')!;
  const ckptPath = join(out, 'ckpt.safetensors');
  const resume = args.bool('resume');
  if (resume) {
    const taskFlags = ['task', 'alphabet', 'min-len', 'max-len', 'held-out', 'task-seed'].filter((f) =>
      args.has(f),
    );
    if (taskFlags.length > 0)
      throw new UsageError(`--resume continues the checkpoint's task: drop --${taskFlags[0]}`);
  } else if (!args.bool('force') && existsSync(ckptPath))
    throw new UsageError(
      `${ckptPath} exists: pass --resume to continue it, --force to start over, or another --out`,
    );
  // everything is read and checked before the backend starts its threads
  const ck = resume ? await readSeq2SeqCheckpoint(ckptPath) : undefined;
  const task = ck
    ? { spec: ck.meta.task, pairs: await pairsOfFileTask(ck.meta.task, ckptPath) }
    : await taskFromFlags(args);
  const plan = planSeq2SeqRun({
    task: task.spec,
    ...(task.pairs ? { filePairs: task.pairs } : {}),
    overrides: flagOverrides(args),
    overridesName: 'flags',
    ...(ck ? { resume: { checkpoint: ck, name: ckptPath } } : {}),
    evalExamples: args.int('eval-examples')!,
  });
  const p = (line: string) => process.stderr.write(`${line}\n`);
  // one training at a time in --out, and a log that survives a crash: as tsgpt train (../run-dir.ts)
  await ensureDir(out);
  const taken = OutLock.acquire(out);
  if (taken.note !== undefined) p(taken.note);
  const lock = taken.lock;
  let runLog: RunLog | undefined;
  const backend = await openBackend(choice).catch((err: unknown) => {
    lock.release();
    throw err;
  });
  try {
    const { model, trainer } = buildSeq2SeqRun(plan, backend);
    const { model: m, train: tc, data } = plan;
    const removed = await removeStaleTemps(out);
    if (removed.length > 0)
      p(
        `note: removed ${removed.length} temp file${removed.length === 1 ? '' : 's'} that a killed run left in ${out}/`,
      );
    const logPath = join(out, 'log.jsonl');
    const chartPath = join(out, 'loss.svg');
    const points: { step: number; train?: number; val?: number }[] = [];
    // on resume the trainer evaluates at the checkpoint's step again: logged and charted once
    let loggedEvalAt = -1;
    if (resume) {
      const resumed = RunLog.resume(logPath, trainer.step);
      runLog = resumed.log;
      for (const note of resumed.notes) p(note);
      for (const r of resumed.records)
        if (r.type === 'eval' && typeof r['train'] === 'number' && typeof r['val'] === 'number') {
          points.push({ step: r.step, train: r['train'], val: r['val'] });
          if (r.step === trainer.step) loggedEvalAt = r.step;
        }
    } else runLog = RunLog.create(logPath);
    const logFile = runLog;
    // synchronous, one whole line each: records stay in order and a crash tears at most one
    const log = (obj: object) => logFile.append(obj);
    p(
      `tsgpt seq2seq train: ${(model.numParams() / 1e6).toFixed(2)}M parameters, ${m.nLayer}+${m.nLayer} layers, ` +
        `${m.nHead} heads, ${m.nEmbd} wide, ${m.norm}-norm, vocab ${m.vocabSize}, block ${m.blockSize}, batch ${tc.batchSize}x${tc.gradAccum}, ` +
        `backend ${backend.name}${resume ? `, resuming at step ${trainer.step}` : ''}`,
    );
    p(`data: ${data.summary}; writing to ${out}/`);
    log({
      type: 'config',
      time: new Date().toISOString(),
      step: trainer.step,
      backend: backend.name,
      model: m,
      train: tc,
      task: data.spec,
    });
    const bar = new ProgressBar({ total: tc.maxIters, label: 'train' });
    const started = performance.now();
    const maxMs = (args.float('max-time') ?? 0) * 60_000;
    let lastLoss = Number.NaN;
    await trainer.run({
      onStep: (s) => {
        lastLoss = s.loss;
        bar.update(s.step, { loss: s.loss, lr: s.lr, 'tok/s': s.tokensPerSec });
        log({ type: 'step', ...s });
      },
      onEval: async (e, checkpoint) => {
        const again = e.step === loggedEvalAt;
        loggedEvalAt = -1;
        if (!again) points.push({ step: e.step, train: e.train, val: e.val });
        bar.log(
          `step ${e.step}: train loss ${e.train.toFixed(4)}, held-out loss ${e.val.toFixed(4)}${e.improved ? ' (best)' : ''}, ` +
            `exact match ${(100 * e.accuracy).toFixed(1)}% (greedy, ${Math.min(args.int('eval-examples')!, data.heldOut.length)} held out) ` +
            `[${formatDuration((performance.now() - started) / 1000)}]`,
        );
        await writeFileAtomic(ckptPath, checkpoint());
        await writeFileAtomic(chartPath, lossChartSvg(points, { title: `tsgpt seq2seq — ${out}` }));
        if (!again) log({ type: 'eval', time: new Date().toISOString(), ...e });
        logFile.sync(); // the log keeps up with the checkpoint
      },
      shouldStop: () => ctx.signal.aborted || (maxMs > 0 && performance.now() - started > maxMs),
    });
    const secs = (performance.now() - started) / 1000;
    bar.done({ loss: lastLoss });
    if (ctx.signal.aborted || trainer.step < tc.maxIters) {
      await writeFileAtomic(ckptPath, trainer.checkpoint());
      logFile.sync();
      p(`stopped at step ${trainer.step}; checkpoint saved (continue with --resume)`);
      return;
    }
    p(
      `done: ${trainer.step} steps in ${formatDuration(secs)}; checkpoint ${ckptPath}, log ${logPath}, chart ${chartPath}`,
    );
    const t0 = performance.now();
    const r = exactMatch(model, data.vocab, data.heldOut);
    log({
      type: 'exact_match',
      step: trainer.step,
      decoding: 'greedy',
      correct: r.correct,
      total: r.total,
      accuracy: r.accuracy,
    });
    p(
      `held-out exact match: ${r.correct}/${r.total} = ${(100 * r.accuracy).toFixed(2)}% (greedy, ` +
        `${formatDuration((performance.now() - t0) / 1000)}); tsgpt seq2seq eval --ckpt ${ckptPath} --beam 4 for beam search`,
    );
  } finally {
    closeBackend(backend);
    runLog?.close();
    lock.release();
  }
}

async function evaluate(args: Args): Promise<void> {
  const choice = backendChoice(args);
  const path = args.string('ckpt')!;
  const ck = await readSeq2SeqCheckpoint(path);
  const vocab = Seq2SeqVocab.fromJSON(ck.meta.tokenizer);
  const dataFile = args.string('data');
  let pairs: readonly Pair[];
  let on: string;
  if (dataFile !== undefined) {
    pairs = (await readPairs(dataFile)).pairs;
    on = dataFile;
  } else {
    const data = taskData(ck.meta.task, await pairsOfFileTask(ck.meta.task, path));
    pairs = data.heldOut;
    on = `the held-out pairs of ${data.summary}`;
  }
  const beam = args.int('beam')!;
  const backend = await openBackend(choice);
  try {
    const model = encoderDecoderFromCheckpoint(ck, backend, false);
    for (const p of pairs)
      checkFits(model.config.blockSize, vocab, p.source, `${dataFile ?? 'held-out'} source`);
    const bar = new ProgressBar({ total: pairs.length, label: 'eval' });
    const t0 = performance.now();
    const r = exactMatch(model, vocab, pairs, {
      beam,
      lengthPenalty: args.float('length-penalty')!,
      keepMistakes: args.int('show')!,
      onProgress: (done) => bar.update(done),
    });
    bar.clear();
    const secs = (performance.now() - t0) / 1000;
    const decoding = beam === 1 ? 'greedy' : `beam ${beam}, length penalty ${args.float('length-penalty')}`;
    if (args.bool('json')) {
      const { mistakes, ...figures } = r;
      process.stdout.write(
        `${JSON.stringify({ checkpoint: path, on, decoding, ...figures, seconds: secs, mistakes })}\n`,
      );
      return;
    }
    const lines = [
      `${path} on ${on}`,
      `exact match  ${r.correct}/${r.total} = ${(100 * r.accuracy).toFixed(2)}% (${decoding}, ${formatDuration(secs)})`,
    ];
    for (const m of r.mistakes)
      lines.push(
        `  ${JSON.stringify(m.source)} -> ${JSON.stringify(m.output)} (want ${JSON.stringify(m.target)})`,
      );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    closeBackend(backend);
  }
}

/** A source the model can read: known characters, at most blockSize - 1 of them. */
function checkFits(block: number, vocab: Seq2SeqVocab, source: string, what: string): void {
  try {
    vocab.encode(source);
  } catch (e) {
    if (e instanceof TokenizerError)
      throw new TokenizerError(`${what} ${JSON.stringify(source)}: ${e.message}`);
    throw e;
  }
  const n = Array.from(source).length;
  if (n + 1 > block)
    throw new ConfigError(
      `${what} ${JSON.stringify(source)} has ${n} characters: the model reads at most ${block - 1}`,
    );
}

async function translateLines(args: Args): Promise<void> {
  const choice = backendChoice(args);
  const path = args.string('ckpt')!;
  const ck = await readSeq2SeqCheckpoint(path);
  const vocab = Seq2SeqVocab.fromJSON(ck.meta.tokenizer);
  const text = args.string('text');
  const sources =
    text !== undefined
      ? [text]
      : (await readStdin())
          .split('\n')
          .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
          .filter((l) => l !== '');
  if (sources.length === 0)
    throw new UsageError('nothing to translate: give --text or lines on standard input');
  for (const s of sources) checkFits(ck.meta.config.blockSize, vocab, s, 'source');
  const backend = await openBackend(choice);
  try {
    const model = encoderDecoderFromCheckpoint(ck, backend, false);
    const outs = translate(model, vocab, sources, {
      beam: args.int('beam')!,
      lengthPenalty: args.float('length-penalty')!,
    });
    process.stdout.write(`${outs.join('\n')}\n`);
  } finally {
    closeBackend(backend);
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError('give --text TEXT, or pipe lines to translate into standard input');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
