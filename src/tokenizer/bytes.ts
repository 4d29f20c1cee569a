// Bytes for byte-level tokenizers: JS string ⇄ UTF-8 bytes (with WTF-8 for lone surrogates, so
// every JS string round-trips), a streaming decoder, and GPT-2's bytes-to-unicode table.
// Not a general codec library: no BOM sniffing, no other encodings.
//
// Why WTF-8: a JS string is a sequence of UTF-16 code units and may hold a lone surrogate
// (e.g. a string cut in the middle of an emoji). UTF-8 cannot represent one, and TextEncoder
// silently replaces it with U+FFFD, so decode(encode(x)) !== x. WTF-8 writes a lone surrogate
// as the 3-byte form its code point would have (ED A0..BF xx), which no valid UTF-8 text
// contains, and decodes it back. Valid text gets exactly its UTF-8 bytes.

const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true }); // keep a leading U+FEFF

/**
 * Appends the UTF-8 bytes of `text` to `out` (lone surrogates as WTF-8 three-byte sequences).
 * @example utf8Push('é', []) // [0xc3, 0xa9]
 */
export function utf8Push(text: string, out: number[]): number[] {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out.push(c);
    } else if (c < 0x800) {
      out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const lo = text.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          i++;
          out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
          continue;
        }
      }
      // BMP character, or a lone surrogate (WTF-8)
      out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
  }
  return out;
}

/** UTF-8 (WTF-8 for lone surrogates) bytes of a string. */
export function utf8Encode(text: string): Uint8Array {
  return Uint8Array.from(utf8Push(text, []));
}

/** True when bytes[i..i+3) is a WTF-8 encoded surrogate (ED A0..BF 80..BF). */
function isSurrogateAt(bytes: Uint8Array, i: number): boolean {
  return (
    bytes[i] === 0xed &&
    i + 2 < bytes.length &&
    bytes[i + 1]! >= 0xa0 &&
    bytes[i + 1]! <= 0xbf &&
    bytes[i + 2]! >= 0x80 &&
    bytes[i + 2]! <= 0xbf
  );
}

/**
 * Text of UTF-8 bytes. Valid UTF-8 decodes exactly (a leading BOM is kept); WTF-8 surrogate
 * sequences decode to the lone surrogate they encode; any other invalid or truncated sequence
 * becomes U+FFFD, following TextDecoder's (WHATWG) replacement rules.
 */
export function utf8Decode(bytes: Uint8Array): string {
  let i = bytes.indexOf(0xed);
  if (i < 0) return textDecoder.decode(bytes); // fast path: no surrogate can be encoded
  let s = '';
  let from = 0;
  while (i >= 0) {
    if (isSurrogateAt(bytes, i)) {
      s += textDecoder.decode(bytes.subarray(from, i));
      s += String.fromCharCode(0xd000 | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f));
      from = i + 3;
    }
    i = bytes.indexOf(0xed, Math.max(from, i + 1));
  }
  return s + textDecoder.decode(bytes.subarray(from));
}

/** Length of the longest suffix of `bytes` that is an incomplete (so far valid) UTF-8 sequence. */
function incompleteTail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let k = 1; k <= 3 && k <= n; k++) {
    const b = bytes[n - k]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 1;
    return need > k ? k : 0;
  }
  return 0;
}

/**
 * Streaming decoder for generation: push the bytes of each new token as it arrives and get
 * the text that is complete so far; a multi-byte character split across tokens is held back
 * until its last byte comes (`end()` flushes what is left, incomplete bytes as U+FFFD).
 * @example const d = new Utf8StreamDecoder(); d.push(new Uint8Array([0xf0, 0x9f])) // ''
 */
export class Utf8StreamDecoder {
  private pending: Uint8Array = new Uint8Array(0);

  push(bytes: Uint8Array): string {
    const all = new Uint8Array(this.pending.length + bytes.length);
    all.set(this.pending);
    all.set(bytes, this.pending.length);
    const keep = incompleteTail(all);
    this.pending = all.slice(all.length - keep);
    return utf8Decode(all.subarray(0, all.length - keep));
  }

  end(): string {
    const rest = utf8Decode(this.pending);
    this.pending = new Uint8Array(0);
    return rest;
  }
}

/**
 * GPT-2's reversible byte → printable-character table (`bytes_to_unicode` in OpenAI's
 * encoder.py). encoder.json and vocab.bpe spell tokens with these characters so that no
 * token contains whitespace or control characters: printable Latin-1 bytes map to
 * themselves, the other 68 bytes to U+0100 onwards, in byte order.
 * @example bytesToUnicode()[0x20] // 'Ġ'
 */
export function bytesToUnicode(): string[] {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return table;
}
