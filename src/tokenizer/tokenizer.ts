// The Tokenizer interface every tokenizer (char, word, byte-level BPE, GPT-2) implements, and
// the JSON form saved inside checkpoints and tokenizer files. No Node APIs here.

export type TokenizerKind = 'char' | 'word' | 'bpe' | 'gpt2';

/** Serialisable form of a tokenizer (stored in checkpoints and `--out` files). */
export interface TokenizerJSON {
  kind: TokenizerKind;
  version: number;
  [key: string]: unknown;
}

export interface Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  /** Token ids of text; throws TokenizerError naming what it cannot encode. */
  encode(text: string): number[];
  /** Text of token ids (ids out of range throw TokenizerError). */
  decode(ids: readonly number[]): string;
  toJSON(): TokenizerJSON;
}
