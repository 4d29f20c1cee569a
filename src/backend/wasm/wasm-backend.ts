// The `wasm` backend: every kernel of backend.ts on WebAssembly SIMD (kernels/*.ts), float32,
// over one shared WebAssembly.Memory that worker threads also run on. This file is thin shims:
// check that arrays live in our memory, turn them into byte pointers, pick chunk sizes, run the
// job (jobs.gen.ts: one method per job of kernels/job-table.mjs, its arguments by name).
// Not here: the math (kernels/), nor Node specifics (node-platform.ts); ref/ is the definition.

import { TsgptError } from '../../errors.js';
import type { Arena } from '../arena.js';
import {
  type AdamWParams,
  type AnyArray,
  type Backend,
  type BinaryOp,
  type DType,
  type FloatArray,
  type MaskedAttentionParams,
  type MatmulParams,
  sizeOf,
  type UnaryOp,
} from '../backend.js';
import type { Int8Weights } from '../int8.js';
import { FreeListAllocator } from './allocator.js';
import { Jobs } from './jobs.gen.js';
import {
  A_PACKED,
  A_ROWS,
  B_ADD,
  B_DIV,
  B_MUL,
  B_SUB,
  CTRL_BYTES,
  MAX_THREADS,
  U_EXP,
  U_GELU,
  U_GELU_TANH,
  U_LOG,
  U_NEG,
  U_RELU,
  U_RELU2,
  U_SIGMOID,
  U_SQRT,
  U_TANH,
} from './kernels/abi.js';
import { type KernelExports, type KernelFlavor, MAX_PAGES, PAGE } from './kernels.js';
import type { WasmPlatform, WorkerHandle } from './platform.js';
import { spinsPerMs, ThreadPool } from './thread-pool.js';
import { instantiateKernels } from './worker-loop.js';

export interface WasmBackendOptions {
  /** threads taking part in big kernels, the caller included (default: all hardware threads) */
  threads?: number;
  /** 'auto' (default) picks relaxed SIMD when the engine has it, else plain SIMD */
  kernels?: KernelFlavor | 'auto';
  /** initial memory in MiB (default 16); memory grows on demand up to 4 GiB */
  initialMemoryMiB?: number;
  /** milliseconds a waiting thread spins before it sleeps in Atomics.wait (default 0.2) */
  spinMs?: number;
  /** host adapter; default: Node (node-platform.ts) */
  platform?: WasmPlatform;
}

/** The kernels' code of each unary and binary op (kernels/abi.ts). */
const UNARY_CODE: Record<UnaryOp, number> = {
  gelu: U_GELU,
  gelu_tanh: U_GELU_TANH,
  relu: U_RELU,
  exp: U_EXP,
  log: U_LOG,
  neg: U_NEG,
  tanh: U_TANH,
  sqrt: U_SQRT,
  sigmoid: U_SIGMOID,
  relu2: U_RELU2,
};
const BINARY_CODE: Record<BinaryOp, number> = { add: B_ADD, sub: B_SUB, mul: B_MUL, div: B_DIV };

/** Elementwise jobs below this many elements stay on the calling thread. */
const PAR_MIN_ELEMENTS = 1 << 15;
/** Matmuls below this many multiply-adds stay on the calling thread. */
const PAR_MIN_MACS = 1 << 17;
/** Packed B above this many bytes (half a core's L2) is split among threads by columns. */
const COL_SPLIT_BYTES = 512 * 1024;
/** Elements per chunk of sumSquares (a multiple of 64), and the most chunks it makes. */
const SUMSQ_CHUNK = 1 << 15;
const MAX_PARTIALS = 256;

/** Picks the relaxed build when the engine validates it (after trying to enable it), else SIMD. */
export async function chooseKernelFlavor(
  platform: WasmPlatform,
): Promise<{ flavor: KernelFlavor; bytes: Uint8Array<ArrayBuffer> }> {
  const relaxed = await platform.kernelBytes('relaxed');
  if (!WebAssembly.validate(relaxed)) platform.enableRelaxedSimd();
  if (WebAssembly.validate(relaxed)) return { flavor: 'relaxed', bytes: relaxed };
  const simd = await platform.kernelBytes('simd');
  if (!WebAssembly.validate(simd))
    throw new TsgptError('wasm backend: this engine has no WebAssembly SIMD128');
  return { flavor: 'simd', bytes: simd };
}

/**
 * Creates the wasm backend: compiles the kernels, makes the shared memory, starts threads - 1
 * workers (unref'd; call dispose() to stop them).
 * @example
 * const be = await createWasmBackend({ threads: 2 });
 * const x = be.alloc('float32', 1024);
 * be.unary('gelu', x, x);
 * await be.dispose();
 */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const platform = opts.platform ?? (await import('./node-platform.js')).nodePlatform;
  let flavor: KernelFlavor;
  let bytes: Uint8Array<ArrayBuffer>;
  const want = opts.kernels ?? 'auto';
  if (want === 'auto') ({ flavor, bytes } = await chooseKernelFlavor(platform));
  else {
    flavor = want;
    bytes = await platform.kernelBytes(want);
    if (want === 'relaxed' && !WebAssembly.validate(bytes)) platform.enableRelaxedSimd();
    if (!WebAssembly.validate(bytes))
      throw new TsgptError(`wasm backend: this engine cannot run the '${want}' kernels`);
  }
  const threads = Math.min(MAX_THREADS, Math.max(1, Math.floor(opts.threads ?? platform.parallelism())));
  const spinMs = opts.spinMs ?? 0.2;
  const module = await WebAssembly.compile(bytes);
  const initialPages = Math.ceil(((opts.initialMemoryMiB ?? 16) * 1048576) / PAGE);
  const memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
  const kernels = instantiateKernels(module, memory);
  const allocator = new FreeListAllocator(kernels.heap_base(), memory.buffer.byteLength, (minEnd) => {
    const have = memory.buffer.byteLength;
    // grow by at least half again, so a run of small allocations does not grow page by page
    const want = Math.max(minEnd, Math.floor(have * 1.5));
    const pages = Math.min(MAX_PAGES, Math.ceil(want / PAGE)) - have / PAGE;
    if (pages <= 0 || have + pages * PAGE < minEnd) {
      throw new TsgptError(
        `wasm backend: out of memory (need ${(minEnd / 2 ** 30).toFixed(2)} GiB, WebAssembly's maximum is ${(MAX_PAGES * PAGE) / 2 ** 30} GiB): ` +
          'a smaller batch, --grad-checkpoint or --precision bf16 needs less',
      );
    }
    memory.grow(pages);
    return memory.buffer.byteLength;
  });
  const ctrl = allocator.alloc(CTRL_BYTES);
  // spin limits as loop counts, so waiting threads read no clock
  const spins = threads > 1 ? Math.ceil(spinsPerMs(new Int32Array(memory.buffer, ctrl, 1)) * spinMs) : 0;
  const starting: Promise<WorkerHandle>[] = [];
  for (let i = 1; i < threads; i++)
    starting.push(platform.startWorker({ module, memory, ctrl, spins, index: i }));
  const started = await Promise.all(starting);
  const pool = new ThreadPool(kernels, memory, ctrl, started, spins);
  return new WasmBackend(kernels, memory, allocator, pool, flavor);
}

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly floatDTypes: readonly DType[] = ['float32'];
  /** buffers of this memory seen so far (memory.grow makes a new SharedArrayBuffer object) */
  private readonly buffers: ArrayBufferLike[];
  /** packed B panels of matmul */
  private readonly scratchB: ScratchBlock;
  /** packed A tiles of matmul (a transposed A) */
  private readonly scratchA: ScratchBlock;
  /** each thread's packed Q, K, V of one attention head */
  private readonly scratchAttn: ScratchBlock;
  /** linearInt8's quantized activations */
  private readonly scratchInt8: ScratchBlock;
  /** writes a job's arguments and runs it on the pool, one method per job */
  private readonly jobs: Jobs;
  /** f64 partial sums of chunked reductions (sumSquares), one per chunk */
  private readonly partials: Float64Array;

  /** @internal use createWasmBackend */
  constructor(
    /** the raw kernel exports (for tests and benchmarks) */
    readonly kernels: KernelExports,
    readonly memory: WebAssembly.Memory,
    private readonly allocator: FreeListAllocator,
    private readonly pool: ThreadPool,
    /** which build of the kernels runs: 'relaxed' (FMA) or 'simd' */
    readonly flavor: KernelFlavor,
  ) {
    this.buffers = [memory.buffer];
    this.jobs = new Jobs(pool);
    this.scratchB = new ScratchBlock(allocator);
    this.scratchA = new ScratchBlock(allocator);
    this.scratchAttn = new ScratchBlock(allocator);
    this.scratchInt8 = new ScratchBlock(allocator);
    // laid out once: a view made now stays valid, a shared memory's buffer never detaches
    this.partials = new Float64Array(memory.buffer, allocator.alloc(MAX_PARTIALS * 8), MAX_PARTIALS);
  }

  /** threads taking part in parallel kernels, the caller included */
  get threads(): number {
    return this.pool.threads;
  }

  /**
   * Whether parallel kernels use the worker threads (true) or run on the calling thread alone
   * while the workers sleep; see ThreadGovernor (src/train/thread-governor.ts).
   */
  setUseWorkers(on: boolean): void {
    this.pool.useWorkers = on;
  }

  get useWorkers(): boolean {
    return this.pool.useWorkers;
  }

  /**
   * Work-sharing counters: parallel jobs run with the workers, their chunks, the chunks the
   * calling thread ran (the rest ran on workers), jobs where the caller slept waiting for a
   * worker, and parallel jobs run on the caller alone (useWorkers off).
   */
  get threadStats(): {
    parallelJobs: number;
    chunks: number;
    callerChunks: number;
    stalls: number;
    aloneJobs: number;
  } {
    return { ...this.pool.stats };
  }

  /** bytes of wasm memory currently allocated (alloc'd arrays, scratch, control block) */
  get bytesInUse(): number {
    return this.allocator.bytesInUse;
  }

  /** the most bytesInUse has been */
  get peakBytes(): number {
    return this.allocator.peakBytes;
  }

  /** Stops the worker threads. The backend must not be used afterwards. */
  dispose(): Promise<void> {
    return this.pool.dispose();
  }

  // ---- memory ----

  alloc(dtype: 'float32', size: number): Float32Array;
  alloc(dtype: 'float64', size: number): Float64Array;
  alloc(dtype: 'int32', size: number): Int32Array;
  alloc(dtype: DType, size: number): AnyArray;
  alloc(dtype: DType, size: number): AnyArray {
    if (dtype === 'float64')
      throw new TsgptError('wasm backend: alloc: dtype float64 is not supported (float32 only)');
    if (!Number.isInteger(size) || size < 0) throw new TsgptError(`wasm backend: alloc: bad size ${size}`);
    if (this.arena) return this.arena.take(dtype, size);
    const offset = this.allocator.alloc(size * 4);
    // zeroed: only the part handed out before needs clearing (fresh memory is zero, and left
    // untouched it is not even committed), by the wasm kernel (TypedArray.fill on shared memory
    // runs at a fraction of its speed)
    const dirty = Math.min(size, this.allocator.lastDirtyBytes >> 2);
    if (dirty > 0) this.kernels.fill_u32(offset, 0, 0, dirty);
    const buf = this.currentBuffer();
    return dtype === 'int32' ? new Int32Array(buf, offset, size) : new Float32Array(buf, offset, size);
  }

  free(arr: AnyArray): void {
    // an arena's memory goes back with the arena's reset, not one array at a time
    for (let i = 0; i < this.arenas.length; i++) if (this.arenas[i]!.owns(arr)) return;
    this.allocator.release(this.ptr(arr, 'free'));
  }

  /** the arena alloc() takes from (gradient checkpointing), and every arena ever set */
  private arena: Arena | null = null;
  private readonly arenas: Arena[] = [];

  setArena(arena: Arena | null): void {
    this.arena = arena;
    if (arena && !this.arenas.includes(arena)) this.arenas.push(arena);
  }

  private currentBuffer(): ArrayBufferLike {
    const buf = this.memory.buffer;
    if (buf !== this.buffers[this.buffers.length - 1]) this.buffers.push(buf);
    return buf;
  }

  /** Byte pointer of an array allocated by this backend. */
  private ptr(arr: AnyArray, op: string): number {
    const buf = arr.buffer;
    if (
      buf !== this.buffers[this.buffers.length - 1] &&
      !this.buffers.includes(buf) &&
      buf !== this.currentBuffer()
    ) {
      throw new TsgptError(`wasm backend: ${op}: array was not allocated by this backend`);
    }
    if (arr.BYTES_PER_ELEMENT !== 4)
      throw new TsgptError(`wasm backend: ${op}: float64 arrays are not supported`);
    return arr.byteOffset;
  }

  private need(op: string, name: string, arr: AnyArray, size: number): number {
    if (arr.length < size)
      throw new TsgptError(`wasm backend: ${op}: ${name} has ${arr.length} elements, needs ${size}`);
    return this.ptr(arr, op);
  }

  /** Elements per chunk when n elements are split over the threads (multiple of 16). */
  private per(n: number, minParallel = PAR_MIN_ELEMENTS): number {
    if (this.pool.threads === 1 || n < minParallel) return Math.max(1, n);
    return Math.max(16, Math.ceil(n / (this.pool.threads * 4) / 16) * 16);
  }

  /** Rows per chunk for row-wise kernels of n rows of c elements. */
  private rowsPer(n: number, c: number): number {
    if (this.pool.threads === 1 || n * c < PAR_MIN_ELEMENTS) return Math.max(1, n);
    return Math.max(1, Math.ceil(n / (this.pool.threads * 4)));
  }

  /** Columns per chunk when c columns are split over the threads (multiple of 16). */
  private colsPer(c: number, work: number): number {
    if (this.pool.threads === 1 || work < PAR_MIN_ELEMENTS) return Math.max(1, c);
    return Math.max(16, Math.ceil(c / (this.pool.threads * 2) / 16) * 16);
  }

  // ---- elementwise ----

  fill(out: AnyArray, value: number): void {
    const n = out.length;
    const po = this.ptr(out, 'fill');
    // the element's bit pattern: a float32 through a float view, an int32 as is
    let bits = value;
    if (out instanceof Float32Array) {
      BITS_F32[0] = value;
      bits = BITS_I32[0]!;
    }
    if (this.pool.threads === 1 || n < PAR_MIN_ELEMENTS) {
      // the kernel, not out.fill(): TypedArray.fill on shared memory is several times slower
      this.kernels.fill_u32(po, bits, 0, n);
      return;
    }
    this.jobs.fill(po, bits, n, this.per(n));
  }

  copy(out: AnyArray, x: AnyArray): void {
    this.ptr(out, 'copy');
    this.need('copy', 'x', x, out.length);
    out.set(x.length === out.length ? x : x.subarray(0, out.length));
  }

  unary(op: UnaryOp, out: FloatArray, x: FloatArray): void {
    const n = x.length;
    this.jobs.unaryFwd(
      UNARY_CODE[op],
      this.need('unary', 'out', out, n),
      this.ptr(x, 'unary'),
      n,
      this.per(n),
    );
  }

  unaryBackward(op: UnaryOp, dx: FloatArray, x: FloatArray, y: FloatArray, dout: FloatArray): void {
    const n = dx.length;
    const fn = 'unaryBackward';
    this.jobs.unaryBwd(
      UNARY_CODE[op],
      this.ptr(dx, fn),
      this.need(fn, 'x', x, n),
      this.need(fn, 'y', y, n),
      this.need(fn, 'dout', dout, n),
      n,
      this.per(n),
    );
  }

  binary(
    op: BinaryOp,
    out: FloatArray,
    a: FloatArray,
    b: FloatArray,
    outShape: readonly number[],
    aStrides: readonly number[],
    bStrides: readonly number[],
  ): void {
    const n = sizeOf(outShape);
    const po = this.need('binary', 'out', out, n);
    const pa = this.ptr(a, 'binary');
    const pb = this.ptr(b, 'binary');
    if (n === 0) return;
    const aRow = rowBroadcastLength(outShape, aStrides);
    const bRow = rowBroadcastLength(outShape, bStrides);
    if (aRow === n && bRow === n) {
      this.jobs.binarySame(BINARY_CODE[op], po, pa, pb, n, this.per(n));
      return;
    }
    if ((aRow === n && bRow >= 4) || (bRow === n && aRow >= 4)) {
      const bIsRow = aRow === n;
      const c = bIsRow ? bRow : aRow;
      const rows = n / c;
      this.jobs.binaryRow(BINARY_CODE[op], po, pa, pb, c, bIsRow, rows, this.rowsPer(rows, c));
      return;
    }
    // general broadcast: a plain strided loop
    const f = binaryFn(op);
    const rank = checkRank('binary', outShape.length);
    const idx = IDX.fill(0);
    let ia = 0;
    let ib = 0;
    for (let i = 0; i < n; i++) {
      out[i] = f(a[ia]!, b[ib]!);
      for (let d = rank - 1; d >= 0; d--) {
        ia += aStrides[d]!;
        ib += bStrides[d]!;
        if (++idx[d]! < outShape[d]!) break;
        ia -= aStrides[d]! * outShape[d]!;
        ib -= bStrides[d]! * outShape[d]!;
        idx[d] = 0;
      }
    }
  }

  scale(out: FloatArray, x: FloatArray, s: number, accumulate: boolean): void {
    const n = x.length;
    this.jobs.scale(this.need('scale', 'out', out, n), this.ptr(x, 'scale'), s, accumulate, n, this.per(n));
  }

  sumTo(out: FloatArray, x: FloatArray, xShape: readonly number[], outShape: readonly number[]): void {
    const n = sizeOf(xShape);
    this.need('sumTo', 'x', x, n);
    this.need('sumTo', 'out', out, sizeOf(outShape));
    if (xShape.length !== outShape.length) {
      throw new TsgptError(
        `wasm backend: sumTo: ranks differ: (${xShape.join(',')}) -> (${outShape.join(',')})`,
      );
    }
    // leading dims reduced, the rest kept: the column sums of a (rows, cols) matrix
    let lead = 0;
    while (lead < xShape.length && outShape[lead] === 1) lead++;
    let rest = true;
    for (let d = lead; d < xShape.length; d++) if (outShape[d] !== xShape[d]) rest = false;
    if (rest && lead > 0) {
      let cols = 1;
      for (let d = lead; d < xShape.length; d++) cols *= xShape[d]!;
      if (cols > 0) this.colSums(this.ptr(out, 'sumTo'), this.ptr(x, 'sumTo'), n / cols, cols);
      return;
    }
    const rank = checkRank('sumTo', xShape.length);
    // out strides, 0 along reduced dims
    const oStrides = ST;
    for (let d = rank - 1, st = 1; d >= 0; d--) {
      oStrides[d] = outShape[d] === 1 ? 0 : st;
      st *= outShape[d]!;
    }
    const idx = IDX.fill(0);
    let io = 0;
    for (let i = 0; i < n; i++) {
      out[io] = out[io]! + x[i]!;
      for (let d = rank - 1; d >= 0; d--) {
        io += oStrides[d]!;
        if (++idx[d]! < xShape[d]!) break;
        io -= oStrides[d]! * xShape[d]!;
        idx[d] = 0;
      }
    }
  }

  permute(out: AnyArray, x: AnyArray, xShape: readonly number[], perm: readonly number[]): void {
    const n = sizeOf(xShape);
    this.need('permute', 'x', x, n);
    this.need('permute', 'out', out, n);
    const rank = checkRank('permute', xShape.length);
    // walk out in order; st[d] is the x stride of out's axis d
    const shape = SHAPE;
    const st = ST;
    for (let d = 0; d < rank; d++) {
      let xsd = 1;
      for (let e = perm[d]! + 1; e < rank; e++) xsd *= xShape[e]!;
      shape[d] = xShape[perm[d]!]!;
      st[d] = xsd;
    }
    const idx = IDX.fill(0);
    let ix = 0;
    for (let i = 0; i < n; i++) {
      out[i] = x[ix]!;
      for (let d = rank - 1; d >= 0; d--) {
        ix += st[d]!;
        if (++idx[d]! < shape[d]!) break;
        ix -= st[d]! * shape[d]!;
        idx[d] = 0;
      }
    }
  }

  sumSquares(out: Float64Array, x: FloatArray): void {
    const n = x.length;
    const px = this.ptr(x, 'sumSquares');
    // fixed chunks (not per thread count), partials summed in chunk order: the same result
    // on any number of threads. One chunk is a job too: the kernel's f64 result, returned to
    // JavaScript, would be boxed on the JS heap; written to memory by the job it is not.
    const per = Math.max(SUMSQ_CHUNK, Math.ceil(n / MAX_PARTIALS / 64) * 64);
    const chunks = Math.ceil(n / per);
    const parallel = this.pool.threads > 1 && n >= PAR_MIN_ELEMENTS;
    this.jobs.sumSquares(chunks, parallel, this.partials.byteOffset, px, n, per);
    const p = this.partials;
    let total = 0;
    for (let i = 0; i < chunks; i++) total += p[i]!;
    out[0] = total;
  }

  // ---- matmul ----

  matmul(out: FloatArray, a: FloatArray, b: FloatArray, p: MatmulParams): void {
    const { batch, m, k, n } = p;
    const pc = this.need('matmul', 'out', out, batch * m * n);
    const pa = this.need('matmul', 'a', a, batch > 0 ? (batch - 1) * p.aBatchStride + m * k : 0);
    const pb = this.need('matmul', 'b', b, batch > 0 ? (batch - 1) * p.bBatchStride + k * n : 0);
    if (batch === 0 || m === 0 || n === 0) return;
    if (k === 0) {
      if (!p.accumulate) out.fill(0, 0, batch * m * n);
      return;
    }
    if (m < 4 && p.transB && !p.transA) {
      // a few rows against a Linear weight (sampling): dot products, no packing
      for (let i = 0; i < batch; i++) {
        this.kernels.gemv_nt(
          pc + i * m * n * 4,
          pa + i * p.aBatchStride * 4,
          pb + i * p.bBatchStride * 4,
          m,
          k,
          n,
          p.accumulate,
        );
      }
      return;
    }
    const threads = this.pool.threads;
    // 1. pack B into 8-column panels (kernels/matmul.ts), once per distinct B
    const panels = (n + 7) >> 3;
    const width = packedWidth(n);
    const packedBytes = k * width * 4;
    const nb = p.bBatchStride === 0 ? 1 : batch;
    const bp = this.scratchB.atLeast(nb * packedBytes);
    // element (k, j) of op(B) at b[k*sk + j*sn]; packing is a copy: worth a second thread only when large
    const sk = p.transB ? 1 : n;
    const sn = p.transB ? k : 1;
    const packParallel = threads > 1 && nb * k * n >= PAR_MIN_ELEMENTS;
    this.jobs.packB(nb * panels, packParallel, bp, pb, k, n, sk, sn, p.bBatchStride * 4, packedBytes, panels);
    // 2. blocks of C: whole products per chunk when there are enough of them, else row blocks;
    // column blocks when packed B outgrows a core's L2 and C has few rows (the weight gradient of
    // a wide layer): each thread then reads only its own columns of B, not all of B per row block
    const macs = batch * m * k * n;
    const parallel = threads > 1 && macs >= PAR_MIN_MACS;
    const split = parallel && batch < threads * 2;
    const byColumns =
      split && batch === 1 && packedBytes > COL_SPLIT_BYTES && panels >= threads * 4 && n >= m;
    let rpc = m;
    let ppc = panels;
    if (byColumns) ppc = Math.ceil(panels / (threads * 4));
    else if (split) rpc = Math.max(4, Math.ceil(m / Math.ceil((threads * 4) / batch) / 4) * 4);
    const colChunks = Math.ceil(panels / ppc);
    const cpb = Math.ceil(m / rpc) * colChunks;
    // 3. a transposed A (weight gradients) into 4-row tiles, so each k step reads 16 bytes:
    // each chunk packs the tiles of its own rows, unless one A serves several products or every
    // chunk needs all rows (column blocks)
    let aPtr = pa;
    let aStride = p.aBatchStride * 4;
    let srcA = 0;
    if (p.transA) {
      const tiles = (m + 3) >> 2;
      const tileBytes = tiles * k * 16;
      const na = p.aBatchStride === 0 ? 1 : batch;
      aPtr = this.scratchA.atLeast(na * tileBytes);
      if (na === batch && !byColumns) {
        srcA = pa;
        aStride = tileBytes;
      } else {
        const packAParallel = threads > 1 && na * m * k >= PAR_MIN_ELEMENTS;
        this.jobs.packA(na * tiles, packAParallel, aPtr, pa, m, k, p.aBatchStride * 4, tileBytes, tiles);
        aStride = na === 1 ? 0 : tileBytes;
      }
    }
    this.jobs.matmul(
      batch * cpb, // chunks
      parallel,
      pc, // c
      aPtr, // a
      bp,
      m,
      k,
      n,
      p.transA ? A_PACKED : A_ROWS, // aLayout
      p.accumulate,
      aStride, // aStrideBytes
      nb === 1 ? 0 : packedBytes, // bpStrideBytes
      rpc, // rowsPerChunk
      cpb, // chunksPerBatch
      srcA,
      p.aBatchStride * 4, // srcAStrideBytes
      ppc, // panelsPerChunk
      colChunks,
    );
  }

  addBias(out: FloatArray, bias: FloatArray, n: number, oc: number): void {
    const po = this.need('addBias', 'out', out, n * oc);
    this.jobs.addBias(po, this.need('addBias', 'bias', bias, oc), oc, n, this.rowsPer(n, oc));
  }

  biasBackward(dbias: FloatArray, dout: FloatArray, n: number, oc: number): void {
    this.colSums(
      this.need('biasBackward', 'dbias', dbias, oc),
      this.need('biasBackward', 'dout', dout, n * oc),
      n,
      oc,
    );
  }

  /** out (cols) += column sums of x (rows, cols), threads splitting the columns. */
  private colSums(out: number, x: number, rows: number, cols: number): void {
    this.jobs.biasBwd(out, x, rows, cols, this.colsPer(cols, rows * cols));
  }

  // ---- transformer layers ----

  layerNormForward(
    out: FloatArray,
    mean: FloatArray,
    rstd: FloatArray,
    x: FloatArray,
    weight: FloatArray,
    bias: FloatArray | null,
    n: number,
    c: number,
    eps: number,
  ): void {
    const op = 'layerNormForward';
    this.jobs.layernormFwd(
      this.need(op, 'out', out, n * c),
      this.need(op, 'mean', mean, n),
      this.need(op, 'rstd', rstd, n),
      this.need(op, 'x', x, n * c),
      this.need(op, 'weight', weight, c),
      bias ? this.need(op, 'bias', bias, c) : 0,
      c,
      eps,
      n,
      this.rowsPer(n, c),
    );
  }

  layerNormBackward(
    dx: FloatArray,
    dweight: FloatArray,
    dbias: FloatArray | null,
    dout: FloatArray,
    x: FloatArray,
    weight: FloatArray,
    mean: FloatArray,
    rstd: FloatArray,
    n: number,
    c: number,
  ): void {
    const op = 'layerNormBackward';
    const pdx = this.need(op, 'dx', dx, n * c);
    const pdw = this.need(op, 'dweight', dweight, c);
    const pdb = dbias ? this.need(op, 'dbias', dbias, c) : 0;
    const pdout = this.need(op, 'dout', dout, n * c);
    const px = this.need(op, 'x', x, n * c);
    const pw = this.need(op, 'weight', weight, c);
    const pmean = this.need(op, 'mean', mean, n);
    const prstd = this.need(op, 'rstd', rstd, n);
    if (n === 0 || c === 0) return;
    // one job: row blocks of dx, then column blocks of dweight / dbias (no element shared)
    const rpc = this.rowsPer(n, c);
    const rowChunks = Math.ceil(n / rpc);
    const cpc = this.colsPer(c, n * c);
    const chunks = rowChunks + Math.ceil(c / cpc);
    this.jobs.layernormBwd(
      chunks,
      rpc < n,
      pdx,
      pdw,
      pdb,
      pdout,
      px,
      pw,
      pmean,
      prstd,
      c,
      n,
      rpc,
      rowChunks,
      cpc,
    );
  }

  softmaxForward(out: FloatArray, x: FloatArray, n: number, c: number): void {
    const po = this.need('softmaxForward', 'out', out, n * c);
    this.jobs.softmaxFwd(po, this.need('softmaxForward', 'x', x, n * c), c, n, this.rowsPer(n, c));
  }

  softmaxBackward(dx: FloatArray, dout: FloatArray, y: FloatArray, n: number, c: number): void {
    const op = 'softmaxBackward';
    this.jobs.softmaxBwd(
      this.need(op, 'dx', dx, n * c),
      this.need(op, 'dout', dout, n * c),
      this.need(op, 'y', y, n * c),
      c,
      n,
      this.rowsPer(n, c),
    );
  }

  attentionForward(
    out: FloatArray,
    att: FloatArray,
    qkv: FloatArray,
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP = 0,
    seed = 0,
  ): void {
    const op = 'attentionForward';
    if (c % nh !== 0) throw new TsgptError(`wasm backend: ${op}: C ${c} is not a multiple of NH ${nh}`);
    const po = this.need(op, 'out', out, b * t * c);
    const patt = this.need(op, 'att', att, b * nh * t * t);
    const pqkv = this.need(op, 'qkv', qkv, b * t * 3 * c);
    if (dropoutP > 0) {
      const bytes = attentionDropScratchBytes(t, c / nh);
      const scratch = this.scratchAttn.atLeast(bytes * this.pool.threads);
      const parallel = b * t * t * c >= PAR_MIN_ELEMENTS;
      const thr = dropoutThreshold(dropoutP);
      const ks = 1 / (1 - dropoutP);
      this.jobs.attentionDropFwd(
        b * nh,
        parallel,
        po,
        patt,
        pqkv,
        t,
        c,
        nh,
        scale,
        seed | 0,
        thr,
        ks,
        scratch,
        bytes,
      );
      return;
    }
    const bytes = attentionScratchBytes(t, c / nh);
    const scratch = this.scratchAttn.atLeast(bytes * this.pool.threads);
    const parallel = b * t * t * c >= PAR_MIN_ELEMENTS;
    this.jobs.attentionFwd(b * nh, parallel, po, patt, pqkv, t, c, nh, scale, scratch, bytes);
  }

  attentionBackward(
    dqkv: FloatArray,
    datt: FloatArray,
    dout: FloatArray,
    qkv: FloatArray,
    att: FloatArray,
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP = 0,
    seed = 0,
  ): void {
    const op = 'attentionBackward';
    if (c % nh !== 0) throw new TsgptError(`wasm backend: ${op}: C ${c} is not a multiple of NH ${nh}`);
    const pdqkv = this.need(op, 'dqkv', dqkv, b * t * 3 * c);
    const pdatt = this.need(op, 'datt', datt, b * nh * t * t);
    const pdout = this.need(op, 'dout', dout, b * t * c);
    const pqkv = this.need(op, 'qkv', qkv, b * t * 3 * c);
    const patt = this.need(op, 'att', att, b * nh * t * t);
    if (dropoutP > 0) {
      const bytes = attentionDropScratchBytes(t, c / nh);
      const scratch = this.scratchAttn.atLeast(bytes * this.pool.threads);
      const parallel = b * t * t * c >= PAR_MIN_ELEMENTS;
      const thr = dropoutThreshold(dropoutP);
      const ks = 1 / (1 - dropoutP);
      this.jobs.attentionDropBwd(
        b * nh,
        parallel,
        pdqkv,
        pdatt,
        pdout,
        pqkv,
        patt,
        t,
        c,
        nh,
        scale,
        seed | 0,
        thr,
        ks,
        scratch,
        bytes,
      );
      return;
    }
    const bytes = attentionScratchBytes(t, c / nh);
    const scratch = this.scratchAttn.atLeast(bytes * this.pool.threads);
    const parallel = b * t * t * c >= PAR_MIN_ELEMENTS;
    this.jobs.attentionBwd(
      b * nh,
      parallel,
      pdqkv,
      pdatt,
      pdout,
      pqkv,
      patt,
      t,
      c,
      nh,
      scale,
      scratch,
      bytes,
    );
  }

  attentionForwardBf16(
    out: FloatArray,
    att16: Int32Array,
    qkv: FloatArray,
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP: number,
    seed: number,
  ): void {
    const op = 'attentionForwardBf16';
    if (c % nh !== 0) throw new TsgptError(`wasm backend: ${op}: C ${c} is not a multiple of NH ${nh}`);
    const po = this.need(op, 'out', out, b * t * c);
    const patt = this.need(op, 'att16', att16, Math.ceil((b * nh * t * t) / 2));
    const pqkv = this.need(op, 'qkv', qkv, b * t * 3 * c);
    const bytes = attentionBf16ScratchBytes(t, c / nh);
    const scratch = this.scratchAttn.atLeast(bytes * this.pool.threads);
    const parallel = b * t * t * c >= PAR_MIN_ELEMENTS;
    const thr = dropoutP > 0 ? dropoutThreshold(dropoutP) : 0;
    const ks = 1 / (1 - dropoutP);
    this.jobs.attentionBf16Fwd(
      b * nh,
      parallel,
      po,
      patt,
      pqkv,
      t,
      c,
      nh,
      scale,
      seed | 0,
      thr,
      ks,
      scratch,
      bytes,
    );
  }

  attentionBackwardBf16(
    dqkv: FloatArray,
    dout: FloatArray,
    qkv: FloatArray,
    att16: Int32Array,
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP: number,
    seed: number,
  ): void {
    const op = 'attentionBackwardBf16';
    if (c % nh !== 0) throw new TsgptError(`wasm backend: ${op}: C ${c} is not a multiple of NH ${nh}`);
    const pdqkv = this.need(op, 'dqkv', dqkv, b * t * 3 * c);
    const pdout = this.need(op, 'dout', dout, b * t * c);
    const pqkv = this.need(op, 'qkv', qkv, b * t * 3 * c);
    const patt = this.need(op, 'att16', att16, Math.ceil((b * nh * t * t) / 2));
    const bytes = attentionBf16ScratchBytes(t, c / nh);
    const scratch = this.scratchAttn.atLeast(bytes * this.pool.threads);
    const parallel = b * t * t * c >= PAR_MIN_ELEMENTS;
    const thr = dropoutP > 0 ? dropoutThreshold(dropoutP) : 0;
    const ks = 1 / (1 - dropoutP);
    this.jobs.attentionBf16Bwd(
      b * nh,
      parallel,
      pdqkv,
      pdout,
      pqkv,
      patt,
      t,
      c,
      nh,
      scale,
      seed | 0,
      thr,
      ks,
      scratch,
      bytes,
    );
  }

  maskedAttentionForward(
    out: FloatArray,
    att: FloatArray,
    q: FloatArray,
    kv: FloatArray,
    keyPadding: Int32Array | null,
    p: MaskedAttentionParams,
  ): void {
    const op = 'maskedAttentionForward';
    const { b, tq, tk, c, nh } = p;
    if (c % nh !== 0) throw new TsgptError(`wasm backend: ${op}: C ${c} is not a multiple of NH ${nh}`);
    const po = this.need(op, 'out', out, b * tq * c);
    const patt = this.need(op, 'att', att, b * nh * tq * tk);
    const pq = this.need(op, 'q', q, b * tq * c);
    const pkv = this.need(op, 'kv', kv, b * tk * 2 * c);
    const pmask = keyPadding ? this.need(op, 'keyPadding', keyPadding, b * tk) : 0;
    if (b * nh * tq === 0) return;
    const bytes = maskedAttentionScratchBytes(tq, tk, c / nh);
    const scratch = this.scratchAttn.atLeast(bytes * this.pool.threads);
    const parallel = b * tq * tk * c >= PAR_MIN_ELEMENTS;
    this.jobs.maskedAttentionFwd(
      b * nh,
      parallel,
      po,
      patt,
      pq,
      pkv,
      pmask,
      tq,
      tk,
      c,
      nh,
      p.scale,
      p.causal,
      scratch,
      bytes,
    );
  }

  maskedAttentionBackward(
    dq: FloatArray | null,
    dkv: FloatArray | null,
    datt: FloatArray,
    dout: FloatArray,
    q: FloatArray,
    kv: FloatArray,
    att: FloatArray,
    p: MaskedAttentionParams,
  ): void {
    const op = 'maskedAttentionBackward';
    const { b, tq, tk, c, nh } = p;
    if (c % nh !== 0) throw new TsgptError(`wasm backend: ${op}: C ${c} is not a multiple of NH ${nh}`);
    const pdq = dq ? this.need(op, 'dq', dq, b * tq * c) : 0;
    const pdkv = dkv ? this.need(op, 'dkv', dkv, b * tk * 2 * c) : 0;
    const pdatt = this.need(op, 'datt', datt, b * nh * tq * tk);
    const pdout = this.need(op, 'dout', dout, b * tq * c);
    const pq = this.need(op, 'q', q, b * tq * c);
    const pkv = this.need(op, 'kv', kv, b * tk * 2 * c);
    const patt = this.need(op, 'att', att, b * nh * tq * tk);
    if (b * nh * tq === 0 || (!dq && !dkv)) return;
    const bytes = maskedAttentionScratchBytes(tq, tk, c / nh);
    const scratch = this.scratchAttn.atLeast(bytes * this.pool.threads);
    const parallel = b * tq * tk * c >= PAR_MIN_ELEMENTS;
    this.jobs.maskedAttentionBwd(
      b * nh,
      parallel,
      pdq,
      pdkv,
      pdatt,
      pdout,
      pq,
      pkv,
      patt,
      tq,
      tk,
      c,
      nh,
      p.scale,
      p.causal,
      scratch,
      bytes,
    );
  }

  crossEntropyForward(
    losses: FloatArray,
    logits: FloatArray,
    targets: Int32Array,
    n: number,
    v: number,
  ): void {
    const op = 'crossEntropyForward';
    const pl = this.need(op, 'losses', losses, n);
    const plogits = this.need(op, 'logits', logits, n * v);
    const pt = this.need(op, 'targets', targets, n);
    checkIds(op, 'targets', targets, n, v, true);
    this.jobs.crossentropyFwd(pl, plogits, pt, v, n, this.rowsPer(n, v));
  }

  crossEntropyBackward(
    dlogits: FloatArray,
    logits: FloatArray,
    targets: Int32Array,
    dlosses: FloatArray,
    n: number,
    v: number,
  ): void {
    const op = 'crossEntropyBackward';
    const pd = this.need(op, 'dlogits', dlogits, n * v);
    const plogits = this.need(op, 'logits', logits, n * v);
    const pt = this.need(op, 'targets', targets, n);
    checkIds(op, 'targets', targets, n, v, true);
    const pdl = this.need(op, 'dlosses', dlosses, n);
    this.jobs.crossentropyBwd(pd, plogits, pt, pdl, v, n, this.rowsPer(n, v));
  }

  embeddingForward(out: FloatArray, table: FloatArray, ids: Int32Array, n: number, c: number): void {
    const op = 'embeddingForward';
    const po = this.need(op, 'out', out, n * c);
    const ptable = this.ptr(table, op);
    const pids = this.need(op, 'ids', ids, n);
    checkIds(op, 'ids', ids, n, table.length / c, false);
    this.jobs.embeddingFwd(po, ptable, pids, c, n, this.rowsPer(n, c));
  }

  embeddingBackward(dtable: FloatArray, dout: FloatArray, ids: Int32Array, n: number, c: number): void {
    const op = 'embeddingBackward';
    checkIds(op, 'ids', ids, n, dtable.length / c, false);
    const ptable = this.ptr(dtable, op);
    const pdout = this.need(op, 'dout', dout, n * c);
    const pids = this.need(op, 'ids', ids, n);
    // rows may share an id: threads split the columns
    if (n > 0) this.jobs.embeddingBwd(ptable, pdout, pids, n, c, this.colsPer(c, n * c));
  }

  dropoutForward(out: FloatArray, mask: FloatArray, x: FloatArray, p: number, seed: number): void {
    const op = 'dropoutForward';
    const n = x.length;
    const po = this.need(op, 'out', out, n);
    const pmask = this.need(op, 'mask', mask, n);
    // keep iff u >= p with u = h / 2^24, i.e. h >= ceil(p * 2^24): exact, no float compare
    const thr = Math.min(16777216, Math.max(0, Math.ceil(p * 16777216)));
    const keepScale = p >= 1 ? 0 : 1 / (1 - p);
    this.jobs.dropout(po, pmask, this.ptr(x, op), seed | 0, thr, keepScale, n, this.per(n));
  }

  dropoutApply(out: FloatArray, x: FloatArray, p: number, seed: number): void {
    const op = 'dropoutApply';
    const n = x.length;
    const keepScale = p >= 1 ? 0 : 1 / (1 - p);
    this.jobs.dropoutApply(
      this.need(op, 'out', out, n),
      this.ptr(x, op),
      seed | 0,
      dropoutThreshold(p),
      keepScale,
      n,
      this.per(n),
    );
  }

  dropoutBackward(dx: FloatArray, dout: FloatArray, p: number, seed: number): void {
    const op = 'dropoutBackward';
    const n = dx.length;
    const keepScale = p >= 1 ? 0 : 1 / (1 - p);
    this.jobs.dropoutBwd(
      this.ptr(dx, op),
      this.need(op, 'dout', dout, n),
      seed | 0,
      dropoutThreshold(p),
      keepScale,
      n,
      this.per(n),
    );
  }

  // ---- int8 inference ----

  linearInt8(out: FloatArray, x: FloatArray, w: Int8Weights, bias: FloatArray | null, n: number): void {
    const op = 'linearInt8';
    const { rows: oc, cols: c } = w;
    const po = this.need(op, 'out', out, n * oc);
    const px = this.need(op, 'x', x, n * c);
    const pq = this.need(op, 'q', w.q, Math.ceil((oc * c) / 4));
    const ps = this.need(op, 'scales', w.scales, oc);
    const pw = this.need(op, 'rowSums', w.rowSums, oc);
    const pb = bias ? this.need(op, 'bias', bias, oc) : 0;
    // x's rows as 7-bit bytes (n * c) and their scales (n floats), in scratch kept between calls
    const xsBytes = Math.ceil((n * 4) / 64) * 64;
    const pxs = this.scratchInt8.atLeast(xsBytes + n * c);
    const pxq = pxs + xsBytes;
    this.jobs.quantizeRows(pxq, pxs, px, c, n, this.rowsPer(n, c));
    // columns in multiples of 4 (the kernel's row group), split when the work is worth threads
    const per =
      this.pool.threads === 1 || n * c * oc < PAR_MIN_MACS * 4
        ? oc
        : Math.max(4, Math.ceil(oc / (this.pool.threads * 4) / 4) * 4);
    this.jobs.linearInt8(po, pxq, pxs, pq, ps, pw, pb, n, c, oc, per);
  }

  // ---- recurrent cells ----

  lstmCellForward(
    h: FloatArray,
    c: FloatArray,
    act: FloatArray,
    xg: FloatArray,
    hg: FloatArray,
    cPrev: FloatArray,
    n: number,
    hs: number,
  ): void {
    const op = 'lstmCellForward';
    this.jobs.lstmCellFwd(
      this.need(op, 'h', h, n * hs),
      this.need(op, 'c', c, n * hs),
      this.need(op, 'act', act, n * 4 * hs),
      this.need(op, 'xg', xg, n * 4 * hs),
      this.need(op, 'hg', hg, n * 4 * hs),
      this.need(op, 'cPrev', cPrev, n * hs),
      hs,
      n,
      this.rowsPer(n, 4 * hs),
    );
  }

  lstmCellBackward(
    dxg: FloatArray | null,
    dhg: FloatArray | null,
    dcPrev: FloatArray | null,
    dh: FloatArray,
    dc: FloatArray,
    act: FloatArray,
    c: FloatArray,
    cPrev: FloatArray,
    n: number,
    hs: number,
  ): void {
    const op = 'lstmCellBackward';
    this.jobs.lstmCellBwd(
      dxg ? this.need(op, 'dxg', dxg, n * 4 * hs) : 0,
      dhg ? this.need(op, 'dhg', dhg, n * 4 * hs) : 0,
      dcPrev ? this.need(op, 'dcPrev', dcPrev, n * hs) : 0,
      this.need(op, 'dh', dh, n * hs),
      this.need(op, 'dc', dc, n * hs),
      this.need(op, 'act', act, n * 4 * hs),
      this.need(op, 'c', c, n * hs),
      this.need(op, 'cPrev', cPrev, n * hs),
      hs,
      n,
      this.rowsPer(n, 4 * hs),
    );
  }

  gruCellForward(
    h: FloatArray,
    act: FloatArray,
    xg: FloatArray,
    hg: FloatArray,
    hPrev: FloatArray,
    n: number,
    hs: number,
  ): void {
    const op = 'gruCellForward';
    this.jobs.gruCellFwd(
      this.need(op, 'h', h, n * hs),
      this.need(op, 'act', act, n * 3 * hs),
      this.need(op, 'xg', xg, n * 3 * hs),
      this.need(op, 'hg', hg, n * 3 * hs),
      this.need(op, 'hPrev', hPrev, n * hs),
      hs,
      n,
      this.rowsPer(n, 3 * hs),
    );
  }

  gruCellBackward(
    dxg: FloatArray | null,
    dhg: FloatArray | null,
    dhPrev: FloatArray | null,
    dh: FloatArray,
    act: FloatArray,
    hg: FloatArray,
    hPrev: FloatArray,
    n: number,
    hs: number,
  ): void {
    const op = 'gruCellBackward';
    this.jobs.gruCellBwd(
      dxg ? this.need(op, 'dxg', dxg, n * 3 * hs) : 0,
      dhg ? this.need(op, 'dhg', dhg, n * 3 * hs) : 0,
      dhPrev ? this.need(op, 'dhPrev', dhPrev, n * hs) : 0,
      this.need(op, 'dh', dh, n * hs),
      this.need(op, 'act', act, n * 3 * hs),
      this.need(op, 'hg', hg, n * 3 * hs),
      this.need(op, 'hPrev', hPrev, n * hs),
      hs,
      n,
      this.rowsPer(n, 3 * hs),
    );
  }

  // ---- architecture variants (kernels/variants.ts) ----

  rmsNormForward(
    out: FloatArray,
    rstd: FloatArray,
    x: FloatArray,
    weight: FloatArray,
    n: number,
    c: number,
    eps: number,
  ): void {
    const op = 'rmsNormForward';
    this.jobs.rmsnormFwd(
      this.need(op, 'out', out, n * c),
      this.need(op, 'rstd', rstd, n),
      this.need(op, 'x', x, n * c),
      this.need(op, 'weight', weight, c),
      c,
      eps,
      n,
      this.rowsPer(n, c),
    );
  }

  rmsNormBackward(
    dx: FloatArray,
    dweight: FloatArray,
    dout: FloatArray,
    x: FloatArray,
    weight: FloatArray,
    rstd: FloatArray,
    n: number,
    c: number,
  ): void {
    const op = 'rmsNormBackward';
    const pdx = this.need(op, 'dx', dx, n * c);
    const pdw = this.need(op, 'dweight', dweight, c);
    const pdout = this.need(op, 'dout', dout, n * c);
    const px = this.need(op, 'x', x, n * c);
    const pw = this.need(op, 'weight', weight, c);
    const prstd = this.need(op, 'rstd', rstd, n);
    if (n === 0 || c === 0) return;
    // one job, as layerNormBackward: row blocks of dx, then column blocks of dweight
    const rpc = this.rowsPer(n, c);
    const rowChunks = Math.ceil(n / rpc);
    const cpc = this.colsPer(c, n * c);
    const chunks = rowChunks + Math.ceil(c / cpc);
    this.jobs.rmsnormBwd(chunks, rpc < n, pdx, pdw, pdout, px, pw, prstd, c, n, rpc, rowChunks, cpc);
  }

  qkNormForward(
    out: FloatArray,
    rstd: FloatArray,
    qkv: FloatArray,
    n: number,
    c: number,
    nh: number,
    eps: number,
  ): void {
    const op = 'qkNormForward';
    if (c % nh !== 0) throw new TsgptError(`wasm backend: ${op}: C ${c} is not a multiple of NH ${nh}`);
    this.jobs.qknormFwd(
      this.need(op, 'out', out, n * 3 * c),
      this.need(op, 'rstd', rstd, n * 2 * nh),
      this.need(op, 'qkv', qkv, n * 3 * c),
      c,
      nh,
      eps,
      n,
      this.rowsPer(n, 3 * c),
    );
  }

  qkNormBackward(
    dqkv: FloatArray,
    dout: FloatArray,
    out: FloatArray,
    rstd: FloatArray,
    n: number,
    c: number,
    nh: number,
  ): void {
    const op = 'qkNormBackward';
    if (c % nh !== 0) throw new TsgptError(`wasm backend: ${op}: C ${c} is not a multiple of NH ${nh}`);
    this.jobs.qknormBwd(
      this.need(op, 'dqkv', dqkv, n * 3 * c),
      this.need(op, 'dout', dout, n * 3 * c),
      this.need(op, 'out', out, n * 3 * c),
      this.need(op, 'rstd', rstd, n * 2 * nh),
      c,
      nh,
      n,
      this.rowsPer(n, 3 * c),
    );
  }

  ropeForward(
    out: FloatArray,
    qkv: FloatArray,
    cos: FloatArray,
    sin: FloatArray,
    b: number,
    t: number,
    c: number,
    nh: number,
    pos0: number,
  ): void {
    const op = 'ropeForward';
    const half = checkRope(op, c, nh);
    const n = b * t;
    this.jobs.ropeFwd(
      this.need(op, 'out', out, n * 3 * c),
      this.need(op, 'qkv', qkv, n * 3 * c),
      this.need(op, 'cos', cos, (pos0 + t) * half),
      this.need(op, 'sin', sin, (pos0 + t) * half),
      t,
      c,
      nh,
      pos0,
      n,
      this.rowsPer(n, 3 * c),
    );
  }

  ropeBackward(
    dqkv: FloatArray,
    dout: FloatArray,
    cos: FloatArray,
    sin: FloatArray,
    b: number,
    t: number,
    c: number,
    nh: number,
    pos0: number,
  ): void {
    const op = 'ropeBackward';
    const half = checkRope(op, c, nh);
    const n = b * t;
    this.jobs.ropeBwd(
      this.need(op, 'dqkv', dqkv, n * 3 * c),
      this.need(op, 'dout', dout, n * 3 * c),
      this.need(op, 'cos', cos, (pos0 + t) * half),
      this.need(op, 'sin', sin, (pos0 + t) * half),
      t,
      c,
      nh,
      pos0,
      n,
      this.rowsPer(n, 3 * c),
    );
  }

  swigluForward(out: FloatArray, h: FloatArray, n: number, hidden: number): void {
    const op = 'swigluForward';
    this.jobs.swigluFwd(
      this.need(op, 'out', out, n * hidden),
      this.need(op, 'h', h, n * 2 * hidden),
      hidden,
      n,
      this.rowsPer(n, 3 * hidden),
    );
  }

  swigluBackward(dh: FloatArray, dout: FloatArray, h: FloatArray, n: number, hidden: number): void {
    const op = 'swigluBackward';
    this.jobs.swigluBwd(
      this.need(op, 'dh', dh, n * 2 * hidden),
      this.need(op, 'dout', dout, n * hidden),
      this.need(op, 'h', h, n * 2 * hidden),
      hidden,
      n,
      this.rowsPer(n, 3 * hidden),
    );
  }

  // ---- optimizer ----

  adamw(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, p: AdamWParams): void {
    const op = 'adamw';
    const n = param.length;
    this.jobs.adamw(
      this.ptr(param, op),
      this.need(op, 'grad', grad, n),
      this.need(op, 'm', m, n),
      this.need(op, 'v', v, n),
      p.lr,
      p.beta1,
      p.beta2,
      p.eps,
      p.weightDecay,
      1 - p.beta1 ** p.step,
      1 - p.beta2 ** p.step,
      p.gradScale,
      n,
      this.per(n),
    );
  }
}

/** A block of wasm memory kept between calls, grown (at least doubling) when a call needs more. */
class ScratchBlock {
  private ptr = 0;
  private bytes = 0;

  constructor(private readonly allocator: FreeListAllocator) {}

  /** The block's byte pointer, after growing it to at least `bytes`. */
  atLeast(bytes: number): number {
    if (bytes > this.bytes) {
      if (this.bytes > 0) this.allocator.release(this.ptr);
      this.bytes = Math.max(bytes, this.bytes * 2);
      this.ptr = this.allocator.alloc(this.bytes);
    }
    return this.ptr;
  }
}

/** A float32's bit pattern, for fill (one view over the other's bytes). */
const BITS_F32 = new Float32Array(1);
const BITS_I32 = new Int32Array(BITS_F32.buffer);

/** Index scratch of the strided fallbacks, so they allocate nothing per call. */
const MAX_RANK = 16;
const IDX = new Int32Array(MAX_RANK);
const ST = new Float64Array(MAX_RANK);
const SHAPE = new Float64Array(MAX_RANK);

function checkRank(op: string, rank: number): number {
  if (rank > MAX_RANK) throw new TsgptError(`wasm backend: ${op}: rank ${rank} > ${MAX_RANK}`);
  return rank;
}

/**
 * Bytes of one thread's attention scratch (kernels/layers.ts attention_scratch_floats): K^T or V^T
 * packed (hs x T), and three (T x hs) operands packed, in a whole number of cache lines.
 */
export function attentionScratchBytes(t: number, hs: number): number {
  return Math.ceil(((hs * packedWidth(t) + 3 * t * packedWidth(hs)) * 4) / 64) * 64;
}

/**
 * Bytes of one thread's scratch for the attention kernels with dropout
 * (kernels/attention-dropout.ts attention_drop_scratch_floats): attentionScratchBytes', plus the
 * dropped-out probabilities of one head (T x T).
 */
export function attentionDropScratchBytes(t: number, hs: number): number {
  return Math.ceil(((hs * packedWidth(t) + 3 * t * packedWidth(hs) + t * t) * 4) / 64) * 64;
}

/**
 * Bytes of one thread's scratch for the bf16 attention kernels (kernels/attention-bf16.ts
 * attention_bf16_scratch_floats): attentionScratchBytes', plus P, dS and P * M of one head.
 */
export function attentionBf16ScratchBytes(t: number, hs: number): number {
  return Math.ceil(((hs * packedWidth(t) + 3 * t * packedWidth(hs) + 3 * t * t) * 4) / 64) * 64;
}

/** The dropout kernels keep element i iff (hash >>> 8) >= this: ceil(p * 2^24), i.e. u >= p exactly. */
function dropoutThreshold(p: number): number {
  return Math.min(16777216, Math.max(0, Math.ceil(p * 16777216)));
}

/**
 * Bytes of one thread's masked attention scratch (kernels/layers.ts
 * masked_attention_scratch_floats): K^T or V^T packed (hs x Tk), then K (Tk x hs), Q and dO
 * (Tq x hs) packed, in a whole number of cache lines.
 */
export function maskedAttentionScratchBytes(tq: number, tk: number, hs: number): number {
  return Math.ceil(((hs * packedWidth(tk) + (tk + 2 * tq) * packedWidth(hs)) * 4) / 64) * 64;
}

/** f32 columns that packed B occupies: 8-wide panels, a 4-wide last panel for <= 4 leftover columns. */
export function packedWidth(n: number): number {
  const rem = n & 7;
  return (n & ~7) + (rem === 0 ? 0 : rem <= 4 ? 4 : 8);
}

/**
 * Length of the contiguous trailing block that a strided operand repeats: n when it is a full
 * contiguous array, the row length when it is a row broadcast over leading dims (strides 0
 * there, contiguous after), -1 otherwise. Dims of size 1 do not matter.
 */
function rowBroadcastLength(shape: readonly number[], strides: readonly number[]): number {
  let expect = 1;
  let d = shape.length - 1;
  for (; d >= 0; d--) {
    if (shape[d] === 1) continue;
    if (strides[d] !== expect) break;
    expect *= shape[d]!;
  }
  for (; d >= 0; d--) if (shape[d] !== 1 && strides[d] !== 0) return -1;
  return expect;
}

function binaryFn(op: BinaryOp): (x: number, y: number) => number {
  switch (op) {
    case 'add':
      return (x, y) => x + y;
    case 'sub':
      return (x, y) => x - y;
    case 'mul':
      return (x, y) => x * y;
    case 'div':
      return (x, y) => x / y;
  }
}

/** Rotary embeddings need whole heads of an even size: returns half the head size. */
function checkRope(op: string, c: number, nh: number): number {
  if (c % nh !== 0 || (c / nh) % 2 !== 0)
    throw new TsgptError(`wasm backend: ${op}: C ${c} / NH ${nh} must be an even head size`);
  return c / nh / 2;
}

/** Ids index a table of `limit` rows; out-of-range ids would read or write outside it. */
function checkIds(
  op: string,
  name: string,
  ids: Int32Array,
  n: number,
  limit: number,
  allowIgnore: boolean,
): void {
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if ((id < 0 || id >= limit) && !(allowIgnore && id === -1)) {
      throw new TsgptError(`wasm backend: ${op}: ${name}[${i}] = ${id} is outside [0, ${limit})`);
    }
  }
}
