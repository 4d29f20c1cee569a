// The data pipeline: text validation, dataset format (split, token files, meta), loading with its
// consistency checks, batching, the Tiny Shakespeare download (against a local server only:
// tests never touch the network) and atomic writes.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkTokenCount, fillBatch, getBatch, minTokens } from '../src/data/batch.js';
import {
  decodeTokens,
  dtypeFor,
  encodeTokens,
  parseMeta,
  prepareDataset,
  type TokenArray,
} from '../src/data/dataset.js';
import {
  defaultOutDir,
  downloadTinyShakespeare,
  loadPrepared,
  readTextFile,
  sha256Hex,
  writePrepared,
} from '../src/data/node-io.js';
import { decodeText, findInvalidUtf8 } from '../src/data/text.js';
import { DataError, ShapeError } from '../src/errors.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import type { Tokenizer, TokenizerJSON } from '../src/tokenizer/tokenizer.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { Rng } from '../src/util/rng.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsgpt-data-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SOURCE = { path: 'mem.txt', sha256: '' };
const TEXT = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n';

/** Asserts that `fn` rejects with a DataError whose one-line message matches `re`. */
async function rejectsData(fn: () => Promise<unknown> | unknown, re: RegExp): Promise<void> {
  await assert.rejects(
    async () => fn(),
    (e: unknown) => {
      assert.ok(e instanceof DataError, `expected DataError, got ${e}`);
      assert.match(e.message, re);
      assert.ok(!e.message.includes('\n'));
      return true;
    },
  );
}

describe('text validation', () => {
  test('findInvalidUtf8 agrees with a fatal TextDecoder on random and edge-case bytes', () => {
    const rng = new Rng(7);
    const cases: number[][] = [
      [0x68, 0x69],
      [0xe2, 0x82, 0xac], // €
      [0xf0, 0x9f, 0x98, 0x80], // 😀
      [0xc0, 0x80], // overlong NUL
      [0xe0, 0x80, 0x80], // overlong
      [0xed, 0xa0, 0x80], // surrogate D800
      [0xf4, 0x90, 0x80, 0x80], // > U+10FFFF
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0x80],
      [0xe2, 0x82], // truncated
    ];
    for (let k = 0; k < 2000; k++) {
      const len = 1 + rng.int(6);
      // bias towards the interesting high bytes
      cases.push(
        Array.from({ length: len }, () => (rng.int(4) === 0 ? 1 + rng.int(127) : 0x80 + rng.int(128))),
      );
    }
    const strict = new TextDecoder('utf-8', { fatal: true });
    for (const c of cases) {
      const bytes = new Uint8Array(c);
      let valid = true;
      try {
        strict.decode(bytes);
      } catch {
        valid = false;
      }
      assert.equal(findInvalidUtf8(bytes) < 0, valid, `bytes ${c.map((b) => b.toString(16)).join(' ')}`);
    }
  });

  test('reports the offset of the first bad byte; NUL counts as binary', () => {
    assert.equal(findInvalidUtf8(new TextEncoder().encode('héllo')), -1);
    assert.equal(findInvalidUtf8(new Uint8Array([0x61, 0x62, 0xff, 0x63])), 2);
    assert.equal(findInvalidUtf8(new Uint8Array([0x61, 0xe2, 0x41])), 1); // bad continuation: its lead byte
    assert.equal(findInvalidUtf8(new Uint8Array([0x61, 0x62, 0x63, 0])), 3);
  });

  test('decodeText: empty, BOM only, and a BOM is dropped', () => {
    assert.throws(() => decodeText(new Uint8Array(0), 'a.txt'), /^DataError: data file is empty: a\.txt$/);
    assert.throws(
      () => decodeText(new Uint8Array([0xef, 0xbb, 0xbf]), 'b.txt'),
      /data file is empty: b\.txt/,
    );
    assert.equal(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]), 'c.txt'), 'hi');
  });

  test('readTextFile: missing, directory, empty, binary, invalid UTF-8, good', async () => {
    await rejectsData(() => readTextFile(join(dir, 'nope.txt')), /^data file not found: .*nope\.txt$/);
    await rejectsData(() => readTextFile(dir), /^data path is a directory, not a file: /);
    const empty = join(dir, 'empty.txt');
    await writeFile(empty, '');
    await rejectsData(() => readTextFile(empty), /^data file is empty: .*empty\.txt$/);
    const bin = join(dir, 'model.bin');
    await writeFile(bin, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]));
    await rejectsData(() => readTextFile(bin), /^data file is not UTF-8 text: .*model\.bin \(byte 7\)$/);
    const latin1 = join(dir, 'latin1.txt');
    await writeFile(latin1, new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    await rejectsData(() => readTextFile(latin1), /not UTF-8 text: .*latin1\.txt \(byte 3\)$/);
    const good = join(dir, 'good.txt');
    await writeFile(good, TEXT);
    const f = await readTextFile(good);
    assert.equal(f.text, TEXT);
    assert.equal(f.bytes, Buffer.byteLength(TEXT));
    assert.equal(f.sha256, sha256Hex(new TextEncoder().encode(TEXT)));
  });
});

/** A tokenizer with a vocabulary too big for uint16: id = code point + 70000 - 97 for a..z. */
class BigVocabTokenizer implements Tokenizer {
  readonly kind = 'word' as const;
  readonly vocabSize = 70_100;
  encode(text: string): number[] {
    return Array.from(text, (c) => 70_000 + (c.charCodeAt(0) - 97));
  }
  decode(ids: readonly number[]): string {
    return ids.map((i) => String.fromCharCode(i - 70_000 + 97)).join('');
  }
  toJSON(): TokenizerJSON {
    return { kind: 'word', version: 1 };
  }
}

describe('dataset format', () => {
  test('prepareDataset: first 90% train, the rest val, meta filled in', () => {
    const tok = CharTokenizer.fromText(TEXT);
    const ds = prepareDataset(TEXT, tok, { path: 'x.txt', sha256: 'a'.repeat(64) });
    const n = TEXT.length;
    assert.equal(ds.meta.trainTokens, Math.floor(n * 0.9));
    assert.equal(ds.meta.valTokens, n - Math.floor(n * 0.9));
    assert.equal(ds.meta.dtype, 'uint16');
    assert.equal(ds.meta.vocabSize, tok.vocabSize);
    assert.deepEqual(ds.meta.tokenizer, tok.toJSON());
    assert.equal(ds.meta.source, 'x.txt');
    assert.ok(ds.train instanceof Uint16Array);
    assert.equal(tok.decode([...ds.train]) + tok.decode([...ds.val]), TEXT);
  });

  test('dtype: uint16 up to 65536 ids, uint32 above', () => {
    assert.equal(dtypeFor(65), 'uint16');
    assert.equal(dtypeFor(65536), 'uint16');
    assert.equal(dtypeFor(65537), 'uint32');
    const ds = prepareDataset('abcdefghijklmnopqrstuvwxyz', new BigVocabTokenizer(), SOURCE);
    assert.equal(ds.meta.dtype, 'uint32');
    assert.ok(ds.train instanceof Uint32Array);
    assert.equal(ds.train[0], 70_000);
  });

  test('too little text to split is a DataError', async () => {
    await rejectsData(
      () => prepareDataset('abcdefghi', CharTokenizer.fromText('abcdefghi'), SOURCE),
      /^data file is too small: mem\.txt gives 9 tokens, split 8 train \/ 1 val/,
    );
  });

  test('token files are little-endian and round-trip', () => {
    const t16 = new Uint16Array([1, 0x0203, 65535]);
    assert.deepEqual([...encodeTokens(t16)], [1, 0, 3, 2, 255, 255]);
    const t32 = new Uint32Array([0x01020304, 70_000]);
    assert.deepEqual([...encodeTokens(t32)], [4, 3, 2, 1, 0x70, 0x11, 0x01, 0]);
    assert.deepEqual([...decodeTokens(encodeTokens(t32), 'uint32', 2, 0x01020305, 't')], [...t32]);
    // bytes at an odd offset (as Node's pooled Buffers can be) still decode
    const odd = new Uint8Array(7).subarray(1);
    odd.set(encodeTokens(t16));
    assert.deepEqual([...decodeTokens(odd, 'uint16', 3, 65536, 't')], [...t16]);
  });

  test('decodeTokens: wrong size and out-of-vocabulary ids', async () => {
    const bytes = encodeTokens(new Uint16Array([1, 2, 3]));
    await rejectsData(
      () => decodeTokens(bytes.subarray(0, 5), 'uint16', 3, 10, 'd/train.bin'),
      /^d\/train\.bin has 5 bytes but meta\.json says 3 uint16 tokens \(6 bytes\)/,
    );
    await rejectsData(
      () => decodeTokens(bytes, 'uint16', 3, 3, 'v'),
      /token 2 has id 3, outside the vocabulary \[0, 3\)/,
    );
  });

  test('parseMeta rejects each bad field with the reason', async () => {
    const good = prepareDataset(TEXT, CharTokenizer.fromText(TEXT), SOURCE).meta;
    assert.deepEqual(parseMeta(JSON.parse(JSON.stringify(good)), 'm'), good);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ version: 2 }, /format version 2 is not supported \(expected 1\)/],
      [{ extra: 1 }, /unknown key "extra"/],
      [{ vocabSize: 0 }, /"vocabSize" must be a positive integer/],
      [{ dtype: 'int8' }, /"dtype" must be "uint16" or "uint32"/],
      [{ vocabSize: 70_000 }, /uint16 cannot hold vocabSize 70000/],
      [{ trainTokens: -1 }, /"trainTokens" must be a non-negative integer/],
      [{ tokenizer: 'char' }, /"tokenizer" must be an object/],
      [{ sha256: 'xyz' }, /"sha256" must be 64 hex digits/],
      [{ vocabSize: 64 }, /"tokenizer" has \d+ tokens but "vocabSize" is 64/],
      [{ tokenizer: { kind: 'char', version: 1 } }, /"tokenizer": char tokenizer: malformed JSON/],
    ];
    for (const [patch, re] of cases) await rejectsData(() => parseMeta({ ...good, ...patch }, 'm'), re);
    const { source: _, ...missing } = good;
    await rejectsData(() => parseMeta(missing, 'm'), /^m: missing key "source"$/);
    await rejectsData(() => parseMeta([], 'm'), /not a JSON object/);
  });
});

describe('prepared dataset on disk', () => {
  test('writePrepared then loadPrepared gives back the same tokens; no temp files left', async () => {
    const out = join(dir, 'ds1');
    const ds = prepareDataset(TEXT, CharTokenizer.fromText(TEXT), {
      path: 'x.txt',
      sha256: sha256Hex(new Uint8Array()),
    });
    const written = await writePrepared(out, ds);
    assert.deepEqual(written, [join(out, 'train.bin'), join(out, 'val.bin'), join(out, 'meta.json')]);
    assert.deepEqual((await readdir(out)).sort(), ['meta.json', 'train.bin', 'val.bin']);
    const loaded = await loadPrepared(out);
    assert.deepEqual(loaded.meta, ds.meta);
    assert.deepEqual([...loaded.train], [...ds.train]);
    assert.deepEqual([...loaded.val], [...ds.val]);
    assert.equal((await readFile(join(out, 'train.bin'))).length, ds.meta.trainTokens * 2);
  });

  test('loadPrepared: missing dir, missing files, bad JSON, old version, truncated file', async () => {
    const out = join(dir, 'ds2');
    const ds = prepareDataset(TEXT, CharTokenizer.fromText(TEXT), SOURCE);
    const fresh = async () => {
      await rm(out, { recursive: true, force: true });
      await writePrepared(out, ds);
    };
    await rejectsData(
      () => loadPrepared(join(dir, 'none')),
      /^prepared data not found: .*none \(run tsgpt prepare first\)$/,
    );
    await fresh();
    await rm(join(out, 'val.bin'));
    await rejectsData(() => loadPrepared(out), /val\.bin is missing: re-run tsgpt prepare$/);
    await fresh();
    await rm(join(out, 'meta.json'));
    await rejectsData(() => loadPrepared(out), /meta\.json is missing/);
    await fresh();
    await writeFile(join(out, 'meta.json'), '{"version": 1,');
    await rejectsData(() => loadPrepared(out), /meta\.json: not valid JSON/);
    await fresh();
    await writeFile(join(out, 'meta.json'), JSON.stringify({ ...ds.meta, version: 0 }));
    await rejectsData(() => loadPrepared(out), /meta\.json: format version 0 is not supported/);
    await fresh();
    const train = await readFile(join(out, 'train.bin'));
    await writeFile(join(out, 'train.bin'), train.subarray(0, train.length - 1));
    await rejectsData(
      () => loadPrepared(out),
      /train\.bin has \d+ bytes but meta\.json says \d+ uint16 tokens/,
    );
  });

  test('writePrepared into a path that is a file: one-line FileError naming the file, the file untouched', async () => {
    const f = join(dir, 'a-file');
    await writeFile(f, 'keep');
    const ds = prepareDataset(TEXT, CharTokenizer.fromText(TEXT), SOURCE);
    await assert.rejects(() => writePrepared(f, ds), {
      name: 'FileError',
      message: /^cannot create directory .*a-file: a file of that name is in the way$/,
    });
    await assert.rejects(() => writePrepared(join(f, 'sub'), ds), {
      name: 'FileError',
      message: /^cannot create directory .*a-file\/sub: .*a-file is a file, not a directory$/,
    });
    assert.equal(await readFile(f, 'utf8'), 'keep');
  });

  test('defaultOutDir: data/<file name without extension>', () => {
    assert.equal(defaultOutDir('/some/where/tinyshakespeare.txt'), join('data', 'tinyshakespeare'));
    assert.equal(defaultOutDir('my novel.md'), join('data', 'my_novel'));
    assert.equal(defaultOutDir('/tmp/..'), join('data', 'dataset'));
  });
});

describe('batching', () => {
  const tokens: TokenArray = Uint16Array.from({ length: 100 }, (_, i) => i); // token i has id i

  test('windows: y is x shifted by one, rows start at offsets in [0, n-T)', () => {
    const B = 8;
    const T = 10;
    const { x, y } = getBatch(tokens, B, T, new Rng(1337));
    assert.equal(x.length, B * T);
    for (let b = 0; b < B; b++) {
      const start = x[b * T]!;
      assert.ok(start >= 0 && start < 100 - T);
      for (let t = 0; t < T; t++) {
        assert.equal(x[b * T + t], start + t);
        assert.equal(y[b * T + t], start + t + 1);
      }
    }
  });

  test('seeded: same seed same batches, different seed different batches', () => {
    const a = getBatch(tokens, 4, 8, new Rng(1));
    const b = getBatch(tokens, 4, 8, new Rng(1));
    const c = getBatch(tokens, 4, 8, new Rng(2));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.x, c.x);
  });

  test('fillBatch writes into the given buffers, same stream as getBatch', () => {
    const x = new Int32Array(12);
    const y = new Int32Array(12);
    const rng = new Rng(5);
    const ref = new Rng(5);
    for (let step = 0; step < 3; step++) {
      fillBatch(x, y, tokens, 3, 4, rng);
      const expected = getBatch(tokens, 3, 4, ref);
      assert.deepEqual(x, expected.x);
      assert.deepEqual(y, expected.y);
    }
  });

  test('the last token can be a target; every offset is reachable', () => {
    const small = Uint16Array.from([0, 1, 2, 3]);
    const seen = new Set<number>();
    const rng = new Rng(3);
    for (let k = 0; k < 200; k++) {
      const { x, y } = getBatch(small, 1, 3, rng);
      seen.add(x[0]!);
      assert.ok(y[2]! <= 3);
    }
    assert.deepEqual([...seen].sort(), [0]); // n - T = 1 offset only
    const seen2 = new Set<number>();
    for (let k = 0; k < 200; k++) seen2.add(getBatch(small, 1, 2, rng).x[0]!);
    assert.deepEqual([...seen2].sort(), [0, 1]);
  });

  test('the minimum length: a window of T needs T + 1 tokens, and exactly that many suffice', async () => {
    for (const T of [1, 3, 64, 256]) {
      assert.equal(minTokens(T), T + 1);
      const just = Uint16Array.from({ length: T + 1 }, (_, i) => i % 7);
      const { x, y } = getBatch(just, 2, T, new Rng(1));
      assert.deepEqual(Array.from(y.subarray(0, T)), Array.from(just.subarray(1))); // offset 0 only
      assert.deepEqual(Array.from(x.subarray(0, T)), Array.from(just.subarray(0, T)));
      checkTokenCount(T + 1, T, 'the val split');
      await rejectsData(
        () => checkTokenCount(T, T, 'the val split'),
        new RegExp(`^the val split: ${T} tokens are too few for blockSize ${T}: a window needs ${T + 1} `),
      );
      await rejectsData(() => getBatch(just.subarray(0, T), 1, T, new Rng(1)), /too few for blockSize/);
    }
    // prepareDataset's least split is a window of 1: two tokens in each split
    const two = prepareDataset(
      'abcdefghijklmnopqrst',
      CharTokenizer.fromText('abcdefghijklmnopqrst'),
      SOURCE,
    );
    assert.equal(two.meta.valTokens, minTokens(1));
    await rejectsData(
      () => prepareDataset('abcdefghij', CharTokenizer.fromText('abcdefghij'), SOURCE),
      /split 9 train \/ 1 val; need at least 2 in each$/,
    );
  });

  test('errors: too few tokens, wrong buffer sizes, bad sizes', async () => {
    await rejectsData(
      () => getBatch(Uint16Array.from([1, 2, 3]), 2, 3, new Rng(0)),
      /3 tokens are too few for blockSize 3/,
    );
    assert.throws(
      () => fillBatch(new Int32Array(5), new Int32Array(6), tokens, 2, 3, new Rng(0)),
      ShapeError,
    );
    assert.throws(
      () => getBatch(tokens, 0, 3, new Rng(0)),
      /batchSize 0 and blockSize 3 must be positive integers/,
    );
  });
});

describe('downloadTinyShakespeare (local server only)', () => {
  const BODY = 'First Citizen:\nSpeak.\n';
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/missing') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': Buffer.byteLength(BODY) }).end(BODY);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
  });

  test('downloads, verifies the sha256 and writes the file, with progress', async () => {
    const dest = join(dir, 'dl', 'ok.txt');
    const seen: number[] = [];
    const r = await downloadTinyShakespeare(dest, {
      url: `${base}/input.txt`,
      sha256: sha256Hex(new TextEncoder().encode(BODY)),
      onProgress: (got, total) => {
        seen.push(got);
        assert.equal(total, Buffer.byteLength(BODY));
      },
    });
    assert.equal(await readFile(dest, 'utf8'), BODY);
    assert.equal(r.bytes, Buffer.byteLength(BODY));
    assert.equal(seen.at(-1), Buffer.byteLength(BODY));
  });

  test('wrong checksum (default: the real Tiny Shakespeare sha256): error, nothing written', async () => {
    const dest = join(dir, 'dl', 'bad.txt');
    await rejectsData(
      () => downloadTinyShakespeare(dest, { url: `${base}/input.txt` }),
      /^could not download Tiny Shakespeare \(sha256 [0-9a-f]{64} from .*, expected 86c4e6aa.*\): pass a local copy with --data FILE$/,
    );
    assert.equal(existsSync(dest), false);
  });

  test('HTTP error and connection refused (offline): the same hint', async () => {
    await rejectsData(
      () => downloadTinyShakespeare(join(dir, 'dl', 'x.txt'), { url: `${base}/missing` }),
      /\(HTTP 404 from .*\/missing\): pass a local copy with --data FILE$/,
    );
    // a port that was free a moment ago: nothing listens there
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await rejectsData(
      () => downloadTinyShakespeare(join(dir, 'dl', 'y.txt'), { url: `http://127.0.0.1:${port}/input.txt` }),
      /^could not download Tiny Shakespeare \(ECONNREFUSED from .*\): pass a local copy with --data FILE$/,
    );
    assert.equal(existsSync(join(dir, 'dl', 'y.txt')), false);
  });
});

describe('writeFileAtomic', () => {
  test('replaces the file and leaves no temp files; a failed write keeps the old file', async () => {
    const d = join(dir, 'atomic');
    await mkdir(d);
    const p = join(d, 'f.json');
    await writeFileAtomic(p, 'old');
    await writeFileAtomic(p, new TextEncoder().encode('new'));
    assert.equal(await readFile(p, 'utf8'), 'new');
    assert.deepEqual(await readdir(d), ['f.json']);
    // writing into a directory that does not exist fails before touching anything
    await assert.rejects(() => writeFileAtomic(join(d, 'no', 'g.json'), 'x'), {
      code: 'ENOENT',
      message: /^cannot write .*g\.json: its directory does not exist$/,
    });
    assert.deepEqual(await readdir(d), ['f.json']);
    // the temp file is written, then the rename fails (a directory is in the way): temp removed
    await mkdir(join(d, 'sub'));
    await writeFile(join(d, 'sub', 'keep'), 'k');
    await assert.rejects(() => writeFileAtomic(join(d, 'sub'), 'x'), {
      name: 'FileError',
      message: /^cannot write .*sub: it is a directory$/,
    });
    assert.deepEqual((await readdir(d)).sort(), ['f.json', 'sub']);
    assert.equal(await readFile(join(d, 'sub', 'keep'), 'utf8'), 'k');
  });
});
