// Word-level tokenizer: round trip for in-vocabulary text, <unk>, the vocabulary cap and its
// deterministic tie-break, JSON save/load and bad input.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenizerError } from '../src/errors.js';
import { splitWords, UNK_ID, WordTokenizer } from '../src/tokenizer/word.js';
import { Rng } from '../src/util/rng.js';
import { randomText, tinyShakespeare } from './tokenizer-fixtures.js';

const shakespeare = tinyShakespeare();

test('word: tokens are words, single punctuation and whitespace runs, covering the text', () => {
  assert.deepEqual(splitWords("Don't stop,  now!\n\nCafé e\u0301 42x"), [
    'Don',
    "'",
    't',
    ' ',
    'stop',
    ',',
    '  ',
    'now',
    '!',
    '\n\n',
    'Café',
    ' ',
    'e\u0301',
    ' ',
    '42x',
  ]);
  const rng = new Rng(5);
  for (let i = 0; i < 2000; i++) {
    const s = randomText(rng);
    assert.equal(splitWords(s).join(''), s);
  }
});

test('word: in-vocabulary text round-trips; the vocabulary is the most frequent tokens', () => {
  const text = 'to be, or not to be: that is the question.\n';
  const tok = WordTokenizer.train(text, { vocabSize: 1000 });
  assert.equal(tok.vocabSize, 1 + new Set(splitWords(text)).size);
  assert.equal(tok.decode(tok.encode(text)), text);
  assert.equal(tok.decode(tok.encode('not to be.\n')), 'not to be.\n');
  // cap: ' ' (9) first, then 'be' and 'to' (2 each, tie broken by code-unit order)
  const small = WordTokenizer.train(text, { vocabSize: 4 });
  assert.deepEqual(small.words, ['<unk>', ' ', 'be', 'to']);
  assert.deepEqual(small.encode('to be or'), [3, 1, 2, 1, UNK_ID]);
  assert.equal(small.decode(small.encode('to be or')), 'to be <unk>');
  // an unknown whitespace run falls back to single characters
  assert.deepEqual(small.encode('to   be'), [3, 1, 1, 1, 2]);
});

test('word: training is deterministic whatever the order of ties', () => {
  const a = WordTokenizer.train('b a c b a c d', { vocabSize: 4 });
  const b = WordTokenizer.train('c a b c b a d', { vocabSize: 4 });
  assert.deepEqual(a.words, b.words);
  assert.deepEqual(a.words, ['<unk>', ' ', 'a', 'b']);
});

test('word: Tiny Shakespeare with 8,000 words covers most of it', () => {
  const tok = WordTokenizer.train(shakespeare, { vocabSize: 8000 });
  const ids = tok.encode(shakespeare);
  const unk = ids.filter((id) => id === UNK_ID).length;
  assert.ok(unk / ids.length < 0.02, `${unk} of ${ids.length} tokens unknown`);
  const full = WordTokenizer.train(shakespeare, { vocabSize: 1e6 });
  assert.equal(full.decode(full.encode(shakespeare)), shakespeare);
});

test('word: JSON save/load and bad input', () => {
  const tok = WordTokenizer.train('hello, world. hello!', { vocabSize: 10 });
  const json = JSON.parse(JSON.stringify(tok.toJSON()));
  assert.deepEqual(WordTokenizer.fromJSON(json).words, tok.words);
  assert.throws(() => WordTokenizer.train('', { vocabSize: 10 }), /word train: empty training text/);
  assert.throws(() => WordTokenizer.train('x', { vocabSize: 1 }), /vocab size 1 is below 2/);
  assert.throws(() => WordTokenizer.fromJSON({ ...json, version: 3 }), /unsupported version 3/);
  assert.throws(() => WordTokenizer.fromJSON({ ...json, kind: 'bpe' }), /kind is "bpe", expected "word"/);
  assert.throws(() => WordTokenizer.fromJSON({ ...json, extra: true }), /unknown key "extra"/);
  assert.throws(
    () => WordTokenizer.fromJSON({ ...json, words: ['<unk>', 'a b'] }),
    /"a b" is not a single token/,
  );
  assert.throws(() => WordTokenizer.fromJSON({ ...json, words: ['x'] }), /id 0 must be <unk>/);
  assert.throws(() => WordTokenizer.fromJSON({ ...json, words: ['<unk>', 'a', 'a'] }), /duplicate/);
  assert.throws(() => WordTokenizer.fromJSON({ ...json, words: 'abc' }), TokenizerError);
  assert.throws(() => tok.decode([99]), /id 99 out of range/);
});
