// Faults and hostile input through the built CLI (issue 16): each numbered case of the issue, and
// the further ones of the same families. Every failure is one line on stderr naming the file or
// the value, with a non-zero exit, and the files on disk are compared byte for byte (sha256)
// before and after. A full disk is simulated with /dev/full for standard output and with a file
// size limit (bash's `ulimit -f`: write(2) then writes short and fails with EFBIG, as on a full
// disk) for files; ENOSPC itself is covered by the injected file systems of file-errors.test.ts.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatHelp } from '../src/cli/args.js';
import { COMMANDS } from '../src/cli/main.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsgpt-faults-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}
const ENV = { ...process.env, TSGPT_DEBUG: '' };

/** The CLI in `dir`; `stdout` a file descriptor to write to instead of a pipe. */
function tsgpt(args: readonly string[], o: { stdout?: number; input?: string } = {}): Result {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: ENV,
    ...(o.input === undefined ? {} : { input: o.input }),
    ...(o.stdout === undefined ? {} : { stdio: ['pipe', o.stdout, 'pipe'] }),
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr };
}

const BASH = '/bin/bash';
/** The CLI under a file size limit of `kib` KiB: writes past it fail as on a full disk (EFBIG). */
function tsgptLimited(kib: number, args: readonly string[]): Result {
  const r = spawnSync(BASH, ['-c', `ulimit -f ${kib} && exec "$0" "$@"`, process.execPath, MAIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: ENV,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A training in the background, and its stderr so far. */
function background(args: readonly string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: dir,
    env: ENV,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += String(d);
  });
  return { child, stderr: () => err };
}

async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A failure: the exit code and exactly one line on stderr matching `re`. */
function fails(r: Result, code: number, re: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^[^\n]+\n$/, `one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr.trimEnd(), re);
}

/** A failure after progress lines: the exit code, and the last line of stderr (no stack trace). */
function failsLast(r: Result, code: number, re: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines.at(-1)!, re);
  assert.ok(!/internal error|^\s+at /m.test(r.stderr), `no stack trace: ${r.stderr}`);
}

/** sha256 of every file under `paths` (files or directories), to compare before and after. */
function hashes(...paths: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    const full = join(dir, p);
    if (!existsSync(full)) return;
    try {
      for (const f of readdirSync(full).sort()) walk(join(p, f));
    } catch {
      out[p] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  for (const p of paths) walk(p);
  return out;
}

/** The records of a log.jsonl (every line must be a whole JSON record, the last ending in \n). */
function logOf(run: string): { type: string; step: number; [k: string]: unknown }[] {
  const text = readFileSync(join(dir, run, 'log.jsonl'), 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), `${run}/log.jsonl ends with a whole line`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/** Step records' steps, in file order. */
const stepsOf = (run: string) =>
  logOf(run)
    .filter((r) => r.type === 'step')
    .map((r) => r.step);

// baby's recipe (a GPT-2 model, so `export --format hf` can write it), made tiny
const TINY = [
  '--preset',
  'baby',
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
  '--eval-iters',
  '1',
];
const train = (out: string, ...more: string[]) =>
  tsgpt(['train', '--data', 'data', '--out', out, ...TINY, ...more]);

/** A safetensors file's tensor `name`: where its bytes start in the file, from the header. */
function tensorOffset(bytes: Buffer, name: string): number {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { data_offsets: [number, number] }
  >;
  return 8 + n + header[name]!.data_offsets[0];
}

const deadPid = () =>
  Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
      .stdout,
  );

before(() => {
  writeFileSync(
    join(dir, 'text.txt'),
    'To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\n'.repeat(30),
  );
  assert.equal(tsgpt(['prepare', '--data', 'text.txt', '--out', 'data']).code, 0);
  const r = train('run', '--max-iters', '20', '--eval-interval', '10');
  assert.equal(r.code, 0, r.stderr);
  const w = tsgpt([
    'tokenizer',
    'train',
    '--type',
    'word',
    '--vocab-size',
    '30',
    '--data',
    'text.txt',
    '--out',
    'words.json',
  ]);
  assert.equal(w.code, 0, w.stderr);
});

describe('the issue, case by case', () => {
  test(
    '1. write errors on standard output: one line and exit 1 (a closed pipe stays quiet)',
    {
      skip: existsSync('/dev/full') ? false : 'no /dev/full here',
    },
    async () => {
      const full = openSync('/dev/full', 'w');
      try {
        const line = (cmd: string) =>
          new RegExp(`^tsgpt ${cmd}: cannot write to standard output: no space left on device$`);
        const ck = ['--backend', 'ref', '--ckpt', 'run/ckpt.safetensors'];
        fails(
          tsgpt(['sample', ...ck, '--max-new-tokens', '5', '--num-samples', '3'], { stdout: full }),
          1,
          line('sample'),
        );
        fails(tsgpt(['eval', ...ck, '--data', 'data', '--json'], { stdout: full }), 1, line('eval'));
        fails(
          tsgpt(['tokenizer', 'encode', '--tokenizer', 'word:words.json', '--text', 'To be'], {
            stdout: full,
          }),
          1,
          line('tokenizer'),
        );
      } finally {
        closeSync(full);
      }
      // `tsgpt sample | head -c 1`: the reader goes away; exit 0, nothing said
      const child = spawn(
        process.execPath,
        [
          MAIN,
          'sample',
          '--backend',
          'ref',
          '--ckpt',
          'run/ckpt.safetensors',
          '--max-new-tokens',
          '400',
          '--num-samples',
          '5',
        ],
        { cwd: dir, env: ENV },
      );
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += String(d);
      });
      child.stdout.once('data', () => child.stdout.destroy());
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
      assert.equal(stderr, '');
    },
  );

  test(
    '2. a full disk while appending to log.jsonl: one line naming it, whole lines only, and the run resumes',
    {
      skip: existsSync(BASH) ? false : 'no bash for ulimit',
    },
    () => {
      // 64 KiB: the checkpoint (46 KB) fits, the log outgrows it after some 300 steps
      const r = tsgptLimited(64, [
        'train',
        '--data',
        'data',
        '--out',
        'full',
        ...TINY,
        '--max-iters',
        '2000',
        '--eval-interval',
        '1000',
      ]);
      failsLast(r, 1, /^tsgpt train: cannot write full\/log\.jsonl: file too large/);
      const steps = stepsOf('full'); // parses every line: no half line
      assert.ok(steps.length > 100, `${steps.length} steps logged`);
      assert.deepEqual(
        steps,
        steps.map((_, i) => i + 1),
      );
      const resumed = train('full', '--resume', '--max-iters', '30');
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(
        resumed.stderr,
        new RegExp(`note: full/log\\.jsonl: removed ${steps.length} records from after the checkpoint`),
      );
      assert.deepEqual(
        stepsOf('full'),
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
    },
  );

  test('3. a torn last line in log.jsonl: resume warns, repairs it, and continues exactly as an uninterrupted run', () => {
    assert.equal(train('straight', '--max-iters', '20', '--eval-interval', '10').code, 0);
    assert.equal(train('crashed', '--max-iters', '10', '--eval-interval', '10').code, 0);
    // what a crash after step 14 leaves: steps 11-14 past the checkpoint (at 10), then half a line
    const later = readFileSync(join(dir, 'straight', 'log.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => /"type":"step","step":1[1-4],/.test(l));
    writeFileSync(
      join(dir, 'crashed', 'log.jsonl'),
      `${readFileSync(join(dir, 'crashed', 'log.jsonl'), 'utf8')}${later.join('\n')}\n{"type":"step","step":15,"lo`,
    );
    const r = train('crashed', '--resume', '--max-iters', '20');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^warning: crashed\/log\.jsonl: the last line was cut short \(a crash or a full disk\); removed it$/m,
    );
    assert.match(r.stderr, /^note: crashed\/log\.jsonl: removed 4 records from after the checkpoint/m);
    // exact resume: the same checkpoint, byte for byte, and the same records (but timings and resumes)
    assert.deepEqual(
      readFileSync(join(dir, 'crashed', 'ckpt.safetensors')),
      readFileSync(join(dir, 'straight', 'ckpt.safetensors')),
    );
    const strip = (run: string) =>
      logOf(run)
        .filter((x) => x.type !== 'config')
        .map(({ time, ms, tokensPerSec, ...rest }) => rest);
    assert.deepEqual(strip('crashed'), strip('straight'));
  });

  test('4. import hf and prepare do not replace what is there without --force', () => {
    assert.equal(tsgpt(['export', '--ckpt', 'run/ckpt.safetensors', '--format', 'hf', 'hf']).code, 0);
    writeFileSync(join(dir, 'mine.safetensors'), 'my precious checkpoint');
    const before = hashes('mine.safetensors', 'data');
    fails(
      tsgpt(['import', 'hf', 'hf', '--out', 'mine.safetensors']),
      2,
      /^tsgpt import: mine\.safetensors exists: pass --force to replace it, or another --out$/,
    );
    fails(
      tsgpt(['prepare', '--data', 'text.txt', '--tokenizer', 'word:words.json', '--out', 'data']),
      2,
      /^tsgpt prepare: data already holds a prepared dataset \(train\.bin, val\.bin, meta\.json\): pass --force to replace it, or another --out$/,
    );
    assert.deepEqual(hashes('mine.safetensors', 'data'), before);
    const forced = tsgpt(['import', 'hf', 'hf', '--out', 'mine.safetensors', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(
      tsgpt(['sample', '--backend', 'ref', '--ckpt', 'mine.safetensors', '--max-new-tokens', '3']).code === 0,
    );
  });

  test('5. non-finite weights (NaN, Infinity, flipped exponent bits) are refused at load, naming the file and the tensor', () => {
    const good = readFileSync(join(dir, 'run', 'ckpt.safetensors'));
    const at = tensorOffset(good, 'transformer.h.0.attn.c_attn.weight');
    const variants: [string, (b: Buffer) => void, string][] = [
      ['nan', (b) => b.writeFloatLE(Number.NaN, at + 4 * 5), 'NaN \\(element 5\\)'],
      ['inf', (b) => b.writeFloatLE(Number.NEGATIVE_INFINITY, at), '-Infinity \\(element 0\\)'],
      [
        'bits',
        (b) => b.writeUInt32LE((b.readUInt32LE(at + 8) | 0x7f800000) >>> 0, at + 8),
        '(NaN|-?Infinity) \\(element 2\\)',
      ],
    ];
    for (const [name, damage, what] of variants) {
      const bytes = Buffer.from(good);
      damage(bytes);
      writeFileSync(join(dir, `${name}.safetensors`), bytes);
      const re = new RegExp(
        `^tsgpt \\w+: ${name}\\.safetensors: tensor transformer\\.h\\.0\\.attn\\.c_attn\\.weight holds ${what}: the file is damaged or its run diverged; weights must be finite$`,
      );
      const cmd = name === 'inf' ? ['eval', '--data', 'data'] : ['sample'];
      fails(tsgpt([...cmd, '--backend', 'ref', '--ckpt', `${name}.safetensors`]), 1, re);
    }
    fails(
      train('nan-ft', '--init-from', 'nan.safetensors'),
      1,
      /nan\.safetensors: tensor transformer\.h\.0\.attn\.c_attn\.weight holds NaN/,
    );
    assert.equal(existsSync(join(dir, 'nan-ft')), false, 'nothing created');
    // an imported weight file too
    cpSync(join(dir, 'hf'), join(dir, 'hf-nan'), { recursive: true });
    const st = readFileSync(join(dir, 'hf-nan', 'model.safetensors'));
    st.writeFloatLE(Number.POSITIVE_INFINITY, tensorOffset(st, 'transformer.wte.weight'));
    writeFileSync(join(dir, 'hf-nan', 'model.safetensors'), st);
    fails(
      tsgpt(['import', 'hf', 'hf-nan', '--out', 'never.safetensors']),
      1,
      /hf-nan\/model\.safetensors: tensor transformer\.wte\.weight holds Infinity \(element 0\)/,
    );
    assert.equal(existsSync(join(dir, 'never.safetensors')), false);
  });

  test('6. too little text: eval says what it needs; empty text encodes to no tokens from --text, --data and stdin alike', () => {
    writeFileSync(join(dir, 'one.txt'), 'T');
    writeFileSync(join(dir, 'empty.txt'), '');
    fails(
      tsgpt(['eval', '--backend', 'ref', '--ckpt', 'run/ckpt.safetensors', '--text', 'one.txt']),
      1,
      /^tsgpt eval: one\.txt: 1 token is too few for blockSize 16: evaluation reads windows of 17 tokens \(the context \+ the next token\); give more text$/,
    );
    fails(
      tsgpt(['eval', '--backend', 'ref', '--ckpt', 'run/ckpt.safetensors', '--text', 'empty.txt']),
      1,
      /^tsgpt eval: data file is empty: empty\.txt$/,
    );
    const enc = ['tokenizer', 'encode', '--tokenizer', 'word:words.json'];
    const runs: [Result, string][] = [
      [tsgpt([...enc, '--data', 'empty.txt']), '\n'],
      [tsgpt([...enc, '--text', '']), '\n'],
      [tsgpt(enc, { input: '' }), '\n'],
      [tsgpt([...enc, '--json', '--data', 'empty.txt']), '[]\n'],
    ];
    for (const [r, want] of runs) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, want);
      assert.equal(r.stderr, '');
    }
  });

  test(
    '7. filesystem errors: one line naming the file and the reason in words',
    {
      skip: existsSync(BASH) ? false : 'no bash for ulimit',
    },
    () => {
      const before = hashes('text.txt', 'run');
      fails(train('text.txt'), 1, /^tsgpt train: cannot use text\.txt as a directory: it is a file$/);
      fails(
        train('text.txt/run'),
        1,
        /^tsgpt train: cannot create directory text\.txt\/run: text\.txt is a file, not a directory$/,
      );
      fails(
        tsgpt(['prepare', '--data', 'text.txt', '--out', 'text.txt']),
        1,
        /^tsgpt prepare: cannot use text\.txt as a directory: it is a file$/,
      );
      fails(
        tsgpt(['export', '--ckpt', 'run/ckpt.safetensors', '--format', 'hf', 'text.txt']),
        1,
        /^tsgpt export: cannot use text\.txt as a directory: it is a file$/,
      );
      fails(
        tsgpt([
          'tokenizer',
          'train',
          '--type',
          'word',
          '--vocab-size',
          '9',
          '--data',
          'text.txt',
          '--out',
          'text.txt/t.json',
        ]),
        1,
        /^tsgpt tokenizer: cannot use text\.txt as a directory: it is a file$/,
      );
      fails(
        tsgpt(['import', 'hf', 'hf', '--out', 'text.txt/x.safetensors']),
        1,
        /^tsgpt import: cannot use text\.txt as a directory: it is a file$/,
      );
      // a full disk while the checkpoint is written (resuming: the old one must survive)
      cpSync(join(dir, 'run'), join(dir, 'run-full'), { recursive: true });
      const ckpt = hashes('run-full/ckpt.safetensors', 'run-full/loss.svg');
      failsLast(
        tsgptLimited(16, [
          'train',
          '--data',
          'data',
          '--out',
          'run-full',
          '--resume',
          '--max-iters',
          '30',
          '--backend',
          'ref',
        ]),
        1,
        /^tsgpt train: cannot write run-full\/ckpt\.safetensors: file too large/,
      );
      assert.deepEqual(hashes('run-full/ckpt.safetensors', 'run-full/loss.svg'), ckpt);
      assert.deepEqual(
        readdirSync(join(dir, 'run-full')).sort(),
        ['ckpt.safetensors', 'log.jsonl', 'loss.svg'],
        'no temp file, no lock left',
      );
      logOf('run-full');
      // and while an export is written over an old one (--force): the old export survives whole
      assert.equal(
        tsgpt(['export', '--ckpt', 'run/ckpt.safetensors', '--format', 'nanogpt', 'nano']).code,
        0,
      );
      writeFileSync(join(dir, 'nano', 'config.json'), '{"old": true}\n');
      const old = hashes('nano');
      fails(
        tsgptLimited(16, [
          'export',
          '--ckpt',
          'run/ckpt.safetensors',
          '--format',
          'nanogpt',
          'nano',
          '--force',
        ]),
        1,
        /^tsgpt export: cannot write nano\/model\.safetensors: file too large/,
      );
      assert.deepEqual(hashes('nano'), old);
      assert.deepEqual(hashes('text.txt', 'run'), before);
    },
  );

  test(
    '7b. an unwritable directory: permission denied, named',
    {
      skip:
        process.getuid?.() === 0
          ? 'root writes anywhere: covered by file-errors.test.ts (EACCES injected)'
          : false,
    },
    () => {
      mkdirSync(join(dir, 'locked-dir'), { mode: 0o555 });
      fails(
        train('locked-dir/run'),
        1,
        /^tsgpt train: cannot create directory locked-dir\/run: permission denied$/,
      );
      fails(
        tsgpt(['prepare', '--data', 'text.txt', '--out', 'locked-dir']),
        1,
        /^tsgpt prepare: cannot write locked-dir: permission denied$/,
      );
    },
  );

  test('8. two trainings into one --out: the second is refused, naming the lock and the pid; SIGTERM stops the first with a checkpoint', async () => {
    const a = background([
      'train',
      '--data',
      'data',
      '--out',
      'busy',
      ...TINY,
      '--max-iters',
      '1000000',
      '--eval-interval',
      '50',
    ]);
    try {
      await waitFor(() => existsSync(join(dir, 'busy', 'ckpt.safetensors')), 'the first checkpoint');
      const refused = new RegExp(
        `^tsgpt train: busy is in use by another training \\(pid ${a.child.pid}, since [^;]+; lock file busy/train\\.lock\\): wait for it to finish, or use another --out$`,
      );
      fails(train('busy', '--resume'), 1, refused);
      fails(train('busy', '--force'), 1, refused);
      fails(
        tsgpt([
          'train',
          '--data',
          'data',
          '--out',
          'busy',
          '--resume',
          '--backend',
          'ref',
          '--max-iters',
          '2000000',
        ]),
        1,
        refused,
      );
      assert.ok(existsSync(join(dir, 'busy', 'train.lock')));
    } finally {
      a.child.kill('SIGTERM');
    }
    const [code] = await once(a.child, 'exit');
    assert.equal(code, 143, a.stderr());
    assert.match(a.stderr(), /tsgpt: SIGTERM: stopping at the next safe point/);
    const stopped = /stopped at step (\d+); checkpoint saved/.exec(a.stderr());
    assert.ok(stopped, a.stderr());
    assert.equal(existsSync(join(dir, 'busy', 'train.lock')), false, 'lock released');
    const steps = stepsOf('busy');
    assert.equal(steps.at(-1), Number(stopped[1]));
    // a lock left by a training that was killed is taken over
    writeFileSync(
      join(dir, 'busy', 'train.lock'),
      JSON.stringify({ pid: deadPid(), host: hostname(), start: null, since: 'then' }),
    );
    const r = train('busy', '--resume', '--max-iters', String(Number(stopped[1]) + 3));
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^note: busy\/train\.lock was left by a training that no longer runs \(pid \d+\); took it over$/m,
    );
  });

  test('9. kill -9 mid-run: the next run removes the temp files left, repairs the log, and resumes', async () => {
    const k = background([
      'train',
      '--data',
      'data',
      '--out',
      'killed',
      ...TINY,
      '--max-iters',
      '1000000',
      '--eval-interval',
      '40',
    ]);
    const logged = () =>
      existsSync(join(dir, 'killed', 'log.jsonl'))
        ? readFileSync(join(dir, 'killed', 'log.jsonl'), 'utf8').split('\n').length
        : 0;
    await waitFor(() => logged() > 60 || k.child.exitCode !== null, 'some steps');
    k.child.kill('SIGKILL');
    await once(k.child, 'exit');
    // what a kill during a checkpoint write leaves (timing a real one is not reproducible)
    const pid = deadPid();
    writeFileSync(join(dir, 'killed', `.ckpt.safetensors.tmp-${pid}-0123abcd`), 'half a checkpoint');
    writeFileSync(join(dir, 'killed', `.loss.svg.tmp-${pid}-89abcdef`), '<svg');
    // these two, and one more where the kill itself landed during a checkpoint write
    const temps = readdirSync(join(dir, 'killed')).filter((f) => f.includes('.tmp-')).length;
    const r = train('killed', '--resume', '--max-iters', '100');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^note: killed\/train\.lock was left by a training that no longer runs/m);
    assert.ok(temps >= 2);
    assert.match(
      r.stderr,
      new RegExp(`^note: removed ${temps} temp files that a killed run left in killed/$`, 'm'),
    );
    assert.deepEqual(readdirSync(join(dir, 'killed')).sort(), ['ckpt.safetensors', 'log.jsonl', 'loss.svg']);
    assert.deepEqual(
      stepsOf('killed'),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
  });

  test('10. log.jsonl step records are in order', () => {
    assert.equal(train('ordered', '--max-iters', '300', '--eval-interval', '100').code, 0);
    assert.deepEqual(
      stepsOf('ordered'),
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      logOf('ordered')
        .filter((x) => x.type === 'eval')
        .map((x) => x.step),
      [0, 100, 200, 300],
    );
  });

  test('11. resume with --max-iters at or below the checkpoint step: refused, nothing written', () => {
    const before = hashes('run');
    fails(
      train('run', '--resume', '--max-iters', '5'),
      1,
      /^tsgpt train: resume from run\/ckpt\.safetensors: the checkpoint is already at step 20 and maxIters is 5, so there is nothing to train: set maxIters above 20$/,
    );
    fails(
      tsgpt(['train', '--data', 'data', '--out', 'run', '--resume', '--backend', 'ref']),
      1,
      /already at step 20 and maxIters is 20/,
    );
    assert.deepEqual(hashes('run'), before);
  });

  test('12. --resume --force: refused as contradictory, nothing written', () => {
    const before = hashes('run');
    fails(
      train('run', '--resume', '--force'),
      2,
      /^tsgpt train: --resume and --force exclude each other: --resume continues the checkpoint in --out, --force starts over and replaces it$/,
    );
    assert.deepEqual(hashes('run'), before);
  });
});

describe('further cases of the same families', () => {
  test('Ctrl-C: train stops with a checkpoint and exit 130, lock released; prepare killed mid-way leaves a whole dataset', async () => {
    const t = background([
      'train',
      '--data',
      'data',
      '--out',
      'ctrlc',
      ...TINY,
      '--max-iters',
      '1000000',
      '--eval-interval',
      '30',
    ]);
    // a step after the first checkpoint (on a busy machine the signal could otherwise land at step 0)
    await waitFor(
      () =>
        existsSync(join(dir, 'ctrlc', 'ckpt.safetensors')) &&
        readFileSync(join(dir, 'ctrlc', 'log.jsonl'), 'utf8').includes('"type":"step"'),
      'the first checkpoint and a step',
    );
    t.child.kill('SIGINT');
    const [code] = await once(t.child, 'exit');
    assert.equal(code, 130, t.stderr());
    const at = Number(/stopped at step (\d+); checkpoint saved/.exec(t.stderr())?.[1]);
    assert.ok(at > 0, t.stderr());
    assert.deepEqual(readdirSync(join(dir, 'ctrlc')).sort(), ['ckpt.safetensors', 'log.jsonl', 'loss.svg']);
    assert.equal(stepsOf('ctrlc').at(-1), at);
    // prepare has no handler: Ctrl-C kills it wherever it is; the dataset is the old one or the new one, whole
    cpSync(join(dir, 'data'), join(dir, 'data-int'), { recursive: true });
    const old = hashes('data-int');
    const prep = spawn(process.execPath, [MAIN, 'prepare', '--out', 'data-int', '--force'], {
      cwd: dir,
      env: ENV,
      stdio: 'ignore',
    });
    const exited = once(prep, 'exit'); // listening first: on a quiet machine prepare can finish before the signal
    await new Promise((r) => setTimeout(r, 400));
    prep.kill('SIGINT');
    await exited;
    // a kill while the temp files are written leaves them beside the old dataset: not part of it
    const now = Object.fromEntries(Object.entries(hashes('data-int')).filter(([f]) => !/\.tmp-/.test(f)));
    const files = Object.keys(now);
    assert.deepEqual(files.sort(), ['data-int/meta.json', 'data-int/train.bin', 'data-int/val.bin']);
    if (JSON.stringify(now) !== JSON.stringify(old)) {
      const meta = JSON.parse(readFileSync(join(dir, 'data-int', 'meta.json'), 'utf8'));
      assert.equal(meta.source.endsWith('tinyshakespeare.txt'), true, 'the new dataset, whole');
      assert.equal(readFileSync(join(dir, 'data-int', 'train.bin')).length, meta.trainTokens * 2);
    }
  });

  test('directories where files are expected, files where directories are, symlink loops', () => {
    mkdirSync(join(dir, 'a-dir'), { recursive: true });
    symlinkSync('loop.safetensors', join(dir, 'loop.safetensors'));
    const before = hashes('run', 'text.txt');
    fails(train('x', '--config', 'a-dir'), 1, /^tsgpt train: cannot read a-dir: it is a directory$/);
    fails(
      tsgpt(['sample', '--backend', 'ref', '--ckpt', 'a-dir']),
      1,
      /^tsgpt sample: checkpoint path is a directory: a-dir$/,
    );
    fails(train('x', '--init-from', 'a-dir'), 1, /^tsgpt train: checkpoint path is a directory: a-dir$/);
    fails(
      tsgpt(['eval', '--backend', 'ref', '--ckpt', 'run/ckpt.safetensors', '--text', 'a-dir']),
      1,
      /^tsgpt eval: data path is a directory, not a file: a-dir$/,
    );
    fails(
      tsgpt(['prepare', '--data', 'text.txt', '--tokenizer', 'word:a-dir', '--out', 'x']),
      1,
      /^tsgpt prepare: tokenizer file is a directory: a-dir$/,
    );
    fails(
      tsgpt(['import', 'hf', 'text.txt', '--out', 'x.safetensors']),
      1,
      /^tsgpt import: text\.txt is not a directory: give the checkpoint's directory$/,
    );
    fails(
      tsgpt(['import', 'hf', 'hf', '--out', 'a-dir']),
      2,
      /^tsgpt import: --out a-dir is a directory; give a file name$/,
    );
    fails(tsgptStdinDir(), 1, /^tsgpt tokenizer: cannot read standard input: it is a directory$/);
    if (existsSync('/dev/zero')) {
      // a device never ends: refused before reading, not read until memory runs out
      fails(
        tsgpt(['sample', '--backend', 'ref', '--ckpt', '/dev/zero']),
        1,
        /^tsgpt sample: cannot read \/dev\/zero: it is not a regular file \(a device or a socket\?\)$/,
      );
      fails(
        tsgpt(['prepare', '--data', '/dev/zero', '--out', 'x']),
        1,
        /^tsgpt prepare: cannot read \/dev\/zero: it is not a regular file/,
      );
      fails(
        tsgpt(['import', 'hf', 'hf', '--out', '/dev/null', '--force']),
        1,
        /^tsgpt import: cannot write \/dev\/null: it is not a regular file \(a device or a pipe\?\)$/,
      );
    }
    fails(
      tsgpt(['sample', '--backend', 'ref', '--ckpt', 'loop.safetensors']),
      1,
      /^tsgpt sample: cannot read loop\.safetensors: too many levels of symbolic links/,
    );
    fails(
      tsgpt(['train', '--data', 'data', '--out', '']),
      2,
      /^tsgpt train: --out needs a path \(DIR\), got an empty one/,
    );
    assert.equal(existsSync(join(dir, 'x')), false, 'nothing created');
    assert.deepEqual(hashes('run', 'text.txt'), before);
  });

  test('log.jsonl: a damaged line inside is refused naming it; a log that is a directory is named; a run without a checkpoint is replaced only with --force', () => {
    cpSync(join(dir, 'run'), join(dir, 'damaged'), { recursive: true });
    const log = readFileSync(join(dir, 'damaged', 'log.jsonl'), 'utf8').split('\n');
    log[3] = 'garbage';
    writeFileSync(join(dir, 'damaged', 'log.jsonl'), log.join('\n'));
    const before = hashes('damaged');
    fails(
      train('damaged', '--resume', '--max-iters', '30'),
      1,
      /^tsgpt train: damaged\/log\.jsonl: line 4 is not a log record \(the log is damaged\): move it away to resume without it$/,
    );
    assert.deepEqual(hashes('damaged'), before);
    rmSync(join(dir, 'damaged', 'log.jsonl'));
    mkdirSync(join(dir, 'damaged', 'log.jsonl'));
    fails(
      train('damaged', '--resume', '--max-iters', '30'),
      1,
      /^tsgpt train: cannot write damaged\/log\.jsonl: it is a directory$/,
    );
    // only a log: a run killed before its first checkpoint
    mkdirSync(join(dir, 'nockpt'));
    writeFileSync(join(dir, 'nockpt', 'log.jsonl'), '{"type":"config","step":0}\n');
    fails(
      train('nockpt', '--max-iters', '2'),
      2,
      /^tsgpt train: nockpt\/log\.jsonl exists \(a run without a checkpoint\): pass --force to start over, or another --out$/,
    );
    const r = train('nockpt', '--max-iters', '2', '--eval-interval', '2', '--force');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      logOf('nockpt').map((x) => `${x.type}${x.step}`),
      ['config0', 'eval0', 'step1', 'step2', 'eval2'],
      '--force starts a new log',
    );
  });

  test('every command that writes an artifact refuses to replace one without --force, and says so in --help', async () => {
    assert.equal(tsgpt(['export', '--ckpt', 'run/ckpt.safetensors', '--format', 'hf', 'exp']).code, 0);
    const before = hashes('exp', 'words.json');
    fails(
      tsgpt(['export', '--ckpt', 'run/ckpt.safetensors', '--format', 'hf', 'exp']),
      2,
      /^tsgpt export: exp already holds an export \(model\.safetensors, config\.json, tsgpt-tokenizer\.json\): pass --force to replace it, or another OUT$/,
    );
    fails(
      tsgpt([
        'tokenizer',
        'train',
        '--type',
        'word',
        '--vocab-size',
        '9',
        '--data',
        'text.txt',
        '--out',
        'words.json',
      ]),
      2,
      /^tsgpt tokenizer: words\.json exists: pass --force to replace it, or another --out$/,
    );
    symlinkSync('nowhere.safetensors', join(dir, 'dangling.safetensors'));
    fails(
      tsgpt(['import', 'hf', 'exp', '--out', 'dangling.safetensors']),
      2,
      /^tsgpt import: dangling\.safetensors exists: pass --force/,
    );
    assert.deepEqual(hashes('exp', 'words.json'), before);
    for (const cmd of ['train', 'prepare', 'export', 'import', 'tokenizer']) {
      const help = formatHelp(await COMMANDS[cmd]!());
      assert.match(help.replace(/\s+/g, ' '), /--\[no-\]force .*never replaced/, `${cmd} --help`);
    }
  });
  test('numbers that are not finite: a flag of nan or inf, a config file with 1e999 (Infinity): refused naming the value, nothing written', () => {
    fails(
      train('nf', '--learning-rate', 'nan'),
      2,
      /^tsgpt train: --learning-rate expects a number, got "nan" \(see tsgpt train --help\)$/,
    );
    fails(
      tsgpt(['sample', '--backend', 'ref', '--ckpt', 'run/ckpt.safetensors', '--temperature', 'inf']),
      2,
      /^tsgpt sample: --temperature expects a number, got "inf"/,
    );
    writeFileSync(join(dir, 'inf.json'), '{"learningRate": 1e999}\n');
    fails(
      train('nf', '--config', 'inf.json'),
      1,
      /^tsgpt train: inf\.json: learningRate = Infinity: must be a finite number$/,
    );
    assert.equal(existsSync(join(dir, 'nf')), false, 'nothing created');
  });
});

/** `tsgpt tokenizer encode` with a directory as standard input. */
function tsgptStdinDir(): Result {
  const fd = openSync(dir, 'r');
  try {
    const r = spawnSync(process.execPath, [MAIN, 'tokenizer', 'encode', '--tokenizer', 'word:words.json'], {
      cwd: dir,
      encoding: 'utf8',
      env: ENV,
      stdio: [fd, 'pipe', 'pipe'],
    });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  } finally {
    closeSync(fd);
  }
}
