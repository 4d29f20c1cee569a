// The "bigger models" options end to end through the built CLI: --grad-checkpoint and
// --precision bf16 train on both backends (ref has every kernel they need, so neither is refused
// there), --data-parallel trains on wasm, `tsgpt quantize` writes an int8 checkpoint that sample and
// eval read, and the bad inputs each get one line and a non-zero exit: an int8 checkpoint given to
// training (--init-from, --resume), a batch that does not split into the data-parallel ranks,
// quantizing an int8 checkpoint again, a precision tsgpt does not have. (torchrun missing:
// test/ddp.test.ts.)

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tsgpt-bigger-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const tsgpt = (...args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, TSGPT_DEBUG: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
function ok(r: ReturnType<typeof tsgpt>): void {
  assert.equal(r.code, 0, r.stderr);
}
function fails(r: ReturnType<typeof tsgpt>, re: RegExp): void {
  assert.notEqual(r.code, 0, `expected a failure; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^[^\n]+\n$/, `one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, re);
}
const TINY = ['--n-layer', '2', '--n-head', '2', '--n-embd', '16', '--block-size', '16', '--batch-size', '4'];
const SHORT = ['--max-iters', '2', '--eval-interval', '2', '--eval-iters', '1'];

before(() => ok(tsgpt('prepare', '--data', join(ROOT, 'assets', 'tinyshakespeare.txt'), '--out', 'data')));

test('--grad-checkpoint trains on ref and wasm; --data-parallel 2 trains on wasm', () => {
  ok(
    tsgpt(
      'train',
      '--data',
      'data',
      '--backend',
      'ref',
      ...TINY,
      ...SHORT,
      '--grad-checkpoint',
      '--out',
      'ck-ref',
    ),
  );
  ok(tsgpt('train', '--data', 'data', ...TINY, ...SHORT, '--grad-checkpoint', '--out', 'ck-wasm'));
  ok(
    tsgpt(
      'train',
      '--data',
      'data',
      ...TINY,
      ...SHORT,
      '--data-parallel',
      '2',
      '--threads',
      '1',
      '--out',
      'dp',
    ),
  );
  for (const out of ['ck-ref', 'ck-wasm', 'dp'])
    assert.ok(existsSync(join(dir, out, 'ckpt.safetensors')), out);
});

test('--precision bf16 trains on ref and on wasm, also with --grad-checkpoint, and is kept in the checkpoint', () => {
  ok(
    tsgpt(
      'train',
      '--data',
      'data',
      '--backend',
      'ref',
      ...TINY,
      ...SHORT,
      '--precision',
      'bf16',
      '--out',
      'bf-ref',
    ),
  );
  ok(
    tsgpt(
      'train',
      '--data',
      'data',
      ...TINY,
      ...SHORT,
      '--precision',
      'bf16',
      '--grad-checkpoint',
      '--out',
      'bf',
    ),
  );
  // resuming keeps the run's precision: the checkpoint's training config says bf16
  const r = tsgpt(
    'train',
    '--data',
    'data',
    '--resume',
    '--out',
    'bf',
    '--max-iters',
    '3',
    '--eval-iters',
    '1',
  );
  ok(r);
  const configs = readFileSync(join(dir, 'bf', 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; step: number; config?: { precision: string } })
    .filter((l) => l.type === 'config');
  const resumed = configs.at(-1)!;
  assert.ok(resumed.step > 0, `the resumed run logs its config (steps ${configs.map((c) => c.step)})`);
  assert.equal(resumed.config!.precision, 'bf16');
});

test('a precision tsgpt does not have: one line', () => {
  fails(
    tsgpt('train', '--data', 'data', ...TINY, ...SHORT, '--precision', 'fp16', '--out', 'fp16'),
    /^tsgpt train: --precision must be one of fp32\|bf16, got "fp16"/,
  );
  assert.ok(!existsSync(join(dir, 'fp16')), 'nothing written');
});

test('a batch that does not split into the ranks: one line', () => {
  fails(
    tsgpt('train', '--data', 'data', ...TINY, ...SHORT, '--data-parallel', '3', '--out', 'dp3'),
    /^tsgpt train: data parallel: batchSize 4 is not a multiple of the 3 ranks/,
  );
  assert.ok(!existsSync(join(dir, 'dp3')), 'nothing written');
});

test('tsgpt quantize: an int8 checkpoint a quarter the size that samples and evaluates; training refuses it', () => {
  ok(
    tsgpt(
      'train',
      '--data',
      'data',
      '--n-layer',
      '2',
      '--n-head',
      '2',
      '--n-embd',
      '64',
      ...SHORT,
      '--out',
      'f32',
    ),
  );
  const f32 = join('f32', 'ckpt.safetensors');
  ok(tsgpt('quantize', '--ckpt', f32, '--out', 'int8.safetensors'));
  const ratio =
    statSync(join(dir, 'int8.safetensors')).size / statSync(join(dir, 'f32', 'ckpt.safetensors')).size;
  assert.ok(ratio < 0.2, `int8 file / float32 checkpoint (with AdamW moments) = ${ratio}`);
  const s = tsgpt('sample', '--ckpt', 'int8.safetensors', '--max-new-tokens', '20', '--threads', '1');
  ok(s);
  assert.ok(s.stdout.length >= 20);
  const e = tsgpt('eval', '--ckpt', 'int8.safetensors', '--data', 'data', '--max-windows', '4', '--json');
  ok(e);
  const f = tsgpt('eval', '--ckpt', f32, '--data', 'data', '--max-windows', '4', '--json');
  const [lq, lf] = [e, f].map((r) => (JSON.parse(r.stdout) as { loss: number }).loss);
  assert.ok(Math.abs(lq! - lf!) / lf! < 0.01, `int8 loss ${lq} vs float32 ${lf}`);

  fails(
    tsgpt('train', '--data', 'data', '--init-from', 'int8.safetensors', '--out', 'ft', ...SHORT),
    /^tsgpt train: int8\.safetensors: an int8 checkpoint \(tsgpt quantize\) samples and evaluates but cannot be trained/,
  );
  ok(tsgpt('quantize', '--ckpt', f32, '--out', join('q', 'ckpt.safetensors')));
  fails(
    tsgpt('train', '--data', 'data', '--resume', '--out', 'q', ...SHORT),
    /^tsgpt train: q\/ckpt\.safetensors: an int8 checkpoint \(tsgpt quantize\)/,
  );
  fails(
    tsgpt('quantize', '--ckpt', 'int8.safetensors', '--out', 'again.safetensors'),
    /is an int8 checkpoint already/,
  );
});
