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
 * decode token, or a draft tree (mask). The model holds what every stream shares (packed weights,
 * RoPE tables, the executor); a LlamaContext (src/model/context.ts) holds what one stream owns (KV
 * cache, activations, batch buffers). The model makes its own context at load and delegates
 * `forward`, `cache`, `tokens`, … to it; `createContext()` makes more (one per concurrent stream).
 * Memory is planned before anything is allocated (src/model/memory-plan.ts: a load that does not fit
 * fails with one line); forward allocates nothing.
 */
import { checkModelConfig, defaultAttnScale, isSlidingLayer, kvDim as kvDimOf, type ModelConfig } from '../config.js';
import { CapacityError, InvalidArgumentError, MemoryPlanError, NumericError, ShapeError, type MemoryFit } from '../errors.js';
import { MAX_PAGES, PAGE_BYTES, type Runtime } from '../wasm/runtime.js';
import { attentionScratchFloats, resolveKvType, type KvCache, type KvType } from './kv-cache.js';
import { LlamaContext, type ContextOptions } from './context.js';
import {
  checkMemoryPlan, contextMemory, DEFAULT_CONTEXT, formatBytes, loadRowUnit, memoryAdvice, planModelMemory, stagingBytesFor, type DtypeChoice, type MemoryPlan, type MemoryPlanOptions,
} from './memory-plan.js';
import {
  dequantRows, dequantStoredRows, fallbackType, linearInputKind, packLinearRowsFromF32, packLinearRowsFromStored, packedBytes, resolveWeightType, storedBytes,
  storedDequantBytes, align64, LINEAR_DTYPES, PANEL_ROWS,
  type LinearDtype, type PackedLinear, type WeightDtype,
} from '../kernels/linear.js';
import type { TensorDtype } from '../weights/tensor.js';
import { GGML_BLOCK, GGML_QUANT_TYPES, type GgmlQuantType } from '../weights/ggml-quants.js';
import { LAYER_ROLES, layerRoleKinds, modelRoles, roleShape, type LayerRole, type RoleReader, type TensorRole } from '../weights/llama-tensors.js';
import { SerialExecutor, type Executor } from '../exec/executor.js';
import { fillRopeTablesFrom, ropeFrequencies } from '../kernels/rope.js';

/**
 * Weight type of the model's matrices (every projection, lm_head and the token embedding, whose rows
 * are read back dequantised from the packed matrix; tied models keep one matrix for both): `auto`
 * (default) keeps each tensor's stored type — F32, F16, BF16, or its GGML quantised type, repacked
 * without changing a value (a Q4_K_M file stays Q4_K + Q6_K); any other name converts every matrix to
 * one type (src/kernels/linear.ts WEIGHT_TYPE_ALIASES: f32, bf16, f16, int8 = Q8_0, int4 = Q4_0, q4_k,
 * …), quantising with ggml's reference quantisation; a 256-column type on a matrix whose columns it
 * does not divide falls back as llama.cpp's quantizer does (fallbackType). Quantised weights read
 * activations quantised per call (int8, per 32 or per 256 columns: W8A8 … W2A8, as llama.cpp's CPU
 * backend).
 */
export type { WeightDtype };

/** How `LlamaModel.load` lays a model out: batch rows, KV positions, weight type, executor, staging, progress. */
export interface LlamaLoadOptions {
  /** Most rows one forward of the model's own context may take (prompt chunk or tree size); the default of createContext. Default 64. */
  maxBatch?: number;
  /**
   * KV-cache positions of the model's own context, and the default of createContext. Default:
   * min(config.maxSeqLen, DEFAULT_CONTEXT = 4096); at most config.maxSeqLen.
   */
  capacity?: number;
  /** Name prefix for arena regions (diagnostics). */
  name?: string;
  /**
   * What the KV cache of the model's own context stores, and the default of createContext: 'f32'
   * (default) or 'f16' (half the memory; keys and values rounded as llama.cpp's default cache rounds
   * them; see KvType).
   */
  kvType?: KvType;
  /** How kernels run (serial by default; a threaded executor shares the runtime memory). */
  executor?: Executor;
  /** Weight type of the matrices: linear layers, lm_head and the token embedding (default `auto`; see WeightDtype). */
  dtype?: WeightDtype;
  /**
   * The type each role is stored in (what `dtype: 'auto'` keeps; F32 where this says nothing or the
   * type is not a weight type). LlamaModel.load takes it from its reader; give it to planLoad to plan
   * a file's load exactly.
   */
  storedTypes?: (role: TensorRole) => TensorDtype | undefined;
  /**
   * Called as the weights are read: bytes of the files read so far, of `total`, and the tensor being
   * read (after every chunk of a matrix, ~8 MiB, and every vector; first with bytes 0). The CLI draws a
   * progress line from it.
   */
  onProgress?: (progress: LoadProgress) => void;
  /**
   * Bytes of rows a load reads and packs at once (default LOAD_CHUNK_BYTES, 8 MiB): the size of its
   * staging buffer, released when the load ends. At least one row unit of the widest matrix is read at
   * a time whatever this says (see stagingBytesFor).
   */
  chunkBytes?: number;
  /**
   * Make the model's own context at load (default true). false: the model has weights only, and every
   * stream makes its own with createContext (a service that sizes contexts per user).
   */
  defaultContext?: boolean;
}

/** Where a load is: `bytes` of the model's weight files read, of `total`, and the stored tensor being read. */
export interface LoadProgress {
  readonly bytes: number;
  readonly total: number;
  /** Stored name of the tensor just read (e.g. "model.layers.3.mlp.up_proj.weight"); "" before the first. */
  readonly tensor: string;
}

/** The weight types what-would-fit advice suggests, largest first. */
const DTYPE_ORDER: readonly WeightDtype[] = ['f32', 'bf16', 'int8', 'int4'];

/**
 * How `dtype` packs every matrix: as stored (`auto`; see WeightDtype), or the one type asked for with
 * llama.cpp's fallback for 256-column types. Throws InvalidArgumentError for an unknown name.
 */
function linearTypeOf(name: string, dtype: WeightDtype, stored?: (role: TensorRole) => TensorDtype | undefined): (role: TensorRole, rows: number, cols: number) => LinearDtype {
  const asked = dtype === 'auto' ? null : resolveWeightType(`${name}: dtype`, dtype);
  return (role, _rows, cols) => {
    if (asked !== null) return fallbackType(asked, cols);
    const t = stored?.(role);
    return t !== undefined && (LINEAR_DTYPES as readonly string[]).includes(t) ? (t as LinearDtype) : 'F32';
  };
}

/** The plan-time description of how `dtype` packs every matrix. */
function dtypeChoice(dtype: WeightDtype, stored?: (role: TensorRole) => TensorDtype | undefined): DtypeChoice {
  return { name: dtype, linearType: linearTypeOf('model', dtype, stored) };
}

/**
 * The memory plan of loading `config` with `options` (what LlamaModel.load will allocate, in bytes by
 * part; see src/model/memory-plan.ts). Allocates nothing.
 */
export function planLoad(config: ModelConfig, options: Pick<LlamaLoadOptions, 'maxBatch' | 'capacity' | 'dtype' | 'storedTypes' | 'executor' | 'defaultContext' | 'chunkBytes' | 'name' | 'kvType'> = {}): MemoryPlan {
  return planModelMemory(config, planOptions(config, options));
}

function planOptions(c: ModelConfig, options: Pick<LlamaLoadOptions, 'maxBatch' | 'capacity' | 'dtype' | 'storedTypes' | 'executor' | 'defaultContext' | 'chunkBytes' | 'name' | 'kvType'>): MemoryPlanOptions {
  const dtype = options.dtype ?? 'auto';
  const name = options.name ?? 'model';
  const chunk = options.chunkBytes;
  if (chunk !== undefined && !(Number.isSafeInteger(chunk) && chunk >= 1)) {
    throw new InvalidArgumentError(`${name}: expected chunkBytes to be an integer >= 1, got ${chunk}`);
  }
  const maxBatch = options.maxBatch ?? 64;
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new InvalidArgumentError(`${name}: expected maxBatch >= 1, got ${maxBatch}`);
  const capacity = options.capacity ?? Math.min(c.maxSeqLen, DEFAULT_CONTEXT);
  if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > c.maxSeqLen) {
    throw new InvalidArgumentError(`${name}: expected 1 <= capacity <= maxSeqLen (${c.maxSeqLen}), got ${capacity}`);
  }
  return {
    linearType: linearTypeOf(name, dtype, options.storedTypes),
    capacity: options.defaultContext === false ? 0 : capacity,
    maxBatch,
    kvType: resolveKvType(`${name}: kvType`, options.kvType ?? 'f32'),
    threads: options.executor?.threads ?? 1,
    stagingBytes: stagingBytesFor(c, options.chunkBytes),
  };
}

type Linear = PackedLinear;

/** The layer roles stored as matrices (packed in a weight type); the others are f32 vectors. */
type MatrixRole = 'wq' | 'wk' | 'wv' | 'wo' | 'wGate' | 'wUp' | 'wDown';

/**
 * One layer's weights in the runtime memory, by tensor role (roleShape gives each shape): a packed
 * matrix, or the byte offset of an f32 vector (0: the model has no such tensor).
 */
type LayerWeights = { [R in LayerRole]: R extends MatrixRole ? Linear : number };

/** A layer: its weights, RoPE tables and attention window. */
type LayerPtrs = LayerWeights & {
  /** RoPE tables of this layer (the local ones on Gemma-3's sliding layers). */
  cos: number;
  sin: number;
  /** Whether this layer attends through the sliding window (and, on Gemma-3, rotates with the local tables). */
  sliding: boolean;
  /** Sliding window of this layer (0: full attention). */
  window: number;
};

/**
 * A loaded Llama-family model in runtime memory: its weights (each matrix packed in its weight type:
 * `weightTypes`), RoPE tables, and its own context (KV cache [nLayers] × [nKvHeads] × [capacity +
 * maxBatch, headDim] f32 or f16 (the load's kvType), batch buffers, activations, logits). Made by `LlamaModel.load` (or the loaders of
 * `spechub/core`, whose `LoadedModel.model` it is).
 *
 * One forward: fill `tokens` [n] (ids), `positions` [n] and, for a tree, `mask` [n, stagedBefore + n]
 * (1 = row i may attend staged row j), then `forward(n, logitsFrom, tree, stagedBefore, layers)`;
 * `logits` holds [n − logitsFrom, vocabSize] f32 rows (`logitsPtr(r)` their byte offsets) and the
 * keys/values are staged in the cache until `cache.commit(n)` / `cache.commitRows(rows)`.
 * `createContext()` makes another context over the same weights (one per concurrent stream).
 */
export class LlamaModel {
  /** Rows per forward of the model's own context, and the default of createContext. */
  readonly maxBatch: number;
  readonly qDim: number;
  readonly kvDim: number;
  /** Runs the matmuls and attention (one thread or many). */
  readonly exec: Executor;
  /** Weight type asked for (the option; per-matrix types: `weightTypes`). */
  readonly dtype: WeightDtype;
  /** KV positions of a context made without `capacity` (the load's `capacity`, else min(maxSeqLen, 4096)). */
  readonly defaultCapacity: number;
  /** What a context made without `kvType` stores in its KV cache (the load's `kvType`, else f32). */
  readonly defaultKvType: KvType;
  /** The memory plan this load was checked against (bytes by part). */
  readonly memoryPlan: MemoryPlan;
  /** Name of the model (prefix of its arena regions). */
  readonly name: string;
  /** Bytes of packed weights per type (linear layers, lm_head, embedding). */
  readonly weightTypes: ReadonlyMap<LinearDtype, number>;
  /** Whether some linear reads x quantised: then x is prepared once per shared use. */
  private readonly quantisedInput: boolean;

  private readonly layers: LayerPtrs[] = [];
  /** The token embedding [vocab, dim], packed in its weight type; a token's row is read back dequantised (tied: lmHead itself). */
  private readonly embed: Linear;
  private readonly lmHead: Linear;
  private readonly rmsFinal: number;
  /**
   * RoPE tables, f32 [ropeCapacity, headDim/2] each: global (every layer) and local (Gemma-3's sliding
   * layers, or 0). Shared by every context; a context longer than them makes larger ones (the layers
   * then point to those: the first positions are the same values).
   */
  private rope: { cos: number; sin: number; localCos: number; localSin: number };
  private ropeCapacity = 0;
  /** The GGUF rope_freqs factors, kept to fill larger RoPE tables later. */
  private freqFactors: Float32Array | undefined;
  /** The config's switches, resolved once (see ModelConfig for the defaults). */
  private readonly spec: { embedScale: number; finalSoftcap: number; gelu: boolean; postNorms: boolean; qkNorm: boolean; attnScale: number; attnSoftcap: number };
  private loaded = false;
  /** The arena top right after this model planned its memory and load staging. */
  private plannedTop = 0;
  private ownContext: LlamaContext | null = null;
  private contexts = 0;

  private constructor(
    readonly rt: Runtime,
    readonly config: ModelConfig,
    options: LlamaLoadOptions,
  ) {
    const c = config;
    const name = options.name ?? 'model';
    this.name = name;
    checkModelConfig(c, name);
    this.maxBatch = options.maxBatch ?? 64;
    const capacity = options.capacity ?? Math.min(c.maxSeqLen, DEFAULT_CONTEXT);
    if (!Number.isSafeInteger(this.maxBatch) || this.maxBatch < 1) {
      throw new InvalidArgumentError(`${name}: expected maxBatch >= 1, got ${this.maxBatch}`);
    }
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > c.maxSeqLen) {
      throw new InvalidArgumentError(`${name}: expected 1 <= capacity <= maxSeqLen (${c.maxSeqLen}), got ${capacity}`);
    }
    this.defaultCapacity = capacity;
    this.defaultKvType = resolveKvType(`${name}: kvType`, options.kvType ?? 'f32');
    if (c.headDim % 2 !== 0) throw new ShapeError(`${name}: RoPE needs an even head size, got ${c.headDim}`);
    this.dtype = options.dtype ?? 'auto';
    // the type of each matrix: as stored (auto), or the one asked for (with llama.cpp's fallback)
    const typeOf = linearTypeOf(name, this.dtype, options.storedTypes);
    this.qDim = c.nHeads * c.headDim;
    this.kvDim = kvDimOf(c);
    this.exec = options.executor ?? new SerialExecutor(rt);
    if (this.exec.rt !== rt) throw new InvalidArgumentError(`${name}: the executor belongs to another runtime`);
    // the plan first: a load that does not fit fails here, in one line, before anything is allocated
    const a = rt.arena;
    const planOpts = planOptions(c, options);
    this.memoryPlan = LlamaModel.checkMemory(rt, c, options);
    const startTop = a.mark();
    try {
      const f32 = (label: string, count: number) => a.alloc(`${name}.${label}`, count * 4).ptr;
      const types = new Map<LinearDtype, number>();
      const linear = (label: string, role: TensorRole, rows: number, cols: number): Linear => {
        const dtype = typeOf(role, rows, cols);
        const bytes = packedBytes(dtype, rows, cols);
        types.set(dtype, (types.get(dtype) ?? 0) + bytes);
        return { ptr: a.alloc(`${name}.${label}`, bytes).ptr, rows, cols, bytes, dtype };
      };

      const embed = c.tiedEmbeddings ? null : linear('embed', 'embed', c.vocabSize, c.dim);
      this.rope = { cos: 0, sin: 0, localCos: 0, localSin: 0 };
      for (let l = 0; l < c.nLayers; l++) {
        // every role of the table: allocated in table order when this config has it, else 0
        const weights = Object.fromEntries(LAYER_ROLES.map((role) => [role, 0])) as Record<LayerRole, number | Linear>;
        for (const { role, kind } of layerRoleKinds(c)) {
          const shape = roleShape(c, `layers.${l}.${role}`);
          weights[role] = kind === 'matrix' ? linear(`l${l}.${role}`, `layers.${l}.${role}`, shape[0]!, shape[1]!) : f32(`l${l}.${role}`, shape[0]!);
        }
        const sliding = isSlidingLayer(c, l);
        this.layers.push({ ...(weights as LayerWeights), cos: 0, sin: 0, sliding, window: sliding ? c.slidingWindow! : 0 });
      }
      this.rmsFinal = f32('rms_final', c.dim);
      this.lmHead = linear('lm_head', c.tiedEmbeddings ? 'embed' : 'lmHead', c.vocabSize, c.dim);
      this.embed = embed ?? this.lmHead;
      this.weightTypes = types;
      this.quantisedInput = [...types.keys()].some((t) => linearInputKind(t) !== 'f32');
      this.spec = {
        embedScale: c.embedScale ?? 1,
        finalSoftcap: c.finalSoftcap ?? 0,
        gelu: c.activation === 'gelu_tanh',
        postNorms: c.postNorms === true,
        qkNorm: c.qkNorm === true,
        attnScale: c.attnScale ?? defaultAttnScale(c.headDim),
        attnSoftcap: c.attnSoftcap ?? 0,
      };
      this.allocRope(Math.max(1, planOpts.capacity));
      if (options.defaultContext !== false) this.ownContext = this.makeContext({ capacity, maxBatch: this.maxBatch, kvType: this.defaultKvType }, name);
    } catch (e) {
      // the engine would not grow the memory as far as the plan needs: the plan's message, with that limit
      const have = rt.memory.buffer.byteLength;
      if (e instanceof CapacityError && !(e instanceof MemoryPlanError) && this.memoryPlan.total > have - startTop) {
        const free = Math.max(0, have - startTop);
        LlamaModel.checkMemory(rt, c, options, { free, reason: `the engine refused to grow the WebAssembly memory past ${formatBytes(have)} (${formatBytes(free)} were free for this load)` });
      }
      throw e;
    }
  }

  /**
   * The memory plan of loading `config` with `options` into `rt`, checked against the memory the
   * runtime has left: throws a MemoryPlanError (one line: weights, KV cache, activations and scratch,
   * what is free, what would fit) when it does not fit. Loaders call it as soon as the config is known,
   * before reading anything else. Allocates nothing. (`limit` overrides what is free, for messages
   * after the engine refused to grow.)
   */
  static checkMemory(rt: Runtime, config: ModelConfig, options: LlamaLoadOptions = {}, limit?: { free: number; reason: string }): MemoryPlan {
    const dtype = options.dtype ?? 'auto';
    linearTypeOf(options.name ?? 'model', dtype); // an unknown name is refused here
    checkModelConfig(config, options.name ?? 'model');
    const planOpts = planOptions(config, options);
    const plan = planModelMemory(config, planOpts);
    checkMemoryPlan({
      name: options.name ?? 'model',
      config,
      plan,
      options: planOpts,
      dtype,
      smaller: DTYPE_ORDER.slice(DTYPE_ORDER.indexOf(dtype) + 1).map((d) => dtypeChoice(d, options.storedTypes)),
      free: limit?.free ?? rt.arena.free,
      limit: MAX_PAGES * PAGE_BYTES,
      ...(limit ? { reason: limit.reason } : {}),
    });
    return plan;
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
        // dtype auto keeps each matrix in the type the reader stores it in
        m = new LlamaModel(rt, config, { ...options, storedTypes: options.storedTypes ?? ((role) => reader.dtype?.(role)) });
        m.plannedTop = arena.mark();
      } catch (e) {
        arena.release(mark);
        throw e;
      }
      try {
        await m.loadWeights(reader, options.onProgress, options.chunkBytes);
      } catch (e) {
        arena.releaseIfTop(mark, m.plannedTop);
        throw e;
      }
      return m;
    });
  }

  private async loadWeights(reader: RoleReader, onProgress?: (p: LoadProgress) => void, chunkBytes?: number): Promise<void> {
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
    // Progress: bytes of the files read so far, of every role the load reads
    const roles = modelRoles(c);
    const fileBytes = (role: TensorRole) => reader.storedBytes?.(role) ?? 4 * roleShape(c, role).reduce((x, d) => x * d, 1);
    const progress = { bytes: 0, total: roles.reduce((t, r) => t + fileBytes(r), 0), tensor: '' };
    const report = (role: TensorRole, bytes: number) => {
      if (!onProgress) return;
      progress.bytes += bytes;
      progress.tensor = reader.tensorName?.(role) ?? role;
      onProgress({ ...progress });
    };
    onProgress?.({ ...progress });
    // Staging for a chunk of rows of one matrix at a time (LOAD_CHUNK_BYTES, never a whole matrix);
    // released after loading.
    const stagingBytes = stagingBytesFor(c, chunkBytes);
    const unit = loadRowUnit(c);
    const mark = rt.arena.mark();
    const staging = rt.arena.alloc('load.staging', stagingBytes);
    this.plannedTop = rt.arena.mark();
    const vec = async (role: TensorRole, ptr: number) => {
      const [count] = check(role) as [number];
      await reader.readF32(role, rt.f32(ptr, count));
      report(role, fileBytes(role));
    };
    // One matrix at a time, streamed through the staging region in chunks of whole rows: the stored
    // bytes when the stored type is the matrix's type (repacked, no value changes: F16/BF16 bits, GGML
    // blocks), else f32 values packed (rounded / quantised) into it, each chunk into its place. GGML
    // blocks going to another type become those f32 values in WebAssembly (blocksAsF32); other stored
    // types, and a staging region too small for that, decode through readF32.
    const f32Bytes = (rows: number, cols: number) => align64(4 * rows * cols);
    const blocksAsF32 = (stored: TensorDtype | undefined, lin: Linear): { type: GgmlQuantType; chunk: number } | null => {
      if (stored === lin.dtype || reader.readBytes === undefined || !(GGML_QUANT_TYPES as readonly string[]).includes(stored ?? '')) return null;
      const type = stored as GgmlQuantType;
      if (lin.cols % GGML_BLOCK[type].values !== 0) return null;
      const fits = (n: number) => f32Bytes(n, lin.cols) + storedDequantBytes(type, n, lin.cols) <= stagingBytes;
      const perRow = 4 * lin.cols + storedBytes(type, 1, lin.cols) + packedBytes(type, PANEL_ROWS, lin.cols) / PANEL_ROWS;
      let chunk = lin.rows <= unit ? lin.rows : Math.min(lin.rows, Math.floor(stagingBytes / perRow / unit) * unit);
      // smaller chunks stay whole row units (panels and heads): the largest multiple of unit below
      while (chunk > 0 && !fits(chunk)) chunk = chunk > unit ? (Math.ceil(chunk / unit) - 1) * unit : 0;
      return chunk > 0 ? { type, chunk } : null;
    };
    const mat = async (role: TensorRole, lin: Linear) => {
      check(role);
      const cols = lin.cols;
      const stored = reader.dtype?.(role);
      const asStored = stored === lin.dtype && reader.readBytes !== undefined;
      const blocks = blocksAsF32(stored, lin);
      const rowBytes = asStored ? storedBytes(lin.dtype, 1, cols) : 4 * cols;
      const chunk = blocks !== null ? blocks.chunk : lin.rows <= unit ? lin.rows : Math.max(unit, Math.floor(stagingBytes / rowBytes / unit) * unit);
      const work = blocks !== null ? staging.ptr + f32Bytes(chunk, cols) : 0;
      const whole = fileBytes(role);
      for (let r0 = 0; r0 < lin.rows; r0 += chunk) {
        const n = Math.min(chunk, lin.rows - r0);
        const rows = n === lin.rows ? undefined : ([r0, n] as const);
        if (asStored) {
          await reader.readBytes!(role, new Uint8Array(rt.memory.buffer, staging.ptr, storedBytes(lin.dtype, n, cols)), rows);
          packLinearRowsFromStored(rt.k, lin, r0, n, staging.ptr, role);
        } else if (blocks !== null) {
          await reader.readBytes!(role, new Uint8Array(rt.memory.buffer, work, storedBytes(blocks.type, n, cols)), rows);
          dequantStoredRows(rt.k, blocks.type, n, cols, work, staging.ptr, reader.tensorName?.(role) ?? role, r0);
          reader.checkDecoded?.(role, rt.f32(staging.ptr, n * cols), rows);
          packLinearRowsFromF32(rt, lin, r0, n, staging.ptr, role);
        } else {
          await reader.readF32(role, rt.f32(staging.ptr, n * cols), rows);
          packLinearRowsFromF32(rt, lin, r0, n, staging.ptr, role);
        }
        report(role, (whole * n) / lin.rows);
      }
    };
    let freqFactors: Float32Array | undefined;
    // every role the table gives this config, in its load order
    for (const role of roles) {
      if (role === 'embed') {
        await mat('embed', this.embed); // tied: the output head is this matrix
      } else if (role === 'ropeFreqs') {
        const [count] = check(role) as [number];
        freqFactors = new Float32Array(count);
        await reader.readF32(role, freqFactors);
        report(role, fileBytes(role));
      } else if (role === 'norm') {
        await vec('norm', this.rmsFinal);
      } else if (role === 'lmHead') {
        await mat('lmHead', this.lmHead);
      } else {
        const [, l, r] = role.split('.') as [string, string, LayerRole];
        const L = this.layers[Number(l)]!;
        const t: number | Linear = L[r];
        if (typeof t === 'number') await vec(role, t);
        else await mat(role, t);
      }
    }
    rt.arena.releaseIfTop(mark, this.plannedTop);
    this.freqFactors = freqFactors;
    this.fillRope();
    this.loaded = true;
  }

  /**
   * Allocate RoPE tables for `positions` positions and point every layer at them (the global ones, or
   * Gemma-3's local ones on its sliding layers). Filled by fillRope (at load, or right away later).
   */
  private allocRope(positions: number): void {
    const c = this.config;
    const half = c.headDim / 2;
    const local = c.localRopeTheta !== undefined && (c.slidingWindow ?? 0) > 0;
    const f32 = (label: string) => this.rt.arena.alloc(`${this.name}.${label}`, positions * half * 4).ptr;
    this.rope = {
      cos: f32('rope.cos'),
      sin: f32('rope.sin'),
      localCos: local ? f32('rope.local_cos') : 0,
      localSin: local ? f32('rope.local_sin') : 0,
    };
    this.ropeCapacity = positions;
    for (const L of this.layers) {
      const own = L.sliding && local;
      L.cos = own ? this.rope.localCos : this.rope.cos;
      L.sin = own ? this.rope.localSin : this.rope.sin;
    }
  }

  /** RoPE tables: the global one (scaled as the config says), and the local one of Gemma-3's sliding layers (unscaled). */
  private fillRope(): void {
    const c = this.config;
    const n = this.ropeCapacity;
    const count = n * (c.headDim / 2);
    const global = ropeFrequencies(c.ropeTheta, c.headDim, c.ropeScaling, this.freqFactors);
    fillRopeTablesFrom(this.rt.f32(this.rope.cos, count), this.rt.f32(this.rope.sin, count), global, n);
    if (this.rope.localCos !== 0) {
      const local = ropeFrequencies(c.localRopeTheta!, c.headDim);
      fillRopeTablesFrom(this.rt.f32(this.rope.localCos, count), this.rt.f32(this.rope.localSin, count), local, n);
    }
  }

  /**
   * A new context over this model's weights: its own KV cache of `capacity` positions, activations and
   * batch buffers of `maxBatch` rows (see src/model/context.ts for what it costs). Generations on
   * different contexts of one model may run at the same time (interleaved on the event loop); each
   * sees only its own tokens. Allocates in the runtime (not on a decode path); throws a
   * MemoryPlanError (one line, with the longest context that would fit) when the memory has no room.
   */
  createContext(options: ContextOptions = {}): LlamaContext {
    if (!this.loaded) throw new InvalidArgumentError(`${this.name}: createContext before the weights are loaded`);
    const name = options.name ?? `${this.name}.ctx${++this.contexts}`;
    return this.makeContext(options, name);
  }

  /** Bytes a context of `capacity` positions and `maxBatch` rows takes (KV cache + activations; see contextMemory). */
  contextBytes(options: ContextOptions = {}): number {
    const m = contextMemory(this.config, options.capacity ?? this.defaultCapacity, options.maxBatch ?? this.maxBatch, options.kvType ?? this.defaultKvType);
    return m.kvCache + m.activations;
  }

  private makeContext(options: ContextOptions, name: string): LlamaContext {
    const c = this.config;
    const capacity = options.capacity ?? this.defaultCapacity;
    const maxBatch = options.maxBatch ?? this.maxBatch;
    const kvType = resolveKvType(`${name}: kvType`, options.kvType ?? this.defaultKvType);
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new InvalidArgumentError(`${name}: expected maxBatch >= 1, got ${maxBatch}`);
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > c.maxSeqLen) {
      throw new InvalidArgumentError(`${name}: expected 1 <= capacity <= maxSeqLen (${c.maxSeqLen}), got ${capacity}`);
    }
    if (this.loaded) this.checkContextFits(name, capacity, maxBatch, kvType);
    if (capacity > this.ropeCapacity) {
      this.allocRope(capacity);
      if (this.loaded) this.fillRope();
    }
    this.exec.reserveAttention(attentionScratchFloats(capacity + maxBatch, c.headDim, kvType)); // cacheLen + m ≤ capacity + maxBatch
    if (this.quantisedInput) this.exec.reserveLinearInput(maxBatch, Math.max(c.dim, this.qDim, c.hiddenDim));
    return new LlamaContext(this, capacity, maxBatch, name, kvType);
  }

  /** A context that does not fit the free memory is refused before it allocates (MemoryPlanError, with what fits: an f16 cache, a shorter capacity). */
  private checkContextFits(name: string, capacity: number, maxBatch: number, kvType: KvType): void {
    const c = this.config;
    const half = c.headDim / 2;
    const tables = this.rope.localCos !== 0 ? 4 : 2;
    const need = (cap: number, type = kvType) => {
      const m = contextMemory(c, cap, maxBatch, type);
      const rope = cap > this.ropeCapacity ? tables * Math.ceil((cap * half * 4) / 64) * 64 : 0;
      const scratch = rope + this.exec.threads * Math.ceil((4 * attentionScratchFloats(cap + maxBatch, c.headDim, type)) / 64) * 64;
      return { ...m, scratch, total: m.kvCache + m.activations + scratch };
    };
    const free = this.rt.arena.free;
    const want = need(capacity);
    if (want.total <= free) return;
    let lo = 0;
    let hi = capacity;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (need(mid).total <= free) lo = mid;
      else hi = mid - 1;
    }
    const fits: MemoryFit[] = lo > 0 ? [{ capacity: lo >= 256 ? Math.floor(lo / 256) * 256 : lo, total: need(lo >= 256 ? Math.floor(lo / 256) * 256 : lo).total }] : [];
    const halved = need(capacity, 'f16').total;
    if (kvType === 'f32' && halved <= free) fits.unshift({ kvType: 'f16', total: halved });
    const summary =
      `${name}: a context needs ${formatBytes(want.total)}: KV cache ${formatBytes(want.kvCache)} (${capacity} positions), activations ${formatBytes(want.activations)}, ` +
      `scratch ${formatBytes(want.scratch)}; ${formatBytes(free)} free of the ${formatBytes(MAX_PAGES * PAGE_BYTES)} WebAssembly memory`;
    throw new MemoryPlanError(`${summary}; ${memoryAdvice(fits, 'options')}`, summary, {
      plan: { weights: 0, kvCache: want.kvCache, activations: want.activations, scratch: want.scratch, total: want.total, capacity },
      free,
      fits,
    });
  }

  /**
   * Store n rows of keys and values (f32 [n, kvDim] at kPtr, vPtr) into the cache's head planes, staged
   * rows from slot0 of layer l. An f16 cache: a value f16 cannot hold (|x| ≥ 65520, NaN) fails the
   * forward with a NumericError; the cache's committed rows are untouched, and attention never reads a
   * non-finite f16.
   */
  private storeKv(cache: KvCache, l: number, slot0: number, kPtr: number, vPtr: number, n: number): void {
    const k = this.rt.k;
    const { nKvHeads, headDim } = this.config;
    const at = slot0 * cache.rowBytes;
    if (cache.kvType === 'f32') {
      k.kv_store_f32(cache.kPtrs[l]! + at, kPtr, n, nKvHeads, headDim, cache.planeRows);
      k.kv_store_f32(cache.vPtrs[l]! + at, vPtr, n, nKvHeads, headDim, cache.planeRows);
      return;
    }
    const count = n * this.kvDim;
    const badK = k.kv_store_f16(cache.kPtrs[l]! + at, kPtr, n, nKvHeads, headDim, cache.planeRows);
    const badV = k.kv_store_f16(cache.vPtrs[l]! + at, vPtr, n, nKvHeads, headDim, cache.planeRows);
    if (badK + badV > 0) {
      const [what, ptr] = badK > 0 ? ['key', kPtr] : ['value', vPtr];
      const values = this.rt.f32(ptr, count);
      let i = 0;
      while (i < count - 1 && Math.abs(values[i]!) < 65520) i++;
      throw new NumericError(
        `${this.name}: layer ${l} computed a ${what} of ${values[i]} (batch row ${Math.floor(i / this.kvDim)}), beyond what an f16 KV cache holds (|x| < 65520); use kvType 'f32' (--kv-type f32)`,
      );
    }
  }

  /**
   * @internal Benchmarks: every matrix one decode step multiplies (each layer's matrices in the role
   * table's order, then the head), to time the kernels' stream of a token's weights apart from the
   * rest of a forward.
   */
  decodeMatrices(): PackedLinear[] {
    const roles = layerRoleKinds(this.config).filter((k) => k.kind === 'matrix').map((k) => k.role as MatrixRole);
    return [...this.layers.flatMap((l) => roles.map((r) => l[r])), this.lmHead];
  }

  /**
   * The model's own context (made at load with the load's capacity and maxBatch), which `forward`,
   * `cache`, `tokens`, `positions`, `mask`, `logits` and `logitsPtr` use. Throws when the model was
   * loaded with `defaultContext: false`.
   */
  get context(): LlamaContext {
    if (this.ownContext === null) throw new InvalidArgumentError(`${this.name}: loaded without a context of its own (defaultContext: false); use createContext()`);
    return this.ownContext;
  }

  /** The KV cache of the model's own context. */
  get cache(): KvCache {
    return this.context.cache;
  }

  /** Batch input of the model's own context, filled by the caller before forward(): token ids [maxBatch]. */
  get tokens(): Int32Array {
    return this.context.tokens;
  }

  /** Batch input of the model's own context: position of each row [maxBatch] (cache.length + depth in a tree). */
  get positions(): Int32Array {
    return this.context.positions;
  }

  /** Batch input of the model's own context: tree mask [n, stagedBefore + n] of the next forward (see forward). */
  get mask(): Uint8Array {
    return this.context.mask;
  }

  /** Logits rows written by the last forward of the model's own context: row r (0-based from `logitsFrom`) at [r·vocab, (r+1)·vocab). */
  get logits(): Float32Array {
    return this.context.logits;
  }

  /** Byte pointer of logits row r of the model's own context (for kernels that read logits in place). */
  logitsPtr(r: number): number {
    return this.context.logitsPtr(r);
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
    this.context.forward(n, logitsFrom, tree, stagedBefore, layers);
  }

  /** The forward pass of `ctx` (see forward); LlamaContext.forward calls it. @internal */
  forwardIn(ctx: LlamaContext, n: number, logitsFrom: number, tree: boolean, stagedBefore: number, layers: number): void {
    const c = this.config;
    if (ctx.model !== this) throw new InvalidArgumentError(`${this.name}: forward of a context of another model (${ctx.name})`);
    if (!this.loaded) throw new InvalidArgumentError('model: forward before load');
    if (!(n >= 1 && n <= ctx.maxBatch)) throw new CapacityError(`model: batch of ${n} rows, expected 1..${ctx.maxBatch}`);
    if (!(logitsFrom >= 0 && logitsFrom <= n)) throw new InvalidArgumentError(`model: logitsFrom ${logitsFrom} outside [0, ${n}]`);
    if (!(layers >= 1 && layers <= c.nLayers)) throw new InvalidArgumentError(`model: layers ${layers} outside [1, ${c.nLayers}]`);
    if (!(stagedBefore >= 0 && stagedBefore + n <= ctx.maxBatch)) {
      throw new CapacityError(`model: ${stagedBefore} staged + ${n} new rows exceed the batch capacity ${ctx.maxBatch}`);
    }
    const cache = ctx.cache;
    cache.reserve(stagedBefore + n);
    const capacity = cache.capacity;
    const tokens = ctx.tokens;
    const positions = ctx.positions;
    const { stagedPos } = ctx.views();
    for (let i = 0; i < n; i++) {
      const t = tokens[i]!;
      const p = positions[i]!;
      if (!(t >= 0 && t < c.vocabSize)) throw new InvalidArgumentError(`model: token ${t} at row ${i} outside [0, ${c.vocabSize})`);
      if (!(p >= 0 && p < capacity)) throw new CapacityError(`model: position ${p} at row ${i} outside [0, ${capacity})`);
      stagedPos[stagedBefore + i] = p; // staged row stagedBefore + i sits at position p (sliding windows read it)
    }
    const k = this.rt.k;
    const { dim, hiddenDim, nHeads, nKvHeads, headDim, normEps } = c;
    const qDim = this.qDim;
    const kvDim = this.kvDim;
    const A = ctx.act;
    const S = this.spec;
    const committed = cache.length;
    const slot0 = committed + stagedBefore;
    const m = stagedBefore + n;
    const maskPtr = tree ? ctx.maskPtr : 0;
    const ex = this.exec;
    const quantised = this.quantisedInput;
    const att = ctx.attArgs;
    att.scale = S.attnScale;
    att.softcap = S.attnSoftcap;
    att.outPtr = A.att;
    att.qPtr = A.q;
    att.maskPtr = maskPtr;
    att.n = n;
    att.m = m;
    att.cacheLen = committed;

    for (let i = 0; i < n; i++) dequantRows(k, this.embed, tokens[i]!, 1, A.x + i * dim * 4);
    if (S.embedScale !== 1) k.scale_f32(A.x, A.x, n * dim, S.embedScale);
    // the new keys and values go to the cache's head planes once they are final (after bias, norm, RoPE)
    const kRows = A.k;
    const vRows = A.v;
    att.headRows = cache.planeRows;
    for (let l = 0; l < layers; l++) {
      const L = this.layers[l]!;
      k.rmsnorm_f32(A.xb, A.x, L.attnNorm, n, dim, normEps);
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
      k.rope_f32(A.q, qDim, n, nHeads, headDim, ctx.positionsPtr, L.cos, L.sin);
      k.rope_f32(kRows, kvDim, n, nKvHeads, headDim, ctx.positionsPtr, L.cos, L.sin);
      this.storeKv(cache, l, slot0, kRows, vRows, n);
      att.kPtr = cache.kPtrs[l]!;
      att.vPtr = cache.vPtrs[l]!;
      att.window = L.window;
      ex.attention(att);
      ex.linear(L.wo, A.xb2, dim, A.att, n);
      if (L.bo !== 0) k.add_bias_f32(A.xb2, L.bo, n, dim);
      if (S.postNorms) k.rmsnorm_f32(A.xb2, A.xb2, L.attnPostNorm, n, dim, normEps);
      k.add_f32(A.x, A.x, A.xb2, n * dim);
      k.rmsnorm_f32(A.xb, A.x, L.ffnNorm, n, dim, normEps);
      prep = quantised ? ex.prepareInput(A.xb, n, dim) : 0;
      ex.linear(L.wGate, A.hb, hiddenDim, A.xb, n, prep);
      ex.linear(L.wUp, A.hb2, hiddenDim, A.xb, n, prep);
      if (L.bGate !== 0) {
        k.add_bias_f32(A.hb, L.bGate, n, hiddenDim);
        k.add_bias_f32(A.hb2, L.bUp, n, hiddenDim);
      }
      if (S.gelu) k.geglu_tanh_f32(A.hb, A.hb, A.hb2, n * hiddenDim);
      else k.swiglu_f32(A.hb, A.hb, A.hb2, n * hiddenDim);
      ex.linear(L.wDown, A.xb2, dim, A.hb, n);
      if (L.bDown !== 0) k.add_bias_f32(A.xb2, L.bDown, n, dim);
      if (S.postNorms) k.rmsnorm_f32(A.xb2, A.xb2, L.ffnPostNorm, n, dim, normEps);
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
}
