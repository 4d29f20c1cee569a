// GPT-2 tokenizer: ids identical to js-tiktoken's `gpt2` encoding on all of Tiny Shakespeare
// and on 10,000 generated strings; decode(encode(x)) === x on each; special-token handling.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getEncoding } from 'js-tiktoken';
import { TokenizerError } from '../src/errors.js';
import { bytesToUnicode } from '../src/tokenizer/bytes.js';
import { Gpt2Tokenizer } from '../src/tokenizer/gpt2.js';
import { Rng } from '../src/util/rng.js';
import { loadGpt2, randomText, tinyShakespeare } from './tokenizer-fixtures.js';

const tiktoken = getEncoding('gpt2');
const shakespeare = tinyShakespeare();

test('gpt2: known ids', () => {
  const tok = loadGpt2();
  assert.equal(tok.vocabSize, 50257);
  assert.deepEqual(tok.encode('Hello world'), [15496, 995]);
  assert.deepEqual(tok.encode(' '), [220]);
  assert.equal(tok.specialTokens.get('<|endoftext|>'), 50256);
});

test('gpt2: identical to js-tiktoken on Tiny Shakespeare, in 200-line chunks and whole', () => {
  const tok = loadGpt2();
  const text = shakespeare;
  const lines = text.split(/(?<=\n)/);
  let chunks = 0;
  for (let i = 0; i < lines.length; i += 200) {
    const chunk = lines.slice(i, i + 200).join('');
    const ids = tok.encode(chunk);
    assert.deepEqual(ids, tiktoken.encode(chunk), `chunk starting at line ${i + 1}`);
    assert.equal(tok.decode(ids), chunk);
    chunks++;
  }
  assert.ok(chunks > 150);
  const ids = tok.encode(text);
  const expected = tiktoken.encode(text);
  assert.equal(ids.length, expected.length);
  assert.deepEqual(ids, expected);
  assert.equal(tok.decode(ids), text);
});

test('gpt2: identical to js-tiktoken on 10,000 generated strings, and round-trips', () => {
  const tok = loadGpt2();
  const rng = new Rng(2024);
  for (let i = 0; i < 10_000; i++) {
    const s = randomText(rng);
    // specials as plain text (tiktoken needs disallowedSpecial = [] for that) ...
    const ids = tok.encode(s);
    assert.deepEqual(ids, tiktoken.encode(s, [], []), `string ${i}: ${JSON.stringify(s)}`);
    assert.equal(tok.decode(ids), s, `round trip ${i}: ${JSON.stringify(s)}`);
    // ... and as special tokens when allowed
    const withSpecial = tok.encode(s, { allowedSpecial: 'all' });
    assert.deepEqual(
      withSpecial,
      tiktoken.encode(s, 'all'),
      `string ${i} with specials: ${JSON.stringify(s)}`,
    );
    assert.equal(tok.decode(withSpecial), s);
  }
});

test('gpt2: long runs (heap merge path) match js-tiktoken', () => {
  const tok = loadGpt2();
  for (const s of [
    ' '.repeat(1000),
    'a'.repeat(500),
    'ab'.repeat(300),
    '\n'.repeat(333) + 'x',
    'é'.repeat(200),
    '😀'.repeat(100),
    'supercalifragilistic'.repeat(20),
    '0123456789'.repeat(40),
  ]) {
    const ids = tok.encode(s);
    assert.deepEqual(ids, tiktoken.encode(s), JSON.stringify(s.slice(0, 20)));
    assert.equal(tok.decode(ids), s);
  }
});

test('gpt2: <|endoftext|> is one token only when allowed', () => {
  const tok = loadGpt2();
  const s = 'a<|endoftext|>b';
  assert.deepEqual(tok.encode(s, { allowedSpecial: ['<|endoftext|>'] }), [64, 50256, 65]);
  assert.deepEqual(tok.encode(s, { allowedSpecial: 'all' }), [64, 50256, 65]);
  const plain = tok.encode(s);
  assert.ok(!plain.includes(50256));
  assert.equal(tok.decode(plain), s);
  assert.deepEqual(tok.encode(s, { allowedSpecial: [] }), plain);
  assert.throws(() => tok.encode(s, { allowedSpecial: ['<|nope|>'] }), TokenizerError);
  assert.equal(tok.decode([50256]), '<|endoftext|>');
});

test('gpt2: lone surrogates round-trip via WTF-8 (tiktoken would map them to U+FFFD)', () => {
  const tok = loadGpt2();
  for (const s of ['\ud800', 'a\udfffb', '😀'.slice(0, 1), 'x' + '😀'.slice(1) + ' y', '\udc00\ud800']) {
    const ids = tok.encode(s);
    assert.equal(tok.decode(ids), s);
  }
  // the WTF-8 bytes of U+D800 are ED A0 80; tiktoken's ids differ (it encodes U+FFFD)
  assert.deepEqual(tok.decodeBytes(tok.encode('\ud800')), Uint8Array.of(0xed, 0xa0, 0x80));
  assert.notDeepEqual(tok.encode('\ud800'), tiktoken.encode('\ud800'));
});

test('gpt2: decoding ids that cut a character gives U+FFFD for the partial bytes', () => {
  const tok = loadGpt2();
  const ids = tok.encode('😀');
  assert.ok(ids.length > 1, 'this emoji takes several byte-level tokens');
  assert.equal(tok.decode(ids.slice(0, 1)), '\ufffd');
  assert.equal(tok.decode(ids), '😀');
  assert.throws(() => tok.decode([50257]), /id 50257 out of range \[0, 50257\)/);
  assert.throws(() => tok.decode([-1]), TokenizerError);
});

test('gpt2: streamed decoding holds back split characters', () => {
  const tok = loadGpt2();
  const text = 'Hi 😀👍🏽 漢字 e\u0301 — done.\n\ud800!';
  const ids = tok.encode(text);
  const d = tok.streamDecoder();
  let out = '';
  for (const id of ids) {
    const piece = d.push([id]);
    assert.ok(!piece.includes('\ufffd'), `no U+FFFD after id ${id}`);
    out += piece;
  }
  assert.equal(out + d.end(), text);
});

test('gpt2: bad files fail with a clear TokenizerError', () => {
  assert.throws(
    () => Gpt2Tokenizer.fromFiles({ a: 0 }, ''),
    /gpt2 tokenizer: encoder.json: no token for byte/,
  );
  const tok = loadGpt2();
  assert.deepEqual(tok.toJSON(), { kind: 'gpt2', version: 1 });
  const encoder = Object.fromEntries(bytesToUnicode().map((ch, b) => [ch, b]));
  assert.equal(Gpt2Tokenizer.fromFiles(encoder, '#version: 0.2\n').vocabSize, 256);
  assert.throws(
    () => Gpt2Tokenizer.fromFiles(encoder, '#version: 0.2\nfoo'),
    /vocab.bpe line 2: expected two tokens/,
  );
  assert.throws(
    () => Gpt2Tokenizer.fromFiles(encoder, 'a b'),
    /vocab.bpe line 1: "a b" names a token missing/,
  );
  assert.throws(
    () => Gpt2Tokenizer.fromFiles({ ...encoder, x: 0 }, ''),
    /id 0 of "x" is out of range or repeated/,
  );
});
