// The lessons in the studio, in Chromium (playwright-core, the server `tsgpt studio` runs): the
// index lists all thirteen; each lesson opens with its equations typeset, and "Run all" (quick
// mode) runs every cell on the page's own engine without an error, its plots drawn; an edited
// cell runs the edit; exercises show "not yet" until solved, and a solution makes its check
// pass. Screenshots of three lessons go to test-artifacts/lessons/.
// Skipped (saying why) when Chromium is not installed, as the studio's tests are.

import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { type StudioServer, startStudioServer } from '../src/cli/studio-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'lessons');
const CHROMIUM = process.env['TSGPT_CHROMIUM'] ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set TSGPT_CHROMIUM; .ci/run installs it)`;
const LESSONS = readdirSync(join(ROOT, 'lessons'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => f.replace(/\.md$/, ''))
  .sort();
/** the lessons photographed: a heatmap, curves and a table, and the lesson with a model by hand */
const SHOTS = ['04-self-attention', '06-positional-encoding', '10-gpt-architecture'];

describe('the lessons in Chromium', { skip }, () => {
  let server: StudioServer;
  let ctx: BrowserContext;
  let page: Page;
  let userDir: string;
  const pageErrors: string[] = [];

  async function open(id: string): Promise<void> {
    await page.goto(`${server.url}#lessons/${id}`);
    await page.waitForSelector(`[data-testid=lesson][data-lesson="${id}"]`);
  }

  async function runAll(id: string): Promise<void> {
    await page.click('[data-testid=run-all]');
    await page.waitForFunction(
      (l) => document.querySelector<HTMLElement>('[data-testid=lessons-view]')?.dataset['ran'] === l,
      id,
    );
  }

  const states = () =>
    page.$$eval('[data-testid=cell]', (els) =>
      els.map((e) => ({
        role: e.getAttribute('data-role'),
        state: e.getAttribute('data-state'),
        out: e.textContent ?? '',
      })),
    );

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    userDir = mkdtempSync(join(tmpdir(), 'tsgpt-chromium-'));
    server = await startStudioServer({ port: 0 });
    ctx = await chromium.launchPersistentContext(userDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 900 },
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(240_000); // a busy machine is slow, not broken
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // quick mode, as npm test runs the lessons in Node
    await page.goto(server.url);
    await page.evaluate(() => localStorage.setItem('tsgpt-lessons-quick', '1'));
    await page.reload();
  });

  after(async () => {
    await ctx?.close();
    await server?.close();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  test('the index lists the thirteen lessons', async () => {
    await page.goto(`${server.url}#lessons`);
    await page.waitForSelector('[data-testid=lesson-link]');
    const links = await page.$$eval('[data-testid=lesson-link] a', (as) =>
      as.map((a) => a.getAttribute('href')),
    );
    assert.deepEqual(
      links,
      LESSONS.map((l) => `#lessons/${l}`),
    );
    assert.equal(LESSONS.length, 13);
    await page.screenshot({ path: join(ARTIFACTS, 'index.png') });
  });

  for (const id of LESSONS)
    test(`${id} opens, runs every cell and draws its plots`, async () => {
      await open(id);
      assert.equal(await page.isChecked('[data-testid=quick]'), true);
      assert.ok((await page.locator('.lesson-prose .katex').count()) > 0, 'equations typeset by KaTeX');
      assert.equal(await page.locator('.katex-error').count(), 0, 'no equation failed to typeset');
      await runAll(id);
      const cells = await states();
      for (const c of cells) {
        if (c.role === 'solution') assert.equal(c.state, 'idle', 'solutions do not run by themselves');
        else if (c.role === 'check')
          assert.equal(c.state, 'not-yet', `an unsolved exercise's check says not yet: ${c.out}`);
        else assert.equal(c.state, 'ok', `a ${c.role} cell ended ${c.state}: ${c.out.slice(0, 400)}`);
      }
      const drawn = await page.$$eval('figure.lesson-visual', (fs) =>
        fs.map((f) => f.querySelectorAll('rect, polyline, circle, td').length),
      );
      assert.ok(drawn.length >= 1 && drawn.every((n) => n > 0), `visuals drawn: ${drawn}`);
      assert.ok((await page.locator('.lesson-claim.ok').count()) >= 2, 'claims checked on the page');
      if (SHOTS.includes(id)) {
        await page.screenshot({ path: join(ARTIFACTS, `${id}-top.png`) });
        await page.locator('figure.lesson-visual').first().scrollIntoViewIfNeeded();
        await page.evaluate(() => window.scrollBy(0, -200));
        await page.screenshot({ path: join(ARTIFACTS, `${id}-visual.png`) });
      }
      assert.deepEqual(pageErrors, []);
    });

  test('an edited cell runs the edit, and a solution makes its check pass', async () => {
    await open('04-self-attention');
    await runAll('04-self-attention');
    const first = page.locator('[data-testid=cell][data-role=code]').first();
    const code = first.locator('[data-testid=cell-code]');
    await code.fill(`${await code.inputValue()}\nshow('edited: T is', T, 'and 6 * 7 =', 6 * 7);`);
    await first.locator('[data-testid=cell-run]').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid=cell][data-role=code]')?.getAttribute('data-state') === 'ok',
    );
    assert.match(
      (await first.locator('[data-testid=cell-out]').textContent()) ?? '',
      /edited: T is 5 and 6 \* 7 = 42/,
    );
    // a solution, then its check
    await page.locator('details.solution summary').first().click();
    await page.locator('[data-testid=cell][data-role=solution] [data-testid=cell-run]').first().click();
    const check = page.locator('[data-testid=cell][data-role=check]').first();
    await check.locator('[data-testid=cell-run]').click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid=cell][data-role=check]')?.getAttribute('data-state') === 'ok',
    );
    assert.match((await check.textContent()) ?? '', /✓/);
    assert.deepEqual(pageErrors, []);
  });
});
