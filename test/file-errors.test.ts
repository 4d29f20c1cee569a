// The pieces behind "every failure one clear line, nothing damaged", each on its own: the words
// for system errors (src/util/file-error.ts), the atomic writer under a failing file system
// (injected: a full disk, a read-only one, a failed rename), the removal of temp files a killed
// writer left, the run log (whole lines only, cut back on a failed write, repaired on resume),
// the --out lock (held, stale, another host), the scan for non-finite weights, and the checks
// on output paths. End-to-end cases through the CLI are in cli-faults.test.ts.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { refBackend as be } from '../src/backend/index.js';
import { parseArgs } from '../src/cli/args.js';
import { LOCK_FILE, OutLock, RunLog, type SyncFs } from '../src/cli/run-dir.js';
import { FileError, TsgptError } from '../src/errors.js';
import { modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import {
  type AtomicFs,
  checkWritableDir,
  ensureDir,
  removeStaleTemps,
  writeFileAtomic,
  writeFilesAtomic,
} from '../src/util/atomic-write.js';
import { describeErrno, describeSystemError, fileError } from '../src/util/file-error.js';
import { firstNonFinite } from '../src/util/finite.js';

const dir = mkdtempSync(join(tmpdir(), 'tsgpt-file-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A Node-style system error. */
const sysErr = (code: string, syscall = 'write', path?: string) =>
  Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, ...(path === undefined ? {} : { path }) });

/** A pid that does not run: a child that has exited (reuse within the test is vanishingly unlikely). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

describe('file-error: the words', () => {
  test('each code in plain words, naming the file the user gave', () => {
    const cases: [string, Parameters<typeof fileError>[1], string][] = [
      ['ENOSPC', 'write', 'cannot write out/ckpt.safetensors: no space left on device'],
      ['EACCES', 'write', 'cannot write out/ckpt.safetensors: permission denied'],
      ['EROFS', 'write', 'cannot write out/ckpt.safetensors: read-only file system'],
      ['EISDIR', 'write', 'cannot write out/ckpt.safetensors: it is a directory'],
      ['ENOENT', 'write', 'cannot write out/ckpt.safetensors: its directory does not exist'],
      ['ENOENT', 'read', 'cannot read out/ckpt.safetensors: no such file or directory'],
      ['EEXIST', 'create directory', 'cannot create directory out/ckpt.safetensors: a file is in the way'],
      ['ENOTDIR', 'read', 'cannot read out/ckpt.safetensors: a part of the path is a file, not a directory'],
      ['EDQUOT', 'write', 'cannot write out/ckpt.safetensors: disk quota exceeded'],
      [
        'EIO',
        'read',
        'cannot read out/ckpt.safetensors: input/output error (a failing disk or a lost terminal?)',
      ],
    ];
    for (const [code, action, line] of cases) {
      const e = fileError(sysErr(code), action, 'out/ckpt.safetensors');
      assert.ok(e instanceof FileError);
      assert.equal(e.message, line);
      assert.equal((e as FileError).code, code);
      assert.equal((e as FileError).path, 'out/ckpt.safetensors');
    }
    // an unknown code is named as it is; a tsgpt error passes through as it is
    assert.equal(fileError(sysErr('EWHATEVER'), 'read', 'x').message, 'cannot read x: EWHATEVER');
    const own = new TsgptError('already one line');
    assert.equal(fileError(own, 'write', 'x'), own);
    assert.equal(describeErrno(sysErr('EPIPE')), 'the reading end of the pipe was closed');
  });

  test('a system error that reached the top unwrapped still names its file, or its call', () => {
    assert.equal(
      describeSystemError(sysErr('EACCES', 'open', 'notes.txt')),
      'cannot open notes.txt: permission denied',
    );
    assert.equal(describeSystemError(sysErr('ENOSPC', 'write')), 'write failed: no space left on device');
    assert.equal(describeSystemError(new TypeError('not a system error')), undefined);
  });
});

/** Node's fs/promises with one operation made to fail. */
function failingFs(fail: { writeFile?: string; sync?: string; open?: string; renameTo?: string }): AtomicFs {
  return {
    async open(path, flags, mode) {
      if (fail.open && flags === 'wx') throw sysErr(fail.open, 'open', path);
      const fh = await fsp.open(path, flags, mode);
      return {
        async writeFile(data) {
          if (fail.writeFile) {
            // the disk fills up halfway through the temp file
            const bytes = typeof data === 'string' ? Buffer.from(data) : data;
            await fh.write(bytes.subarray(0, bytes.length >> 1));
            throw sysErr(fail.writeFile);
          }
          await fh.writeFile(data);
        },
        async sync() {
          if (fail.sync) throw sysErr(fail.sync, 'fsync');
          await fh.sync();
        },
        close: () => fh.close(),
      };
    },
    async rename(from, to) {
      if (fail.renameTo && to.endsWith(fail.renameTo)) throw sysErr('EXDEV', 'rename', from);
      await fsp.rename(from, to);
    },
    unlink: (p) => fsp.unlink(p),
    readdir: (d) => fsp.readdir(d),
    lstat: (p) => fsp.lstat(p),
    realpath: (p) => fsp.realpath(p),
  };
}

describe('atomic writes under a failing file system', () => {
  test('a full disk, a failed fsync, a read-only disk: the old file stays byte for byte, no temp file is left, one line names the target', async () => {
    const d = join(dir, 'atomic-fail');
    mkdirSync(d);
    const target = join(d, 'ckpt.safetensors');
    writeFileSync(target, 'the old checkpoint');
    const cases: [Parameters<typeof failingFs>[0], string][] = [
      [{ writeFile: 'ENOSPC' }, 'no space left on device'],
      [{ sync: 'EIO' }, 'input/output error (a failing disk or a lost terminal?)'],
      [{ open: 'EROFS' }, 'read-only file system'],
      [{ open: 'EACCES' }, 'permission denied'],
    ];
    for (const [fail, words] of cases) {
      await assert.rejects(
        () => writeFileAtomic(target, new Uint8Array(4096).fill(7), { fs: failingFs(fail) }),
        { name: 'FileError', message: `cannot write ${target}: ${words}` },
      );
      assert.equal(readFileSync(target, 'utf8'), 'the old checkpoint');
      assert.deepEqual(readdirSync(d), ['ckpt.safetensors']);
    }
  });

  test('several files: a failure while writing leaves every target as it was', async () => {
    const d = join(dir, 'atomic-many');
    mkdirSync(d);
    const paths = ['model.safetensors', 'config.json'].map((f) => join(d, f));
    for (const p of paths) writeFileSync(p, `old ${p}`);
    const fs = failingFs({ writeFile: 'ENOSPC' });
    await assert.rejects(
      () =>
        writeFilesAtomic(
          paths.map((p) => ({ path: p, data: 'new' })),
          { fs },
        ),
      { message: `cannot write ${paths[0]}: no space left on device` },
    );
    for (const p of paths) assert.equal(readFileSync(p, 'utf8'), `old ${p}`);
    assert.deepEqual(readdirSync(d).sort(), ['config.json', 'model.safetensors']);
    // a rename that fails (the rare case between renames) names the file it was placing
    await assert.rejects(
      () =>
        writeFilesAtomic(
          paths.map((p) => ({ path: p, data: 'new' })),
          { fs: failingFs({ renameTo: 'config.json' }) },
        ),
      { message: `cannot write ${paths[1]}: it is on another file system` },
    );
    assert.deepEqual(readdirSync(d).sort(), ['config.json', 'model.safetensors'], 'no temp file left');
  });

  test('temp files of writers that were killed are removed at the next write; those of running ones are kept', async () => {
    const d = join(dir, 'stale');
    mkdirSync(d);
    const dead = `.ckpt.safetensors.tmp-${deadPid()}-0123abcd`;
    const mine = `.ckpt.safetensors.tmp-${process.pid}-0123abcd`;
    const parents = `.loss.svg.tmp-${process.ppid}-89abcdef`;
    for (const f of [dead, mine, parents, '.not-a-temp.tmp-12-zz', 'keep.txt'])
      writeFileSync(join(d, f), 'x');
    assert.deepEqual(await removeStaleTemps(d), [dead]);
    writeFileSync(join(d, dead), 'x');
    await writeFileAtomic(join(d, 'other.json'), '{}');
    assert.deepEqual(
      readdirSync(d).sort(),
      [mine, parents, '.not-a-temp.tmp-12-zz', 'keep.txt', 'other.json'].sort(),
    );
  });

  test('a symbolic link keeps pointing at the new contents; a device is not replaced', async () => {
    const d = join(dir, 'links');
    mkdirSync(d);
    writeFileSync(join(d, 'real.json'), 'old');
    symlinkSync('real.json', join(d, 'link.json'));
    await writeFileAtomic(join(d, 'link.json'), 'new');
    assert.equal(readlinkSync(join(d, 'link.json')), 'real.json');
    assert.equal(readFileSync(join(d, 'real.json'), 'utf8'), 'new');
    if (nodeFs.existsSync('/dev/null'))
      await assert.rejects(() => writeFileAtomic('/dev/null', 'x'), {
        message: 'cannot write /dev/null: it is not a regular file (a device or a pipe?)',
      });
  });

  test('directories: a file in the way is named, before anything is created', async () => {
    const f = join(dir, 'plain-file');
    writeFileSync(f, 'keep');
    await assert.rejects(() => ensureDir(join(f, 'run')), {
      name: 'FileError',
      message: `cannot create directory ${join(f, 'run')}: ${f} is a file, not a directory`,
    });
    await assert.rejects(() => checkWritableDir(join(f, 'run', 'deeper')), {
      message: `cannot create directory ${join(f, 'run', 'deeper')}: ${f} is a file, not a directory`,
    });
    await assert.rejects(() => checkWritableDir(f), {
      message: `cannot use ${f} as a directory: it is a file`,
    });
    await checkWritableDir(join(dir, 'not', 'yet', 'there'));
    assert.equal(nodeFs.existsSync(join(dir, 'not')), false, 'checking creates nothing');
    assert.equal(readFileSync(f, 'utf8'), 'keep');
  });
});

/** Node's synchronous fs, with writeSync failing after `budget` more bytes (a disk filling up). */
function fillingFs(budget: { bytes: number; code: string }): SyncFs {
  return {
    openSync: (p, flags, mode) => nodeFs.openSync(p, flags, mode),
    writeSync(fd, buf, off, len) {
      if (budget.bytes <= 0) throw sysErr(budget.code);
      const n = Math.min(len, budget.bytes);
      budget.bytes -= n;
      return nodeFs.writeSync(fd, buf, off, n); // a short write, as write(2) makes at the limit
    },
    ftruncateSync: (fd, len) => nodeFs.ftruncateSync(fd, len),
    fsyncSync: (fd) => nodeFs.fsyncSync(fd),
    closeSync: (fd) => nodeFs.closeSync(fd),
    readFileSync: (p) => nodeFs.readFileSync(p),
  };
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n');

describe('the run log', () => {
  test('a full disk mid-record: the file keeps whole lines only, one line names it, and appending resumes when there is room', () => {
    const path = join(dir, 'full.jsonl');
    const budget = { bytes: 100, code: 'ENOSPC' };
    const log = RunLog.create(path, fillingFs(budget));
    log.append({ type: 'step', step: 1, loss: 4.2 });
    log.append({ type: 'step', step: 2, loss: 4.1 });
    assert.throws(() => log.append({ type: 'step', step: 3, loss: 4.0, pad: 'x'.repeat(60) }), {
      name: 'FileError',
      message: `cannot write ${path}: no space left on device`,
    });
    assert.deepEqual(lines(path), [
      '{"type":"step","step":1,"loss":4.2}',
      '{"type":"step","step":2,"loss":4.1}',
      '',
    ]);
    budget.bytes = 1000;
    log.append({ type: 'step', step: 3, loss: 4 });
    log.close();
    assert.equal(lines(path)[2], '{"type":"step","step":3,"loss":4}');
  });

  test('resume: a torn last line is removed with a warning; records after the checkpoint are dropped with a note', () => {
    const path = join(dir, 'torn.jsonl');
    const rec = (type: string, step: number) => JSON.stringify({ type, step });
    writeFileSync(
      path,
      `${[rec('config', 0), rec('eval', 0), rec('step', 1), rec('step', 2), rec('eval', 2), rec('step', 3), rec('step', 4)].join('\n')}\n{"type":"step","st`,
    );
    const r = RunLog.resume(path, 2);
    r.log.append({ type: 'config', step: 2 });
    r.log.close();
    assert.deepEqual(
      r.records.map((x) => `${x.type}${x.step}`),
      ['config0', 'eval0', 'step1', 'step2', 'eval2'],
    );
    assert.deepEqual(r.notes, [
      `warning: ${path}: the last line was cut short (a crash or a full disk); removed it`,
      `note: ${path}: removed 2 records from after the checkpoint (a crash lost those steps; they are trained again now)`,
    ]);
    assert.deepEqual(lines(path), [
      rec('config', 0),
      rec('eval', 0),
      rec('step', 1),
      rec('step', 2),
      rec('eval', 2),
      rec('config', 2),
      '',
    ]);
  });

  test('resume: a whole last record that lost its newline is kept; a damaged line inside the log is refused, naming it; a missing log starts anew', () => {
    const path = join(dir, 'nl.jsonl');
    writeFileSync(path, '{"type":"step","step":1}\n{"type":"step","step":2}');
    const r = RunLog.resume(path, 2);
    r.log.append({ type: 'step', step: 3 });
    r.log.close();
    assert.deepEqual(r.notes, []);
    assert.deepEqual(lines(path), [
      '{"type":"step","step":1}',
      '{"type":"step","step":2}',
      '{"type":"step","step":3}',
      '',
    ]);
    const bad = join(dir, 'bad.jsonl');
    const content = '{"type":"step","step":1}\nnot json\n{"type":"step","step":2}\n';
    writeFileSync(bad, content);
    assert.throws(() => RunLog.resume(bad, 9), {
      name: 'DataError',
      message: `${bad}: line 2 is not a log record (the log is damaged): move it away to resume without it`,
    });
    assert.equal(readFileSync(bad, 'utf8'), content, 'refused: untouched');
    const short = join(dir, 'short.jsonl');
    writeFileSync(short, '{"type":"step","step":1}\n{"type":"step","step":2}\n');
    const sh = RunLog.resume(short, 5);
    sh.log.close();
    assert.deepEqual(sh.notes, [
      `note: ${short} ends at step 2, the checkpoint is at step 5: the records between were lost (a power cut?)`,
    ]);
    const missing = join(dir, 'missing.jsonl');
    const m = RunLog.resume(missing, 9);
    m.log.close();
    assert.deepEqual(m.notes, [`note: ${missing} was missing; starting a new one`]);
    assert.equal(readFileSync(missing, 'utf8'), '');
  });
});

describe('the --out lock', () => {
  test('held: a second one is refused naming the pid and the lock file; released: it can be taken', () => {
    const d = join(dir, 'locked');
    mkdirSync(d);
    const { lock, note } = OutLock.acquire(d);
    assert.equal(note, undefined);
    assert.throws(() => OutLock.acquire(d), {
      name: 'FileError',
      message: new RegExp(
        `^${d} is in use by another training \\(pid ${process.pid}, since [^;]+; lock file ${join(d, LOCK_FILE)}\\): wait for it to finish, or use another --out$`,
      ),
    });
    lock.release();
    assert.deepEqual(readdirSync(d), []);
    OutLock.acquire(d).lock.release();
  });

  test('stale: a lock whose process is gone is taken over with a note; another host is refused; a torn old lock is taken over', () => {
    const d = join(dir, 'stale-lock');
    mkdirSync(d);
    const path = join(d, LOCK_FILE);
    const pid = deadPid();
    writeFileSync(path, JSON.stringify({ pid, host: hostname(), start: null, since: 'then' }));
    const taken = OutLock.acquire(d);
    assert.equal(
      taken.note,
      `note: ${path} was left by a training that no longer runs (pid ${pid}); took it over`,
    );
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
    taken.lock.release();

    writeFileSync(path, JSON.stringify({ pid: 1, host: 'elsewhere', start: null, since: 'then' }));
    assert.throws(() => OutLock.acquire(d), { message: /in use by a training on host elsewhere \(pid 1/ });
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).host, 'elsewhere', 'not taken');

    writeFileSync(path, '{"pid":');
    assert.throws(() => OutLock.acquire(d), { message: /is being locked by another training just now/ });
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const t = OutLock.acquire(d);
    assert.equal(t.note, `note: ${path} was unreadable; took it over`);
    t.lock.release();
  });
});

describe('non-finite weights', () => {
  test('firstNonFinite finds NaN, ±Infinity and flipped exponent bits; never a finite value', () => {
    const a = new Float32Array([0, -0, 1e-45, 3.4028234663852886e38, -3.4028234663852886e38, 1.5]);
    assert.equal(firstNonFinite(a), -1);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const b = Float32Array.from(a);
      b[4] = bad;
      assert.equal(firstNonFinite(b), 4);
    }
    const flipped = Float32Array.from(a);
    new Int32Array(flipped.buffer)[5]! |= 0x7f800000; // every exponent bit of 1.5 set: a NaN
    assert.equal(firstNonFinite(flipped), 5);
    assert.equal(firstNonFinite(flipped.subarray(1, 5)), -1, 'a view sees only its own elements');
  });

  test('a checkpoint holding one is refused, naming the file and the tensor', () => {
    const tok = CharTokenizer.fromText('abcdefgh');
    const cfg = modelConfig({
      ...DEFAULT_CONFIG,
      vocabSize: tok.vocabSize,
      nLayer: 1,
      nHead: 2,
      nEmbd: 8,
      blockSize: 4,
    });
    const model = new GPT(cfg, be, { seed: 1 });
    const meta = { train: null, tokenizer: tok.toJSON(), step: 0, bestValLoss: null, rng: null };
    const good = encodeCheckpoint(model, null, meta);
    assert.ok(decodeCheckpoint(good, 'good.safetensors'));
    model.store.get('transformer.h.0.mlp.c_fc.weight').data[3] = Number.POSITIVE_INFINITY;
    assert.throws(() => decodeCheckpoint(encodeCheckpoint(model, null, meta), 'inf.safetensors'), {
      name: 'CheckpointError',
      message:
        'inf.safetensors: tensor transformer.h.0.mlp.c_fc.weight holds Infinity (element 3): the file is damaged or its run diverged; weights must be finite',
    });
  });
});

test('a path flag given as an empty string is a usage error', () => {
  const spec = {
    name: 'x',
    summary: 'x',
    flags: [{ name: 'out', type: 'string' as const, metavar: 'DIR', help: 'd' }],
  };
  assert.throws(() => parseArgs(spec, ['--out', '']), {
    name: 'UsageError',
    message: '--out needs a path (DIR), got an empty one (see tsgpt x --help)',
  });
});
