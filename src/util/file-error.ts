// The one place that turns a system error on a file or a stream (ENOSPC, EACCES, EISDIR, ...)
// into a line a user can act on: `cannot write out/baby/ckpt.safetensors: no space left on
// device`. The Node adapters (atomic-write.ts, src/data/node-io.ts, the CLI's file code) call
// fileError with the file the user named; src/cli/main.ts uses describeErrno for standard output
// and for any system error that reaches it unwrapped. Pure: no Node API, only the error's fields.

import { FileError, TsgptError } from '../errors.js';

/** Plain words for the errno codes a file or stream operation meets. */
export const ERRNO_WORDS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: "file too large (over the file system's or the process's file size limit: ulimit -f?)",
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory',
  EEXIST: 'it already exists',
  ENOTEMPTY: 'the directory is not empty',
  ELOOP: 'too many levels of symbolic links (a loop?)',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error (a failing disk or a lost terminal?)',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
  EBADF: 'the file descriptor is closed',
  EPIPE: 'the reading end of the pipe was closed',
  ECONNRESET: 'the connection was reset',
  EBUSY: 'the resource is busy',
  ETXTBSY: 'the file is busy',
  EXDEV: 'it is on another file system',
  EINVAL: 'invalid argument (a file system that does not support this?)',
  EAGAIN: 'the resource is temporarily unavailable',
  ESPIPE: 'it cannot seek (a pipe?)',
  ERR_FS_FILE_TOO_LARGE: 'too large to read into memory (over 2 GiB)',
  ERR_STRING_TOO_LONG: 'too large to read as one string',
};

/** What was being done, for the message: `cannot <action> <path>: <reason>`. */
export type FileAction =
  | 'read'
  | 'write'
  | 'create'
  | 'create directory'
  | 'open'
  | 'remove'
  | 'lock'
  | 'list'
  | 'rename';

/** The fields of a Node system error that matter here (all optional: any value may be thrown). */
interface SystemErrorLike {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  message?: unknown;
}

/** The errno name of a system error (`ENOSPC`), or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as SystemErrorLike | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code) ? code : undefined;
}

/** Whether `err` is a system error this module has words for. */
export function isSystemError(err: unknown): boolean {
  const code = errnoCode(err);
  return code !== undefined && code in ERRNO_WORDS;
}

/** The reason in words: `no space left on device`, or the code / message when unknown. */
export function describeErrno(err: unknown, action?: FileAction): string {
  const code = errnoCode(err);
  if (code === undefined) return err instanceof Error ? err.message : String(err);
  // a few codes mean something more precise for what was being done
  if (code === 'ENOENT' && action !== undefined && action !== 'read' && action !== 'list')
    return 'its directory does not exist';
  if (code === 'EEXIST' && action === 'create directory') return 'a file is in the way';
  const words = ERRNO_WORDS[code];
  return words === undefined ? code : words;
}

/**
 * A FileError naming `path` and the reason: `cannot write out/x.bin: no space left on device`.
 * A TsgptError passes through unchanged (it already says what went wrong).
 * @example throw fileError(err, 'write', 'out/baby/ckpt.safetensors');
 */
export function fileError(err: unknown, action: FileAction, path: string): TsgptError {
  if (err instanceof TsgptError) return err;
  return new FileError(`cannot ${action} ${path}: ${describeErrno(err, action)}`, path, errnoCode(err));
}

const SYSCALL_ACTIONS: Readonly<Record<string, FileAction>> = {
  open: 'open',
  read: 'read',
  stat: 'read',
  lstat: 'read',
  fstat: 'read',
  access: 'read',
  readlink: 'read',
  scandir: 'list',
  opendir: 'list',
  write: 'write',
  fsync: 'write',
  fdatasync: 'write',
  ftruncate: 'write',
  copyfile: 'write',
  mkdir: 'create directory',
  rename: 'rename',
  unlink: 'remove',
  rmdir: 'remove',
};

/**
 * A system error that reached the top unwrapped, as one line without "internal error":
 * `cannot open notes.txt: permission denied`, or `write failed: no space left on device` when
 * the error names no file. Undefined when `err` is not a system error.
 */
export function describeSystemError(err: unknown): string | undefined {
  if (!isSystemError(err)) return undefined;
  const e = err as SystemErrorLike;
  const syscall = typeof e.syscall === 'string' ? e.syscall : undefined;
  const action = syscall === undefined ? undefined : SYSCALL_ACTIONS[syscall];
  if (typeof e.path === 'string')
    return `cannot ${action ?? syscall ?? 'use'} ${e.path}: ${describeErrno(err, action)}`;
  return `${syscall ?? 'a system call'} failed: ${describeErrno(err, action)}`;
}
