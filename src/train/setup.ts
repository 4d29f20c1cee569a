// Run setup: where a training run's configuration is decided, once, and its model and Trainer
// are built, for every caller: `tsgpt train`, the bench, a page in the browser, a lesson.
// It reads no files: callers parse the config file, load the data and decode checkpoints, and
// hand over what they read (with names for the messages). Not here: the training loop
// (trainer.ts), printing, writing checkpoints or logs (the caller's hooks).
//
// The layers of a configuration, later ones winning:
//   a new run        DEFAULT_CONFIG < preset < config file < overrides (flags); vocabSize: the data's
//   resume           DEFAULT_CONFIG < the checkpoint's training config < config file < overrides
//                    < the checkpoint's model config. The preset is not used, a model key given by
//                    the file or overrides must equal the checkpoint's, and the weights, optimizer
//                    state, step and RNG continue where the checkpoint stopped.
//   init-from        as a new run for the training keys; the model is the checkpoint's, except
//                    dropout (from the layers above) and blockSize (given: at most the checkpoint's,
//                    which is then cropped, GPT.cropBlockSize). A fresh optimizer.
// Each source's keys are checked where they come from (errors name the file); the relations
// between keys (nHead divides nEmbd, minLr <= learningRate, ...) once, on the result.
// setupRun is the one call; its halves are planRun (decide and check: pure, no engine) and
// buildRun (the model and the Trainer on a backend), which the CLI calls apart so that a bad
// value is refused before the wasm backend starts its threads.

import type { Backend } from '../backend/backend.js';
import type { TokenArray } from '../data/dataset.js';
import { ConfigError } from '../errors.js';
import {
  ALL_MODEL_KEYS,
  ARCH_MODEL_KEYS,
  type Arch,
  archModelConfig,
  type GPTConfig,
} from '../model/config.js';
import { GPT } from '../model/gpt.js';
import type { LanguageModel } from '../model/language-model.js';
import { createModel } from '../model/models.js';
import type { TokenizerJSON } from '../tokenizer/tokenizer.js';
import { type Checkpoint, checkpointArch, INT8_NOT_TRAINABLE, modelFromCheckpoint } from './checkpoint.js';
import {
  checkRelations,
  checkValue,
  DEFAULT_CONFIG,
  DEFAULT_PRESET,
  type FullConfig,
  isPreset,
  PRESETS,
  type PresetName,
  presetArch,
} from './config.js';
import { type DataParallelGroup, dataParallelGroup } from './data-parallel.js';
import { Trainer } from './trainer.js';

/** A decoded checkpoint and its name (a path) for messages. */
export interface NamedCheckpoint {
  checkpoint: Checkpoint;
  name: string;
}

/** Where a run's configuration comes from (see the file comment for the order). */
export interface ConfigLayers {
  /** a preset's name (default: the architecture's, DEFAULT_PRESET: baby for gpt); not used on resume */
  preset?: string;
  /** a config file's parsed contents (a JSON object of config keys) and its name */
  configFile?: { name: string; values: unknown };
  /** the last word: config keys with typed values, e.g. from the command line's flags */
  overrides?: Readonly<Record<string, unknown>>;
  /** what errors call the overrides (default 'overrides'; the CLI says 'flags') */
  overridesName?: string;
  /** continue this checkpoint's run */
  resume?: NamedCheckpoint;
  /** start a new run from this checkpoint's weights (fine-tuning) */
  initFrom?: NamedCheckpoint;
}

/** The token ids a run trains on, and what they are. */
export interface RunData {
  train: TokenArray;
  val: TokenArray;
  vocabSize: number;
  /** the tokenizer that made the ids: saved in checkpoints, and must be a checkpoint's own */
  tokenizer: TokenizerJSON;
  /** names the data in messages (a directory, a file) */
  name: string;
}

/** Everything a run is decided from: the layers of its configuration, and its data. */
export interface RunOptions extends ConfigLayers {
  data: RunData;
  /** passed to the Trainer (default true): capture the first step and replay it */
  compile?: boolean;
  /** passed to the Trainer (default true): let the ThreadGovernor switch worker threads */
  adaptThreads?: boolean;
  /**
   * Data parallelism over this many ranks (default 1: none): buildRun makes the group
   * (data-parallel.ts) and the Trainer is its rank 0; the caller starts the other ranks
   * (node-data-parallel.ts startRanks). batchSize must be a multiple of it.
   */
  dataParallel?: number;
}

/** A run decided and checked (planRun), not yet built: no engine has started. */
export interface RunPlan extends RunOptions {
  /** the effective configuration: what the run logs and the Trainer gets */
  config: FullConfig;
}

/** What a run needs: its effective configuration, the model and the Trainer over both. */
export interface RunSetup {
  config: FullConfig;
  model: LanguageModel;
  trainer: Trainer;
  /** with dataParallel > 1: the group, whose rank 0 the Trainer is (start the other ranks) */
  group?: DataParallelGroup;
}

/**
 * The effective configuration of a run from its layers (see the file comment), validated once.
 * Pure: no model is built. Throws ConfigError naming the source of a bad value.
 * @example resolveConfig({ preset: 'baby', overrides: { maxIters: 500 } }, 65).maxIters // 500
 */
export function resolveConfig(layers: ConfigLayers, vocabSize: number): FullConfig {
  const { resume, initFrom } = layers;
  if (resume && initFrom)
    throw new ConfigError(
      `resume (${resume.name}) and initFrom (${initFrom.name}) exclude each other: resume continues a run, initFrom starts a new one`,
    );
  if (layers.preset !== undefined && !isPreset(layers.preset))
    throw new ConfigError(`unknown preset ${layers.preset} (known: ${Object.keys(PRESETS).join(', ')})`);
  // the keys given by the config file and the overrides, each checked where it comes from
  const given: Record<string, unknown> = {};
  const sources: { name: string; keys: string[] }[] = [];
  const take = (values: unknown, name: string) => {
    if (typeof values !== 'object' || values === null || Array.isArray(values))
      throw new ConfigError(`${name}: must be a JSON object of config keys`);
    const obj = values as Record<string, unknown>;
    if ('vocabSize' in obj) throw new ConfigError(`${name}: vocabSize comes from the data; remove it`);
    for (const [k, v] of Object.entries(obj)) checkValue(k, v, name);
    Object.assign(given, obj);
    sources.push({ name, keys: Object.keys(obj) });
  };
  if (layers.configFile) take(layers.configFile.values, layers.configFile.name);
  if (layers.overrides && Object.keys(layers.overrides).length > 0)
    take(layers.overrides, layers.overridesName ?? 'overrides');

  // the architecture: a checkpoint's (resume, init-from), else the one given, else the preset's;
  // with no preset named, the architecture's own (DEFAULT_PRESET: baby for gpt)
  const from = resume ?? initFrom;
  const fromArch = from ? checkpointArch(from.checkpoint) : undefined;
  const givenArch = given['arch'] as Arch | undefined;
  if (from && givenArch !== undefined && givenArch !== fromArch)
    throw new ConfigError(
      `${resume ? 'resume from' : 'init from'} ${from.name}: arch = ${givenArch} differs from the checkpoint's ${fromArch}`,
    );
  const presetName = (layers.preset ?? DEFAULT_PRESET[fromArch ?? givenArch ?? 'gpt']) as PresetName;
  const arch = fromArch ?? givenArch ?? presetArch(presetName);
  if (!resume && presetArch(presetName) !== arch)
    throw new ConfigError(
      `preset ${presetName} is for arch ${presetArch(presetName)}, not ${arch}: use preset ${DEFAULT_PRESET[arch]} (the default for arch ${arch})`,
    );
  // a model key of another architecture is a mistake, not something to ignore silently
  const own = ARCH_MODEL_KEYS[arch];
  for (const { name, keys } of sources)
    for (const k of keys)
      if (ALL_MODEL_KEYS.includes(k) && !own.includes(k))
        throw new ConfigError(
          `${name}: ${k} does not apply to arch ${arch} (its model keys: ${own.filter((x) => x !== 'vocabSize').join(', ')})`,
        );

  let merged: Record<string, unknown>;
  let base: string; // the first layer, for the message of a bad relation between keys
  let model = ''; // where the model keys come from, when not from the layers
  if (resume) {
    const ck = resume.checkpoint.meta;
    const ckc = ck.config as unknown as Record<string, unknown>;
    for (const k of own)
      if (k in given && given[k] !== ckc[k])
        throw new ConfigError(
          `resume from ${resume.name}: ${k} = ${String(given[k])} differs from the checkpoint's ${String(ckc[k])}`,
        );
    merged = { ...DEFAULT_CONFIG, ...(ck.train ?? {}), ...given, ...ck.config, arch };
    base = resume.name;
  } else {
    merged = { ...DEFAULT_CONFIG, ...PRESETS[presetName].config, ...given, vocabSize };
    base = `preset ${presetName}`;
    if (initFrom) {
      const ckc = initFrom.checkpoint.meta.config as unknown as Record<string, unknown>;
      // the architecture is the checkpoint's; only dropout and the context may change
      for (const k of own)
        if (k in given && k !== 'dropout' && k !== 'blockSize' && given[k] !== ckc[k])
          throw new ConfigError(
            `init from ${initFrom.name}: ${k} = ${String(given[k])} differs from the checkpoint's ${String(ckc[k])}`,
          );
      const ckBlock = ckc['blockSize'] as number;
      const blockSize = (given['blockSize'] as number | undefined) ?? ckBlock;
      // a GPT's weights fix its context (one learned position each); the others' do not
      if (arch === 'gpt' && blockSize > ckBlock)
        throw new ConfigError(
          `init from ${initFrom.name}: blockSize ${blockSize} exceeds the checkpoint's ${ckBlock}`,
        );
      merged = { ...merged, ...ckc, blockSize, dropout: merged['dropout'], arch };
      model = `; the model from ${initFrom.name}`;
    }
  }
  const cfg = { ...DEFAULT_CONFIG, ...merged } as FullConfig;
  checkRelations(cfg, `config (${[base, ...sources.map((x) => x.name)].join(' < ')}${model})`);
  return cfg;
}

/**
 * Decides a run and checks it, before any engine starts (a bad value costs no threads): the
 * configuration from its layers (resolveConfig), and that the data comes from the checkpoint's
 * tokenizer when there is one, and that a resumed run has steps left (maxIters above the
 * checkpoint's step). Throws ConfigError. buildRun then builds it on a backend.
 */
export function planRun(o: RunOptions): RunPlan {
  const config = resolveConfig(o, o.data.vocabSize);
  const { resume, initFrom, data } = o;
  const ck = resume ?? initFrom;
  if (ck?.checkpoint.int8) throw new ConfigError(`${ck.name}: ${INT8_NOT_TRAINABLE}`);
  const ranks = o.dataParallel ?? 1;
  if (!(Number.isInteger(ranks) && ranks >= 1))
    throw new ConfigError(`data parallel: ${ranks} ranks: must be a positive integer`);
  if (config.batchSize % ranks !== 0)
    throw new ConfigError(
      `data parallel: batchSize ${config.batchSize} is not a multiple of the ${ranks} ranks (each takes batchSize / ranks rows)`,
    );
  // gradient checkpointing, bf16 attention, data parallelism and Muon (whose hidden matrices are
  // a GPT's: isMuonParam) are built for (and tested on) a GPT
  if (config.arch !== 'gpt') {
    const gptOnly = [
      ...(config.gradCheckpoint ? ['--grad-checkpoint'] : []),
      ...(config.optimizer === 'muon' ? ['--optimizer muon'] : []),
      ...(config.precision !== 'fp32' ? [`--precision ${config.precision}`] : []),
      ...(ranks > 1 ? ['--data-parallel'] : []),
    ];
    if (gptOnly.length > 0)
      throw new ConfigError(
        `${gptOnly.join(' and ')} ${gptOnly.length > 1 ? 'work' : 'works'} for GPT only (arch ${config.arch})`,
      );
  }
  // a resumed run that has nothing left to do would only re-evaluate and rewrite the checkpoint
  if (resume && config.maxIters <= resume.checkpoint.meta.step)
    throw new ConfigError(
      `resume from ${resume.name}: the checkpoint is already at step ${resume.checkpoint.meta.step} and ` +
        `maxIters is ${config.maxIters}, so there is nothing to train: set maxIters above ${resume.checkpoint.meta.step}`,
    );
  if (ck && JSON.stringify(ck.checkpoint.meta.tokenizer) !== JSON.stringify(data.tokenizer))
    throw new ConfigError(
      resume
        ? `${ck.name} was trained with another tokenizer than ${data.name}`
        : `${ck.name} uses another tokenizer than ${data.name}: prepare the text with the checkpoint's tokenizer`,
    );
  return { ...o, config };
}

/**
 * A planned run on `backend`: the model (new, with the checkpoint's weights and state on
 * resume, or the checkpoint's weights cropped to the context on init-from) and its Trainer.
 */
export function buildRun(plan: RunPlan, backend: Backend): RunSetup {
  const { config, resume, initFrom, data } = plan;
  const arch = config.arch;
  let model: LanguageModel;
  if (resume) model = modelFromCheckpoint(resume.checkpoint, backend);
  else if (initFrom && arch === 'gpt') {
    const from: GPTConfig = { ...(initFrom.checkpoint.meta.config as GPTConfig), dropout: config.dropout };
    const gpt = new GPT(from, backend, { init: false });
    gpt.loadStateDict(initFrom.checkpoint.weights);
    gpt.cropBlockSize(config.blockSize); // nanoGPT's crop_block_size: the first positions
    model = gpt;
  } else if (initFrom) {
    // no weight depends on the window: the checkpoint's model, with this run's blockSize (and dropout)
    model = createModel(arch, archModelConfig(arch, config), backend, { init: false });
    model.loadStateDict(initFrom.checkpoint.weights);
  } else model = createModel(arch, archModelConfig(arch, config), backend, { seed: config.seed });
  const ranks = plan.dataParallel ?? 1;
  const group = ranks > 1 ? dataParallelGroup(ranks, model.numParams()) : null;
  const trainer = new Trainer({
    model,
    config,
    train: data.train,
    val: data.val,
    tokenizer: data.tokenizer,
    ...(resume ? { resume: resume.checkpoint } : {}),
    ...(plan.compile === undefined ? {} : { compile: plan.compile }),
    ...(plan.adaptThreads === undefined ? {} : { adaptThreads: plan.adaptThreads }),
    ...(group ? { dataParallel: group.rank0 } : {}),
  });
  return group ? { config, model, trainer, group } : { config, model, trainer };
}

/**
 * A run, ready to train, in one call: planRun, then buildRun on `backend`.
 * @example
 * const { trainer } = setupRun({ backend, data, preset: 'baby', overrides: { maxIters: 500 } });
 * await trainer.run({ onStep: (s) => console.log(s.step, s.loss) });
 */
export function setupRun(o: RunOptions & { backend: Backend }): RunSetup {
  return buildRun(planRun(o), o.backend);
}
