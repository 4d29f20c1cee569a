// TrainConfig (the optimisation: batch, steps, learning-rate schedule, AdamW, evaluation), the
// named presets, and the key schema of a whole run (model keys + training keys) that config
// files and the CLI's flags derive from, with its validation. Defaults follow nanoGPT.
// Not here: the model's own keys (src/model/config.ts) and how the layers of a run's
// configuration are merged (src/train/setup.ts).

import { ConfigError } from '../errors.js';
import {
  checkKind,
  checkModelRelations,
  DEFAULT_GPT_CONFIG,
  GPT_CONFIG_KEYS,
  type GPTConfig,
  type KeySpec,
} from '../model/config.js';

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
  /** 'adamw' for every parameter, or 'muon' for the hidden matrices and AdamW for the rest */
  optimizer: OptimizerName;
  /** Muon's peak learning rate (it follows the schedule's shape: muonLr * lr(t) / learningRate) */
  muonLr: number;
  muonMomentum: number;
  /** Newton-Schulz steps per Muon update */
  muonNsSteps: number;
  muonWeightDecay: number;
  /** the learning rate's shape after warm-up (schedule.ts) */
  lrSchedule: LrSchedule;
  /** 'wsd': the fraction of lrDecayIters spent decaying (linearly) at the end */
  cooldownFrac: number;
}

export type OptimizerName = 'adamw' | 'muon';
export type LrSchedule = 'cosine' | 'linear' | 'wsd';

/** Everything a training run is configured by: the model's keys and the training keys. */
export type FullConfig = GPTConfig & TrainConfig;

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
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
  optimizer: 'adamw',
  muonLr: 0.02,
  muonMomentum: 0.95,
  muonNsSteps: 5,
  muonWeightDecay: 0,
  lrSchedule: 'cosine',
  cooldownFrac: 0.2,
};

export const DEFAULT_CONFIG: FullConfig = { ...DEFAULT_GPT_CONFIG, ...DEFAULT_TRAIN_CONFIG };

export type PresetName = 'baby' | 'plan' | 'mini' | 'shakespeare' | 'quick' | 'quick15' | 'quick60';

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
  quick: {
    summary:
      "baby's size with rotary positions, RMSNorm, QK-norm, ReLU^2, an untied head and Muon: nanoGPT's 2000-step quality in a fraction of the steps",
    config: {
      nLayer: 4,
      nHead: 4,
      nEmbd: 128,
      blockSize: 64,
      batchSize: 12,
      dropout: 0,
      bias: false,
      positional: 'rope',
      normType: 'rmsnorm',
      qkNorm: true,
      activation: 'relu2',
      tieWeights: false,
      optimizer: 'muon',
      learningRate: 3e-3,
      muonLr: 0.03,
      minLr: 0,
      warmupIters: 20,
      lrSchedule: 'wsd',
      cooldownFrac: 0.5,
      maxIters: 600,
      lrDecayIters: 600,
      evalIters: 20,
      evalInterval: 100,
    },
  },
  // quick's recipe, deeper and with twice the context, for a fixed wall-time budget: the step
  // counts were sized on the 2-core development machine while other programs shared it
  // (~2 s a step); on an idle machine they take less time, and more steps would pay
  quick15: {
    summary:
      "quick's recipe, 6 layers and context 128, batch 16, 600 steps: the best model in ~15 minutes on 2 shared cores",
    config: {
      nLayer: 6,
      nHead: 4,
      nEmbd: 128,
      blockSize: 128,
      batchSize: 16,
      dropout: 0,
      bias: false,
      positional: 'rope',
      normType: 'rmsnorm',
      qkNorm: true,
      activation: 'relu2',
      tieWeights: false,
      optimizer: 'muon',
      learningRate: 3e-3,
      muonLr: 0.03,
      minLr: 0,
      warmupIters: 20,
      lrSchedule: 'wsd',
      cooldownFrac: 0.5,
      maxIters: 600,
      lrDecayIters: 600,
      evalIters: 20,
      evalInterval: 100,
    },
  },
  quick60: {
    summary:
      "quick's recipe, 6 layers and context 128, batch 16, 1700 steps: the best model in ~60 minutes on 2 shared cores",
    config: {
      nLayer: 6,
      nHead: 4,
      nEmbd: 128,
      blockSize: 128,
      batchSize: 16,
      dropout: 0,
      bias: false,
      positional: 'rope',
      normType: 'rmsnorm',
      qkNorm: true,
      activation: 'relu2',
      tieWeights: false,
      optimizer: 'muon',
      learningRate: 3e-3,
      muonLr: 0.03,
      minLr: 0,
      warmupIters: 20,
      lrSchedule: 'wsd',
      cooldownFrac: 0.5,
      maxIters: 1700,
      lrDecayIters: 1700,
      evalIters: 20,
      evalInterval: 250,
    },
  },
};

export function isPreset(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

/** Each training key and what values it accepts, in TrainConfig's order. */
export const TRAIN_CONFIG_KEYS: Record<keyof TrainConfig, KeySpec> = {
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
  optimizer: { kind: ['adamw', 'muon'], help: 'adamw, or muon for the hidden matrices + adamw for the rest' },
  muonLr: { kind: 'nonneg', help: "Muon's peak learning rate" },
  muonMomentum: { kind: 'prob', help: "Muon's (Nesterov) momentum" },
  muonNsSteps: { kind: 'posint', help: 'Newton-Schulz steps per Muon update' },
  muonWeightDecay: { kind: 'nonneg', help: "Muon's weight decay" },
  lrSchedule: {
    kind: ['cosine', 'linear', 'wsd'],
    help: 'after warm-up: cosine to minLr, linear to minLr, or warmup-stable-decay',
  },
  cooldownFrac: { kind: 'nonneg', help: 'wsd: fraction of lrDecayIters spent decaying (at most 1)' },
};

/** Every key of a run's configuration (model keys, then training keys): config files and flags. */
export const CONFIG_KEYS: Record<keyof FullConfig, KeySpec> = { ...GPT_CONFIG_KEYS, ...TRAIN_CONFIG_KEYS };

/** Checks one value against its key's rule; returns it, or throws ConfigError with the reason. */
export function checkValue(key: string, value: unknown, where = 'config'): unknown {
  const spec = Object.hasOwn(CONFIG_KEYS, key) ? CONFIG_KEYS[key as keyof FullConfig] : undefined;
  if (!spec) {
    const known = Object.keys(CONFIG_KEYS).join(', ');
    throw new ConfigError(`${where}: unknown key "${key}" (known: ${known})`);
  }
  return checkKind(spec, key, value, where);
}

/** The relations between the keys of a whole config: the model's, and minLr <= learningRate. */
export function checkRelations(c: FullConfig, where: string): void {
  checkModelRelations(c, where);
  if (c.minLr > c.learningRate)
    throw new ConfigError(`${where}: minLr = ${c.minLr} is above learningRate = ${c.learningRate}`);
  if (c.cooldownFrac > 1)
    throw new ConfigError(`${where}: cooldownFrac = ${c.cooldownFrac} is above 1 (the whole decay)`);
}

/** Validates every key given and the relations between keys; missing keys take DEFAULT_CONFIG's. */
export function validateConfig(cfg: Record<string, unknown>, where = 'config'): FullConfig {
  for (const [k, v] of Object.entries(cfg)) checkValue(k, v, where);
  const c = { ...DEFAULT_CONFIG, ...cfg } as FullConfig;
  checkRelations(c, where);
  return c;
}
