// Word-level tokenizer (kind 'word'): tokens are words, single punctuation characters and
// whitespace runs, so decode(encode(x)) === x whenever every token of x is in the vocabulary.
// The vocabulary is the N most frequent tokens of the training text; anything else is
// `<unk>` (id 0). Not subword: an unseen word cannot be spelled, it becomes `<unk>`.

import { TokenizerError } from '../errors.js';
import type { Tokenizer, TokenizerJSON } from './tokenizer.js';

export const WORD_VERSION = 1;
export const UNK = '<unk>';
export const UNK_ID = 0;

/**
 * A word (letters, combining marks and digits: `don't` is `don` `'` `t`), a whitespace run,
 * or any other single character (punctuation, symbols, emoji parts). Every code point is
 * matched, so the tokens cover the text exactly.
 */
const WORD_PATTERN = /[\p{L}\p{M}\p{N}]+|\s+|[^\s\p{L}\p{M}\p{N}]/gu;

/** The word-level tokens of `text`, in order (their concatenation is `text`). */
export function splitWords(text: string): string[] {
  return text.match(WORD_PATTERN) ?? [];
}

export interface WordTrainOptions {
  /** Vocabulary size including `<unk>` (at least 2). */
  vocabSize: number;
}

export class WordTokenizer implements Tokenizer {
  readonly kind = 'word' as const;
  /** words[id]; words[0] is `<unk>`. */
  readonly words: readonly string[];
  private readonly index: Map<string, number>;

  constructor(words: readonly string[]) {
    if (words[0] !== UNK) throw new TokenizerError(`word tokenizer: id 0 must be ${UNK}`);
    this.words = words;
    this.index = new Map();
    words.forEach((w, id) => {
      if (id === UNK_ID) return;
      const parts = splitWords(w);
      if (parts.length !== 1 || parts[0] !== w)
        throw new TokenizerError(
          `word tokenizer: vocabulary entry ${id} ${JSON.stringify(w)} is not a single token`,
        );
      if (this.index.has(w))
        throw new TokenizerError(`word tokenizer: duplicate vocabulary entry ${JSON.stringify(w)}`);
      this.index.set(w, id);
    });
  }

  /**
   * The `vocabSize - 1` most frequent tokens of `text` (ties: code-unit order), after `<unk>`.
   * @example WordTokenizer.train('to be or not to be', { vocabSize: 4 }).words // ['<unk>', ' ', 'be', 'to']
   */
  static train(text: string, options: WordTrainOptions): WordTokenizer {
    const { vocabSize } = options;
    if (!Number.isInteger(vocabSize) || vocabSize < 2)
      throw new TokenizerError(`word train: vocab size ${vocabSize} is below 2 (<unk> + at least one word)`);
    if (text.length === 0) throw new TokenizerError('word train: empty training text');
    const counts = new Map<string, number>();
    for (const w of splitWords(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const ranked = [...counts].sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0));
    return new WordTokenizer([UNK, ...ranked.slice(0, vocabSize - 1).map(([w]) => w)]);
  }

  get vocabSize(): number {
    return this.words.length;
  }

  /**
   * Token ids; out-of-vocabulary tokens are `<unk>`, except a whitespace run, which falls
   * back to its single characters (so an unusual run of spaces is not lost).
   */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const w of splitWords(text)) {
      const id = this.index.get(w);
      if (id !== undefined) ids.push(id);
      else if (/^\s/u.test(w) && w.length > 1) for (const ch of w) ids.push(this.index.get(ch) ?? UNK_ID);
      else ids.push(UNK_ID);
    }
    return ids;
  }

  /** Text of ids; `<unk>` decodes to the literal text `<unk>`. */
  decode(ids: readonly number[]): string {
    let s = '';
    for (const id of ids) {
      const w = this.words[id];
      if (w === undefined)
        throw new TokenizerError(`word tokenizer: id ${id} out of range [0, ${this.vocabSize})`);
      s += w;
    }
    return s;
  }

  toJSON(): TokenizerJSON {
    return { kind: 'word', version: WORD_VERSION, words: [...this.words] };
  }

  static fromJSON(json: unknown): WordTokenizer {
    const bad = (why: string): never => {
      throw new TokenizerError(`word tokenizer JSON: ${why}`);
    };
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('not an object');
    const o = json as Record<string, unknown>;
    if (o['kind'] !== 'word') bad(`kind is ${JSON.stringify(o['kind'])}, expected "word"`);
    if (o['version'] !== WORD_VERSION)
      bad(`unsupported version ${JSON.stringify(o['version'])} (this build reads ${WORD_VERSION})`);
    for (const k of Object.keys(o)) if (!['kind', 'version', 'words'].includes(k)) bad(`unknown key "${k}"`);
    const words = o['words'];
    if (!Array.isArray(words) || !words.every((w) => typeof w === 'string'))
      return bad('"words" must be an array of strings');
    return new WordTokenizer(words as string[]);
  }
}
