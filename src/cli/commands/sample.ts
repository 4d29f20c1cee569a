// `tsgpt sample`: load a checkpoint and stream generated text to stdout.

import { join } from 'node:path';
import { TokenizerError } from '../../errors.js';
import { DEFAULT_SAMPLING, generate, type SampleOptions, validateSampling } from '../../sample/sampling.js';
import { Rng } from '../../util/rng.js';
import type { Args, FlagSpec } from '../args.js';
import {
  BACKEND_FLAGS,
  closeBackend,
  modelFromCheckpoint,
  openBackend,
  readCheckpoint,
  tokenizerFromCheckpoint,
} from '../common.js';

export const name = 'sample';
export const summary = 'Generate text from a trained checkpoint, streaming it as it is sampled';
export const description =
  'Feeds --prompt to the model and samples --max-new-tokens tokens, one at a time, printing each as it ' +
  'comes. Strategies compose: --temperature rescales the logits, --top-k and --top-p cut the candidates, ' +
  '--greedy always takes the most likely token. The context slides once it exceeds the block size.';
export const flags: readonly FlagSpec[] = [
  {
    name: 'ckpt',
    type: 'string',
    metavar: 'FILE',
    default: join('out', 'baby', 'ckpt.safetensors'),
    help: 'checkpoint to sample from',
  },
  { name: 'prompt', type: 'string', default: '\n', help: 'text to start from (default: a newline)' },
  { name: 'max-new-tokens', type: 'int', min: 1, default: 500, help: 'tokens to generate per sample' },
  {
    name: 'temperature',
    type: 'float',
    min: 0,
    default: DEFAULT_SAMPLING.temperature,
    help: '< 1: safer, > 1: wilder; 0 = greedy',
  },
  {
    name: 'top-k',
    type: 'int',
    min: 0,
    default: DEFAULT_SAMPLING.topK,
    help: 'sample among the k most likely tokens (0 = all)',
  },
  {
    name: 'top-p',
    type: 'float',
    min: 0,
    max: 1,
    default: 1,
    help: 'nucleus: smallest set of tokens with this much probability',
  },
  {
    name: 'repetition-penalty',
    type: 'float',
    min: 1,
    default: 1,
    help: 'discourage tokens already in the context (1 = off)',
  },
  { name: 'greedy', type: 'bool', help: 'always take the most likely token' },
  { name: 'seed', type: 'int', min: 0, default: 1337, help: 'random seed' },
  { name: 'num-samples', type: 'int', min: 1, default: 1, help: 'independent samples to draw' },
  ...BACKEND_FLAGS,
];
export const examples = [
  'tsgpt sample',
  'tsgpt sample --prompt "ROMEO:" --max-new-tokens 300 --temperature 0.7 --top-k 40',
  'tsgpt sample --ckpt out/big/ckpt.safetensors --greedy --num-samples 1',
];

export async function run(args: Args): Promise<void> {
  const path = args.string('ckpt')!;
  const ck = await readCheckpoint(path);
  const tok = tokenizerFromCheckpoint(ck, path);
  const prompt = args.string('prompt')!;
  if (prompt.length === 0)
    throw new TokenizerError('the prompt is empty: give at least one character with --prompt');
  const promptIds = tok.encode(prompt); // throws, naming any characters the vocabulary lacks
  const opts: SampleOptions = {
    temperature: args.float('temperature')!,
    topK: args.int('top-k')!,
    topP: args.float('top-p')!,
    greedy: args.bool('greedy'),
    repetitionPenalty: args.float('repetition-penalty')!,
  };
  validateSampling(opts);
  const backend = await openBackend(args.string('backend')!, args.int('threads'));
  try {
    const model = modelFromCheckpoint(ck, backend);
    const rng = new Rng(args.int('seed')!);
    const n = args.int('num-samples')!;
    for (let s = 0; s < n; s++) {
      process.stdout.write(prompt);
      const ids: number[] = [];
      let shown = 0;
      generate(model, promptIds, args.int('max-new-tokens')!, opts, rng, (id) => {
        ids.push(id);
        // decode everything so far and print what is new; hold back a partial UTF-8 character
        const text = tok.decode(ids);
        const end = text.endsWith('\uFFFD') ? text.length - 1 : text.length;
        if (end > shown) {
          process.stdout.write(text.slice(shown, end));
          shown = end;
        }
      });
      const text = tok.decode(ids);
      if (text.length > shown) process.stdout.write(text.slice(shown));
      process.stdout.write(s < n - 1 ? '\n---------------\n' : '\n');
    }
  } finally {
    closeBackend(backend);
  }
}
