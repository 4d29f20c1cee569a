// Where the bench finds the repository and its data: from this file's place in the build
// (dist/bench/paths.js), never from the working directory or a machine path. Paths only; no I/O.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package) root: dist/bench/ -> ../../ */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The repository's copy of Tiny Shakespeare (assets/tinyshakespeare.txt): every bench's default text. */
export const SHAKESPEARE = join(REPO, 'assets', 'tinyshakespeare.txt');
