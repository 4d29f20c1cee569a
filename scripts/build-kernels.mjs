// Compiles the AssemblyScript kernels in kernels/ to WebAssembly (dist/kernels/*.wasm).
// Placeholder until the wasm backend lands: succeeds when there is nothing to build.
import { existsSync } from 'node:fs';
if (!existsSync(new URL('../kernels/build.mjs', import.meta.url))) process.exit(0);
await import('../kernels/build.mjs');
