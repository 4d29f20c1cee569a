// The studio's server (src/cli/studio-server.ts, what `tsgpt studio` runs): it listens on
// 127.0.0.1 only, sends the built app with its MIME types and the cross-origin isolation
// headers, serves nothing outside the app's folder, and refuses a bad port or a missing build
// in one line. No browser needed (test/studio.test.ts drives the page itself).

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { STUDIO_DIR, type StudioServer, startStudioServer } from '../src/cli/studio-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

let server: StudioServer;
before(async () => {
  server = await startStudioServer({ port: 0 });
});
after(async () => {
  await server.close();
});

/** One raw HTTP request (no fetch: it would not let us set the Host header). */
function get(
  path: string,
  opts: { method?: string; host?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: opts.method ?? 'GET',
        headers: { host: opts.host ?? `127.0.0.1:${server.port}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('the page, its script, the kernels and Tiny Shakespeare come with their types and the isolation headers', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(index.headers['cross-origin-embedder-policy'], 'require-corp');
  assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
  assert.match(index.body.toString(), /<div id="app">/);
  const assets = readdirSync(join(STUDIO_DIR, 'assets'));
  const want: [RegExp, string][] = [
    [/^tsgpt-simd-.*\.wasm$/, 'application/wasm'],
    [/^tsgpt-relaxed-.*\.wasm$/, 'application/wasm'],
    [/^index-.*\.js$/, 'text/javascript; charset=utf-8'],
    [/^index-.*\.css$/, 'text/css; charset=utf-8'],
    [/^tinyshakespeare-.*\.txt$/, 'text/plain; charset=utf-8'],
  ];
  for (const [pattern, type] of want) {
    const name = assets.find((a) => pattern.test(a));
    assert.ok(name, `no asset matching ${pattern} in dist/studio/assets`);
    const r = await get(`/assets/${name}`);
    assert.equal(r.status, 200, name);
    assert.equal(r.headers['content-type'], type, name);
    assert.equal(r.headers['cross-origin-resource-policy'], 'same-origin', name);
  }
  const wasm = await get(`/assets/${assets.find((a) => a.endsWith('.wasm'))}`);
  assert.deepEqual([...wasm.body.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d]); // \0asm
  const head = await get('/', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
});

test('nothing outside the app, no other methods, no other host names', async () => {
  assert.equal((await get('/../package.json')).status, 404);
  assert.equal((await get('/%2e%2e/%2e%2e/package.json')).status, 404);
  assert.equal((await get('/assets/')).status, 404);
  assert.equal((await get('/no-such-file.js')).status, 404);
  assert.equal((await get('/%E0%A4%A')).status, 400);
  assert.equal((await get('/', { method: 'POST' })).status, 405);
  assert.equal((await get('/', { host: 'evil.example:80' })).status, 421);
  assert.equal((await get('/', { host: `localhost:${server.port}` })).status, 200);
});

test('a taken port, a bad port or a missing build: one line, nothing served', async () => {
  await assert.rejects(
    startStudioServer({ port: server.port }),
    /port \d+ is in use: pick another with --port/,
  );
  await assert.rejects(
    startStudioServer({ port: 70000 }),
    /port 70000 must be a whole number from 0 to 65535/,
  );
  const empty = mkdtempSync(join(tmpdir(), 'tsgpt-studio-'));
  try {
    await assert.rejects(
      startStudioServer({ port: 0, root: empty }),
      /the studio is not built .* run npm run build/,
    );
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
  const r = spawnSync(process.execPath, [CLI, 'studio', '--port', '99999'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^tsgpt studio: --port must be <= 65535, got 99999/);
});

test('tsgpt studio prints its address, serves, and stops on Ctrl-C', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [CLI, 'studio', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before printing its address`)));
  });
  assert.match(
    line,
    /^tsgpt studio: open http:\/\/127\.0\.0\.1:\d+\/ \(serving on 127\.0\.0\.1 only; Ctrl-C to stop\)/,
  );
  const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(line)![0];
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    child.kill('SIGINT');
  });
  assert.equal(code, 130);
});
