// `tsgpt seq2seq` end to end through the built CLI: train a tiny model on a toy task and on a TSV
// file, evaluate it (greedy, beam, JSON) and translate with it; and bad input: a malformed TSV
// line, checkpoints of the other kind of model (either way), --resume over a GPT checkpoint, an
// unknown task, flags of another subcommand, text the model cannot read, a second training into a
// busy --out; and a torn log line repaired on resume. Each gets one line on
// stderr and a non-zero exit, and nothing on disk changes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { refBackend } from '../src/backend/index.js';
import { modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { decodeCheckpointFile, encodeCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsgpt-seq2seq-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const tsgpt = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, TSGPT_DEBUG: '' },
    ...(input === undefined ? {} : { input }),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
function fails(r: ReturnType<typeof tsgpt>, code: number, re: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^[^\n]+\n$/, `one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, re);
}
const TINY = ['--threads', '1', '--n-embd', '16', '--n-head', '2', '--n-layer', '1', '--batch-size', '8'];
const TINY_RUN = [...TINY, '--max-iters', '4', '--eval-interval', '2', '--eval-examples', '5'];

before(() => {
  const r = tsgpt([
    'seq2seq',
    'train',
    '--task',
    'reverse',
    '--alphabet',
    'abc',
    '--max-len',
    '4',
    '--held-out',
    '20',
    '--out',
    'run',
    ...TINY_RUN,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const gpt = new GPT(
    modelConfig({ ...DEFAULT_CONFIG, vocabSize: 3, nLayer: 1, nHead: 1, nEmbd: 4, blockSize: 4 }),
    refBackend,
  );
  const bytes = encodeCheckpoint(gpt, null, {
    train: null,
    tokenizer: { kind: 'char', version: 1, chars: 'abc' },
    step: 0,
    bestValLoss: null,
    rng: null,
  });
  mkdirSync(join(dir, 'gpt'));
  writeFileSync(join(dir, 'gpt', 'ckpt.safetensors'), bytes);
});

test('train writes a checkpoint of arch encoder-decoder, a log and a chart, and reports exact match', () => {
  const bytes = readFileSync(join(dir, 'run', 'ckpt.safetensors'));
  const { arch, meta } = decodeCheckpointFile(bytes, 'run');
  assert.equal(arch, 'encoder-decoder');
  assert.equal(meta['arch'], 'encoder-decoder');
  assert.equal(meta['step'], 4);
  assert.ok(existsSync(join(dir, 'run', 'loss.svg')));
  const log = readFileSync(join(dir, 'run', 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    log.filter((e) => e.type === 'eval').map((e) => e.step),
    [0, 2, 4],
  );
  assert.equal(log.at(-1).type, 'exact_match');
  assert.equal(log.at(-1).total, 20);
});

test('eval: greedy and beam on the held-out pairs saved in the checkpoint; --json', () => {
  for (const beam of ['1', '3']) {
    const r = tsgpt([
      'seq2seq',
      'eval',
      '--ckpt',
      'run/ckpt.safetensors',
      '--beam',
      beam,
      '--json',
      '--threads',
      '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.total, 20);
    assert.equal(j.decoding, beam === '1' ? 'greedy' : 'beam 3, length penalty 1');
    assert.ok(j.accuracy >= 0 && j.accuracy <= 1 && j.correct === Math.round(j.accuracy * 20));
  }
  const r = tsgpt(['seq2seq', 'eval', '--ckpt', 'run/ckpt.safetensors', '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^run\/ckpt\.safetensors on the held-out pairs of reverse: .*\nexact match {2}\d+\/20 = /,
  );
});

test('translate: --text, and each line of standard input', () => {
  const one = tsgpt([
    'seq2seq',
    'translate',
    '--ckpt',
    'run/ckpt.safetensors',
    '--text',
    'abc',
    '--threads',
    '1',
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^[abc]*\n$/);
  const many = tsgpt(
    ['seq2seq', 'translate', '--ckpt', 'run/ckpt.safetensors', '--beam', '2', '--threads', '1'],
    'ab\r\nc\n\nbca\n',
  );
  assert.equal(many.code, 0, many.stderr);
  assert.equal(many.stdout.split('\n').length, 4, 'three outputs');
});

test('a TSV file of pairs trains; its held-out pairs come back at eval while the file is unchanged', () => {
  const lines = [
    'ab\tba',
    'abc\tcba',
    'ca\tac',
    'bca\tacb',
    'cc\tcc',
    'a\ta',
    'bb\tbb',
    'cab\tbac',
    'ba\tab',
    'acb\tbca',
  ];
  writeFileSync(join(dir, 'pairs.tsv'), `${lines.join('\n')}\n`);
  const r = tsgpt(['seq2seq', 'train', '--task', 'pairs.tsv', '--out', 'file-run', ...TINY_RUN]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /data: pairs\.tsv: 10 pairs, 9 for training, 1 held out/);
  const e = tsgpt(['seq2seq', 'eval', '--ckpt', 'file-run/ckpt.safetensors', '--json', '--threads', '1']);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout).total, 1);
  writeFileSync(join(dir, 'pairs.tsv'), `${lines.join('\n')}\nbbb\tbbb\n`);
  fails(
    tsgpt(['seq2seq', 'eval', '--ckpt', 'file-run/ckpt.safetensors']),
    1,
    /pairs\.tsv has changed since file-run\/ckpt\.safetensors was trained on it \(sha256 differs\)/,
  );
  const other = tsgpt([
    'seq2seq',
    'eval',
    '--ckpt',
    'file-run/ckpt.safetensors',
    '--data',
    'pairs.tsv',
    '--json',
    '--threads',
    '1',
  ]);
  assert.equal(JSON.parse(other.stdout).total, 11, other.stderr);
});

test('a malformed TSV line: one line with the file, the line number and why; nothing written', () => {
  writeFileSync(join(dir, 'bad.tsv'), 'ab\tba\nabc cba\nca\tac\n');
  fails(
    tsgpt(['seq2seq', 'train', '--task', 'bad.tsv', '--out', 'bad-run', ...TINY_RUN]),
    1,
    /^tsgpt seq2seq: bad\.tsv:2: no tab: each line is source<TAB>target \("abc cba"\)\n$/,
  );
  assert.ok(!existsSync(join(dir, 'bad-run')));
  writeFileSync(join(dir, 'bad2.tsv'), 'ab\tba\n\tcba\n');
  fails(
    tsgpt(['seq2seq', 'train', '--task', 'bad2.tsv', '--out', 'bad-run']),
    1,
    /bad2\.tsv:2: empty source/,
  );
  writeFileSync(join(dir, 'bad3.tsv'), 'ab\tba\naz\tza\n');
  fails(
    tsgpt(['seq2seq', 'eval', '--ckpt', 'run/ckpt.safetensors', '--data', 'bad3.tsv']),
    1,
    /^tsgpt seq2seq: bad3\.tsv source "az": .*"z"/,
  );
});

test('checkpoints of the other kind are refused in one line, both ways; nothing on disk changes', () => {
  const gptBytes = readFileSync(join(dir, 'gpt', 'ckpt.safetensors'));
  const runBytes = readFileSync(join(dir, 'run', 'ckpt.safetensors'));
  for (const sub of ['eval', 'translate'])
    fails(
      tsgpt(
        ['seq2seq', sub, '--ckpt', 'gpt/ckpt.safetensors', '--text', 'ab'].slice(0, sub === 'eval' ? 4 : 6),
      ),
      1,
      /gpt\/ckpt\.safetensors holds a GPT \(arch gpt\), not an encoder-decoder/,
    );
  fails(
    tsgpt(['seq2seq', 'train', '--out', 'gpt', '--resume', ...TINY_RUN]),
    1,
    /gpt\/ckpt\.safetensors holds a GPT \(arch gpt\), not an encoder-decoder/,
  );
  fails(
    tsgpt(['sample', '--ckpt', 'run/ckpt.safetensors']),
    1,
    /run\/ckpt\.safetensors holds an encoder-decoder \(tsgpt seq2seq\), not a model of tsgpt train/,
  );
  fails(tsgpt(['eval', '--ckpt', 'run/ckpt.safetensors']), 1, /holds an encoder-decoder/);
  writeFileSync(join(dir, 'text.txt'), 'abcab cabba\n'.repeat(100));
  fails(tsgpt(['train', '--data', 'text.txt', '--out', 'run', '--resume']), 1, /holds an encoder-decoder/);
  fails(
    tsgpt(['train', '--arch', 'lstm', '--data', 'text.txt', '--out', 'run', '--resume']),
    1,
    /run\/ckpt\.safetensors holds an encoder-decoder/,
  );
  fails(
    tsgpt(['seq2seq', 'train', '--out', 'run', ...TINY_RUN]),
    2,
    /run\/ckpt\.safetensors exists: pass --resume/,
  );
  assert.deepEqual(readFileSync(join(dir, 'gpt', 'ckpt.safetensors')), gptBytes);
  assert.deepEqual(readFileSync(join(dir, 'run', 'ckpt.safetensors')), runBytes);
});

test('usage mistakes and unreadable text: one line each', () => {
  fails(
    tsgpt(['seq2seq', 'train', '--task', 'revrse']),
    2,
    /--task revrse: not a task \(did you mean reverse\?\)/,
  );
  fails(tsgpt(['seq2seq', 'train', '--task', 'missing.tsv']), 1, /data file not found: missing\.tsv/);
  fails(
    tsgpt(['seq2seq', 'train', '--task', 'dates', '--alphabet', 'ab']),
    2,
    /--alphabet is for the copy, reverse and sort tasks, not dates/,
  );
  fails(tsgpt(['seq2seq', 'eval', '--text', 'ab']), 2, /--text is not a flag of tsgpt seq2seq eval/);
  fails(
    tsgpt(['seq2seq', 'translate', '--n-layer', '2']),
    2,
    /--n-layer is not a flag of tsgpt seq2seq translate/,
  );
  fails(tsgpt(['seq2seq', 'trian']), 2, /unknown subcommand "trian"; did you mean train\?/);
  fails(
    tsgpt(['seq2seq', 'train', '--out', 'run', '--resume', '--task', 'sort']),
    2,
    /--resume continues the checkpoint's task: drop --task/,
  );
  fails(
    tsgpt(['seq2seq', 'train', '--n-head', '3', '--out', 'x']),
    1,
    /nHead = 3 does not divide nEmbd = 64/,
  );
  fails(
    tsgpt(['seq2seq', 'train', '--alphabet', 'ab', '--max-len', '2', '--held-out', '5', '--out', 'x']),
    1,
    /5 held out: need 1 to 3/,
  );
  fails(
    tsgpt(['seq2seq', 'translate', '--ckpt', 'run/ckpt.safetensors', '--text', 'abz']),
    1,
    /source "abz": .*"z"/,
  );
  fails(
    tsgpt(['seq2seq', 'translate', '--ckpt', 'run/ckpt.safetensors', '--text', 'abcab']),
    1,
    /has 5 characters: the model reads at most 4/,
  );
  assert.ok(!existsSync(join(dir, 'x')));
  const help = tsgpt(['seq2seq', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: tsgpt seq2seq \[flags\] SUBCOMMAND/);
});

test('one training at a time in --out; a torn last line of log.jsonl is repaired on resume', () => {
  const args = [
    'seq2seq',
    'train',
    '--task',
    'reverse',
    '--alphabet',
    'abc',
    '--max-len',
    '4',
    '--held-out',
    '20',
  ];
  assert.equal(tsgpt([...args, '--out', 'locked', ...TINY_RUN]).code, 0);
  const ckpt = readFileSync(join(dir, 'locked', 'ckpt.safetensors'));
  // a live process (this test) holds the lock: refused, nothing changes
  writeFileSync(
    join(dir, 'locked', 'train.lock'),
    JSON.stringify({ pid: process.pid, host: hostname(), start: null, since: 'now' }),
  );
  fails(
    tsgpt(['seq2seq', 'train', '--out', 'locked', '--resume', ...TINY, '--max-iters', '6']),
    1,
    /locked is in use by another training \(pid \d+/,
  );
  assert.deepEqual(readFileSync(join(dir, 'locked', 'ckpt.safetensors')), ckpt);
  rmSync(join(dir, 'locked', 'train.lock'));
  // a crash mid-write tore the last line: resume removes it with a warning and goes on
  const logPath = join(dir, 'locked', 'log.jsonl');
  writeFileSync(logPath, `${readFileSync(logPath, 'utf8')}{"type":"step","step":5,"lo`);
  const r = tsgpt([
    'seq2seq',
    'train',
    '--out',
    'locked',
    '--resume',
    ...TINY,
    '--max-iters',
    '6',
    '--eval-interval',
    '2',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: locked\/log\.jsonl: the last line was cut short/m);
  const log = readFileSync(logPath, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  // every line whole, the checkpoint's eval (step 4) once, steps in order
  assert.deepEqual(
    log.filter((e) => e.type === 'eval').map((e) => e.step),
    [0, 2, 4, 6],
  );
  const steps = log.filter((e) => e.type === 'step').map((e) => e.step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
  assert.equal(existsSync(join(dir, 'locked', 'train.lock')), false, 'lock released');
});
