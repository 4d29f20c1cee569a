// The tokenizers (char, word, byte-level BPE, GPT-2) and `tokenizerFromJSON`, which rebuilds
// any of them from its saved JSON (a tokenizer file or a checkpoint's tokenizer field).
// No file access here: callers read files and pass strings/objects in.

import { TokenizerError } from '../errors.js';
import { BpeTokenizer } from './bpe.js';
import { CharTokenizer } from './char.js';
import type { Gpt2Tokenizer } from './gpt2.js';
import type { Tokenizer, TokenizerJSON, TokenizerKind } from './tokenizer.js';
import { WordTokenizer } from './word.js';

export {
  BPE_VERSION,
  type BpeJSON,
  BpeTokenizer,
  type BpeTrainOptions,
  DEFAULT_SPECIAL_TOKENS,
} from './bpe.js';
export { ByteLevelBpe, type ByteLevelBpeSpec, bpeMerge, GPT2_PATTERN, type Merge } from './bpe-core.js';
export { learnMerges } from './bpe-train.js';
export { bytesToUnicode, Utf8StreamDecoder, utf8Decode, utf8Encode } from './bytes.js';
export { CharTokenizer } from './char.js';
export { GPT2_EOT, GPT2_VERSION, Gpt2Tokenizer } from './gpt2.js';
export type { EncodeOptions, Tokenizer, TokenizerJSON, TokenizerKind } from './tokenizer.js';
export { splitWords, UNK, UNK_ID, WORD_VERSION, WordTokenizer, type WordTrainOptions } from './word.js';

/** The format version each kind reads and writes. */
export const TOKENIZER_VERSIONS: Readonly<Record<TokenizerKind, number>> = {
  char: 1,
  word: 1,
  bpe: 1,
  gpt2: 1,
};

export interface FromJSONOptions {
  /** GPT-2's tokenizer (built by the caller from encoder.json + vocab.bpe), for kind 'gpt2'. */
  gpt2?: Gpt2Tokenizer | (() => Gpt2Tokenizer);
}

/**
 * Rebuilds a tokenizer from its JSON (text or parsed), checking kind and version.
 * Kind 'gpt2' is saved as a reference only, so it needs `options.gpt2`.
 * @example tokenizerFromJSON(readFileSync('shakespeare-bpe.json', 'utf8'))
 */
export function tokenizerFromJSON(
  json: string | TokenizerJSON | unknown,
  options: FromJSONOptions = {},
): Tokenizer {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (e) {
      throw new TokenizerError(`tokenizer JSON: not valid JSON (${(e as Error).message})`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TokenizerError('tokenizer JSON: expected an object with "kind" and "version"');
  const o = value as Record<string, unknown>;
  const kind = o['kind'];
  if (typeof kind !== 'string' || !Object.hasOwn(TOKENIZER_VERSIONS, kind))
    throw new TokenizerError(
      `tokenizer JSON: unknown kind ${JSON.stringify(kind)} (expected one of ${Object.keys(TOKENIZER_VERSIONS).join(', ')})`,
    );
  const expected = TOKENIZER_VERSIONS[kind as TokenizerKind];
  if (o['version'] !== expected)
    throw new TokenizerError(
      `tokenizer JSON: ${kind} tokenizer version ${JSON.stringify(o['version'])} is not supported (this build reads ${expected})`,
    );
  switch (kind as TokenizerKind) {
    case 'char':
      return CharTokenizer.fromJSON(o as TokenizerJSON);
    case 'word':
      return WordTokenizer.fromJSON(o);
    case 'bpe':
      return BpeTokenizer.fromJSON(o);
    case 'gpt2': {
      for (const k of Object.keys(o))
        if (k !== 'kind' && k !== 'version')
          throw new TokenizerError(`tokenizer JSON: unknown key "${k}" for gpt2`);
      const g = options.gpt2;
      if (g === undefined)
        throw new TokenizerError(
          "tokenizer JSON: kind gpt2 needs GPT-2's encoder.json and vocab.bpe (options.gpt2)",
        );
      return typeof g === 'function' ? g() : g;
    }
  }
}
