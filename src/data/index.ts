// The browser-safe part of src/data: dataset format, text validation and batching, and the
// sequence-to-sequence pairs of the encoder-decoder (./seq2seq.js).
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
export {
  BOS,
  type DatesTaskSpec,
  DEFAULT_HELD_OUT,
  DEFAULT_STRING_TASK,
  EOS,
  type FileTaskSpec,
  makeBatch,
  PAD,
  type Pair,
  parsePairs,
  type Seq2SeqBatch,
  type Seq2SeqData,
  Seq2SeqVocab,
  type SourceBatch,
  SPECIAL_TOKENS,
  type StringTaskSpec,
  sourceBatch,
  stringTaskTarget,
  TASKS,
  type TaskName,
  type TaskSpec,
  taskData,
  validateTaskSpec,
} from './seq2seq.js';
export { decodeText, findInvalidUtf8 } from './text.js';
