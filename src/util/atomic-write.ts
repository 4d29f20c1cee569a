// Crash-safe file writes (Node adapter): a temp file in the same directory, fsynced, then renamed
// over the target, so a reader sees the old file or the new one, never half of one. Failures are
// FileErrors naming the target (`cannot write out/ckpt.safetensors: no space left on device`);
// temp files a killed writer left are removed at the next write into that directory. Not a lock:
// concurrent writers race (`tsgpt train` locks its --out, src/cli/run-dir.ts).

import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileError } from '../errors.js';
import { fileError } from './file-error.js';

/** The file operations the writer uses: node:fs/promises, or a failing one in a test. */
export interface AtomicFs {
  open(path: string, flags: string, mode: number): Promise<AtomicFileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  lstat(path: string): Promise<{ isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }>;
  realpath(path: string): Promise<string>;
}
export interface AtomicFileHandle {
  writeFile(data: string | Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Options of the writers: the file system (default: Node's). */
export interface AtomicWriteOptions {
  fs?: AtomicFs;
}

/** Temp names: `.<target>.tmp-<pid>-<8 hex>` (the pid says whether the writer still runs). */
const TEMP_RE = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/;

/** A temp path beside `path` (same directory, so the rename stays on one filesystem). */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Whether a process with this id runs (on this machine). EPERM: it runs, as another user. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/**
 * Removes the temp files in `dir` that a writer left when it was killed mid-write (`kill -9`,
 * a power cut): those whose writer's process no longer runs. Best effort: errors are ignored
 * (a temp file left is harmless). Returns the names removed.
 */
export async function removeStaleTemps(dir: string, o: AtomicWriteOptions = {}): Promise<string[]> {
  const fs = o.fs ?? nodeFs;
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      await fs.unlink(join(dir, name));
      removed.push(name);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

async function writeAndSync(fs: AtomicFs, tmp: string, data: string | Uint8Array): Promise<void> {
  const fh = await fs.open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Best-effort fsync of a directory so the rename itself survives a crash (no-op where unsupported). */
async function syncDir(fs: AtomicFs, dir: string): Promise<void> {
  try {
    const fh = await fs.open(dir, 'r', 0);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Windows and some filesystems cannot fsync a directory; the data itself is synced
  }
}

/**
 * Write `data` to `path` atomically (temp file + fsync + rename). On failure the temp file is
 * removed, any existing file at `path` is untouched, and the error is a FileError naming `path`.
 * @example await writeFileAtomic('out/meta.json', JSON.stringify(meta));
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  o: AtomicWriteOptions = {},
): Promise<void> {
  await writeFilesAtomic([{ path, data }], o);
}

/**
 * Write several files as close to all-or-nothing as a filesystem allows: every temp file is
 * written and synced first, and only then renamed into place. A failure while writing leaves
 * all targets untouched (a failure between renames, which is rare, can leave a mix). Errors are
 * FileErrors naming the target being written.
 */
export async function writeFilesAtomic(
  files: readonly { path: string; data: string | Uint8Array }[],
  o: AtomicWriteOptions = {},
): Promise<void> {
  const fs = o.fs ?? nodeFs;
  const targets: string[] = [];
  for (const f of files) targets.push(await writableTarget(fs, f.path));
  const dirs = new Set(targets.map((t) => dirname(t)));
  for (const dir of dirs) await removeStaleTemps(dir, o);
  const temps: string[] = [];
  let current = files[0]?.path ?? '';
  try {
    for (let i = 0; i < files.length; i++) {
      current = files[i]!.path;
      const tmp = tempPathFor(targets[i]!);
      temps.push(tmp);
      await writeAndSync(fs, tmp, files[i]!.data);
    }
    for (let i = 0; i < files.length; i++) {
      current = files[i]!.path;
      await fs.rename(temps[i]!, targets[i]!);
      temps[i] = '';
    }
  } catch (err) {
    await Promise.all(temps.filter((t) => t !== '').map((t) => fs.unlink(t).catch(() => {})));
    throw fileError(err, 'write', current);
  }
  for (const dir of dirs) await syncDir(fs, dir);
}

/**
 * The file a write of `path` replaces: `path` itself, or what it links to (a symbolic link keeps
 * pointing at the new contents; a dangling one is replaced). Only a regular file is replaced: a
 * directory, a device or a pipe in the way is a FileError naming `path`.
 */
async function writableTarget(fs: AtomicFs, path: string): Promise<string> {
  let target = path;
  let st: Awaited<ReturnType<AtomicFs['lstat']>>;
  try {
    st = await fs.lstat(path);
    if (st.isSymbolicLink()) {
      target = await fs.realpath(path);
      st = await fs.lstat(target);
    }
  } catch {
    return target; // nothing there (or a dangling link): the write creates it, or says why not
  }
  if (st.isDirectory()) throw new FileError(`cannot write ${path}: it is a directory`, path, 'EISDIR');
  if (!st.isFile())
    throw new FileError(
      `cannot write ${path}: it is not a regular file (a device or a pipe?)`,
      path,
      undefined,
    );
  return target;
}

/**
 * Create a directory and its parents if missing. A file in the way is named:
 * `cannot create directory notes.txt/run: notes.txt is a file, not a directory`.
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await nodeFs.mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      const blocker = await firstFileOnPath(dir);
      if (blocker !== undefined)
        throw new FileError(
          blocker === dir
            ? `cannot create directory ${dir}: a file of that name is in the way`
            : `cannot create directory ${dir}: ${blocker} is a file, not a directory`,
          dir,
          code,
        );
    }
    throw fileError(err, 'create directory', dir);
  }
}

/**
 * Checks, without creating anything, that `dir` is or can become a directory this process writes
 * into: no file in the way on its path, and the directory (or its nearest existing parent) open
 * to writing. Throws the FileError that ensureDir or the first write would, before any work.
 */
export async function checkWritableDir(dir: string): Promise<void> {
  const blocker = await firstFileOnPath(dir);
  if (blocker !== undefined)
    throw new FileError(
      blocker === dir
        ? `cannot use ${dir} as a directory: it is a file`
        : `cannot create directory ${dir}: ${blocker} is a file, not a directory`,
      dir,
      blocker === dir ? 'EEXIST' : 'ENOTDIR',
    );
  let existing = dir; // the directory itself, or its nearest existing parent
  while (!(await exists(existing))) {
    const up = dirname(existing);
    if (up === existing) return;
    existing = up;
  }
  try {
    await nodeFs.access(existing, nodeFs.constants.W_OK);
  } catch (err) {
    throw fileError(err, existing === dir ? 'write' : 'create directory', dir);
  }
}

const exists = (p: string): Promise<boolean> =>
  nodeFs.stat(p).then(
    () => true,
    () => false,
  );

/** The first path on the way to `dir` (from the top) that exists and is not a directory. */
async function firstFileOnPath(dir: string): Promise<string | undefined> {
  const parts: string[] = [];
  for (let p = dir; ; ) {
    parts.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const p of parts) {
    try {
      if (!(await nodeFs.stat(p)).isDirectory()) return p;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
