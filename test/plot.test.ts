// The SVG loss chart (src/train/plot.ts): well-formed markup, one polyline vertex per data point,
// no NaN anywhere, sensible ticks, and the edge cases (no data, one point, missing values).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LossPoint, lossChartSvg, niceTicks } from '../src/train/plot.js';

/** Checks tags balance (a small XML well-formedness check) and returns the element names seen. */
function checkXml(svg: string): string[] {
  const stack: string[] = [];
  const seen: string[] = [];
  const body = svg.replace(/<text\b[^>]*>[^<]*<\/text>/g, '<text/>');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z]+)\b[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (close) assert.equal(stack.pop(), name, `unbalanced </${name}>`);
    else {
      seen.push(name!);
      if (!self) stack.push(name!);
    }
  }
  assert.deepEqual(stack, [], 'unclosed tags');
  // no stray angle brackets or ampersands outside tags and entities
  assert.doesNotMatch(body.replace(/<[^>]*>/g, ''), /[<>]|&(?!#\d+;|amp;|lt;|gt;|quot;)/);
  return seen;
}

function polylinePoints(svg: string, cls: string): [number, number][] {
  const m = new RegExp(`<polyline class="${cls}"[^>]*points="([^"]*)"`).exec(svg);
  if (!m) return [];
  return m[1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]);
}

const run: LossPoint[] = [];
for (let step = 0; step <= 2000; step += 10) {
  const p: LossPoint = { step, train: 4.2 * Math.exp(-step / 500) + 1.4 };
  if (step % 250 === 0) p.val = 4.2 * Math.exp(-step / 500) + 1.5;
  run.push(p);
}

describe('lossChartSvg', () => {
  test('a training run: well-formed, a vertex per point, both colours, legend, title, no NaN', () => {
    const svg = lossChartSvg(run, { title: 'baby <preset> & co' });
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const tags = checkXml(svg);
    assert.ok(tags.includes('polyline') && tags.includes('line') && tags.includes('text'));
    const train = polylinePoints(svg, 'train');
    const val = polylinePoints(svg, 'val');
    assert.equal(train.length, run.length);
    assert.equal(val.length, run.filter((p) => p.val !== undefined).length);
    assert.match(svg, /stroke="#1f77b4"/);
    assert.match(svg, /stroke="#ff7f0e"/);
    assert.match(svg, />baby &#60;preset&#62; &#38; co</);
    assert.match(svg, />train 1\.\d{4}</);
    assert.match(svg, />val 1\.\d{4}</);
    assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
    // every vertex lies inside the image, and x grows with step
    for (const [x, y] of [...train, ...val]) assert.ok(x >= 0 && x <= 720 && y >= 0 && y <= 420, `${x},${y}`);
    for (let i = 1; i < train.length; i++) assert.ok(train[i]![0] > train[i - 1]![0]);
    // lower loss is drawn higher up the image's y axis → larger y
    assert.ok(train[0]![1] < train[train.length - 1]![1]);
  });

  test('empty data: axes and a note, no curves, no NaN', () => {
    const svg = lossChartSvg([]);
    checkXml(svg);
    assert.doesNotMatch(svg, /<polyline/);
    assert.match(svg, /no data yet/);
    assert.doesNotMatch(svg, /NaN|Infinity/);
  });

  test('one point: a single vertex and a visible dot, no NaN', () => {
    const svg = lossChartSvg([{ step: 0, train: 4.17, val: 4.17 }]);
    checkXml(svg);
    assert.equal(polylinePoints(svg, 'train').length, 1);
    assert.equal(polylinePoints(svg, 'val').length, 1);
    assert.match(svg, /<circle class="train"/);
    assert.doesNotMatch(svg, /NaN|Infinity/);
  });

  test('NaN/Inf losses and missing values are skipped', () => {
    const pts: LossPoint[] = [
      { step: 0, train: 4 },
      { step: 1, train: Number.NaN },
      { step: 2, train: Number.POSITIVE_INFINITY, val: 3 },
      { step: 3, train: 2 },
    ];
    const svg = lossChartSvg(pts);
    checkXml(svg);
    assert.equal(polylinePoints(svg, 'train').length, 2);
    assert.equal(polylinePoints(svg, 'val').length, 1);
    assert.doesNotMatch(svg, /NaN|Infinity/);
  });
});

describe('niceTicks', () => {
  test('steps of 1, 2 or 5 × 10^k covering the range, without float noise', () => {
    assert.deepEqual(niceTicks(0, 2000, 6), [0, 500, 1000, 1500, 2000]);
    assert.deepEqual(niceTicks(1.43, 4.2), [1, 2, 3, 4, 5]);
    assert.deepEqual(niceTicks(1.43, 4.2, 10), [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5]);
    assert.deepEqual(niceTicks(0.1, 0.3, 2), [0.1, 0.2, 0.3]);
    assert.deepEqual(niceTicks(2, 2), [1.4, 1.6, 1.8, 2, 2.2, 2.4, 2.6]);
    for (const [lo, hi] of [
      [0.013, 0.0171],
      [-3, 7],
      [1e5, 3e5],
    ] as const) {
      const t = niceTicks(lo, hi);
      assert.ok(t[0]! <= lo && t[t.length - 1]! >= hi, `${lo}..${hi}: ${t}`);
      assert.ok(t.length >= 3 && t.length <= 12, `${t}`);
    }
  });
});
