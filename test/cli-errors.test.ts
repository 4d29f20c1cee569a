// Bad input to train / sample / eval, end to end through the built CLI: corrupt and truncated
// checkpoints, prompts with unknown characters, every kind of invalid config value (flags and
// config files). Each gets one line on stderr and a non-zero exit, and nothing on disk changes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MAX_THREADS } from '../src/backend/index.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsgpt-errors-'));
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
  assert.match(r.stderr, re);
}
const TINY = [
  '--backend',
  'ref',
  '--n-layer',
  '1',
  '--n-head',
  '2',
  '--n-embd',
  '16',
  '--block-size',
  '16',
  '--batch-size',
  '2',
  '--max-iters',
  '2',
  '--eval-interval',
  '2',
  '--eval-iters',
  '1',
];

before(() => {
  writeFileSync(
    join(dir, 'text.txt'),
    'To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\n'.repeat(30),
  );
  assert.equal(tsgpt('prepare', '--data', 'text.txt', '--out', 'data').code, 0);
  const r = tsgpt('train', '--data', 'data', '--out', 'run', ...TINY);
  assert.equal(r.code, 0, r.stderr);
});

test('invalid config values are refused with the reason (flags)', () => {
  fails(
    tsgpt('train', '--data', 'data', '--out', 'bad', '--n-head', '3', '--n-embd', '16'),
    1,
    /nHead = 3 does not divide nEmbd = 16/,
  );
  fails(
    tsgpt('train', '--data', 'data', '--out', 'bad', '--n-layer', '0'),
    1,
    /nLayer = 0: must be positive/,
  );
  fails(
    tsgpt('train', '--data', 'data', '--out', 'bad', '--block-size', '-4'),
    1,
    /blockSize = -4: must be positive/,
  );
  fails(
    tsgpt('train', '--data', 'data', '--out', 'bad', '--learning-rate', '-0.001'),
    1,
    /learningRate = -0\.001: must not be negative/,
  );
  fails(
    tsgpt('train', '--data', 'data', '--out', 'bad', '--dropout', '1.5'),
    1,
    /dropout = 1\.5: must be in \[0, 1\)/,
  );
  fails(tsgpt('train', '--data', 'data', '--out', 'bad', '--n-embd', 'wide'), 2, /--n-embd/);
  fails(tsgpt('train', '--data', 'data', '--out', 'bad', '--nlayer', '3'), 2, /unknown flag --nlayer/);
  fails(tsgpt('train', '--data', 'data', '--out', 'bad', '--norm', 'middle'), 2, /--norm/);
});

test('invalid config files are refused with the reason', () => {
  const cases: [object | string, RegExp][] = [
    [{ nHead: 5, nEmbd: 128 }, /nHead = 5 does not divide nEmbd = 128/],
    [{ nLayers: 4 }, /unknown key "nLayers"/],
    [{ nEmbd: -8 }, /nEmbd = -8: must be positive/],
    [{ learningRate: -1 }, /learningRate = -1: must not be negative/],
    [{ batchSize: 2.5 }, /batchSize = 2\.5: must be an integer/],
    [{ bias: 'yes' }, /bias = "yes": must be true or false/],
    [{ positional: 'rotary' }, /positional = "rotary": must be one of learned \| sinusoidal/],
    ['{ not json', /not valid JSON/],
    [[1, 2], /must be a JSON object/],
  ];
  for (const [i, [content, re]] of cases.entries()) {
    writeFileSync(join(dir, `c${i}.json`), typeof content === 'string' ? content : JSON.stringify(content));
    fails(tsgpt('train', '--data', 'data', '--out', 'bad', '--config', `c${i}.json`), 1, re);
  }
  fails(
    tsgpt('train', '--data', 'data', '--out', 'bad', '--config', 'nope.json'),
    1,
    /config file not found: nope\.json/,
  );
});

test("backend flags: --threads is refused with --backend ref, and capped at the backend's limit", () => {
  const ck = ['--ckpt', 'run/ckpt.safetensors'];
  for (const cmd of [
    ['train', '--data', 'data', '--out', 'bad'],
    ['sample', ...ck],
    ['eval', ...ck, '--data', 'data'],
  ]) {
    fails(
      tsgpt(...cmd, '--backend', 'ref', '--threads', '2'),
      2,
      /--threads 2: the ref backend runs on one thread; --threads is for --backend wasm/,
    );
    fails(
      tsgpt(...cmd, '--threads', String(MAX_THREADS + 1)),
      2,
      new RegExp(`--threads must be <= ${MAX_THREADS}, got ${MAX_THREADS + 1}`),
    );
  }
  fails(
    tsgpt('train', '--data', 'data', '--out', 'run', '--resume', '--init-from', 'run/ckpt.safetensors'),
    2,
    /--resume and --init-from exclude each other/,
  );
});

test('a failed run leaves the existing checkpoint untouched', () => {
  const ckpt = join(dir, 'run', 'ckpt.safetensors');
  const before = readFileSync(ckpt);
  fails(tsgpt('train', '--data', 'data', '--out', 'run', ...TINY), 2, /exists: pass --resume/);
  fails(
    tsgpt('train', '--data', 'data', '--out', 'run', '--resume', '--n-layer', '3'),
    1,
    /nLayer = 3 differs from the checkpoint's 1/,
  );
  fails(tsgpt('train', '--data', 'data', '--out', 'run', '--force', '--n-head', '3'), 1, /does not divide/);
  assert.deepEqual(readFileSync(ckpt), before);
});

test('truncated, corrupt and missing checkpoints are refused, and left as they are', () => {
  const good = readFileSync(join(dir, 'run', 'ckpt.safetensors'));
  writeFileSync(join(dir, 'truncated.safetensors'), good.subarray(0, good.length - 64));
  const corrupt = Buffer.from(good);
  corrupt.write('{"nonsense', 8); // break the JSON header
  writeFileSync(join(dir, 'corrupt.safetensors'), corrupt);
  writeFileSync(join(dir, 'garbage.safetensors'), Buffer.from([1, 2, 3]));
  for (const cmd of [['sample'], ['eval', '--data', 'data']]) {
    fails(tsgpt(...cmd, '--backend', 'ref', '--ckpt', 'truncated.safetensors'), 1, /truncated\.safetensors/);
    fails(tsgpt(...cmd, '--backend', 'ref', '--ckpt', 'corrupt.safetensors'), 1, /corrupt\.safetensors/);
    fails(tsgpt(...cmd, '--backend', 'ref', '--ckpt', 'garbage.safetensors'), 1, /garbage\.safetensors/);
    fails(
      tsgpt(...cmd, '--backend', 'ref', '--ckpt', 'missing.safetensors'),
      1,
      /checkpoint not found: missing\.safetensors/,
    );
  }
  // resuming from a truncated checkpoint fails before anything is written
  rmSync(join(dir, 'resume'), { recursive: true, force: true });
  spawnSync('mkdir', [join(dir, 'resume')]);
  writeFileSync(join(dir, 'resume', 'ckpt.safetensors'), good.subarray(0, 100));
  fails(tsgpt('train', '--data', 'data', '--out', 'resume', '--resume', ...TINY), 1, /ckpt\.safetensors/);
  assert.deepEqual(readFileSync(join(dir, 'resume', 'ckpt.safetensors')), good.subarray(0, 100));
});

test('a prompt with characters outside the vocabulary names them', () => {
  fails(
    tsgpt('sample', '--backend', 'ref', '--ckpt', 'run/ckpt.safetensors', '--prompt', 'To be ¿or 🙂'),
    1,
    /not in the vocabulary: "¿", "🙂"/,
  );
  fails(
    tsgpt('sample', '--backend', 'ref', '--ckpt', 'run/ckpt.safetensors', '--prompt', ''),
    1,
    /prompt is empty/,
  );
  fails(tsgpt('sample', '--backend', 'ref', '--ckpt', 'run/ckpt.safetensors', '--top-p', '0'), 1, /top-p/);
  fails(
    tsgpt('sample', '--backend', 'ref', '--ckpt', 'run/ckpt.safetensors', '--temperature', '-1'),
    2,
    /--temperature/,
  );
});

test('sample and eval work on the trained checkpoint', () => {
  const s = tsgpt(
    'sample',
    '--backend',
    'ref',
    '--ckpt',
    'run/ckpt.safetensors',
    '--prompt',
    'To be',
    '--max-new-tokens',
    '20',
    '--num-samples',
    '2',
  );
  assert.equal(s.code, 0, s.stderr);
  assert.equal(s.stdout.split('---------------').length, 2);
  assert.ok(s.stdout.startsWith('To be'));
  const e = tsgpt('eval', '--backend', 'ref', '--ckpt', 'run/ckpt.safetensors', '--data', 'data', '--json');
  assert.equal(e.code, 0, e.stderr);
  const r = JSON.parse(e.stdout) as {
    loss: number;
    perplexity: number;
    bitsPerChar: number;
    bitsPerByte: number;
  };
  assert.ok(Math.abs(r.perplexity - Math.exp(r.loss)) < 1e-9);
  assert.ok(
    Math.abs(r.bitsPerChar - r.loss / Math.LN2) < 1e-9,
    'char tokenizer on ASCII text: bits/char = bits/token',
  );
  assert.ok(Math.abs(r.bitsPerByte - r.bitsPerChar) < 1e-9);
  // --text: the same numbers on the same text, read from a file and encoded by the checkpoint
  writeFileSync(join(dir, 'held.txt'), 'To be, or not to be, that is the question:\n'.repeat(10));
  const t = tsgpt(
    'eval',
    '--backend',
    'ref',
    '--ckpt',
    'run/ckpt.safetensors',
    '--text',
    'held.txt',
    '--json',
  );
  assert.equal(t.code, 0, t.stderr);
  const rt = JSON.parse(t.stdout) as { tokens: number; bitsPerByte: number };
  assert.equal(rt.tokens, Math.floor((430 - 1) / 16) * 16);
  assert.ok(rt.bitsPerByte > 0);
  writeFileSync(join(dir, 'alien.txt'), 'Zebras quack ¿');
  fails(
    tsgpt('eval', '--backend', 'ref', '--ckpt', 'run/ckpt.safetensors', '--text', 'alien.txt'),
    1,
    /not in the vocabulary/,
  );
});
