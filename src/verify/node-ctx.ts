/**
 * The one argument record of the fast (decode-path) verifier functions: the scratch a node
 * verifier works in, planned once in the runtime arena, plus the inputs and outputs of the current
 * call. NodeVerifier owns one record and refills its call fields before every call, so the fast
 * functions (`verifySdNode(ctx)`, `draftWoNode(ctx)`, ...) take a single argument and nothing is
 * allocated per call.
 */
import type { Rng } from '../rng.js';
import type { ProbKernels } from '../wasm/kernels.js';
import type { KseqRho } from './kseq.js';
import type { ScaledFactor } from './common.js';
import { RESIDUAL_EPS, type NodeMeta, type VerifyResult } from './types.js';

/** Scratch regions and views of one node verifier, and the current call's arguments. */
export interface NodeCtx {
  readonly kernels: ProbKernels;
  readonly memory: WebAssembly.Memory;
  /** Residual vector, f64 [maxVocab]. */
  readonly rPtr: number;
  /** Sorted exclusion indices (tried drafts, hub set), i32 [maxK]. */
  readonly idxPtr: number;
  /** Small kernel outputs (R1, R2), f64 [2]. */
  readonly outPtr: number;
  /** [maxVocab] view of rPtr; re-derived when the memory grows (`refreshCtx`). */
  r: Float64Array;
  /** [maxK] view of idxPtr. */
  idx: Int32Array;
  /** [2] view of outPtr. */
  out: Float64Array;
  readonly maxVocab: number;
  readonly maxK: number;

  // ---- the current call (set by NodeVerifier before each call) ----
  /** Target row, normalised, f64 [V] view into the runtime memory (verification). */
  p: Float64Array;
  /** Draft row, normalised, f64 [V] view into the runtime memory. */
  q: Float64Array;
  /** Drafts in slot order: read by the verify functions, written by the draft functions.  [>= k] */
  drafts: Int32Array;
  /** Number of drafts to verify (verification). */
  count: number;
  /** Number of drafts requested (drafting). */
  k: number;
  /** The node's metadata (hub set, untried masses): written by drafting, read by verification. */
  meta: NodeMeta;
  /** Source of the fresh uniforms. */
  rng: Rng;
  /** The reused result of verification. */
  readonly res: VerifyResult;
  /** A multiplier of q and its prescale (RRS without replacement, SpecHub; see scaledFactor). */
  readonly factor: ScaledFactor;
  /** K-SEQ: the solved ρ of the current call. */
  readonly rho: KseqRho;
  /** K-SEQ: β(invRho) = Σ min(q, p·invRho) over the current p and q (a closure made once). */
  readonly beta: (invRho: number) => number;
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
 * most RESIDUAL_EPS (E10). Consumes one uniform either way.
 */
export function emitResidual(ctx: NodeCtx, mass: number): VerifyResult {
  const p = ctx.p;
  const n = p.length;
  const u = ctx.rng.next();
  const res = ctx.res;
  res.token = mass > RESIDUAL_EPS ? ctx.kernels.sample_f64(ctx.rPtr, n, u * mass) : ctx.kernels.sample_f64(p.byteOffset, n, u);
  res.accepted = -1;
  return res;
}

/** Emit a sample of p (the E10 fallback), consuming one uniform. */
export function emitTarget(ctx: NodeCtx): VerifyResult {
  const res = ctx.res;
  res.token = ctx.kernels.sample_f64(ctx.p.byteOffset, ctx.p.length, ctx.rng.next());
  res.accepted = -1;
  return res;
}

/** Record an accepted draft. */
export function accept(ctx: NodeCtx, slot: number, token: number): VerifyResult {
  const res = ctx.res;
  res.token = token;
  res.accepted = slot;
  return res;
}
