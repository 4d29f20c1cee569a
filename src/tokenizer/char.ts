// Character-level tokenizer: one token per Unicode code point seen in the training text.
// The vocabulary is the sorted set of characters (as in nanoGPT's shakespeare_char); it is
// saved with the model. Text with a character outside it fails with an error naming it.

import { TokenizerError } from '../errors.js';
import type { Tokenizer, TokenizerJSON } from './tokenizer.js';

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly chars: readonly string[];
  private readonly index: Map<string, number>;

  constructor(chars: readonly string[]) {
    if (chars.length === 0) throw new TokenizerError('char tokenizer: empty vocabulary');
    this.chars = chars;
    this.index = new Map(chars.map((ch, i) => [ch, i]));
    if (this.index.size !== chars.length) throw new TokenizerError('char tokenizer: duplicate characters');
  }

  /**
   * Vocabulary from a text: its distinct code points, sorted.
   * @example CharTokenizer.fromText('hello').encode('hole') // [1, 3, 2, 0]
   */
  static fromText(text: string): CharTokenizer {
    return new CharTokenizer([...new Set(Array.from(text))].sort());
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    let unknown: Set<string> | null = null;
    for (const ch of text) {
      const id = this.index.get(ch);
      if (id === undefined) (unknown ??= new Set()).add(ch);
      else ids.push(id);
    }
    if (unknown) {
      const list = [...unknown].map((c) => JSON.stringify(c)).join(', ');
      throw new TokenizerError(`text has ${unknown.size} character(s) not in the vocabulary: ${list}`);
    }
    return ids;
  }

  decode(ids: readonly number[]): string {
    let s = '';
    for (const id of ids) {
      const ch = this.chars[id];
      if (ch === undefined)
        throw new TokenizerError(`char tokenizer: id ${id} out of range [0, ${this.vocabSize})`);
      s += ch;
    }
    return s;
  }

  toJSON(): TokenizerJSON {
    return { kind: 'char', version: 1, chars: this.chars.join('') };
  }

  static fromJSON(json: TokenizerJSON): CharTokenizer {
    if (json.kind !== 'char' || typeof json['chars'] !== 'string')
      throw new TokenizerError('char tokenizer: malformed JSON (need kind "char" and a "chars" string)');
    return new CharTokenizer(Array.from(json['chars'] as string));
  }
}
