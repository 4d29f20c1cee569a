// Encoder-decoder checkpoints: the same safetensors format as GPT's (checkpoint.ts: weights by
// name, AdamW moments, JSON metadata with format and version), marked arch: 'encoder-decoder' and
// carrying the task (so evaluation finds the same held-out set) and the character vocabulary.
// A language model's checkpoint (tsgpt train) given here, or this one given to decodeCheckpoint,
// is refused in one line.

import type { Backend } from '../backend/backend.js';
import { Seq2SeqVocab, type TaskSpec, validateTaskSpec } from '../data/seq2seq.js';
import { CheckpointError, ConfigError, TsgptError } from '../errors.js';
import { ARCH_NOUN, checkKind } from '../model/config.js';
import { EncoderDecoder } from '../model/encoder-decoder.js';
import { type EncoderDecoderConfig, validateEncoderDecoderConfig } from '../model/encoder-decoder-config.js';
import type { TokenizerJSON } from '../tokenizer/tokenizer.js';
import type { RngState } from '../util/rng.js';
import { encodeSafetensors } from '../util/safetensors.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpoint,
  checkpointTensors,
  decodeCheckpointFile,
  splitCheckpointTensors,
} from './checkpoint.js';
import { TRAIN_CONFIG_KEYS, type TrainConfig } from './config.js';
import type { AdamW } from './optimizer.js';

/** The JSON part of an encoder-decoder checkpoint. */
export interface Seq2SeqCheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  arch: 'encoder-decoder';
  config: EncoderDecoderConfig;
  /** training configuration (absent for never-trained weights) */
  train: TrainConfig | null;
  /** the characters of the vocabulary (a CharTokenizer's JSON; PAD, BOS, EOS come first) */
  tokenizer: TokenizerJSON;
  /** where the pairs came from: the task and its held-out set */
  task: TaskSpec;
  step: number;
  bestValLoss: number | null;
  rng: RngState | null;
}

export interface Seq2SeqCheckpoint {
  meta: Seq2SeqCheckpointMeta;
  weights: Checkpoint['weights'];
  optimizer: Checkpoint['optimizer'];
}

/** Serialises an encoder-decoder (and optionally its optimizer) to safetensors bytes. */
export function encodeSeq2SeqCheckpoint(
  model: EncoderDecoder,
  optimizer: AdamW | null,
  meta: Omit<Seq2SeqCheckpointMeta, 'format' | 'version' | 'arch' | 'config'>,
): Uint8Array {
  const full: Seq2SeqCheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    arch: 'encoder-decoder',
    config: model.config,
    ...meta,
  };
  return encodeSafetensors(checkpointTensors(model.stateDict(), optimizer), {
    format: CHECKPOINT_FORMAT,
    tsgpt: JSON.stringify(full),
  });
}

/** A training config as checkpoints store it: every training key, nothing else. */
function validateTrainKeys(raw: unknown, where: string): TrainConfig {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(`${where}: must be an object`);
  const o = raw as Record<string, unknown>;
  // gradCheckpoint and precision (GPT only, always off here) may be absent: checkpoints before them
  for (const k of Object.keys(TRAIN_CONFIG_KEYS))
    if (!(k in o) && k !== 'gradCheckpoint' && k !== 'precision')
      throw new ConfigError(`${where}: lacks "${k}"`);
  for (const [k, v] of Object.entries(o)) {
    const spec = TRAIN_CONFIG_KEYS[k as keyof TrainConfig];
    if (!spec) throw new ConfigError(`${where}: unknown key "${k}"`);
    checkKind(spec, k, v, where);
  }
  return { gradCheckpoint: false, precision: 'fp32', ...o } as unknown as TrainConfig;
}

/**
 * Parses and validates encoder-decoder checkpoint bytes; never returns a half-valid checkpoint.
 * @example const ck = decodeSeq2SeqCheckpoint(bytes, 'out/seq2seq/ckpt.safetensors');
 */
export function decodeSeq2SeqCheckpoint(bytes: Uint8Array, source: string): Seq2SeqCheckpoint {
  const { file, meta: raw, arch } = decodeCheckpointFile(bytes, source);
  if (arch !== 'encoder-decoder')
    throw new CheckpointError(
      `${source} holds ${ARCH_NOUN[arch]} (arch ${arch}), not an encoder-decoder: tsgpt seq2seq reads checkpoints of tsgpt seq2seq train (use tsgpt sample / eval with this one)`,
    );
  const meta = raw as unknown as Seq2SeqCheckpointMeta;
  try {
    meta.config = validateEncoderDecoderConfig(meta.config, `${source}: config`);
    if (meta.train !== null) meta.train = validateTrainKeys(meta.train, `${source}: train config`);
    meta.task = validateTaskSpec(meta.task, source);
  } catch (e) {
    throw e instanceof TsgptError ? new CheckpointError(e.message) : e;
  }
  if (typeof meta.tokenizer !== 'object' || meta.tokenizer === null || meta.tokenizer.kind !== 'char')
    throw new CheckpointError(`${source}: checkpoint has no character vocabulary`);
  let vocabSize: number;
  try {
    vocabSize = Seq2SeqVocab.fromJSON(meta.tokenizer).size;
  } catch (e) {
    throw new CheckpointError(`${source}: ${(e as Error).message}`);
  }
  if (vocabSize !== meta.config.vocabSize)
    throw new CheckpointError(
      `${source}: the vocabulary has ${vocabSize} tokens, the config says vocabSize ${meta.config.vocabSize}`,
    );
  if (!Number.isInteger(meta.step) || meta.step < 0)
    throw new CheckpointError(`${source}: bad step ${meta.step}`);
  return { meta, ...splitCheckpointTensors(file, source) };
}

/**
 * An encoder-decoder with the checkpoint's weights, on backend (grads: false for decoding and
 * evaluation: no gradient buffer).
 */
export function encoderDecoderFromCheckpoint(
  ck: Seq2SeqCheckpoint,
  backend: Backend,
  grads = true,
): EncoderDecoder {
  const model = new EncoderDecoder(ck.meta.config, backend, { init: false, grads });
  model.loadStateDict(ck.weights);
  return model;
}
