// Checkpoints as one safetensors file: the weights under their GPT-2 names, the AdamW moments
// as two flat tensors, and everything else (format version, model and training config,
// tokenizer, step, best val loss, RNG state) as JSON in the header's metadata. Any safetensors
// reader can open it. Bytes in, bytes out: writing files (atomically) is the caller's job.

import type { Backend, FloatArray } from '../backend/backend.js';
import { CheckpointError, TsgptError } from '../errors.js';
import { type GPTConfig, validateModelConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { INT8_ROWWISE, int8Tensors, loadInt8 } from '../model/quantize.js';
import type { TokenizerJSON } from '../tokenizer/tokenizer.js';
import type { RngState } from '../util/rng.js';
import {
  type DecodedTensor,
  decodeSafetensors,
  encodeSafetensors,
  type Int8Tensor,
  type TensorToEncode,
} from '../util/safetensors.js';
import { type TrainConfig, validateConfig } from './config.js';
import type { AdamW } from './optimizer.js';

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
  /**
   * 'int8-rowwise' for an int8 model (src/model/quantize.ts: `tsgpt quantize`), which samples and
   * evaluates but cannot be trained; absent for float32 checkpoints (every earlier one).
   */
  quantization?: typeof INT8_ROWWISE;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  weights: Map<string, DecodedTensor>;
  /** AdamW moments (flat, in ParamStore order) when saved with an optimizer */
  optimizer: { m: Float32Array; v: Float32Array } | null;
  /** an int8 checkpoint's int8 weights and their `.scale` rows (weights holds the float32 rest) */
  int8?: { values: Map<string, Int8Tensor>; scales: Map<string, DecodedTensor> };
}

const toF32 = (a: FloatArray): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

/** Serialises a model (and optionally its optimizer) to safetensors bytes. */
export function encodeCheckpoint(
  model: GPT,
  optimizer: AdamW | null,
  meta: Omit<CheckpointMeta, 'format' | 'version' | 'config'>,
): Uint8Array {
  const tensors = new Map<string, TensorToEncode>();
  for (const [name, p] of model.stateDict()) tensors.set(name, { shape: p.shape, data: toF32(p.data) });
  if (meta.quantization === INT8_ROWWISE) for (const [name, t] of int8Tensors(model)) tensors.set(name, t);
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
  const file = decodeSafetensors(bytes, { source, copy: true, int8: true });
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
  const int8 = file.int8 ?? new Map<string, Int8Tensor>();
  const quantized = meta.quantization !== undefined;
  if (quantized && meta.quantization !== INT8_ROWWISE)
    throw new CheckpointError(`${source}: unknown quantization ${JSON.stringify(meta.quantization)}`);
  if (!quantized && int8.size > 0)
    throw new CheckpointError(`${source}: int8 tensors in a checkpoint that records no quantization`);
  const scales = new Map<string, DecodedTensor>();
  for (const [name, t] of file.tensors) {
    if (name === 'optimizer.exp_avg') m = t.data;
    else if (name === 'optimizer.exp_avg_sq') v = t.data;
    else if (quantized && name.endsWith('.scale') && int8.has(name.slice(0, -'.scale'.length)))
      scales.set(name, t);
    else weights.set(name, t);
  }
  if ((m === null) !== (v === null) || (m && v && m.length !== v.length))
    throw new CheckpointError(`${source}: optimizer state is incomplete`);
  const ck: Checkpoint = { meta, weights, optimizer: m && v ? { m, v } : null };
  return quantized ? { ...ck, int8: { values: int8, scales } } : ck;
}

/**
 * A model with the checkpoint's weights, on backend (grads: false for sampling and evaluation:
 * no gradient buffer).
 * @example const model = modelFromCheckpoint(decodeCheckpoint(bytes, 'ckpt'), be, false);
 */
export function modelFromCheckpoint(ck: Checkpoint, backend: Backend, grads = true): GPT {
  if (ck.int8) {
    // an int8 model: the int8 weights first (they leave the flat buffer), then the float32 rest
    if (grads) throw new CheckpointError(INT8_NOT_TRAINABLE);
    const model = new GPT(ck.meta.config, backend, { init: false, grads: false });
    loadInt8(model, ck.int8.values, ck.int8.scales, 'int8 checkpoint');
    model.loadStateDict(ck.weights);
    return model;
  }
  const model = new GPT(ck.meta.config, backend, { init: false, grads });
  model.loadStateDict(ck.weights);
  return model;
}

/** What training an int8 checkpoint says (run setup names the file before it). */
export const INT8_NOT_TRAINABLE =
  'an int8 checkpoint (tsgpt quantize) samples and evaluates but cannot be trained: resume or init from the float32 checkpoint it was made from';
