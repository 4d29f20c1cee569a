// `tsgpt studio`: serves the studio, the browser app that trains, samples and opens up a GPT on
// the same engine (built into dist/studio/ by `npm run build`), on 127.0.0.1 only, until Ctrl-C.
// The serving itself is ../studio-server.ts.

import type { Args, CommandContext, FlagSpec } from '../args.js';
import { startStudioServer } from '../studio-server.js';

export const name = 'studio';
export const summary = 'Serve the studio: train, sample and look inside a GPT in your browser';
export const description =
  'Serves the browser app on http://127.0.0.1:PORT/ (this machine only) until Ctrl-C. It trains on ' +
  'Tiny Shakespeare or a text file you drop in, streams samples, and shows attention maps, ' +
  'embeddings and training statistics; checkpoints download in the format `tsgpt sample` reads. ' +
  'The page is cross-origin isolated, so the engine uses every core.';
export const flags: readonly FlagSpec[] = [
  { name: 'port', type: 'int', min: 0, max: 65535, default: 4173, help: 'TCP port (0: any free one)' },
];
export const examples = ['tsgpt studio', 'tsgpt studio --port 8080'];
export const handlesInterrupt = true;

export async function run(args: Args, ctx: CommandContext): Promise<void> {
  const server = await startStudioServer({ port: args.int('port')! });
  process.stdout.write(`tsgpt studio: open ${server.url} (serving on 127.0.0.1 only; Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
}
