// Section 4 of `tsgpt bench`: the tokenizers (BPE training to 1,024 tokens, GPT-2 encoding and
// decoding beside js-tiktoken, ids checked identical), in this process: they are single-threaded
// and hold nothing large. The measuring is bench/tokenizer.ts; bench/report.ts prints.

import { readFileSync } from 'node:fs';
import type { BenchOptions, BenchReport } from '../report.js';

export async function benchTokenizers(o: BenchOptions): Promise<NonNullable<BenchReport['tokenizer']>> {
  o.log('[tokenizer] BPE training to 1024, GPT-2 encode/decode vs js-tiktoken');
  try {
    const { runTokenizerBench } = await import('../tokenizer.js');
    return await runTokenizerBench({ text: readFileSync(o.text, 'utf8'), repeats: o.quick ? 1 : 3 });
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}
