// A training's --out besides the checkpoint: the lock (train.lock, holding the pid; a lock whose
// process is gone is taken over) that keeps a second training out, and log.jsonl: appended
// synchronously, one whole line per write, in order, cut back to its last whole line when a write
// fails; on resume a torn last line is removed with a warning and records past the checkpoint's
// step are dropped (training redoes them). Node-side glue for `tsgpt train`; not a general lock.

import * as nodeFs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DataError, FileError } from '../errors.js';
import { processAlive } from '../util/atomic-write.js';
import { fileError } from '../util/file-error.js';

/** The synchronous file operations the log and the lock use: node:fs, or a failing one in a test. */
export interface SyncFs {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  ftruncateSync(fd: number, len: number): void;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  readFileSync(path: string): Uint8Array;
}

/** One line of log.jsonl: `type` is config, step or eval; `step` the optimizer steps done. */
export interface LogRecord {
  type: string;
  step: number;
  [key: string]: unknown;
}

/** The name of the lock file in --out. */
export const LOCK_FILE = 'train.lock';

/**
 * log.jsonl, open for appending. Every record is one whole line written by one call, so the
 * records are in the order they happened and a reader never sees half of one; when a write
 * fails (a full disk) the file is cut back to the last whole line and the error names the file.
 */
export class RunLog {
  readonly path: string;
  private readonly fs: SyncFs;
  private fd: number;
  /** bytes of whole lines: where the file is cut back to when a write fails */
  private size: number;

  private constructor(path: string, fs: SyncFs, fd: number, size: number) {
    this.path = path;
    this.fs = fs;
    this.fd = fd;
    this.size = size;
  }

  /** A new, empty log at `path` (an existing one is replaced: the caller checked --force). */
  static create(path: string, fs: SyncFs = nodeFs): RunLog {
    let fd: number;
    try {
      // O_APPEND, then emptied: every write lands at the end, also after a cut-back (see write)
      fd = fs.openSync(path, 'a', 0o644);
    } catch (err) {
      throw fileError(err, 'write', path);
    }
    const log = new RunLog(path, fs, fd, 0);
    try {
      fs.ftruncateSync(fd, 0);
    } catch (err) {
      log.close();
      throw fileError(err, 'write', path);
    }
    return log;
  }

  /**
   * The log of a run being resumed from a checkpoint at step `at`: its records up to the
   * checkpoint, and the log open for appending after them. A torn last line is removed; records
   * from the first one past `at` are dropped (a crash lost those steps, which the resumed run
   * does again). Any other line that is not a record is an error naming the line. Returns what
   * it did as notes for the user. A missing log is started afresh.
   */
  static resume(
    path: string,
    at: number,
    fs: SyncFs = nodeFs,
  ): { log: RunLog; records: LogRecord[]; notes: string[] } {
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(path);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT')
        return {
          log: RunLog.create(path, fs),
          records: [],
          notes: [`note: ${path} was missing; starting a new one`],
        };
      throw fileError(err, 'read', path);
    }
    const records: LogRecord[] = [];
    const notes: string[] = [];
    const decoder = new TextDecoder();
    let keep = 0; // bytes kept: the cut point
    let addNewline = false;
    let dropped = 0;
    let cutAt = -1;
    for (let start = 0, line = 1; start < bytes.length; line++) {
      const nl = bytes.indexOf(10, start);
      const end = nl < 0 ? bytes.length : nl;
      const last = nl < 0 || nl === bytes.length - 1;
      const record = parseRecord(decoder.decode(bytes.subarray(start, end)));
      if (record === undefined) {
        if (!last)
          throw new DataError(
            `${path}: line ${line} is not a log record (the log is damaged): move it away to resume without it`,
          );
        notes.push(`warning: ${path}: the last line was cut short (a crash or a full disk); removed it`);
        break;
      }
      if (cutAt < 0 && record.step > at) cutAt = start;
      if (cutAt >= 0) dropped++;
      else {
        records.push(record);
        keep = nl < 0 ? bytes.length : nl + 1;
        addNewline = nl < 0; // a whole record that lost only its newline keeps it
      }
      start = nl < 0 ? bytes.length : nl + 1;
    }
    const lastStep = records.reduce((k, r) => (r.type === 'step' ? r.step : k), 0);
    if (lastStep < at && records.some((r) => r.type === 'step'))
      notes.push(
        `note: ${path} ends at step ${lastStep}, the checkpoint is at step ${at}: ` +
          'the records between were lost (a power cut?)',
      );
    if (dropped > 0)
      notes.push(
        `note: ${path}: removed ${dropped} record${dropped === 1 ? '' : 's'} from after the checkpoint ` +
          '(a crash lost those steps; they are trained again now)',
      );
    let fd: number;
    try {
      fd = fs.openSync(path, 'a', 0o644);
    } catch (err) {
      throw fileError(err, 'write', path);
    }
    const log = new RunLog(path, fs, fd, keep);
    try {
      if (keep < bytes.length) fs.ftruncateSync(fd, keep);
    } catch (err) {
      log.close();
      throw fileError(err, 'write', path);
    }
    if (addNewline) log.write(new Uint8Array([10]));
    return { log, records, notes };
  }

  /** Appends one record as one line (see the class comment for what a failure leaves). */
  append(record: object): void {
    this.write(new TextEncoder().encode(`${JSON.stringify(record)}\n`));
  }

  private write(buf: Uint8Array): void {
    let off = 0;
    try {
      while (off < buf.length) {
        const n = this.fs.writeSync(this.fd, buf, off, buf.length - off);
        if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
        off += n;
      }
    } catch (err) {
      if (off > 0) {
        try {
          this.fs.ftruncateSync(this.fd, this.size); // no half line: back to the last whole one
        } catch {
          // the next resume removes the torn line
        }
      }
      throw fileError(err, 'write', this.path);
    }
    this.size += buf.length;
  }

  /** Flushes the log to disk (at checkpoints, so that the log keeps up with them after a power cut). */
  sync(): void {
    try {
      this.fs.fsyncSync(this.fd);
    } catch (err) {
      throw fileError(err, 'write', this.path);
    }
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      this.fs.closeSync(this.fd);
    } catch {
      // nothing left to lose: every line was written whole
    }
    this.fd = -1;
  }
}

function parseRecord(line: string): LogRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  return typeof r['type'] === 'string' && typeof r['step'] === 'number' ? (r as LogRecord) : undefined;
}

/** What the lock file holds. */
interface LockInfo {
  pid: number;
  host: string;
  /** the process's start time (Linux: clock ticks since boot), to tell a reused pid apart */
  start: string | null;
  since: string;
}

/** This process's start time in clock ticks since boot (Linux), or null elsewhere. */
function processStart(pid: number | 'self'): string | null {
  try {
    const stat = nodeFs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name in parentheses (which may hold spaces); starttime is 22nd
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * The lock of a --out directory: one training at a time writes into it. Created atomically
 * (O_EXCL) holding the pid, host and start time; a lock whose process no longer runs on this
 * host (killed: kill -9, a power cut) is taken over, with a note. Released when the training
 * ends, also on process.exit (a second Ctrl-C, a failed standard output).
 */
export class OutLock {
  readonly path: string;
  private readonly info: LockInfo;
  private readonly onExit: () => void;

  private constructor(path: string, info: LockInfo) {
    this.path = path;
    this.info = info;
    this.onExit = () => this.release();
    process.on('exit', this.onExit);
  }

  /** Takes the lock of `dir` (which must exist), or throws a FileError naming the holder. */
  static acquire(dir: string): { lock: OutLock; note?: string } {
    const path = join(dir, LOCK_FILE);
    const info: LockInfo = {
      pid: process.pid,
      host: hostname(),
      start: processStart('self'),
      since: new Date().toISOString(),
    };
    let note: string | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (OutLock.tryCreate(path, info)) {
        const lock = new OutLock(path, info);
        return note === undefined ? { lock } : { lock, note };
      }
      const holder = readLock(path);
      if (holder === 'gone') continue; // released in between: try again
      if (holder !== undefined && holder.host !== info.host)
        throw new FileError(
          `${dir} is in use by a training on host ${holder.host} (pid ${holder.pid}, lock file ${path}): ` +
            'wait for it, use another --out, or remove the lock file if that training is over',
          path,
          'EBUSY',
        );
      if (holder !== undefined && holderRuns(holder))
        throw new FileError(
          `${dir} is in use by another training (pid ${holder.pid}, since ${holder.since}; lock file ${path}): ` +
            'wait for it to finish, or use another --out',
          path,
          'EBUSY',
        );
      if (holder === undefined && youngerThan(path, 2000))
        throw new FileError(
          `${dir} is being locked by another training just now (lock file ${path}): use another --out, or try again`,
          path,
          'EBUSY',
        );
      // the holder is gone (or the lock is unreadable and old): take it over
      try {
        nodeFs.unlinkSync(path);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENOENT') throw fileError(err, 'lock', path);
      }
      note =
        holder === undefined
          ? `note: ${path} was unreadable; took it over`
          : `note: ${path} was left by a training that no longer runs (pid ${holder.pid}); took it over`;
    }
    throw new FileError(`cannot lock ${path}: another training keeps taking it`, path, 'EBUSY');
  }

  /** Creates the lock file with its contents in one step; false if one exists. */
  private static tryCreate(path: string, info: LockInfo): boolean {
    let fd: number;
    try {
      fd = nodeFs.openSync(path, 'wx', 0o644);
    } catch (err) {
      if ((err as { code?: string }).code === 'EEXIST') return false;
      throw fileError(err, 'lock', path);
    }
    try {
      nodeFs.writeSync(fd, `${JSON.stringify(info)}\n`);
    } catch (err) {
      nodeFs.closeSync(fd);
      nodeFs.rmSync(path, { force: true });
      throw fileError(err, 'lock', path);
    }
    nodeFs.closeSync(fd);
    return true;
  }

  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void {
    process.off('exit', this.onExit);
    const holder = readLock(this.path);
    if (holder === undefined || holder === 'gone' || holder.pid !== this.info.pid) return;
    try {
      nodeFs.unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/** The lock's contents; 'gone' if there is no lock file; undefined if it cannot be read as one. */
function readLock(path: string): LockInfo | 'gone' | undefined {
  let text: string;
  try {
    text = nodeFs.readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return 'gone';
    return undefined;
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && typeof v.host === 'string')
      return {
        pid: v.pid,
        host: v.host,
        start: typeof v.start === 'string' ? v.start : null,
        since: typeof v.since === 'string' ? v.since : '?',
      };
  } catch {
    // a torn lock file: its writer died between creating and writing it
  }
  return undefined;
}

/** Whether the file was modified less than `ms` ago (a lock file its writer is still filling in). */
function youngerThan(path: string, ms: number): boolean {
  try {
    return Date.now() - nodeFs.statSync(path).mtimeMs < ms;
  } catch {
    return false;
  }
}

/** Whether the lock's process still runs: its pid is alive and (Linux) started when it says. */
function holderRuns(holder: LockInfo): boolean {
  if (!processAlive(holder.pid)) return false;
  if (holder.start === null) return true;
  const now = processStart(holder.pid);
  return now === null || now === holder.start;
}
