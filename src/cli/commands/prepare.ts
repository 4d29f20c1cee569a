// `tsgpt prepare`: text file (by default the package's own copy of Tiny Shakespeare; with
// --download, a fresh one from the net) → tokenizer → 90/10 split → train.bin, val.bin, meta.json
// in an output directory. Everything is validated before anything is written, and the files are
// replaced atomically, so a failed run never damages old output.

import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { minTokens } from '../../data/batch.js';
import { prepareDataset } from '../../data/dataset.js';
import {
  defaultOutDir,
  downloadTinyShakespeare,
  preparedFiles,
  readShippedTinyShakespeare,
  readTextFile,
  SHIPPED_TINY_SHAKESPEARE,
  type TextFile,
  TINY_SHAKESPEARE_PATH,
  TINY_SHAKESPEARE_URL,
  writePrepared,
} from '../../data/node-io.js';
import { UsageError } from '../../errors.js';
import { DEFAULT_CONFIG, PRESETS } from '../../train/config.js';
import { checkWritableDir } from '../../util/atomic-write.js';
import type { Args, FlagSpec } from '../args.js';
import { formatBytes, ProgressBar } from '../progress.js';
import { existingPaths, forceFlag, sameOnDisk } from '../replace.js';
import { countChars, parseTokenizerSpec, tokenizerMaker } from '../tokenizer-spec.js';

export const name = 'prepare';
export const summary = 'Tokenize a text file into train/val token files (default: Tiny Shakespeare)';
export const description =
  'Reads a UTF-8 text file (without --data, the copy of Tiny Shakespeare that comes with tsgpt, ' +
  `${SHIPPED_TINY_SHAKESPEARE}, sha256 checked; no network needed), builds the tokenizer, encodes the text, ` +
  'and writes the first 90% of tokens to train.bin and the rest to val.bin (little-endian ' +
  'uint16 ids, uint32 for vocabularies over 65536) with a meta.json describing them. ' +
  `--download fetches Tiny Shakespeare to ${TINY_SHAKESPEARE_PATH} instead (once; sha256 checked); ` +
  'set TSGPT_DATA_URL to download from another address. A dataset already in --out is replaced only ' +
  'with --force (preparing the same text with the same tokenizer again changes nothing and succeeds).';
export const flags: readonly FlagSpec[] = [
  {
    name: 'data',
    type: 'string',
    metavar: 'FILE',
    help: `UTF-8 text file (default: Tiny Shakespeare, ${SHIPPED_TINY_SHAKESPEARE})`,
  },
  {
    name: 'download',
    type: 'bool',
    help: `download Tiny Shakespeare to ${TINY_SHAKESPEARE_PATH} (unless there) and use that`,
  },
  {
    name: 'out',
    type: 'string',
    metavar: 'DIR',
    help: 'output directory (default: data/<name of the data file>)',
  },
  {
    name: 'tokenizer',
    type: 'string',
    metavar: 'SPEC',
    default: 'char',
    help: 'char | bpe:FILE | word:FILE | gpt2',
  },
  forceFlag('a dataset already in --out'),
];
export const examples = [
  'tsgpt prepare',
  'tsgpt prepare --data my-novel.txt --out data/novel',
  'tsgpt prepare --data input.txt --tokenizer bpe:shakespeare-bpe.json',
  'tsgpt prepare --data input.txt --tokenizer gpt2',
  'tsgpt prepare --download',
];

/** Tiny Shakespeare from the net into TINY_SHAKESPEARE_PATH, unless a copy is already there. */
async function download(): Promise<TextFile> {
  if (!existsSync(TINY_SHAKESPEARE_PATH)) {
    const url = process.env['TSGPT_DATA_URL'] ?? TINY_SHAKESPEARE_URL;
    process.stderr.write(`downloading Tiny Shakespeare from ${url}\n`);
    let bar: ProgressBar | undefined; // made at the first chunk, once the total size is known
    try {
      await downloadTinyShakespeare(TINY_SHAKESPEARE_PATH, {
        url,
        onProgress: (received, total) => {
          bar ??= new ProgressBar({ label: 'download', unit: 'bytes', ...(total ? { total } : {}) });
          bar.update(received);
        },
      });
      bar?.done();
    } finally {
      bar?.clear();
    }
  }
  return readTextFile(TINY_SHAKESPEARE_PATH);
}

export async function run(args: Args): Promise<void> {
  const makeTokenizer = await tokenizerMaker(parseTokenizerSpec(args.string('tokenizer')!));
  const dataPath = args.string('data');
  if (dataPath !== undefined && args.bool('download'))
    throw new UsageError(
      '--data and --download: give one (--download fetches Tiny Shakespeare instead of a file)',
    );
  const file =
    dataPath !== undefined
      ? await readTextFile(dataPath)
      : args.bool('download')
        ? await download()
        : await readShippedTinyShakespeare();
  const outDir = args.string('out') ?? defaultOutDir(file.path);
  await checkWritableDir(outDir);
  const tokenizer = makeTokenizer(file.text);
  const ds = prepareDataset(file.text, tokenizer, { path: file.path, sha256: file.sha256 });
  const files = preparedFiles(outDir, ds);
  const found = await existingPaths(files.map((f) => f.path));
  if (found.length > 0 && !args.bool('force')) {
    // the same text and tokenizer again: nothing to replace, so nothing to refuse
    if (found.length === files.length && (await sameOnDisk(files))) {
      process.stdout.write(
        `${outDir} already holds this dataset (same text, same tokenizer): nothing written\n`,
      );
      return;
    }
    throw new UsageError(
      `${outDir} already holds a prepared dataset (${found.map((f) => basename(f)).join(', ')}): ` +
        'pass --force to replace it, or another --out',
    );
  }
  const written = await writePrepared(outDir, ds);

  const m = ds.meta;
  const width = m.dtype === 'uint16' ? 2 : 4;
  const n = (x: number) => x.toLocaleString('en-US');
  process.stdout.write(
    [
      `prepared ${file.path}: ${n(countChars(file.text))} characters, ${formatBytes(file.bytes)}, sha256 ${file.sha256.slice(0, 12)}…`,
      `  tokenizer  ${tokenizer.kind}, vocab size ${n(m.vocabSize)}`,
      `  train      ${n(m.trainTokens)} tokens (${m.dtype})`,
      `  val        ${n(m.valTokens)} tokens`,
      `  wrote      ${join(outDir, 'train.bin')} (${formatBytes(m.trainTokens * width)}), ` +
        `${join(outDir, 'val.bin')} (${formatBytes(m.valTokens * width)}), ${written[2]}`,
      '',
    ].join('\n'),
  );
  // batches are windows of blockSize + 1 tokens: warn now rather than fail at `tsgpt train`
  const smallest = Math.min(m.trainTokens, m.valTokens);
  const longest = Math.max(
    ...Object.values(PRESETS).map((p) => p.config.blockSize ?? DEFAULT_CONFIG.blockSize),
  );
  if (smallest < minTokens(longest))
    process.stderr.write(
      `note: the ${m.valTokens <= m.trainTokens ? 'val' : 'train'} split has only ${smallest} tokens; ` +
        `training with blockSize T needs at least T + 1 (the presets use up to ${longest})\n`,
    );
}
