// The browser-safe part of src/data: dataset format, text validation and batching.
// File and network access (readTextFile, downloadTinyShakespeare, loadPrepared) is in
// ./node-io.js, imported separately so bundlers for the browser never see it.

export { type Batch, checkTokenCount, fillBatch, getBatch, minTokens } from './batch.js';
export {
  DATASET_VERSION,
  type DataSource,
  type DatasetMeta,
  decodeTokens,
  dtypeFor,
  encodeTokens,
  META_FILE,
  type PreparedDataset,
  parseMeta,
  prepareDataset,
  type TokenArray,
  type TokenDtype,
  TRAIN_FILE,
  VAL_FILE,
  VAL_FRACTION,
} from './dataset.js';
export { decodeText, findInvalidUtf8 } from './text.js';
