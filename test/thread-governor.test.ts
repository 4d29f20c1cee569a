// ThreadGovernor decides from step times whether a multi-threaded backend uses its workers. Fed
// here with simulated machines (no clock, no threads): idle, busy, one that turns busy and idle
// again, and noisy ones, with a seeded RNG for the noise.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ThreadGovernor } from '../src/train/thread-governor.js';
import { Rng } from '../src/util/rng.js';

/** Runs `steps` steps; time(step, withWorkers) is a step's ms. Returns the mode of every step. */
function simulate(steps: number, time: (step: number, multi: boolean) => number, g = new ThreadGovernor()) {
  const modes: boolean[] = [];
  for (let i = 0; i < steps; i++) {
    const multi = g.useWorkers;
    modes.push(multi);
    g.record({ ms: time(i, multi) });
  }
  return { modes, g, alone: (from = 0, to = steps) => modes.slice(from, to).filter((m) => !m).length };
}

function noisy(seed: number, spread: number) {
  const rng = new Rng(seed);
  return (ms: number) => ms * (1 + spread * (2 * rng.uniform() - 1));
}

test('idle machine: keeps the workers; probes of one thread thin out to ~1.5% of steps', () => {
  const jitter = noisy(1, 0.1);
  const { alone, g } = simulate(2000, (_i, multi) => jitter(multi ? 60 : 100));
  assert.equal(g.multi, true);
  assert.equal(g.switches, 0);
  assert.equal(g.steps, 2000);
  assert.equal(g.aloneSteps, alone(), 'the governor counts its one-thread steps');
  assert.ok(g.probes >= 5, `${g.probes} probes`);
  // probes take 4 steps each; the interval doubles from 16 to 256
  assert.ok(alone() <= 0.03 * 2000, `${alone()} of 2000 steps on one thread`);
  assert.ok(alone(1000) <= 0.02 * 1000, `${alone(1000)} of the last 1000 steps on one thread`);
});

test('busy machine (two threads slower than one): switches to one thread at the first probe', () => {
  const jitter = noisy(2, 0.1);
  const { modes, g, alone } = simulate(1000, (_i, multi) => jitter(multi ? 130 : 105));
  assert.equal(g.multi, false);
  const firstAlone = modes.indexOf(false);
  assert.ok(firstAlone > 0 && firstAlone < 40, `first one-thread step ${firstAlone}`);
  // from then on, only probes of the workers
  assert.ok(alone(50) >= 0.95 * 950, `${alone(50)} of the last 950 steps on one thread`);
});

test('a machine that turns busy, then idle again: follows it both ways', () => {
  const jitter = noisy(3, 0.08);
  const busy = (i: number) => i >= 600 && i < 1200;
  const { modes, alone } = simulate(2000, (i, multi) =>
    jitter(busy(i) ? (multi ? 140 : 105) : multi ? 60 : 100),
  );
  assert.ok(alone(0, 600) < 40, 'idle: workers');
  // the slow steps start a probe early: one thread within a few steps of the load arriving
  const switched = modes.indexOf(false, 600);
  assert.ok(switched >= 600 && switched < 615, `switched at step ${switched}`);
  assert.ok(alone(650, 1200) > 0.9 * 550, `${alone(650, 1200)} of 550 busy steps on one thread`);
  // back to the workers after the load is gone: within a probe interval
  const back = modes.indexOf(true, 1200);
  assert.ok(back >= 1200 && back < 1200 + 300, `back to the workers at step ${back}`);
  assert.ok(alone(1600) < 0.05 * 400, `${alone(1600)} of the last 400 steps on one thread`);
});

test('busy machine where the workers look fast for a few steps after waking: few steps lost', () => {
  // the scheduler favours a thread that has just woken, so the first steps with the workers are
  // fast, the rest slower than one thread: every probe of the workers wins, then they lose
  const jitter = noisy(5, 0.05);
  let sinceWake = 0;
  const { g, alone } = simulate(3000, (_i, multi) => {
    sinceWake = multi ? sinceWake + 1 : 0;
    return jitter(multi ? (sinceWake <= 5 ? 70 : 130) : 100);
  });
  assert.equal(g.multi, false);
  assert.ok(alone() >= 0.9 * 3000, `${alone()} of 3000 steps on one thread`);
  assert.ok(alone(1000) >= 0.97 * 2000, `${alone(1000)} of the last 2000 steps on one thread`);
});

test('modes equally fast, with noise: rarely switches, never oscillates', () => {
  const jitter = noisy(4, 0.15);
  const { g } = simulate(3000, () => jitter(80));
  assert.ok(g.switches <= 12, `${g.switches} switches in 3000 steps`);
});

test('the first steps (capture, compilation) decide nothing', () => {
  const g = new ThreadGovernor();
  for (let i = 0; i < 3; i++) g.record({ ms: 5000 });
  assert.equal(g.useWorkers, true);
  assert.equal(g.probes, 0);
});
