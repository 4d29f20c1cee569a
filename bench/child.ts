// The bench's child processes: each measurement runs in a process of its own (so that its peak
// RSS is its own and a stalled thread pool cannot stall the whole run) and reports one JSON line
// on stdout. This starts them, reads that line, and retries once after a failure. It measures
// nothing itself.

import { type SpawnOptions, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO } from './paths.js';

const HERE = new URL('.', import.meta.url); // dist/bench/

export interface ChildResult {
  json: Record<string, unknown> | null;
  /** one line saying why there is no JSON */
  error: string | null;
  /** killed for running past its time limit */
  timedOut?: boolean;
}

/**
 * Runs a command, returns the last JSON line of its stdout (or the last stderr line as error).
 * With timeoutMs, a child still running then is killed and reported as timed out.
 */
export function runChild(cmd: string, args: readonly string[], timeoutMs?: number): Promise<ChildResult> {
  return new Promise((resolve) => {
    const opts: SpawnOptions = { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] };
    const child = spawn(cmd, args, opts);
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, timeoutMs);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.on('error', (e) => resolve({ json: null, error: `${cmd}: ${e.message}` }));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        resolve({ json: null, error: `killed after ${(timeoutMs! / 1000).toFixed(0)} s`, timedOut });
        return;
      }
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (code === 0 && line) {
        try {
          resolve({ json: JSON.parse(line) as Record<string, unknown>, error: null });
          return;
        } catch {
          // fall through: report as a failure
        }
      }
      const last = err.trim().split('\n').filter(Boolean).pop() ?? '';
      const why = signal ? `killed by ${signal}` : `exit ${code}`;
      resolve({ json: null, error: `${why}${last ? `: ${last}` : ''}` });
    });
  });
}

/**
 * A tsgpt measuring script (a path relative to dist/bench/, e.g. './train-speed.js'); killed
 * after timeoutMs (default 20 min: nothing here should hang).
 */
export const node = (script: string, args: readonly string[], timeoutMs = 20 * 60_000) =>
  runChild(process.execPath, [fileURLToPath(new URL(script, HERE)), ...args], timeoutMs);

/** Once more after a pause when a measurement fails (e.g. dist/ was being rebuilt meanwhile). */
export async function retried(
  run: () => Promise<ChildResult>,
  log: (line: string) => void,
): Promise<ChildResult> {
  const first = await run();
  if (first.json || first.timedOut) return first;
  log(`  failed (${first.error}); trying once more`);
  await new Promise((r) => setTimeout(r, 3000));
  return run();
}
