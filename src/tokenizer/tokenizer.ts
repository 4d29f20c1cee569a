// The Tokenizer interface every tokenizer (char, word, byte-level BPE, GPT-2) implements, and
// the JSON form saved inside checkpoints and tokenizer files. No Node APIs here.

export type TokenizerKind = 'char' | 'word' | 'bpe' | 'gpt2';

/** Serialisable form of a tokenizer (stored in checkpoints and `--out` files). */
export interface TokenizerJSON {
  kind: TokenizerKind;
  version: number;
  [key: string]: unknown;
}

/** Options for `encode`; tokenizers without special tokens ignore them. */
export interface EncodeOptions {
  /**
   * Special tokens (e.g. `<|endoftext|>`) to encode as their single id when they occur in the
   * text; others are encoded as ordinary text. Default: none.
   */
  allowedSpecial?: 'all' | readonly string[];
}

export interface Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  /** Token ids of text; throws TokenizerError naming what it cannot encode. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Text of token ids (ids out of range throw TokenizerError). */
  decode(ids: readonly number[]): string;
  toJSON(): TokenizerJSON;
}
