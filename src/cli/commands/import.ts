// `tsgpt import hf DIR`: a Hugging Face GPT-2 checkpoint (config.json + model.safetensors, and
// the GPT-2 tokenizer's vocab.json + merges.txt) -> a tsgpt checkpoint that `sample`, `eval` and
// `train --init-from` use. GPT-2's tanh GELU ("gelu_new") is selected from config.json.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { refBackend } from '../../backend/index.js';
import { readInputFile } from '../../data/node-io.js';
import { CheckpointError, UsageError } from '../../errors.js';
import { DEFAULT_GPT_CONFIG } from '../../model/config.js';
import { GPT } from '../../model/gpt.js';
import { fromHF } from '../../model/interop.js';
import { Gpt2Tokenizer, tokenizerFromJSON } from '../../tokenizer/index.js';
import type { TokenizerJSON } from '../../tokenizer/tokenizer.js';
import { checkFinite, encodeCheckpoint } from '../../train/checkpoint.js';
import { ensureDir, writeFileAtomic } from '../../util/atomic-write.js';
import { fileError } from '../../util/file-error.js';
import { decodeSafetensors } from '../../util/safetensors.js';
import type { Args, FlagSpec, PositionalSpec } from '../args.js';
import { checkOutputFile, forceFlag } from '../replace.js';

export const name = 'import';
export const summary = 'Turn a Hugging Face GPT-2 checkpoint directory into a tsgpt checkpoint';
export const description =
  'Reads DIR/config.json and DIR/model.safetensors (pytorch_model.bin is not read: save with ' +
  'safe_serialization=True). The tokenizer comes from DIR/tsgpt-tokenizer.json (a tsgpt export) or ' +
  "DIR/vocab.json + DIR/merges.txt (GPT-2's byte-level BPE). Then: tsgpt sample --ckpt OUT, or " +
  'tsgpt train --init-from OUT to fine-tune on your own text. An existing --out is replaced only with --force.';
export const positionals: readonly PositionalSpec[] = [
  { name: 'format', help: 'hf' },
  { name: 'dir', help: 'checkpoint directory' },
];
export const flags: readonly FlagSpec[] = [
  { name: 'out', type: 'string', metavar: 'FILE', required: true, help: 'tsgpt checkpoint to write' },
  forceFlag('an existing --out file'),
];
export const examples = [
  'tsgpt import hf ~/models/gpt2 --out gpt2.safetensors',
  'tsgpt sample --ckpt gpt2.safetensors --prompt "Hello"',
];

async function readIn(path: string, what: string): Promise<Buffer> {
  try {
    return await readInputFile(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw new CheckpointError(`${what} not found: ${path}`);
    if (code === 'ENOTDIR')
      throw new CheckpointError(`${dirname(path)} is not a directory: give the checkpoint's directory`);
    throw fileError(err, 'read', path);
  }
}

/** f(), with any error it throws made a CheckpointError that names `source`. */
function named<T>(source: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    const why = err instanceof SyntaxError ? `not valid JSON (${err.message})` : (err as Error).message;
    throw new CheckpointError(`${source}: ${why}`);
  }
}

export async function run(args: Args): Promise<void> {
  const format = args.positional('format');
  const dir = args.positional('dir');
  if (format !== 'hf')
    throw new UsageError(
      `import: the only format is hf, got ${format ?? 'nothing'} (tsgpt import hf DIR --out FILE)`,
    );
  if (!dir) throw new UsageError('import: give the checkpoint directory (tsgpt import hf DIR --out FILE)');
  // --out is checked before the (possibly long) read: a mistake costs nothing
  const out = args.string('out')!;
  await checkOutputFile(out, args.bool('force'));
  const configText = (await readIn(join(dir, 'config.json'), 'config.json')).toString('utf8');
  let configJson: unknown;
  try {
    configJson = JSON.parse(configText);
  } catch {
    throw new CheckpointError(`${join(dir, 'config.json')}: not valid JSON`);
  }
  const stPath = join(dir, 'model.safetensors');
  if (!existsSync(stPath) && existsSync(join(dir, 'pytorch_model.bin')))
    throw new CheckpointError(
      `${dir} has only pytorch_model.bin: save it with safe_serialization=True (model.safetensors)`,
    );
  const bytes = await readIn(stPath, 'model.safetensors');
  const st = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    source: stPath,
    copy: true,
    skip: (n) => /\.attn\.(masked_)?bias$/.test(n),
  });
  checkFinite(
    [...st.tensors].map(([name, t]) => [name, t.data] as const),
    stPath,
  );
  const { params, config } = fromHF(st.tensors, configJson);
  // the tokenizer: a tsgpt export carries its own; a hub checkpoint has GPT-2's files
  let tokenizer: TokenizerJSON;
  const own = join(dir, 'tsgpt-tokenizer.json');
  if (existsSync(own)) {
    const text = (await readIn(own, 'tokenizer')).toString('utf8');
    tokenizer = named(own, () => tokenizerFromJSON(text).toJSON());
  } else {
    const vocabPath = join(dir, 'vocab.json');
    const vocabText = (await readIn(vocabPath, 'vocab.json (GPT-2 tokenizer)')).toString('utf8');
    const vocab = named(vocabPath, () => JSON.parse(vocabText) as Record<string, number>);
    const merges = (await readIn(join(dir, 'merges.txt'), 'merges.txt (GPT-2 tokenizer)')).toString('utf8');
    tokenizer = named(dir, () => Gpt2Tokenizer.fromFiles(vocab, merges).toJSON());
  }
  const model = new GPT({ ...DEFAULT_GPT_CONFIG, ...config }, refBackend, { init: false, grads: false });
  model.loadStateDict(params);
  await ensureDir(dirname(out));
  await writeFileAtomic(
    out,
    encodeCheckpoint(model, null, { train: null, tokenizer, step: 0, bestValLoss: null, rng: null }),
  );
  process.stderr.write(
    `imported ${dir}: ${(model.numParams() / 1e6).toFixed(1)}M parameters, ${config.nLayer} layers, ${config.nHead} heads, ` +
      `${config.nEmbd} wide, context ${config.blockSize}, vocab ${config.vocabSize}, activation ${config.activation} -> ${out}\n`,
  );
}
