// EncoderDecoderConfig: the architecture of the original transformer (src/model/encoder-decoder.ts),
// its defaults (the paper's choices at a size a CPU trains in minutes), what each key accepts and
// the check every boundary runs on it (a checkpoint, flags). Not here: training keys (TrainConfig,
// src/train/config.ts, shared with GPT) or the data's own settings (src/data/seq2seq.ts).

import { ConfigError } from '../errors.js';
import type { Activation, NormPlacement } from '../nn/block.js';
import { checkKind, type KeySpec } from './config.js';

export interface EncoderDecoderConfig {
  /** special tokens (PAD, BOS, EOS) and the characters: set from the data */
  vocabSize: number;
  /** the longest source or target in tokens, with its EOS / BOS: set from the data */
  blockSize: number;
  /** layers in each stack, the encoder's and the decoder's (the paper's N) */
  nLayer: number;
  nHead: number;
  /** the model's width, d_model; the feed-forward layer is 4 times wider (2048 = 4 x 512) */
  nEmbd: number;
  dropout: number;
  /** biases in Linear and LayerNorm layers */
  bias: boolean;
  /** post: LayerNorm(x + f(x)) as in the paper; pre: x + f(LayerNorm(x)), plus a final LayerNorm per stack */
  norm: NormPlacement;
  activation: Activation;
  /** the output layer is the token embedding (the paper shares one matrix for both) */
  tieWeights: boolean;
}

/** The paper's choices (post-norm, ReLU, tied embeddings) at a size that trains in minutes on a CPU. */
export const DEFAULT_ENCODER_DECODER_CONFIG: EncoderDecoderConfig = {
  vocabSize: 32,
  blockSize: 32,
  nLayer: 2,
  nHead: 4,
  nEmbd: 64,
  dropout: 0,
  bias: true,
  norm: 'post',
  activation: 'relu',
  tieWeights: true,
};

/** Each key and what values it accepts, in EncoderDecoderConfig's order. */
export const ENCODER_DECODER_KEYS: Record<keyof EncoderDecoderConfig, KeySpec> = {
  vocabSize: { kind: 'posint', help: 'vocabulary size (set from the data)' },
  blockSize: { kind: 'posint', help: 'longest source or target in tokens (set from the data)' },
  nLayer: { kind: 'posint', help: 'layers in the encoder and in the decoder' },
  nHead: { kind: 'posint', help: 'attention heads (must divide nEmbd)' },
  nEmbd: { kind: 'posint', help: 'model width (d_model)' },
  dropout: { kind: 'prob', help: 'dropout probability in [0, 1)' },
  bias: { kind: 'bool', help: 'biases in Linear and LayerNorm' },
  norm: { kind: ['post', 'pre'], help: 'LayerNorm placement (post: the paper)' },
  activation: { kind: ['relu', 'gelu', 'gelu_tanh'], help: 'feed-forward activation' },
  tieWeights: { kind: 'bool', help: 'output layer = token embedding' },
};

export const ENCODER_DECODER_MODEL_KEYS = Object.keys(
  ENCODER_DECODER_KEYS,
) as readonly (keyof EncoderDecoderConfig)[];

/** The relations between keys (each key's own rule is checkKind's). */
export function checkEncoderDecoderRelations(c: EncoderDecoderConfig, where: string): void {
  if (c.nEmbd % c.nHead !== 0)
    throw new ConfigError(`${where}: nHead = ${c.nHead} does not divide nEmbd = ${c.nEmbd}`);
  if (c.nEmbd % 2 !== 0)
    throw new ConfigError(`${where}: sinusoidal positions need an even nEmbd, got ${c.nEmbd}`);
}

/** A validated EncoderDecoderConfig (e.g. from a checkpoint): every key present, nothing else. */
export function validateEncoderDecoderConfig(raw: unknown, where: string): EncoderDecoderConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`${where}: model config must be an object`);
  const obj = raw as Record<string, unknown>;
  for (const k of ENCODER_DECODER_MODEL_KEYS)
    if (!(k in obj)) throw new ConfigError(`${where}: model config lacks "${k}"`);
  for (const k of Object.keys(obj))
    if (!Object.hasOwn(ENCODER_DECODER_KEYS, k)) throw new ConfigError(`${where}: unknown model key "${k}"`);
  for (const k of ENCODER_DECODER_MODEL_KEYS) checkKind(ENCODER_DECODER_KEYS[k], k, obj[k], where);
  const c = {} as Record<string, unknown>;
  for (const k of ENCODER_DECODER_MODEL_KEYS) c[k] = obj[k];
  checkEncoderDecoderRelations(c as unknown as EncoderDecoderConfig, where);
  return c as unknown as EncoderDecoderConfig;
}
