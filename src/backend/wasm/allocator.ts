// A first-fit free-list allocator over one linear memory (byte offsets, 64-byte aligned blocks,
// neighbours coalesced on free). It only does bookkeeping: growing the memory is the caller's
// `grow` callback. Not a general-purpose malloc: a training run allocates its buffers once.
// It also tracks which memory was never handed out (still zero), so zeroing can skip it.

/** Block alignment in bytes: a cache line, which also satisfies every SIMD load. */
export const ALIGN = 64;

interface Block {
  offset: number;
  size: number;
}

export class FreeListAllocator {
  /** free blocks sorted by offset */
  private readonly free: Block[] = [];
  /** live block sizes by offset */
  private readonly live = new Map<number, number>();
  private top: number;
  private inUse = 0;
  private peak = 0;
  /** end of every block ever handed out: memory above it is still as the engine made it, zero */
  private dirtyEnd: number;
  /**
   * How many leading bytes of the block the last alloc() returned were handed out before (and
   * may hold old data); the rest is fresh memory, still zero. Callers that promise zeroed blocks
   * clear only these, so fresh pages are not written (and not committed) until used.
   */
  lastDirtyBytes = 0;

  /**
   * @param base first byte the allocator may hand out (rounded up to ALIGN)
   * @param limit current end of memory in bytes
   * @param grow asked for at least `minEnd` bytes of memory; returns the new end
   */
  constructor(
    base: number,
    private limit: number,
    private readonly grow: (minEnd: number) => number,
  ) {
    this.top = alignUp(base);
    this.dirtyEnd = this.top;
  }

  /** Reserves `bytes` (rounded up to ALIGN, at least ALIGN) and returns the byte offset. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, alignUp(bytes));
    let offset = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size < size) continue;
      offset = b.offset;
      if (b.size === size) this.free.splice(i, 1);
      else {
        b.offset += size;
        b.size -= size;
      }
      break;
    }
    if (offset < 0) {
      if (this.top + size > this.limit) this.limit = this.grow(this.top + size);
      offset = this.top;
      this.top += size;
    }
    this.lastDirtyBytes = Math.min(size, Math.max(0, this.dirtyEnd - offset));
    if (offset + size > this.dirtyEnd) this.dirtyEnd = offset + size;
    this.live.set(offset, size);
    this.inUse += size;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return offset;
  }

  /** Returns the block at `offset`; throws on a pointer that is not live (double free). */
  release(offset: number): void {
    const size = this.live.get(offset);
    if (size === undefined)
      throw new Error(`wasm allocator: free of ${offset}, which is not an allocated block`);
    this.live.delete(offset);
    this.inUse -= size;
    // insert sorted, then merge with the neighbours
    let i = 0;
    while (i < this.free.length && this.free[i]!.offset < offset) i++;
    this.free.splice(i, 0, { offset, size });
    const next = this.free[i + 1];
    const cur = this.free[i]!;
    if (next && cur.offset + cur.size === next.offset) {
      cur.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.offset + prev.size === cur.offset) {
      prev.size += cur.size;
      this.free.splice(i, 1);
    }
    // a free block at the top goes back to the bump region
    const last = this.free[this.free.length - 1];
    if (last && last.offset + last.size === this.top) {
      this.top = last.offset;
      this.free.pop();
    }
  }

  /** Size in bytes of the live block at offset, or undefined. */
  sizeOf(offset: number): number | undefined {
    return this.live.get(offset);
  }

  get bytesInUse(): number {
    return this.inUse;
  }

  get peakBytes(): number {
    return this.peak;
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
