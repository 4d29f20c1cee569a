// Vite configuration of the studio (the browser app in studio/): `npm run studio` serves it for
// development on 127.0.0.1, `npm run build` bundles it into dist/studio/, which `tsgpt studio`
// serves. Threads need a cross-origin isolated page, hence the COOP/COEP headers on both.
// The app reaches the library only through the name 'tsgpt' (aliased to its source here).

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repo = fileURLToPath(new URL('..', import.meta.url));

/** The headers that make the page cross-origin isolated (SharedArrayBuffer, engine threads). */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // relative asset paths: the built app works wherever it is served from
  base: './',
  resolve: {
    alias: [
      { find: /^tsgpt$/, replacement: `${repo}src/index.ts` },
      // the compiled kernels (npm run build puts them there)
      { find: '@kernels', replacement: `${repo}dist/src/backend/wasm/kernels` },
      { find: '@assets', replacement: `${repo}assets` },
      // the lesson runtime, shared with the tests (lessons/runtime/)
      { find: /^@lessons\/runtime$/, replacement: `${repo}lessons/runtime/index.ts` },
      // the page passes its own platform to the wasm backend: leave Node's host out of the bundle
      {
        find: /^\.\/node-platform\.js$/,
        replacement: fileURLToPath(new URL('src/engine/no-node-platform.ts', import.meta.url)),
      },
    ],
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    headers: ISOLATION_HEADERS,
    fs: { allow: [repo] },
  },
  preview: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  build: {
    outDir: `${repo}dist/studio`,
    emptyOutDir: true,
    target: 'es2022',
    // the kernels and Tiny Shakespeare stay separate files, never inlined as data: URLs
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
});
