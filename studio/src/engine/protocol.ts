// The messages between the page and the engine worker (engine/worker.ts): requests the page
// sends (each answered once, by id), and the events the worker sends on its own (state changes,
// training steps, evaluations, generated tokens, health statistics). Plain data only: what
// crosses postMessage is copied (or transferred), never shared objects.

import type { FullConfig, SampleOptions, Stats } from 'tsgpt';

/** Where the training text comes from. */
export type DataSource =
  | { kind: 'builtin'; name: 'tinyshakespeare' }
  | { kind: 'file'; name: string; bytes: ArrayBuffer };

/** How the text becomes tokens: one per character, or a byte-level BPE learned from the text. */
export type TokenizerChoice = { kind: 'char' } | { kind: 'bpe'; vocabSize: number };

export type Request =
  /** stop: one shared int32 the page sets to stop a generation (when the page may share memory) */
  | { type: 'init'; stop: SharedArrayBuffer | null }
  | { type: 'setData'; source: DataSource; tokenizer: TokenizerChoice }
  /** a new model: a preset (the library's, or 'baby' under a page's own) and the page's settings over it */
  | { type: 'newModel'; preset: string; config: Partial<FullConfig> }
  | { type: 'train' }
  | { type: 'pause' }
  | { type: 'stop' }
  | { type: 'generate'; prompt: string; sampling: SampleOptions; maxTokens: number; seed: number }
  | { type: 'inspect'; prompt: string }
  | { type: 'logits'; prompt: string }
  | { type: 'download' }
  | { type: 'load'; name: string; bytes: ArrayBuffer }
  | { type: 'restore' }
  | { type: 'forget' }
  | { type: 'bench'; steps: number; warmup: number; threads?: number };

export type RequestType = Request['type'];

/** One of the page's requests with its id (the reply carries the same id). */
export type Envelope = Request & { id: number };

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface EngineInfo {
  threads: number;
  isolated: boolean;
  /** which build of the kernels runs: 'relaxed' (fused multiply-add) or 'simd' */
  flavor: string;
}

export interface DataInfo {
  name: string;
  chars: number;
  tokenizer: string;
  vocabSize: number;
  trainTokens: number;
  valTokens: number;
}

export type RunStatus = 'empty' | 'ready' | 'training' | 'paused' | 'done';

export interface ModelInfo {
  config: FullConfig;
  params: number;
  /** where the weights came from */
  origin: 'new' | 'loaded' | 'restored';
  /** a checksum of the weights: tests use it to see that a refused input changed nothing */
  fingerprint: string;
  tokenizer: string;
  /** whether the model's tokenizer can encode the current data (so training can continue) */
  canTrain: boolean;
  /** why not, when it cannot */
  trainBlocked: string | null;
}

export interface EngineState {
  engine: EngineInfo | null;
  data: DataInfo | null;
  model: ModelInfo | null;
  status: RunStatus;
  step: number;
  maxIters: number;
  bestValLoss: number | null;
  /** step of the checkpoint kept in this browser (IndexedDB), or null */
  savedStep: number | null;
}

export interface StepPoint {
  step: number;
  loss: number;
  lr: number;
  ms: number;
  tokensPerSec: number;
}

export interface EvalPoint {
  step: number;
  train: number;
  val: number;
}

/** The loss history a chart needs (kept with the checkpoint, so a reload shows it again). */
export interface History {
  steps: StepPoint[];
  evals: EvalPoint[];
}

/** One candidate next token and its probability. */
export interface Candidate {
  id: number;
  text: string;
  p: number;
  /** its place in the list, best first (0 is the most likely) */
  rank: number;
}

export interface GeneratedToken {
  id: number;
  /** the text this token added (may be empty while a multi-byte character is incomplete) */
  text: string;
  /** the model's own distribution (softmax of the logits): the top entries, and the chosen one */
  before: Candidate[];
  /** the distribution it was drawn from, after temperature, top-k and top-p: top entries and the chosen one */
  after: Candidate[];
  /** how many candidates survived the cut-offs */
  kept: number;
}

/** Per-layer "is training healthy?" numbers, measured on one training batch. */
export interface Health {
  step: number;
  layers: {
    /** the MLP's hidden activation, and the block's output (the residual stream) */
    mlp: Stats;
    block: Stats;
    /** gradient of the layer's weight matrices, all four together */
    grad: Stats;
  }[];
  /** update-to-weight ratio (rms of the update / rms of the weight) of each weight matrix */
  ratios: { name: string; ratio: number }[];
}

export type EngineEvent =
  | { type: 'state'; state: EngineState }
  | { type: 'steps'; points: StepPoint[] }
  | { type: 'eval'; point: EvalPoint }
  | { type: 'history'; history: History }
  | { type: 'tokens'; tokens: GeneratedToken[] }
  | { type: 'health'; health: Health }
  /** a short sample drawn at an evaluation, to watch the model learn */
  | { type: 'sample'; step: number; text: string }
  | { type: 'notice'; level: 'info' | 'error'; text: string };

/** What 'inspect' answers. */
export interface InsideResult {
  tokens: string[];
  ids: number[];
  nLayer: number;
  nHead: number;
  /** attention[l]: (NH, T, T) */
  attention: Float32Array[];
  /** token embeddings (wte) projected on their first two principal components */
  embedding: { labels: string[]; xy: Float32Array; explained: number[] };
  /** cosine similarity of the learned position embeddings (blockSize, blockSize), or null */
  positions: { size: number; sim: Float32Array } | null;
  tokenizer: string;
}

/** What 'generate' answers when done (the tokens also stream as events). */
export interface GenerateResult {
  prompt: string;
  tokens: number;
  ms: number;
}
