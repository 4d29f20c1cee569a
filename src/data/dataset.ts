// A prepared dataset: the text encoded once into token ids, split 90/10 into train and val
// (first 90% train, as in nanoGPT), stored as little-endian uint16 ids (uint32 when the
// vocabulary exceeds 65536) plus a small meta.json. Pure: building, serialising and validating
// live here; reading and writing the files is node-io.ts's job, so this runs in a browser.

import { DataError, TokenizerError } from '../errors.js';
import { tokenizerFromJSON } from '../tokenizer/index.js';
import type { Tokenizer, TokenizerJSON } from '../tokenizer/tokenizer.js';
import { minTokens } from './batch.js';

export const DATASET_VERSION = 1;
export const TRAIN_FILE = 'train.bin';
export const VAL_FILE = 'val.bin';
export const META_FILE = 'meta.json';
/** Share of tokens held out for validation: the last 10%. */
export const VAL_FRACTION = 0.1;

export type TokenDtype = 'uint16' | 'uint32';
/** Token ids, as a token file holds them (uint32 once the vocabulary outgrows 16 bits). */
export type TokenArray = Uint16Array | Uint32Array;

/** meta.json of a prepared dataset. */
export interface DatasetMeta {
  version: number;
  /** The tokenizer that produced the ids, in its saved form. */
  tokenizer: TokenizerJSON;
  vocabSize: number;
  dtype: TokenDtype;
  trainTokens: number;
  valTokens: number;
  /** Path of the text file the tokens came from, as given. */
  source: string;
  /** sha256 (hex) of that file's bytes. */
  sha256: string;
}

export interface PreparedDataset {
  meta: DatasetMeta;
  train: TokenArray;
  val: TokenArray;
}

/** Where the text came from, recorded in meta.json. */
export interface DataSource {
  path: string;
  sha256: string;
}

/** uint16 while every id fits in 16 bits (vocabularies up to 65536), else uint32. */
export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

/**
 * Encode `text` and split it: the first 90% of tokens train, the rest val.
 * `source` is recorded in meta.json (a browser caller may leave it out).
 * Throws DataError when the text is too short to give each split one (x, y) pair: minTokens(1).
 * @example
 * const ds = prepareDataset(text, CharTokenizer.fromText(text), { path: 'input.txt', sha256 });
 * ds.meta.trainTokens; // 1003854 for Tiny Shakespeare
 */
export function prepareDataset(
  text: string,
  tokenizer: Tokenizer,
  source: DataSource = { path: '', sha256: '' },
): PreparedDataset {
  const ids = tokenizer.encode(text);
  const vocabSize = tokenizer.vocabSize;
  const dtype = dtypeFor(vocabSize);
  const all = dtype === 'uint16' ? new Uint16Array(ids.length) : new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    // a typed array would silently wrap a bad id; a tokenizer bug must not become bad data
    if (!(id >= 0 && id < vocabSize && Number.isInteger(id)))
      throw new DataError(
        `${tokenizer.kind} tokenizer produced id ${id} at token ${i}, outside [0, ${vocabSize})`,
      );
    all[i] = id;
  }
  const nTrain = Math.floor(all.length * (1 - VAL_FRACTION));
  const nVal = all.length - nTrain;
  const least = minTokens(1); // one (x, y) pair: the shortest window there is
  if (nTrain < least || nVal < least)
    throw new DataError(
      `data file is too small: ${source.path} gives ${all.length} tokens, split ${nTrain} train / ${nVal} val; need at least ${least} in each`,
    );
  return {
    meta: {
      version: DATASET_VERSION,
      tokenizer: tokenizer.toJSON(),
      vocabSize,
      dtype,
      trainTokens: nTrain,
      valTokens: nVal,
      source: source.path,
      sha256: source.sha256,
    },
    train: all.subarray(0, nTrain),
    val: all.subarray(nTrain),
  };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes of a token file: the ids little-endian, 2 or 4 bytes each (no header). */
export function encodeTokens(tokens: TokenArray): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength).slice();
  const out = new Uint8Array(tokens.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens instanceof Uint16Array) view.setUint16(i * 2, tokens[i]!, true);
    else view.setUint32(i * 4, tokens[i]!, true);
  }
  return out;
}

/**
 * Token ids from a token file's bytes, checked against meta: the size must be exactly
 * `count` ids of `dtype`, and every id below `vocabSize`. `name` appears in errors.
 */
export function decodeTokens(
  bytes: Uint8Array,
  dtype: TokenDtype,
  count: number,
  vocabSize: number,
  name: string,
): TokenArray {
  const width = dtype === 'uint16' ? 2 : 4;
  if (bytes.byteLength !== count * width)
    throw new DataError(
      `${name} has ${bytes.byteLength} bytes but meta.json says ${count} ${dtype} tokens (${count * width} bytes): re-run tsgpt prepare`,
    );
  const tokens = dtype === 'uint16' ? new Uint16Array(count) : new Uint32Array(count);
  if (LITTLE_ENDIAN) {
    // copy through bytes: the input may sit at an offset that is not a multiple of 2 or 4
    new Uint8Array(tokens.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < count; i++)
      tokens[i] = width === 2 ? view.getUint16(i * 2, true) : view.getUint32(i * 4, true);
  }
  for (let i = 0; i < count; i++)
    if (tokens[i]! >= vocabSize)
      throw new DataError(
        `${name}: token ${i} has id ${tokens[i]}, outside the vocabulary [0, ${vocabSize}): file is corrupt`,
      );
  return tokens;
}

const META_KEYS = [
  'version',
  'tokenizer',
  'vocabSize',
  'dtype',
  'trainTokens',
  'valTokens',
  'source',
  'sha256',
];

/** Validate parsed meta.json; `where` (its path) appears in errors. Unknown keys are errors. */
export function parseMeta(json: unknown, where: string): DatasetMeta {
  const bad = (why: string): never => {
    throw new DataError(`${where}: ${why}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('not a JSON object');
  const m = json as Record<string, unknown>;
  if (m['version'] !== DATASET_VERSION)
    bad(
      `format version ${JSON.stringify(m['version'])} is not supported (expected ${DATASET_VERSION}): re-run tsgpt prepare`,
    );
  for (const k of Object.keys(m)) if (!META_KEYS.includes(k)) bad(`unknown key "${k}"`);
  for (const k of META_KEYS) if (!(k in m)) bad(`missing key "${k}"`);
  const tok = m['tokenizer'] as Record<string, unknown> | null;
  if (typeof tok !== 'object' || tok === null || typeof tok['kind'] !== 'string')
    bad('"tokenizer" must be an object with a "kind"');
  const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!isCount(m['vocabSize']) || (m['vocabSize'] as number) < 1)
    bad('"vocabSize" must be a positive integer');
  if (m['dtype'] !== 'uint16' && m['dtype'] !== 'uint32') bad(`"dtype" must be "uint16" or "uint32"`);
  if (m['dtype'] === 'uint16' && (m['vocabSize'] as number) > 65536)
    bad(`"dtype" uint16 cannot hold vocabSize ${m['vocabSize']}`);
  for (const k of ['trainTokens', 'valTokens'])
    if (!isCount(m[k])) bad(`"${k}" must be a non-negative integer`);
  if (typeof m['source'] !== 'string') bad('"source" must be a string');
  if (typeof m['sha256'] !== 'string' || !/^([0-9a-f]{64})?$/.test(m['sha256'] as string))
    bad('"sha256" must be 64 hex digits');
  // the saved tokenizer must rebuild and agree on the vocabulary (gpt2 is saved as a reference
  // to OpenAI's files, which this pure code cannot load)
  if (tok!['kind'] !== 'gpt2') {
    let size = 0;
    try {
      size = tokenizerFromJSON(tok).vocabSize;
    } catch (err) {
      if (err instanceof TokenizerError) bad(`"tokenizer": ${err.message}`);
      throw err;
    }
    if (size !== m['vocabSize']) bad(`"tokenizer" has ${size} tokens but "vocabSize" is ${m['vocabSize']}`);
  }
  return m as unknown as DatasetMeta;
}
