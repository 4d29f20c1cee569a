// Name and layout maps between tsgpt parameters and other GPT checkpoints: nanoGPT's state
// dict and Hugging Face's GPT2LMHeadModel (+ its config.json). Pure functions over maps of
// named float32 tensors; reading and writing files (safetensors) happens elsewhere.
// tsgpt already uses nanoGPT's names, so that map is nearly the identity; Hugging Face's
// GPT-2 stores its Linear layers as `Conv1D`, i.e. weights transposed to (in, out).

import { CheckpointError, ConfigError, shapeStr } from '../errors.js';
import { fillSinusoid } from './gpt.js';

/** A float32 tensor with its shape, as stored in a checkpoint. */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}
export type TensorMap = Map<string, NamedTensor>;

/** The GPTConfig fields that decide which tensors exist and their shapes. */
export interface InteropConfig {
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nEmbd: number;
  readonly dropout: number;
  readonly bias: boolean;
  readonly positional: 'learned' | 'sinusoidal';
  readonly norm: 'pre' | 'post';
  readonly activation: 'gelu' | 'gelu_tanh' | 'relu';
}

/** Per-layer parameter suffixes in tsgpt/nanoGPT order; `t` marks HF Conv1D (transposed). */
const LAYER_PARAMS = [
  { name: 'ln_1.weight', shape: (C: number) => [C] },
  { name: 'ln_1.bias', shape: (C: number) => [C], bias: true },
  { name: 'attn.c_attn.weight', shape: (C: number) => [3 * C, C], t: true },
  { name: 'attn.c_attn.bias', shape: (C: number) => [3 * C], bias: true },
  { name: 'attn.c_proj.weight', shape: (C: number) => [C, C], t: true },
  { name: 'attn.c_proj.bias', shape: (C: number) => [C], bias: true },
  { name: 'ln_2.weight', shape: (C: number) => [C] },
  { name: 'ln_2.bias', shape: (C: number) => [C], bias: true },
  { name: 'mlp.c_fc.weight', shape: (C: number) => [4 * C, C], t: true },
  { name: 'mlp.c_fc.bias', shape: (C: number) => [4 * C], bias: true },
  { name: 'mlp.c_proj.weight', shape: (C: number) => [C, 4 * C], t: true },
  { name: 'mlp.c_proj.bias', shape: (C: number) => [C], bias: true },
] as const;

/**
 * Every tsgpt parameter name with its shape, in canonical order. The output head is tied to
 * `transformer.wte.weight` and so has no entry; 'sinusoidal' positions have no `wpe`.
 * @example expectedShapes(cfg).get('transformer.h.0.attn.c_attn.weight') // [3*C, C]
 */
export function expectedShapes(config: InteropConfig): Map<string, number[]> {
  const { vocabSize: V, blockSize, nLayer, nEmbd: C } = config;
  const m = new Map<string, number[]>();
  m.set('transformer.wte.weight', [V, C]);
  if (config.positional === 'learned') m.set('transformer.wpe.weight', [blockSize, C]);
  for (let i = 0; i < nLayer; i++) {
    for (const p of LAYER_PARAMS) {
      if ('bias' in p && !config.bias) continue;
      m.set(`transformer.h.${i}.${p.name}`, p.shape(C));
    }
  }
  m.set('transformer.ln_f.weight', [C]);
  if (config.bias) m.set('transformer.ln_f.bias', [C]);
  return m;
}

/**
 * Checks that `params` holds exactly the tensors `config` needs, with the right shapes and
 * data lengths; returns them in canonical order. `what` names the source in the error.
 */
export function checkParams(
  params: ReadonlyMap<string, NamedTensor>,
  config: InteropConfig,
  what: string,
): TensorMap {
  const want = expectedShapes(config);
  const missing = [...want.keys()].filter((k) => !params.has(k));
  if (missing.length > 0) throw new CheckpointError(`${what}: missing ${listNames(missing)}`);
  const extra = [...params.keys()].filter((k) => !want.has(k));
  if (extra.length > 0) throw new CheckpointError(`${what}: unexpected ${listNames(extra)}`);
  const out: TensorMap = new Map();
  for (const [name, shape] of want) {
    const t = params.get(name)!;
    checkShape(t, shape, name, what);
    out.set(name, t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// nanoGPT

/**
 * tsgpt parameters → nanoGPT `GPT.state_dict()` names: the same names plus `lm_head.weight`,
 * which nanoGPT's strict `load_state_dict` requires (it is the same tensor as wte). Data is
 * shared, not copied. Stock nanoGPT runs only the pre-norm / learned-position / exact-GELU
 * variant; test/pytorch/gpt_torch.py runs them all under the same names.
 * @example encodeSafetensors(toNanoGPT(params))
 */
export function toNanoGPT(params: ReadonlyMap<string, NamedTensor>): TensorMap {
  const wte = params.get('transformer.wte.weight');
  if (wte === undefined) throw new CheckpointError('nanoGPT export: missing transformer.wte.weight');
  const out: TensorMap = new Map(params);
  // an untied head (tieWeights false) is a parameter of its own and stays as it is
  if (!params.has('lm_head.weight')) out.set('lm_head.weight', wte);
  return out;
}

/**
 * A nanoGPT state dict → tsgpt parameters for `config`. Accepts the `_orig_mod.` prefix a
 * `torch.compile`d model saves, ignores `attn.bias` mask buffers (nanoGPT on PyTorch < 2),
 * and requires `lm_head.weight`, when present, to equal wte (tsgpt ties them).
 */
export function fromNanoGPT(stateDict: ReadonlyMap<string, NamedTensor>, config: InteropConfig): TensorMap {
  const what = 'nanoGPT import';
  const params: TensorMap = new Map();
  let head: NamedTensor | undefined;
  for (const [rawName, t] of stateDict) {
    const name = rawName.startsWith('_orig_mod.') ? rawName.slice('_orig_mod.'.length) : rawName;
    if (/^transformer\.h\.\d+\.attn\.bias$/.test(name)) continue;
    if (name === 'lm_head.weight') head = t;
    else setOnce(params, name, t, what);
  }
  const out = checkParams(params, config, what);
  if (head !== undefined) checkTied(head, out.get('transformer.wte.weight')!, what);
  return out;
}

// ---------------------------------------------------------------------------------------
// Hugging Face GPT-2

/**
 * tsgpt parameters → Hugging Face `GPT2LMHeadModel` state dict: Conv1D weights transposed to
 * (in, out), `lm_head.weight` = wte. GPT-2 always has biases and learned positions, so a
 * bias-free model gets zero biases and a sinusoidal one gets its fixed table as `wpe`: both
 * compute exactly the same function. Post-norm has no GPT-2 equivalent and is refused.
 * @example const sd = toHF(params, cfg); const cfgJson = hfConfigJson(cfg);
 */
export function toHF(params: ReadonlyMap<string, NamedTensor>, config: InteropConfig): TensorMap {
  if (config.norm !== 'pre') {
    throw new ConfigError(
      `hf export: norm '${config.norm}' has no GPT2LMHeadModel equivalent (GPT-2 is pre-norm)`,
    );
  }
  const p = checkParams(params, config, 'hf export');
  const C = config.nEmbd;
  const out: TensorMap = new Map();
  const wte = p.get('transformer.wte.weight')!;
  out.set('transformer.wte.weight', wte);
  out.set(
    'transformer.wpe.weight',
    config.positional === 'learned'
      ? p.get('transformer.wpe.weight')!
      : { shape: [config.blockSize, C], data: sinusoidalTable(config.blockSize, C) },
  );
  for (let i = 0; i < config.nLayer; i++) {
    for (const lp of LAYER_PARAMS) {
      const name = `transformer.h.${i}.${lp.name}`;
      const t = p.get(name) ?? { shape: lp.shape(C), data: new Float32Array(lp.shape(C)[0]!) };
      out.set(name, 't' in lp ? transpose2d(t) : t);
    }
  }
  out.set('transformer.ln_f.weight', p.get('transformer.ln_f.weight')!);
  out.set(
    'transformer.ln_f.bias',
    p.get('transformer.ln_f.bias') ?? { shape: [C], data: new Float32Array(C) },
  );
  out.set('lm_head.weight', wte);
  return out;
}

/**
 * The safetensors `__metadata__` a Hugging Face export must carry: transformers'
 * `from_pretrained` refuses a model.safetensors whose metadata lacks `format: "pt"`.
 * @example encodeSafetensors(toHF(params, cfg), HF_SAFETENSORS_METADATA)
 */
export const HF_SAFETENSORS_METADATA: Readonly<Record<string, string>> = Object.freeze({ format: 'pt' });

export interface HFConfigOptions {
  /** GPT-2 BPE's <|endoftext|> is 50256; defaults to that when the vocabulary has it, else null. */
  readonly bosTokenId?: number | null;
  readonly eosTokenId?: number | null;
}

/**
 * A `config.json` for transformers' `GPT2Config` describing `config`: 'gelu_tanh' →
 * 'gelu_new' (GPT-2's own), 'gelu' → 'gelu' (exact erf), 'relu' → 'relu'.
 */
export function hfConfigJson(config: InteropConfig, opts: HFConfigOptions = {}): Record<string, unknown> {
  const defaultEos = config.vocabSize > 50256 ? 50256 : null;
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: config.vocabSize,
    n_positions: config.blockSize,
    n_ctx: config.blockSize,
    n_embd: config.nEmbd,
    n_layer: config.nLayer,
    n_head: config.nHead,
    n_inner: null,
    activation_function: HF_ACTIVATION[config.activation],
    resid_pdrop: config.dropout,
    embd_pdrop: config.dropout,
    attn_pdrop: config.dropout,
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: true,
    use_cache: true,
    bos_token_id: opts.bosTokenId !== undefined ? opts.bosTokenId : defaultEos,
    eos_token_id: opts.eosTokenId !== undefined ? opts.eosTokenId : defaultEos,
    torch_dtype: 'float32',
  };
}

const HF_ACTIVATION = { gelu: 'gelu', gelu_tanh: 'gelu_new', relu: 'relu' } as const;
const FROM_HF_ACTIVATION: Readonly<Record<string, InteropConfig['activation']>> = {
  gelu: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  relu: 'relu',
};

/**
 * A Hugging Face GPT-2 checkpoint (state dict + parsed config.json) → tsgpt parameters and
 * config. Names may carry the `transformer.` prefix or not (the hub's `gpt2` files have
 * none); `attn.bias` / `attn.masked_bias` buffers are ignored; `lm_head.weight`, if present,
 * must equal wte. Missing, unexpected or mis-shaped tensors are refused.
 * @example const { params, config } = fromHF(decodeSafetensors(bytes).tensors, JSON.parse(configText));
 */
export function fromHF(
  stateDict: ReadonlyMap<string, NamedTensor>,
  configJson: unknown,
): { params: TensorMap; config: InteropConfig } {
  const config = configFromHF(configJson);
  const what = 'hf import';
  const byName: TensorMap = new Map();
  let head: NamedTensor | undefined;
  for (const [rawName, t] of stateDict) {
    if (rawName === 'lm_head.weight') {
      head = t;
      continue;
    }
    const name = rawName.startsWith('transformer.') ? rawName : `transformer.${rawName}`;
    if (/^transformer\.h\.\d+\.attn\.(bias|masked_bias)$/.test(name)) continue;
    setOnce(byName, name, t, what);
  }
  const want = expectedShapes(config);
  const params: TensorMap = new Map();
  const transposed = new Set<string>(LAYER_PARAMS.filter((p) => 't' in p).map((p) => p.name));
  for (const [name, shape] of want) {
    const t = byName.get(name);
    if (t === undefined) throw new CheckpointError(`${what}: missing ${name}`);
    const isConv1D = transposed.has(name.replace(/^transformer\.h\.\d+\./, ''));
    checkShape(t, isConv1D ? [shape[1]!, shape[0]!] : shape, name, what);
    params.set(name, isConv1D ? transpose2d(t) : t);
  }
  const extra = [...byName.keys()].filter((k) => !want.has(k));
  if (extra.length > 0) throw new CheckpointError(`${what}: unexpected ${listNames(extra)}`);
  if (head !== undefined) checkTied(head, params.get('transformer.wte.weight')!, what);
  return { params, config };
}

function configFromHF(json: unknown): InteropConfig {
  const fail: (reason: string) => never = (reason) => {
    throw new CheckpointError(`hf config.json: ${reason}`);
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('not a JSON object');
  const j = json as Record<string, unknown>;
  const int = (key: string, fallback?: string): number => {
    const v = j[key] ?? (fallback !== undefined ? j[fallback] : undefined);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      return fail(`${key} = ${JSON.stringify(v)}, expected a positive integer`);
    }
    return v;
  };
  if (j['model_type'] !== undefined && j['model_type'] !== 'gpt2') {
    fail(`model_type ${JSON.stringify(j['model_type'])}, expected "gpt2"`);
  }
  const nEmbd = int('n_embd');
  const nHead = int('n_head');
  if (nEmbd % nHead !== 0) fail(`n_embd ${nEmbd} is not divisible by n_head ${nHead}`);
  const act = String(j['activation_function'] ?? 'gelu_new');
  const activation = FROM_HF_ACTIVATION[act] ?? fail(`activation_function "${act}" is not supported`);
  const eps = j['layer_norm_epsilon'] ?? 1e-5;
  if (eps !== 1e-5) fail(`layer_norm_epsilon ${String(eps)}: tsgpt's LayerNorm uses 1e-5`);
  if (j['n_inner'] != null && j['n_inner'] !== 4 * nEmbd)
    fail(`n_inner ${String(j['n_inner'])} != 4 * n_embd`);
  if (j['scale_attn_weights'] === false) fail('scale_attn_weights false is not supported');
  if (j['scale_attn_by_inverse_layer_idx'] === true) fail('scale_attn_by_inverse_layer_idx is not supported');
  if (j['add_cross_attention'] === true) fail('add_cross_attention is not supported');
  if (j['tie_word_embeddings'] === false) fail('untied word embeddings are not supported');
  const drop = j['resid_pdrop'] ?? 0;
  if (typeof drop !== 'number' || drop < 0 || drop >= 1) fail(`resid_pdrop ${String(drop)} not in [0, 1)`);
  return {
    vocabSize: int('vocab_size'),
    blockSize: int('n_positions', 'n_ctx'),
    nLayer: int('n_layer'),
    nHead,
    nEmbd,
    dropout: drop as number,
    bias: true,
    positional: 'learned',
    norm: 'pre',
    activation,
  };
}

// ---------------------------------------------------------------------------------------
// helpers

/**
 * The fixed sin/cos position table of "Attention Is All You Need":
 * PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(pos / 10000^(2i/C)).
 */
export function sinusoidalTable(blockSize: number, C: number): Float32Array {
  const pe = new Float32Array(blockSize * C); // (blockSize, C): exactly the table the model adds
  fillSinusoid(pe, blockSize, C);
  return pe;
}

/** (R, K) → (K, R), a new tensor. */
export function transpose2d(t: NamedTensor): NamedTensor {
  const [R, K] = t.shape as [number, number];
  const out = new Float32Array(R * K);
  for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) out[k * R + r] = t.data[r * K + k]!;
  return { shape: [K, R], data: out };
}

function checkShape(t: NamedTensor, shape: readonly number[], name: string, what: string): void {
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!same)
    throw new CheckpointError(`${what}: ${name} has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)}`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) {
    throw new CheckpointError(`${what}: ${name} has ${t.data.length} values for shape ${shapeStr(shape)}`);
  }
}

function checkTied(head: NamedTensor, wte: NamedTensor, what: string): void {
  checkShape(head, wte.shape, 'lm_head.weight', what);
  if (head.data === wte.data) return;
  for (let i = 0; i < head.data.length; i++) {
    if (!Object.is(head.data[i], wte.data[i])) {
      throw new CheckpointError(`${what}: lm_head.weight differs from wte at index ${i}; tsgpt ties them`);
    }
  }
}

function setOnce(m: TensorMap, name: string, t: NamedTensor, what: string): void {
  if (m.has(name)) throw new CheckpointError(`${what}: ${name} given twice`);
  m.set(name, t);
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${shown} (+${names.length - 4} more)` : shown;
}
