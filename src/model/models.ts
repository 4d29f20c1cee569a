// Every architecture by name: the one place that turns (arch, model config) into a model, and
// a line that describes it, for run setup, checkpoints and the CLI. Not here: the models
// themselves (gpt.ts, bigram.ts, mlp.ts, rnn.ts) or their keys (config.ts).

import type { Backend } from '../backend/backend.js';
import { Bigram } from './bigram.js';
import type { Arch, BigramConfig, GPTConfig, MLPConfig, ModelConfig, RNNConfig } from './config.js';
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
