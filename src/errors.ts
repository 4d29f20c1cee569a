// Typed errors for tsgpt. Engine errors name the op, the argument and the shapes; boundary
// errors (flags, configs, files, checkpoints) name the input and the reason in one line.
// Only src/cli turns them into a printed line and an exit code.

export class TsgptError extends Error {
  override readonly name: string = 'TsgptError';
}
/** A tensor op got shapes it cannot combine: `matmul: a (2,3) @ b (4,5): inner dims 3 != 4`. */
export class ShapeError extends TsgptError {
  override readonly name = 'ShapeError';
}
/** An invalid configuration value or unknown key. */
export class ConfigError extends TsgptError {
  override readonly name = 'ConfigError';
}
/** A checkpoint or weight file that is missing, truncated, corrupt or of another version. */
export class CheckpointError extends TsgptError {
  override readonly name = 'CheckpointError';
}
/** A data file that is missing, empty, binary or otherwise unusable. */
export class DataError extends TsgptError {
  override readonly name = 'DataError';
}
/** A tokenizer file that is bad, or text a tokenizer cannot encode. */
export class TokenizerError extends TsgptError {
  override readonly name = 'TokenizerError';
}
/** Training diverged (NaN/Inf loss) or another unrecoverable training state. */
export class TrainingError extends TsgptError {
  override readonly name = 'TrainingError';
}
/** Bad command-line usage: unknown flag, missing or malformed value. Exit code 2. */
export class UsageError extends TsgptError {
  override readonly name = 'UsageError';
}

/**
 * The system refused a file or stream operation: `cannot write out/ckpt.safetensors: no space left
 * on device`. `path` is the file the user knows (the target, not a temp file), `code` the errno
 * name (ENOSPC, EACCES, ...). Built by src/util/file-error.ts, which holds the words for each code.
 */
export class FileError extends TsgptError {
  override readonly name = 'FileError';
  readonly path: string;
  readonly code: string | undefined;
  constructor(message: string, path: string, code: string | undefined) {
    super(message);
    this.path = path;
    this.code = code;
  }
}

export function shapeStr(shape: readonly number[]): string {
  return `(${shape.join(',')})`;
}
