// `tsgpt quantize`: a float32 checkpoint -> an int8 checkpoint for sampling and evaluation
// (src/model/quantize.ts: int8 weights, one scale per output row; a quarter of the weight memory
// and of the bytes each generated token reads). `sample` and `eval` take the result as they take
// any checkpoint; `train` refuses it (train the float32 checkpoint it came from).

import { dirname } from 'node:path';
import { refBackend } from '../../backend/index.js';
import { CheckpointError } from '../../errors.js';
import { asGPT } from '../../model/models.js';
import { INT8_ROWWISE, quantizeModel } from '../../model/quantize.js';
import { encodeCheckpoint, modelFromCheckpoint } from '../../train/checkpoint.js';
import { ensureDir, writeFileAtomic } from '../../util/atomic-write.js';
import type { Args, FlagSpec } from '../args.js';
import { ckptFlag, readCheckpoint } from '../common.js';

export const name = 'quantize';
export const summary = 'Write an int8 copy of a checkpoint for faster, smaller sampling and evaluation';
export const description =
  "Quantizes every linear layer's weights and the token embedding (also the output layer) to int8 " +
  'with one scale per output row; position embeddings, LayerNorms and biases stay float32. The ' +
  'int8 model computes its linear layers as integer dot products (activations quantized per row on ' +
  'the fly). `tsgpt sample` and `tsgpt eval` read the result; `tsgpt train` does not.';
export const flags: readonly FlagSpec[] = [
  ckptFlag('float32 checkpoint to quantize'),
  { name: 'out', type: 'string', metavar: 'FILE', required: true, help: 'int8 checkpoint to write' },
];
export const examples = [
  'tsgpt quantize --ckpt out/baby/ckpt.safetensors --out out/baby/int8.safetensors',
  'tsgpt sample --ckpt out/baby/int8.safetensors',
];

export async function run(args: Args): Promise<void> {
  const path = args.string('ckpt')!;
  const ck = await readCheckpoint(path);
  if (ck.int8) throw new CheckpointError(`${path} is an int8 checkpoint already`);
  const model = asGPT(modelFromCheckpoint(ck, refBackend, false), `tsgpt quantize (${path})`);
  const floatBytes = model.numParams() * 4;
  quantizeModel(model);
  const out = args.string('out')!;
  await ensureDir(dirname(out));
  const bytes = encodeCheckpoint(model, null, {
    train: ck.meta.train,
    tokenizer: ck.meta.tokenizer,
    step: ck.meta.step,
    bestValLoss: ck.meta.bestValLoss,
    rng: null,
    quantization: INT8_ROWWISE,
  });
  await writeFileAtomic(out, bytes);
  process.stderr.write(
    `quantized ${path} (${(floatBytes / 1048576).toFixed(1)} MiB of float32 weights) -> ${out} ` +
      `(${(bytes.length / 1048576).toFixed(1)} MiB, int8 ${INT8_ROWWISE})\n`,
  );
}
