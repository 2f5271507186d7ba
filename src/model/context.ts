/**
 * A context: what one stream of generation owns on a model whose weights others share. A LlamaModel
 * holds the packed weights, the RoPE tables and the kernels (its executor); a LlamaContext holds the
 * per-stream memory a forward writes and the caller reads between forwards:
 *
 *   KV cache      2 · nLayers · (capacity + maxBatch) · kvDim · 4 bytes (committed + staging rows; 2 bytes
 *                 a value with kvType 'f16')
 *   activations   maxBatch · (3·dim + 2·qDim + 2·hiddenDim + vocab) · 4 bytes (x, xb, xb2, q, att, hb, hb2,
 *                 logits rows; and 2·kvDim: the K and V rows before they are stored head by head)
 *   batch         tokens, positions and staged positions (i32 [maxBatch] each), the tree mask (u8 [maxBatch²])
 *
 * `model.createContext({ capacity, maxBatch })` makes one (a Node service: one per user); every
 * context of a model computes with the same weights, and two contexts never see each other's tokens.
 * A LlamaContext is a StepModel: a Generator or ChatSession runs on it (GeneratorOptions.context);
 * by default they run on the model's own context, made at load. A context runs one generation at a
 * time: a second one on it is refused with a ContextBusyError (see src/engine/speculative.ts).
 * Browser-safe; forward allocates nothing.
 */
import { CapacityError, InvalidArgumentError } from '../errors.js';
import type { Runtime } from '../wasm/runtime.js';
import type { ModelConfig } from '../config.js';
import type { AttentionArgs } from '../exec/executor.js';
import { KvCache, type KvType } from './kv-cache.js';
import { contextMemory } from './memory-plan.js';
import type { LlamaModel } from './llama.js';

/** Options of `LlamaModel.createContext`. */
export interface ContextOptions {
  /**
   * KV-cache positions: the longest sequence this context holds (default: the model's default
   * context size, i.e. the load's `capacity`, else min(max_position_embeddings, DEFAULT_CONTEXT)).
   * At most the model's maxSeqLen.
   */
  capacity?: number;
  /** Most rows one forward may take: prompt chunk or draft-tree size (default: the load's maxBatch, 64). */
  maxBatch?: number;
  /** Name prefix of its arena regions (diagnostics; default "<model>.ctx<N>"). */
  name?: string;
  /**
   * What the KV cache stores (default: the load's `kvType`, else 'f32'): 'f16' halves the cache, rounding
   * keys and values as llama.cpp's default cache does (see KvType).
   */
  kvType?: KvType;
}

/** Byte pointers of a context's activation buffers (f32, row-major, maxBatch rows each). @internal */
export interface ContextActivations {
  x: number; // [maxBatch, dim] residual stream
  xb: number; // [maxBatch, dim] normed input
  q: number; // [maxBatch, qDim]
  att: number; // [maxBatch, qDim] attention output
  xb2: number; // [maxBatch, dim] projection output
  hb: number; // [maxBatch, hiddenDim] gate, then the gated activation
  hb2: number; // [maxBatch, hiddenDim] up
  logits: number; // [maxBatch, vocab]
  k: number; // [maxBatch, kvDim] keys, then stored into the cache's head planes (kv_store_f32 / _f16)
  v: number; // [maxBatch, kvDim] values, likewise
}

/** A context's views into the runtime memory (the batch buffers by their getters' names, and the whole memory as f32). */
interface ContextViews {
  readonly tokens: Int32Array; // [maxBatch]
  readonly positions: Int32Array; // [maxBatch]
  readonly stagedPos: Int32Array; // [maxBatch]
  readonly mask: Uint8Array; // [maxBatch, maxBatch]
  readonly logits: Float32Array; // [maxBatch, vocab]
  readonly heap: Float32Array;
}

/**
 * One stream's KV cache, activations and batch buffers over a shared LlamaModel (see the module
 * comment). Fill `tokens`, `positions` (and `mask` for a tree), call `forward`, read `logits`.
 */
export class LlamaContext {
  /** The model whose weights this context computes with. */
  readonly model: LlamaModel;
  readonly rt: Runtime;
  readonly config: ModelConfig;
  /** Name of the context (prefix of its arena regions). */
  readonly name: string;
  /** Most rows one forward may take. */
  readonly maxBatch: number;
  /** This stream's KV cache: capacity committed positions + maxBatch staging rows per layer. */
  readonly cache: KvCache;
  /** Bytes this context took from the runtime memory (KV cache, activations, batch buffers; each region 64-byte aligned). */
  readonly bytes: number;
  /** @internal */
  readonly act: ContextActivations;
  /** @internal i32 [maxBatch] */
  readonly tokensPtr: number;
  /** @internal i32 [maxBatch] */
  readonly positionsPtr: number;
  /** @internal u8 [maxBatch · maxBatch] */
  readonly maskPtr: number;
  /** @internal i32 [maxBatch]: positions of the staged rows of the current staging (sliding windows read them). */
  readonly stagedPosPtr: number;
  /** @internal Reused argument record of the attention calls (no allocation per forward). */
  readonly attArgs: AttentionArgs;

  /** The views into the runtime memory, current as of the last current(). */
  private viewsNow: ContextViews;

  /** @internal Use `LlamaModel.createContext`. */
  constructor(model: LlamaModel, capacity: number, maxBatch: number, name: string, kvType: KvType = 'f32') {
    const c = model.config;
    const rt = model.rt;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new InvalidArgumentError(`${name}: expected maxBatch >= 1, got ${maxBatch}`);
    }
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > c.maxSeqLen) {
      throw new InvalidArgumentError(`${name}: expected 1 <= capacity <= maxSeqLen (${c.maxSeqLen}), got ${capacity}`);
    }
    this.model = model;
    this.rt = rt;
    this.config = c;
    this.name = name;
    this.maxBatch = maxBatch;
    const a = rt.arena;
    const at64 = (top: number) => Math.ceil(top / 64) * 64;
    const before = at64(a.mark());
    const B = maxBatch;
    const f32 = (label: string, count: number) => a.alloc(`${name}.${label}`, count * 4).ptr;
    this.cache = new KvCache(rt, c.nLayers, model.kvDim, capacity, `${name}.kv`, B, kvType, c.nKvHeads);
    const f16 = kvType === 'f16';
    this.act = {
      x: f32('x', B * c.dim),
      xb: f32('xb', B * c.dim),
      q: f32('q', B * model.qDim),
      att: f32('att', B * model.qDim),
      xb2: f32('xb2', B * c.dim),
      hb: f32('hb', B * c.hiddenDim),
      hb2: f32('hb2', B * c.hiddenDim),
      logits: f32('logits', B * c.vocabSize),
      k: f32('k', B * model.kvDim),
      v: f32('v', B * model.kvDim),
    };
    this.tokensPtr = a.alloc(`${name}.tokens`, B * 4).ptr;
    this.positionsPtr = a.alloc(`${name}.positions`, B * 4).ptr;
    this.stagedPosPtr = a.alloc(`${name}.staged_positions`, B * 4).ptr;
    this.maskPtr = a.alloc(`${name}.mask`, B * B).ptr;
    this.bytes = at64(a.mark()) - before;
    this.attArgs = {
      outPtr: 0, qPtr: 0, kPtr: 0, vPtr: 0, maskPtr: 0, posPtr: this.stagedPosPtr, n: 0, m: 0, nHeads: c.nHeads, nKvHeads: c.nKvHeads,
      headDim: c.headDim, cacheLen: 0, scale: 0, softcap: 0, window: 0, f16, headRows: this.cache.planeRows,
    };
    this.viewsNow = this.makeViews();
  }

  /** Bytes a context of `capacity` positions and `maxBatch` rows takes on a model of config `c` (before alignment). */
  static bytesFor(c: ModelConfig, capacity: number, maxBatch: number, kvType: KvType = 'f32'): number {
    const m = contextMemory(c, capacity, maxBatch, kvType);
    return m.kvCache + m.activations;
  }

  /** Batch input, filled by the caller before forward(): token ids [maxBatch]. */
  get tokens(): Int32Array {
    return this.current().tokens;
  }

  /** Batch input: position of each row [maxBatch] (cache.length + depth in a tree). */
  get positions(): Int32Array {
    return this.current().positions;
  }

  /** Batch input: tree mask [n, stagedBefore + n] of the next forward (see forward). */
  get mask(): Uint8Array {
    return this.current().mask;
  }

  /** Logits rows written by the last forward: row r (0-based from `logitsFrom`) at [r·vocab, (r+1)·vocab). */
  get logits(): Float32Array {
    return this.current().logits;
  }

  /** @internal The staged positions [maxBatch] and the whole memory as f32, current views. */
  views(): { readonly stagedPos: Int32Array; readonly heap: Float32Array } {
    return this.current();
  }

  /** Byte pointer of logits row r (for kernels that read logits in place). */
  logitsPtr(r: number): number {
    return this.act.logits + r * this.config.vocabSize * 4;
  }

  /**
   * Run the n rows of the batch buffers through the model's weights, with this context's KV cache
   * (see LlamaModel.forward for the arguments: staged rows, logits rows, tree mask, early exit).
   */
  forward(n: number, logitsFrom = 0, tree = false, stagedBefore = 0, layers = this.config.nLayers): void {
    if (!(n >= 1 && n <= this.maxBatch)) throw new CapacityError(`${this.name}: batch of ${n} rows, expected 1..${this.maxBatch}`);
    this.model.forwardIn(this, n, logitsFrom, tree, stagedBefore, layers);
  }

  /** The views, made anew when the memory has grown since (growing detaches the old ones). */
  private current(): ContextViews {
    if (this.rt.stale(this.viewsNow.heap)) this.viewsNow = this.makeViews();
    return this.viewsNow;
  }

  private makeViews(): ContextViews {
    const rt = this.rt;
    const B = this.maxBatch;
    return {
      tokens: rt.i32(this.tokensPtr, B),
      positions: rt.i32(this.positionsPtr, B),
      stagedPos: rt.i32(this.stagedPosPtr, B),
      mask: rt.u8(this.maskPtr, B * B),
      logits: rt.f32(this.act.logits, B * this.config.vocabSize),
      heap: rt.heapF32,
    };
  }
}
