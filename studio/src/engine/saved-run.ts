// The run kept in this browser (IndexedDB), so that a reload continues where training stopped:
// the checkpoint bytes (the CLI's safetensors format), where the text came from (the text
// itself for a dropped file), the tokenizer choice and the loss history. One record, replaced
// at every save. Works in a worker as in a page. Not here: deciding when to save (worker.ts).

import type { History, TokenizerChoice } from './protocol.js';

/** Where the text came from, in a form that survives a reload. */
export type StoredSource = { kind: 'builtin'; name: string } | { kind: 'file'; name: string; text: string };

export interface SavedRun {
  checkpoint: Uint8Array;
  source: StoredSource;
  tokenizer: TokenizerChoice;
  history: History;
  step: number;
  savedAt: number;
}

const DB = 'tsgpt-studio';
const STORE = 'runs';
const KEY = 'current';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () =>
      reject(new Error(`IndexedDB: cannot open ${DB} (${req.error?.message ?? 'unknown'})`));
  });
}

async function transact<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result as T);
      tx.onerror = () => reject(new Error(`IndexedDB: ${tx.error?.message ?? 'transaction failed'}`));
      tx.onabort = () => reject(new Error(`IndexedDB: ${tx.error?.message ?? 'transaction aborted'}`));
    });
  } finally {
    db.close();
  }
}

export function saveRun(run: SavedRun): Promise<void> {
  return transact<void>('readwrite', (s) => s.put(run, KEY));
}

export async function loadRun(): Promise<SavedRun | null> {
  return (await transact<SavedRun | undefined>('readonly', (s) => s.get(KEY))) ?? null;
}

export function forgetRun(): Promise<void> {
  return transact<void>('readwrite', (s) => s.delete(KEY));
}
