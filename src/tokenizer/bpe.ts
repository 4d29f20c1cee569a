// Byte-level BPE trained on your own text (kind 'bpe'): ids 0..255 are the bytes, merge r
// makes id 256 + r, special tokens come last. Saved as JSON version 1. The encoding engine
// is shared with GPT-2's tokenizer (bpe-core.ts); training is in bpe-train.ts.
// Not here: reading or writing files (callers pass strings/objects).

import { TokenizerError } from '../errors.js';
import { ByteLevelBpe, type Merge } from './bpe-core.js';
import { learnMerges } from './bpe-train.js';
import { utf8Encode } from './bytes.js';
import type { TokenizerJSON } from './tokenizer.js';

export const BPE_VERSION = 1;
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = ['<|endoftext|>'];

export interface BpeTrainOptions {
  /** Final vocabulary size: 256 bytes + merges + special tokens (at least 256 + specials). */
  vocabSize: number;
  /** Default `['<|endoftext|>']`; they take the last ids. */
  specialTokens?: readonly string[];
}

/** Saved form (kind 'bpe', version 1). */
export interface BpeJSON extends TokenizerJSON {
  kind: 'bpe';
  version: 1;
  /** Bytes of every non-special token, by id (ids 0..255 are the bytes themselves). */
  vocab: number[][];
  /** merges[r] = [a, b]: tokens a and b join into token 256 + r. */
  merges: Array<[number, number]>;
  /** Special token text → id. */
  specialTokens: Record<string, number>;
}

export class BpeTokenizer extends ByteLevelBpe {
  readonly kind = 'bpe' as const;
  readonly merges: ReadonlyArray<readonly [number, number]>;

  /** From merges (merge r makes id 256 + r) and special tokens (ids after the merges). */
  constructor(
    merges: ReadonlyArray<readonly [number, number]>,
    specialTokens: readonly string[] = DEFAULT_SPECIAL_TOKENS,
  ) {
    const tokenBytes: Uint8Array[] = [];
    for (let b = 0; b < 256; b++) tokenBytes.push(Uint8Array.of(b));
    const spec: Merge[] = [];
    merges.forEach(([a, b], r) => {
      const id = 256 + r;
      if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < id && b < id))
        throw new TokenizerError(`bpe tokenizer: merge ${r} (${a}, ${b}) must join ids below ${id}`);
      const t = new Uint8Array(tokenBytes[a]!.length + tokenBytes[b]!.length);
      t.set(tokenBytes[a]!);
      t.set(tokenBytes[b]!, tokenBytes[a]!.length);
      tokenBytes.push(t);
      spec.push([a, b, id]);
    });
    const specials = new Map<string, number>();
    for (const s of specialTokens) {
      if (specials.has(s))
        throw new TokenizerError(`bpe tokenizer: duplicate special token ${JSON.stringify(s)}`);
      specials.set(s, tokenBytes.length);
      tokenBytes.push(utf8Encode(s));
    }
    super(
      {
        tokenBytes,
        byteIds: Array.from({ length: 256 }, (_, b) => b),
        merges: spec,
        specialTokens: specials,
      },
      'bpe tokenizer',
    );
    this.merges = merges;
  }

  /**
   * Learns a vocabulary of `vocabSize` tokens from `text` (fewer if the text runs out of pairs).
   * @example
   * const tok = BpeTokenizer.train(shakespeare, { vocabSize: 1024 });
   * tok.encode(' the').length // 1
   * tok.decode(tok.encode('Any text 😀')) // 'Any text 😀'
   */
  static train(text: string, options: BpeTrainOptions): BpeTokenizer {
    const specials = options.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
    const min = 256 + specials.length;
    const { vocabSize } = options;
    if (!Number.isInteger(vocabSize) || vocabSize < min)
      throw new TokenizerError(
        `bpe train: vocab size ${vocabSize} is below ${min} (256 byte tokens + ${specials.length} special token(s))`,
      );
    if (text.length === 0) throw new TokenizerError('bpe train: empty training text');
    return new BpeTokenizer(learnMerges(text, vocabSize - min, specials), specials);
  }

  toJSON(): BpeJSON {
    const vocab: number[][] = [];
    for (let id = 0; id < 256 + this.merges.length; id++) vocab.push(Array.from(this.tokenBytes[id]!));
    return {
      kind: 'bpe',
      version: BPE_VERSION,
      vocab,
      merges: this.merges.map(([a, b]) => [a, b]),
      specialTokens: Object.fromEntries(this.specialTokens),
    };
  }

  /** Validates a saved tokenizer: kind, version, keys, and that vocab agrees with merges. */
  static fromJSON(json: unknown): BpeTokenizer {
    const bad = (why: string): never => {
      throw new TokenizerError(`bpe tokenizer JSON: ${why}`);
    };
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('not an object');
    const o = json as Record<string, unknown>;
    if (o['kind'] !== 'bpe') bad(`kind is ${JSON.stringify(o['kind'])}, expected "bpe"`);
    if (o['version'] !== BPE_VERSION)
      bad(`unsupported version ${JSON.stringify(o['version'])} (this build reads ${BPE_VERSION})`);
    for (const k of Object.keys(o))
      if (!['kind', 'version', 'vocab', 'merges', 'specialTokens'].includes(k)) bad(`unknown key "${k}"`);
    const { vocab, merges, specialTokens } = o;
    if (
      !Array.isArray(merges) ||
      !merges.every((m) => Array.isArray(m) && m.length === 2 && m.every(Number.isInteger))
    )
      bad('"merges" must be an array of [a, b] integer pairs');
    if (!Array.isArray(vocab)) return bad('"vocab" must be an array of byte arrays');
    const ms = merges as Array<[number, number]>;
    if (vocab.length !== 256 + ms.length)
      bad(`"vocab" has ${vocab.length} entries, expected 256 + ${ms.length} merges = ${256 + ms.length}`);
    if (typeof specialTokens !== 'object' || specialTokens === null || Array.isArray(specialTokens))
      bad('"specialTokens" must be an object of text → id');
    const specials = Object.entries(specialTokens as Record<string, unknown>).sort(
      ([, x], [, y]) => (x as number) - (y as number),
    );
    specials.forEach(([s, id], j) => {
      if (id !== vocab.length + j)
        bad(`special token ${JSON.stringify(s)} has id ${JSON.stringify(id)}, expected ${vocab.length + j}`);
    });
    const tok = new BpeTokenizer(
      ms,
      specials.map(([s]) => s),
    );
    vocab.forEach((bytes, id) => {
      const t = tok.tokenBytes[id]!;
      if (!Array.isArray(bytes) || bytes.length !== t.length || !bytes.every((x, k) => x === t[k]))
        bad(`"vocab"[${id}] does not match the bytes its merge produces`);
    });
    return tok;
  }
}
