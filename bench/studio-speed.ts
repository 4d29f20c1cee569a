// The studio's engine against Node's on this machine: `baby` training steps (nanoGPT's CPU
// config on char-level Tiny Shakespeare) timed in headless Chromium, in the studio's engine
// worker with its threads (the page served cross-origin isolated by `tsgpt studio`'s server),
// and in Node with the wasm backend on all cores, alternately, a few times. Prints each run
// and the ratio of the medians (the bar: browser >= 0.8x Node). Not a test: timings on a
// shared machine are noisy.
//
//   npm run build && node dist/bench/studio-speed.js [--steps 100] [--warmup 20] [--runs 3] [--threads N]
// --threads N: that many on both sides (default: every core each side may use)

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createBackend } from '../src/backend/index.js';
import { startStudioServer } from '../src/cli/studio-server.js';
import { type StepTiming, timeTrainingSteps } from '../src/train/speed-probe.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env['TSGPT_CHROMIUM'] ?? '/usr/bin/chromium';

type Run = StepTiming;

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0)
    throw new Error(`--${name} needs a whole number, got ${process.argv[i + 1]}`);
  return v;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The same steps as the page's 'bench' request (studio/src/engine/worker.ts), in Node. */
async function nodeRun(text: string, steps: number, warmup: number, threads: number): Promise<Run> {
  const be = await createBackend('wasm', threads > 0 ? { threads } : {});
  try {
    return timeTrainingSteps(be, text, steps, warmup);
  } finally {
    await be.dispose?.();
  }
}

async function main(): Promise<void> {
  const steps = flag('steps', 100);
  const warmup = flag('warmup', 20);
  const runs = flag('runs', 3);
  const threads = flag('threads', 0);
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set TSGPT_CHROMIUM)`);
  const text = readFileSync(join(ROOT, 'assets', 'tinyshakespeare.txt'), 'utf8');
  const server = await startStudioServer({ port: 0 });
  const userDir = mkdtempSync(join(tmpdir(), 'tsgpt-bench-chromium-'));
  const ctx = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  const browser: Run[] = [];
  const node: Run[] = [];
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(600_000);
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset['ready'] === 'true');
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    console.log(
      `baby, ${steps} timed steps after ${warmup} warm-up, ${runs} runs each, alternating; ` +
        `Node ${process.version} (${availableParallelism()} cores), Chromium ${ctx.browser()?.version() ?? '?'} (${cores} cores)`,
    );
    const show = (who: string, r: Run) =>
      console.log(
        `${who.padEnd(8)} ${Math.round(r.tokensPerSec).toString().padStart(6)} tokens/s  ` +
          `${r.msPerStep.toFixed(1)} ms/step (median ${median(r.stepMs).toFixed(1)}, fastest ${Math.min(...r.stepMs).toFixed(1)})  ${r.threads} thread${r.threads === 1 ? '' : 's'}, ${r.flavor}`,
      );
    for (let i = 0; i < runs; i++) {
      const b = await page.evaluate(
        ([s, w, t]) =>
          (
            window as unknown as { tsgptStudio: { engine: { request<T>(r: object): Promise<T> } } }
          ).tsgptStudio.engine.request<Run>({
            type: 'bench',
            steps: s,
            warmup: w,
            ...(t > 0 ? { threads: t } : {}),
          }),
        [steps, warmup, threads] as const,
      );
      browser.push(b);
      show('browser', b);
      const n = await nodeRun(text, steps, warmup, threads);
      node.push(n);
      show('node', n);
    }
  } finally {
    await ctx.close();
    await server.close();
    rmSync(userDir, { recursive: true, force: true });
  }
  const bm = median(browser.map((r) => r.tokensPerSec));
  const nm = median(node.map((r) => r.tokensPerSec));
  console.log(
    `median: browser ${Math.round(bm)} tokens/s, Node ${Math.round(nm)} tokens/s: browser / Node = ${(bm / nm).toFixed(2)}`,
  );
  // on a busy machine the fastest step is the least disturbed one: compare those too
  const fastest = (rs: Run[]) => Math.min(...rs.flatMap((r) => r.stepMs));
  console.log(
    `fastest step: browser ${fastest(browser).toFixed(1)} ms, Node ${fastest(node).toFixed(1)} ms: browser / Node speed = ${(fastest(node) / fastest(browser)).toFixed(2)}`,
  );
}

main().catch((e) => {
  console.error(`studio-speed: ${(e as Error).message}`);
  process.exitCode = 1;
});
