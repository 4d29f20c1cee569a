// The byte-level BPE engine shared by our trained BPE tokenizer (bpe.ts) and GPT-2's (gpt2.ts):
// regex pre-tokenisation, merge-by-rank inside each pre-token, specials, decoding to bytes.
// It does not learn merges (bpe-train.ts) or read files (callers pass strings and objects in).
//
// Encoding, as in GPT-2 and tiktoken: split the text at allowed special tokens; split each
// piece with GPT-2's regex into pre-tokens (words with their leading space, numbers,
// punctuation runs, whitespace) so that no token crosses a word boundary; turn each
// pre-token into byte tokens and repeatedly merge the adjacent pair whose merged token has
// the lowest id (ids of merged tokens follow merge order, so lowest id = earliest merge),
// leftmost first on ties, until no adjacent pair is a merge.

import { TokenizerError } from '../errors.js';
import { Utf8StreamDecoder, utf8Decode, utf8Push } from './bytes.js';
import type { EncodeOptions, Tokenizer, TokenizerJSON, TokenizerKind } from './tokenizer.js';

/**
 * GPT-2's pre-tokenisation pattern: contractions, letters / numbers / other symbols each with
 * one optional leading space, then whitespace (a run keeps its last space for the next word:
 * `\s+(?!\S)`). Every code point is matched by some branch, so the pieces cover the text.
 */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** A merge: adjacent tokens `a`, `b` become token `id` (whose bytes are bytes(a) + bytes(b)). */
export type Merge = readonly [a: number, b: number, id: number];

/** Pre-tokens longer than this (in bytes) merge with a heap, O(n log n), instead of rescans, O(n²). */
const LONG_PIECE = 96;
/** Pre-tokens up to this many characters are cached; the cache holds at most CACHE_SIZE. */
const CACHE_MAX_PIECE = 64;
const CACHE_SIZE = 1 << 15;
const POS = 2 ** 31; // heap keys pack (rank, position) as rank * POS + position

/**
 * Merges `ids` in place and returns it: while some adjacent pair is in `pairToId`, replace
 * the pair with the lowest merged id (leftmost on ties) by that id.
 * `pairToId` keys are `a * stride + b`.
 */
export function bpeMerge(ids: number[], pairToId: ReadonlyMap<number, number>, stride: number): number[] {
  const n = ids.length;
  if (n < 2) return ids;
  if (n > LONG_PIECE) return bpeMergeLong(ids, pairToId, stride);
  // ranks[i] = merged id of (ids[i], ids[i+1]), Infinity when that pair is no merge
  const ranks: number[] = new Array(n - 1);
  for (let i = 0; i < n - 1; i++) ranks[i] = pairToId.get(ids[i]! * stride + ids[i + 1]!) ?? Infinity;
  let len = n;
  while (len > 1) {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i < len - 1; i++) {
      if (ranks[i]! < best) {
        best = ranks[i]!;
        at = i;
      }
    }
    if (at < 0) break;
    ids[at] = best;
    ids.splice(at + 1, 1);
    ranks.splice(at, 1);
    len--;
    // only the two pairs touching the new token change
    if (at > 0) ranks[at - 1] = pairToId.get(ids[at - 1]! * stride + best) ?? Infinity;
    if (at < len - 1) ranks[at] = pairToId.get(best * stride + ids[at + 1]!) ?? Infinity;
  }
  return ids;
}

/** bpeMerge for long pieces: a linked list of tokens and a lazy min-heap of (rank, position). */
function bpeMergeLong(ids: number[], pairToId: ReadonlyMap<number, number>, stride: number): number[] {
  const n = ids.length;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const heap: number[] = [];
  const rankAt = (i: number): number | undefined =>
    next[i]! < 0 ? undefined : pairToId.get(ids[i]! * stride + ids[next[i]!]!);
  const push = (i: number): void => {
    const r = rankAt(i);
    if (r !== undefined) heapPush(heap, r * POS + i);
  };
  for (let i = 0; i < n - 1; i++) push(i);
  while (heap.length > 0) {
    const key = heapPop(heap);
    const rank = Math.floor(key / POS);
    const i = key - rank * POS;
    // stale entry: token merged away, or its pair changed since the entry was pushed
    if (!alive[i] || rankAt(i) !== rank) continue;
    const j = next[i]!;
    ids[i] = rank;
    alive[j] = 0;
    next[i] = next[j]!;
    if (next[j]! >= 0) prev[next[j]!] = i;
    if (prev[i]! >= 0) push(prev[i]!);
    push(i);
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]!) out.push(ids[i]!);
  return out;
}

function heapPush(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]! <= v) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = v;
}

function heapPop(h: number[]): number {
  const top = h[0]!;
  const last = h.pop()!;
  const n = h.length;
  if (n === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const c = l + 1 < n && h[l + 1]! < h[l]! ? l + 1 : l;
    if (h[c]! >= last) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = last;
  return top;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'); // no '-': an identity escape is an error with the u flag
}

/** What a byte-level BPE needs: every token's bytes, which token each byte starts as, merges, specials. */
export interface ByteLevelBpeSpec {
  /** tokenBytes[id] = the bytes of token `id`, for every id in [0, vocabSize) (specials: their UTF-8). */
  tokenBytes: readonly Uint8Array[];
  /** byteIds[b] = id of the single-byte token for byte b. */
  byteIds: readonly number[];
  /** Merges; a lower merged id is applied first. */
  merges: readonly Merge[];
  /** Special token text → id. */
  specialTokens: ReadonlyMap<string, number>;
}

/**
 * Base class of the byte-level BPE tokenizers: encode/decode over a validated spec.
 * Every JS string round-trips: decode(encode(x)) === x, lone surrogates included (WTF-8, see
 * bytes.ts). decode() of ids that cut a multi-byte character gives U+FFFD for the incomplete
 * bytes (as TextDecoder and tiktoken do); `streamDecoder()` holds such bytes back instead.
 */
export abstract class ByteLevelBpe implements Tokenizer {
  abstract readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly specialTokens: ReadonlyMap<string, number>;
  protected readonly tokenBytes: readonly Uint8Array[];
  private readonly byteIds: Int32Array;
  private readonly pairToId = new Map<number, number>();
  private readonly pattern = new RegExp(GPT2_PATTERN, 'gu');
  private readonly cache = new Map<string, readonly number[]>();
  private allSpecialRegex: RegExp | null = null;

  protected constructor(spec: ByteLevelBpeSpec, name: string) {
    const { tokenBytes, byteIds, merges, specialTokens } = spec;
    this.vocabSize = tokenBytes.length;
    this.tokenBytes = tokenBytes;
    this.specialTokens = specialTokens;
    const V = this.vocabSize;
    const inRange = (id: number) => Number.isInteger(id) && id >= 0 && id < V;
    if (byteIds.length !== 256)
      throw new TokenizerError(`${name}: need 256 byte tokens, got ${byteIds.length}`);
    this.byteIds = Int32Array.from(byteIds);
    byteIds.forEach((id, b) => {
      if (!inRange(id) || tokenBytes[id]!.length !== 1 || tokenBytes[id]![0] !== b)
        throw new TokenizerError(`${name}: byte ${b} maps to id ${id}, which is not the token for that byte`);
    });
    for (const [a, b, id] of merges) {
      if (!inRange(a) || !inRange(b) || !inRange(id))
        throw new TokenizerError(`${name}: merge (${a}, ${b}) -> ${id} has an id outside [0, ${V})`);
      const ab = tokenBytes[a]!;
      const bb = tokenBytes[b]!;
      const t = tokenBytes[id]!;
      if (
        t.length !== ab.length + bb.length ||
        !ab.every((x, k) => t[k] === x) ||
        !bb.every((x, k) => t[ab.length + k] === x)
      )
        throw new TokenizerError(
          `${name}: merge (${a}, ${b}) -> ${id}: token ${id}'s bytes are not the concatenation`,
        );
      if (id <= a || id <= b)
        throw new TokenizerError(`${name}: merge (${a}, ${b}) -> ${id}: merged id must be larger`);
      if (this.pairToId.has(a * V + b)) throw new TokenizerError(`${name}: merge (${a}, ${b}) appears twice`);
      this.pairToId.set(a * V + b, id);
    }
    for (const [text, id] of specialTokens) {
      if (text.length === 0 || !inRange(id))
        throw new TokenizerError(`${name}: bad special token ${JSON.stringify(text)} -> ${id}`);
    }
  }

  /**
   * Token ids of `text`. Special tokens are encoded as their single id only where allowed
   * (`allowedSpecial`); elsewhere they are ordinary text. (tiktoken throws on a disallowed
   * special by default; we do not, so any text encodes.)
   * @example tok.encode('hi<|endoftext|>', { allowedSpecial: 'all' })
   */
  encode(text: string, options?: EncodeOptions): number[] {
    const out: number[] = [];
    const specials = this.specialRegex(options?.allowedSpecial);
    if (specials === null) {
      this.encodeOrdinaryInto(text, out);
      return out;
    }
    let start = 0;
    specials.lastIndex = 0;
    for (let m = specials.exec(text); m !== null; m = specials.exec(text)) {
      this.encodeOrdinaryInto(text.slice(start, m.index), out);
      out.push(this.specialTokens.get(m[0])!);
      start = m.index + m[0].length;
    }
    this.encodeOrdinaryInto(text.slice(start), out);
    return out;
  }

  /** Token ids of `text` treating every special token as ordinary text. */
  encodeOrdinary(text: string): number[] {
    const out: number[] = [];
    this.encodeOrdinaryInto(text, out);
    return out;
  }

  private specialRegex(allowed: EncodeOptions['allowedSpecial']): RegExp | null {
    if (allowed === undefined || this.specialTokens.size === 0) return null;
    if (allowed === 'all') {
      this.allSpecialRegex ??= this.buildSpecialRegex([...this.specialTokens.keys()]);
      return this.allSpecialRegex;
    }
    if (allowed.length === 0) return null;
    for (const s of allowed)
      if (!this.specialTokens.has(s))
        throw new TokenizerError(
          `${this.kind} tokenizer: ${JSON.stringify(s)} is not a special token of this vocabulary`,
        );
    return this.buildSpecialRegex(allowed);
  }

  private buildSpecialRegex(specials: readonly string[]): RegExp {
    // longest first, so a special that is a prefix of another does not win
    const alts = [...specials].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)).map(escapeRegex);
    return new RegExp(alts.join('|'), 'gu');
  }

  private encodeOrdinaryInto(text: string, out: number[]): void {
    const pat = this.pattern;
    pat.lastIndex = 0;
    for (let m = pat.exec(text); m !== null; m = pat.exec(text)) {
      const piece = m[0];
      const hit = this.cache.get(piece);
      if (hit !== undefined) {
        for (let k = 0; k < hit.length; k++) out.push(hit[k]!);
        continue;
      }
      const ids = this.encodePiece(piece);
      for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
      if (piece.length <= CACHE_MAX_PIECE) {
        if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!); // oldest
        this.cache.set(piece, ids);
      }
    }
  }

  /** Tokens of one pre-token: its bytes as byte tokens, then merged. */
  private encodePiece(piece: string): number[] {
    const ids = utf8Push(piece, []);
    for (let k = 0; k < ids.length; k++) ids[k] = this.byteIds[ids[k]!]!;
    return bpeMerge(ids, this.pairToId, this.vocabSize);
  }

  /** The bytes of a sequence of ids (for streaming decoders). */
  decodeBytes(ids: readonly number[]): Uint8Array {
    let len = 0;
    for (const id of ids) {
      const t = this.tokenBytes[id];
      if (t === undefined)
        throw new TokenizerError(`${this.kind} tokenizer: id ${id} out of range [0, ${this.vocabSize})`);
      len += t.length;
    }
    const bytes = new Uint8Array(len);
    let at = 0;
    for (const id of ids) {
      const t = this.tokenBytes[id]!;
      bytes.set(t, at);
      at += t.length;
    }
    return bytes;
  }

  /**
   * Text of ids. Bytes that do not form whole characters (ids cut inside a multi-byte
   * character) decode to U+FFFD, one per maximal invalid subsequence (WHATWG rules).
   */
  decode(ids: readonly number[]): string {
    return utf8Decode(this.decodeBytes(ids));
  }

  /**
   * A decoder for ids that arrive a few at a time (streamed generation): each push returns the
   * text completed so far, holding back the bytes of a character split across tokens.
   * @example const d = tok.streamDecoder(); const text = ids.map((id) => d.push([id])).join('') + d.end();
   */
  streamDecoder(): { push(ids: readonly number[]): string; end(): string } {
    const utf8 = new Utf8StreamDecoder();
    return { push: (ids) => utf8.push(this.decodeBytes(ids)), end: () => utf8.end() };
  }

  /** The bytes of one token. */
  bytesOf(id: number): Uint8Array {
    const t = this.tokenBytes[id];
    if (t === undefined)
      throw new TokenizerError(`${this.kind} tokenizer: id ${id} out of range [0, ${this.vocabSize})`);
    return t;
  }

  abstract toJSON(): TokenizerJSON;
}
