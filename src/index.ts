// tsgpt as a library: `import { GPT, Trainer, createBackend } from 'tsgpt'`.
// The browser-safe API only: file access (src/data/node-io.ts) and the CLI are not here.
// Backends and tokenizers also have their own entry points: 'tsgpt/backend', 'tsgpt/tokenizer'.

export { backward, noGrad } from './autograd/engine.js';
export * as ops from './autograd/ops.js';
export {
  type Backend,
  type BackendName,
  createBackend,
  createRefBackend,
  refBackend,
} from './backend/index.js';
export * from './data/index.js';
export * from './errors.js';
export { DEFAULT_GPT_CONFIG, type GPTConfig, modelConfig, validateModelConfig } from './model/config.js';
export { GPT, type GPTOptions } from './model/gpt.js';
export { fromHF, fromNanoGPT, toHF, toNanoGPT } from './model/interop.js';
export { CausalSelfAttention } from './nn/attention.js';
export { Block, MLP } from './nn/block.js';
export { KVCache } from './nn/kv-cache.js';
export { Embedding, LayerNorm, Linear } from './nn/layers.js';
export { Module, ParamStore } from './nn/module.js';
export { DEFAULT_SAMPLING, type GenerateOptions, generate, type SampleOptions } from './sample/sampling.js';
export { Tensor, tensor, tidy, zeros } from './tensor/tensor.js';
export * from './tokenizer/index.js';
export {
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  modelFromCheckpoint,
} from './train/checkpoint.js';
export {
  CONFIG_KEYS,
  DEFAULT_CONFIG,
  type FullConfig,
  isPreset,
  PRESETS,
  type PresetName,
  type TrainConfig,
  validateConfig,
} from './train/config.js';
export { type EvalResult, evaluateTokens } from './train/evaluate.js';
export { AdamW } from './train/optimizer.js';
export { lrAt } from './train/schedule.js';
export {
  buildRun,
  type ConfigLayers,
  type NamedCheckpoint,
  planRun,
  type RunData,
  type RunOptions,
  type RunPlan,
  type RunSetup,
  resolveConfig,
  setupRun,
} from './train/setup.js';
export { ThreadGovernor } from './train/thread-governor.js';
export { type StepInfo, Trainer, type TrainerOptions } from './train/trainer.js';
export { Rng } from './util/rng.js';
export { decodeSafetensors, encodeSafetensors } from './util/safetensors.js';
