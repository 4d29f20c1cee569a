// Crash-safe file writes (Node adapter): write a temp file in the same directory, fsync it,
// then rename it over the target, so a reader sees the old file or the new one, never half
// of one. Used for token files, checkpoints and charts. Not a lock: concurrent writers race.
// Errors are Node's own (with .code); callers wrap them in their typed error.

import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temp path beside `path` (same directory, so the rename stays on one filesystem). */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

async function writeAndSync(tmp: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Best-effort fsync of a directory so the rename itself survives a crash (no-op where unsupported). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
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
 * removed and any existing file at `path` is untouched.
 * @example await writeFileAtomic('out/meta.json', JSON.stringify(meta));
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeFilesAtomic([{ path, data }]);
}

/**
 * Write several files as close to all-or-nothing as a filesystem allows: every temp file is
 * written and synced first, and only then renamed into place. A failure while writing leaves
 * all targets untouched (a failure between renames, which is rare, can leave a mix).
 */
export async function writeFilesAtomic(
  files: readonly { path: string; data: string | Uint8Array }[],
): Promise<void> {
  const temps: string[] = [];
  try {
    for (const f of files) {
      const tmp = tempPathFor(f.path);
      temps.push(tmp);
      await writeAndSync(tmp, f.data);
    }
    for (let i = 0; i < files.length; i++) {
      await rename(temps[i]!, files[i]!.path);
      temps[i] = '';
    }
  } catch (err) {
    await Promise.all(temps.filter((t) => t !== '').map((t) => unlink(t).catch(() => {})));
    throw err;
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) await syncDir(dir);
}

/** Create a directory and its parents if missing (fails with ENOTDIR/EEXIST if a file is in the way). */
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}
