// The steady-state training step allocates nothing on the JavaScript heap: wasm backend,
// compiled step (src/train/compiled-step.ts, which lists what it does for this and why),
// measured in a child process with --expose-gc (see alloc-probe.ts) as the growth of V8's young
// generation over 200 steps after warm-up, with no GC in between. Exactly zero, so a single
// boxed double a step fails too: besides a graph, a tensor or an args array per kernel call,
// watch for doubles passed to or returned from calls that V8 does not inline, closures in hot
// functions (their context is allocated on every call) and clock reads. To find the site:
// a sampling heap profile (HeapProfiler.startSampling with includeObjectsCollectedByMinorGC).
// This holds on Node 20 after 2,000 warm-up steps. Node 22 to 26 fully optimise a function run
// once a step much later, and box doubles until then: there it takes up to ~20,000 steps (the
// probe's third argument is the warm-up, and --no-gc keeps forced GCs out of the windows); after
// that a step allocates nothing there either.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PROBE = fileURLToPath(new URL('./alloc-probe.js', import.meta.url));

interface ProbeResult {
  steps: number;
  youngBytes: number;
  perStepBytes: number;
  gcs: number;
  loss: number;
}

function runProbe(threads: number, warmup: number, flags: readonly string[]): ProbeResult {
  const args = ['--expose-gc', PROBE, String(threads), '200', String(warmup), ...flags];
  const r = spawnSync(process.execPath, args, {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ProbeResult;
}

function probe(threads: number, flags: readonly string[] = []): void {
  // V8 optimises on a background thread: on a machine busy with other work the replay can still
  // run unoptimised code (boxing doubles) after the usual warm-up. What is claimed is the steady
  // state, so a non-zero first window gets one more try after a five times longer warm-up.
  let m = runProbe(threads, 2000, flags);
  if (m.youngBytes !== 0 || m.gcs !== 0) m = runProbe(threads, 10_000, flags);
  assert.ok(Number.isFinite(m.loss));
  assert.equal(m.gcs, 0, `garbage collections during ${m.steps} steps: ${m.gcs}`);
  assert.equal(
    m.youngBytes,
    0,
    `${m.youngBytes} bytes allocated in ${m.steps} steps (${(m.youngBytes / m.steps).toFixed(1)} a step)`,
  );
  // and no cost that grows with the steps (a one-off object of a few bytes in the longer window
  // is not a per-step cost; one boxed double a step is 16 bytes a step)
  assert.ok(m.perStepBytes < 1, `${m.perStepBytes} bytes a step from ${m.steps} to ${2 * m.steps} steps`);
}

test('no JS heap allocation in the steady-state training step (wasm, 1 thread)', () => probe(1));

test('no JS heap allocation in the steady-state training step (wasm, 2 threads)', () => probe(2));

test('no JS heap allocation in the steady-state step with gradient checkpointing (wasm, 2 threads)', () =>
  probe(2, ['--grad-checkpoint']));

test('no JS heap allocation in the steady-state step in bf16 with gradient checkpointing (wasm, 2 threads)', () =>
  probe(2, ['--bf16', '--grad-checkpoint']));
