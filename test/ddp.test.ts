// Continuing in PyTorch DDP (scripts/ddp/train_ddp.py): a tsgpt checkpoint exported with
// `tsgpt export --format hf`, trained on 2 processes (torchrun, gloo, CPU) for a few steps,
// brought back with `tsgpt import hf` and sampled. PyTorch's first step's loss equals tsgpt's
// loss on the same batch (<= 1e-4); the weights came back changed; without torchrun the script
// says so in one line. Needs Debian's python3-torch at /usr/bin/python3 (skipped, with the reason,
// only when torch itself is missing).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { noGrad } from '../src/autograd/engine.js';
import { refBackend } from '../src/backend/index.js';
import { tensor } from '../src/tensor/tensor.js';
import { decodeCheckpoint, modelFromCheckpoint } from '../src/train/checkpoint.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const SCRIPT = join(ROOT, 'scripts', 'ddp', 'train_ddp.py');
const PY = '/usr/bin/python3';
const torchMissing = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;
const skip = torchMissing
  ? `PyTorch is not importable by ${PY} (install python3-torch; .ci/run does)`
  : false;

describe('continue in PyTorch DDP: export, torchrun on 2 processes (gloo), import, sample', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgpt-ddp-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const tsgpt = (...args: string[]) => {
    const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `tsgpt ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  test('the first step matches tsgpt, the result comes back and samples', () => {
    tsgpt('prepare', '--data', join(ROOT, 'assets', 'tinyshakespeare.txt'), '--out', 'data');
    // a small model with baby's recipe for the rest (GPT-2's layout, what the export writes;
    // dropout 0: the losses are comparable)
    tsgpt(
      'train',
      '--preset',
      'baby',
      '--data',
      'data',
      '--backend',
      'ref',
      '--n-layer',
      '2',
      '--n-head',
      '2',
      '--n-embd',
      '16',
      '--block-size',
      '16',
      '--batch-size',
      '4',
      '--max-iters',
      '3',
      '--eval-interval',
      '3',
      '--eval-iters',
      '1',
      '--out',
      'run',
    );
    tsgpt('export', '--ckpt', join('run', 'ckpt.safetensors'), '--format', 'hf', 'exported');
    const py = spawnSync(
      PY,
      [
        SCRIPT,
        '--nproc',
        '2',
        '--init',
        'exported',
        '--data',
        'data',
        '--out',
        'continued',
        '--max-iters',
        '4',
        '--batch-size',
        '3',
        '--device',
        'cpu',
      ],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } },
    );
    assert.equal(py.status, 0, `train_ddp.py failed: ${py.stderr.slice(-2000)}`);
    const log = readFileSync(join(dir, 'continued', 'log.jsonl'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(log.length, 4, 'one line per step');
    assert.equal((JSON.parse(log[0]!) as { world: number }).world, 2, 'two processes');

    // tsgpt's loss on the batch PyTorch's two ranks took first (3 rows each)
    const first = JSON.parse(readFileSync(join(dir, 'continued', 'first_batch.json'), 'utf8')) as {
      x: number[][];
      y: number[][];
      loss: number;
    };
    assert.equal(first.x.length, 6);
    const ck = decodeCheckpoint(readFileSync(join(dir, 'run', 'ckpt.safetensors')), 'run');
    const model = modelFromCheckpoint(ck, refBackend, false);
    const T = first.x[0]!.length;
    const x = tensor(refBackend, first.x.flat(), [6, T], 'int32');
    const y = tensor(refBackend, first.y.flat(), [6, T], 'int32');
    const ours = noGrad(() => model.forward(x, y).loss!.item());
    assert.ok(Math.abs(ours - first.loss) <= 1e-4, `tsgpt ${ours} vs PyTorch ${first.loss}`);

    // back into tsgpt: the trained weights, and it samples
    tsgpt('import', 'hf', 'continued', '--out', 'back.safetensors');
    const back = decodeCheckpoint(readFileSync(join(dir, 'back.safetensors')), 'back');
    const before = ck.weights.get('transformer.wte.weight')!.data;
    const after2 = back.weights.get('transformer.wte.weight')!.data;
    assert.equal(after2.length, before.length);
    assert.ok(
      after2.some((v, i) => v !== before[i]),
      'the weights changed in PyTorch',
    );
    const text = tsgpt('sample', '--ckpt', 'back.safetensors', '--backend', 'ref', '--max-new-tokens', '20');
    assert.ok(text.length >= 20, `sampled ${JSON.stringify(text)}`);
  });

  test('without torchrun on PATH: one line saying so, exit 1', () => {
    const empty = join(dir, 'empty-path');
    mkdirSync(empty, { recursive: true });
    const r = spawnSync(PY, [SCRIPT, '--nproc', '2', '--init', 'x', '--data', 'y', '--out', 'z'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PATH: empty },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^[^\n]+\n$/, `one line, got ${JSON.stringify(r.stderr)}`);
    assert.match(r.stderr, /^train_ddp\.py: torchrun not found on PATH \(it comes with PyTorch/);
  });
});
