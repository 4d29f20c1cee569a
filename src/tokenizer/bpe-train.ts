// Learning byte-level BPE merges from a text, with incremental pair counts: the text is cut
// into GPT-2 pre-tokens and counted once; each merge then updates only the words that
// contain the merged pair, and a lazy max-heap picks the next most frequent pair. Not here:
// encoding (bpe-core.ts) and the saved format (bpe.ts).
//
// Cost: one pass over the text, then per merge O(occurrences of the pair · log pairs),
// instead of recounting every pair of every word per merge (minbpe's simple version).

import { TokenizerError } from '../errors.js';
import { GPT2_PATTERN } from './bpe-core.js';
import { utf8Push } from './bytes.js';

/**
 * Max-heap of (count, pair key): higher count first; on equal counts the smaller key, i.e.
 * the pair with the smaller first id, then smaller second id, so training is deterministic.
 */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(c1: number, k1: number, c2: number, k2: number): boolean {
    return c1 > c2 || (c1 === c2 && k1 < k2);
  }

  push(count: number, key: number): void {
    const C = this.counts;
    const K = this.keys;
    let i = C.length;
    C.push(count);
    K.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(count, key, C[p]!, K[p]!)) break;
      C[i] = C[p]!;
      K[i] = K[p]!;
      i = p;
    }
    C[i] = count;
    K[i] = key;
  }

  /** Removes the top; returns [count, key]. */
  pop(): [number, number] {
    const C = this.counts;
    const K = this.keys;
    const top: [number, number] = [C[0]!, K[0]!];
    const c = C.pop()!;
    const k = K.pop()!;
    const n = C.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && this.above(C[r]!, K[r]!, C[l]!, K[l]!) ? r : l;
      if (!this.above(C[m]!, K[m]!, c, k)) break;
      C[i] = C[m]!;
      K[i] = K[m]!;
      i = m;
    }
    C[i] = c;
    K[i] = k;
    return top;
  }
}

/**
 * Learns up to `numMerges` merges. Merge r joins tokens (a, b) into the new token 256 + r;
 * tokens 0..255 are the bytes. Text matching a special token is left out of training.
 * Stops early when no adjacent pair is left (a text too small for the vocabulary).
 * @example learnMerges('aaab', 1, []) // [[97, 97]]
 */
export function learnMerges(
  text: string,
  numMerges: number,
  specialTokens: readonly string[],
): Array<[number, number]> {
  // 1. count each distinct pre-token once (specials cut out)
  const counts = new Map<string, number>();
  const pattern = new RegExp(GPT2_PATTERN, 'gu');
  const chunks = specialTokens.length === 0 ? [text] : splitOn(text, specialTokens);
  for (const chunk of chunks) {
    for (const m of chunk.matchAll(pattern)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  }
  if (counts.size === 0) throw new TokenizerError('bpe train: empty training text');

  const S = 256 + numMerges; // pair key = a * S + b, unique for ids < S
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [piece, f] of counts) {
    words.push(utf8Push(piece, []));
    freqs.push(f);
  }

  // 2. pair → total count (weighted by word frequency) and pair → words containing it
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addWord = (key: number, w: number): void => {
    let set = pairWords.get(key);
    if (set === undefined) pairWords.set(key, (set = new Set()));
    set.add(w);
  };
  words.forEach((word, w) => {
    for (let i = 0; i + 1 < word.length; i++) {
      const key = word[i]! * S + word[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + freqs[w]!);
      addWord(key, w);
    }
  });
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  // 3. merge the most frequent pair, updating only the words that hold it
  const merges: Array<[number, number]> = [];
  while (merges.length < numMerges) {
    let key = -1;
    while (heap.size > 0) {
      const [c, k] = heap.pop();
      if (pairCount.get(k) === c) {
        key = k; // else stale: the count changed after this entry was pushed
        break;
      }
    }
    if (key < 0) break;
    const a = Math.floor(key / S);
    const b = key - a * S;
    const id = 256 + merges.length;
    merges.push([a, b]);

    const touched = new Set<number>();
    const bump = (k: number, delta: number, w: number): void => {
      pairCount.set(k, (pairCount.get(k) ?? 0) + delta);
      touched.add(k);
      if (delta > 0) addWord(k, w);
    };
    for (const w of pairWords.get(key)!) {
      const word = words[w]!;
      const f = freqs[w]!;
      const n = word.length;
      const out: number[] = [];
      for (let i = 0; i < n; ) {
        if (i + 1 < n && word[i] === a && word[i + 1] === b) {
          // x a b y → x N y: pairs (x,a) (a,b) (b,y) go, (x,N) (N,y) come. When y starts another
          // occurrence, (b,y)/(N,y) are left to that occurrence's "x" step, to count them once.
          if (out.length > 0) {
            bump(word[i - 1]! * S + a, -f, w);
            bump(out[out.length - 1]! * S + id, f, w);
          }
          if (i + 2 < n && !(i + 3 < n && word[i + 2] === a && word[i + 3] === b)) {
            bump(b * S + word[i + 2]!, -f, w);
            bump(id * S + word[i + 2]!, f, w);
          }
          bump(key, -f, w);
          out.push(id);
          i += 2;
        } else {
          out.push(word[i]!);
          i++;
        }
      }
      words[w] = out;
    }
    pairWords.delete(key);
    for (const k of touched) {
      const c = pairCount.get(k)!;
      if (c > 0) heap.push(c, k);
      else {
        pairCount.delete(k);
        pairWords.delete(k);
      }
    }
  }
  return merges;
}

/** The pieces of `text` between occurrences of any of `specials`. */
function splitOn(text: string, specials: readonly string[]): string[] {
  const alts = [...specials]
    .sort((x, y) => y.length - x.length)
    .map((s) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'));
  return text.split(new RegExp(alts.join('|'), 'u'));
}
