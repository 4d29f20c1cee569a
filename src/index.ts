// tsgpt as a library: `import { GPT, Trainer, createBackend } from 'tsgpt'`.
// The browser-safe API only: file access (src/data/node-io.ts) and the CLI are not here.
// Backends and tokenizers also have their own entry points: 'tsgpt/backend', 'tsgpt/tokenizer'.

export { backward, noGrad } from './autograd/engine.js';
export * as ops from './autograd/ops.js';
export {
  type Backend,
  type BackendName,
  type CreateBackendOptions,
  createBackend,
  createRefBackend,
  refBackend,
} from './backend/index.js';
export {
  type BrowserPlatformOptions,
  browserPlatform,
  canShareMemory,
} from './backend/wasm/browser-platform.js';
export { serveEngineThread } from './backend/wasm/browser-worker.js';
export type { KernelFlavor } from './backend/wasm/kernels.js';
export type { WasmPlatform } from './backend/wasm/platform.js';
export * from './data/index.js';
export * from './errors.js';
export { DEFAULT_GPT_CONFIG, type GPTConfig, modelConfig, validateModelConfig } from './model/config.js';
export { GPT, type GPTOptions } from './model/gpt.js';
export {
  cosineSimilarity,
  type Inspection,
  type InspectOptions,
  inspect,
  type ParameterStats,
  type PCA,
  parameterStats,
  pca,
  type Stats,
  snapshotWeights,
  stats,
  updateToWeight,
} from './model/inspect.js';
export { fromHF, fromNanoGPT, toHF, toNanoGPT } from './model/interop.js';
export { CausalSelfAttention } from './nn/attention.js';
export { Block, MLP } from './nn/block.js';
export { KVCache } from './nn/kv-cache.js';
export { Embedding, LayerNorm, Linear } from './nn/layers.js';
export { type ForwardContext, type ForwardProbe, Module, ParamStore, type ProbePoint } from './nn/module.js';
export {
  DEFAULT_SAMPLING,
  type GenerateOptions,
  generate,
  pickToken,
  type SampleOptions,
  samplingDistribution,
  validateSampling,
} from './sample/sampling.js';
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
