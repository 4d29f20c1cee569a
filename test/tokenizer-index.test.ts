// tokenizerFromJSON: each kind round-trips through its JSON text; corrupt JSON, wrong kind,
// wrong version and a gpt2 reference without GPT-2's files fail with one clear line.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenizerError } from '../src/errors.js';
import {
  BpeTokenizer,
  CharTokenizer,
  type Tokenizer,
  tokenizerFromJSON,
  WordTokenizer,
} from '../src/tokenizer/index.js';
import { loadGpt2 } from './tokenizer-fixtures.js';

const text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n'.repeat(20);

test('tokenizerFromJSON: every kind comes back from its saved text', () => {
  const made: Tokenizer[] = [
    CharTokenizer.fromText(text),
    WordTokenizer.train(text, { vocabSize: 50 }),
    BpeTokenizer.train(text, { vocabSize: 300 }),
  ];
  for (const tok of made) {
    const back = tokenizerFromJSON(JSON.stringify(tok.toJSON()));
    assert.equal(back.kind, tok.kind);
    assert.equal(back.vocabSize, tok.vocabSize);
    assert.deepEqual(back.encode(text), tok.encode(text));
    assert.equal(back.decode(back.encode(text)), text);
  }
  const gpt2 = loadGpt2();
  assert.equal(tokenizerFromJSON(gpt2.toJSON(), { gpt2 }), gpt2);
  assert.equal(tokenizerFromJSON('{"kind":"gpt2","version":1}', { gpt2: loadGpt2 }), gpt2);
});

/**
 * The contract every tokenizer keeps, run against each kind: ids within the vocabulary,
 * decode(encode(x)) === x for text it can represent, out-of-range ids rejected with a
 * TokenizerError, and the same ids after a save/load through tokenizerFromJSON.
 */
function runTokenizerSuite(name: string, make: () => Tokenizer, samples: readonly string[]): void {
  test(`contract (${name}): round trip, id range, errors, save/load`, () => {
    const tok = make();
    const back = tokenizerFromJSON(JSON.stringify(tok.toJSON()), { gpt2: loadGpt2 });
    for (const s of samples) {
      const ids = tok.encode(s);
      assert.ok(
        ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize),
        `ids of ${JSON.stringify(s)}`,
      );
      assert.equal(tok.decode(ids), s);
      assert.deepEqual(back.encode(s), ids);
    }
    assert.equal(tok.decode([]), '');
    assert.deepEqual(tok.encode(''), []);
    for (const id of [tok.vocabSize, -1, 1.5])
      assert.throws(() => tok.decode([id]), TokenizerError, `id ${id}`);
  });
}

const samples = ['First Citizen:', 'hear me speak.\n', text];
runTokenizerSuite('char', () => CharTokenizer.fromText(text), samples);
runTokenizerSuite('word', () => WordTokenizer.train(text, { vocabSize: 100 }), samples);
runTokenizerSuite('bpe', () => BpeTokenizer.train(text, { vocabSize: 300 }), [...samples, '😀 \ud800 漢字']);
runTokenizerSuite('gpt2', loadGpt2, [...samples, '😀 \ud800 漢字']);

test('tokenizerFromJSON: bad input fails with a TokenizerError saying what is wrong', () => {
  const bpe = JSON.stringify(BpeTokenizer.train(text, { vocabSize: 270 }).toJSON());
  assert.throws(() => tokenizerFromJSON(bpe.slice(0, bpe.length / 2)), /tokenizer JSON: not valid JSON/);
  assert.throws(() => tokenizerFromJSON(''), /not valid JSON/);
  assert.throws(() => tokenizerFromJSON('[1,2]'), /expected an object with "kind" and "version"/);
  assert.throws(
    () => tokenizerFromJSON('{"kind":"sentencepiece","version":1}'),
    /unknown kind "sentencepiece"/,
  );
  assert.throws(() => tokenizerFromJSON('{"version":1}'), /unknown kind undefined/);
  assert.throws(
    () => tokenizerFromJSON(bpe.replace('"version":1', '"version":2')),
    /bpe tokenizer version 2 is not supported \(this build reads 1\)/,
  );
  assert.throws(() => tokenizerFromJSON('{"kind":"char","version":"1"}'), /char tokenizer version "1"/);
  assert.throws(
    () => tokenizerFromJSON('{"kind":"gpt2","version":1}'),
    /kind gpt2 needs GPT-2's encoder.json and vocab.bpe/,
  );
  assert.throws(
    () => tokenizerFromJSON('{"kind":"gpt2","version":1,"x":0}', { gpt2: loadGpt2 }),
    /unknown key "x"/,
  );
  assert.throws(() => tokenizerFromJSON('{"kind":"bpe","version":1}'), TokenizerError);
  assert.throws(() => tokenizerFromJSON('{"kind":"word","version":1,"words":[]}'), TokenizerError);
});
