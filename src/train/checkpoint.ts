// Checkpoints as one safetensors file: the weights under their GPT-2 names, the AdamW moments
// as two flat tensors, and everything else (format version, model and training config,
// tokenizer, step, best val loss, RNG state) as JSON in the header's metadata. Any safetensors
// reader can open it. Bytes in, bytes out: writing files (atomically) is the caller's job.

import type { Backend, FloatArray } from '../backend/backend.js';
import { CheckpointError, TsgptError } from '../errors.js';
import { type GPTConfig, validateModelConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import type { TokenizerJSON } from '../tokenizer/tokenizer.js';
import type { RngState } from '../util/rng.js';
import {
  type DecodedTensor,
  decodeSafetensors,
  encodeSafetensors,
  type TensorToEncode,
} from '../util/safetensors.js';
import { type TrainConfig, validateConfig } from './config.js';
import type { Optimizer } from './optimizer.js';

export const CHECKPOINT_FORMAT = 'tsgpt-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** The JSON part of a checkpoint. */
export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  config: GPTConfig;
  /** training configuration (absent for imported, never-trained weights) */
  train: TrainConfig | null;
  tokenizer: TokenizerJSON;
  /** optimizer steps taken */
  step: number;
  bestValLoss: number | null;
  rng: RngState | null;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  weights: Map<string, DecodedTensor>;
  /** AdamW moments (flat, in ParamStore order; Muon's momentum in m) when saved with an optimizer */
  optimizer: { m: Float32Array; v: Float32Array } | null;
}

const toF32 = (a: FloatArray): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

/** Serialises a model (and optionally its optimizer) to safetensors bytes. */
export function encodeCheckpoint(
  model: GPT,
  optimizer: Optimizer | null,
  meta: Omit<CheckpointMeta, 'format' | 'version' | 'config'>,
): Uint8Array {
  const tensors = new Map<string, TensorToEncode>();
  for (const [name, p] of model.stateDict()) tensors.set(name, { shape: p.shape, data: toF32(p.data) });
  if (optimizer) {
    tensors.set('optimizer.exp_avg', { shape: [optimizer.m.length], data: toF32(optimizer.m) });
    tensors.set('optimizer.exp_avg_sq', { shape: [optimizer.v.length], data: toF32(optimizer.v) });
  }
  const full: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    config: model.config,
    ...meta,
  };
  return encodeSafetensors(tensors, { format: CHECKPOINT_FORMAT, tsgpt: JSON.stringify(full) });
}

/** Parses and validates checkpoint bytes; never returns a half-valid checkpoint. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  const file = decodeSafetensors(bytes, { source, copy: true });
  const raw = file.metadata['tsgpt'];
  if (raw === undefined)
    throw new CheckpointError(
      `${source}: not a tsgpt checkpoint (no "tsgpt" metadata in the safetensors header)`,
    );
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(raw) as CheckpointMeta;
  } catch {
    throw new CheckpointError(`${source}: checkpoint metadata is not valid JSON`);
  }
  if (meta.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`${source}: unknown checkpoint format ${JSON.stringify(meta.format)}`);
  if (meta.version !== CHECKPOINT_VERSION)
    throw new CheckpointError(
      `${source}: checkpoint version ${meta.version}, this tsgpt reads version ${CHECKPOINT_VERSION}`,
    );
  try {
    meta.config = validateModelConfig(meta.config, `${source}: config`);
    if (meta.train)
      validateConfig(meta.train as unknown as Record<string, unknown>, `${source}: train config`);
  } catch (e) {
    throw e instanceof TsgptError ? new CheckpointError(e.message) : e;
  }
  if (typeof meta.tokenizer !== 'object' || meta.tokenizer === null)
    throw new CheckpointError(`${source}: checkpoint has no tokenizer`);
  if (!Number.isInteger(meta.step) || meta.step < 0)
    throw new CheckpointError(`${source}: bad step ${meta.step}`);
  const weights = new Map<string, DecodedTensor>();
  let m: Float32Array | null = null;
  let v: Float32Array | null = null;
  for (const [name, t] of file.tensors) {
    if (name === 'optimizer.exp_avg') m = t.data;
    else if (name === 'optimizer.exp_avg_sq') v = t.data;
    else weights.set(name, t);
  }
  if ((m === null) !== (v === null) || (m && v && m.length !== v.length))
    throw new CheckpointError(`${source}: optimizer state is incomplete`);
  return { meta, weights, optimizer: m && v ? { m, v } : null };
}

/**
 * A model with the checkpoint's weights, on backend (grads: false for sampling and evaluation:
 * no gradient buffer).
 * @example const model = modelFromCheckpoint(decodeCheckpoint(bytes, 'ckpt'), be, false);
 */
export function modelFromCheckpoint(ck: Checkpoint, backend: Backend, grads = true): GPT {
  const model = new GPT(ck.meta.config, backend, { init: false, grads });
  model.loadStateDict(ck.weights);
  return model;
}
