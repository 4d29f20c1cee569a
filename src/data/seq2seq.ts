// Sequence-to-sequence data for the encoder-decoder: pairs of strings, their character vocabulary
// with the special tokens PAD, BOS and EOS, batches padded to their longest source and target,
// seeded toy tasks (copy, reverse, sort, dates) whose held-out pairs the training stream never
// draws, and the TSV format for pairs of your own (`source<TAB>target` per line).
// Pure: reading a file is the caller's (node-io.ts's readTextFile); parsePairs parses its text.

import { ConfigError, DataError } from '../errors.js';
import { CharTokenizer } from '../tokenizer/char.js';
import type { TokenizerJSON } from '../tokenizer/tokenizer.js';
import { Rng } from '../util/rng.js';

/** One example: the model reads source and writes target. */
export interface Pair {
  source: string;
  target: string;
}

// ---------------------------------------------------------------------------------------------
// the vocabulary

/** Padding (fills a batch's short rows), begin-of-sequence (the decoder's first input), end. */
export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>'] as const;

/**
 * Characters and the three special tokens: ids 0-2 are PAD, BOS, EOS, then the characters in
 * sorted order. One vocabulary for sources and targets (the model shares one embedding).
 * Saved in checkpoints as the JSON of its CharTokenizer.
 * @example Seq2SeqVocab.fromPairs([{ source: 'ab', target: 'ba' }]).encode('ba') // [4, 3]
 */
export class Seq2SeqVocab {
  constructor(readonly chars: CharTokenizer) {}

  static fromText(text: string): Seq2SeqVocab {
    return new Seq2SeqVocab(CharTokenizer.fromText(text));
  }

  static fromPairs(pairs: readonly Pair[]): Seq2SeqVocab {
    return Seq2SeqVocab.fromText(pairs.map((p) => p.source + p.target).join(''));
  }

  static fromJSON(json: TokenizerJSON): Seq2SeqVocab {
    return new Seq2SeqVocab(CharTokenizer.fromJSON(json));
  }

  toJSON(): TokenizerJSON {
    return this.chars.toJSON();
  }

  /** PAD, BOS, EOS and the characters */
  get size(): number {
    return SPECIAL_TOKENS.length + this.chars.vocabSize;
  }

  /** The ids of text's characters (no BOS / EOS); a character outside the vocabulary throws. */
  encode(text: string): number[] {
    return this.chars.encode(text).map((id) => id + SPECIAL_TOKENS.length);
  }

  /** The text of ids up to the first EOS; PAD and BOS are skipped. */
  decode(ids: readonly number[]): string {
    let s = '';
    for (const id of ids) {
      if (id === EOS) break;
      if (id < SPECIAL_TOKENS.length) continue;
      s += this.chars.decode([id - SPECIAL_TOKENS.length]);
    }
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// batches

/** A batch of sources as the encoder reads them: (B, S) row-major, padded to the longest. */
export interface SourceBatch {
  b: number;
  s: number;
  /** (B, S): each source's ids, then EOS, then PAD */
  src: Int32Array;
  /** (B, S): 1 where src is padding */
  srcPadding: Int32Array;
}

/** A training batch: sources, and targets as the decoder reads them and as it should write them. */
export interface Seq2SeqBatch extends SourceBatch {
  t: number;
  /** (B, T): BOS, then the target's ids, then PAD (the decoder's input) */
  tgt: Int32Array;
  /** (B, T): 1 where tgt is padding */
  tgtPadding: Int32Array;
  /** (B, T): the target's ids, then EOS, then -1 (ignored by the loss): tgt shifted left by one */
  targets: Int32Array;
  /** target tokens the loss counts (EOS included) */
  tokens: number;
}

/** Rows of ids in a (B, width) array, the rest filled with `fill`, and the padding flags. */
function padRows(rows: readonly number[][], width: number, fill: number): [Int32Array, Int32Array] {
  const ids = new Int32Array(rows.length * width).fill(fill);
  const pad = new Int32Array(rows.length * width).fill(1);
  rows.forEach((r, b) => {
    ids.set(r, b * width);
    pad.fill(0, b * width, b * width + r.length);
  });
  return [ids, pad];
}

/** Sources as the encoder reads them: each one's ids then EOS, padded to the longest. */
export function sourceBatch(sources: readonly string[], vocab: Seq2SeqVocab): SourceBatch {
  const rows = sources.map((s) => [...vocab.encode(s), EOS]);
  const s = Math.max(...rows.map((r) => r.length));
  const [src, srcPadding] = padRows(rows, s, PAD);
  return { b: rows.length, s, src, srcPadding };
}

/**
 * Pairs as one padded batch: the encoder reads source + EOS; the decoder reads BOS + target and
 * learns to write target + EOS (the same sequence shifted by one: "teacher forcing").
 * @example makeBatch([{ source: 'ab', target: 'ba' }], vocab).tgt // [BOS, b, a]
 */
export function makeBatch(pairs: readonly Pair[], vocab: Seq2SeqVocab): Seq2SeqBatch {
  if (pairs.length === 0) throw new DataError('makeBatch: no pairs');
  const src = sourceBatch(
    pairs.map((p) => p.source),
    vocab,
  );
  const ids = pairs.map((p) => vocab.encode(p.target));
  const t = Math.max(...ids.map((r) => r.length + 1));
  const [tgt, tgtPadding] = padRows(
    ids.map((r) => [BOS, ...r]),
    t,
    PAD,
  );
  const [targets] = padRows(
    ids.map((r) => [...r, EOS]),
    t,
    -1,
  );
  const tokens = ids.reduce((n, r) => n + r.length + 1, 0);
  return { ...src, t, tgt, tgtPadding, targets, tokens };
}

// ---------------------------------------------------------------------------------------------
// where pairs come from: a toy task or a file

/** The toy tasks: the target is a function of the source. */
export const TASKS = {
  copy: 'the target is the source',
  reverse: 'the source backwards',
  sort: "the source's characters in sorted order",
  dates: 'a day written as "March 5, 2021", "5 Mar 2021", "3/5/2021", ... to 2021-03-05',
} as const;
export type TaskName = keyof typeof TASKS;

/** A string task: random strings over `alphabet`, of lengths minLen..maxLen. */
export interface StringTaskSpec {
  task: 'copy' | 'reverse' | 'sort';
  alphabet: string;
  minLen: number;
  maxLen: number;
  /** held-out pairs (distinct sources, never drawn for training) */
  heldOut: number;
  /** seed of the held-out set (the training stream has the training seed) */
  seed: number;
}

/** The dates task: days from 1950-01-01 to 2049-12-31; held-out days in no format for training. */
export interface DatesTaskSpec {
  task: 'dates';
  heldOut: number;
  seed: number;
}

/** Pairs from a TSV file: heldOut of its distinct sources (chosen by seed) are held out. */
export interface FileTaskSpec {
  task: 'file';
  /** the file as it was named when training started */
  path: string;
  /** its sha256: the same split needs the same file */
  sha256: string;
  heldOut: number;
  seed: number;
}

/** Everything that decides a run's pairs: saved in the checkpoint, so eval finds its held-out set again. */
export type TaskSpec = StringTaskSpec | DatesTaskSpec | FileTaskSpec;

/** Defaults of the string tasks (strings of 1 to 12 lowercase letters, 1000 held out). */
export const DEFAULT_STRING_TASK = { alphabet: 'abcdefghijklmnopqrstuvwxyz', minLen: 1, maxLen: 12 } as const;
export const DEFAULT_HELD_OUT = 1000;

/** The pairs of a run: a stream of training pairs and a fixed held-out set. */
export interface Seq2SeqData {
  readonly spec: TaskSpec;
  readonly vocab: Seq2SeqVocab;
  /** pairs never drawn by sample(): for the validation loss and exact-match accuracy */
  readonly heldOut: readonly Pair[];
  /** the longest source or target in tokens, with its EOS / BOS */
  readonly blockSize: number;
  /** one training pair, drawn with rng */
  sample(rng: Rng): Pair;
  /** what the data is, in a few words */
  readonly summary: string;
}

/** The target of a string task's source. */
export function stringTaskTarget(task: StringTaskSpec['task'], source: string): string {
  const chars = Array.from(source);
  if (task === 'reverse') return chars.reverse().join('');
  if (task === 'sort') return chars.sort().join('');
  return source;
}

/** Random strings of a string task; the held-out ones are drawn first and never again. */
function stringTask(spec: StringTaskSpec): Seq2SeqData {
  const { alphabet, minLen, maxLen, heldOut, task } = spec;
  const letters = Array.from(alphabet);
  const where = `task ${task}`;
  if (letters.length === 0) throw new ConfigError(`${where}: the alphabet is empty`);
  if (new Set(letters).size !== letters.length)
    throw new ConfigError(`${where}: alphabet ${JSON.stringify(alphabet)} repeats a character`);
  if (!(Number.isInteger(minLen) && minLen >= 1 && Number.isInteger(maxLen) && maxLen >= minLen))
    throw new ConfigError(`${where}: lengths ${minLen}..${maxLen}: need integers with 1 <= minLen <= maxLen`);
  // how many distinct sources there are; half may be held out at most, so training has some
  let space = 0;
  for (let len = minLen; len <= maxLen && space < 1e15; len++) space += letters.length ** len;
  if (!(Number.isInteger(heldOut) && heldOut >= 1 && heldOut <= space / 2))
    throw new ConfigError(
      `${where}: ${heldOut} held out: need 1 to ${Math.floor(space / 2)} (half of the ${space} strings of ${letters.length} letters, lengths ${minLen}..${maxLen})`,
    );
  const draw = (rng: Rng): string => {
    const len = minLen + rng.int(maxLen - minLen + 1);
    let s = '';
    for (let i = 0; i < len; i++) s += letters[rng.int(letters.length)];
    return s;
  };
  const held = new Set<string>();
  const perLength = new Map<number, number>();
  const rng = new Rng(spec.seed);
  // lengths are drawn uniformly, so a short length with few strings would be held out whole:
  // hold out at most half of each length's strings
  while (held.size < heldOut) {
    const s = draw(rng);
    const n = Array.from(s).length;
    const count = perLength.get(n) ?? 0;
    if (held.has(s) || count >= letters.length ** n / 2) continue;
    held.add(s);
    perLength.set(n, count + 1);
  }
  const pairs = [...held].map((source) => ({ source, target: stringTaskTarget(task, source) }));
  return {
    spec,
    vocab: Seq2SeqVocab.fromText(alphabet),
    heldOut: pairs,
    blockSize: maxLen + 1,
    sample(r: Rng): Pair {
      for (;;) {
        const source = draw(r);
        if (!held.has(source)) return { source, target: stringTaskTarget(task, source) };
      }
    },
    summary: `${task}: strings of ${minLen}-${maxLen} characters from ${JSON.stringify(alphabet)}, ${heldOut} held out`,
  };
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const pad2 = (n: number) => String(n).padStart(2, '0');
/** The ways a date is written in the dates task's sources. */
const DATE_FORMATS: readonly ((y: number, m: number, d: number) => string)[] = [
  (y, m, d) => `${MONTHS[m - 1]} ${d}, ${y}`, // March 5, 2021
  (y, m, d) => `${d} ${MONTHS[m - 1]} ${y}`, // 5 March 2021
  (y, m, d) => `${MONTHS[m - 1]!.slice(0, 3)} ${d}, ${y}`, // Mar 5, 2021
  (y, m, d) => `${pad2(d)} ${MONTHS[m - 1]!.slice(0, 3)} ${y}`, // 05 Mar 2021
  (y, m, d) => `${m}/${d}/${y}`, // 3/5/2021 (month first)
  (y, m, d) => `${y}.${pad2(m)}.${pad2(d)}`, // 2021.03.05
];
const FIRST_DAY = Date.UTC(1950, 0, 1) / 86_400_000;
const DAYS = Date.UTC(2050, 0, 1) / 86_400_000 - FIRST_DAY;

/** Day number n (0 = 1950-01-01) as [year, month, day]. */
function dateOf(n: number): [number, number, number] {
  const dt = new Date((FIRST_DAY + n) * 86_400_000);
  return [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate()];
}

/** The dates task: a day in one of DATE_FORMATS -> YYYY-MM-DD. */
function datesTask(spec: DatesTaskSpec): Seq2SeqData {
  if (!(Number.isInteger(spec.heldOut) && spec.heldOut >= 1 && spec.heldOut <= DAYS / 2))
    throw new ConfigError(
      `task dates: ${spec.heldOut} held out: need 1 to ${DAYS / 2} (half of the ${DAYS} days)`,
    );
  const pairOf = (n: number, rng: Rng): Pair => {
    const [y, m, d] = dateOf(n);
    return {
      source: DATE_FORMATS[rng.int(DATE_FORMATS.length)]!(y, m, d),
      target: `${y}-${pad2(m)}-${pad2(d)}`,
    };
  };
  const rng = new Rng(spec.seed);
  const held = new Set<number>();
  while (held.size < spec.heldOut) held.add(rng.int(DAYS));
  const heldOut = [...held].map((n) => pairOf(n, rng));
  const alphabet = `${MONTHS.join('')}0123456789 ,/.-`;
  let longest = 0;
  for (const f of DATE_FORMATS) for (const m of [9, 5]) longest = Math.max(longest, f(2049, m, 30).length);
  return {
    spec,
    vocab: Seq2SeqVocab.fromText(alphabet),
    heldOut,
    blockSize: longest + 1,
    sample(r: Rng): Pair {
      for (;;) {
        const n = r.int(DAYS);
        if (!held.has(n)) return pairOf(n, r);
      }
    },
    summary: `dates: days 1950-2049 in ${DATE_FORMATS.length} formats to YYYY-MM-DD, ${spec.heldOut} days held out`,
  };
}

/**
 * Pairs from the text of a TSV file: one `source<TAB>target` per line, both non-empty; blank
 * lines are skipped, a trailing \r is dropped. Anything else is refused in one line naming the
 * file, the line and why: `pairs.tsv:7: no tab: each line is source<TAB>target`.
 */
export function parsePairs(text: string, path: string): Pair[] {
  const pairs: Pair[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    if (line.trim() === '') continue;
    const where = `${path}:${i + 1}`;
    const parts = line.split('\t');
    if (parts.length === 1)
      throw new DataError(
        `${where}: no tab: each line is source<TAB>target (${JSON.stringify(line.slice(0, 40))})`,
      );
    if (parts.length > 2)
      throw new DataError(`${where}: ${parts.length - 1} tabs: each line is source<TAB>target, with one tab`);
    const [source, target] = parts as [string, string];
    if (source === '') throw new DataError(`${where}: empty source (before the tab)`);
    if (target === '') throw new DataError(`${where}: empty target (after the tab)`);
    pairs.push({ source, target });
  }
  if (pairs.length === 0) throw new DataError(`${path}: no pairs (each line is source<TAB>target)`);
  return pairs;
}

/**
 * A file's pairs: heldOut of its distinct sources (a seeded choice) are held out with all their
 * pairs; training draws uniformly from the rest.
 */
function fileTask(spec: FileTaskSpec, pairs: readonly Pair[]): Seq2SeqData {
  const sources = [...new Set(pairs.map((p) => p.source))];
  if (!(Number.isInteger(spec.heldOut) && spec.heldOut >= 1 && spec.heldOut < sources.length))
    throw new ConfigError(
      `${spec.path}: ${spec.heldOut} held out: need 1 to ${sources.length - 1} (the file has ${sources.length} distinct sources)`,
    );
  const rng = new Rng(spec.seed);
  for (let i = sources.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [sources[i], sources[j]] = [sources[j]!, sources[i]!];
  }
  const held = new Set(sources.slice(0, spec.heldOut));
  const heldOut = pairs.filter((p) => held.has(p.source));
  const train = pairs.filter((p) => !held.has(p.source));
  const longest = Math.max(
    ...pairs.map((p) => Math.max(Array.from(p.source).length, Array.from(p.target).length)),
  );
  return {
    spec,
    vocab: Seq2SeqVocab.fromPairs(pairs),
    heldOut,
    blockSize: longest + 1,
    sample: (r: Rng) => train[r.int(train.length)]!,
    summary: `${spec.path}: ${pairs.length} pairs, ${train.length} for training, ${heldOut.length} held out (those of ${spec.heldOut} of its ${sources.length} sources)`,
  };
}

/**
 * The data of a task spec; a file task needs the file's pairs (parsePairs), the others make theirs.
 * @example const data = taskData({ task: 'reverse', ...DEFAULT_STRING_TASK, heldOut: 1000, seed: 1 });
 */
export function taskData(spec: TaskSpec, filePairs?: readonly Pair[]): Seq2SeqData {
  if (spec.task === 'file') {
    if (!filePairs) throw new DataError(`${spec.path}: the file's pairs are needed`);
    return fileTask(spec, filePairs);
  }
  return spec.task === 'dates' ? datesTask(spec) : stringTask(spec);
}

/** A task spec from a checkpoint, checked; one line naming what is wrong. */
export function validateTaskSpec(raw: unknown, where: string): TaskSpec {
  const bad = (why: string) => new ConfigError(`${where}: task: ${why}`);
  if (typeof raw !== 'object' || raw === null) throw bad('must be an object');
  const o = raw as Record<string, unknown>;
  const keys: Record<string, readonly string[]> = {
    copy: ['task', 'alphabet', 'minLen', 'maxLen', 'heldOut', 'seed'],
    reverse: ['task', 'alphabet', 'minLen', 'maxLen', 'heldOut', 'seed'],
    sort: ['task', 'alphabet', 'minLen', 'maxLen', 'heldOut', 'seed'],
    dates: ['task', 'heldOut', 'seed'],
    file: ['task', 'path', 'sha256', 'heldOut', 'seed'],
  };
  const want = keys[String(o['task'])];
  if (!want) throw bad(`unknown task ${JSON.stringify(o['task'])}`);
  for (const k of want) if (!(k in o)) throw bad(`lacks "${k}"`);
  for (const k of Object.keys(o)) if (!want.includes(k)) throw bad(`unknown key "${k}"`);
  for (const k of ['minLen', 'maxLen', 'heldOut', 'seed'])
    if (k in o && !Number.isInteger(o[k])) throw bad(`${k} = ${JSON.stringify(o[k])}: must be an integer`);
  for (const k of ['alphabet', 'path', 'sha256'])
    if (k in o && typeof o[k] !== 'string') throw bad(`${k} must be a string`);
  return o as unknown as TaskSpec;
}
