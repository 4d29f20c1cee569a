// safetensors: the weight format of tsgpt checkpoints, readable by any safetensors reader
// (Hugging Face's `safetensors`, candle, ...). Bytes in, bytes out: no files, no Node APIs, so
// the same code runs in a browser. Decoding validates the whole header before touching data:
// a malformed file is refused with a CheckpointError naming the reason, never half-loaded.
// Layout: u64 little-endian header length N | N bytes of JSON header | tensor data.

import { CheckpointError, shapeStr } from '../errors.js';

/** Element types a safetensors header may name (the full list from the format). */
export type SafetensorsDtype =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64'
  | 'F8_E4M3'
  | 'F8_E5M2';

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

/** The float dtypes decoded into a Float32Array (F16, BF16 and F64 are converted). */
export type FloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';
const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16', 'F64']);

/** A tensor to write: float32 (tsgpt keeps every trained weight in f32), or int8 (int8 models). */
export type TensorToEncode =
  | { readonly dtype?: 'F32'; readonly shape: readonly number[]; readonly data: Float32Array }
  | Int8Tensor;

/** An int8 tensor (int8 models' weights: src/model/quantize.ts), read with DecodeOptions.int8. */
export interface Int8Tensor {
  readonly dtype: 'I8';
  readonly shape: readonly number[];
  readonly data: Int8Array;
}

/** A decoded tensor: `dtype` is what the file stored; `data` is float32 either way. */
export interface DecodedTensor {
  readonly dtype: FloatDtype;
  readonly shape: number[];
  readonly data: Float32Array;
}

/** One header entry, validated: offsets are relative to the start of the data section. */
export interface HeaderEntry {
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** Entries in file order (sorted by offset). */
  readonly entries: Map<string, HeaderEntry>;
  readonly metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  readonly dataStart: number;
}

export interface SafetensorsFile {
  readonly tensors: Map<string, DecodedTensor>;
  readonly metadata: Record<string, string>;
  /** the I8 tensors, when decoded with `int8: true` (absent otherwise) */
  readonly int8?: Map<string, Int8Tensor>;
}

export interface DecodeOptions {
  /** Named in error messages, e.g. the file path. */
  readonly source?: string;
  /** Tensors to leave out (still validated), e.g. HF GPT-2's `attn.bias` mask buffers. */
  readonly skip?: (name: string) => boolean;
  /** Always copy data. Default: F32 tensors that sit 4-byte aligned are views into `bytes`. */
  readonly copy?: boolean;
  /** Read I8 tensors too (copied), into SafetensorsFile.int8; otherwise an I8 tensor is refused. */
  readonly int8?: boolean;
}

/** Largest header accepted (the same limit as the reference Rust implementation). */
export const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Serialize float32 tensors (in the map's order) and optional string metadata.
 * The header is padded with spaces so tensor data starts 8-byte aligned.
 * @example
 * const bytes = encodeSafetensors(new Map([['w', { shape: [2], data: new Float32Array([1, 2]) }]]));
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, TensorToEncode>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        throw new CheckpointError(`safetensors encode: metadata '${k}' is not a string`);
    }
    header['__metadata__'] = metadata;
  }
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new CheckpointError(`safetensors encode: '__metadata__' is reserved`);
    const dtype = t.dtype ?? 'F32';
    if (dtype !== 'F32' && dtype !== 'I8')
      throw new CheckpointError(`safetensors encode: '${name}': only F32 and I8`);
    const n = numel(t.shape, name, 'safetensors encode');
    if (n !== t.data.length) {
      throw new CheckpointError(
        `safetensors encode: '${name}': shape ${shapeStr(t.shape)} has ${n} elements, data has ${t.data.length}`,
      );
    }
    const bytes = DTYPE_SIZE[dtype] * n;
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    if (t.dtype === 'I8') out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length), at);
    else writeF32(out, at, t.data);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Parse and validate the header only: sizes, JSON, dtypes, shapes, offsets (inside the data,
 * contiguous, no overlaps or gaps, covering it exactly), duplicate names.
 */
export function decodeSafetensorsHeader(bytes: Uint8Array, opts: DecodeOptions = {}): SafetensorsHeader {
  const where = opts.source !== undefined ? `safetensors ${opts.source}` : 'safetensors';
  const fail: (reason: string) => never = (reason) => {
    throw new CheckpointError(`${where}: ${reason}`);
  };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, a file needs at least 8 (header length)`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES))
    fail(`header length ${n64} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  const n = Number(n64);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`header does not start with '{' (header length ${n})`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('header is not a JSON object');
  const dup = firstDuplicateKey(text);
  if (dup !== null) fail(`duplicate tensor name '${dup}' in header`);

  const dataLength = bytes.length - 8 - n;
  const metadata: Record<string, string> = {};
  const list: [string, HeaderEntry][] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      fail(`'${name}': entry is not an object`);
    const e = value as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') fail(`'${name}': unknown field '${k}'`);
    }
    const dtype = e['dtype'];
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE))
      fail(`'${name}': unknown dtype ${JSON.stringify(dtype)}`);
    const shape = e['shape'];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`'${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    const offs = e['data_offsets'];
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`'${name}': data_offsets ${JSON.stringify(offs)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) fail(`'${name}': data_offsets [${begin},${end}] end before begin`);
    if (end > dataLength) {
      fail(
        `'${name}': data_offsets [${begin},${end}] past the end of the data (${dataLength} bytes): ` +
          'offsets out of range or file truncated',
      );
    }
    const size = DTYPE_SIZE[dtype as SafetensorsDtype];
    const count = numel(shape as number[], name, where);
    if (count * size !== end - begin) {
      fail(
        `'${name}': shape ${shapeStr(shape as number[])} x ${dtype} (${size} bytes) needs ${count * size} bytes, ` +
          `data_offsets [${begin},${end}] hold ${end - begin}`,
      );
    }
    list.push([name, { dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end }]);
  }
  // The data section must be tiled exactly: sorted by offset, each tensor starts where the
  // previous one ends, the last ends at the end of the file. (Same rule as the Rust reader.)
  list.sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let expected = 0;
  let prev = '';
  for (const [name, e] of list) {
    if (e.begin < expected)
      fail(`'${name}': data_offsets [${e.begin},${e.end}] overlap '${prev}' (ends at ${expected})`);
    if (e.begin > expected) {
      fail(
        `'${name}': data_offsets [${e.begin},${e.end}] leave a gap after ${prev ? `'${prev}'` : 'the header'} (${expected})`,
      );
    }
    expected = e.end;
    prev = name;
  }
  if (expected !== dataLength) {
    fail(`tensors cover ${expected} data bytes but the file holds ${dataLength}: trailing bytes`);
  }
  return { entries: new Map(list), metadata, dataStart: 8 + n };
}

/**
 * Decode a safetensors file into float32 tensors. F32 tensors are zero-copy views into
 * `bytes` when aligned (pass `copy: true` to detach them); F16, BF16 and F64 are converted.
 * Any other dtype is refused unless `skip` leaves the tensor out.
 * @example
 * const { tensors, metadata } = decodeSafetensors(bytes, { source: 'model.safetensors' });
 */
export function decodeSafetensors(bytes: Uint8Array, opts: DecodeOptions = {}): SafetensorsFile {
  const header = decodeSafetensorsHeader(bytes, opts);
  const where = opts.source !== undefined ? `safetensors ${opts.source}` : 'safetensors';
  const tensors = new Map<string, DecodedTensor>();
  const int8 = opts.int8 ? new Map<string, Int8Tensor>() : undefined;
  for (const [name, e] of header.entries) {
    if (opts.skip?.(name)) continue;
    if (int8 && e.dtype === 'I8') {
      const at = header.dataStart + e.begin;
      const data = new Int8Array(Uint8Array.prototype.slice.call(bytes, at, at + (e.end - e.begin)).buffer);
      int8.set(name, { dtype: 'I8', shape: e.shape, data });
      continue;
    }
    if (!FLOAT_DTYPES.has(e.dtype)) {
      throw new CheckpointError(
        `${where}: '${name}': dtype ${e.dtype} is not a float type (F32, F16, BF16, F64)`,
      );
    }
    const at = header.dataStart + e.begin;
    const count = (e.end - e.begin) / DTYPE_SIZE[e.dtype];
    const data = readFloats(bytes, at, count, e.dtype as FloatDtype, opts.copy === true);
    tensors.set(name, { dtype: e.dtype as FloatDtype, shape: e.shape, data });
  }
  return int8 ? { tensors, metadata: header.metadata, int8 } : { tensors, metadata: header.metadata };
}

function numel(shape: readonly number[], name: string, where: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new CheckpointError(`${where}: '${name}': bad dimension ${d}`);
    n *= d;
  }
  if (!Number.isSafeInteger(n))
    throw new CheckpointError(`${where}: '${name}': shape ${shapeStr(shape)} too large`);
  return n;
}

function writeF32(out: Uint8Array, at: number, data: Float32Array): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
  } else {
    const view = new DataView(out.buffer, out.byteOffset);
    for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i]!, true);
  }
}

function readFloats(
  bytes: Uint8Array,
  at: number,
  count: number,
  dtype: FloatDtype,
  copy: boolean,
): Float32Array {
  const abs = bytes.byteOffset + at;
  if (dtype === 'F32' && LITTLE_ENDIAN) {
    if (!copy && abs % 4 === 0) return new Float32Array(bytes.buffer, abs, count);
    // Uint8Array.prototype.slice copies even for a Node Buffer (whose own slice is a view)
    return new Float32Array(Uint8Array.prototype.slice.call(bytes, at, at + 4 * count).buffer);
  }
  const view = new DataView(bytes.buffer, abs, count * DTYPE_SIZE[dtype]);
  const out = new Float32Array(count);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (dtype === 'F64') for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  else if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32: shift the 16 bits into place
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) u32[i] = view.getUint16(2 * i, true) << 16;
  } else for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  return out;
}

/** IEEE 754 binary16 → number (exact: every half is representable in f32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * First key that occurs twice at the top level of a JSON object text, or null. JSON.parse
 * keeps the last of two equal keys silently; a header with two tensors of one name is corrupt.
 */
function firstDuplicateKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      if (depth === 1) {
        let j = i + 1;
        while (j < text.length && ' \t\r\n'.includes(text[j]!)) j++;
        if (text[j] === ':') {
          const key = JSON.parse(text.slice(start, i + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return null;
}
