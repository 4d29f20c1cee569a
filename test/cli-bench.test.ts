// `tsgpt bench` as a command, without measuring anything: the CLI passes its flags on to the
// benchmark program (dist/bench/main.js) unchanged, and the program's usage errors come back as
// the CLI's one line and exit code 2. The benchmark itself is never run as a test.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../src/cli/args.js';
import * as bench from '../src/cli/commands/bench.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const tsgpt = (...args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, 'bench', ...args], {
    encoding: 'utf8',
    env: { ...process.env, TSGPT_DEBUG: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

test('bench: the flags given, and only those, pass to the program as they were parsed', () => {
  const given = ['--quick', '--no-torch', '--only', 'matmul,train', '--iters', '3', '--text', 'a b=c.txt'];
  const args = parseArgs(bench, given);
  const argv = bench.argvOf(args);
  assert.deepEqual(argv, ['--quick', '--only=matmul,train', '--iters=3', '--text=a b=c.txt', '--no-torch']);
  const sorted = (a: typeof args) => a.entries().sort(([x], [y]) => x.localeCompare(y));
  assert.deepEqual(sorted(parseArgs(bench, argv)), sorted(args));
  assert.deepEqual(bench.argvOf(parseArgs(bench, [])), []);
});

test('bench --help: the command line of the program', () => {
  const r = tsgpt('--help');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: tsgpt bench \[flags\]/);
  assert.match(
    r.stdout,
    /--text FILE +training text, .*\(default: Tiny Shakespeare, assets\/tinyshakespeare\.txt\)/,
  );
});

test("bench: the program's usage errors are one line and exit 2, as the CLI's", () => {
  const fails = (r: ReturnType<typeof tsgpt>, re: RegExp) => {
    assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^[^\n]+\n$/, `one line on stderr, got ${JSON.stringify(r.stderr)}`);
    assert.match(r.stderr, re);
  };
  // checked by the program (bench/main.ts), after the CLI has passed the flags on
  fails(
    tsgpt('--only', 'train,foo'),
    /^tsgpt bench: --only: unknown "foo" \(choose from train, busy, matmul/,
  );
  fails(tsgpt('--presets', 'baby,huge'), /^tsgpt bench: --presets: unknown "huge"/);
  fails(tsgpt('--quick', '--text', 'no-such-file.txt'), /^tsgpt bench: text not found: no-such-file\.txt/);
  fails(tsgpt('--ckpt', 'no-such.safetensors'), /^tsgpt bench: --ckpt: not found: no-such\.safetensors\n$/);
  // checked by the CLI before the program starts
  fails(tsgpt('--iters', '0'), /^tsgpt bench: --iters must be >= 1, got 0/);
});
