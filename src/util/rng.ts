// Seeded pseudo-random numbers (xoshiro128**), the one source of randomness in tsgpt:
// weight init, batch sampling, dropout seeds and token sampling. Its state is four 32-bit
// words, saved in checkpoints so that `--resume` continues the exact same stream.

export type RngState = [number, number, number, number];

export class Rng {
  /** the four state words, then the last output (s[4]) */
  private s: Uint32Array;
  private spareNormal: number | null = null;

  /** @example new Rng(1337).int(65) // a token id in [0, 65) */
  constructor(seed: number) {
    // splitmix32 expands the seed into the 128-bit state (never all zero)
    this.s = new Uint32Array(5);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /**
   * One xoshiro128** step; the output goes to s[4], not to a return value. V8 boxes a returned
   * number of 2^30 or more on the heap whenever it does not inline the call (Node 22 does not,
   * here), so int() and u30(), which the training step calls, return only small integers.
   */
  private advance(): void {
    const s = this.s;
    const m = Math.imul(s[1]!, 5);
    s[4] = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s[1]! << 9;
    s[2]! ^= s[0];
    s[3]! ^= s[1];
    s[1]! ^= s[2];
    s[0]! ^= s[3];
    s[2]! ^= t;
    const w = s[3]!;
    s[3] = (w << 11) | (w >>> 21);
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    this.advance();
    return this.s[4]!;
  }

  /** The top 30 bits of nextU32(): a small integer (a dropout seed) that is never boxed. */
  u30(): number {
    this.advance();
    return this.s[4]! >>> 2;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  uniform(): number {
    this.advance();
    return this.s[4]! / 4294967296;
  }

  /** Uniform integer in [0, n): Math.floor(uniform() * n), computed without a call. */
  int(n: number): number {
    this.advance();
    return Math.floor((this.s[4]! / 4294967296) * n);
  }

  /** Standard normal (Box-Muller, the second value kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  getState(): RngState {
    // a pending Box-Muller value is dropped: after restore the stream restarts on a pair boundary
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff))
      throw new RangeError('rng state must be four 32-bit unsigned integers');
    this.s.set(state);
    this.spareNormal = null;
  }

  static fromState(state: readonly number[]): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }
}
