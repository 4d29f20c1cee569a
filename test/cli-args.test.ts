// The CLI flag parser (src/cli/args.ts), its help text, and the progress bar (src/cli/progress.ts).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CommandSpec, formatHelp, parseArgs } from '../src/cli/args.js';
import {
  formatDuration,
  formatSI,
  formatStat,
  ProgressBar,
  type ProgressStream,
} from '../src/cli/progress.js';
import { UsageError } from '../src/errors.js';

const spec: CommandSpec = {
  name: 'train',
  summary: 'Train a model',
  flags: [
    { name: 'data', type: 'string', help: 'prepared data dir', metavar: 'DIR' },
    { name: 'lr', type: 'float', default: 1e-3, min: 0, help: 'learning rate' },
    { name: 'max-iters', type: 'int', default: 2000, min: 1, max: 1_000_000, help: 'iterations' },
    { name: 'compile', type: 'bool', default: true, help: 'compile the graph' },
    { name: 'verbose', type: 'bool', help: 'more output' },
    { name: 'device', type: 'string', choices: ['ref', 'wasm'], default: 'ref', help: 'backend' },
    { name: 'offset', type: 'float', help: 'may be negative' },
  ],
  positionals: [{ name: 'out', help: 'output file', optional: true }],
  examples: ['tsgpt train --data data/tinyshakespeare'],
};

/** The UsageError message for argv (fails the test if parsing succeeds). */
function usageError(argv: string[], s: CommandSpec = spec): string {
  try {
    parseArgs(s, argv);
  } catch (e) {
    assert.ok(e instanceof UsageError, `expected UsageError, got ${e}`);
    assert.ok(!e.message.includes('\n'), `message must be one line: ${e.message}`);
    return e.message;
  }
  assert.fail(`expected ${JSON.stringify(argv)} to fail`);
}

describe('parseArgs', () => {
  test('defaults fill in when flags are absent', () => {
    const a = parseArgs(spec, []);
    assert.equal(a.float('lr'), 1e-3);
    assert.equal(a.int('max-iters'), 2000);
    assert.equal(a.bool('compile'), true);
    assert.equal(a.bool('verbose'), false);
    assert.equal(a.string('data'), undefined);
    assert.equal(a.string('device'), 'ref');
    assert.equal(a.has('lr'), false);
    assert.deepEqual(a.positionals, []);
  });

  test('--flag value, --flag=value, --no-flag, positionals, negative numbers', () => {
    const a = parseArgs(spec, [
      '--lr',
      '3e-4',
      '--max-iters=500',
      '--no-compile',
      '--verbose',
      '--offset',
      '-0.5',
      'out.ckpt',
    ]);
    assert.equal(a.float('lr'), 3e-4);
    assert.equal(a.int('max-iters'), 500);
    assert.equal(a.bool('compile'), false);
    assert.equal(a.bool('verbose'), true);
    assert.equal(a.float('offset'), -0.5);
    assert.equal(a.has('lr'), true);
    assert.equal(a.positional('out'), 'out.ckpt');
    assert.equal(parseArgs(spec, ['--compile=false']).bool('compile'), false);
    assert.equal(parseArgs(spec, ['--data=a=b']).string('data'), 'a=b');
    assert.equal(parseArgs(spec, ['--max-iters', '2e3']).int('max-iters'), 2000);
  });

  test('-- ends flags', () => {
    const a = parseArgs({ ...spec, positionals: [{ name: 'files', help: '', variadic: true }] }, [
      '--',
      '--lr',
      '-h',
    ]);
    assert.deepEqual(a.positionals, ['--lr', '-h']);
    assert.equal(a.help, false);
  });

  test('-h and --help win over other errors', () => {
    assert.equal(parseArgs(spec, ['--bogus', '-h']).help, true);
    assert.equal(parseArgs(spec, ['--help']).help, true);
    // a value that happens to be -h is a value, not a request for help
    const a = parseArgs(spec, ['--data', '-h']);
    assert.equal(a.help, false);
    assert.equal(a.string('data'), '-h');
  });

  test('unknown flag: one line naming the flag, a suggestion and the help command', () => {
    assert.equal(
      usageError(['--lrr', '1']),
      'unknown flag --lrr; did you mean --lr? (see tsgpt train --help)',
    );
    assert.equal(usageError(['--zzzzzz']), 'unknown flag --zzzzzz (see tsgpt train --help)');
    assert.match(usageError(['-x']), /unknown flag -x/);
    assert.match(usageError(['--no-lr']), /unknown flag --no-lr/);
  });

  test('missing value', () => {
    assert.match(usageError(['--lr']), /^--lr needs a value/);
    assert.match(
      usageError(['--data', '--lr', '1']),
      /^--data needs a value \(DIR\); for a value that starts with --, write --data=VALUE/,
    );
    assert.equal(parseArgs(spec, ['--data=--odd']).string('data'), '--odd');
  });

  test('bad numbers', () => {
    assert.match(usageError(['--lr', 'abc']), /^--lr expects a number, got "abc"/);
    assert.match(usageError(['--lr', '']), /^--lr expects a number/);
    assert.match(usageError(['--lr', '1e999']), /^--lr expects a number/);
    assert.match(usageError(['--lr', '0x10']), /^--lr expects a number/);
    assert.match(usageError(['--max-iters', '1.5']), /^--max-iters expects an integer, got "1.5"/);
  });

  test('out of range and bad choice', () => {
    assert.match(usageError(['--lr', '-1']), /^--lr must be >= 0, got -1/);
    assert.match(usageError(['--max-iters', '0']), /^--max-iters must be >= 1, got 0/);
    assert.match(usageError(['--max-iters', '2000000']), /^--max-iters must be <= 1000000/);
    assert.match(usageError(['--device', 'gpu']), /^--device must be one of ref\|wasm, got "gpu"/);
  });

  test('bool misuse, duplicates, extra and missing positionals, required flags', () => {
    assert.match(usageError(['--verbose=yes']), /--verbose is a switch/);
    assert.match(usageError(['--no-verbose=1']), /--no-verbose takes no value/);
    assert.match(usageError(['--lr', '1', '--lr', '2']), /--lr given twice/);
    assert.match(usageError(['a', 'b']), /unexpected argument "b"/);
    const req: CommandSpec = {
      name: 'x',
      summary: '',
      flags: [{ name: 'ckpt', type: 'string', required: true, help: '' }],
      positionals: [{ name: 'prompt', help: '' }],
    };
    assert.match(usageError(['p'], req), /^missing required flag --ckpt/);
    assert.match(usageError(['--ckpt', 'c'], req), /^missing argument PROMPT/);
  });

  test('accessors reject undeclared names and wrong types (programming errors)', () => {
    const a = parseArgs(spec, []);
    assert.throws(() => a.float('nope'), /no flag named --nope/);
    assert.throws(() => a.int('lr'), /--lr is a float flag, read as int/);
  });
});

describe('formatHelp', () => {
  test('usage line, description, flags with defaults and ranges, examples', () => {
    const h = formatHelp(spec);
    assert.match(h, /^Usage: tsgpt train \[flags\] \[OUT\]\n/);
    assert.match(h, /Train a model/);
    assert.match(h, /--lr FLOAT\s+learning rate \(default: 0\.001, >= 0\)/);
    assert.match(h, /--max-iters INT\s+iterations \(default: 2000, range 1\.\.1000000\)/);
    assert.match(h, /--\[no-\]compile\s+compile the graph \(default: true\)/);
    assert.match(h, /--device ref\|wasm/);
    const quoted = formatHelp({
      name: 's',
      summary: '',
      flags: [{ name: 'prompt', type: 'string', default: '\n', help: 'p' }],
    });
    assert.match(quoted, /--prompt STRING +p \(default: "\\n"\)\n/);
    assert.match(h, /-h, --help/);
    assert.match(h, /Examples:\n {2}tsgpt train --data data\/tinyshakespeare/);
  });
});

/** A fake terminal/pipe recording what was written. */
function fakeStream(isTTY: boolean): ProgressStream & { out: string } {
  return {
    out: '',
    isTTY,
    write(s: string) {
      this.out += s;
      return true;
    },
  };
}

describe('ProgressBar', () => {
  test('TTY: one line redrawn with \\r, bar, count, stats, rate and ETA', () => {
    let t = 0;
    const s = fakeStream(true);
    const bar = new ProgressBar({ total: 2000, width: 10, stream: s, now: () => t });
    t = 1000;
    bar.update(120, { loss: 2.4123, lr: 9.8e-4, 'tok/s': 7300 });
    assert.equal(s.out, '\r[#.........] 120/2000 loss 2.41 lr 9.8e-4 7.3k tok/s ETA 16s');
    assert.ok(!s.out.includes('\n'));
  });

  test('TTY: redraws at most once per minIntervalMs', () => {
    let t = 0;
    const s = fakeStream(true);
    const bar = new ProgressBar({ total: 100, stream: s, now: () => t, minIntervalMs: 100 });
    for (let i = 1; i < 100; i++) {
      t += 10; // 10 ms per step: 990 ms in all, so about 10 redraws
      bar.update(i);
    }
    const draws = s.out.split('\r').length - 1;
    assert.ok(draws >= 9 && draws <= 11, `expected ~10 redraws, got ${draws}`);
    bar.update(100);
    bar.done();
    assert.ok(s.out.endsWith('\n'));
    assert.match(s.out, /100\/100 in 1s\n$/);
  });

  test('non-TTY: a plain line every 10%, no \\r', () => {
    const s = fakeStream(false);
    const bar = new ProgressBar({ total: 1000, label: 'train', stream: s, now: () => 0 });
    for (let i = 1; i <= 1000; i++) bar.update(i, { loss: 1.5 });
    bar.done();
    assert.ok(!s.out.includes('\r'));
    const lines = s.out.trimEnd().split('\n');
    assert.equal(lines.length, 10); // 10%..90% and the final line
    assert.equal(lines[0], 'train 100/1000 (10%) loss 1.5');
    assert.match(lines[9]!, /^train 1000\/1000 \(100%\) loss 1\.5/);
  });

  test('log() keeps the bar on the last line', () => {
    const s = fakeStream(true);
    const bar = new ProgressBar({ total: 10, width: 4, stream: s, now: () => 0 });
    bar.update(5);
    bar.log('step 5: val loss 2.00');
    assert.match(s.out, /\r +\rstep 5: val loss 2\.00\n\r\[##\.\.\] 5\/10$/);
  });

  test('bytes and unknown totals', () => {
    const s = fakeStream(false);
    const bar = new ProgressBar({ unit: 'bytes', stream: s, now: () => 0 });
    bar.update(1_115_394);
    bar.done();
    assert.equal(s.out, '1.1 MB\n');
  });

  test('number formats', () => {
    assert.equal(formatStat(2.4123), '2.41');
    assert.equal(formatStat(9.8e-4), '9.8e-4');
    assert.equal(formatStat(1e-3), '1e-3');
    assert.equal(formatStat(0.0123), '0.0123');
    assert.equal(formatStat(12), '12');
    assert.equal(formatStat(Number.NaN), 'NaN');
    assert.equal(formatSI(7300), '7.3k');
    assert.equal(formatSI(950), '950');
    assert.equal(formatSI(12), '12');
    assert.equal(formatSI(2_500_000), '2.5M');
    assert.equal(formatDuration(192), '3m12s');
    assert.equal(formatDuration(45), '45s');
    assert.equal(formatDuration(3900), '1h05m');
    assert.equal(formatDuration(Number.POSITIVE_INFINITY), '?');
  });
});

describe('formatError (main.ts)', () => {
  test('typed errors: one line with the command; others: internal error and the debug hint', async () => {
    const { formatError } = await import('../src/cli/main.js');
    const saved = process.env['TSGPT_DEBUG'];
    delete process.env['TSGPT_DEBUG'];
    try {
      assert.equal(formatError(new UsageError('bad flag'), 'train'), 'tsgpt train: bad flag');
      assert.equal(formatError(new UsageError('bad\n  flag')), 'tsgpt: bad flag');
      assert.equal(
        formatError(new TypeError('x is undefined'), 'sample'),
        'tsgpt sample: internal error: TypeError: x is undefined (set TSGPT_DEBUG=1 for a stack trace)',
      );
      process.env['TSGPT_DEBUG'] = '1';
      const debug = formatError(new RangeError('boom'), 'eval');
      assert.match(debug, /^tsgpt eval: internal error: RangeError: boom\nRangeError: boom\n {4}at /);
    } finally {
      if (saved === undefined) delete process.env['TSGPT_DEBUG'];
      else process.env['TSGPT_DEBUG'] = saved;
    }
  });
});
