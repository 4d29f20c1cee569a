// GPTConfig: the architecture of a GPT, GPT-2's defaults, what each key accepts and the check
// every boundary runs on it (a checkpoint's config, a config file, flags): unknown keys and
// impossible values are refused with the reason. Then the same for the models before GPT (bigram,
// MLP, RNN, LSTM, GRU): which keys each architecture has. Not here: the training configuration,
// the presets and run setup (src/train/config.ts, src/train/setup.ts).

import { ConfigError } from '../errors.js';
import type { Activation, NormPlacement, NormType } from '../nn/block.js';

export type Positional = 'learned' | 'sinusoidal' | 'rope';

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
  /** LayerNorm (GPT-2) or RMSNorm (no mean subtraction, no bias: cheaper, as in LLaMA) */
  normType: NormType;
  /** RMS-normalise each head's query and key before attention (no gains): bounded scores */
  qkNorm: boolean;
  /** attention score scale; 0: 1/sqrt(head size) */
  attnScale: number;
  /** the output head shares wte's weights (GPT-2: true); false: its own lm_head.weight, zero-initialised */
  tieWeights: boolean;
  /** logits = cap * tanh(logits / cap) (Gemma 2's soft cap); 0: off */
  logitSoftcap: number;
}

/** nanoGPT's CPU-sized model with GPT-2's choices (pre-norm, learned positions, GELU, biases). */
export const DEFAULT_GPT_CONFIG: GPTConfig = {
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
  normType: 'layernorm',
  qkNorm: false,
  attnScale: 0,
  tieWeights: true,
  logitSoftcap: 0,
};

/** What values a config key accepts: a number rule, a boolean, or one of some strings. */
export type KeyKind = 'int' | 'posint' | 'number' | 'nonneg' | 'prob' | 'bool' | Readonly<string[]>;

/** One config key: what it accepts, and a line of help (the CLI's flags show it). */
export interface KeySpec {
  kind: KeyKind;
  help: string;
}

/** Each model key and what values it accepts, in GPTConfig's order. */
export const GPT_CONFIG_KEYS: Record<keyof GPTConfig, KeySpec> = {
  vocabSize: { kind: 'posint', help: 'vocabulary size (set from the data)' },
  blockSize: { kind: 'posint', help: 'context length in tokens (the other archs: the training window)' },
  nLayer: { kind: 'posint', help: 'transformer blocks (rnn, lstm, gru: recurrent layers)' },
  nHead: { kind: 'posint', help: 'attention heads (must divide nEmbd)' },
  nEmbd: { kind: 'posint', help: 'embedding width' },
  dropout: { kind: 'prob', help: 'dropout probability in [0, 1) (rnn, lstm, gru: between layers)' },
  bias: { kind: 'bool', help: 'biases in Linear and LayerNorm' },
  positional: {
    kind: ['learned', 'sinusoidal', 'rope'],
    help: 'position encoding (rope: rotary, in attention)',
  },
  norm: { kind: ['pre', 'post'], help: 'LayerNorm placement' },
  activation: { kind: ['gelu', 'gelu_tanh', 'relu', 'relu2', 'swiglu'], help: 'MLP activation' },
  normType: { kind: ['layernorm', 'rmsnorm'], help: 'normalisation layer' },
  qkNorm: { kind: 'bool', help: 'RMS-normalise queries and keys per head' },
  attnScale: { kind: 'nonneg', help: 'attention score scale (0 = 1/sqrt(head size))' },
  tieWeights: { kind: 'bool', help: 'output head tied to the token embedding' },
  logitSoftcap: { kind: 'nonneg', help: 'soft cap of the logits, cap*tanh(z/cap) (0 = off)' },
};

/**
 * Model keys added after checkpoint format 1 was fixed: a config without them (an older
 * checkpoint) takes DEFAULT_GPT_CONFIG's value, which is the architecture it was trained with.
 */
export const LATER_MODEL_KEYS: readonly (keyof GPTConfig)[] = [
  'normType',
  'qkNorm',
  'attnScale',
  'tieWeights',
  'logitSoftcap',
];

/** The model's keys: what a checkpoint's config holds, and what --resume must not change. */
export const MODEL_KEYS = Object.keys(GPT_CONFIG_KEYS) as readonly (keyof GPTConfig)[];

/**
 * Checks one value against a key's rule; returns it, or throws ConfigError with the reason:
 * `where: key = value: why`.
 */
export function checkKind(spec: KeySpec, key: string, value: unknown, where: string): unknown {
  const k = spec.kind;
  // String() for numbers: JSON.stringify writes a JSON file's 1e999 (Infinity) as null
  const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
  const bad = (why: string) => new ConfigError(`${where}: ${key} = ${shown}: ${why}`);
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

/** The relations between model keys (each key's own rule is checkKind's). */
export function checkModelRelations(c: GPTConfig, where: string): void {
  if (c.nEmbd % c.nHead !== 0)
    throw new ConfigError(`${where}: nHead = ${c.nHead} does not divide nEmbd = ${c.nEmbd}`);
  if (c.positional === 'sinusoidal' && c.nEmbd % 2 !== 0)
    throw new ConfigError(`${where}: sinusoidal positions need an even nEmbd, got ${c.nEmbd}`);
  if (c.positional === 'rope' && (c.nEmbd / c.nHead) % 2 !== 0)
    throw new ConfigError(
      `${where}: rotary positions need an even head size, got nEmbd / nHead = ${c.nEmbd / c.nHead}`,
    );
}

/**
 * The options of `c` that GPT-2's architecture (Hugging Face's GPT2LMHeadModel) cannot express,
 * as `key value` strings; empty when it can.
 */
export function beyondGPT2(c: GPTConfig): string[] {
  const out: string[] = [];
  if (c.positional === 'rope') out.push(`positional ${c.positional}`);
  if (c.activation === 'relu2' || c.activation === 'swiglu') out.push(`activation ${c.activation}`);
  for (const k of LATER_MODEL_KEYS) if (c[k] !== DEFAULT_GPT_CONFIG[k]) out.push(`${k} ${String(c[k])}`);
  return out;
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
  const obj = { ...(raw as Record<string, unknown>) };
  for (const k of LATER_MODEL_KEYS) if (!(k in obj)) obj[k] = DEFAULT_GPT_CONFIG[k];
  for (const k of MODEL_KEYS) if (!(k in obj)) throw new ConfigError(`${where}: model config lacks "${k}"`);
  for (const k of Object.keys(obj))
    if (!MODEL_KEYS.includes(k as keyof GPTConfig))
      throw new ConfigError(`${where}: unknown model key "${k}"`);
  for (const [k, v] of Object.entries(obj)) checkKind(GPT_CONFIG_KEYS[k as keyof GPTConfig], k, v, where);
  const c = modelConfig(obj as unknown as GPTConfig);
  checkModelRelations(c, where);
  return c;
}

// ---------------------------------------------------------------------------------------------
// The architectures: GPT and the language models before it (bigram.ts, mlp.ts, rnn.ts). Each has
// its own model keys; a checkpoint records its architecture (absent: gpt).

export const ARCHS = ['gpt', 'bigram', 'mlp', 'rnn', 'lstm', 'gru'] as const;
export type Arch = (typeof ARCHS)[number];

/** A V x V table of next-token logits: nothing but the vocabulary. */
export interface BigramConfig {
  vocabSize: number;
  /** the training window (the model itself reads one token) */
  blockSize: number;
}

/** Bengio et al.'s MLP: a window of `context` token embeddings, one tanh hidden layer. */
export interface MLPConfig {
  vocabSize: number;
  /** the training window */
  blockSize: number;
  /** tokens it reads to predict the next (Bengio's n - 1) */
  context: number;
  /** width of each token's embedding */
  nEmbd: number;
  /** hidden units */
  nHidden: number;
}

/** A stack of recurrent layers (vanilla tanh RNN, LSTM or GRU) between an embedding and a head. */
export interface RNNConfig {
  vocabSize: number;
  /** the training window: backpropagation through time is truncated to it */
  blockSize: number;
  nLayer: number;
  nEmbd: number;
  /** units of the hidden (and, for the LSTM, cell) state */
  nHidden: number;
  /** dropout between layers (as PyTorch's nn.LSTM: none after the last) */
  dropout: number;
}

/** The model config of any architecture. */
export type ModelConfig = GPTConfig | BigramConfig | MLPConfig | RNNConfig;

/** The model keys that only the models beside GPT have. */
export interface ExtraModelKeys {
  nHidden: number;
  context: number;
}

export const DEFAULT_EXTRA_MODEL_KEYS: ExtraModelKeys = { nHidden: 256, context: 8 };

export const ARCH_KEY: KeySpec = {
  kind: ARCHS,
  help: 'model: gpt | bigram (a table of next-token logits) | mlp (Bengio 2003) | rnn | lstm | gru',
};

export const EXTRA_MODEL_KEYS: Record<keyof ExtraModelKeys, KeySpec> = {
  nHidden: { kind: 'posint', help: 'hidden units (mlp, rnn, lstm, gru)' },
  context: { kind: 'posint', help: "tokens the mlp reads to predict the next (Bengio's n - 1)" },
};

const RNN_KEYS = ['vocabSize', 'blockSize', 'nLayer', 'nEmbd', 'nHidden', 'dropout'] as const;

/** Each architecture's model keys: what its checkpoints hold and which flags apply to it. */
export const ARCH_MODEL_KEYS: Record<Arch, readonly string[]> = {
  gpt: MODEL_KEYS,
  bigram: ['vocabSize', 'blockSize'],
  mlp: ['vocabSize', 'blockSize', 'context', 'nEmbd', 'nHidden'],
  rnn: RNN_KEYS,
  lstm: RNN_KEYS,
  gru: RNN_KEYS,
};

/** Every model key of any architecture (all of which a run's configuration holds). */
export const ALL_MODEL_KEYS: readonly string[] = [...MODEL_KEYS, ...Object.keys(EXTRA_MODEL_KEYS)];

/** Each architecture as a sentence names it: `holds an LSTM`. */
export const ARCH_NOUN: Record<Arch, string> = {
  gpt: 'a GPT',
  bigram: 'a bigram model',
  mlp: 'an MLP',
  rnn: 'an RNN',
  lstm: 'an LSTM',
  gru: 'a GRU',
};

export function isArch(name: unknown): name is Arch {
  return typeof name === 'string' && (ARCHS as readonly string[]).includes(name);
}

/** What a model key accepts, whichever architecture has it. */
function modelKeySpec(key: string): KeySpec {
  return Object.hasOwn(GPT_CONFIG_KEYS, key)
    ? GPT_CONFIG_KEYS[key as keyof GPTConfig]
    : EXTRA_MODEL_KEYS[key as keyof ExtraModelKeys];
}

/** The model config of `arch` out of a run's full configuration (its keys only). */
export function archModelConfig(arch: Arch, full: object): ModelConfig {
  const out: Record<string, unknown> = {};
  for (const k of ARCH_MODEL_KEYS[arch]) out[k] = (full as Record<string, unknown>)[k];
  return out as unknown as ModelConfig;
}

/** The relations between an architecture's model keys (each key's own rule is checkKind's). */
export function checkArchRelations(arch: Arch, c: object, where: string): void {
  if (arch === 'gpt') checkModelRelations(c as unknown as GPTConfig, where);
}

/**
 * A validated model config of `arch` (e.g. from a checkpoint): all its keys present, nothing
 * else. GPT's is validateModelConfig's.
 */
export function validateArchConfig(arch: Arch, raw: unknown, where: string): ModelConfig {
  if (arch === 'gpt') return validateModelConfig(raw, where);
  if (typeof raw !== 'object' || raw === null)
    throw new ConfigError(`${where}: model config must be an object`);
  const obj = raw as Record<string, unknown>;
  const keys = ARCH_MODEL_KEYS[arch];
  for (const k of keys) if (!(k in obj)) throw new ConfigError(`${where}: ${arch} model config lacks "${k}"`);
  for (const k of Object.keys(obj))
    if (!keys.includes(k)) throw new ConfigError(`${where}: unknown ${arch} model key "${k}"`);
  for (const [k, v] of Object.entries(obj)) checkKind(modelKeySpec(k), k, v, where);
  checkArchRelations(arch, obj, where);
  return archModelConfig(arch, obj);
}
