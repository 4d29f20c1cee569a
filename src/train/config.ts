// TrainConfig (the optimisation: batch, steps, learning-rate schedule, AdamW, evaluation), the
// named presets, and the key schema of a whole run (model keys + training keys) that config
// files and the CLI's flags derive from, with its validation. Defaults follow nanoGPT.
// Not here: the model's own keys (src/model/config.ts) and how the layers of a run's
// configuration are merged (src/train/setup.ts).

import { ConfigError } from '../errors.js';
import {
  ARCH_KEY,
  type Arch,
  checkArchRelations,
  checkKind,
  DEFAULT_EXTRA_MODEL_KEYS,
  DEFAULT_GPT_CONFIG,
  EXTRA_MODEL_KEYS,
  type ExtraModelKeys,
  GPT_CONFIG_KEYS,
  type GPTConfig,
  isArch,
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
  /** gradient checkpointing: keep each block's input only, recompute the block in the backward */
  gradCheckpoint: boolean;
  /**
   * 'bf16': mixed precision, 16-bit storage of the attention probabilities saved for the backward
   * (float32 weights and arithmetic); 'fp32' (default): everything float32
   */
  precision: 'fp32' | 'bf16';
  /**
   * Minutes of wall time to lay the schedule over (0 = none: the schedule runs over steps). With
   * a budget the learning rate after warm-up follows the fraction of the budget used, and the
   * run stops when it is used up (or at maxIters), so the decay ends when the time does.
   */
  timeBudget: number;
}

export type OptimizerName = 'adamw' | 'muon';
export type LrSchedule = 'cosine' | 'linear' | 'wsd';

/**
 * Everything a training run is configured by: the architecture, the model keys (of every
 * architecture: each uses its own, ARCH_MODEL_KEYS) and the training keys.
 */
export type FullConfig = { arch: Arch } & GPTConfig & ExtraModelKeys & TrainConfig;

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
  gradCheckpoint: false,
  precision: 'fp32',
  timeBudget: 0,
};

export const DEFAULT_CONFIG: FullConfig = {
  arch: 'gpt',
  ...DEFAULT_GPT_CONFIG,
  ...DEFAULT_EXTRA_MODEL_KEYS,
  ...DEFAULT_TRAIN_CONFIG,
};

export type PresetName =
  | 'baby'
  | 'plan'
  | 'mini'
  | 'shakespeare'
  | 'quick'
  | 'quick15'
  | 'quick60'
  | 'bigram'
  | 'mlp'
  | 'rnn'
  | 'lstm'
  | 'gru';

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
  // baby's width and context at half its depth: to nanoGPT's 2000-step loss (~1.90 on the whole
  // val split) 2 layers take ~10% more steps than 4 (525-575 over four seeds, against 450-525)
  // at little more than half the step time, and 3 Newton-Schulz steps instead of 5 cost Muon
  // ~40% less (the README's table of sizes). A longer run wants more layers: quick15, quick60.
  quick: {
    summary:
      "2 layers of baby's width with rotary positions, RMSNorm, QK-norm, ReLU^2, an untied head and Muon: nanoGPT's 2000-step quality in a fraction of the time",
    config: {
      nLayer: 2,
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
      muonNsSteps: 3,
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
  // quick's recipe, deeper and with twice the context, for a wall-time budget: the schedule is
  // laid over the minutes (timeBudget), so the decay ends when the time does on any machine;
  // maxIters only caps a very fast one. Muon takes its 5 Newton-Schulz steps (the measured runs)
  quick15: {
    summary:
      "quick's recipe, 6 layers and context 128, batch 16, 5 Newton-Schulz steps, its schedule laid over 15 minutes of wall time: the best model in 15 minutes",
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
      muonNsSteps: 5,
      minLr: 0,
      warmupIters: 20,
      lrSchedule: 'wsd',
      cooldownFrac: 0.5,
      timeBudget: 15,
      maxIters: 100_000,
      lrDecayIters: 1000,
      evalIters: 20,
      evalInterval: 100,
    },
  },
  // An hour is ~13k steps of quick15's model, ~26M tokens, 26 passes over the text: without
  // dropout it overfits (measured: 20-batch val 1.52 at 28 minutes, 1.64 at 48), so the hour's
  // model is quick15's with dropout 0.1, as nanoGPT's long runs have (a 192-wide model with
  // dropout 0.2 took fewer, dearer steps and ended worse: 1.5253 on the whole val split)
  quick60: {
    summary:
      "quick15's model with dropout 0.1, its schedule laid over 60 minutes of wall time: the best model in an hour",
    config: {
      nLayer: 6,
      nHead: 4,
      nEmbd: 128,
      blockSize: 128,
      batchSize: 16,
      dropout: 0.1,
      bias: false,
      positional: 'rope',
      normType: 'rmsnorm',
      qkNorm: true,
      activation: 'relu2',
      tieWeights: false,
      optimizer: 'muon',
      learningRate: 3e-3,
      muonLr: 0.03,
      muonNsSteps: 5,
      minLr: 0,
      warmupIters: 20,
      lrSchedule: 'wsd',
      cooldownFrac: 0.5,
      timeBudget: 60,
      maxIters: 100_000,
      lrDecayIters: 1000,
      evalIters: 20,
      evalInterval: 250,
    },
  },
  // The models before GPT, one preset each (named after the arch: `tsgpt train --arch lstm`
  // takes it), sized for a 2-core CPU: each trains in a few minutes. The MLP, RNN, LSTM and
  // GRU have about 100k parameters each (100k, 103k, 112k, 87k), so the ladder compares
  // architectures, not sizes: an LSTM has 4 gate blocks to the RNN's 1, hence 128 units to 256.
  bigram: {
    summary: 'a 65 x 65 table of next-token logits (no weight decay: it heads for the counting solution)',
    config: {
      arch: 'bigram',
      blockSize: 64,
      batchSize: 32,
      maxIters: 2000,
      lrDecayIters: 2000,
      warmupIters: 0,
      // Adam moves every logit by about the learning rate each step: the end of the schedule
      // sets how far the table jitters around the counts, its peak how fast it gets there.
      // Measured on Tiny Shakespeare's val split after 2000 steps, above the counts' 2.4819:
      // 0.1 -> 0.01: +0.011; 0.03 -> 0.001: +0.006; 0.01 -> 0.001: +0.002, but too slow for a
      // sharper text in fewer steps (test/models.test.ts's 600)
      learningRate: 0.03,
      minLr: 0.001,
      weightDecay: 0,
      evalIters: 20,
      evalInterval: 250,
    },
  },
  mlp: {
    summary: 'Bengio 2003: 8 tokens of 16-wide embeddings, 512 tanh hidden units',
    config: {
      arch: 'mlp',
      context: 8,
      nEmbd: 16,
      nHidden: 512,
      blockSize: 64,
      batchSize: 32,
      maxIters: 4000,
      lrDecayIters: 4000,
      learningRate: 3e-3,
      minLr: 3e-4,
      evalIters: 20,
      evalInterval: 250,
    },
  },
  rnn: {
    summary: 'vanilla tanh RNN: 1 layer of 256 hidden units, 64-wide embeddings, windows of 64',
    config: {
      arch: 'rnn',
      nLayer: 1,
      nEmbd: 64,
      nHidden: 256,
      dropout: 0,
      blockSize: 64,
      batchSize: 32,
      maxIters: 2000,
      lrDecayIters: 2000,
      learningRate: 3e-3,
      minLr: 3e-4,
      evalIters: 20,
      evalInterval: 250,
    },
  },
  lstm: {
    summary: 'LSTM: 1 layer of 128 hidden units, 64-wide embeddings, windows of 64',
    config: {
      arch: 'lstm',
      nLayer: 1,
      nEmbd: 64,
      nHidden: 128,
      dropout: 0,
      blockSize: 64,
      batchSize: 32,
      maxIters: 2000,
      lrDecayIters: 2000,
      learningRate: 3e-3,
      minLr: 3e-4,
      evalIters: 20,
      evalInterval: 250,
    },
  },
  gru: {
    summary: 'GRU: 1 layer of 128 hidden units, 64-wide embeddings, windows of 64',
    config: {
      arch: 'gru',
      nLayer: 1,
      nEmbd: 64,
      nHidden: 128,
      dropout: 0,
      blockSize: 64,
      batchSize: 32,
      maxIters: 2000,
      lrDecayIters: 2000,
      learningRate: 3e-3,
      minLr: 3e-4,
      evalIters: 20,
      evalInterval: 250,
    },
  },
};

/**
 * The preset a run of each architecture starts from unless one is named (the library's, and for
 * --init-from and the ladder; a new `tsgpt train` of a GPT starts from NEWCOMER_PRESET).
 */
export const DEFAULT_PRESET: Record<Arch, PresetName> = {
  gpt: 'baby',
  bigram: 'bigram',
  mlp: 'mlp',
  rnn: 'rnn',
  lstm: 'lstm',
  gru: 'gru',
};

/** The architecture a preset is for. */
/**
 * What `tsgpt train` with no preset and no --init-from trains: the newcomer's first run, nanoGPT's
 * 2000-step quality (baby) in a fraction of the time.
 */
export const NEWCOMER_PRESET: PresetName = 'quick';

export function presetArch(name: PresetName): Arch {
  return PRESETS[name].config.arch ?? 'gpt';
}

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
  gradCheckpoint: {
    kind: 'bool',
    help: 'recompute each block in the backward instead of keeping its activations (less memory, more compute)',
  },
  precision: {
    kind: ['fp32', 'bf16'],
    help: 'bf16: mixed precision, the attention probabilities saved for the backward in 16 bits (less memory)',
  },
  timeBudget: {
    kind: 'nonneg',
    help: 'minutes of wall time the schedule is laid over: the lr follows the time used, the run stops when it is up (0 = off)',
  },
};

/**
 * Every key of a run's configuration (the architecture, model keys, then training keys): config
 * files and flags.
 */
export const CONFIG_KEYS: Record<keyof FullConfig, KeySpec> = {
  arch: ARCH_KEY,
  ...GPT_CONFIG_KEYS,
  ...EXTRA_MODEL_KEYS,
  ...TRAIN_CONFIG_KEYS,
};

/** Checks one value against its key's rule; returns it, or throws ConfigError with the reason. */
export function checkValue(key: string, value: unknown, where = 'config'): unknown {
  const spec = Object.hasOwn(CONFIG_KEYS, key) ? CONFIG_KEYS[key as keyof FullConfig] : undefined;
  if (!spec) {
    const known = Object.keys(CONFIG_KEYS).join(', ');
    throw new ConfigError(`${where}: unknown key "${key}" (known: ${known})`);
  }
  return checkKind(spec, key, value, where);
}

/**
 * The relations between the keys of a whole config: its architecture's model keys', and
 * minLr <= learningRate.
 */
export function checkRelations(c: FullConfig, where: string): void {
  checkArchRelations(isArch(c.arch) ? c.arch : 'gpt', c, where);
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
