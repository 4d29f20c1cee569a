// Every architecture by name: the one place that turns (arch, model config) into a model, and
// a line that describes it, for run setup, checkpoints and the CLI. Not here: the models
// themselves (gpt.ts, bigram.ts, mlp.ts, rnn.ts) or their keys (config.ts).

import type { Backend } from '../backend/backend.js';
import { TsgptError } from '../errors.js';
import { Bigram } from './bigram.js';
import {
  ARCH_NOUN,
  type Arch,
  type BigramConfig,
  type GPTConfig,
  type MLPConfig,
  type ModelConfig,
  type RNNConfig,
} from './config.js';
import { GPT } from './gpt.js';
import type { LanguageModel, ModelOptions } from './language-model.js';
import { MLPModel } from './mlp.js';
import { GRU, LSTM, RNN } from './rnn.js';

/**
 * A new model of `arch` (config: that architecture's keys, e.g. from archModelConfig).
 * @example const lstm = createModel('lstm', { vocabSize: 65, blockSize: 64, nLayer: 1, nEmbd: 32, nHidden: 128, dropout: 0 }, be);
 */
export function createModel(
  arch: Arch,
  config: ModelConfig,
  backend: Backend,
  opts: ModelOptions = {},
): LanguageModel {
  switch (arch) {
    case 'gpt':
      return new GPT(config as GPTConfig, backend, opts);
    case 'bigram':
      return new Bigram(config as BigramConfig, backend, opts);
    case 'mlp':
      return new MLPModel(config as MLPConfig, backend, opts);
    case 'rnn':
      return new RNN(config as RNNConfig, backend, opts);
    case 'lstm':
      return new LSTM(config as RNNConfig, backend, opts);
    case 'gru':
      return new GRU(config as RNNConfig, backend, opts);
  }
}

/**
 * One line on the model's shape, e.g. `lstm: 2 layers, 512 hidden, 64-wide embeddings`.
 * @example describeModel('gpt', cfg) // 'gpt: 4 layers, 4 heads, 128 wide, context 64'
 */
export function describeModel(arch: Arch, config: ModelConfig): string {
  switch (arch) {
    case 'gpt': {
      const c = config as GPTConfig;
      return `gpt: ${c.nLayer} layers, ${c.nHead} heads, ${c.nEmbd} wide, context ${c.blockSize}`;
    }
    case 'bigram':
      return `bigram: a ${config.vocabSize} x ${config.vocabSize} table of logits`;
    case 'mlp': {
      const c = config as MLPConfig;
      return `mlp: ${c.context} tokens of ${c.nEmbd}-wide embeddings, ${c.nHidden} hidden`;
    }
    default: {
      const c = config as RNNConfig;
      return `${arch}: ${c.nLayer} layer${c.nLayer === 1 ? '' : 's'} of ${c.nHidden} hidden, ${c.nEmbd}-wide embeddings`;
    }
  }
}

/**
 * The model as a GPT, for what only a GPT has (attention to look inside, GPT-2's layouts);
 * another architecture is refused in one line naming `what` needs it.
 * @example const gpt = asGPT(modelFromCheckpoint(ck, be), 'the studio');
 */
export function asGPT(model: LanguageModel, what = 'this'): GPT {
  if (!(model instanceof GPT))
    throw new TsgptError(`${what} needs a GPT; the model is ${ARCH_NOUN[model.arch]} (arch ${model.arch})`);
  return model;
}
