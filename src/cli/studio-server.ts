// Serves the built studio (dist/studio/, made by `npm run build`) with node:http on 127.0.0.1
// only: static files with their MIME types (application/wasm included) and the headers that
// make the page cross-origin isolated, so the engine may share memory with its threads
// (COOP/COEP, CORP on every file), plus a Content-Security-Policy that lets the page load
// nothing from anywhere else. Used by `tsgpt studio` and the browser tests. Not a general web
// server: GET and HEAD of files inside the app's folder, nothing else.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsgptError, UsageError } from '../errors.js';

/** Where `npm run build` puts the app: dist/studio/ (this file is dist/src/cli/studio-server.js). */
export const STUDIO_DIR = fileURLToPath(new URL('../../studio/', import.meta.url));

/** The one interface the studio listens on. */
export const STUDIO_HOST = '127.0.0.1';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.bpe': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Headers on every answer: cross-origin isolation, and no loading from other origins.
 * 'unsafe-eval': the Lessons view runs the code cells a reader edits (compiled in the page, run
 * with new Function in the lesson worker); connect-src 'self' still keeps that code from
 * reaching any other origin.
 */
export const STUDIO_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'; worker-src 'self'; connect-src 'self'; " +
    "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; font-src 'self'; object-src 'none'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

export interface StudioServer {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface StudioServerOptions {
  /** TCP port (default 4173); 0 picks a free one */
  port?: number;
  /** the built app's folder (default STUDIO_DIR) */
  root?: string;
}

/**
 * Starts serving the built app; resolves once it listens. Fails with one line when the app was
 * not built or the port is taken or not allowed.
 * @example const s = await startStudioServer({ port: 0 }); console.log(s.url); await s.close();
 */
export async function startStudioServer(opts: StudioServerOptions = {}): Promise<StudioServer> {
  const root = normalize(opts.root ?? STUDIO_DIR);
  const port = opts.port ?? 4173;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`studio: port ${port} must be a whole number from 0 to 65535`);
  try {
    await stat(join(root, 'index.html'));
  } catch {
    throw new TsgptError(
      `the studio is not built (${join(root, 'index.html')} is missing): run npm run build in the tsgpt checkout`,
    );
  }
  const server = createServer((req, res) => {
    serve(root, req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE')
        reject(new UsageError(`studio: port ${port} is in use: pick another with --port`));
      else if (e.code === 'EACCES')
        reject(new UsageError(`studio: not allowed to listen on port ${port}: pick another with --port`));
      else reject(new TsgptError(`studio: cannot listen on ${STUDIO_HOST}:${port} (${e.code ?? e.message})`));
    });
    server.listen(port, STUDIO_HOST, () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://${STUDIO_HOST}:${actual}/`,
    port: actual,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...STUDIO_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}

async function serve(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed');
  }
  // another site's page must not reach this server through a name that resolves here (DNS rebinding)
  const host = (req.headers.host ?? '').toLowerCase();
  if (!/^(127\.0\.0\.1|localhost)(:\d+)?$/.test(host)) return send(res, 421, 'wrong host');
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return send(res, 400, 'bad path');
  }
  if (path.endsWith('/')) path += 'index.html';
  const file = normalize(join(root, path));
  if (!file.startsWith(root.endsWith(sep) ? root : root + sep) || path.includes('\0'))
    return send(res, 404, 'not found');
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) return send(res, 404, 'not found');
    size = st.size;
  } catch {
    return send(res, 404, 'not found');
  }
  res.writeHead(200, {
    ...STUDIO_HEADERS,
    'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': size,
    'Cache-Control': 'no-cache',
  });
  if (req.method === 'HEAD') return void res.end();
  await new Promise<void>((resolve, reject) => {
    createReadStream(file).on('error', reject).on('end', resolve).pipe(res);
  });
}
