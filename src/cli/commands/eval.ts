// `tsgpt eval`: a checkpoint's loss on a prepared split, as per-token loss, perplexity, bits per
// character and bits per byte. Bits per byte do not depend on the tokenizer, so a char model and a
// BPE model can be compared on the same text.

import { join } from 'node:path';
import type { TokenArray } from '../../data/dataset.js';
import { loadPrepared, readTextFile } from '../../data/node-io.js';
import { ConfigError } from '../../errors.js';
import { modelFromCheckpoint } from '../../train/checkpoint.js';
import { evaluateTokens } from '../../train/evaluate.js';
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
import { ProgressBar } from '../progress.js';

export const name = 'eval';
export const summary = 'Evaluate a checkpoint: loss, perplexity, bits per character and per byte';
export const description =
  'Runs the model over the chosen split in consecutive windows of the block size (every token ' +
  'predicted once) and reports the mean loss per token (nats), perplexity = exp(loss), and bits per ' +
  'character and per UTF-8 byte of the text those tokens spell.';
export const flags: readonly FlagSpec[] = [
  ckptFlag('checkpoint to evaluate'),
  {
    name: 'data',
    type: 'string',
    metavar: 'DIR',
    default: join('data', 'tinyshakespeare'),
    help: 'prepared data (tsgpt prepare)',
  },
  { name: 'split', type: 'string', choices: ['val', 'train'], default: 'val', help: 'which split' },
  {
    name: 'text',
    type: 'string',
    metavar: 'FILE',
    help: "evaluate on this UTF-8 text instead (encoded with the checkpoint's tokenizer): the same text for any tokenizer",
  },
  { name: 'max-windows', type: 'int', min: 1, help: 'evaluate only the first N windows (default: all)' },
  { name: 'batch-size', type: 'int', min: 1, default: 16, help: 'windows per forward pass' },
  { name: 'json', type: 'bool', help: 'print the figures as one JSON object' },
  ARCH_FLAG,
  ...BACKEND_FLAGS,
];
export const examples = [
  'tsgpt eval',
  'tsgpt eval --ckpt out/big/ckpt.safetensors --data data/tinyshakespeare --json',
  'tsgpt eval --ckpt out/bpe/ckpt.safetensors --text held-out.txt   # compare tokenizers on the same text',
];

export async function run(args: Args): Promise<void> {
  const choice = backendChoice(args);
  const path = args.string('ckpt')!;
  const ck = await readCheckpoint(path);
  checkArch(args, ck, path);
  const tok = tokenizerFromCheckpoint(ck, path);
  const textFile = args.string('text');
  let tokens: TokenArray;
  let source: string;
  if (textFile !== undefined) {
    const { text } = await readTextFile(textFile);
    tokens = Uint32Array.from(tok.encode(text));
    source = textFile;
  } else {
    const data = await loadPrepared(args.string('data')!);
    if (JSON.stringify(data.meta.tokenizer) !== JSON.stringify(ck.meta.tokenizer))
      throw new ConfigError(
        `${data.dir} was prepared with another tokenizer than ${path} uses: prepare the text with the model's tokenizer`,
      );
    tokens = args.string('split') === 'train' ? data.train : data.val;
    source = `${data.dir} (${args.string('split')})`;
  }
  const backend = await openBackend(choice);
  try {
    const model = modelFromCheckpoint(ck, backend, false);
    const bar = new ProgressBar({ label: 'eval' });
    const r = evaluateTokens(model, tok, tokens, {
      batchSize: args.int('batch-size')!,
      maxWindows: args.int('max-windows') ?? Number.POSITIVE_INFINITY,
      onProgress: (done, total) => bar.update(done, { windows: total }),
      what: source,
    });
    bar.clear();
    if (args.bool('json')) {
      process.stdout.write(`${JSON.stringify({ checkpoint: path, on: source, ...r })}\n`);
      return;
    }
    process.stdout.write(
      [
        `${path} on ${source}: ${r.tokens} tokens, ${r.chars} characters, ${r.bytes} bytes`,
        `loss          ${r.loss.toFixed(4)} nats/token`,
        `perplexity    ${r.perplexity.toFixed(3)}`,
        `bits/char     ${r.bitsPerChar.toFixed(4)}`,
        `bits/byte     ${r.bitsPerByte.toFixed(4)}`,
        `bits/token    ${r.bitsPerToken.toFixed(4)}`,
        '',
      ].join('\n'),
    );
  } finally {
    closeBackend(backend);
  }
}
