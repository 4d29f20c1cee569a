// `tsgpt tokenizer train|encode|decode`: learn a byte-level BPE or word tokenizer from a text
// file and save it as JSON (atomically), and turn text into token ids and back with any saved
// tokenizer or GPT-2's. The tokenizers live in src/tokenizer; this is only the command line.
// Not here: char tokenizers (prepare and train learn them from their own text).

import { fstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { readTextFile } from '../../data/node-io.js';
import { decodeText } from '../../data/text.js';
import { UsageError } from '../../errors.js';
import {
  BpeTokenizer,
  DEFAULT_SPECIAL_TOKENS,
  splitWords,
  UNK_ID,
  WordTokenizer,
} from '../../tokenizer/index.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { ensureDir, writeFileAtomic } from '../../util/atomic-write.js';
import { fileError } from '../../util/file-error.js';
import { type Args, closest, type FlagSpec } from '../args.js';
import { formatBytes, formatDuration } from '../progress.js';
import { checkOutputFile, forceFlag } from '../replace.js';
import { countChars, loadTokenizer, parseTokenizerSpec } from '../tokenizer-spec.js';

export const name = 'tokenizer';
export const summary = 'Train a BPE or word tokenizer on a text file; encode text and decode ids';
export const description = [
  'tsgpt tokenizer train: learns a tokenizer from --data and writes it to --out as JSON. ' +
    `--type bpe is byte-level BPE: 256 byte tokens, then merges, then ${DEFAULT_SPECIAL_TOKENS.join(', ')}, ` +
    `so --vocab-size is at least ${256 + DEFAULT_SPECIAL_TOKENS.length}; any text encodes. --type word keeps the ` +
    '--vocab-size - 1 most frequent words, whitespace runs and punctuation marks, plus <unk> for the rest. ' +
    'Prints the vocabulary size reached, the time taken and the compression (characters per token) on the ' +
    'training text. An existing --out is replaced only with --force.',
  'tsgpt tokenizer encode: prints the token ids of --text, --data FILE or standard input, separated ' +
    'by spaces (--json: a JSON array). Empty text, from any of the three, is no tokens: an empty line ' +
    '(--json: []).',
  'tsgpt tokenizer decode: prints the text of the ids given as arguments or on standard input ' +
    '(separated by spaces, commas or newlines; a JSON array works too), exactly, with no newline added ' +
    'unless the output is a terminal.',
  '--tokenizer takes bpe:FILE, word:FILE or gpt2, as for tsgpt prepare. char is not accepted here: a ' +
    'char vocabulary is learned from the text being prepared, so there is no file to read.',
].join('\n\n');

const SUBCOMMANDS = ['train', 'encode', 'decode'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

export const positionals = [
  { name: 'subcommand', help: 'train | encode | decode' },
  { name: 'ids', help: 'token ids to decode (default: read standard input)', optional: true, variadic: true },
];

export const flags: readonly FlagSpec[] = [
  {
    name: 'type',
    type: 'string',
    choices: ['bpe', 'word'],
    default: 'bpe',
    help: 'train: kind of tokenizer',
  },
  {
    name: 'vocab-size',
    type: 'int',
    min: 2,
    help: `train: size of the vocabulary, special tokens included (bpe: >= ${256 + DEFAULT_SPECIAL_TOKENS.length})`,
  },
  {
    name: 'data',
    type: 'string',
    metavar: 'FILE',
    help: 'train: UTF-8 training text; encode: text to encode',
  },
  { name: 'out', type: 'string', metavar: 'FILE', help: 'train: where to write the tokenizer JSON' },
  {
    ...forceFlag('an existing --out file'),
    help: 'train: replace an existing --out (without --force, it is never replaced)',
  },
  { name: 'tokenizer', type: 'string', metavar: 'SPEC', help: 'encode/decode: bpe:FILE | word:FILE | gpt2' },
  { name: 'text', type: 'string', metavar: 'TEXT', help: 'encode: the text to encode' },
  { name: 'json', type: 'bool', help: 'encode: print a JSON array instead of space-separated ids' },
  {
    name: 'allow-special',
    type: 'bool',
    help: `encode: special tokens in the text (${DEFAULT_SPECIAL_TOKENS.join(', ')}) become their single id`,
  },
];

export const examples = [
  'tsgpt tokenizer train --type bpe --vocab-size 1024 --data assets/tinyshakespeare.txt --out shakespeare-bpe.json',
  'tsgpt tokenizer train --type word --vocab-size 5000 --data my-novel.txt --out novel-words.json',
  'tsgpt tokenizer encode --tokenizer bpe:shakespeare-bpe.json --text "To be, or not to be"',
  'tsgpt tokenizer encode --tokenizer gpt2 --data input.txt --json > ids.json',
  'tsgpt tokenizer decode --tokenizer bpe:shakespeare-bpe.json 398 304 44 522 321 287 304',
  'tsgpt tokenizer encode --tokenizer gpt2 --text "hello" | tsgpt tokenizer decode --tokenizer gpt2',
  'tsgpt prepare --tokenizer bpe:shakespeare-bpe.json --out data/shakespeare-bpe',
];

/** Which flags each subcommand reads; any other flag given is a usage error. */
const FLAGS_OF: Readonly<Record<Subcommand, readonly string[]>> = {
  train: ['type', 'vocab-size', 'data', 'out', 'force'],
  encode: ['tokenizer', 'text', 'data', 'json', 'allow-special'],
  decode: ['tokenizer'],
};

export async function run(args: Args): Promise<void> {
  const sub = args.positional('subcommand')!;
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
    const near = closest(sub, SUBCOMMANDS);
    throw new UsageError(
      `unknown subcommand "${sub}"${near ? `; did you mean ${near}?` : ''} (tsgpt tokenizer train|encode|decode; see tsgpt tokenizer --help)`,
    );
  }
  const s = sub as Subcommand;
  for (const f of flags)
    if (args.has(f.name) && !FLAGS_OF[s].includes(f.name))
      throw new UsageError(`--${f.name} is not a flag of tsgpt tokenizer ${s} (see tsgpt tokenizer --help)`);
  if (s !== 'decode' && args.positionals.length > 1)
    throw new UsageError(`unexpected argument "${args.positionals[1]}" (see tsgpt tokenizer --help)`);
  if (s === 'train') return train(args);
  if (s === 'encode') return encode(args);
  return decode(args);
}

function required(args: Args, flag: string, sub: Subcommand, metavar: string): void {
  if (!args.has(flag))
    throw new UsageError(`tokenizer ${sub} needs --${flag} ${metavar} (see tsgpt tokenizer --help)`);
}

async function train(args: Args): Promise<void> {
  required(args, 'data', 'train', 'FILE');
  required(args, 'vocab-size', 'train', 'N');
  required(args, 'out', 'train', 'FILE');
  const type = args.string('type') as 'bpe' | 'word';
  const vocabSize = args.int('vocab-size')!;
  const out = args.string('out')!;
  const min = type === 'bpe' ? 256 + DEFAULT_SPECIAL_TOKENS.length : 2;
  if (vocabSize < min)
    throw new UsageError(
      type === 'bpe'
        ? `--vocab-size ${vocabSize} is below ${min} for bpe: 256 byte tokens + ${DEFAULT_SPECIAL_TOKENS.join(', ')}`
        : `--vocab-size ${vocabSize} is below 2 for word: <unk> + at least one word`,
    );
  // check --out before the (possibly long) training, so a mistake costs nothing
  await checkOutputFile(out, args.bool('force'));

  const file = await readTextFile(args.string('data')!);
  const chars = countChars(file.text);
  const n = (x: number) => x.toLocaleString('en-US');
  // training is one synchronous loop with no progress hook: say what is happening and how big it is
  process.stderr.write(
    `training a ${type} tokenizer on ${file.path} (${n(chars)} characters, ${formatBytes(file.bytes)}) ` +
      `to ${n(vocabSize)} tokens...\n`,
  );
  const t0 = performance.now();
  const tok: Tokenizer =
    type === 'bpe'
      ? BpeTokenizer.train(file.text, { vocabSize })
      : WordTokenizer.train(file.text, { vocabSize });
  const seconds = (performance.now() - t0) / 1000;
  const ids = tok.encode(file.text);
  const json = `${JSON.stringify(tok.toJSON())}\n`;
  if (dirname(out) !== '.') await ensureDir(dirname(out));
  await writeFileAtomic(out, json);

  const lines = [
    `trained a ${type} tokenizer on ${file.path}: ${n(chars)} characters, ${formatBytes(file.bytes)}`,
  ];
  if (tok instanceof BpeTokenizer) {
    const specials = tok.vocabSize - 256 - tok.merges.length;
    lines.push(
      `  vocab size   ${n(tok.vocabSize)} (256 bytes + ${n(tok.merges.length)} merges + ${specials} special)` +
        (tok.vocabSize < vocabSize ? `; ${n(vocabSize)} asked, but the text ran out of pairs to merge` : ''),
    );
  } else if (tok instanceof WordTokenizer) {
    const distinct = new Set(splitWords(file.text)).size;
    const unk = ids.reduce((k, id) => k + (id === UNK_ID ? 1 : 0), 0);
    lines.push(
      `  vocab size   ${n(tok.vocabSize)} (<unk> + ${n(tok.vocabSize - 1)} of ${n(distinct)} distinct words)` +
        (tok.vocabSize < vocabSize ? `; ${n(vocabSize)} asked, but the text has no more words` : ''),
      `  unknown      ${pct(unk, ids.length)} of the training text's tokens are <unk>`,
    );
  }
  lines.push(
    `  time         ${seconds < 10 ? `${seconds.toFixed(2)}s` : formatDuration(seconds)}`,
    `  compression  ${(chars / Math.max(1, ids.length)).toFixed(2)} characters per token ` +
      `(${n(ids.length)} tokens for the training text)`,
    `  wrote        ${out} (${formatBytes(Buffer.byteLength(json))})`,
    '',
  );
  process.stdout.write(lines.join('\n'));
}

function pct(k: number, total: number): string {
  return `${((100 * k) / Math.max(1, total)).toFixed(k > 0 && k < total / 100 ? 2 : 1)}%`;
}

/** Standard input as text; refuses a terminal, where reading would just wait for a user who expects help. */
async function readStdin(what: string, sub: Subcommand): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError(`tokenizer ${sub} needs ${what} (see tsgpt tokenizer --help)`);
  const chunks: Buffer[] = [];
  try {
    // a directory as standard input (`< some/dir`) reads as empty in Node's stream: say what it is
    if (fstatSync(0).isDirectory())
      throw Object.assign(new Error('standard input is a directory'), { code: 'EISDIR' });
    for await (const c of process.stdin) chunks.push(c as Buffer);
  } catch (err) {
    throw fileError(err, 'read', 'standard input');
  }
  const bytes = Buffer.concat(chunks);
  // empty (or only a byte-order mark): no text, as --text "" and an empty --data file
  return bytes.length === 0 || (bytes.length === 3 && bytes.toString('hex') === 'efbbbf')
    ? ''
    : decodeText(bytes, 'standard input');
}

async function tokenizerFlag(args: Args, sub: Subcommand): Promise<Tokenizer> {
  required(args, 'tokenizer', sub, 'SPEC');
  return loadTokenizer(parseTokenizerSpec(args.string('tokenizer')!, 'tokenizer'), 'tokenizer');
}

async function encode(args: Args): Promise<void> {
  if (args.has('text') && args.has('data'))
    throw new UsageError('tokenizer encode takes --text or --data, not both');
  const tok = await tokenizerFlag(args, 'encode');
  const text =
    args.string('text') ??
    (args.has('data')
      ? (await readTextFile(args.string('data')!, { allowEmpty: true })).text
      : await readStdin('--text TEXT, --data FILE, or text on standard input', 'encode'));
  const ids = tok.encode(text, args.bool('allow-special') ? { allowedSpecial: 'all' } : {});
  process.stdout.write(`${args.bool('json') ? JSON.stringify(ids) : ids.join(' ')}\n`);
}

async function decode(args: Args): Promise<void> {
  const fromArgs = args.positionals.length > 1;
  // ids given as arguments are checked before the (possibly slow to load) tokenizer
  const ids = fromArgs ? parseIds(args.positionals.slice(1)) : [];
  const tok = await tokenizerFlag(args, 'decode');
  if (!fromArgs)
    ids.push(
      ...parseIds(
        (await readStdin('token ids as arguments or on standard input', 'decode')).split(/[\s,[\]]+/),
      ),
    );
  const text = tok.decode(ids);
  process.stdout.write(process.stdout.isTTY && !text.endsWith('\n') ? `${text}\n` : text);
}

function parseIds(words: readonly string[]): number[] {
  const ids: number[] = [];
  for (const w of words) {
    if (w === '') continue;
    if (!/^\d+$/.test(w) || !Number.isSafeInteger(Number(w)))
      throw new UsageError(`tokenizer decode: "${w}" is not a token id (a non-negative integer)`);
    ids.push(Number(w));
  }
  return ids;
}
