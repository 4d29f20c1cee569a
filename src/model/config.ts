// GPTConfig (the architecture), TrainConfig (the optimisation) and the named presets, with the
// validation every boundary uses: unknown keys and impossible values are rejected with the
// reason. Defaults follow nanoGPT / GPT-2.

import { ConfigError } from '../errors.js';
import type { Activation, NormPlacement } from '../nn/block.js';

export type Positional = 'learned' | 'sinusoidal';

export interface GPTConfig {
  vocabSize: number;
  /** the context length: the most tokens the model sees at once */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  dropout: number;
  /** biases in Linear and LayerNorm layers (GPT-2: true) */
  bias: boolean;
  positional: Positional;
  norm: NormPlacement;
  activation: Activation;
}

export interface TrainConfig {
  batchSize: number;
  /** micro-batches per optimizer step (gradient accumulation) */
  gradAccum: number;
  maxIters: number;
  learningRate: number;
  /** floor of the cosine decay */
  minLr: number;
  warmupIters: number;
  /** the cosine decays from learningRate to minLr over this many steps */
  lrDecayIters: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** clip the global gradient norm to this (0 = no clipping) */
  gradClip: number;
  evalInterval: number;
  evalIters: number;
  seed: number;
}

export type FullConfig = GPTConfig & TrainConfig;

export const DEFAULT_CONFIG: FullConfig = {
  vocabSize: 65,
  blockSize: 64,
  nLayer: 4,
  nHead: 4,
  nEmbd: 128,
  dropout: 0,
  bias: true,
  positional: 'learned',
  norm: 'pre',
  activation: 'gelu',
  batchSize: 12,
  gradAccum: 1,
  maxIters: 2000,
  learningRate: 1e-3,
  minLr: 1e-4,
  warmupIters: 100,
  lrDecayIters: 2000,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  gradClip: 1,
  evalInterval: 250,
  evalIters: 20,
  seed: 1337,
};

export type PresetName = 'baby' | 'plan' | 'mini' | 'shakespeare';

/** Named configurations; every key not named here takes DEFAULT_CONFIG's value. */
export const PRESETS: Record<PresetName, { summary: string; config: Partial<FullConfig> }> = {
  baby: {
    summary: "nanoGPT's CPU run: 4 layers, 4 heads, 128 wide, context 64, batch 12, 2000 iters, lr 1e-3",
    // nanoGPT's train.py defaults to bias=False; its README's CPU command sets the rest
    config: {
      nLayer: 4,
      nHead: 4,
      nEmbd: 128,
      blockSize: 64,
      batchSize: 12,
      maxIters: 2000,
      lrDecayIters: 2000,
      learningRate: 1e-3,
      minLr: 1e-4,
      dropout: 0,
      bias: false,
      evalIters: 20,
      evalInterval: 250,
    },
  },
  plan: {
    summary: 'the learning plan: 4 layers, 4 heads, 128 wide, context 256, batch 8, lr 3e-4',
    config: {
      nLayer: 4,
      nHead: 4,
      nEmbd: 128,
      blockSize: 256,
      batchSize: 8,
      maxIters: 5000,
      lrDecayIters: 5000,
      learningRate: 3e-4,
      minLr: 3e-5,
      dropout: 0.1,
      evalIters: 20,
      evalInterval: 250,
    },
  },
  mini: {
    summary: 'Mini-GPT: 6 layers, 8 heads, 256 wide, FFN 1024, context 256',
    config: {
      nLayer: 6,
      nHead: 8,
      nEmbd: 256,
      blockSize: 256,
      batchSize: 16,
      maxIters: 5000,
      lrDecayIters: 5000,
      learningRate: 3e-4,
      minLr: 3e-5,
      dropout: 0.1,
      evalIters: 20,
      evalInterval: 250,
    },
  },
  shakespeare: {
    summary: "nanoGPT's GPU run: 6 layers, 6 heads, 384 wide, context 256, batch 64, dropout 0.2",
    config: {
      nLayer: 6,
      nHead: 6,
      nEmbd: 384,
      blockSize: 256,
      batchSize: 64,
      maxIters: 5000,
      lrDecayIters: 5000,
      learningRate: 1e-3,
      minLr: 1e-4,
      dropout: 0.2,
      evalIters: 200,
      evalInterval: 250,
    },
  },
};

type Kind = 'int' | 'posint' | 'number' | 'nonneg' | 'prob' | 'bool' | Readonly<string[]>;

/** Each config key and what values it accepts. */
export const CONFIG_KEYS: Record<keyof FullConfig, { kind: Kind; help: string }> = {
  vocabSize: { kind: 'posint', help: 'vocabulary size (set from the data)' },
  blockSize: { kind: 'posint', help: 'context length in tokens' },
  nLayer: { kind: 'posint', help: 'transformer blocks' },
  nHead: { kind: 'posint', help: 'attention heads (must divide nEmbd)' },
  nEmbd: { kind: 'posint', help: 'embedding width' },
  dropout: { kind: 'prob', help: 'dropout probability in [0, 1)' },
  bias: { kind: 'bool', help: 'biases in Linear and LayerNorm' },
  positional: { kind: ['learned', 'sinusoidal'], help: 'position encoding' },
  norm: { kind: ['pre', 'post'], help: 'LayerNorm placement' },
  activation: { kind: ['gelu', 'gelu_tanh', 'relu'], help: 'MLP activation' },
  batchSize: { kind: 'posint', help: 'sequences per micro-batch' },
  gradAccum: { kind: 'posint', help: 'micro-batches per optimizer step' },
  maxIters: { kind: 'posint', help: 'optimizer steps' },
  learningRate: { kind: 'nonneg', help: 'peak learning rate' },
  minLr: { kind: 'nonneg', help: 'final learning rate of the cosine decay' },
  warmupIters: { kind: 'int', help: 'linear warm-up steps' },
  lrDecayIters: { kind: 'posint', help: 'steps of cosine decay' },
  weightDecay: { kind: 'nonneg', help: 'AdamW weight decay (matrices only)' },
  beta1: { kind: 'prob', help: 'AdamW beta1' },
  beta2: { kind: 'prob', help: 'AdamW beta2' },
  gradClip: { kind: 'nonneg', help: 'clip the gradient norm (0 = off)' },
  evalInterval: { kind: 'posint', help: 'steps between evaluations' },
  evalIters: { kind: 'posint', help: 'batches per evaluation' },
  seed: { kind: 'int', help: 'random seed' },
};

export const MODEL_KEYS: readonly (keyof GPTConfig)[] = [
  'vocabSize',
  'blockSize',
  'nLayer',
  'nHead',
  'nEmbd',
  'dropout',
  'bias',
  'positional',
  'norm',
  'activation',
];

/** Checks one value against its key's rule; returns it, or throws ConfigError with the reason. */
export function checkValue(key: string, value: unknown, where = 'config'): unknown {
  const spec = CONFIG_KEYS[key as keyof FullConfig];
  if (!spec) {
    const known = Object.keys(CONFIG_KEYS).join(', ');
    throw new ConfigError(`${where}: unknown key "${key}" (known: ${known})`);
  }
  const k = spec.kind;
  const bad = (why: string) => new ConfigError(`${where}: ${key} = ${JSON.stringify(value)}: ${why}`);
  if (Array.isArray(k)) {
    if (typeof value !== 'string' || !k.includes(value)) throw bad(`must be one of ${k.join(' | ')}`);
    return value;
  }
  if (k === 'bool') {
    if (typeof value !== 'boolean') throw bad('must be true or false');
    return value;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('must be a finite number');
  if ((k === 'int' || k === 'posint') && !Number.isInteger(value)) throw bad('must be an integer');
  if (k === 'posint' && value <= 0) throw bad('must be positive');
  if (k === 'int' && value < 0) throw bad('must not be negative');
  if (k === 'nonneg' && value < 0) throw bad('must not be negative');
  if (k === 'prob' && !(value >= 0 && value < 1)) throw bad('must be in [0, 1)');
  return value;
}

/** Validates every key and the relations between keys. */
export function validateConfig(cfg: Record<string, unknown>, where = 'config'): FullConfig {
  for (const [k, v] of Object.entries(cfg)) checkValue(k, v, where);
  const c = { ...DEFAULT_CONFIG, ...cfg } as FullConfig;
  if (c.nEmbd % c.nHead !== 0)
    throw new ConfigError(`${where}: nHead = ${c.nHead} does not divide nEmbd = ${c.nEmbd}`);
  if (c.positional === 'sinusoidal' && c.nEmbd % 2 !== 0)
    throw new ConfigError(`${where}: sinusoidal positions need an even nEmbd, got ${c.nEmbd}`);
  if (c.minLr > c.learningRate)
    throw new ConfigError(`${where}: minLr = ${c.minLr} is above learningRate = ${c.learningRate}`);
  return c;
}

/** Model part of a full config. */
export function modelConfig(c: GPTConfig): GPTConfig {
  const out = {} as Record<string, unknown>;
  for (const k of MODEL_KEYS) out[k] = c[k];
  return out as unknown as GPTConfig;
}

/** A validated GPTConfig (e.g. from a checkpoint): all model keys present, nothing else. */
export function validateModelConfig(raw: unknown, where: string): GPTConfig {
  if (typeof raw !== 'object' || raw === null)
    throw new ConfigError(`${where}: model config must be an object`);
  const obj = raw as Record<string, unknown>;
  for (const k of MODEL_KEYS) if (!(k in obj)) throw new ConfigError(`${where}: model config lacks "${k}"`);
  for (const k of Object.keys(obj))
    if (!MODEL_KEYS.includes(k as keyof GPTConfig))
      throw new ConfigError(`${where}: unknown model key "${k}"`);
  return modelConfig(validateConfig(obj, where));
}

export function isPreset(name: string): name is PresetName {
  return name in PRESETS;
}
