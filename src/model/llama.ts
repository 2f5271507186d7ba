/**
 * Llama-family forward pass over the WASM kernels (llama2.c's layer loop, batched), with the
 * variations of every supported architecture as config switches (src/config.ts; [·] = optional):
 *
 *   x = embed(tokens) [· embedScale]                               // [n, dim]; Gemma: √dim
 *   for each layer:
 *     xb = rmsnorm(x)·w_att;  q = xb·Wqᵀ [+ bq];  k, v = xb·Wkᵀ [+ bk], xb·Wvᵀ [+ bv]  → staged KV rows
 *     [q, k = per-head rmsnorm(q)·w_qn, rmsnorm(k)·w_kn]           // Qwen3, Gemma-3
 *     rope(q, k) at the rows' positions (rotate-half; the layer's table: global or local, scaled or not)
 *     o = attention(q, committed KV + allowed staged rows)        // causal or tree mask; scale,
 *                                                                 // [soft-cap], [sliding window]
 *     o = o·Woᵀ [+ bo];  [o = rmsnorm(o)·w_post_att];  x += o     // Gemma's post norms
 *     xb = rmsnorm(x)·w_ffn;  f = (act(xb·Wgᵀ [+ bg]) ⊙ (xb·Wuᵀ [+ bu]))·Wdᵀ [+ bd]   // act: silu | gelu_tanh
 *     [f = rmsnorm(f)·w_post_ffn];  x += f
 *   logits = rmsnorm(x)·w_final · Eᵀ [→ cap·tanh(logits/cap)]    // only the rows asked for
 *
 * Weights come by role from a RoleReader (the tensor-role table decides names, shapes and transforms,
 * e.g. Gemma's (1 + w) norms); which roles a model has, and so which steps run, follows the config.
 * One forward takes a batch of n ≤ maxBatch tokens at arbitrary positions: a prompt (causal), one
 * decode token, or a draft tree (mask). Memory (weights, KV cache, activations, batch buffers, RoPE
 * tables) is planned once at load; forward allocates nothing.
 */
import { checkModelConfig, defaultAttnScale, isSlidingLayer, kvDim as kvDimOf, type ModelConfig } from '../config.js';
import { CapacityError, InvalidArgumentError, ShapeError } from '../errors.js';
import type { Runtime } from '../wasm/runtime.js';
import { KvCache } from './kv-cache.js';
import {
  linearInputKind, packLinearFromBf16Bits, packLinearFromF32, packLinearFromQ8Planar, packedBytes, type LinearDtype, type PackedLinear,
} from '../kernels/linear.js';
import { modelRoles, roleShape, type LayerRole, type RoleReader, type TensorRole } from '../weights/llama-tensors.js';
import { SerialExecutor, type AttentionArgs, type Executor } from './executor.js';
import { fillRopeTablesFrom, ropeFrequencies } from '../kernels/rope.js';

/**
 * Weight type of the linear layers (every projection and lm_head; the embedding used for the token
 * gather stays f32): f32; bf16 (2 bytes/weight: bits kept from BF16 checkpoints, rounded to nearest
 * even from f32 ones, and from f16 ones, which is lossy: 10 → 7 mantissa bits); int8 (q8: 8.5
 * bits/weight, symmetric int8 with an f16 scale per row per 32 columns, activations quantised to int8
 * per call (W8A8, as llama.cpp's q8_0); GGUF Q8_0 tensors kept as stored); int4 (q4: 4.5 bits/weight,
 * same scheme with 4-bit weights, W4A8; lossy, meant for self-drafting). See src/kernels/linear.ts.
 */
export type WeightDtype = 'f32' | 'bf16' | 'int8' | 'int4';

const LINEAR_DTYPE_OF: Readonly<Record<WeightDtype, LinearDtype>> = { f32: 'f32', bf16: 'bf16', int8: 'q8', int4: 'q4' };

export interface LlamaLoadOptions {
  /** Most rows one forward may take (prompt chunk or tree size). Default 64. */
  maxBatch?: number;
  /** KV cache positions. Default config.maxSeqLen. */
  capacity?: number;
  /** Name prefix for arena regions (diagnostics). */
  name?: string;
  /** How kernels run (serial by default; a threaded executor shares the runtime memory). */
  executor?: Executor;
  /** Weight type of the linear layers and lm_head (default f32; see WeightDtype). */
  dtype?: WeightDtype;
}

type Linear = PackedLinear;

/** One layer's weights in the runtime memory (0: the model has no such tensor). */
interface LayerPtrs {
  rmsAtt: number; // f32 [dim]
  wq: Linear;
  wk: Linear;
  wv: Linear;
  bq: number; // f32 [qDim]
  bk: number; // f32 [kvDim]
  bv: number; // f32 [kvDim]
  qNorm: number; // f32 [headDim]
  kNorm: number; // f32 [headDim]
  wo: Linear;
  bo: number; // f32 [dim]
  postAtt: number; // f32 [dim]
  rmsFfn: number; // f32 [dim]
  w1: Linear; // gate
  w3: Linear; // up
  w2: Linear; // down
  b1: number; // f32 [hiddenDim]
  b3: number; // f32 [hiddenDim]
  b2: number; // f32 [dim]
  postFfn: number; // f32 [dim]
  /** RoPE tables of this layer (the local ones on Gemma-3's sliding layers). */
  cos: number;
  sin: number;
  /** Sliding window of this layer (0: full attention). */
  window: number;
}

export class LlamaModel {
  readonly cache: KvCache;
  readonly maxBatch: number;
  readonly qDim: number;
  readonly kvDim: number;
  /** Runs the matmuls and attention (one thread or many). */
  readonly exec: Executor;
  /** Weight type of the linear layers. */
  readonly dtype: WeightDtype;
  /** Whether the linear layers read x quantised (q8/q4 weights): then x is prepared once per shared use. */
  private readonly quantisedInput: boolean;

  private tokensView: Int32Array; // [maxBatch]
  private positionsView: Int32Array; // [maxBatch]
  private maskView: Uint8Array; // [maxBatch · maxBatch]
  private stagedPosView: Int32Array; // [maxBatch]

  private readonly layers: LayerPtrs[] = [];
  private readonly embedPtr: number; // f32 [vocab, dim] row-major (for the gather)
  private readonly lmHead: Linear;
  private readonly rmsFinal: number;
  /** RoPE tables, f32 [capacity, headDim/2] each: global (every layer) and local (Gemma-3's sliding layers, or 0). */
  private readonly rope: { cos: number; sin: number; localCos: number; localSin: number };
  private readonly capacity: number;
  private readonly tokensPtr: number;
  private readonly positionsPtr: number;
  private readonly maskPtr: number;
  /** i32 [maxBatch]: positions of the staged rows (for sliding windows), row j of the current staging. */
  private readonly stagedPosPtr: number;
  private readonly act: {
    x: number; // [maxBatch, dim] residual stream
    xb: number; // [maxBatch, dim] normed input
    q: number; // [maxBatch, qDim]
    att: number; // [maxBatch, qDim] attention output
    xb2: number; // [maxBatch, dim] projection output
    hb: number; // [maxBatch, hiddenDim] gate, then the gated activation
    hb2: number; // [maxBatch, hiddenDim] up
    logits: number; // [maxBatch, vocab]
  };
  /** Reused argument record for the attention calls (no allocation per forward). */
  private readonly attArgs: AttentionArgs;
  /** The config's switches, resolved once (see ModelConfig for the defaults). */
  private readonly spec: { embedScale: number; finalSoftcap: number; gelu: boolean; postNorms: boolean; qkNorm: boolean };
  private heap: Float32Array;
  private logitsView: Float32Array;
  private epoch: number;
  private loaded = false;
  /** The arena top right after this model planned its memory and load staging. */
  private plannedTop = 0;

  private constructor(
    readonly rt: Runtime,
    readonly config: ModelConfig,
    options: LlamaLoadOptions,
  ) {
    const c = config;
    const name = options.name ?? 'model';
    checkModelConfig(c, name);
    this.maxBatch = options.maxBatch ?? 64;
    const capacity = options.capacity ?? c.maxSeqLen;
    if (!Number.isSafeInteger(this.maxBatch) || this.maxBatch < 1) {
      throw new InvalidArgumentError(`${name}: expected maxBatch >= 1, got ${this.maxBatch}`);
    }
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > c.maxSeqLen) {
      throw new InvalidArgumentError(`${name}: expected 1 <= capacity <= maxSeqLen (${c.maxSeqLen}), got ${capacity}`);
    }
    if (c.headDim % 2 !== 0) throw new ShapeError(`${name}: RoPE needs an even head size, got ${c.headDim}`);
    this.dtype = options.dtype ?? 'f32';
    if (!Object.hasOwn(LINEAR_DTYPE_OF, this.dtype)) {
      throw new InvalidArgumentError(`${name}: expected dtype f32, bf16, int8 or int4, got ${JSON.stringify(this.dtype)}`);
    }
    const dtype = LINEAR_DTYPE_OF[this.dtype];
    this.capacity = capacity;
    this.qDim = c.nHeads * c.headDim;
    this.kvDim = kvDimOf(c);
    const a = rt.arena;
    const f32 = (label: string, count: number) => a.alloc(`${name}.${label}`, count * 4).ptr;
    const linear = (label: string, rows: number, cols: number): Linear => {
      const bytes = packedBytes(dtype, rows, cols);
      return { ptr: a.alloc(`${name}.${label}`, bytes).ptr, rows, cols, bytes, dtype };
    };
    // which optional tensors this model has: the tensor-role table's answer for this config
    const roles = new Set(modelRoles(c).filter((r) => r.startsWith('layers.0.')).map((r) => r.slice('layers.0.'.length) as LayerRole));
    const opt = (role: LayerRole, label: string, count: number) => (roles.has(role) ? f32(label, count) : 0);

    this.embedPtr = f32('embed', c.vocabSize * c.dim);
    const half = c.headDim / 2;
    const local = c.localRopeTheta !== undefined && (c.slidingWindow ?? 0) > 0;
    this.rope = {
      cos: f32('rope.cos', capacity * half),
      sin: f32('rope.sin', capacity * half),
      localCos: local ? f32('rope.local_cos', capacity * half) : 0,
      localSin: local ? f32('rope.local_sin', capacity * half) : 0,
    };
    for (let l = 0; l < c.nLayers; l++) {
      const sliding = isSlidingLayer(c, l);
      this.layers.push({
        rmsAtt: f32(`l${l}.rms_att`, c.dim),
        wq: linear(`l${l}.wq`, this.qDim, c.dim),
        wk: linear(`l${l}.wk`, this.kvDim, c.dim),
        wv: linear(`l${l}.wv`, this.kvDim, c.dim),
        bq: opt('bq', `l${l}.bq`, this.qDim),
        bk: opt('bk', `l${l}.bk`, this.kvDim),
        bv: opt('bv', `l${l}.bv`, this.kvDim),
        qNorm: opt('qNorm', `l${l}.q_norm`, c.headDim),
        kNorm: opt('kNorm', `l${l}.k_norm`, c.headDim),
        wo: linear(`l${l}.wo`, c.dim, this.qDim),
        bo: opt('bo', `l${l}.bo`, c.dim),
        postAtt: opt('attnPostNorm', `l${l}.post_att`, c.dim),
        rmsFfn: f32(`l${l}.rms_ffn`, c.dim),
        w1: linear(`l${l}.w1`, c.hiddenDim, c.dim),
        w3: linear(`l${l}.w3`, c.hiddenDim, c.dim),
        w2: linear(`l${l}.w2`, c.dim, c.hiddenDim),
        b1: opt('bGate', `l${l}.b1`, c.hiddenDim),
        b3: opt('bUp', `l${l}.b3`, c.hiddenDim),
        b2: opt('bDown', `l${l}.b2`, c.dim),
        postFfn: opt('ffnPostNorm', `l${l}.post_ffn`, c.dim),
        cos: sliding && local ? this.rope.localCos : this.rope.cos,
        sin: sliding && local ? this.rope.localSin : this.rope.sin,
        window: sliding ? c.slidingWindow! : 0,
      });
    }
    this.rmsFinal = f32('rms_final', c.dim);
    this.lmHead = linear('lm_head', c.vocabSize, c.dim);
    this.cache = new KvCache(rt, c.nLayers, this.kvDim, capacity, `${name}.kv`, this.maxBatch);
    const B = this.maxBatch;
    this.act = {
      x: f32('x', B * c.dim),
      xb: f32('xb', B * c.dim),
      q: f32('q', B * this.qDim),
      att: f32('att', B * this.qDim),
      xb2: f32('xb2', B * c.dim),
      hb: f32('hb', B * c.hiddenDim),
      hb2: f32('hb2', B * c.hiddenDim),
      logits: f32('logits', B * c.vocabSize),
    };
    this.exec = options.executor ?? new SerialExecutor(rt);
    if (this.exec.rt !== rt) throw new InvalidArgumentError(`${name}: the executor belongs to another runtime`);
    this.exec.reserveAttention(4 * (capacity + B + c.headDim)); // attention_f32 scratch: 4·(cacheLen + m + headDim) f32, cacheLen + m ≤ capacity + B
    this.quantisedInput = linearInputKind(dtype) !== 'f32';
    if (this.quantisedInput) this.exec.reserveLinearInput(B, Math.max(c.dim, this.qDim, c.hiddenDim));
    this.tokensPtr = a.alloc(`${name}.tokens`, B * 4).ptr;
    this.positionsPtr = a.alloc(`${name}.positions`, B * 4).ptr;
    this.stagedPosPtr = a.alloc(`${name}.staged_positions`, B * 4).ptr;
    this.maskPtr = a.alloc(`${name}.mask`, B * B).ptr;
    this.tokensView = rt.i32(this.tokensPtr, B);
    this.positionsView = rt.i32(this.positionsPtr, B);
    this.stagedPosView = rt.i32(this.stagedPosPtr, B);
    this.maskView = rt.u8(this.maskPtr, B * B);
    this.attArgs = {
      outPtr: 0, qPtr: 0, kPtr: 0, vPtr: 0, maskPtr: 0, posPtr: this.stagedPosPtr, n: 0, m: 0, nHeads: c.nHeads, nKvHeads: c.nKvHeads,
      headDim: c.headDim, cacheLen: 0, scale: c.attnScale ?? defaultAttnScale(c.headDim), softcap: c.attnSoftcap ?? 0, window: 0,
    };
    this.spec = {
      embedScale: c.embedScale ?? 1,
      finalSoftcap: c.finalSoftcap ?? 0,
      gelu: c.activation === 'gelu_tanh',
      postNorms: c.postNorms === true,
      qkNorm: c.qkNorm === true,
    };
    this.heap = new Float32Array(rt.memory.buffer);
    this.logitsView = rt.f32(this.act.logits, B * c.vocabSize);
    this.epoch = a.epoch;
  }

  /**
   * Plan the model's memory in `rt` and load its weights from `reader` by role (packing every matrix;
   * see src/weights/llama-tensors.ts for the roles). Tied embeddings use the embedding as the output head.
   */
  static async load(rt: Runtime, config: ModelConfig, reader: RoleReader, options: LlamaLoadOptions = {}): Promise<LlamaModel> {
    // Loads on one runtime run one at a time (Arena.exclusive). A failed load gives back everything
    // it reserved: weights, cache, activations, staging and executor scratch (executors fall back to
    // their earlier scratch). The constructor allocates synchronously, so when it throws everything
    // since `mark` is this load's; after it, only if nothing else was allocated during the reads.
    const arena = rt.arena;
    return arena.exclusive(async () => {
      const mark = arena.mark();
      let m: LlamaModel;
      try {
        m = new LlamaModel(rt, config, options);
      } catch (e) {
        arena.release(mark);
        throw e;
      }
      try {
        await m.loadWeights(reader);
      } catch (e) {
        arena.releaseIfTop(mark, m.plannedTop);
        throw e;
      }
      return m;
    });
  }

  private async loadWeights(reader: RoleReader): Promise<void> {
    const c = this.config;
    const rt = this.rt;
    const check = (role: TensorRole) => {
      const want = roleShape(c, role);
      const got = reader.shape(role);
      if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
        throw new ShapeError(`${role}: expected shape [${want}], got [${got}]`);
      }
      return want;
    };
    // Staging for one row-major matrix at a time; released after loading.
    const largest = Math.max(c.vocabSize * c.dim, c.hiddenDim * c.dim, this.qDim * c.dim, c.dim * c.dim);
    const mark = rt.arena.mark();
    const staging = rt.arena.alloc('load.staging', largest * 4);
    this.plannedTop = rt.arena.mark();
    const vec = async (role: TensorRole, ptr: number) => {
      const [count] = check(role) as [number];
      await reader.readF32(role, rt.f32(ptr, count));
    };
    // One matrix at a time through the staging region: BF16 bits kept for bf16, Q8_0 blocks kept for
    // int8, else f32 values packed (rounded / quantised) into the linear's dtype.
    const mat = async (role: TensorRole, lin: Linear) => {
      check(role);
      const count = lin.rows * lin.cols;
      const stored = reader.dtype?.(role);
      if (lin.dtype === 'bf16' && stored === 'BF16' && reader.readBf16) {
        await reader.readBf16(role, new Uint16Array(rt.memory.buffer, staging.ptr, count));
        packLinearFromBf16Bits(rt.k, lin, staging.ptr, role);
      } else if (lin.dtype === 'q8' && stored === 'Q8_0' && reader.readQ8_0) {
        const scalesPtr = staging.ptr; // f32 [rows, cols/32], then i8 [rows, cols]: 1.125 bytes per weight
        const scaleCount = count / 32;
        const qsPtr = scalesPtr + scaleCount * 4;
        await reader.readQ8_0(role, rt.f32(scalesPtr, scaleCount), new Int8Array(rt.memory.buffer, qsPtr, count));
        packLinearFromQ8Planar(rt.k, lin, scalesPtr, qsPtr, role);
      } else {
        await reader.readF32(role, rt.f32(staging.ptr, count));
        packLinearFromF32(rt.k, lin, staging.ptr, role);
      }
    };
    let freqFactors: Float32Array | undefined;
    // every role the table gives this config, in its load order
    for (const role of modelRoles(c)) {
      if (role === 'embed') {
        check('embed');
        await reader.readF32('embed', rt.f32(this.embedPtr, c.vocabSize * c.dim));
      } else if (role === 'ropeFreqs') {
        const [count] = check(role) as [number];
        freqFactors = new Float32Array(count);
        await reader.readF32(role, freqFactors);
      } else if (role === 'norm') {
        await vec('norm', this.rmsFinal);
      } else if (role === 'lmHead') {
        await mat('lmHead', this.lmHead);
      } else {
        const [, l, r] = role.split('.') as [string, string, LayerRole];
        const L = this.layers[Number(l)]!;
        const target: Record<LayerRole, number | Linear> = {
          attnNorm: L.rmsAtt, wq: L.wq, wk: L.wk, wv: L.wv, bq: L.bq, bk: L.bk, bv: L.bv, qNorm: L.qNorm, kNorm: L.kNorm,
          wo: L.wo, bo: L.bo, attnPostNorm: L.postAtt, ffnNorm: L.rmsFfn, wGate: L.w1, wUp: L.w3, wDown: L.w2,
          bGate: L.b1, bUp: L.b3, bDown: L.b2, ffnPostNorm: L.postFfn,
        };
        const t = target[r];
        if (typeof t === 'number') await vec(role, t);
        else await mat(role, t);
      }
    }
    if (c.tiedEmbeddings && !(this.lmHead.dtype === 'q8' && reader.dtype?.('embed') === 'Q8_0' && reader.readQ8_0)) {
      packLinearFromF32(rt.k, this.lmHead, this.embedPtr, 'embed');
    } else if (c.tiedEmbeddings) {
      await mat('embed', this.lmHead); // a Q8_0 embedding becomes the int8 head as stored
    }
    rt.arena.releaseIfTop(mark, this.plannedTop);
    this.fillRope(freqFactors);
    this.loaded = true;
  }

  /** RoPE tables: the global one (scaled as the config says), and the local one of Gemma-3's sliding layers (unscaled). */
  private fillRope(freqFactors: Float32Array | undefined): void {
    const c = this.config;
    const count = this.capacity * (c.headDim / 2);
    const global = ropeFrequencies(c.ropeTheta, c.headDim, c.ropeScaling, freqFactors);
    fillRopeTablesFrom(this.rt.f32(this.rope.cos, count), this.rt.f32(this.rope.sin, count), global, this.capacity);
    if (this.rope.localCos !== 0) {
      const local = ropeFrequencies(c.localRopeTheta!, c.headDim);
      fillRopeTablesFrom(this.rt.f32(this.rope.localCos, count), this.rt.f32(this.rope.localSin, count), local, this.capacity);
    }
  }

  /** Batch input, filled by the caller before forward(): token ids [maxBatch]. Re-read after loading other models. */
  get tokens(): Int32Array {
    this.refresh();
    return this.tokensView;
  }

  /** Batch input: position of each row [maxBatch] (cache.length + depth in a tree). */
  get positions(): Int32Array {
    this.refresh();
    return this.positionsView;
  }

  /** Batch input: tree mask [n, stagedBefore + n] of the next forward (see forward). */
  get mask(): Uint8Array {
    this.refresh();
    return this.maskView;
  }

  /** Logits rows written by the last forward: row r (0-based from `logitsFrom`) at [r·vocab, (r+1)·vocab). */
  get logits(): Float32Array {
    this.refresh();
    return this.logitsView;
  }

  /** Byte pointer of logits row r (for kernels that read logits in place). */
  logitsPtr(r: number): number {
    return this.act.logits + r * this.config.vocabSize * 4;
  }

  /**
   * Run the n rows of the batch buffers (tokens, positions and, with `tree`, mask) through the model.
   * Keys/values go to the staged cache rows [cache.length + stagedBefore, … + n): `stagedBefore`
   * rows staged by earlier calls (upper levels of a draft tree) stay in place and can be attended.
   * Nothing is committed. Logits are computed for rows [logitsFrom, n) into logits rows [0, n − logitsFrom).
   * Without `tree`, row i attends to the committed cache and staged rows j ≤ stagedBefore + i
   * (positions are the caller's; for a prompt they are cache.length + i). With `tree`, the mask is
   * [n, stagedBefore + n]: mask[i·(stagedBefore + n) + j] = 1 iff row i may attend staged row j.
   * `layers` < nLayers runs only the first layers then the final norm and head: the early-exit
   * draft model (its keys/values for those layers equal the full model's, so it shares the cache).
   */
  forward(n: number, logitsFrom = 0, tree = false, stagedBefore = 0, layers = this.config.nLayers): void {
    const c = this.config;
    if (!this.loaded) throw new InvalidArgumentError('model: forward before load');
    if (!(n >= 1 && n <= this.maxBatch)) throw new CapacityError(`model: batch of ${n} rows, expected 1..${this.maxBatch}`);
    if (!(logitsFrom >= 0 && logitsFrom <= n)) throw new InvalidArgumentError(`model: logitsFrom ${logitsFrom} outside [0, ${n}]`);
    if (!(layers >= 1 && layers <= c.nLayers)) throw new InvalidArgumentError(`model: layers ${layers} outside [1, ${c.nLayers}]`);
    if (!(stagedBefore >= 0 && stagedBefore + n <= this.maxBatch)) {
      throw new CapacityError(`model: ${stagedBefore} staged + ${n} new rows exceed the batch capacity ${this.maxBatch}`);
    }
    this.cache.reserve(stagedBefore + n);
    const capacity = this.cache.capacity;
    this.refresh();
    const tokens = this.tokensView;
    const positions = this.positionsView;
    const stagedPos = this.stagedPosView;
    for (let i = 0; i < n; i++) {
      const t = tokens[i]!;
      const p = positions[i]!;
      if (!(t >= 0 && t < c.vocabSize)) throw new InvalidArgumentError(`model: token ${t} at row ${i} outside [0, ${c.vocabSize})`);
      if (!(p >= 0 && p < capacity)) throw new CapacityError(`model: position ${p} at row ${i} outside [0, ${capacity})`);
      stagedPos[stagedBefore + i] = p; // staged row stagedBefore + i sits at position p (sliding windows read it)
    }
    const k = this.rt.k;
    const heap = this.heap;
    const { dim, hiddenDim, nHeads, nKvHeads, headDim, normEps } = c;
    const qDim = this.qDim;
    const kvDim = this.kvDim;
    const A = this.act;
    const S = this.spec;
    const committed = this.cache.length;
    const slot0 = committed + stagedBefore;
    const m = stagedBefore + n;
    const maskPtr = tree ? this.maskPtr : 0;
    const ex = this.exec;
    const quantised = this.quantisedInput;
    const att = this.attArgs;
    att.outPtr = A.att;
    att.qPtr = A.q;
    att.maskPtr = maskPtr;
    att.n = n;
    att.m = m;
    att.cacheLen = committed;

    const emb = this.embedPtr >>> 2;
    const x = A.x >>> 2;
    for (let i = 0; i < n; i++) {
      const src = emb + tokens[i]! * dim;
      heap.copyWithin(x + i * dim, src, src + dim);
    }
    if (S.embedScale !== 1) k.scale_f32(A.x, A.x, n * dim, S.embedScale);
    for (let l = 0; l < layers; l++) {
      const L = this.layers[l]!;
      const kRows = this.cache.kPtrs[l]! + slot0 * kvDim * 4;
      const vRows = this.cache.vPtrs[l]! + slot0 * kvDim * 4;
      k.rmsnorm_f32(A.xb, A.x, L.rmsAtt, n, dim, normEps);
      // q8/q4 weights read x quantised: do it once for the three projections that share it
      let prep = quantised ? ex.prepareInput(A.xb, n, dim) : 0;
      ex.linear(L.wq, A.q, qDim, A.xb, n, prep);
      ex.linear(L.wk, kRows, kvDim, A.xb, n, prep);
      ex.linear(L.wv, vRows, kvDim, A.xb, n, prep);
      if (L.bq !== 0) {
        k.add_bias_f32(A.q, L.bq, n, qDim);
        k.add_bias_f32(kRows, L.bk, n, kvDim);
        k.add_bias_f32(vRows, L.bv, n, kvDim);
      }
      if (S.qkNorm) {
        // per-head RMSNorm: rows of [n·heads, headDim], one [headDim] weight
        k.rmsnorm_f32(A.q, A.q, L.qNorm, n * nHeads, headDim, normEps);
        k.rmsnorm_f32(kRows, kRows, L.kNorm, n * nKvHeads, headDim, normEps);
      }
      k.rope_f32(A.q, qDim, n, nHeads, headDim, this.positionsPtr, L.cos, L.sin);
      k.rope_f32(kRows, kvDim, n, nKvHeads, headDim, this.positionsPtr, L.cos, L.sin);
      att.kPtr = this.cache.kPtrs[l]!;
      att.vPtr = this.cache.vPtrs[l]!;
      att.window = L.window;
      ex.attention(att);
      ex.linear(L.wo, A.xb2, dim, A.att, n);
      if (L.bo !== 0) k.add_bias_f32(A.xb2, L.bo, n, dim);
      if (S.postNorms) k.rmsnorm_f32(A.xb2, A.xb2, L.postAtt, n, dim, normEps);
      k.add_f32(A.x, A.x, A.xb2, n * dim);
      k.rmsnorm_f32(A.xb, A.x, L.rmsFfn, n, dim, normEps);
      prep = quantised ? ex.prepareInput(A.xb, n, dim) : 0;
      ex.linear(L.w1, A.hb, hiddenDim, A.xb, n, prep);
      ex.linear(L.w3, A.hb2, hiddenDim, A.xb, n, prep);
      if (L.b1 !== 0) {
        k.add_bias_f32(A.hb, L.b1, n, hiddenDim);
        k.add_bias_f32(A.hb2, L.b3, n, hiddenDim);
      }
      if (S.gelu) k.geglu_tanh_f32(A.hb, A.hb, A.hb2, n * hiddenDim);
      else k.swiglu_f32(A.hb, A.hb, A.hb2, n * hiddenDim);
      ex.linear(L.w2, A.xb2, dim, A.hb, n);
      if (L.b2 !== 0) k.add_bias_f32(A.xb2, L.b2, n, dim);
      if (S.postNorms) k.rmsnorm_f32(A.xb2, A.xb2, L.postFfn, n, dim, normEps);
      k.add_f32(A.x, A.x, A.xb2, n * dim);
    }
    const rows = n - logitsFrom;
    if (rows > 0) {
      const off = logitsFrom * dim * 4;
      k.rmsnorm_f32(A.xb + off, A.x + off, this.rmsFinal, rows, dim, normEps);
      ex.linear(this.lmHead, A.logits, c.vocabSize, A.xb + off, rows);
      if (S.finalSoftcap > 0) k.softcap_f32(A.logits, rows * c.vocabSize, S.finalSoftcap);
    }
  }

  private refresh(): void {
    if (this.epoch !== this.rt.arena.epoch || this.heap.buffer !== this.rt.memory.buffer) {
      this.heap = new Float32Array(this.rt.memory.buffer);
      this.logitsView = this.rt.f32(this.act.logits, this.maxBatch * this.config.vocabSize);
      this.tokensView = this.rt.i32(this.tokensPtr, this.maxBatch);
      this.positionsView = this.rt.i32(this.positionsPtr, this.maxBatch);
      this.maskView = this.rt.u8(this.maskPtr, this.maxBatch * this.maxBatch);
      this.stagedPosView = this.rt.i32(this.stagedPosPtr, this.maxBatch);
      this.epoch = this.rt.arena.epoch;
    }
  }
}
