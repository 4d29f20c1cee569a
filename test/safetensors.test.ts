// safetensors encode/decode: exact round trip, float conversions, and one test per kind of
// malformed file, each refused with a CheckpointError whose message names the reason.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CheckpointError } from '../src/errors.js';
import {
  decodeSafetensors,
  decodeSafetensorsHeader,
  encodeSafetensors,
  halfToFloat,
} from '../src/util/safetensors.js';

/** A file from a literal header (any JSON text) and a data section of `dataBytes` bytes. */
function rawFile(header: string | object, dataBytes: number | Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const data = typeof dataBytes === 'number' ? new Uint8Array(dataBytes) : dataBytes;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    },
  );
}

const sample = () =>
  new Map([
    ['transformer.wte.weight', { shape: [3, 2], data: new Float32Array([1, -2, 3.5, 1e-30, -0, Math.PI]) }],
    ['transformer.ln_f.bias', { shape: [2], data: new Float32Array([Number.NaN, Number.NEGATIVE_INFINITY]) }],
    ['scalar', { shape: [], data: new Float32Array([7]) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
  ]);

test('round trip is bit-exact, keeps order, shapes and metadata; data is 8-byte aligned', () => {
  const tensors = sample();
  const bytes = encodeSafetensors(tensors, { format: 'pt', tsgpt: '1' });
  const header = decodeSafetensorsHeader(bytes);
  assert.equal(header.dataStart % 8, 0);
  const back = decodeSafetensors(bytes);
  assert.deepEqual(back.metadata, { format: 'pt', tsgpt: '1' });
  assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    const got = back.tensors.get(name)!;
    assert.equal(got.dtype, 'F32');
    assert.deepEqual(got.shape, t.shape);
    assert.deepEqual(new Uint32Array(got.data.slice().buffer), new Uint32Array(t.data.slice().buffer), name);
  }
});

test('decode works on an unaligned copy, and copy:true detaches from the input bytes', () => {
  const bytes = encodeSafetensors(sample());
  const shifted = new Uint8Array(bytes.length + 1).subarray(1);
  shifted.set(bytes);
  assert.deepEqual(
    [...decodeSafetensors(shifted).tensors.get('transformer.wte.weight')!.data],
    [1, -2, 3.5, Math.fround(1e-30), -0, Math.fround(Math.PI)],
  );
  const detached = decodeSafetensors(bytes, { copy: true }).tensors.get('scalar')!;
  bytes.fill(0);
  assert.equal(detached.data[0], 7);
});

test('F16, BF16 and F64 are read as float32; skip leaves a tensor out', () => {
  const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00]).buffer); // 1, -2, 2^-24, inf
  const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer); // 1, -3
  const f64 = new Uint8Array(new Float64Array([0.1, -1e300]).buffer);
  const mask = new Uint8Array([1, 0, 1, 1]);
  const data = new Uint8Array([...f16, ...bf16, ...f64, ...mask]);
  const file = rawFile(
    {
      a: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
      c: { dtype: 'F64', shape: [2], data_offsets: [12, 28] },
      'h.0.attn.bias': { dtype: 'BOOL', shape: [2, 2], data_offsets: [28, 32] },
    },
    data,
  );
  refused(file, /'h\.0\.attn\.bias': dtype BOOL is not a float type/);
  const { tensors } = decodeSafetensors(file, { skip: (n) => n.endsWith('.attn.bias') });
  assert.deepEqual([...tensors.keys()], ['a', 'b', 'c']);
  assert.deepEqual([...tensors.get('a')!.data], [1, -2, 2 ** -24, Number.POSITIVE_INFINITY]);
  assert.equal(tensors.get('a')!.dtype, 'F16');
  assert.deepEqual([...tensors.get('b')!.data], [1, -3]);
  assert.deepEqual([...tensors.get('c')!.data], [Math.fround(0.1), Number.NEGATIVE_INFINITY]);
  assert.equal(halfToFloat(0xfbff), -65504);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test('truncated file is refused', () => {
  const bytes = encodeSafetensors(sample());
  refused(bytes.subarray(0, bytes.length - 3), /past the end of the data .*file truncated/);
  refused(bytes.subarray(0, 5), /truncated: 5 bytes/);
});

test('header length past the end of the file is refused', () => {
  const bytes = encodeSafetensors(sample());
  new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
  refused(bytes, new RegExp(`header length ${bytes.length} runs past the end of the file`));
  new DataView(bytes.buffer).setBigUint64(0, 2n ** 40n, true);
  refused(bytes, /header length 1099511627776 exceeds the limit/);
});

test('overlapping offsets are refused', () => {
  const file = rawFile(
    {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    },
    12,
  );
  refused(file, /'b': data_offsets \[4,12\] overlap 'a'/);
});

test('gaps and trailing bytes are refused', () => {
  const gap = rawFile(
    {
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    },
    12,
  );
  refused(gap, /'b': data_offsets \[8,12\] leave a gap after 'a'/);
  refused(
    rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 6),
    /cover 4 data bytes .* holds 6/,
  );
});

test('out-of-range offsets are refused', () => {
  const file = rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8);
  refused(file, /'a': data_offsets \[0,16\] past the end of the data \(8 bytes\)/);
  refused(
    rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 0),
    /not a pair of non-negative/,
  );
  refused(rawFile({ a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, 4), /end before begin/);
});

test('unknown (wrong) dtype is refused', () => {
  refused(rawFile({ a: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), /'a': unknown dtype "F33"/);
  refused(
    rawFile({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8),
    /'a': dtype I64 is not a float type/,
  );
});

test('shape / byte length mismatch is refused', () => {
  const file = rawFile({ a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, 20);
  refused(file, /'a': shape \(2,3\) x F32 \(4 bytes\) needs 24 bytes, data_offsets \[0,20\] hold 20/);
  refused(
    rawFile({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4),
    /not a list of non-negative/,
  );
});

test('invalid JSON, non-object header, duplicate names and unknown fields are refused', () => {
  refused(rawFile('{"a": {', 0), /header is not valid JSON/);
  refused(rawFile('[1,2]', 0), /does not start with '\{'/);
  refused(
    rawFile(
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "a" :{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      8,
    ),
    /duplicate tensor name 'a'/,
  );
  refused(
    rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4], extra: 1 } }, 4),
    /unknown field 'extra'/,
  );
  refused(rawFile({ __metadata__: { n: 1 } }, 0), /__metadata__ 'n' is not a string/);
});

test('keys inside nested objects and strings do not count as duplicates', () => {
  const file = rawFile(
    {
      __metadata__: { a: 'x', 'with "quote" and {brace': 'y' },
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    },
    4,
  );
  assert.equal(decodeSafetensors(file).tensors.size, 1);
});

test('encode validates its input', () => {
  assert.throws(
    () => encodeSafetensors(new Map([['w', { shape: [2, 2], data: new Float32Array(3) }]])),
    /'w': shape \(2,2\) has 4 elements, data has 3/,
  );
});

// The parity tests hand weights to PyTorch and read its answers back through these files:
// check the TypeScript and Python (torch.frombuffer) sides agree on the bytes.
const PY = '/usr/bin/python3';
const torchMissing = spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0;

test(
  'PyTorch reads what we write and we read what it writes',
  {
    skip: torchMissing ? `${PY} cannot import torch (run scripts/ensure-torch.sh)` : false,
  },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgpt-st-'));
    try {
      const helpers = fileURLToPath(new URL('../../test/pytorch/', import.meta.url));
      writeFileSync(join(dir, 'in.safetensors'), encodeSafetensors(sample(), { who: 'ts' }));
      const code = [
        'import sys, torch',
        `sys.path.insert(0, ${JSON.stringify(helpers)})`,
        'from gpt_torch import read_safetensors, write_safetensors',
        't, meta = read_safetensors(sys.argv[1])',
        "assert meta == {'who': 'ts'}, meta",
        "w = t['transformer.wte.weight']",
        "out = {'twice': w * 2, 'half': w.half(), 'bf16': w.bfloat16(), 'f64': w.double(), 'shape': torch.tensor(w.shape, dtype=torch.float32)}",
        "write_safetensors(sys.argv[2], out, {'who': 'torch'})",
      ].join('\n');
      const r = spawnSync(PY, ['-c', code, join(dir, 'in.safetensors'), join(dir, 'out.safetensors')], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const back = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'out.safetensors'))));
      assert.deepEqual(back.metadata, { who: 'torch' });
      const w = sample().get('transformer.wte.weight')!.data;
      assert.deepEqual([...back.tensors.get('shape')!.data], [3, 2]);
      assert.deepEqual(back.tensors.get('twice')!.shape, [3, 2]);
      assert.deepEqual(
        [...back.tensors.get('twice')!.data],
        [...w].map((x) => x * 2),
      );
      assert.deepEqual([...back.tensors.get('f64')!.data], [...w]);
      assert.equal(back.tensors.get('half')!.dtype, 'F16');
      assert.deepEqual([...back.tensors.get('half')!.data].slice(0, 3), [1, -2, 3.5]);
      assert.equal(back.tensors.get('bf16')!.data[1], -2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
