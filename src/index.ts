// tsgpt as a library: `import { GPT, Trainer, createBackend } from 'tsgpt'`.
// The browser-safe API only: file access (src/data/node-io.ts) and the CLI are not here.
// Backends and tokenizers also have their own entry points: 'tsgpt/backend', 'tsgpt/tokenizer'.

export { backward, disposeGraph, noGrad } from './autograd/engine.js';
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
export { Bigram, countingSolution } from './model/bigram.js';
export {
  ARCHS,
  type Arch,
  type BigramConfig,
  DEFAULT_GPT_CONFIG,
  type GPTConfig,
  type MLPConfig,
  type ModelConfig,
  modelConfig,
  type RNNConfig,
  validateModelConfig,
} from './model/config.js';
export {
  EncoderDecoder,
  type EncoderDecoderOptions,
  type Seq2SeqInputs,
} from './model/encoder-decoder.js';
export {
  DEFAULT_ENCODER_DECODER_CONFIG,
  ENCODER_DECODER_KEYS,
  type EncoderDecoderConfig,
  validateEncoderDecoderConfig,
} from './model/encoder-decoder-config.js';
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
export type { DecodeState, LanguageModel, ModelOptions } from './model/language-model.js';
export { MLPModel } from './model/mlp.js';
export { asGPT, createModel, describeModel } from './model/models.js';
export { GRU, LSTM, RecurrentModel, RecurrentState, RNN } from './model/rnn.js';
export { CausalSelfAttention } from './nn/attention.js';
export { Block, MLP } from './nn/block.js';
export { KVCache } from './nn/kv-cache.js';
export { Embedding, LayerNorm, Linear } from './nn/layers.js';
export { type ForwardContext, type ForwardProbe, Module, ParamStore, type ProbePoint } from './nn/module.js';
export { MultiHeadAttention } from './nn/multi-head-attention.js';
export {
  DEFAULT_SAMPLING,
  type GenerateOptions,
  generate,
  pickToken,
  type SampleOptions,
  samplingDistribution,
  validateSampling,
} from './sample/sampling.js';
export { type DecodeOptions, type ExactMatch, exactMatch, translate } from './sample/seq2seq-decode.js';
export { Tensor, tensor, tidy, zeros } from './tensor/tensor.js';
export * from './tokenizer/index.js';
export {
  type Checkpoint,
  type CheckpointArch,
  decodeCheckpoint,
  decodeCheckpointFile,
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
export {
  LADDER_ARCHS,
  type LadderEvent,
  type LadderOptions,
  type LadderRow,
  runLadder,
} from './train/ladder.js';
export { AdamW } from './train/optimizer.js';
export { lrAt } from './train/schedule.js';
export {
  decodeSeq2SeqCheckpoint,
  encoderDecoderFromCheckpoint,
  encodeSeq2SeqCheckpoint,
  type Seq2SeqCheckpoint,
  type Seq2SeqCheckpointMeta,
} from './train/seq2seq-checkpoint.js';
export {
  buildSeq2SeqRun,
  planSeq2SeqRun,
  SEQ2SEQ_CONFIG_KEYS,
  type Seq2SeqRunOptions,
  type Seq2SeqRunPlan,
} from './train/seq2seq-setup.js';
export {
  DEFAULT_SEQ2SEQ_TRAIN_CONFIG,
  type Seq2SeqEvalInfo,
  Seq2SeqTrainer,
  type Seq2SeqTrainerOptions,
} from './train/seq2seq-trainer.js';
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
export { type StepTiming, timeTrainingSteps } from './train/speed-probe.js';
export { ThreadGovernor } from './train/thread-governor.js';
export { type StepInfo, Trainer, type TrainerOptions } from './train/trainer.js';
export { Rng } from './util/rng.js';
export { decodeSafetensors, encodeSafetensors } from './util/safetensors.js';
