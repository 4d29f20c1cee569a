// Byte-level BPE: the incremental trainer against a recount-everything reference, training
// time on Tiny Shakespeare, round trips on generated Unicode (lone surrogates included), the
// heap merge path against a naive merge, JSON save/load, and the errors at the boundary.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenizerError } from '../src/errors.js';
import { BpeTokenizer } from '../src/tokenizer/bpe.js';
import { GPT2_PATTERN } from '../src/tokenizer/bpe-core.js';
import { utf8Encode } from '../src/tokenizer/bytes.js';
import { Rng } from '../src/util/rng.js';
import { randomText, tinyShakespeare } from './tokenizer-fixtures.js';

const shakespeare = tinyShakespeare();
/** The first 40,000 characters: enough for the slower reference checks. */
const sample = shakespeare.slice(0, 40_000);

/** Reference trainer: recount every pair of every word before each merge (slow, obviously right). */
function naiveMerges(text: string, numMerges: number): Array<[number, number]> {
  const counts = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(GPT2_PATTERN, 'gu')))
    counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  let words = [...counts].map(([w, f]) => ({ ids: Array.from(utf8Encode(w)), f }));
  const merges: Array<[number, number]> = [];
  while (merges.length < numMerges) {
    const pairs = new Map<string, number>();
    for (const { ids, f } of words)
      for (let i = 0; i + 1 < ids.length; i++)
        pairs.set(`${ids[i]},${ids[i + 1]}`, (pairs.get(`${ids[i]},${ids[i + 1]}`) ?? 0) + f);
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [k, c] of pairs) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      // most frequent; ties: smaller first id, then smaller second id
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (!best) break;
    const id = 256 + merges.length;
    merges.push(best);
    words = words.map(({ ids, f }) => {
      const out: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === best[0] && ids[i + 1] === best[1]) {
          out.push(id);
          i++;
        } else out.push(ids[i]!);
      }
      return { ids: out, f };
    });
  }
  return merges;
}

test('bpe train: incremental pair counts give the same merges as recounting every time', () => {
  const text = sample.slice(0, 15_000) + ' aaaa aaaaa abababab 😀😀 ';
  const merges = BpeTokenizer.train(text, { vocabSize: 256 + 150, specialTokens: [] }).merges;
  assert.equal(merges.length, 150);
  assert.deepEqual(merges, naiveMerges(text, 150));
});

test('bpe train: deterministic, vocab size as asked, specials last and excluded from training', () => {
  const a = BpeTokenizer.train(sample, { vocabSize: 300 });
  const b = BpeTokenizer.train(sample, { vocabSize: 300 });
  assert.deepEqual(a.merges, b.merges);
  assert.equal(a.vocabSize, 300);
  assert.equal(a.merges.length, 300 - 256 - 1);
  assert.equal(a.specialTokens.get('<|endoftext|>'), 299);
  assert.deepEqual(a.encode('<|endoftext|>', { allowedSpecial: 'all' }), [299]);
  // special text in the training data is cut out: no merge inside '<|'
  const t = BpeTokenizer.train('<|endoftext|>'.repeat(50) + 'xy xy', { vocabSize: 270 });
  for (const [x, y] of t.merges) assert.ok(!(x === 0x3c && y === 0x7c), 'merged "<|" from a special token');
  // a tiny text runs out of pairs: fewer merges than asked
  const tiny = BpeTokenizer.train('abab', { vocabSize: 1000, specialTokens: [] });
  assert.deepEqual(tiny.merges, [
    [97, 98],
    [256, 256],
  ]);
  assert.equal(tiny.vocabSize, 258);
});

// how fast it trains is the bench's to say (tsgpt bench --only tokenizer), not a test's
test('bpe train: all of Tiny Shakespeare to 1,024 tokens, and it round-trips', () => {
  const tok = BpeTokenizer.train(shakespeare, { vocabSize: 1024 });
  assert.equal(tok.vocabSize, 1024);
  const ids = tok.encode(shakespeare);
  assert.ok(ids.length < shakespeare.length / 2, `${ids.length} tokens for ${shakespeare.length} chars`);
  assert.equal(tok.decode(ids), shakespeare);
  assert.equal(tok.decode(tok.encode(' the')).length, 4);
  assert.equal(tok.encode(' the').length, 1, '" the" is one token after 1,024');
});

test('bpe: any string round-trips, lone surrogates included', () => {
  const tok = BpeTokenizer.train(`${sample} 漢字 こんにちは 😀 👍🏽 e\u0301 Привет \u0000\u0007`, {
    vocabSize: 400,
  });
  const rng = new Rng(7);
  for (let i = 0; i < 3000; i++) {
    const s = randomText(rng, 20);
    const ids = tok.encode(s);
    assert.ok(ids.every((id) => id >= 0 && id < tok.vocabSize));
    assert.equal(tok.decode(ids), s, JSON.stringify(s));
    assert.equal(tok.decode(tok.encode(s, { allowedSpecial: 'all' })), s);
  }
  for (let i = 0; i < 2000; i++) {
    let s = '';
    const n = 1 + rng.int(10);
    for (let k = 0; k < n; k++)
      s += String.fromCharCode(rng.uniform() < 0.4 ? 0xd800 + rng.int(0x800) : rng.int(0x3000));
    assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
  }
});

/** Naive BPE merge: apply the lowest-id merge at its leftmost place, repeat. */
function naiveEncodePiece(tok: BpeTokenizer, piece: string): number[] {
  const mergeId = new Map(tok.merges.map(([a, b], r) => [`${a},${b}`, 256 + r]));
  const ids = Array.from(utf8Encode(piece));
  for (;;) {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i + 1 < ids.length; i++) {
      const id = mergeId.get(`${ids[i]},${ids[i + 1]}`);
      if (id !== undefined && id < best) [best, at] = [id, i];
    }
    if (at < 0) return ids;
    ids.splice(at, 2, best);
  }
}

test('bpe: long pre-tokens (heap merge) and short ones (rescan) agree with a naive merge', () => {
  const tok = BpeTokenizer.train(sample, { vocabSize: 500, specialTokens: [] });
  const rng = new Rng(11);
  const letters = 'etaoinshrdlucmfwyp';
  for (let i = 0; i < 200; i++) {
    const n = i < 100 ? 2 + rng.int(40) : 97 + rng.int(400); // around and beyond the switch at 96 bytes
    let s = '';
    for (let k = 0; k < n; k++) s += letters[rng.int(rng.uniform() < 0.5 ? 4 : letters.length)];
    assert.deepEqual(tok.encode(s), naiveEncodePiece(tok, s), s);
  }
  const spaces = ' '.repeat(300);
  assert.deepEqual(tok.encode(spaces), naiveEncodePiece(tok, spaces));
});

test('bpe: JSON save/load gives the same tokenizer', () => {
  const tok = BpeTokenizer.train(sample, { vocabSize: 320, specialTokens: ['<|endoftext|>', '<|pad|>'] });
  const json = JSON.parse(JSON.stringify(tok.toJSON()));
  assert.equal(json.kind, 'bpe');
  assert.equal(json.version, 1);
  assert.equal(json.vocab.length, 256 + tok.merges.length);
  assert.deepEqual(json.specialTokens, { '<|endoftext|>': 318, '<|pad|>': 319 });
  const back = BpeTokenizer.fromJSON(json);
  assert.deepEqual(back.merges, tok.merges);
  const s = `${sample.slice(0, 2000)}<|pad|>😀`;
  assert.deepEqual(back.encode(s, { allowedSpecial: 'all' }), tok.encode(s, { allowedSpecial: 'all' }));
});

test('bpe: bad input fails with a clear TokenizerError', () => {
  assert.throws(
    () => BpeTokenizer.train(sample, { vocabSize: 200 }),
    /bpe train: vocab size 200 is below 257 \(256 byte tokens \+ 1 special token\(s\)\)/,
  );
  assert.throws(() => BpeTokenizer.train(sample, { vocabSize: 256 }), TokenizerError);
  assert.equal(BpeTokenizer.train(sample, { vocabSize: 256, specialTokens: [] }).vocabSize, 256);
  assert.throws(() => BpeTokenizer.train(sample, { vocabSize: 300.5 }), /vocab size 300.5/);
  assert.throws(() => BpeTokenizer.train('', { vocabSize: 300 }), /bpe train: empty training text/);
  assert.throws(() => BpeTokenizer.train('<|endoftext|>', { vocabSize: 300 }), /empty training text/);

  const good = BpeTokenizer.train(sample, { vocabSize: 260 }).toJSON();
  const with_ = (patch: Record<string, unknown>) => ({ ...good, ...patch });
  assert.throws(
    () => BpeTokenizer.fromJSON(with_({ version: 2 })),
    /unsupported version 2 \(this build reads 1\)/,
  );
  assert.throws(() => BpeTokenizer.fromJSON(with_({ kind: 'word' })), /kind is "word", expected "bpe"/);
  assert.throws(() => BpeTokenizer.fromJSON(with_({ extra: 1 })), /unknown key "extra"/);
  assert.throws(() => BpeTokenizer.fromJSON(with_({ merges: [[1, 2, 3]] })), /"merges" must be an array/);
  assert.throws(
    () => BpeTokenizer.fromJSON(with_({ merges: [[1, 999], ...good.merges.slice(1)] })),
    /merge 0 \(1, 999\)/,
  );
  assert.throws(
    () => BpeTokenizer.fromJSON(with_({ merges: [good.merges[0], good.merges[0], ...good.merges.slice(2)] })),
    /appears twice/,
  );
  const vocab = good.vocab.map((b) => [...b]);
  vocab[256] = [1, 2, 3];
  assert.throws(() => BpeTokenizer.fromJSON(with_({ vocab })), /"vocab"\[256\] does not match/);
  assert.throws(
    () => BpeTokenizer.fromJSON(with_({ vocab: vocab.slice(1) })),
    /"vocab" has 258 entries, expected/,
  );
  assert.throws(
    () => BpeTokenizer.fromJSON(with_({ specialTokens: { x: 5 } })),
    /special token "x" has id 5/,
  );
  assert.throws(() => BpeTokenizer.fromJSON(null), /not an object/);
  assert.throws(() => BpeTokenizer.fromJSON([]), TokenizerError);
  const tok = BpeTokenizer.fromJSON(good);
  assert.throws(() => tok.decode([260]), /id 260 out of range \[0, 260\)/);
});
