// Node adapter for data files: read and validate a text file, read the package's own copy of
// Tiny Shakespeare or download it (sha256 checked either way), write a prepared dataset atomically
// and load it back with its consistency checks. The only file in src/data that touches fs, fetch
// or crypto; the logic it calls is pure.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError, FileError } from '../errors.js';
import { ensureDir, writeFileAtomic, writeFilesAtomic } from '../util/atomic-write.js';
import { fileError } from '../util/file-error.js';
import {
  decodeTokens,
  encodeTokens,
  META_FILE,
  type PreparedDataset,
  parseMeta,
  TRAIN_FILE,
  VAL_FILE,
} from './dataset.js';
import { decodeText } from './text.js';

export const TINY_SHAKESPEARE_URL =
  'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt';
export const TINY_SHAKESPEARE_SHA256 = '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed';
/** Where `tsgpt prepare --download` keeps the download (relative to the working directory). */
export const TINY_SHAKESPEARE_PATH = join('data', 'tinyshakespeare.txt');
/** The package's own copy (public domain, 1,115,394 characters), relative to the package root. */
export const SHIPPED_TINY_SHAKESPEARE = 'assets/tinyshakespeare.txt';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function errCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (err instanceof Error ? err.message : String(err));
}

/**
 * The bytes of a file the user named as input. Only regular files and pipes are read: a device
 * (`/dev/zero`, `/dev/urandom`) would never end. A directory fails as reading one does (EISDIR),
 * so that callers name it their way; a device or a socket is a FileError.
 * @example const bytes = await readInputFile('out/baby/ckpt.safetensors');
 */
export async function readInputFile(path: string): Promise<Buffer> {
  const st = await stat(path);
  if (st.isDirectory())
    throw Object.assign(new Error(`EISDIR: ${path}`), { code: 'EISDIR', syscall: 'read', path });
  if (!st.isFile() && !st.isFIFO())
    throw new FileError(
      `cannot read ${path}: it is not a regular file (a device or a socket?)`,
      path,
      undefined,
    );
  return readFile(path);
}

/** A validated text file: its text, size in bytes and sha256. */
export interface TextFile {
  path: string;
  text: string;
  bytes: number;
  sha256: string;
}

/** Options of readTextFile. */
export interface ReadTextOptions {
  /** An empty file is text with no characters (for encoding), not an error (for training data). */
  allowEmpty?: boolean;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * Read a UTF-8 text file, or fail with one DataError line: `data file not found: PATH`,
 * a directory, `data file is empty: PATH`, `data file is not UTF-8 text: PATH (byte N)`, or the
 * system's reason (`cannot read PATH: permission denied`).
 * @example const { text, sha256 } = await readTextFile('data/tinyshakespeare.txt');
 */
export async function readTextFile(path: string, o: ReadTextOptions = {}): Promise<TextFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readInputFile(path);
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR')
      throw new DataError(`data file not found: ${path}`);
    if (errCode(err) === 'EISDIR') throw new DataError(`data path is a directory, not a file: ${path}`);
    throw fileError(err, 'read', path);
  }
  const empty = bytes.length === 0 || (bytes.length === 3 && UTF8_BOM.every((b, i) => bytes[i] === b));
  const text = o.allowEmpty && empty ? '' : decodeText(bytes, path);
  return { path, text, bytes: bytes.length, sha256: sha256Hex(bytes) };
}

/**
 * The package's copy of Tiny Shakespeare (`assets/tinyshakespeare.txt`), read and checked against
 * its sha256, so that `tsgpt prepare` works without a network. The package root is the folder with
 * package.json above this file (dist/src/data/ when built, src/data/ run from source). `path` is relative to
 * the working directory when the file lies under it (a checkout), else absolute (an install).
 * @example const { text } = await readShippedTinyShakespeare(); // text.length === 1115394
 */
export async function readShippedTinyShakespeare(): Promise<TextFile> {
  const root = ['../../../', '../../']
    .map((up) => new URL(up, import.meta.url))
    .find((dir) => existsSync(new URL('package.json', dir)));
  const found = root && fileURLToPath(new URL(SHIPPED_TINY_SHAKESPEARE, root));
  if (!found || !existsSync(found))
    throw new DataError(
      `the package's copy of Tiny Shakespeare (${SHIPPED_TINY_SHAKESPEARE}) is missing: pass --data FILE, or --download`,
    );
  const rel = relative(process.cwd(), found);
  const file = await readTextFile(rel.startsWith('..') || isAbsolute(rel) ? found : rel);
  if (file.sha256 !== TINY_SHAKESPEARE_SHA256)
    throw new DataError(
      `${file.path} is damaged: sha256 ${file.sha256}, expected ${TINY_SHAKESPEARE_SHA256} (reinstall, or pass --data FILE)`,
    );
  return file;
}

export interface DownloadOptions {
  /** Default: $TSGPT_DATA_URL, else the canonical char-rnn address. */
  url?: string;
  /** Expected sha256 (hex) of the file (default: Tiny Shakespeare's). */
  sha256?: string;
  /** Called as bytes arrive; `total` is undefined when the server does not say. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Give up after this long (default 120 s). */
  timeoutMs?: number;
}

/**
 * Download Tiny Shakespeare to `dest`, check its sha256 and write it atomically. Any network
 * failure or a wrong checksum is a DataError telling the user to pass a local copy instead.
 */
export async function downloadTinyShakespeare(
  dest: string,
  opts: DownloadOptions = {},
): Promise<{ path: string; bytes: number; sha256: string }> {
  const url = opts.url ?? process.env['TSGPT_DATA_URL'] ?? TINY_SHAKESPEARE_URL;
  const expected = opts.sha256 ?? TINY_SHAKESPEARE_SHA256;
  const fail = (why: string): never => {
    throw new DataError(`could not download Tiny Shakespeare (${why}): pass a local copy with --data FILE`);
  };
  let body: Uint8Array | undefined;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000) });
    if (!res.ok || !res.body) fail(`HTTP ${res.status} from ${url}`);
    const length = Number(res.headers.get('content-length'));
    const total = Number.isSafeInteger(length) && length > 0 ? length : undefined;
    const chunks: Uint8Array[] = [];
    let received = 0;
    const reader = res.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      chunks.push(r.value);
      received += r.value.length;
      opts.onProgress?.(received, total);
    }
    body = Buffer.concat(chunks);
  } catch (err) {
    if (err instanceof DataError) throw err;
    // fetch wraps the system error: "fetch failed" with cause ECONNREFUSED / ENOTFOUND / ...
    const cause = (err as { cause?: unknown }).cause;
    const why =
      (err as Error).name === 'TimeoutError'
        ? 'timed out'
        : errCode(cause ?? err).replace(/^fetch failed$/, 'offline?');
    fail(`${why} from ${url}`);
  }
  const sha = sha256Hex(body!);
  if (sha !== expected) fail(`sha256 ${sha} from ${url}, expected ${expected}`);
  await ensureDir(dirname(dest));
  await writeFileAtomic(dest, body!);
  return { path: dest, bytes: body!.length, sha256: sha };
}

/** Default output directory for a text file: `data/<name>` with `<name>` its base name sans extension. */
export function defaultOutDir(dataPath: string): string {
  const name = basename(dataPath, extname(dataPath))
    .replace(/[^\w.-]+/g, '_')
    .replace(/^\.+/, '');
  return join('data', name || 'dataset');
}

/** The three files of a prepared dataset in `dir`, with the bytes writePrepared writes. */
export function preparedFiles(dir: string, ds: PreparedDataset): { path: string; data: Uint8Array }[] {
  return [
    { path: join(dir, TRAIN_FILE), data: encodeTokens(ds.train) },
    { path: join(dir, VAL_FILE), data: encodeTokens(ds.val) },
    { path: join(dir, META_FILE), data: new TextEncoder().encode(`${JSON.stringify(ds.meta, null, 2)}\n`) },
  ];
}

/**
 * Write train.bin, val.bin and meta.json into `dir` (created if missing). All three temp files
 * are written and synced before any is renamed into place, so a failure leaves an existing
 * dataset in `dir` intact (a FileError names the file and the reason). Returns the paths written.
 * Whether an existing dataset may be replaced is the caller's decision (preparedFilesIn).
 */
export async function writePrepared(dir: string, ds: PreparedDataset): Promise<string[]> {
  const files = preparedFiles(dir, ds);
  await ensureDir(dir);
  await writeFilesAtomic(files);
  return files.map((f) => f.path);
}

/** A dataset loaded from disk, with the directory it came from. */
export interface LoadedDataset extends PreparedDataset {
  dir: string;
}

/**
 * Load a dataset written by `tsgpt prepare`, checking meta.json (version, keys, types) and that
 * the token files exist with exactly the sizes and id range meta.json promises.
 * @example const { meta, train, val } = await loadPrepared('data/tinyshakespeare');
 */
export async function loadPrepared(dir: string): Promise<LoadedDataset> {
  try {
    if (!(await stat(dir)).isDirectory())
      throw new DataError(`prepared data path is not a directory: ${dir}`);
  } catch (err) {
    if (err instanceof DataError) throw err;
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR')
      throw new DataError(`prepared data not found: ${dir} (run tsgpt prepare first)`);
    throw fileError(err, 'read', dir);
  }
  const read = async (name: string): Promise<Uint8Array> => {
    const path = join(dir, name);
    try {
      return await readInputFile(path);
    } catch (err) {
      if (errCode(err) === 'ENOENT') throw new DataError(`${path} is missing: re-run tsgpt prepare`);
      throw fileError(err, 'read', path);
    }
  };
  const metaPath = join(dir, META_FILE);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(await read(META_FILE)));
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${metaPath}: not valid JSON (${(err as Error).message})`);
  }
  const meta = parseMeta(json, metaPath);
  const train = decodeTokens(
    await read(TRAIN_FILE),
    meta.dtype,
    meta.trainTokens,
    meta.vocabSize,
    join(dir, TRAIN_FILE),
  );
  const val = decodeTokens(
    await read(VAL_FILE),
    meta.dtype,
    meta.valTokens,
    meta.vocabSize,
    join(dir, VAL_FILE),
  );
  return { dir, meta, train, val };
}
