// Compiles the AssemblyScript kernels in kernels/ to WebAssembly (dist/kernels/*.wasm): the plain
// SIMD build and the relaxed-SIMD (fused multiply-add) build. Run by `npm run build`.
await import('../kernels/build.mjs');
