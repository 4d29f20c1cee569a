// One engine thread of the wasm backend: a nested worker started by the engine worker, running
// kernel jobs on the shared memory until the backend is disposed (see serveEngineThread).
import { serveEngineThread } from 'tsgpt';

serveEngineThread();
