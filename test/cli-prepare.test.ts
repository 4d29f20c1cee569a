// `tsgpt prepare` end to end: runs the built CLI (dist/src/cli/main.js) in a temp directory and
// checks exit codes, that each failure is one line on stderr, that a failed run leaves an
// existing dataset byte-for-byte intact, and that without --data it prepares the shipped Tiny
// Shakespeare offline. Never touches the network.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPrepared } from '../src/data/node-io.js';
import { CharTokenizer, WordTokenizer } from '../src/tokenizer/index.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // dist/test/ -> the repository
const SHAKESPEARE_SHA256 = '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed';
const TEXT =
  'ROMEO:\nBut, soft! what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n';

let cwd: string;
before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'tsgpt-prepare-'));
  await writeFile(join(cwd, 'romeo.txt'), TEXT);
  await writeFile(
    join(cwd, 'words.json'),
    JSON.stringify(WordTokenizer.train(TEXT, { vocabSize: 20 }).toJSON()),
  );
});
after(async () => {
  await rm(cwd, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function tsgpt(args: string[], env: Record<string, string> = {}, dir = cwd): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { cwd: dir, env: { ...process.env, TSGPT_DEBUG: '', ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A failure: the exit code, nothing on stdout, exactly one line on stderr matching `re`. */
function assertFails(r: Result, code: number, re: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^[^\n]+\n$/, `one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr.trimEnd(), re);
}

/** Every file in a directory with its bytes, to compare before and after a failed run. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const f of (await readdir(dir)).sort()) m.set(f, (await readFile(join(dir, f))).toString('hex'));
  return m;
}

describe('tsgpt prepare', () => {
  test('a small text file: exit 0, summary, loadable files in data/<name>/', async () => {
    const r = await tsgpt(['prepare', '--data', 'romeo.txt']);
    assert.equal(r.code, 0, r.stderr);
    const n = TEXT.length; // ASCII: one token per character
    const nTrain = Math.floor(n * 0.9);
    assert.match(r.stdout, new RegExp(`prepared romeo\\.txt: ${n} characters`));
    assert.match(r.stdout, /tokenizer {2}char, vocab size 32/);
    assert.match(r.stdout, new RegExp(`train {6}${nTrain} tokens \\(uint16\\)`));
    assert.match(r.stdout, new RegExp(`val {8}${n - nTrain} tokens`));
    assert.match(
      r.stderr,
      /^note: the val split has only \d+ tokens; training with blockSize T needs at least T \+ 1/,
    );
    const ds = await loadPrepared(join(cwd, 'data', 'romeo'));
    assert.equal(ds.meta.trainTokens, nTrain);
    assert.equal(ds.meta.valTokens, n - nTrain);
    assert.equal(ds.meta.source, 'romeo.txt');
    assert.deepEqual((await readdir(join(cwd, 'data', 'romeo'))).sort(), [
      'meta.json',
      'train.bin',
      'val.bin',
    ]);
  });

  // the failing runs only read, so they run side by side (each spawn is mostly waiting)
  describe(
    'bad input: one line, non-zero exit, the existing dataset untouched',
    {
      concurrency: true,
    },
    () => {
      const out = () => join(cwd, 'data', 'keep');
      let existing: Map<string, string>;
      const check = async (args: string[], code: number, re: RegExp, env: Record<string, string> = {}) => {
        assertFails(await tsgpt(['prepare', '--out', out(), ...args], env), code, re);
        assert.deepEqual(await snapshot(out()), existing);
      };

      // a good dataset already in --out, which no failed run may touch
      before(async () => {
        await writeFile(join(cwd, 'keep.txt'), TEXT.repeat(2));
        assert.equal((await tsgpt(['prepare', '--data', 'keep.txt', '--out', out()])).code, 0);
        existing = await snapshot(out());
        assert.equal(existing.size, 3);
      });

      test('missing file', async () => {
        await check(['--data', 'nope.txt'], 1, /^tsgpt prepare: data file not found: nope\.txt$/);
      });

      test('empty file', async () => {
        await writeFile(join(cwd, 'empty.txt'), '');
        await check(['--data', 'empty.txt'], 1, /^tsgpt prepare: data file is empty: empty\.txt$/);
      });

      test('binary file', async () => {
        await writeFile(
          join(cwd, 'img.png'),
          new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]),
        );
        await check(
          ['--data', 'img.png'],
          1,
          /^tsgpt prepare: data file is not UTF-8 text: img\.png \(byte 0\)$/,
        );
      });

      test('a directory, and a file too short to split', async () => {
        await check(['--data', '.'], 1, /^tsgpt prepare: data path is a directory, not a file: \.$/);
        await writeFile(join(cwd, 'tiny.txt'), 'abc');
        await check(
          ['--data', 'tiny.txt'],
          1,
          /^tsgpt prepare: data file is too small: tiny\.txt gives 3 tokens/,
        );
      });

      test('unknown flag and bad --tokenizer: exit 2', async () => {
        await check(
          ['--data', 'keep.txt', '--tokenizr', 'char'],
          2,
          /^tsgpt prepare: unknown flag --tokenizr; did you mean --tokenizer\? \(see tsgpt prepare --help\)$/,
        );
        await check(
          ['--data', 'keep.txt', '--tokenizer', 'bytes'],
          2,
          /^tsgpt prepare: --tokenizer must be char, bpe:FILE, word:FILE or gpt2/,
        );
        await check(['--data'], 2, /^tsgpt prepare: --data needs a value \(FILE\)/);
      });

      test('tokenizer files: missing, of another kind, malformed', async () => {
        await check(
          ['--data', 'keep.txt', '--tokenizer', 'bpe:none.json'],
          1,
          /^tsgpt prepare: tokenizer file not found: none\.json$/,
        );
        await check(
          ['--data', 'keep.txt', '--tokenizer', 'bpe:words.json'],
          2,
          /^tsgpt prepare: --tokenizer bpe:words\.json: the file holds a word tokenizer \(use word:words\.json\)$/,
        );
        await writeFile(join(cwd, 'broken.json'), '{"kind": "word",');
        await check(
          ['--data', 'keep.txt', '--tokenizer', 'word:broken.json'],
          1,
          /^tsgpt prepare: broken\.json: tokenizer JSON: not valid JSON/,
        );
      });

      test('--data with --download: exit 2', async () => {
        await check(
          ['--data', 'keep.txt', '--download'],
          2,
          /^tsgpt prepare: --data and --download: give one /,
        );
      });

      test('--download and offline: the download fails with the hint, nothing written', async () => {
        // a port that was free a moment ago: the connection is refused, as when offline
        const probe = createServer().listen(0, '127.0.0.1');
        await once(probe, 'listening');
        const port = (probe.address() as { port: number }).port;
        await new Promise((r) => probe.close(r));
        const r = await tsgpt(['prepare', '--download', '--out', out()], {
          TSGPT_DATA_URL: `http://127.0.0.1:${port}/input.txt`,
        });
        assert.equal(r.code, 1);
        const lines = r.stderr.trimEnd().split('\n');
        assert.match(lines[0]!, /^downloading Tiny Shakespeare from http:\/\/127\.0\.0\.1:/);
        assert.match(
          lines.at(-1)!,
          /^tsgpt prepare: could not download Tiny Shakespeare \(.*\): pass a local copy with --data FILE$/,
        );
        assert.equal(existsSync(join(cwd, 'data', 'tinyshakespeare.txt')), false);
        assert.deepEqual(await snapshot(out()), existing);
      });
    },
  );

  test('no --data: the shipped Tiny Shakespeare, offline, into data/tinyshakespeare', async () => {
    // a download would say so on stderr, and fail: the address is the loopback's discard port
    const offline = { TSGPT_DATA_URL: 'http://127.0.0.1:9/input.txt' };
    const r = await tsgpt(['prepare'], offline);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /download/);
    assert.equal(existsSync(join(cwd, 'data', 'tinyshakespeare.txt')), false, 'nothing downloaded');
    const shipped = join(ROOT, 'assets', 'tinyshakespeare.txt');
    assert.match(
      r.stdout,
      /^prepared .*tinyshakespeare\.txt: 1,115,394 characters, .*, sha256 86c4e6aa9db7…\n/,
    );
    assert.match(r.stdout, /tokenizer {2}char, vocab size 65\n/);
    const ds = await loadPrepared(join(cwd, 'data', 'tinyshakespeare'));
    assert.equal(ds.meta.source, shipped); // outside the working directory: the absolute path
    assert.equal(ds.meta.sha256, SHAKESPEARE_SHA256);
    assert.deepEqual(
      [ds.meta.vocabSize, ds.meta.trainTokens, ds.meta.valTokens, ds.meta.dtype],
      [65, 1_003_854, 111_540, 'uint16'], // 90% of 1,115,394 characters, one token each
    );
    const tok = CharTokenizer.fromJSON(ds.meta.tokenizer);
    assert.equal(tok.decode([...ds.train.subarray(0, 14)]), 'First Citizen:');
    assert.equal(tok.decode([...ds.val.subarray(-6)]), 'king.\n'); // the end of the text
    // from a checkout's root the source is the path inside it
    const out = join(cwd, 'from-root');
    const r2 = await tsgpt(['prepare', '--out', out], offline, ROOT);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal((await loadPrepared(out)).meta.source, join('assets', 'tinyshakespeare.txt'));
  });

  test('--tokenizer word:FILE and gpt2: the ids of that tokenizer, its JSON in meta.json', async () => {
    const w = await tsgpt(['prepare', '--data', 'romeo.txt', '--tokenizer', 'word:words.json', '--out', 'w']);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /tokenizer {2}word, vocab size 20\n/);
    const ds = await loadPrepared(join(cwd, 'w'));
    assert.equal(ds.meta.tokenizer.kind, 'word');
    const ids = WordTokenizer.fromJSON(ds.meta.tokenizer).encode(TEXT);
    assert.deepEqual([...ds.train, ...ds.val], ids);
    const g = await tsgpt(['prepare', '--data', 'romeo.txt', '--tokenizer', 'gpt2', '--out', 'g']);
    assert.equal(g.code, 0, g.stderr);
    const gds = await loadPrepared(join(cwd, 'g'));
    assert.deepEqual(
      [gds.meta.vocabSize, gds.meta.dtype, gds.meta.tokenizer.kind],
      [50257, 'uint16', 'gpt2'],
    );
    assert.deepEqual([...gds.train.subarray(0, 3)], [33676, 4720, 25]); // "ROM" "EO" ":" (tiktoken gpt2)
  });

  test('an existing dataset: the same one again changes nothing; another is refused without --force, replaced with it', async () => {
    const out = join(cwd, 'data', 'replace');
    assert.equal((await tsgpt(['prepare', '--data', 'romeo.txt', '--out', out])).code, 0);
    const first = await snapshot(out);
    const again = await tsgpt(['prepare', '--data', 'romeo.txt', '--out', out]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already holds this dataset \(same text, same tokenizer\): nothing written/);
    assert.deepEqual(await snapshot(out), first);
    await writeFile(join(cwd, 'juliet.txt'), TEXT.toUpperCase());
    assertFails(
      await tsgpt(['prepare', '--data', 'juliet.txt', '--out', out]),
      2,
      /^tsgpt prepare: .*replace already holds a prepared dataset \(train\.bin, val\.bin, meta\.json\): pass --force to replace it, or another --out$/,
    );
    assertFails(
      await tsgpt(['prepare', '--data', 'romeo.txt', '--tokenizer', 'word:words.json', '--out', out]),
      2,
      /already holds a prepared dataset/,
    );
    assert.deepEqual(await snapshot(out), first, 'refused: nothing changed');
    const r = await tsgpt(['prepare', '--data', 'juliet.txt', '--out', out, '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.notDeepEqual(await snapshot(out), first);
    assert.equal((await loadPrepared(out)).meta.source, 'juliet.txt');
    assert.deepEqual((await readdir(out)).sort(), ['meta.json', 'train.bin', 'val.bin']);
  });
});

describe('tsgpt main', { concurrency: true }, () => {
  test('--help lists the commands, --version prints it', async () => {
    const h = await tsgpt(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /Usage: tsgpt <command> \[flags\]/);
    assert.match(h.stdout, /^ {2}prepare +Tokenize/m);
    const v = await tsgpt(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^tsgpt \d+\.\d+\.\d+\n$/);
  });

  test('prepare --help and help prepare', async () => {
    for (const args of [
      ['prepare', '--help'],
      ['help', 'prepare'],
      ['prepare', '--bogus', '-h'],
    ]) {
      const r = await tsgpt(args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Usage: tsgpt prepare \[flags\]/);
      assert.match(r.stdout, /--tokenizer SPEC/);
    }
  });

  test('unknown command or top-level flag: exit 2, one line; no command: help on stderr, exit 2', async () => {
    assertFails(
      await tsgpt(['prepar']),
      2,
      /^tsgpt: unknown command "prepar"; did you mean prepare\? \(commands: prepare, /,
    );
    assertFails(await tsgpt(['--frobnicate']), 2, /^tsgpt: unknown flag --frobnicate/);
    const r = await tsgpt([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: tsgpt <command>/);
  });
});
