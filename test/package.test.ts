// The package as users get it: every entry point in package.json's "exports" (and "bin") exists
// and loads, every "files" entry exists (Tiny Shakespeare among them), and the main entry trains a
// tiny model end to end through its own exports. Imports go through the package name ('tsgpt'),
// which Node resolves by self-reference.

import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string>;
  bin: Record<string, string>;
  files: string[];
};

test('every "exports" and "bin" path exists after the build', () => {
  for (const [name, path] of [...Object.entries(pkg.exports), ...Object.entries(pkg.bin)])
    assert.ok(existsSync(join(ROOT, path)), `${name} -> ${path} is missing`);
});

test('"files" ships Tiny Shakespeare (tsgpt prepare reads it offline), and every entry exists', () => {
  assert.ok(pkg.files.includes('assets/tinyshakespeare.txt'), `files: ${pkg.files.join(', ')}`);
  for (const f of pkg.files) assert.ok(existsSync(join(ROOT, f)), `"files" names ${f}, which is missing`);
});

test("'tsgpt', 'tsgpt/backend' and 'tsgpt/tokenizer' load by name", async () => {
  const main = await import('tsgpt');
  for (const name of ['GPT', 'Trainer', 'Tensor', 'createBackend', 'generate', 'CharTokenizer', 'ops'])
    assert.ok(name in main, `'tsgpt' has no export ${name}`);
  const backend = await import('tsgpt/backend');
  assert.equal(typeof backend.createBackend, 'function');
  const tokenizer = await import('tsgpt/tokenizer');
  assert.equal(typeof tokenizer.Gpt2Tokenizer, 'function');
});

test("a tiny model trains and samples through 'tsgpt' alone", async () => {
  const t = await import('tsgpt');
  const text = 'to be or not to be, that is the question.\n'.repeat(30);
  const tok = t.CharTokenizer.fromText(text);
  const ids = Uint16Array.from(tok.encode(text));
  const cfg = {
    ...t.DEFAULT_CONFIG,
    vocabSize: tok.vocabSize,
    blockSize: 16,
    nLayer: 1,
    nHead: 2,
    nEmbd: 16,
    batchSize: 4,
    maxIters: 30,
    warmupIters: 0,
    lrDecayIters: 30,
    learningRate: 1e-2,
    dropout: 0,
  };
  const backend = await t.createBackend('ref');
  const model = new t.GPT(t.modelConfig(cfg), backend, { seed: 3 });
  const trainer = new t.Trainer({ model, config: cfg, train: ids, val: ids, tokenizer: tok.toJSON() });
  const first = trainer.trainStep().loss;
  let last = first;
  for (let i = 1; i < 30; i++) last = trainer.trainStep().loss;
  assert.ok(last < first * 0.8, `loss ${first} -> ${last}`);
  const seen: number[] = [];
  const out = t.generate(model, tok.encode('to '), 8, t.DEFAULT_SAMPLING, new t.Rng(1), (id) => {
    seen.push(id);
  });
  assert.equal(out.length, 8);
  assert.deepEqual(seen, out);
  assert.equal(typeof tok.decode(out), 'string');
});
