/**
 * KV cache of one model: per layer a K and a V region of kvDim = heads · headDim values per row (f32, or
 * f16 with `kvType: 'f16'`; keys already rotated by RoPE at their true positions), head-major: each KV
 * head's rows [capacity + stagingRows, headDim] in a plane of their own, so that attention reads one
 * head's keys and values as one contiguous stream (decode at 4096 positions 1.3–1.6× faster than rows
 * holding every head side by side). Rows [0, length) are committed (length ≤
 * capacity); a forward of n rows writes its keys/values to the staged rows [length, length + n)
 * (up to stagingRows past the capacity, so a draft tree fits even when the context is almost
 * full); the caller then keeps all of them
 * (`commit(n)`), a chosen subset in order (`commitRows`, for the accepted path of a draft tree:
 * compaction, no recomputation), or none.
 */
import { CapacityError, InvalidArgumentError } from '../errors.js';
import type { Runtime } from '../wasm/runtime.js';
import { f16ToF32 } from '../weights/f16.js';

/**
 * What a KV cache stores: `f32` (default: keys and values exactly as computed), or `f16` (half the
 * memory, rounded to nearest even as llama.cpp's default f16 cache rounds them; a key or value beyond
 * f16's range, |x| ≥ 65520, fails the forward with a NumericError instead of being stored as Inf).
 */
export type KvType = 'f32' | 'f16';

/** The KV types, as `kvType` options and `--kv-type` take them. */
export const KV_TYPES: readonly KvType[] = ['f32', 'f16'];

/** Bytes of one cached value of a KV type. */
export function kvBytes(type: KvType): number {
  return type === 'f16' ? 2 : 4;
}

/**
 * f32 scratch one attention call needs over `rows` = cacheLen + m cache rows (per thread): the block
 * scores and transposed queries, 4·(rows + headDim), and with an f16 cache the widened keys and values
 * of one KV head, 2·rows·headDim (attention_f16 widens a head once when its queries fill several blocks).
 */
export function attentionScratchFloats(rows: number, headDim: number, kvType: KvType): number {
  return 4 * (rows + headDim) + (kvType === 'f16' ? 2 * rows * headDim : 0);
}

/** A KV type by name; InvalidArgumentError naming `what` for anything else. */
export function resolveKvType(what: string, name: unknown): KvType {
  if (name === 'f32' || name === 'f16') return name;
  throw new InvalidArgumentError(`${what}: expected a KV-cache type (${KV_TYPES.join(' or ')}), got ${typeof name === 'string' ? JSON.stringify(name) : String(name)}`);
}

/**
 * The KV cache of one context: per layer a K and a V region of `heads` planes of [capacity + stagingRows,
 * headDim] values of `kvType` (kPtrs / vPtrs: byte pointers [nLayers]; head g's plane at g · planeBytes);
 * rows [0, length) committed, a forward's rows staged after
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
  /** Bytes of one row of one head's plane: headDim values of kvType. */
  readonly rowBytes: number;
  /** Rows of one head's plane: capacity + stagingRows. */
  readonly planeRows: number;
  /** Bytes of one head's plane (planeRows · rowBytes). */
  readonly planeBytes: number;
  /** Values of one row of one head (kvDim / heads). */
  readonly headDim: number;

  constructor(
    private readonly rt: Runtime,
    readonly nLayers: number,
    readonly kvDim: number,
    /** Most committed rows (the longest sequence this cache can hold). */
    readonly capacity: number,
    name = 'kv',
    /** Extra rows for staging beyond the capacity (a model's maxBatch). */
    readonly stagingRows = 0,
    /** What each value is stored as (see KvType). */
    readonly kvType: KvType = 'f32',
    /** KV heads: planes per region (kvDim a whole multiple of it). */
    readonly heads = 1,
  ) {
    if (!Number.isSafeInteger(heads) || heads < 1 || kvDim % heads !== 0) {
      throw new InvalidArgumentError(`${name}: expected heads >= 1 dividing kvDim ${kvDim}, got ${heads}`);
    }
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError(`${name}: expected a capacity >= 1, got ${capacity}`);
    }
    this.kPtrs = new Int32Array(nLayers);
    this.vPtrs = new Int32Array(nLayers);
    if (!Number.isSafeInteger(stagingRows) || stagingRows < 0) {
      throw new InvalidArgumentError(`${name}: expected stagingRows >= 0, got ${stagingRows}`);
    }
    this.headDim = kvDim / heads;
    this.rowBytes = this.headDim * kvBytes(kvType);
    this.planeRows = capacity + stagingRows;
    this.planeBytes = this.planeRows * this.rowBytes;
    const bytes = heads * this.planeBytes;
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
    // rows moved in f32 units (an even head size makes an f16 row a whole number of them), else bytes
    const unit = this.rowBytes % 4 === 0 ? 4 : 1;
    const heap = unit === 4 ? this.rt.heapF32 : this.rt.u8(0, this.rt.memory.buffer.byteLength);
    const w = this.rowBytes / unit;
    const plane = this.planeBytes / unit;
    let prev = -1;
    for (let j = 0; j < count; j++) {
      const r = rows[j]!;
      if (r <= prev) throw new InvalidArgumentError(`kv cache: commitRows expects increasing rows, got ${r} after ${prev}`);
      prev = r;
      if (r === j) continue;
      const src = (this.length + r) * w;
      const dst = (this.length + j) * w;
      for (let l = 0; l < this.nLayers; l++) {
        for (let g = 0; g < this.heads; g++) {
          const k = this.kPtrs[l]! / unit + g * plane;
          const v = this.vPtrs[l]! / unit + g * plane;
          heap.copyWithin(k + dst, k + src, k + src + w);
          heap.copyWithin(v + dst, v + src, v + src + w);
        }
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

  /** Row `pos` of layer `layer`, every head's values side by side ([kvDim] f32; f16 values widened exactly; tests and diagnostics; allocates). */
  row(kind: 'k' | 'v', layer: number, pos: number): Float32Array {
    const out = new Float32Array(this.kvDim);
    const hd = this.headDim;
    for (let g = 0; g < this.heads; g++) {
      const at = (kind === 'k' ? this.kPtrs : this.vPtrs)[layer]! + g * this.planeBytes + pos * this.rowBytes;
      if (this.kvType === 'f32') out.set(this.rt.f32(at, hd), g * hd);
      else {
        const bits = this.rt.u16(at, hd);
        for (let i = 0; i < hd; i++) out[g * hd + i] = f16ToF32(bits[i]!);
      }
    }
    return out;
  }
}
