// The backend registry: pick a Backend by name: `ref` (plain TypeScript, the definition) or
// `wasm` (WebAssembly SIMD kernels on worker threads, loaded on demand).
// Kernel code lives in ref/ and wasm/, never here.

import type { Backend, BackendName } from './backend.js';
import { RefBackend } from './ref/ref-backend.js';
import type { WasmPlatform } from './wasm/platform.js';

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
/** The most threads a wasm backend shares a kernel among (the caller included). */
export { MAX_THREADS } from './wasm/kernels/abi.js';

/** A new, independent ref backend. */
export function createRefBackend(): RefBackend {
  return new RefBackend();
}

/** The shared ref backend instance (it holds no state, so one is enough). */
export const refBackend: RefBackend = createRefBackend();

export interface CreateBackendOptions {
  /** wasm: threads taking part in big kernels, the caller included (default: all the host allows) */
  threads?: number;
  /** wasm: the host adapter (default: Node's); in a browser, browserPlatform(...) */
  platform?: WasmPlatform;
}

/**
 * The backend called `name`, ready to use. `wasm` compiles its kernels and starts its worker
 * threads (dispose() it when done); `ref` is the shared plain-TypeScript instance.
 * @example const be = await createBackend('wasm', { threads: 2 });
 */
export async function createBackend(name: BackendName, opts: CreateBackendOptions = {}): Promise<Backend> {
  if (name === 'ref') return refBackend;
  const { createWasmBackend } = await import('./wasm/index.js');
  return createWasmBackend({
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    ...(opts.platform === undefined ? {} : { platform: opts.platform }),
  });
}
