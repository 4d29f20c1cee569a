// Stands in for the wasm backend's Node host (node-platform.ts) in the page's bundle: the studio
// always hands the backend its browser platform, so Node's host (node:fs, node:worker_threads)
// is never loaded here and has no place in the bundle. vite.config.ts points the import here.
export const nodePlatform = undefined;
