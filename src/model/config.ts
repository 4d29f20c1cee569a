// GPTConfig: the architecture of a GPT, GPT-2's defaults, what each key accepts and the check
// every boundary runs on it (a checkpoint's config, a config file, flags): unknown keys and
// impossible values are refused with the reason. Not here: the training configuration, the
// presets and run setup (src/train/config.ts, src/train/setup.ts).

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
  blockSize: { kind: 'posint', help: 'context length in tokens' },
  nLayer: { kind: 'posint', help: 'transformer blocks' },
  nHead: { kind: 'posint', help: 'attention heads (must divide nEmbd)' },
  nEmbd: { kind: 'posint', help: 'embedding width' },
  dropout: { kind: 'prob', help: 'dropout probability in [0, 1)' },
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
