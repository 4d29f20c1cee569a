// Nothing a command writes replaces an existing file without --force: the check every command
// that writes an artifact makes before its work (train, prepare, tokenizer train, export, import),
// and the --force flag they share. The writes themselves are atomic (src/util/atomic-write.ts).

import { lstat, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileError, UsageError } from '../errors.js';
import { checkWritableDir } from '../util/atomic-write.js';
import type { FlagSpec } from './args.js';

/** The --force flag of a command that writes `what`. */
export function forceFlag(what: string): FlagSpec {
  return {
    name: 'force',
    type: 'bool',
    help: `replace ${what} (without --force, existing files are never replaced)`,
  };
}

/** Of `paths`, those that exist (a dangling symbolic link counts: writing would replace it). */
export async function existingPaths(paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const p of paths) {
    try {
      await lstat(p);
      found.push(p);
    } catch {
      // missing (or unreachable: the write will say why)
    }
  }
  return found;
}

/**
 * Checks an output file (`--out FILE`) before the work, so that a mistake costs nothing: not a
 * directory, not replaced without --force, a regular file when replaced (never a device), and in
 * a directory this process can write (created later if missing).
 */
export async function checkOutputFile(out: string, force: boolean): Promise<void> {
  const link = await lstat(out).catch(() => undefined);
  const st = link && (await stat(out).catch(() => link)); // through a link; a dangling one is itself
  if (st?.isDirectory()) throw new UsageError(`--out ${out} is a directory; give a file name`);
  if (link && !force) throw new UsageError(`${out} exists: pass --force to replace it, or another --out`);
  if (st && !st.isFile() && !st.isSymbolicLink())
    throw new FileError(
      `cannot write ${out}: it is not a regular file (a device or a pipe?)`,
      out,
      undefined,
    );
  await checkWritableDir(dirname(out));
}

/** Whether each file already holds exactly these bytes (so writing them would change nothing). */
export async function sameOnDisk(
  files: readonly { path: string; data: string | Uint8Array }[],
): Promise<boolean> {
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(f.path);
    } catch {
      return false;
    }
    const want = typeof f.data === 'string' ? Buffer.from(f.data) : f.data;
    if (!bytes.equals(want)) return false;
  }
  return true;
}
