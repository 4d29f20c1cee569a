// Arena: memory handed out by bumping an offset through blocks that a backend allocated once,
// and taken back all at once by reset(). Gradient checkpointing (src/nn/checkpoint.ts) runs each
// transformer block's forward, and later its recomputation and backward, with an arena set on the
// backend (Backend.setArena): every block gets the same addresses in turn, so one block's worth
// of activations is in memory instead of every block's, also in a captured step that replays
// the same kernel calls on the same buffers. Not a general allocator: nothing is freed singly.

import type { AnyArray, Backend, DType } from './backend.js';

/** Alignment of each array handed out (a cache line; also every SIMD load's and float64's). */
const ALIGN = 64;

export class Arena {
  /** the blocks, allocated from the backend (arena unset) and kept for the arena's life */
  private readonly blocks: Float32Array[] = [];
  /** the next free byte of each block */
  private readonly offsets: number[] = [];
  /** bytes handed out since the last reset, and the most that has ever been */
  private used = 0;
  private peak = 0;

  /**
   * @param backend whose memory the blocks are, and whose setArena this arena is given to
   * @param minBlockBytes the smallest block allocated (a bigger request gets a block its size)
   */
  constructor(
    readonly backend: Backend,
    private readonly minBlockBytes = 1 << 20,
  ) {}

  /**
   * A zero-filled array of `size` elements from the arena (Backend.alloc's contract): the first
   * block with room (first fit: the same requests in the same order after a reset get the same
   * places), else a new block.
   */
  take(dtype: DType, size: number): AnyArray {
    const width = dtype === 'float64' ? 8 : 4;
    const bytes = Math.ceil((size * width) / ALIGN) * ALIGN;
    let k = 0;
    while (k < this.blocks.length && this.offsets[k]! + bytes > this.blocks[k]!.byteLength) k++;
    if (k === this.blocks.length) {
      this.blocks.push(this.allocBlock(Math.max(bytes, this.minBlockBytes)));
      this.offsets.push(0);
    }
    const blk = this.blocks[k]!;
    const at = blk.byteOffset + this.offsets[k]!;
    this.offsets[k] = this.offsets[k]! + bytes;
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
    const arr =
      dtype === 'float64'
        ? new Float64Array(blk.buffer, at, size)
        : dtype === 'int32'
          ? new Int32Array(blk.buffer, at, size)
          : new Float32Array(blk.buffer, at, size);
    this.backend.fill(arr, 0);
    return arr;
  }

  /** Everything handed out is free again; the next take() starts over at the first block. */
  reset(): void {
    this.offsets.fill(0);
    this.used = 0;
  }

  /** Whether arr lies in this arena's blocks (Backend.free of such an array does nothing). */
  owns(arr: AnyArray): boolean {
    for (let i = 0; i < this.blocks.length; i++) {
      const b = this.blocks[i]!;
      if (
        arr.buffer === b.buffer &&
        arr.byteOffset >= b.byteOffset &&
        arr.byteOffset < b.byteOffset + b.byteLength
      )
        return true;
    }
    return false;
  }

  /** Bytes of the arena's blocks (what it holds of the backend's memory). */
  get bytes(): number {
    let n = 0;
    for (const b of this.blocks) n += b.byteLength;
    return n;
  }

  /** The most bytes handed out between two resets. */
  get peakBytes(): number {
    return this.peak;
  }

  private allocBlock(bytes: number): Float32Array {
    const be = this.backend;
    // allocated with no arena set, so it comes from the backend's own memory
    be.setArena?.(null);
    try {
      return be.alloc('float32', bytes / 4);
    } finally {
      be.setArena?.(this);
    }
  }
}
