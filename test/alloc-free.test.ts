// The steady-state training step allocates (almost) nothing on the JavaScript heap: wasm
// backend, compiled step, measured in a child process with --expose-gc (see alloc-probe.ts) as
// the growth of V8's young generation over 200 steps after warm-up, with no GC in between.
// What remains is a few boxed floating-point numbers at API boundaries (performance.now(),
// returned losses and norms): ~0.2 kB a step against ~2 MB of activations computed per step,
// i.e. one minor GC every tens of thousands of steps. The bound below fails on any real
// per-op allocation (a graph, a tensor, an args array per kernel call).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PROBE = fileURLToPath(new URL('./alloc-probe.js', import.meta.url));

test('no per-op JS heap allocation in the steady-state training step (wasm, 1 thread)', () => {
  const r = spawnSync(process.execPath, ['--expose-gc', PROBE, '1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { steps: number; youngBytes: number; gcs: number; loss: number };
  assert.ok(Number.isFinite(m.loss));
  assert.equal(m.gcs, 0, `garbage collections during ${m.steps} steps: ${m.gcs}`);
  const perStep = m.youngBytes / m.steps;
  assert.ok(perStep < 512, `${perStep.toFixed(0)} bytes allocated per step`);
});
