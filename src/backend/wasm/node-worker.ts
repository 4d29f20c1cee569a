// Node entry point of a kernels worker thread (node:worker_threads): receives the compiled
// module and the shared memory as workerData, says "ready", then serves jobs (worker-loop.ts).

import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInit } from './platform.js';
import { instantiateKernels, serveJobs } from './worker-loop.js';

const init = workerData as WorkerInit;
const kernels = instantiateKernels(init.module, init.memory);
parentPort?.postMessage('ready');
serveJobs(init, kernels);
