// `tsgpt sample`: load a checkpoint and stream generated text to stdout.

import { TokenizerError } from '../../errors.js';
import {
  DEFAULT_SAMPLING,
  generate,
  type SampleOptions,
  validateSampling,
  type WindowPolicy,
} from '../../sample/sampling.js';
import { modelFromCheckpoint } from '../../train/checkpoint.js';
import { Rng } from '../../util/rng.js';
import type { Args, FlagSpec } from '../args.js';
import {
  ARCH_FLAG,
  BACKEND_FLAGS,
  backendChoice,
  checkArch,
  ckptFlag,
  closeBackend,
  openBackend,
  readCheckpoint,
  tokenizerFromCheckpoint,
} from '../common.js';

export const name = 'sample';
export const summary = 'Generate text from a trained checkpoint, streaming it as it is sampled';
export const description =
  'Feeds --prompt to the model and samples --max-new-tokens tokens, one at a time, printing each as it ' +
  'comes. Strategies compose: --temperature rescales the logits, --top-k and --top-p cut the candidates, ' +
  '--greedy always takes the most likely token. A GPT sees at most its block size: once the text outgrows it, the window moves on to the newest half (--window crop: the newest block, as nanoGPT; the KV cache is refilled then, so cached and --no-cache runs give the same tokens). A recurrent model (rnn, lstm, gru) carries its state from token to token, with no limit; the bigram and MLP models read their last one or few tokens.';
export const flags: readonly FlagSpec[] = [
  ckptFlag('checkpoint to sample from'),
  { name: 'prompt', type: 'string', default: '\n', help: 'text to start from' },
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
  {
    name: 'stop',
    type: 'string',
    metavar: 'TEXT',
    help: 'stop a sample when it produces this text (\\n for a newline)',
  },
  {
    name: 'cache',
    type: 'bool',
    default: true,
    help: "reuse a GPT's keys/values or an RNN's state (--no-cache recomputes them, for comparison)",
  },
  {
    name: 'window',
    type: 'string',
    choices: ['half', 'crop'],
    default: 'half',
    help: "past the block size: keep the newest half (the cache refills once per half window), or crop to the newest block (nanoGPT's; refills at every token)",
  },
  ARCH_FLAG,
  ...BACKEND_FLAGS,
];
export const examples = [
  'tsgpt sample',
  'tsgpt sample --prompt "ROMEO:" --max-new-tokens 300 --temperature 0.7 --top-k 40',
  'tsgpt sample --ckpt out/big/ckpt.safetensors --greedy --num-samples 1',
];

export async function run(args: Args): Promise<void> {
  const choice = backendChoice(args);
  const path = args.string('ckpt')!;
  const ck = await readCheckpoint(path);
  checkArch(args, ck, path);
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
  const backend = await openBackend(choice);
  try {
    const model = modelFromCheckpoint(ck, backend, false);
    const rng = new Rng(args.int('seed')!);
    const n = args.int('num-samples')!;
    const stopFlag = args.string('stop');
    const stop = stopFlag === undefined || stopFlag === '' ? null : stopFlag.replace(/\\n/g, '\n');
    for (let s = 0; s < n; s++) {
      process.stdout.write(prompt);
      const ids: number[] = [];
      let shown = 0;
      let stopped = false;
      const onToken = (id: number): boolean => {
        ids.push(id);
        // decode everything so far and print what is new; hold back a partial UTF-8 character
        let text = tok.decode(ids);
        const at = stop ? text.indexOf(stop) : -1;
        if (at >= 0) {
          text = text.slice(0, at + stop!.length);
          stopped = true;
        }
        // hold back a partial UTF-8 character, and text that may be the start of the stop sequence
        let end = text.endsWith('\uFFFD') ? text.length - 1 : text.length;
        if (stop && !stopped) end = Math.min(end, Math.max(shown, text.length - stop.length + 1));
        if (end > shown) {
          process.stdout.write(text.slice(shown, end));
          shown = end;
        }
        return !stopped;
      };
      generate(model, promptIds, args.int('max-new-tokens')!, opts, rng, onToken, {
        cache: args.bool('cache'),
        window: args.string('window') as WindowPolicy,
      });
      let text = tok.decode(ids);
      if (stop && text.includes(stop)) text = text.slice(0, text.indexOf(stop) + stop.length);
      if (text.length > shown) process.stdout.write(text.slice(shown));
      process.stdout.write(s < n - 1 ? '\n---------------\n' : '\n');
      // let a failed standard output (a full disk, a closed pipe) be reported before the next sample
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    closeBackend(backend);
  }
}
