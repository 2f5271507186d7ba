/**
 * Executor: how the model's heavy kernels run. The serial executor calls them on this thread;
 * a threaded executor (src/exec/threads.ts) splits the same calls over workers sharing the
 * runtime's memory (matmul by panels, attention by heads). The model never calls those kernels
 * directly, so it runs unchanged on one thread or many.
 *
 * Linear layers of every weight dtype (src/kernels/linear.ts): `linear` finds the pointer the kernels
 * read with a LinearInputs (src/kernels/linear-input.ts): x itself for F32/BF16/F16, x quantised per row
 * (per 32 and, for 256-column multiples, per 256 columns) for the quantised types (done on the calling
 * thread, before any panel split). Executors reserve
 * that scratch in `reserveLinearInput`. Callers whose linears share x (Wq/Wk/Wv, W1/W3) may quantise
 * once with `prepareInput` and pass the handle to each `linear`; without it every call re-quantises.
 * A threaded executor implements the three methods the same way (delegating to its LinearInputs)
 * and runs `runLinear(k, lin, out, stride, in, n, p0, p1, scratch)` with that `in` on every worker,
 * each with its own batch scratch (linearScratchBytes, also reserved by `reserveLinearInput`).
 */
import type { PackedLinear } from '../kernels/linear.js';
import { linearScratchBytes, panelCount, runLinear } from '../kernels/linear.js';
import { LinearInputs } from '../kernels/linear-input.js';
import { Scratch, type Runtime } from '../wasm/runtime.js';

/** The arguments of one attention call (see Kernels.attention_f32); a reused record, no allocation per call. */
export interface AttentionArgs {
  outPtr: number; // [n, nHeads·headDim]
  qPtr: number; // [n, nHeads·headDim]
  kPtr: number; // [capacity, kvDim]
  vPtr: number; // [capacity, kvDim]
  maskPtr: number; // u8 [n, m] or 0 (causal)
  posPtr: number; // i32 [m] positions of the staged rows (read when window > 0)
  n: number;
  m: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  cacheLen: number;
  /** Multiplies q·k (1/sqrt(headDim), or Gemma's query_pre_attn_scalar^-1/2). */
  scale: number;
  /** Attention logit soft-capping (0: none). */
  softcap: number;
  /** Sliding window in positions (0: none). */
  window: number;
  /** The cache holds f16 bit patterns (attention_f16) rather than f32 (default false). */
  f16?: boolean;
  /** Head-major cache: rows per head plane ([nKvHeads][headRows][headDim]); 0 or absent: row-major [capacity, kvDim]. */
  headRows?: number;
}

/**
 * Runs the model's kernels over one runtime: linear layers (out [n, rows] = x [n, cols] · Wᵀ, the
 * weights packed in panels), attention, and the input preparation of quantised linears, on the
 * calling thread (`SerialExecutor`) or split over worker threads sharing the runtime's memory
 * (`ThreadedExecutor`, made by `createNodeExecutor` / `createBrowserExecutor`). Pointers are byte
 * offsets into runtime memory. `close()` stops its workers.
 */
export interface Executor {
  readonly rt: Runtime;
  /** Number of threads kernels run on (1 = this thread only). */
  readonly threads: number;
  /**
   * Make sure each thread has `floats` f32 of attention scratch (load time; may allocate): what
   * attention_f32 needs as `scores` is 4·(cacheLen + m + headDim) floats, attention_f16 2·(cacheLen + m)·headDim
   * more (attentionScratchFloats).
   */
  reserveAttention(floats: number): void;
  /**
   * Make sure quantised linears can take inputs of n rows of up to cols columns (load time; may allocate).
   * Models with F32/BF16/F16 weights only need not call it.
   */
  reserveLinearInput(n: number, cols: number): void;
  /**
   * Quantise x [n, cols] once for several quantised linears reading it (of any quantised types); returns a handle for `linear`'s
   * `prepared`, valid until the next prepareInput or until x is rewritten.
   */
  prepareInput(xPtr: number, n: number, cols: number): number;
  /**
   * out[i, r] = Σ_c x[i, c]·W[r, c] for i < n; out: [n, outStride], x: [n, lin.cols] f32.
   * `prepared` (optional): a prepareInput handle for this x (used by quantised weights, ignored by F32/BF16/F16).
   * Contract with `runLinear` (so executors can split it): `runLinear(k, …, p0, p1)` makes only kernel
   * calls that depend on panels [p0, p1) alone (at most 4 per range, return values unused) and never
   * reads what another range writes; input preparation happens before, on the calling thread.
   */
  linear(lin: PackedLinear, outPtr: number, outStride: number, xPtr: number, n: number, prepared?: number): void;
  /** Causal / tree attention (see attention_f32). */
  attention(a: AttentionArgs): void;
  /** Stop workers (threaded executors); the serial executor has nothing to stop. */
  close(): Promise<void>;
}

/** Runs every kernel on the calling thread. */
export class SerialExecutor implements Executor {
  readonly threads = 1;
  private readonly scores: Scratch;

  private readonly inputs: LinearInputs;
  // the quantised kernels' batch scratch (reserveLinearInput); a batch it cannot hold runs without it
  private readonly batchScratch: Scratch;

  constructor(readonly rt: Runtime) {
    this.inputs = new LinearInputs(rt);
    this.scores = new Scratch(rt.arena, 'exec.scores');
    this.batchScratch = new Scratch(rt.arena, 'exec.linear-scratch');
  }

  reserveAttention(floats: number): void {
    this.scores.reserve(floats * 4);
  }

  reserveLinearInput(n: number, cols: number): void {
    this.inputs.reserve(n, cols);
    this.batchScratch.reserve(linearScratchBytes(this.rt.k, n));
  }

  prepareInput(xPtr: number, n: number, cols: number): number {
    return this.inputs.prepare(xPtr, n, cols);
  }

  linear(lin: PackedLinear, outPtr: number, outStride: number, xPtr: number, n: number, prepared = 0): void {
    const inPtr = this.inputs.inputFor(lin, xPtr, n, prepared);
    runLinear(this.rt.k, lin, outPtr, outStride, inPtr, n, 0, panelCount(lin), linearScratchBytes(this.rt.k, n) <= this.batchScratch.bytes ? this.batchScratch.ptr : 0);
  }

  attention(a: AttentionArgs): void {
    (a.f16 ? this.rt.k.attention_f16 : this.rt.k.attention_f32)(a.outPtr, a.qPtr, a.kPtr, a.vPtr, this.scores.ptr, a.maskPtr, a.posPtr,
      a.n, a.m, a.nHeads, a.nKvHeads, a.headDim, a.cacheLen, 0, a.nHeads, a.scale, a.softcap, a.window, a.headRows ?? 0);
  }

  async close(): Promise<void> {}
}
