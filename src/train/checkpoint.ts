// Checkpoints as one safetensors file: the weights under their names (GPT-2's for a GPT), the
// AdamW moments as two flat tensors, and everything else (format version, architecture, model
// and training config, tokenizer, step, best val loss, RNG state) as JSON in the header's
// metadata. Any safetensors reader can open it. Bytes in, bytes out: writing files
// (atomically) is the caller's job.

import type { Backend, FloatArray } from '../backend/backend.js';
import { CheckpointError, TsgptError } from '../errors.js';
import { ARCHS, type Arch, type GPTConfig, type ModelConfig, validateArchConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import type { LanguageModel } from '../model/language-model.js';
import { asGPT, createModel } from '../model/models.js';
import { INT8_ROWWISE, int8Tensors, loadInt8 } from '../model/quantize.js';
import type { TokenizerJSON } from '../tokenizer/tokenizer.js';
import { findNonFinite } from '../util/finite.js';
import type { RngState } from '../util/rng.js';
import {
  type DecodedTensor,
  decodeSafetensors,
  encodeSafetensors,
  type Int8Tensor,
  type SafetensorsFile,
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
  /** the model's architecture; absent in a GPT's checkpoint (and in every one from before it existed) */
  arch?: Arch;
  /** the architecture's model keys (GPTConfig for a GPT) */
  config: ModelConfig;
  /** training configuration (absent for imported, never-trained weights) */
  train: TrainConfig | null;
  tokenizer: TokenizerJSON;
  /** optimizer steps taken */
  step: number;
  bestValLoss: number | null;
  rng: RngState | null;
  /** wall time trained so far, ms: kept only by runs with a time budget (absent: 0) */
  elapsedMs?: number;
  /**
   * 'int8-rowwise' for an int8 model (src/model/quantize.ts: `tsgpt quantize`), which samples and
   * evaluates but cannot be trained; absent for float32 checkpoints (every earlier one).
   */
  quantization?: typeof INT8_ROWWISE;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  weights: Map<string, DecodedTensor>;
  /** AdamW moments (flat, in ParamStore order; Muon's momentum in m) when saved with an optimizer */
  optimizer: { m: Float32Array; v: Float32Array } | null;
  /** an int8 checkpoint's int8 weights and their `.scale` rows (weights holds the float32 rest) */
  int8?: { values: Map<string, Int8Tensor>; scales: Map<string, DecodedTensor> };
}

const toF32 = (a: FloatArray): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

/** The architecture a checkpoint holds (absent: gpt). */
export function checkpointArch(ck: Checkpoint): Arch {
  return ck.meta.arch ?? 'gpt';
}

/**
 * The GPTConfig of a GPT's checkpoint; another architecture's is refused with one line that
 * says who asked (`what`), e.g. `export: out/lstm/ckpt.safetensors holds an lstm, not a gpt`.
 */
export function gptConfigOf(ck: Checkpoint, what: string, source: string): GPTConfig {
  const arch = checkpointArch(ck);
  if (arch !== 'gpt')
    throw new CheckpointError(
      `${what}: ${source} holds a${/^[aeiou]/.test(arch) ? 'n' : ''} ${arch}, not a gpt`,
    );
  return ck.meta.config as GPTConfig;
}

/** Serialises a model (and optionally its optimizer) to safetensors bytes. */
export function encodeCheckpoint(
  model: LanguageModel,
  optimizer: Optimizer | null,
  meta: Omit<CheckpointMeta, 'format' | 'version' | 'config' | 'arch'>,
): Uint8Array {
  const tensors = checkpointTensors(model.stateDict(), optimizer);
  if (meta.quantization === INT8_ROWWISE)
    for (const [name, t] of int8Tensors(asGPT(model, 'an int8 checkpoint'))) tensors.set(name, t);
  const full: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    // a GPT's checkpoint stays exactly as it was before there were other architectures
    ...(model.arch === 'gpt' ? {} : { arch: model.arch }),
    config: model.config,
    ...meta,
  };
  return encodeSafetensors(tensors, { format: CHECKPOINT_FORMAT, tsgpt: JSON.stringify(full) });
}

/**
 * What a checkpoint may hold, in its optional `arch` field: a language model of `tsgpt train`
 * (absent means a GPT: every checkpoint written before the field existed), or 'encoder-decoder',
 * the original transformer of `tsgpt seq2seq` (src/train/seq2seq-checkpoint.ts reads those).
 */
export type CheckpointArch = Arch | 'encoder-decoder';
const CHECKPOINT_ARCHS: readonly CheckpointArch[] = [...ARCHS, 'encoder-decoder'];

/**
 * A checkpoint file's safetensors contents and its metadata as parsed JSON, with the format and
 * version checked: what every kind of checkpoint shares.
 */
export function decodeCheckpointFile(
  bytes: Uint8Array,
  source: string,
): { file: SafetensorsFile; meta: Record<string, unknown>; arch: CheckpointArch } {
  const file = decodeSafetensors(bytes, { source, copy: true, int8: true });
  const raw = file.metadata['tsgpt'];
  if (raw === undefined)
    throw new CheckpointError(
      `${source}: not a tsgpt checkpoint (no "tsgpt" metadata in the safetensors header)`,
    );
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new CheckpointError(`${source}: checkpoint metadata is not valid JSON`);
  }
  if (typeof meta !== 'object' || meta === null)
    throw new CheckpointError(`${source}: checkpoint metadata is not a JSON object`);
  if (meta['format'] !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`${source}: unknown checkpoint format ${JSON.stringify(meta['format'])}`);
  if (meta['version'] !== CHECKPOINT_VERSION)
    throw new CheckpointError(
      `${source}: checkpoint version ${meta['version']}, this tsgpt reads version ${CHECKPOINT_VERSION}`,
    );
  const arch = meta['arch'] ?? 'gpt';
  if (!CHECKPOINT_ARCHS.includes(arch as CheckpointArch))
    throw new CheckpointError(
      `${source}: unknown architecture ${JSON.stringify(arch)} (this tsgpt knows ${CHECKPOINT_ARCHS.join(', ')})`,
    );
  return { file, meta, arch: arch as CheckpointArch };
}

/** Parses and validates a language model's checkpoint bytes; never returns a half-valid checkpoint. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  const { file, meta: raw, arch } = decodeCheckpointFile(bytes, source);
  if (arch === 'encoder-decoder')
    throw new CheckpointError(
      `${source} holds an encoder-decoder (tsgpt seq2seq), not a model of tsgpt train: use tsgpt seq2seq eval / translate with it`,
    );
  const meta = raw as unknown as CheckpointMeta;
  try {
    meta.config = validateArchConfig(arch, meta.config, `${source}: config`);
    if (meta.train) {
      const train = validateConfig(
        meta.train as unknown as Record<string, unknown>,
        `${source}: train config`,
      );
      if (train.arch !== arch)
        throw new CheckpointError(`${source}: train config is for arch ${train.arch}, the model is ${arch}`);
    }
  } catch (e) {
    throw e instanceof TsgptError ? new CheckpointError(e.message) : e;
  }
  if (typeof meta.tokenizer !== 'object' || meta.tokenizer === null)
    throw new CheckpointError(`${source}: checkpoint has no tokenizer`);
  if (!Number.isInteger(meta.step) || meta.step < 0)
    throw new CheckpointError(`${source}: bad step ${meta.step}`);
  if (meta.elapsedMs !== undefined && !(typeof meta.elapsedMs === 'number' && meta.elapsedMs >= 0))
    throw new CheckpointError(`${source}: bad elapsedMs ${String(meta.elapsedMs)}`);
  if (meta.quantization !== undefined && arch !== 'gpt')
    throw new CheckpointError(`${source}: an int8 checkpoint of arch ${arch}: only a GPT is quantized`);
  return { meta, ...splitCheckpointTensors(file, source, meta.quantization) };
}

/**
 * A checkpoint file's tensors: the weights by name, the AdamW moments when it has them, and an
 * int8 checkpoint's int8 weights and their scales (quantization: the meta's; absent: int8
 * tensors are refused).
 */
export function splitCheckpointTensors(
  file: SafetensorsFile,
  source: string,
  quantization?: unknown,
): Pick<Checkpoint, 'weights' | 'optimizer' | 'int8'> {
  const weights = new Map<string, DecodedTensor>();
  let m: Float32Array | null = null;
  let v: Float32Array | null = null;
  const int8 = file.int8 ?? new Map<string, Int8Tensor>();
  const quantized = quantization !== undefined;
  if (quantized && quantization !== INT8_ROWWISE)
    throw new CheckpointError(`${source}: unknown quantization ${JSON.stringify(quantization)}`);
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
  checkFinite(
    [
      ...[...weights, ...scales].map(([name, t]) => [name, t.data] as const),
      ...(m && v ? [['optimizer.exp_avg', m] as const, ['optimizer.exp_avg_sq', v] as const] : []),
    ],
    source,
  );
  const split = { weights, optimizer: m && v ? { m, v } : null };
  return quantized ? { ...split, int8: { values: int8, scales } } : split;
}

/** The tensors a checkpoint stores: the weights by name, then the AdamW moments (if any). */
export function checkpointTensors(
  weights: ReadonlyMap<string, { shape: readonly number[]; data: FloatArray }>,
  optimizer: Optimizer | null,
): Map<string, TensorToEncode> {
  const tensors = new Map<string, TensorToEncode>();
  for (const [name, p] of weights) tensors.set(name, { shape: p.shape, data: toF32(p.data) });
  if (optimizer) {
    tensors.set('optimizer.exp_avg', { shape: [optimizer.m.length], data: toF32(optimizer.m) });
    tensors.set('optimizer.exp_avg_sq', { shape: [optimizer.v.length], data: toF32(optimizer.v) });
  }
  return tensors;
}

/**
 * Refuses weights that hold NaN or ±Infinity (a file with flipped bits, or a run that diverged):
 * `ckpt.safetensors: tensor transformer.h.0.attn.c_attn.weight holds NaN (element 17)`. Used for
 * every checkpoint decoded and every imported weight file; a scan of the float bits
 * (src/util/finite.ts), a small part of a load.
 */
export function checkFinite(tensors: Iterable<readonly [string, Float32Array]>, source: string): void {
  const bad = findNonFinite(tensors);
  if (bad)
    throw new CheckpointError(
      `${source}: tensor ${bad.name} holds ${bad.value} (element ${bad.index}): the file is damaged ` +
        'or its run diverged; weights must be finite',
    );
}

/**
 * A model of the checkpoint's architecture with its weights, on backend (grads: false for
 * sampling and evaluation: no gradient buffer).
 * @example const model = modelFromCheckpoint(decodeCheckpoint(bytes, 'ckpt'), be, false);
 */
export function modelFromCheckpoint(ck: Checkpoint, backend: Backend, grads = true): LanguageModel {
  if (ck.int8) {
    // an int8 model (a GPT: decodeCheckpoint refuses others): the int8 weights first (they leave
    // the flat buffer), then the float32 rest
    if (grads) throw new CheckpointError(INT8_NOT_TRAINABLE);
    const model = new GPT(ck.meta.config as GPTConfig, backend, { init: false, grads: false });
    loadInt8(model, ck.int8.values, ck.int8.scales, 'int8 checkpoint');
    model.loadStateDict(ck.weights);
    return model;
  }
  const model = createModel(checkpointArch(ck), ck.meta.config, backend, { init: false, grads });
  model.loadStateDict(ck.weights);
  return model;
}

/** What training an int8 checkpoint says (run setup names the file before it). */
export const INT8_NOT_TRAINABLE =
  'an int8 checkpoint (tsgpt quantize) samples and evaluates but cannot be trained: resume or init from the float32 checkpoint it was made from';
