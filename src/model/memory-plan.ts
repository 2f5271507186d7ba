/**
 * The memory plan of a model load, computed from the config alone before anything is allocated:
 *
 *   weights      every packed matrix in its weight type (packedBytes): projections, the output head and
 *                the token embedding (one matrix when tied); f32 norms and biases
 *   KV cache     2 · nLayers · (capacity + maxBatch) · kvDim · 4 bytes: K and V per layer, committed
 *                positions plus the staging rows of a draft tree (the default context's)
 *   activations  maxBatch · (3·dim + 2·qDim + 2·hiddenDim + vocab) · 4 bytes and the batch buffers (the
 *                default context's: see src/model/context.ts)
 *   scratch      RoPE tables (capacity · headDim · 4 bytes, twice with Gemma-3's local ones), the
 *                executor's attention and quantised-input scratch, and the load's staging buffer
 *
 * Every region is counted at its 64-byte alignment, so the plan is what the arena will hand out (a
 * test loads models and compares). `checkMemoryPlan` refuses a load that does not fit the runtime's
 * memory with one line: what each part needs, what is free, and what would fit (a smaller weight
 * type, a shorter context). Browser-safe; allocates nothing in the runtime.
 */
import { kvDim as kvDimOf, qDim as qDimOf, type ModelConfig } from '../config.js';
import { MemoryPlanError, type MemoryFit } from '../errors.js';
import { linearInputKind, packedBytes, preparedInputCapacity, WEIGHT_TYPE_ALIASES, type LinearDtype } from '../kernels/linear.js';
import { layerRoleKinds, roleShape, type TensorRole } from '../weights/llama-tensors.js';
import { attentionScratchFloats, kvBytes, type KvType } from './kv-cache.js';
import { linearScratchCount } from '../exec/threads.js';

/** KV-cache positions of a model loaded without `capacity`: min(max_position_embeddings, DEFAULT_CONTEXT). */
export const DEFAULT_CONTEXT = 4096;

/** Bytes one region takes in the arena (64-byte alignment of its start). */
const ALIGN = 64;
const aligned = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;

/** What one context costs (bytes, aligned as the arena hands them out). */
export interface ContextMemory {
  /** K and V of every layer: 2 · nLayers · (capacity + maxBatch) · kvDim · (4 for f32, 2 for f16). */
  kvCache: number;
  /** Activations (the K and V rows before the cache stores them among them), logits rows and batch buffers of maxBatch rows. */
  activations: number;
}

/** Bytes of a context of `capacity` positions and `maxBatch` rows on a model of config `c` (see src/model/context.ts). */
export function contextMemory(c: ModelConfig, capacity: number, maxBatch: number, kvType: KvType = 'f32'): ContextMemory {
  const B = maxBatch;
  const qDim = qDimOf(c);
  const kvCache = 2 * c.nLayers * aligned((capacity + B) * kvDimOf(c) * kvBytes(kvType));
  const f32 = (count: number) => aligned(count * 4);
  const activations =
    3 * f32(B * c.dim) + 2 * f32(B * qDim) + 2 * f32(B * c.hiddenDim) + 2 * f32(B * kvDimOf(c)) + f32(B * c.vocabSize) + 3 * aligned(B * 4) + aligned(B * B);
  return { kvCache, activations };
}

/** How a load packs each matrix: its weight type by role and shape. */
export type LinearTypeOf = (role: TensorRole, rows: number, cols: number) => LinearDtype;

/** Inputs of a memory plan. */
export interface MemoryPlanOptions {
  /** The packed type of each matrix (linear layers and lm_head). */
  linearType: LinearTypeOf;
  /** KV positions of the default context (0: no default context). */
  capacity: number;
  /** Rows per forward of the default context (and of the load's scratch). */
  maxBatch: number;
  /** What the default context's KV cache stores (default f32). */
  kvType?: KvType;
  /** Threads of the executor (attention scratch is per thread). Default 1. */
  threads?: number;
  /** Whether the executor needs quantised-input scratch (some matrix is q8/q4). Computed when omitted. */
  quantisedInput?: boolean;
  /** Bytes of the load's staging buffer (released when the load ends, counted while it runs). */
  stagingBytes?: number;
}

/** The bytes a load needs, by part (see the module comment). */
export interface MemoryPlan {
  weights: number;
  kvCache: number;
  activations: number;
  scratch: number;
  /** Of scratch: the load's staging buffer (given back when the load ends). */
  staging: number;
  /** weights + kvCache + activations + scratch. */
  total: number;
  /** The default context's positions and rows the plan was made for. */
  capacity: number;
  maxBatch: number;
  /** Bytes of packed matrices by weight type. */
  linearBytes: ReadonlyMap<LinearDtype, number>;
}

/** What a load streams a matrix through: about this many bytes of rows at a time. */
export const LOAD_CHUNK_BYTES = 8 << 20;

/**
 * Rows of a matrix a load reads at once come in multiples of this: whole 4-row panels and, for GGUF
 * llama q/k matrices (whose rows are un-permuted per head while read), whole heads: lcm(4, headDim).
 */
export function loadRowUnit(c: ModelConfig): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return (4 * c.headDim) / gcd(4, c.headDim);
}

/**
 * Bytes of the staging buffer a load streams every matrix through, a chunk of whole rows at a time
 * (LOAD_CHUNK_BYTES, or one row unit of the widest matrix as f32 if that is more): no buffer the size of
 * a whole matrix (Llama-3's embedding alone is 1 GiB as f32).
 */
export function stagingBytesFor(c: ModelConfig, chunkBytes = LOAD_CHUNK_BYTES): number {
  return aligned(Math.max(chunkBytes, 4 * loadRowUnit(c) * Math.max(c.dim, qDimOf(c), c.hiddenDim)));
}

/** The memory plan of loading config `c` (see the module comment). Never allocates. */
export function planModelMemory(c: ModelConfig, o: MemoryPlanOptions): MemoryPlan {
  const byType = new Map<LinearDtype, number>();
  const matrix = (role: TensorRole, times: number) => {
    const [rows, cols] = roleShape(c, role) as [number, number];
    const type = o.linearType(role, rows, cols);
    const bytes = aligned(packedBytes(type, rows, cols)) * times;
    byType.set(type, (byType.get(type) ?? 0) + bytes);
    return bytes;
  };
  const f32 = (count: number) => aligned(count * 4);
  let weights = c.tiedEmbeddings ? 0 : matrix('embed', 1); // the token embedding, packed (tied: the head below)
  for (const { role, kind } of layerRoleKinds(c)) {
    // matrices layer by layer: a mixed file (Q4_K_M: Q4_K or Q6_K by layer) stores one role in several types
    if (kind === 'matrix') for (let l = 0; l < c.nLayers; l++) weights += matrix(`layers.${l}.${role}` as TensorRole, 1);
    else weights += c.nLayers * f32(roleShape(c, `layers.0.${role}` as TensorRole).reduce((a, b) => a * b, 1));
  }
  weights += f32(c.dim); // final norm
  weights += matrix(c.tiedEmbeddings ? 'embed' : 'lmHead', 1); // the output head (tied: also the embedding)
  const ctx = o.capacity > 0 ? contextMemory(c, o.capacity, o.maxBatch, o.kvType) : { kvCache: 0, activations: 0 };
  const half = c.headDim / 2;
  const ropeTables = (c.localRopeTheta !== undefined && (c.slidingWindow ?? 0) > 0 ? 4 : 2) * f32(Math.max(1, o.capacity) * half);
  const threads = o.threads ?? 1;
  const attention = o.capacity > 0 ? threads * f32(attentionScratchFloats(o.capacity + o.maxBatch, c.headDim, o.kvType ?? 'f32')) : 0;
  const quantised = o.quantisedInput ?? [...byType.keys()].some((t) => linearInputKind(t) !== 'f32');
  const maxCols = Math.max(c.dim, qDimOf(c), c.hiddenDim);
  // reserved with the first context: the prepared input (per call and shared) and the executor's batch
  // scratches of the quantised kernels, one per chunk slot (assembly/quant_k.ts quant_scratch_bytes: 3328 + 32 per row)
  const linearInput = quantised && o.capacity > 0 ? 2 * aligned(preparedInputCapacity(o.maxBatch, maxCols)) + linearScratchCount(threads) * aligned(3328 + 32 * o.maxBatch) : 0;
  const staging = o.stagingBytes ?? stagingBytesFor(c);
  const scratch = ropeTables + attention + linearInput + staging;
  const total = weights + ctx.kvCache + ctx.activations + scratch;
  return { weights, kvCache: ctx.kvCache, activations: ctx.activations, scratch, staging, total, capacity: o.capacity, maxBatch: o.maxBatch, linearBytes: byType };
}

/** "1.50 GiB", "320 MiB", "12.0 KiB", "512 B". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${bytes} B`;
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)} ${units[u]}`;
}

/** A weight type a load may be asked for, with how it packs each matrix (for what-would-fit advice). */
export interface DtypeChoice {
  /** The name a user passes (`dtype` option, `--dtype` flag). */
  readonly name: string;
  readonly linearType: LinearTypeOf;
}

/** What `checkMemoryPlan` needs besides the plan. */
export interface MemoryCheck {
  /** Model name for the message. */
  name: string;
  config: ModelConfig;
  /** The plan of the load as asked. */
  plan: MemoryPlan;
  /** Options the plan was made with (re-planned for the advice). */
  options: MemoryPlanOptions;
  /** The weight type asked for (its name). */
  dtype: string;
  /** Smaller weight types to advise, in order of preference (largest first). */
  smaller: readonly DtypeChoice[];
  /** Bytes the runtime can still hand out. */
  free: number;
  /** Bytes of the runtime's whole memory limit (for the message). */
  limit: number;
  /** Why the free bytes end there, when not the 4 GiB limit (e.g. the engine refused to grow). */
  reason?: string;
}

/**
 * Throw a MemoryPlanError (one line) unless `plan.total` ≤ `free`: the bytes of weights, KV cache,
 * activations and scratch, what is free, and what would fit — an f16 KV cache (when the cache is f32),
 * the first smaller weight type that fits at this context, and the longest context that fits at this
 * weight type (else with the smallest type).
 */
export function checkMemoryPlan(m: MemoryCheck): void {
  const { plan, free } = m;
  if (plan.total <= free) return;
  const replan = (linearType: LinearTypeOf, capacity: number) => planModelMemory(m.config, { ...m.options, linearType, capacity });
  // the longest context (≥ 1) at which a type fits, or 0
  const longest = (linearType: LinearTypeOf): number => {
    let lo = 0;
    let hi = Math.max(1, Math.min(m.config.maxSeqLen, plan.capacity));
    if (replan(linearType, 1).total > free) return 0;
    lo = 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (replan(linearType, mid).total <= free) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const fits: MemoryFit[] = [];
  // an f16 KV cache, when it makes the load fit as asked otherwise
  if ((m.options.kvType ?? 'f32') === 'f32' && plan.capacity > 0) {
    const half = planModelMemory(m.config, { ...m.options, kvType: 'f16' });
    if (half.total <= free) fits.push({ kvType: 'f16', total: half.total });
  }
  // the first smaller weight type that fits at this context; the longest context at this weight type;
  // if there is none, a type between the two (e.g. int8 when int4 fits) with a shorter context
  const byType = m.smaller.find((d) => replan(d.linearType, plan.capacity).total <= free);
  if (byType) fits.push({ dtype: byType.name, total: replan(byType.linearType, plan.capacity).total });
  const here = plan.capacity > 0 ? longest(m.options.linearType) : 0;
  if (here > 0) fits.push({ capacity: roundDown(here), total: replan(m.options.linearType, roundDown(here)).total });
  else if (plan.capacity > 0) {
    for (const d of byType ? m.smaller.slice(0, m.smaller.indexOf(byType)) : m.smaller) {
      const n = longest(d.linearType);
      if (n > 0) {
        fits.push({ dtype: d.name, capacity: roundDown(n), total: replan(d.linearType, roundDown(n)).total });
        break;
      }
    }
  }
  const types = [...plan.linearBytes.keys()].join('/');
  const parts =
    `weights ${formatBytes(plan.weights)} (${m.dtype === types || WEIGHT_TYPE_ALIASES[m.dtype.toLowerCase()] === types ? m.dtype : `${m.dtype}: ${types}`}), ` +
    `KV cache ${formatBytes(plan.kvCache)} (${plan.capacity} positions), activations ${formatBytes(plan.activations)}, scratch ${formatBytes(plan.scratch)}`;
  const where = m.reason ?? `${formatBytes(free)} free of the ${formatBytes(m.limit)} WebAssembly memory`;
  const summary = `${m.name}: needs ${formatBytes(plan.total)}: ${parts}; ${where}`;
  throw new MemoryPlanError(`${summary}; ${memoryAdvice(fits, 'options')}`, summary, { plan, free, fits });
}

/**
 * The advice of a MemoryPlanError in library terms (`dtype 'int8'`, `capacity 2048`) or as command-line
 * flags (`--dtype int8`, `--max-context 2048`).
 */
export function memoryAdvice(fits: readonly MemoryFit[], style: 'options' | 'flags'): string {
  if (fits.length === 0) return 'nothing fits: even the smallest weight type with a 1-position context needs more';
  const one = (f: MemoryFit) =>
    [
      f.dtype !== undefined ? (style === 'flags' ? `--dtype ${f.dtype}` : `dtype '${f.dtype}'`) : '',
      f.capacity !== undefined ? (style === 'flags' ? `--max-context ${f.capacity}` : `capacity ${f.capacity}`) : '',
      f.kvType !== undefined ? (style === 'flags' ? `--kv-type ${f.kvType}` : `kvType '${f.kvType}'`) : '',
    ]
      .filter(Boolean)
      .join(style === 'flags' ? ' ' : ' with ') + ` (${formatBytes(f.total)} in all)`;
  return `would fit: ${fits.map(one).join(', or ')}`;
}

/** A context length rounded down to a multiple of 256 when that is at least 256 (tidier advice). */
/** A context length rounded down to a multiple of 256 when that is at least 256 (tidier advice). */
function roundDown(n: number): number {
  return n >= 256 ? Math.floor(n / 256) * 256 : n;
}
