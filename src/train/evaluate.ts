// Evaluation over a whole token split: consecutive blockSize windows, every token predicted
// once, summed in nats. Each window starts afresh (an RNN from a zero state), as in training.
// Bits per character and per byte divide by the length of the text the predicted tokens
// spell, so models with different tokenizers compare on the same text.

import { noGrad } from '../autograd/engine.js';
import { checkTokenCount, minTokens } from '../data/batch.js';
import type { TokenArray } from '../data/dataset.js';
import { DataError } from '../errors.js';
import type { LanguageModel } from '../model/language-model.js';
import { Tensor, tidy } from '../tensor/tensor.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

export interface EvalResult {
  tokens: number;
  chars: number;
  bytes: number;
  /** mean nats per token */
  loss: number;
  perplexity: number;
  bitsPerToken: number;
  bitsPerChar: number;
  bitsPerByte: number;
}

export function evaluateTokens(
  model: LanguageModel,
  tok: Tokenizer,
  tokens: TokenArray,
  o: {
    batchSize: number;
    maxWindows: number;
    onProgress?: (done: number, total: number) => void;
    /** names the tokens in errors (default "the tokens") */
    what?: string;
  },
): EvalResult {
  const T = model.config.blockSize;
  // windows of the model's whole context, so that figures compare across texts; a text too short
  // for one is refused (the context is the checkpoint's: more text is the only remedy)
  const n = tokens.length;
  if (n < minTokens(T))
    throw new DataError(
      `${o.what ?? 'the tokens'}: ${n} token${n === 1 ? ' is' : 's are'} too few for blockSize ${T}: ` +
        `evaluation reads windows of ${minTokens(T)} tokens (the context + the next token); give more text`,
    );
  const windows = Math.min(o.maxWindows, Math.floor((tokens.length - 1) / T));
  let nats = 0;
  let count = 0;
  const utf8 = new TextEncoder();
  let chars = 0;
  let bytes = 0;
  noGrad(() => {
    for (let w0 = 0; w0 < windows; w0 += o.batchSize) {
      const b = Math.min(o.batchSize, windows - w0);
      const x = new Tensor(model.backend, [b, T], 'int32');
      const y = new Tensor(model.backend, [b, T], 'int32');
      for (let i = 0; i < b; i++) {
        const start = (w0 + i) * T;
        for (let t = 0; t < T; t++) {
          x.data[i * T + t] = tokens[start + t]!;
          y.data[i * T + t] = tokens[start + t + 1]!;
        }
        const text = tok.decode(Array.from(tokens.subarray(start + 1, start + T + 1)));
        chars += Array.from(text).length;
        bytes += utf8.encode(text).length;
      }
      nats += tidy(() => model.forward(x, y).loss!.item()) * b * T;
      count += b * T;
      x.dispose();
      y.dispose();
      o.onProgress?.(Math.min(w0 + b, windows), windows);
    }
  });
  const loss = nats / count;
  return {
    tokens: count,
    chars,
    bytes,
    loss,
    perplexity: Math.exp(loss),
    bitsPerToken: loss / Math.LN2,
    bitsPerChar: nats / Math.LN2 / chars,
    bitsPerByte: nats / Math.LN2 / bytes,
  };
}

/**
 * The mean loss (nats per token) over a whole split with every token but the first predicted
 * exactly once: consecutive windows of blockSize, the last one shorter if the split does not
 * divide evenly (evaluateTokens leaves that tail out). Each window starts without context, as
 * in training. What the bench and the ablation compare (bench/pytorch/train_ref.py --full-val
 * computes the same windows in PyTorch).
 * @example splitLoss(model, data.val) // 1.92 after nanoGPT's baby run on Tiny Shakespeare
 */
export function splitLoss(model: LanguageModel, tokens: TokenArray, batchSize = 32): number {
  const T = model.config.blockSize;
  checkTokenCount(tokens.length, 1, 'the tokens');
  const predicted = tokens.length - 1;
  const full = Math.floor(predicted / T);
  let nats = 0;
  const run = (start: number, b: number, t: number) => {
    const x = new Tensor(model.backend, [b, t], 'int32');
    const y = new Tensor(model.backend, [b, t], 'int32');
    for (let i = 0; i < b; i++)
      for (let j = 0; j < t; j++) {
        x.data[i * t + j] = tokens[start + i * t + j]!;
        y.data[i * t + j] = tokens[start + i * t + j + 1]!;
      }
    nats += tidy(() => model.forward(x, y).loss!.item()) * b * t;
    x.dispose();
    y.dispose();
  };
  noGrad(() => {
    for (let w0 = 0; w0 < full; w0 += batchSize) run(w0 * T, Math.min(batchSize, full - w0), T);
    if (predicted > full * T) run(full * T, 1, predicted - full * T);
  });
  return nats / predicted;
}
