/**
 * KV cache of one model: per layer a K and a V region [capacity + stagingRows, kvDim] (f32, keys
 * already rotated by RoPE at their true positions). Rows [0, length) are committed (length ≤
 * capacity); a forward of n rows writes its keys/values to the staged rows [length, length + n)
 * (up to stagingRows past the capacity, so a draft tree fits even when the context is almost
 * full); the caller then keeps all of them
 * (`commit(n)`), a chosen subset in order (`commitRows`, for the accepted path of a draft tree:
 * compaction, no recomputation), or none.
 */
import { CapacityError, InvalidArgumentError } from '../errors.js';
import type { Runtime } from '../wasm/runtime.js';

/**
 * The KV cache of one context: per layer a K and a V region of [capacity + stagingRows, kvDim] f32
 * (kPtrs / vPtrs: byte pointers [nLayers]); rows [0, length) committed, a forward's rows staged after
 * them until `commit(n)` keeps them all, `commitRows(rows)` keeps an accepted path (compacting it
 * in place), or `length` is left as it was (rejected).
 */
export class KvCache {
  /** Byte pointers of each layer's K region. */
  readonly kPtrs: Int32Array; // [nLayers]
  /** Byte pointers of each layer's V region. */
  readonly vPtrs: Int32Array; // [nLayers]
  /** Committed rows. */
  length = 0;

  constructor(
    private readonly rt: Runtime,
    readonly nLayers: number,
    readonly kvDim: number,
    /** Most committed rows (the longest sequence this cache can hold). */
    readonly capacity: number,
    name = 'kv',
    /** Extra rows for staging beyond the capacity (a model's maxBatch). */
    readonly stagingRows = 0,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError(`${name}: expected a capacity >= 1, got ${capacity}`);
    }
    this.kPtrs = new Int32Array(nLayers);
    this.vPtrs = new Int32Array(nLayers);
    if (!Number.isSafeInteger(stagingRows) || stagingRows < 0) {
      throw new InvalidArgumentError(`${name}: expected stagingRows >= 0, got ${stagingRows}`);
    }
    const bytes = (capacity + stagingRows) * kvDim * 4;
    for (let l = 0; l < nLayers; l++) {
      this.kPtrs[l] = rt.arena.alloc(`${name}.k.${l}`, bytes).ptr;
      this.vPtrs[l] = rt.arena.alloc(`${name}.v.${l}`, bytes).ptr;
    }
  }

  /** Rows still free for staging. */
  get free(): number {
    return this.capacity - this.length;
  }

  /** Throw unless n rows can be staged after the committed ones. */
  reserve(n: number): void {
    if (this.length + n > this.capacity + this.stagingRows) {
      throw new CapacityError(
        `kv cache: ${n} staged rows after ${this.length} committed exceed the ${this.capacity + this.stagingRows} rows (capacity ${this.capacity} + staging ${this.stagingRows})`,
      );
    }
  }

  private checkCommit(n: number): void {
    if (this.length + n > this.capacity) {
      throw new CapacityError(`kv cache: committing ${n} rows after ${this.length} exceeds the capacity of ${this.capacity} positions`);
    }
  }

  /** Keep the first n staged rows (plain decoding and prompt prefill). */
  commit(n: number): void {
    this.checkCommit(n);
    this.length += n;
  }

  /**
   * Keep staged rows rows[0..count) (indices relative to the staged block, strictly increasing),
   * moved to [length, length + count) in that order; the other staged rows are dropped.
   */
  commitRows(rows: Int32Array, count: number): void {
    this.checkCommit(count);
    const heap = this.view();
    const w = this.kvDim;
    let prev = -1;
    for (let j = 0; j < count; j++) {
      const r = rows[j]!;
      if (r <= prev) throw new InvalidArgumentError(`kv cache: commitRows expects increasing rows, got ${r} after ${prev}`);
      prev = r;
      if (r === j) continue;
      const src = (this.length + r) * w;
      const dst = (this.length + j) * w;
      for (let l = 0; l < this.nLayers; l++) {
        const k = this.kPtrs[l]! >>> 2;
        const v = this.vPtrs[l]! >>> 2;
        heap.copyWithin(k + dst, k + src, k + src + w);
        heap.copyWithin(v + dst, v + src, v + src + w);
      }
    }
    this.length += count;
  }

  /** Forget everything after the first `length` committed rows. */
  truncate(length: number): void {
    if (!Number.isSafeInteger(length) || length < 0 || length > this.length) {
      throw new InvalidArgumentError(`kv cache: truncate expects 0 <= length <= ${this.length}, got ${length}`);
    }
    this.length = length;
  }

  /** Copy of committed row `pos` of layer `layer` (tests and diagnostics; allocates). */
  row(kind: 'k' | 'v', layer: number, pos: number): Float32Array {
    const base = (kind === 'k' ? this.kPtrs : this.vPtrs)[layer]! >>> 2;
    return this.view().slice(base + pos * this.kvDim, base + (pos + 1) * this.kvDim);
  }

  private view(): Float32Array {
    return this.rt.heapF32;
  }
}
