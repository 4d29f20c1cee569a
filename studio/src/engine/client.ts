// The page's side of the engine worker: starts it, sends requests and resolves each with its
// reply, and hands the worker's events to whoever listens. Errors come back as EngineError with
// the engine's one-line message, ready to show.

import type { EngineEvent, Reply, Request } from './protocol.js';

/** A request the engine refused or failed, with its one-line reason. */
export class EngineError extends Error {
  override readonly name = 'EngineError';
}

type Listener<K extends EngineEvent['type']> = (ev: Extract<EngineEvent, { type: K }>) => void;

export class Engine {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, Set<(ev: EngineEvent) => void>>();
  /** set to 1 to stop a running generation (shared with the worker when the page may share memory) */
  readonly stopFlag: Int32Array | null;

  constructor() {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    this.stopFlag = self.crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
    this.worker.onmessage = (e: MessageEvent) => {
      const msg = e.data as Reply | EngineEvent;
      if ('id' in msg) {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new EngineError(msg.error));
        return;
      }
      for (const fn of this.listeners.get(msg.type) ?? []) fn(msg);
    };
    this.worker.onerror = (e: ErrorEvent) => {
      const err = new EngineError(`the engine stopped: ${e.message || 'unknown error'}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      for (const fn of this.listeners.get('notice') ?? [])
        fn({ type: 'notice', level: 'error', text: err.message });
    };
  }

  request<T>(req: Request, transfer: Transferable[] = []): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  on<K extends EngineEvent['type']>(type: K, fn: Listener<K>): void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as (ev: EngineEvent) => void);
  }
}
