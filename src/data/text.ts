// Turning the bytes of a data file into text, or a one-line DataError saying why not: empty,
// binary (a NUL byte), or not valid UTF-8, with the offset of the first bad byte. Pure, so it
// runs in a browser on a File's bytes too; reading the file is node-io.ts's job.

import { DataError } from '../errors.js';

/**
 * Offset of the first NUL byte or the first byte of the first invalid UTF-8 sequence (overlong forms, surrogates and code
 * points above U+10FFFF included), or -1 when the bytes are clean UTF-8 text.
 * @example findInvalidUtf8(new Uint8Array([0x68, 0x69, 0xff])) // 2
 */
export function findInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (b === 0) return i; // valid UTF-8, but a NUL means a binary file, not text
      i++;
      continue;
    }
    let len: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) [len, cp] = [2, b & 0x1f];
    else if ((b & 0xf0) === 0xe0) [len, cp] = [3, b & 0x0f];
    else if (b >= 0xf0 && b <= 0xf4) [len, cp] = [4, b & 0x07];
    else return i; // stray continuation byte, 0xc0/0xc1 (always overlong) or 0xf5..0xff
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i; // the sequence starting here is broken
      cp = (cp << 6) | (c & 0x3f);
    }
    if (
      (len === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (len === 4 && (cp < 0x10000 || cp > 0x10ffff))
    )
      return i;
    i += len;
  }
  return -1;
}

/**
 * The text of a data file's bytes (a leading byte-order mark is dropped), or a DataError:
 * `data file is empty: PATH`, `data file is not UTF-8 text: PATH (byte N)`.
 */
export function decodeText(bytes: Uint8Array, path: string): string {
  if (bytes.length === 0) throw new DataError(`data file is empty: ${path}`);
  const bad = findInvalidUtf8(bytes);
  if (bad >= 0) throw new DataError(`data file is not UTF-8 text: ${path} (byte ${bad})`);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  if (text.length === 0) throw new DataError(`data file is empty: ${path}`); // only a BOM
  return text;
}
