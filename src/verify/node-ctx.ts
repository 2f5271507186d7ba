/**
 * The scratch a node verifier works in: planned once in the runtime arena, viewed from TS.
 * Every fast (decode-path) verifier function takes one of these; nothing else is allocated.
 */
import type { ProbKernels } from '../wasm/kernels.js';
import { RESIDUAL_EPS, type VerifyResult } from './types.js';

/** Scratch regions and views of one node verifier. Views are re-derived when memory grows. */
export interface NodeCtx {
  readonly kernels: ProbKernels;
  readonly memory: WebAssembly.Memory;
  /** Residual vector, f64 [maxVocab]. */
  readonly rPtr: number;
  /** Sorted exclusion indices (tried drafts, hub set), i32 [maxK]. */
  readonly idxPtr: number;
  /** Small kernel outputs (R1, R2), f64 [2]. */
  readonly outPtr: number;
  r: Float64Array; // [maxVocab] view of rPtr
  idx: Int32Array; // [maxK] view of idxPtr
  out: Float64Array; // [2] view of outPtr
  readonly maxVocab: number;
  readonly maxK: number;
}

/** Re-derive the views if the memory grew since they were made (cheap identity check). */
export function refreshCtx(ctx: NodeCtx): void {
  const buffer = ctx.memory.buffer;
  if (ctx.r.buffer !== buffer) {
    ctx.r = new Float64Array(buffer, ctx.rPtr, ctx.maxVocab);
    ctx.idx = new Int32Array(buffer, ctx.idxPtr, ctx.maxK);
    ctx.out = new Float64Array(buffer, ctx.outPtr, 2);
  }
}

/**
 * Emit from the residual `r` (mass `mass`, unnormalised, at rPtr), or from p when the mass is at
 * most RESIDUAL_EPS (E10). Consumes one uniform either way.  p: [V] view in runtime memory
 */
export function emitResidual(ctx: NodeCtx, p: Float64Array, mass: number, u: number, res: VerifyResult): VerifyResult {
  const n = p.length;
  res.token = mass > RESIDUAL_EPS ? ctx.kernels.sample_f64(ctx.rPtr, n, u * mass) : ctx.kernels.sample_f64(p.byteOffset, n, u);
  res.accepted = -1;
  return res;
}

/** Emit a sample of p (the E10 fallback), consuming one uniform. */
export function emitTarget(ctx: NodeCtx, p: Float64Array, u: number, res: VerifyResult): VerifyResult {
  res.token = ctx.kernels.sample_f64(p.byteOffset, p.length, u);
  res.accepted = -1;
  return res;
}

/** Record an accepted draft. */
export function accept(res: VerifyResult, slot: number, token: number): VerifyResult {
  res.token = token;
  res.accepted = slot;
  return res;
}
