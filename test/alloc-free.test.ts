// The steady-state training step allocates nothing on the JavaScript heap: wasm backend,
// compiled step, measured in a child process with --expose-gc (see alloc-probe.ts) as the growth
// of V8's young generation over 200 steps after warm-up, with no GC in between. Exactly zero, so
// a single boxed double a step fails too: besides a graph, a tensor or an args array per kernel
// call, watch for doubles passed to or returned from calls that V8 does not inline, closures in
// hot functions (their context is allocated on every call) and clock reads. To find the site:
// a sampling heap profile (HeapProfiler.startSampling with includeObjectsCollectedByMinorGC).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PROBE = fileURLToPath(new URL('./alloc-probe.js', import.meta.url));

function probe(threads: number): void {
  const r = spawnSync(process.execPath, ['--expose-gc', PROBE, String(threads)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { steps: number; youngBytes: number; gcs: number; loss: number };
  assert.ok(Number.isFinite(m.loss));
  assert.equal(m.gcs, 0, `garbage collections during ${m.steps} steps: ${m.gcs}`);
  assert.equal(
    m.youngBytes,
    0,
    `${m.youngBytes} bytes allocated in ${m.steps} steps (${(m.youngBytes / m.steps).toFixed(1)} a step)`,
  );
}

test('no JS heap allocation in the steady-state training step (wasm, 1 thread)', () => probe(1));

test('no JS heap allocation in the steady-state training step (wasm, 2 threads)', () => probe(2));
