/**
 * Executor: how the model's heavy kernels run. The serial executor calls them on this thread;
 * a threaded executor (src/wasm/threads.ts) splits the same calls over workers sharing the
 * runtime's memory (matmul by panels, attention by heads). The model never calls those kernels
 * directly, so it runs unchanged on one thread or many.
 */
import type { PackedLinear } from '../kernels/linear.js';
import { panelCount, runLinear } from '../kernels/linear.js';
import type { Runtime } from '../wasm/runtime.js';

export interface AttentionArgs {
  outPtr: number; // [n, nHeads·headDim]
  qPtr: number; // [n, nHeads·headDim]
  kPtr: number; // [capacity, kvDim]
  vPtr: number; // [capacity, kvDim]
  maskPtr: number; // u8 [n, m] or 0 (causal)
  n: number;
  m: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  cacheLen: number;
}

export interface Executor {
  readonly rt: Runtime;
  /** Number of threads kernels run on (1 = this thread only). */
  readonly threads: number;
  /**
   * Make sure each thread has `floats` f32 of attention scratch (load time; may allocate): what
   * attention_f32 needs as `scores` is 4·(cacheLen + m + headDim) floats.
   */
  reserveAttention(floats: number): void;
  /** out[i, r] = Σ_c x[i, c]·W[r, c] for i < n; out: [n, outStride]. */
  linear(lin: PackedLinear, outPtr: number, outStride: number, xPtr: number, n: number): void;
  /** Causal / tree attention (see attention_f32). */
  attention(a: AttentionArgs): void;
  /** Stop workers (threaded executors); the serial executor has nothing to stop. */
  close(): Promise<void>;
}

/** Runs every kernel on the calling thread. */
export class SerialExecutor implements Executor {
  readonly threads = 1;
  private scoresPtr = 0;
  private scoresFloats = 0;

  constructor(readonly rt: Runtime) {}

  reserveAttention(floats: number): void {
    if (floats <= this.scoresFloats) return;
    this.scoresPtr = this.rt.arena.alloc('exec.scores', floats * 4).ptr;
    this.scoresFloats = floats;
  }

  linear(lin: PackedLinear, outPtr: number, outStride: number, xPtr: number, n: number): void {
    runLinear(this.rt.k, lin, outPtr, outStride, xPtr, n, 0, panelCount(lin));
  }

  attention(a: AttentionArgs): void {
    this.rt.k.attention_f32(a.outPtr, a.qPtr, a.kPtr, a.vPtr, this.scoresPtr, a.maskPtr,
      a.n, a.m, a.nHeads, a.nKvHeads, a.headDim, a.cacheLen, 0, a.nHeads);
  }

  async close(): Promise<void> {}
}
