// The ladder (src/train/ladder.ts, `tsgpt ladder`) on a small text with a fake clock, so that
// what it trains does not depend on this machine's speed: each rung calibrates, trains within
// its budget and is evaluated on the whole val split; the bigram comes with its counting
// solution. And the command: the table on stdout, the JSON file, bad --archs in one line.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { refBackend as be } from '../src/backend/index.js';
import { prepareDataset } from '../src/data/dataset.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import { type LadderEvent, runLadder } from '../src/train/ladder.js';

const TEXT = 'To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\n'.repeat(
  40,
);

test('runLadder: every rung within its budget of (fake) time, measured on the whole val split', async () => {
  const ds = prepareDataset(TEXT, CharTokenizer.fromText(TEXT), { path: 'mem', sha256: '' });
  const data = {
    train: ds.train,
    val: ds.val,
    vocabSize: ds.meta.vocabSize,
    tokenizer: ds.meta.tokenizer,
    name: 'mem',
  };
  let clock = 0;
  const events: LadderEvent[] = [];
  const rows = await runLadder({
    backend: be,
    data,
    budgetSeconds: 0.2, // 200 fake milliseconds: each clock read is one
    archs: ['bigram', 'mlp', 'gru'],
    // small versions of the presets (the ref backend is slow)
    overrides: {
      bigram: { batchSize: 4, blockSize: 16 },
      mlp: { batchSize: 4, blockSize: 16, nHidden: 32 },
      gru: { batchSize: 4, blockSize: 16, nEmbd: 8, nHidden: 16 },
    },
    now: () => clock++,
    onEvent: (e) => events.push(e),
  });
  assert.deepEqual(
    rows.map((r) => r.name),
    ['bigram', 'bigram-counts', 'mlp', 'gru'],
  );
  const V = data.vocabSize;
  for (const r of rows) {
    assert.ok(Number.isFinite(r.valLoss) && r.valLoss > 0, `${r.name}: ${r.valLoss}`);
    assert.ok(Math.abs(r.bitsPerChar - r.valLoss / Math.LN2) < 1e-9, 'one token is one character');
    assert.ok(r.trainSeconds <= 0.2 + 0.01, `${r.name} kept to its budget: ${r.trainSeconds}`);
    if (r.name !== 'bigram-counts') {
      assert.ok(r.steps >= 1);
      assert.equal(r.tokens % r.steps, 0);
      assert.ok(r.valLoss < Math.log(V), `${r.name} learned something: ${r.valLoss} vs ln V ${Math.log(V)}`);
    }
  }
  const counts = rows[1]!;
  assert.equal(counts.steps, 0);
  assert.equal(counts.params, V * V);
  assert.ok(counts.valLoss < Math.log(V), `the counts know something: ${counts.valLoss}`);
  // events: start, calibrated, steps, eval progress and a row for each
  for (const arch of ['bigram', 'mlp', 'gru'])
    for (const type of ['start', 'calibrated', 'eval'] as const)
      assert.ok(
        events.some((e) => e.type === type && e.arch === arch),
        `${type} event for ${arch}`,
      );
  assert.equal(events.filter((e) => e.type === 'row').length, 4);
});

test('runLadder stops between steps when asked, returning what is done', async () => {
  const ds = prepareDataset(TEXT, CharTokenizer.fromText(TEXT), { path: 'mem', sha256: '' });
  const data = {
    train: ds.train,
    val: ds.val,
    vocabSize: ds.meta.vocabSize,
    tokenizer: ds.meta.tokenizer,
    name: 'mem',
  };
  let clock = 0;
  let rowsSeen = 0;
  const rows = await runLadder({
    backend: be,
    data,
    budgetSeconds: 0.1,
    archs: ['mlp', 'rnn', 'lstm'],
    overrides: { mlp: { batchSize: 4, blockSize: 16, nHidden: 32 } },
    now: () => clock++,
    onEvent: (e) => {
      if (e.type === 'row') rowsSeen++;
    },
    shouldStop: () => rowsSeen >= 1,
  });
  assert.deepEqual(
    rows.map((r) => r.name),
    ['mlp'],
  );
});

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsgpt-ladder-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tsgpt = (...args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8' });

test('tsgpt ladder: the table on stdout, progress on stderr, the JSON file; bad --archs in one line', () => {
  writeFileSync(join(dir, 'text.txt'), TEXT);
  writeFileSync(join(dir, 'small.json'), JSON.stringify({ bigram: { batchSize: 4, blockSize: 16 } }));
  const r = tsgpt(
    'ladder',
    ...['--data', 'text.txt', '--archs', 'bigram', '--budget', '1', '--backend', 'ref'],
    ...['--config', 'small.json', '--json', 'out/l.json'],
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^\| model \| params \| steps \| tokens \| train time \| val loss \| bits\/char \|\n/,
  );
  assert.match(r.stdout, /\n\| bigram \| /);
  assert.match(r.stdout, /\n\| bigram-counts \| /);
  assert.match(r.stderr, /^tsgpt ladder: bigram on text\.txt/);
  const json = JSON.parse(readFileSync(join(dir, 'out', 'l.json'), 'utf8')) as {
    budgetSeconds: number;
    complete: boolean;
    rows: { name: string; valLoss: number }[];
  };
  assert.equal(json.budgetSeconds, 1);
  assert.equal(json.complete, true);
  assert.deepEqual(
    json.rows.map((x) => x.name),
    ['bigram', 'bigram-counts'],
  );
  const bad = tsgpt('ladder', '--archs', 'bigram,transformer');
  assert.equal(bad.status, 2);
  assert.equal(
    bad.stderr,
    'tsgpt ladder: --archs: unknown model "transformer" (models: bigram, mlp, rnn, lstm, gru, gpt)\n',
  );
  const twice = tsgpt('ladder', '--archs', 'mlp,mlp');
  assert.equal(twice.status, 2);
  assert.match(twice.stderr, /a model is named twice/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ lstm: { nHead: 4 } }));
  const key = tsgpt('ladder', '--config', 'bad.json', '--archs', 'lstm', '--data', 'text.txt');
  assert.equal(key.status, 1);
  assert.equal(
    key.stderr,
    'tsgpt ladder: bad.json (lstm): nHead does not apply to arch lstm (its model keys: blockSize, nLayer, nEmbd, nHidden, dropout)\n',
  );
  writeFileSync(join(dir, 'bad2.json'), JSON.stringify({ transformer: {} }));
  const arch = tsgpt('ladder', '--config', 'bad2.json');
  assert.equal(arch.status, 2);
  assert.match(
    arch.stderr,
    /^tsgpt ladder: bad2\.json: "transformer" is not a model \(models: bigram, mlp, rnn, lstm, gru, gpt\)\n$/,
  );
});
