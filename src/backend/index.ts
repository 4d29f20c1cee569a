// The backend registry: pick a Backend by name. Only `ref` (plain TypeScript) exists so far;
// `wasm` (WebAssembly SIMD kernels) registers here when it lands.
// Kernel code lives in ref/ and wasm/, never here.

import type { Backend, BackendName } from './backend.js';
import { RefBackend } from './ref/ref-backend.js';

export type {
  AnyArray,
  Backend,
  BackendName,
  BinaryOp,
  DType,
  FloatArray,
  MatmulParams,
  UnaryOp,
} from './backend.js';
export { contiguousStrides, dropoutUniform, sizeOf } from './backend.js';
export { RefBackend } from './ref/ref-backend.js';

/** A new, independent ref backend. */
export function createRefBackend(): RefBackend {
  return new RefBackend();
}

/** The shared ref backend instance (it holds no state, so one is enough). */
export const refBackend: RefBackend = createRefBackend();

/**
 * The backend called `name`.
 * @example const be = getBackend('ref'); const x = be.alloc('float32', 6);
 */
export function getBackend(name: BackendName): Backend {
  switch (name) {
    case 'ref':
      return refBackend;
    case 'wasm':
      throw new Error("getBackend: the 'wasm' backend is not available yet");
  }
}
