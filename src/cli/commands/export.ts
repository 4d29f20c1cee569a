// `tsgpt export`: a checkpoint's weights in another project's layout, as safetensors + JSON:
// nanoGPT (its state-dict names and model_args) or Hugging Face GPT2LMHeadModel (Conv1D weights
// transposed, tied head, a config.json that `from_pretrained` reads).

import { basename, join } from 'node:path';
import { UsageError } from '../../errors.js';
import { ARCH_NOUN, beyondGPT2 } from '../../model/config.js';
import {
  HF_SAFETENSORS_METADATA,
  hfConfigJson,
  type InteropConfig,
  toHF,
  toNanoGPT,
} from '../../model/interop.js';
import { checkpointArch, gptConfigOf } from '../../train/checkpoint.js';
import { checkWritableDir, ensureDir, writeFilesAtomic } from '../../util/atomic-write.js';
import { encodeSafetensors } from '../../util/safetensors.js';
import type { Args, FlagSpec, PositionalSpec } from '../args.js';
import { ckptFlag, readCheckpoint } from '../common.js';
import { existingPaths, forceFlag } from '../replace.js';

export const name = 'export';
export const summary = 'Write a checkpoint in nanoGPT or Hugging Face GPT-2 layout (safetensors + config)';
export const description =
  'Writes OUT/model.safetensors and OUT/config.json, plus OUT/tsgpt-tokenizer.json (the tokenizer, ' +
  "so that `tsgpt import` can read the export back). --format nanogpt keeps nanoGPT's state-dict " +
  "names (with lm_head.weight) and writes its model_args; --format hf writes GPT2LMHeadModel's " +
  "layout, loadable with transformers' GPT2LMHeadModel.from_pretrained(OUT). Post-norm models have " +
  'no GPT-2 equivalent and are refused for hf. Files already in OUT are replaced only with --force.';
export const positionals: readonly PositionalSpec[] = [{ name: 'out', help: 'output directory' }];
export const flags: readonly FlagSpec[] = [
  ckptFlag('checkpoint to export'),
  { name: 'format', type: 'string', choices: ['nanogpt', 'hf'], required: true, help: 'target layout' },
  forceFlag('an export already in OUT'),
];
export const examples = [
  'tsgpt export --format hf exported/hf',
  'tsgpt export --ckpt out/big/ckpt.safetensors --format nanogpt exported/nano',
];

/** What an export writes into OUT, in this order. */
const EXPORT_FILES = ['model.safetensors', 'config.json', 'tsgpt-tokenizer.json'] as const;

export async function run(args: Args): Promise<void> {
  const out = args.positional('out');
  if (!out) throw new UsageError('export: give the output directory (see tsgpt export --help)');
  const paths = EXPORT_FILES.map((f) => join(out, f));
  const found = await existingPaths(paths);
  if (found.length > 0 && !args.bool('force'))
    throw new UsageError(
      `${out} already holds an export (${found.map((f) => basename(f)).join(', ')}): pass --force to replace it, or another OUT`,
    );
  await checkWritableDir(out);
  const path = args.string('ckpt')!;
  const ck = await readCheckpoint(path);
  // nanoGPT and Hugging Face have GPT-2's layout only: a bigram, MLP or RNN has no place in it
  const arch = checkpointArch(ck);
  if (arch !== 'gpt')
    throw new UsageError(
      `${path} holds ${ARCH_NOUN[arch]} (arch ${arch}): export writes GPT-2 layouts (nanoGPT, Hugging Face), for GPT checkpoints only`,
    );
  const cfg = gptConfigOf(ck, 'export', path);
  const params = new Map([...ck.weights].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
  let weights: Uint8Array;
  let config: Record<string, unknown>;
  if (args.string('format') === 'hf') {
    const beyond = beyondGPT2(cfg);
    if (beyond.length > 0)
      throw new UsageError(
        `export: ${beyond.join(', ')}: GPT2LMHeadModel cannot express this model; --format nanogpt can (test/pytorch/gpt_torch.py runs it)`,
      );
    const gpt2 = cfg as InteropConfig; // beyondGPT2 is empty: only GPT-2's options
    weights = encodeSafetensors(toHF(params, gpt2), HF_SAFETENSORS_METADATA);
    config = hfConfigJson(gpt2);
  } else {
    weights = encodeSafetensors(toNanoGPT(params), { format: 'pt' });
    // nanoGPT's model_args, plus tsgpt's variant fields (nanoGPT itself is learned/pre/gelu)
    config = {
      n_layer: cfg.nLayer,
      n_head: cfg.nHead,
      n_embd: cfg.nEmbd,
      block_size: cfg.blockSize,
      bias: cfg.bias,
      vocab_size: cfg.vocabSize,
      dropout: cfg.dropout,
      positional: cfg.positional,
      norm: cfg.norm,
      activation: cfg.activation,
      norm_type: cfg.normType,
      qk_norm: cfg.qkNorm,
      attn_scale: cfg.attnScale,
      tie_weights: cfg.tieWeights,
      logit_softcap: cfg.logitSoftcap,
    };
  }
  await ensureDir(out);
  await writeFilesAtomic([
    { path: paths[0]!, data: weights },
    { path: paths[1]!, data: `${JSON.stringify(config, null, 2)}\n` },
    { path: paths[2]!, data: `${JSON.stringify(ck.meta.tokenizer)}\n` },
  ]);
  process.stderr.write(
    `exported ${args.string('ckpt')} (${args.string('format')}) to ${out}/: model.safetensors, config.json, tsgpt-tokenizer.json\n`,
  );
}
