// Decoding with the encoder-decoder: encode the sources once, then write each target a token at a
// time, greedily (the most likely next token) or by beam search (the `beam` most likely prefixes,
// finished ones ranked by log-probability / length^lengthPenalty), and the exact-match accuracy of
// the results. Each step runs the decoder over the whole prefix (no cache: the targets of the toy
// tasks are short). Not here: the model (src/model/encoder-decoder.ts) or the data.

import { noGrad } from '../autograd/engine.js';
import { BOS, EOS, PAD, type Pair, type Seq2SeqVocab, sourceBatch } from '../data/seq2seq.js';
import { ConfigError } from '../errors.js';
import type { EncoderDecoder } from '../model/encoder-decoder.js';
import { evalContext } from '../nn/module.js';
import { type Tensor, tensor, tidy } from '../tensor/tensor.js';

export interface DecodeOptions {
  /** hypotheses kept per source: 1 = greedy (default) */
  beam?: number;
  /** beam search ranks finished hypotheses by logp / length^lengthPenalty (default 1: per token; 0: none) */
  lengthPenalty?: number;
  /** most tokens written, EOS included (default and at most: the model's blockSize) */
  maxLen?: number;
  /** sources decoded at once (default 256) */
  batchSize?: number;
}

/**
 * The model's outputs for sources, as strings (written up to EOS, or maxLen tokens).
 * Characters outside the vocabulary throw TokenizerError; sources longer than the model's
 * blockSize throw ConfigError.
 * @example translate(model, vocab, ['hello'], { beam: 4 }) // ['olleh'] from a model trained on reverse
 */
export function translate(
  model: EncoderDecoder,
  vocab: Seq2SeqVocab,
  sources: readonly string[],
  opts: DecodeOptions = {},
): string[] {
  const block = model.config.blockSize;
  const beam = opts.beam ?? 1;
  const maxLen = opts.maxLen ?? block;
  const batchSize = opts.batchSize ?? 256;
  if (!(Number.isInteger(beam) && beam >= 1))
    throw new ConfigError(`translate: beam ${beam} must be an integer >= 1`);
  if (!(Number.isInteger(maxLen) && maxLen >= 1 && maxLen <= block))
    throw new ConfigError(
      `translate: maxLen ${maxLen} must be an integer in [1, ${block}] (the model's blockSize)`,
    );
  for (const s of sources)
    if (Array.from(s).length + 1 > block)
      throw new ConfigError(
        `source of ${Array.from(s).length} characters: this model reads at most ${block - 1} (its blockSize ${block} counts EOS)`,
      );
  const out: string[] = [];
  for (let i = 0; i < sources.length; i += batchSize) {
    const chunk = sources.slice(i, i + batchSize);
    const ids =
      beam === 1
        ? greedy(model, vocab, chunk, maxLen)
        : beamSearch(model, vocab, chunk, beam, opts.lengthPenalty ?? 1, maxLen);
    for (const row of ids) out.push(vocab.decode(row));
  }
  return out;
}

/** Encodes sources (B of them); the memory (B, S, C) and the padding (B, S) to decode against. */
function encodeSources(
  model: EncoderDecoder,
  vocab: Seq2SeqVocab,
  sources: readonly string[],
): { memory: Tensor; srcPadding: Tensor } {
  const be = model.backend;
  const sb = sourceBatch(sources, vocab);
  const src = tensor(be, sb.src, [sb.b, sb.s], 'int32');
  const srcPadding = tensor(be, sb.srcPadding, [sb.b, sb.s], 'int32');
  return { memory: model.encode(src, srcPadding), srcPadding };
}

/**
 * The next token's log-probabilities for each prefix (all of one length, BOS first): rows (N) of
 * V log-probabilities, from the decoder's last position.
 */
function nextLogProbs(
  model: EncoderDecoder,
  prefixes: readonly number[][],
  memory: Tensor,
  srcPadding: Tensor,
): Float64Array[] {
  const be = model.backend;
  const n = prefixes.length;
  const t = prefixes[0]!.length;
  return tidy(() => {
    const tgt = tensor(be, prefixes.flat(), [n, t], 'int32');
    const tgtPadding = tensor(be, new Int32Array(n * t), [n, t], 'int32'); // same lengths: none
    const logits = model.decode(tgt, tgtPadding, memory, srcPadding, evalContext(), true).data; // (N, 1, V)
    const v = logits.length / n;
    return Array.from({ length: n }, (_, r) => {
      // log softmax = x - max - log(sum exp(x - max))
      const row = Float64Array.from(logits.subarray(r * v, (r + 1) * v));
      let max = Number.NEGATIVE_INFINITY;
      for (const x of row) max = Math.max(max, x);
      let sum = 0;
      for (const x of row) sum += Math.exp(x - max);
      const lse = max + Math.log(sum);
      for (let j = 0; j < v; j++) row[j]! -= lse;
      return row;
    });
  });
}

/** The most likely next token, every step, until every row has written EOS. */
function greedy(
  model: EncoderDecoder,
  vocab: Seq2SeqVocab,
  sources: readonly string[],
  maxLen: number,
): number[][] {
  return noGrad(() =>
    tidy(() => {
      const { memory, srcPadding } = encodeSources(model, vocab, sources);
      const prefixes = sources.map(() => [BOS]);
      const done = sources.map(() => false);
      for (let step = 0; step < maxLen && done.includes(false); step++) {
        const lp = nextLogProbs(model, prefixes, memory, srcPadding);
        prefixes.forEach((p, r) => {
          if (done[r]) {
            p.push(PAD); // finished: keep the batch rectangular, the output ends at EOS
            return;
          }
          let best = 0;
          for (let j = 1; j < lp[r]!.length; j++) if (lp[r]![j]! > lp[r]![best]!) best = j;
          p.push(best);
          if (best === EOS) done[r] = true;
        });
      }
      return prefixes.map((p) => p.slice(1));
    }),
  );
}

interface Hypothesis {
  tokens: number[];
  logp: number;
}

/**
 * Beam search: each source keeps the `beam` most likely unfinished prefixes; a prefix that writes
 * EOS among the best `beam` candidates is finished and scored logp / length^lengthPenalty. A
 * source is done once it has `beam` finished hypotheses (or at maxLen, when its unfinished ones
 * join in); the best score wins.
 */
function beamSearch(
  model: EncoderDecoder,
  vocab: Seq2SeqVocab,
  sources: readonly string[],
  beam: number,
  lengthPenalty: number,
  maxLen: number,
): number[][] {
  const score = (logp: number, len: number) => logp / len ** lengthPenalty;
  return noGrad(() =>
    tidy(() => {
      // each source's memory repeated for its beam hypotheses: rows b*beam .. b*beam + beam-1
      const rep = sources.flatMap((s) => Array.from({ length: beam }, () => s));
      const { memory, srcPadding } = encodeSources(model, vocab, rep);
      let live: Hypothesis[][] = sources.map(() => [
        { tokens: [BOS], logp: 0 },
        // the copies start impossible, so the first step does not pick the same token `beam` times
        ...Array.from({ length: beam - 1 }, () => ({ tokens: [BOS], logp: Number.NEGATIVE_INFINITY })),
      ]);
      const finished: { tokens: number[]; score: number }[][] = sources.map(() => []);
      const done = sources.map(() => false);
      for (let step = 0; step < maxLen && done.includes(false); step++) {
        const lp = nextLogProbs(
          model,
          live.flatMap((hs) => hs.map((h) => h.tokens)),
          memory,
          srcPadding,
        );
        live = live.map((hs, s) => {
          if (done[s]) return hs.map((h) => ({ tokens: [...h.tokens, PAD], logp: h.logp }));
          const cands: { from: number; token: number; logp: number }[] = [];
          hs.forEach((h, k) => {
            if (h.logp === Number.NEGATIVE_INFINITY) return;
            const row = lp[s * beam + k]!;
            for (let v = 0; v < row.length; v++) cands.push({ from: k, token: v, logp: h.logp + row[v]! });
          });
          cands.sort((x, y) => y.logp - x.logp);
          const next: Hypothesis[] = [];
          for (let rank = 0; rank < cands.length && next.length < beam; rank++) {
            const c = cands[rank]!;
            const tokens = [...hs[c.from]!.tokens, c.token];
            if (c.token === EOS) {
              if (rank < beam) finished[s]!.push({ tokens: tokens.slice(1), score: score(c.logp, step + 1) });
            } else next.push({ tokens, logp: c.logp });
          }
          if (finished[s]!.length >= beam) done[s] = true;
          while (next.length < beam)
            next.push({ tokens: [...hs[0]!.tokens, PAD], logp: Number.NEGATIVE_INFINITY });
          return next;
        });
      }
      return sources.map((_, s) => {
        const all = [...finished[s]!];
        if (!done[s])
          for (const h of live[s]!)
            if (h.logp > Number.NEGATIVE_INFINITY)
              all.push({ tokens: h.tokens.slice(1), score: score(h.logp, h.tokens.length - 1) });
        all.sort((x, y) => y.score - x.score);
        return all[0]?.tokens ?? [];
      });
    }),
  );
}

/** How many held-out targets the model writes exactly. */
export interface ExactMatch {
  correct: number;
  total: number;
  accuracy: number;
  /** a few of the pairs it got wrong, with what it wrote */
  mistakes: (Pair & { output: string })[];
}

/**
 * Exact-match accuracy: the share of pairs whose decoded source equals the target exactly.
 * onProgress(done, total) after each batch.
 * @example exactMatch(model, data.vocab, data.heldOut, { beam: 4 }).accuracy // 0.995
 */
export function exactMatch(
  model: EncoderDecoder,
  vocab: Seq2SeqVocab,
  pairs: readonly Pair[],
  opts: DecodeOptions & { keepMistakes?: number; onProgress?: (done: number, total: number) => void } = {},
): ExactMatch {
  const batch = opts.batchSize ?? 256;
  const mistakes: ExactMatch['mistakes'] = [];
  let correct = 0;
  for (let i = 0; i < pairs.length; i += batch) {
    const chunk = pairs.slice(i, i + batch);
    const outs = translate(
      model,
      vocab,
      chunk.map((p) => p.source),
      opts,
    );
    chunk.forEach((p, j) => {
      if (outs[j] === p.target) correct++;
      else if (mistakes.length < (opts.keepMistakes ?? 10)) mistakes.push({ ...p, output: outs[j]! });
    });
    opts.onProgress?.(Math.min(i + batch, pairs.length), pairs.length);
  }
  return { correct, total: pairs.length, accuracy: pairs.length ? correct / pairs.length : 0, mistakes };
}
