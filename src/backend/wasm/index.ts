// The wasm backend's public surface: createWasmBackend and the WasmBackend class.
export { ALIGN, FreeListAllocator } from './allocator.js';
export { type BrowserPlatformOptions, browserPlatform, canShareMemory } from './browser-platform.js';
export { serveEngineThread } from './browser-worker.js';
export type { KernelExports, KernelFlavor } from './kernels.js';
export type { WasmPlatform, WorkerHandle, WorkerInit } from './platform.js';
export {
  chooseKernelFlavor,
  createWasmBackend,
  packedWidth,
  WasmBackend,
  type WasmBackendOptions,
} from './wasm-backend.js';
