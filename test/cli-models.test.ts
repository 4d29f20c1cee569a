// The models before GPT through the built CLI: train --arch, then sample, eval and resume pick
// the architecture from the checkpoint; and the bad input around architectures: an --arch the
// checkpoint does not hold (sample, eval, resume), a flag that does not apply to the arch, a
// preset of another arch, export of a non-GPT checkpoint. Each gets one line on stderr and a
// non-zero exit, and nothing on disk changes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeCheckpoint } from '../src/train/checkpoint.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsgpt-models-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const tsgpt = (...args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, TSGPT_DEBUG: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
function fails(r: ReturnType<typeof tsgpt>, code: number, re: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^[^\n]+\n$/, `one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr.trimEnd(), re);
}
const RUN = ['--data', 'text.txt', '--backend', 'ref', '--block-size', '12', '--batch-size', '2'];
const LSTM = [
  ...RUN,
  '--arch',
  'lstm',
  '--n-embd',
  '8',
  '--n-hidden',
  '12',
  '--max-iters',
  '4',
  '--eval-interval',
  '2',
  '--eval-iters',
  '1',
];
const ckpt = (out: string) => join(dir, out, 'ckpt.safetensors');
const snapshot = (out: string) => ({
  ckpt: readFileSync(ckpt(out)),
  log: readFileSync(join(dir, out, 'log.jsonl'), 'utf8'),
});

before(() => {
  writeFileSync(
    join(dir, 'text.txt'),
    'To be, or not to be, that is the question:\nWhether tis nobler in the mind\n'.repeat(30),
  );
  const r = tsgpt('train', ...LSTM, '--out', 'lstm');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /lstm: 1 layer of 12 hidden, 8-wide embeddings, window 12/);
  const g = tsgpt(
    'train',
    ...RUN,
    '--n-layer',
    '1',
    '--n-head',
    '2',
    '--n-embd',
    '8',
    '--max-iters',
    '2',
    '--eval-interval',
    '2',
    '--eval-iters',
    '1',
    '--out',
    'gpt',
  );
  assert.equal(g.code, 0, g.stderr);
});

test('train --arch writes a checkpoint of that arch; sample and eval read the arch from it', () => {
  assert.equal(decodeCheckpoint(readFileSync(ckpt('lstm')), 'lstm').meta.arch, 'lstm');
  assert.equal(decodeCheckpoint(readFileSync(ckpt('gpt')), 'gpt').meta.arch, undefined);
  const s = tsgpt(
    'sample',
    '--ckpt',
    'lstm/ckpt.safetensors',
    '--backend',
    'ref',
    '--max-new-tokens',
    '30',
    '--prompt',
    'To',
    '--arch',
    'lstm',
  );
  assert.equal(s.code, 0, s.stderr);
  assert.ok(s.stdout.startsWith('To') && s.stdout.length >= 30, s.stdout);
  const e = tsgpt(
    'eval',
    '--ckpt',
    'lstm/ckpt.safetensors',
    '--text',
    'text.txt',
    '--backend',
    'ref',
    '--json',
  );
  assert.equal(e.code, 0, e.stderr);
  const r = JSON.parse(e.stdout) as { loss: number; tokens: number };
  assert.ok(r.loss > 0 && r.loss < 5 && r.tokens > 100);
  const more = tsgpt(
    'train',
    '--out',
    'lstm',
    '--resume',
    '--max-iters',
    '6',
    '--backend',
    'ref',
    '--data',
    'text.txt',
  );
  assert.equal(more.code, 0, more.stderr);
  assert.equal(decodeCheckpoint(readFileSync(ckpt('lstm')), 'lstm').meta.step, 6);
});

test('an --arch the checkpoint does not hold: sample, eval, resume refuse it in one line', () => {
  fails(
    tsgpt('sample', '--ckpt', 'lstm/ckpt.safetensors', '--arch', 'gpt'),
    2,
    /^tsgpt sample: --arch gpt: lstm\/ckpt\.safetensors holds an LSTM \(arch lstm\)$/,
  );
  fails(
    tsgpt('eval', '--ckpt', 'gpt/ckpt.safetensors', '--arch', 'rnn', '--text', 'text.txt'),
    2,
    /^tsgpt eval: --arch rnn: gpt\/ckpt\.safetensors holds a GPT \(arch gpt\)$/,
  );
  const before = snapshot('lstm');
  fails(
    tsgpt('train', '--out', 'lstm', '--resume', '--arch', 'gru', ...RUN),
    1,
    /^tsgpt train: resume from .*lstm\/ckpt\.safetensors: arch = gru differs from the checkpoint's lstm$/,
  );
  fails(
    tsgpt('train', '--out', 'lstm', '--resume', '--n-head', '2', ...RUN),
    1,
    /nHead does not apply to arch lstm/,
  );
  // --resume across architectures: a GPT run continued as an LSTM
  const gptBefore = snapshot('gpt');
  fails(
    tsgpt('train', '--out', 'gpt', '--resume', '--arch', 'lstm', ...RUN),
    1,
    /arch = lstm differs from the checkpoint's gpt/,
  );
  assert.deepEqual(snapshot('lstm'), before);
  assert.deepEqual(snapshot('gpt'), gptBefore);
});

test('a flag that does not apply to the arch, or a preset of another arch: one line, nothing written', () => {
  fails(
    tsgpt('train', ...LSTM, '--n-head', '4', '--out', 'x1'),
    1,
    /^tsgpt train: flags: nHead does not apply to arch lstm \(its model keys: blockSize, nLayer, nEmbd, nHidden, dropout\)$/,
  );
  fails(
    tsgpt('train', ...RUN, '--context', '3', '--out', 'x2'),
    1,
    /flags: context does not apply to arch gpt/,
  );
  fails(
    tsgpt('train', ...RUN, '--preset', 'baby', '--arch', 'mlp', '--out', 'x3'),
    1,
    /preset baby is for arch gpt, not mlp: use preset mlp/,
  );
  fails(
    tsgpt('train', ...RUN, '--arch', 'transformer'),
    2,
    /--arch must be one of gpt\|bigram\|mlp\|rnn\|lstm\|gru/,
  );
  for (const out of ['x1', 'x2', 'x3']) assert.ok(!existsSync(join(dir, out)), `${out} was created`);
});

test('export refuses a non-GPT checkpoint in one line and writes nothing', () => {
  fails(
    tsgpt('export', '--ckpt', 'lstm/ckpt.safetensors', '--format', 'hf', 'hf-out'),
    2,
    /^tsgpt export: lstm\/ckpt\.safetensors holds an LSTM \(arch lstm\): export writes GPT-2 layouts/,
  );
  fails(
    tsgpt('export', '--ckpt', 'lstm/ckpt.safetensors', '--format', 'nanogpt', 'nano-out'),
    2,
    /holds an LSTM/,
  );
  assert.ok(!existsSync(join(dir, 'hf-out')) && !existsSync(join(dir, 'nano-out')));
});

test('train --help shows --arch, the keys of the other archs and their presets', () => {
  const h = tsgpt('train', '--help');
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--arch gpt\|bigram\|mlp\|rnn\|lstm\|gru/);
  assert.match(h.stdout, /--n-hidden INT/);
  assert.match(h.stdout, /--context INT/);
  assert.match(
    h.stdout,
    /--preset baby\|plan\|mini\|shakespeare\|quick\|quick15\|quick60\|bigram\|mlp\|rnn\|lstm\|gru/,
  );
});
