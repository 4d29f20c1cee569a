// bfloat16, the 16-bit storage of mixed precision: the top half of a float32 (same exponent
// range, 8 bits of mantissa), rounded to nearest even. Values are stored two to an int32 element
// of backend memory (Backend.alloc('int32', ceil(n / 2))) and computed on as float32 after
// widening: WebAssembly has no 16-bit float arithmetic, so what bf16 buys is memory and
// bandwidth. Not here: which tensors are stored so (the attention kernels' saved probabilities).

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The bf16 bits of x (first rounded to float32), rounded to nearest even. */
export function toBf16(x: number): number {
  F32[0] = x;
  const u = U32[0]!;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The float32 value of bf16 bits h. */
export function fromBf16(h: number): number {
  U32[0] = (h & 0xffff) << 16;
  return F32[0]!;
}

/** x rounded to bf16 precision (toBf16, then fromBf16). */
export function roundBf16(x: number): number {
  return fromBf16(toBf16(x));
}

/** The 16-bit values held by storage (n of them, two to an int32 element). */
export function bf16Values(storage: Int32Array, n: number): Uint16Array {
  return new Uint16Array(storage.buffer, storage.byteOffset, n);
}
