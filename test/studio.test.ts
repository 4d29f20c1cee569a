// The studio in a real browser: Debian's Chromium driven by playwright-core, the page served by
// the same server `tsgpt studio` runs. Checked from the page itself (the numbers it holds, not
// its pixels): a tiny model trains and its loss falls; text streams in with its candidates;
// attention rows sum to 1 with nothing above the diagonal; checkpoints go from the page to the
// CLI and back with the same logits; a reload resumes from IndexedDB; bad input gets a message
// and leaves the model alone; without cross-origin isolation it runs on one thread; no request
// leaves the origin. Screenshots of each view go to test-artifacts/studio/.
// Skipped (saying why) when Chromium is not installed: .ci/run installs it (scripts/ensure-chromium.sh).

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { createBackend } from '../src/backend/index.js';
import { readCheckpoint, tokenizerFromCheckpoint } from '../src/cli/common.js';
import { STUDIO_DIR, type StudioServer, startStudioServer } from '../src/cli/studio-server.js';
import { inspect } from '../src/model/inspect.js';
import { asGPT } from '../src/model/models.js';
import { modelFromCheckpoint } from '../src/train/checkpoint.js';
import { encodeSafetensors } from '../src/util/safetensors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'studio');
const CHROMIUM = process.env['TSGPT_CHROMIUM'] ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set TSGPT_CHROMIUM; .ci/run installs it)`;

/** Flags for a quiet, offline, headless Chromium in a container. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** What the tests read of window.tsgptStudio (studio/src/studio.ts). */
interface PageStudio {
  state: {
    engine: { threads: number; isolated: boolean } | null;
    data: { name: string } | null;
    model: {
      fingerprint: string;
      params: number;
      origin: string;
      canTrain: boolean;
      trainBlocked: string | null;
      tokenizer: string;
    } | null;
    status: string;
    step: number;
    savedStep: number | null;
  };
  history: { steps: { step: number; loss: number }[]; evals: { step: number; val: number }[] };
  generated: {
    id: number;
    text: string;
    before: { id: number; p: number }[];
    after: { id: number; p: number }[];
  }[];
  inside: { tokens: string[]; nLayer: number; nHead: number; attention: Float32Array[] } | null;
  engine: { request<T>(r: object): Promise<T> };
}
declare const window: { tsgptStudio: PageStudio };

/** A tiny model that trains in a few seconds. */
const TINY = {
  nLayer: 1,
  nHead: 2,
  nEmbd: 32,
  blockSize: 16,
  batchSize: 8,
  maxIters: 100,
  learningRate: 0.01,
  warmupIters: 10,
  evalInterval: 50,
  evalIters: 4,
  dropout: 0,
  seed: 1,
};

describe('the studio in Chromium', { skip }, () => {
  let server: StudioServer;
  let plain: Server | null = null;
  let ctx: BrowserContext;
  let page: Page;
  let tmp: string;
  let userDir: string;
  const requests: string[] = [];
  const pageErrors: string[] = [];

  const st = () => page.evaluate(() => window.tsgptStudio.state);
  const fingerprint = async () => (await st()).model?.fingerprint ?? null;

  async function open(url: string): Promise<void> {
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset['ready']);
    assert.equal(await page.evaluate(() => document.body.dataset['ready']), 'true');
  }

  async function setFields(values: Record<string, number>): Promise<void> {
    await page.click('a[href="#train"]');
    await page.selectOption('[data-testid=preset]', 'tiny');
    for (const [k, v] of Object.entries(values)) await page.fill(`[data-testid=field-${k}]`, String(v));
  }

  /** The one message line on show (each card has its own), after an action. */
  async function message(): Promise<string> {
    const m = page.locator('[data-testid=message]:visible');
    await m.first().waitFor();
    return (await m.first().textContent()) ?? '';
  }

  async function clearMessages(): Promise<void> {
    await page.evaluate(() => {
      document.querySelectorAll<HTMLElement>('[data-testid=message]').forEach((el) => {
        el.hidden = true;
      });
    });
  }

  async function waitStatus(status: string): Promise<void> {
    await page.waitForFunction((s) => window.tsgptStudio.state.status === s, status);
  }

  const pageLogits = (prompt: string) =>
    page.evaluate(
      async (p) =>
        Array.from(await window.tsgptStudio.engine.request<Float32Array>({ type: 'logits', prompt: p })),
      prompt,
    );

  /** The logits the CLI's own loader gives for a checkpoint file. */
  async function cliLogits(file: string, prompt: string): Promise<number[]> {
    const ck = await readCheckpoint(file);
    const be = await createBackend('wasm', { threads: 1 });
    try {
      const model = asGPT(modelFromCheckpoint(ck, be, false));
      return Array.from(inspect(model, tokenizerFromCheckpoint(ck, file).encode(prompt)).logits);
    } finally {
      await be.dispose?.();
    }
  }

  function assertClose(a: number[], b: number[], what: string): void {
    assert.equal(a.length, b.length, `${what}: ${a.length} vs ${b.length} logits`);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    assert.ok(worst < 1e-4, `${what}: logits differ by up to ${worst}`);
  }

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'tsgpt-studio-test-'));
    userDir = mkdtempSync(join(tmpdir(), 'tsgpt-chromium-'));
    server = await startStudioServer({ port: 0 });
    ctx = await chromium.launchPersistentContext(userDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      acceptDownloads: true,
      viewport: { width: 1440, height: 900 },
    });
    ctx.on('request', (r) => requests.push(r.url()));
    page = ctx.pages()[0] ?? (await ctx.newPage());
    // generous: the machine running the suite may be busy with other work
    page.setDefaultTimeout(120_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await open(server.url);
  });

  after(async () => {
    await ctx?.close();
    await server?.close();
    plain?.close();
    for (const d of [tmp, userDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  test('the engine starts on worker threads: the page is cross-origin isolated', async () => {
    const s = await st();
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    assert.equal(s.engine?.isolated, true);
    assert.equal(s.engine?.threads, Math.min(cores, 64));
    assert.match((await page.textContent('[data-testid=engine]')) ?? '', /wasm · .*SIMD · \d+ threads?/);
    assert.equal(s.data?.name, 'tinyshakespeare');
  });

  test('a tiny model trains 100 steps and its loss falls', async () => {
    await setFields(TINY);
    await page.click('[data-testid=train]');
    await waitStatus('done');
    const h = await page.evaluate(() => window.tsgptStudio.history);
    assert.equal(h.steps.length, 100);
    assert.deepEqual(
      h.steps.map((p) => p.step),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    const mean = (xs: { loss: number }[]) => xs.reduce((a, p) => a + p.loss, 0) / xs.length;
    const first = mean(h.steps.slice(0, 10));
    const last = mean(h.steps.slice(-10));
    assert.ok(first > 3.8, `an untrained model scores about ln(65) = 4.17, got ${first}`);
    assert.ok(last < first - 0.5, `loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    assert.deepEqual(
      h.evals.map((e) => e.step),
      [0, 50, 100],
    );
    assert.ok(h.evals[2]!.val < h.evals[0]!.val - 0.5, `val loss ${h.evals[0]!.val} -> ${h.evals[2]!.val}`);
    assert.equal((await page.textContent('[data-testid=tile-step]'))?.replace(/\s/g, ''), '100/100');
    await page.screenshot({ path: join(ARTIFACTS, 'train.png') });
  });

  test('generated text streams in, and each token shows the candidates it was drawn from', async () => {
    await page.click('a[href="#generate"]');
    await page.fill('[data-testid=prompt]', 'ROMEO:\n');
    await page.fill('[data-testid=max-tokens]', '60');
    await page.click('[data-testid=generate]');
    await page.waitForFunction(() => window.tsgptStudio.generated.length === 60);
    await page.waitForFunction(() => document.querySelector('[data-testid=gen-speed]')?.textContent !== '');
    const text = (await page.textContent('[data-testid=output]')) ?? '';
    assert.ok(text.startsWith('ROMEO:\n') && text.length > 'ROMEO:\n'.length + 30, JSON.stringify(text));
    const gen = await page.evaluate(() => window.tsgptStudio.generated);
    for (const t of gen) {
      assert.ok(
        t.after.some((c) => c.id === t.id),
        `token ${t.id} was not among the candidates`,
      );
      for (let i = 1; i < t.before.length; i++) assert.ok(t.before[i - 1]!.p >= t.before[i]!.p);
      assert.ok(t.after.reduce((a, c) => a + c.p, 0) <= 1 + 1e-6);
    }
    assert.equal(gen.map((t) => t.text).join(''), text.slice('ROMEO:\n'.length));
    await page.locator('.output .tok').nth(7).click();
    assert.equal(await page.locator('[data-testid=candidates] table').count(), 2);
    await page.screenshot({ path: join(ARTIFACTS, 'generate.png') });
  });

  test('attention heatmaps: every row sums to 1 and nothing is above the diagonal', async () => {
    await page.click('a[href="#inside"]');
    await page.fill('[data-testid=inside-prompt]', 'First Citizen:\nBefore we proceed');
    await page.click('[data-testid=inspect]');
    // the tiny model's context is 16 tokens: it looks at the prompt's last 16 characters
    await page.waitForFunction(
      () => window.tsgptStudio.inside?.tokens.join('') === 'First Citizen:\nBefore we proceed'.slice(-16),
    );
    const r = await page.evaluate(() => {
      const x = window.tsgptStudio.inside!;
      return {
        T: x.tokens.length,
        nLayer: x.nLayer,
        nHead: x.nHead,
        att: x.attention.map((a) => Array.from(a)),
      };
    });
    assert.equal(r.T, 16); // the context of the tiny model: the prompt's last 16 characters
    assert.equal(r.att.length, r.nLayer);
    for (const [l, a] of r.att.entries()) {
      assert.equal(a.length, r.nHead * r.T * r.T);
      for (let hd = 0; hd < r.nHead; hd++)
        for (let i = 0; i < r.T; i++) {
          let sum = 0;
          for (let j = 0; j < r.T; j++) {
            const p: number = a[(hd * r.T + i) * r.T + j]!;
            if (j > i) assert.equal(p, 0, `layer ${l} head ${hd}: position ${i} sees the future ${j}`);
            sum += p;
          }
          assert.ok(Math.abs(sum - 1) < 1e-5, `layer ${l} head ${hd} row ${i} sums to ${sum}`);
        }
    }
    assert.equal(await page.locator('[data-testid=attention-grid] canvas').count(), r.nLayer * r.nHead);
    await page.screenshot({ path: join(ARTIFACTS, 'inside.png'), fullPage: true });
  });

  test('a checkpoint downloaded from the page gives the same logits in the CLI, and samples there', async () => {
    await page.click('a[href="#train"]');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download]')]);
    assert.match(dl.suggestedFilename(), /^tsgpt-step100\.safetensors$/);
    const file = join(tmp, 'from-page.safetensors');
    await dl.saveAs(file);
    const prompt = 'ROMEO:\nWhat';
    assertClose(await pageLogits(prompt), await cliLogits(file, prompt), 'page vs CLI');
    const r = spawnSync(
      process.execPath,
      [CLI, 'sample', '--ckpt', file, '--prompt', 'ROMEO:', '--greedy', '--max-new-tokens', '40'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    // the page's greedy text for the same prompt is the CLI's
    await page.click('a[href="#generate"]');
    await page.fill('[data-testid=prompt]', 'ROMEO:');
    await page.fill('[data-testid=max-tokens]', '40');
    await page.check('[data-testid=greedy]');
    await page.click('[data-testid=generate]');
    await page.waitForFunction(() => window.tsgptStudio.generated.length === 40);
    await page.waitForFunction(() => document.querySelector('[data-testid=gen-speed]')?.textContent !== '');
    await page.uncheck('[data-testid=greedy]');
    assert.equal(`${(await page.textContent('[data-testid=output]')) ?? ''}\n`, r.stdout);
  });

  test('a checkpoint made by the CLI loads into the page with the same logits', async () => {
    const text = readFileSync(join(ROOT, 'assets', 'tinyshakespeare.txt'), 'utf8').slice(0, 20_000);
    writeFileSync(join(tmp, 'input.txt'), text);
    const out = join(tmp, 'cli');
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'train',
        '--data',
        join(tmp, 'input.txt'),
        '--out',
        out,
        ...['--n-layer', '2', '--n-head', '2', '--n-embd', '16', '--block-size', '24', '--batch-size', '4'],
        ...[
          '--max-iters',
          '6',
          '--eval-interval',
          '3',
          '--eval-iters',
          '1',
          '--warmup-iters',
          '0',
          '--threads',
          '1',
        ],
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const file = join(out, 'ckpt.safetensors');
    await page.click('a[href="#train"]');
    await page.setInputFiles('[data-testid=load-file]', file);
    await page.waitForFunction(() => window.tsgptStudio.state.model?.origin === 'loaded');
    const s = await st();
    assert.equal(s.step, 6);
    const prompt = 'First Citizen:\nWe';
    assertClose(await pageLogits(prompt), await cliLogits(file, prompt), 'CLI vs page');
    // its 20,000 characters lack some of Tiny Shakespeare's: it cannot train on all of it, and says why
    assert.equal(s.model?.canTrain, false);
    assert.match(s.model?.trainBlocked ?? '', /cannot train on tinyshakespeare: .*character/);
  });

  test('a reload resumes training from IndexedDB', async () => {
    // far more steps than the test runs: the tiny model takes a few ms a step, so a short run could
    // finish between two of the test's clicks and leave nothing to stop
    await setFields({ ...TINY, maxIters: 100_000, evalInterval: 40 });
    await page.click('[data-testid=new-model]');
    await page.waitForFunction(
      () => window.tsgptStudio.state.model?.origin === 'new' && window.tsgptStudio.state.step === 0,
    );
    await page.click('[data-testid=train]');
    await page.waitForFunction(() => window.tsgptStudio.state.step >= 60);
    await page.click('[data-testid=pause]');
    await waitStatus('paused');
    const before = await st();
    assert.equal(before.savedStep, before.step);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset['ready'] === 'true');
    const after = await st();
    assert.equal(after.status, 'paused');
    assert.equal(after.step, before.step);
    assert.equal(after.model?.origin, 'restored');
    assert.equal(after.model?.fingerprint, before.model?.fingerprint);
    const h = await page.evaluate(() => window.tsgptStudio.history);
    assert.equal(h.steps.length, before.step);
    await page.click('[data-testid=train]');
    await page.waitForFunction((s) => window.tsgptStudio.state.step >= s + 20, before.step);
    await page.click('[data-testid=pause]');
    await waitStatus('paused');
    const resumed = (await page.evaluate(() => window.tsgptStudio.history)).steps;
    const next = resumed.find((p) => p.step === before.step + 1)!;
    assert.ok(next, 'the step after the restored one');
    assert.ok(
      next.loss < 3.5,
      `training went on from the restored weights (loss ${next.loss}), not from scratch`,
    );
    // stop ends the run where it stands, with an evaluation there
    await page.click('[data-testid=train]');
    await page.waitForFunction(() => window.tsgptStudio.state.status === 'training');
    await page.click('[data-testid=stop]');
    await waitStatus('done');
    const stopped = await st();
    assert.ok(stopped.step < 100_000);
    const evals = (await page.evaluate(() => window.tsgptStudio.history)).evals;
    assert.equal(evals.at(-1)?.step, stopped.step);
    assert.equal(stopped.savedStep, stopped.step);
    assert.match((await page.textContent('[data-testid=status]')) ?? '', /Stopped at step/);
  });

  test('bad input: a clear message each time, and the model untouched', async () => {
    await page.click('a[href="#train"]');
    const model = await fingerprint();
    assert.ok(model);
    const check = async (what: string, pattern: RegExp) => {
      const m = await message();
      assert.match(m, pattern, what);
      assert.equal(await fingerprint(), model, `${what} changed the model`);
      assert.equal((await st()).data?.name, 'tinyshakespeare', `${what} changed the data`);
      await clearMessages();
    };
    await clearMessages();
    await page.setInputFiles('[data-testid=data-file]', {
      name: 'picture.txt',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]),
    });
    await check('a binary file', /data file is not UTF-8 text: picture\.txt \(byte \d+\)/);
    await page.setInputFiles('[data-testid=data-file]', {
      name: 'empty.txt',
      mimeType: 'text/plain',
      buffer: Buffer.alloc(0),
    });
    await check('an empty file', /data file is empty: empty\.txt/);
    const other = encodeSafetensors(
      new Map([['weight', { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }]]),
      {},
    );
    await page.setInputFiles('[data-testid=load-file]', {
      name: 'other.safetensors',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(other),
    });
    await check('a safetensors file that is not a checkpoint', /other\.safetensors: not a tsgpt checkpoint/);
    const good = readFileSync(join(tmp, 'from-page.safetensors'));
    await page.setInputFiles('[data-testid=load-file]', {
      name: 'cut.safetensors',
      mimeType: 'application/octet-stream',
      buffer: good.subarray(0, Math.floor(good.length / 2)),
    });
    await check('a truncated checkpoint', /cut\.safetensors: /);
    await page.setInputFiles('[data-testid=load-file]', {
      name: 'noise.safetensors',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from('not a checkpoint at all'),
    });
    await check('noise', /noise\.safetensors: /);
    await setFields({ ...TINY, nLayer: 1000 });
    await page.click('[data-testid=new-model]');
    await check('too many layers', /Layers = 1000: must be between 1 and 16/);
    assert.equal(await page.getAttribute('[data-testid=field-nLayer]', 'aria-invalid'), 'true');
    await setFields({ ...TINY, nHead: 3 });
    await page.click('[data-testid=new-model]');
    await check('heads that do not divide the width', /nHead = 3 does not divide nEmbd = 32/);
    await setFields({ ...TINY, learningRate: -1 });
    await page.click('[data-testid=new-model]');
    await check('a negative learning rate', /Learning rate = -1: must be between/);
    await setFields({ ...TINY, nEmbd: 1024, blockSize: 1024, batchSize: 256 });
    await page.click('[data-testid=new-model]');
    await check('a model too big for the engine', /needs about [\d.]+ GiB to train/);
    assert.deepEqual(pageErrors, []);
  });

  test('a BPE tokenizer learned in the page, and the prompt coloured by token', async () => {
    await page.click('a[href="#train"]');
    await page.selectOption('[data-testid=tokenizer]', 'bpe');
    await page.waitForFunction(() =>
      /byte-level BPE \(512\)/.test(document.querySelector('[data-testid=data-summary]')?.textContent ?? ''),
    );
    await setFields({ ...TINY, maxIters: 10, evalInterval: 10, evalIters: 1 });
    await page.click('[data-testid=new-model]');
    await page.waitForFunction(() => window.tsgptStudio.state.model?.tokenizer === 'byte-level BPE (512)');
    await page.click('[data-testid=train]');
    await waitStatus('done');
    await page.click('a[href="#inside"]');
    const prompt = 'ROMEO:\nBut soft, what light';
    await page.fill('[data-testid=inside-prompt]', prompt);
    await page.click('[data-testid=inspect]');
    await page.waitForFunction((p) => window.tsgptStudio.inside?.tokens.join('') === p, prompt);
    const n = await page.evaluate(() => window.tsgptStudio.inside!.tokens.length);
    assert.ok(n < prompt.length, `${n} BPE tokens for ${prompt.length} characters`);
    assert.equal(await page.locator('.tokens-coloured span').count(), n);
    assert.equal(await page.textContent('.tokens-coloured'), prompt);
  });

  test("a checkpoint with GPT-2's tokenizer, made by the CLI, loads with the same logits", async () => {
    const out = join(tmp, 'cli-gpt2');
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'train',
        '--data',
        join(tmp, 'input.txt'),
        '--tokenizer',
        'gpt2',
        '--out',
        out,
        ...['--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '16', '--batch-size', '2'],
        ...[
          '--max-iters',
          '2',
          '--eval-interval',
          '2',
          '--eval-iters',
          '1',
          '--warmup-iters',
          '0',
          '--threads',
          '1',
        ],
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const file = join(out, 'ckpt.safetensors');
    await page.click('a[href="#train"]');
    await page.setInputFiles('[data-testid=load-file]', file);
    await page.waitForFunction(() => window.tsgptStudio.state.model?.tokenizer === 'GPT-2 BPE (50257)');
    const prompt = 'KING RICHARD: Now is the winter';
    assertClose(await pageLogits(prompt), await cliLogits(file, prompt), 'gpt2 checkpoint');
    await page.click('a[href="#inside"]');
    await page.fill('[data-testid=inside-prompt]', prompt);
    await page.click('[data-testid=inspect]');
    await page.waitForFunction((p) => window.tsgptStudio.inside?.tokens.join('') === p, prompt);
    const tokens = await page.evaluate(() => window.tsgptStudio.inside!.tokens);
    assert.equal(tokens.join(''), prompt);
    assert.ok(tokens.length < 12 && tokens.includes(' winter'), JSON.stringify(tokens));
    await page.screenshot({ path: join(ARTIFACTS, 'inside-gpt2.png'), fullPage: true });
  });

  test('without cross-origin isolation the page runs the engine on one thread, and says so', async () => {
    // the same files, without COOP/COEP: a page may then not share memory with workers
    plain = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const file = join(STUDIO_DIR, path === '/' ? 'index.html' : path);
      if (!file.startsWith(STUDIO_DIR) || !existsSync(file)) return void res.writeHead(404).end();
      const types: Record<string, string> = {
        '.html': 'text/html',
        '.js': 'text/javascript',
        '.css': 'text/css',
        '.wasm': 'application/wasm',
      };
      res
        .writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' })
        .end(readFileSync(file));
    });
    await new Promise<void>((r) => plain!.listen(0, '127.0.0.1', r));
    const port = (plain.address() as { port: number }).port;
    await open(`http://127.0.0.1:${port}/`);
    const s = await st();
    assert.deepEqual([s.engine?.isolated, s.engine?.threads], [false, 1]);
    assert.match(
      (await page.textContent('[data-testid=engine]')) ?? '',
      /1 thread: this page is not cross-origin isolated/,
    );
    await setFields({ ...TINY, maxIters: 20, evalInterval: 20 });
    await page.click('[data-testid=train]');
    await waitStatus('done');
    assert.equal((await st()).step, 20);
  });

  test('no request left the origin', () => {
    const origins = [
      new URL(server.url).origin,
      plain ? `http://127.0.0.1:${(plain.address() as { port: number }).port}` : '',
    ];
    assert.ok(requests.length > 10, `${requests.length} requests recorded`);
    const outside = requests.filter(
      (u) => !origins.some((o) => o && u.startsWith(`${o}/`)) && !/^(blob|data):/.test(u),
    );
    assert.deepEqual(outside, []);
    // the engine's own fetches (made in workers) are among those recorded
    assert.ok(requests.some((u) => u.endsWith('.wasm')));
    assert.ok(requests.some((u) => /tinyshakespeare-.*\.txt$/.test(u)));
  });
});
