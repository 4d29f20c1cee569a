// UTF-8 / WTF-8 helpers, the streaming decoder and GPT-2's byte map.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesToUnicode, Utf8StreamDecoder, utf8Decode, utf8Encode } from '../src/tokenizer/bytes.js';
import { Rng } from '../src/util/rng.js';
import { randomText } from './tokenizer-fixtures.js';

/** A random string of UTF-16 code units, lone surrogates likely. */
function randomUnits(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rng.uniform();
    s += String.fromCharCode(r < 0.3 ? 0xd800 + rng.int(0x800) : r < 0.6 ? rng.int(0x80) : rng.int(0x10000));
  }
  return s;
}

test('bytes: well-formed text encodes exactly as TextEncoder and decodes back', () => {
  const rng = new Rng(1);
  const te = new TextEncoder();
  for (let i = 0; i < 2000; i++) {
    const s = randomText(rng);
    const b = utf8Encode(s);
    assert.deepEqual(b, te.encode(s), JSON.stringify(s));
    assert.equal(utf8Decode(b), s);
  }
});

test('bytes: lone surrogates are WTF-8 and round-trip', () => {
  assert.deepEqual(utf8Encode('\ud800'), Uint8Array.of(0xed, 0xa0, 0x80));
  assert.deepEqual(utf8Encode('\udfff'), Uint8Array.of(0xed, 0xbf, 0xbf));
  assert.deepEqual(utf8Encode('\ud83d\ude00'), Uint8Array.of(0xf0, 0x9f, 0x98, 0x80)); // a pair stays 4 bytes
  const rng = new Rng(2);
  for (let i = 0; i < 2000; i++) {
    const s = randomUnits(rng, 1 + rng.int(12));
    assert.equal(utf8Decode(utf8Encode(s)), s, JSON.stringify(s));
  }
});

test('bytes: a leading BOM is kept; invalid bytes become U+FFFD', () => {
  assert.equal(utf8Decode(utf8Encode('\ufeffhi')), '\ufeffhi');
  assert.equal(utf8Decode(Uint8Array.of(0xf0, 0x9f)), '\ufffd'); // truncated 4-byte sequence
  assert.equal(utf8Decode(Uint8Array.of(0x61, 0xff, 0x62)), 'a\ufffdb');
  assert.equal(utf8Decode(Uint8Array.of(0xed, 0xa0)), '\ufffd\ufffd'); // truncated surrogate
  assert.equal(utf8Decode(Uint8Array.of(0xed, 0x9f, 0xbf)), '\ud7ff'); // ED below A0 is ordinary UTF-8
});

test('bytes: the stream decoder holds back split characters', () => {
  const rng = new Rng(3);
  for (let i = 0; i < 500; i++) {
    const s = i % 2 ? randomText(rng) : randomUnits(rng, 8);
    const bytes = utf8Encode(s);
    const d = new Utf8StreamDecoder();
    let out = '';
    for (let at = 0; at < bytes.length; ) {
      const step = 1 + rng.int(3);
      const piece = d.push(bytes.subarray(at, at + step));
      assert.ok(
        !piece.includes('\ufffd') || s.includes('\ufffd'),
        `no U+FFFD mid-stream for ${JSON.stringify(s)}`,
      );
      out += piece;
      at += step;
    }
    out += d.end();
    assert.equal(out, s, JSON.stringify(s));
  }
  const d = new Utf8StreamDecoder();
  assert.equal(d.push(Uint8Array.of(0xf0, 0x9f)), '');
  assert.equal(d.end(), '\ufffd');
});

test('bytes: GPT-2 bytes_to_unicode is a bijection onto printable characters', () => {
  const t = bytesToUnicode();
  assert.equal(new Set(t).size, 256);
  assert.equal(t[0x21], '!');
  assert.equal(t[0x20], 'Ġ');
  assert.equal(t[0x0a], 'Ċ');
  assert.equal(t[0x00], 'Ā');
  assert.equal(t[0xad], 'Ń'); // the 68th and last unprintable byte → U+0100 + 67
  for (const ch of t) assert.ok(!/\s/u.test(ch));
});
