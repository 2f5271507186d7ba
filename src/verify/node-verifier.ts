/**
 * NodeVerifier: the decode-path verifier. One per (runtime, method, maxVocab), created at plan
 * time; its scratch (a residual row, index and output slots) lives in the runtime arena. p and q
 * are Float64Array views into the runtime memory (the engine computes them there, e.g. with
 * src/sampling.ts); drafts and per-node metadata are caller-owned, reused arrays. Nothing is
 * allocated per call: `verifyNode` returns the same result object every time.
 *
 *   const v = NodeVerifier.create(rt, 'spechub', { maxVocab: 32000, maxK: 4 });
 *   const meta = createNodeMeta(4), drafts = new Int32Array(4);
 *   const count = v.draftInto(qRow, 2, rng, drafts, meta);     // store drafts + meta with the node
 *   const { token, accepted } = v.verifyNode(pRow, qRow, drafts, count, meta, rng);
 *
 * `accepted` is the slot of the accepted draft or -1; `token` is the emitted token either way.
 * A tree walker may continue into any child whose token equals `token` (docs/verifiers.md §10).
 */
import type { Rng } from '../rng.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Runtime } from '../wasm/runtime.js';
import type { ProbKernels } from '../wasm/kernels.js';
import { refreshCtx, type NodeCtx } from './node-ctx.js';
import { verifyKseqNode } from './kseq.js';
import { draftIidNode, verifyRrsNode } from './rrs.js';
import { draftWoNode, verifyWoNode, woMasses } from './rrs-wo.js';
import { verifySdNode } from './sd.js';
import { draftSpechubNode, spechubMeta, verifySpechubNode } from './spechub.js';
import { createNodeMeta, VERIFIER_NAMES, type NodeMeta, type VerifierName, type VerifyResult } from './types.js';

/** Placeholder of the record's rng between calls: a call always sets the caller's. */
const NO_RNG: Rng = {
  next: () => {
    throw new Error('NodeVerifier: no rng set for this call');
  },
  nextU32: () => {
    throw new Error('NodeVerifier: no rng set for this call');
  },
  fork: () => NO_RNG,
  clone: () => NO_RNG,
};

/** Capacity of a NodeVerifier. */
export interface NodeVerifierOptions {
  /** Largest vocabulary (row length) it will see. */
  maxVocab: number;
  /** Largest k it will be asked for (default 8). */
  maxK?: number;
  /** Kernel implementation (default: the runtime's WASM kernels; benches pass plain-TS ones). */
  kernels?: ProbKernels;
}

/** Drafts and verifies one tree node at a time for one method, without allocating. */
export class NodeVerifier {
  readonly maxVocab: number;
  readonly maxK: number;
  /** The argument record of every fast-layer call, refilled per call (never reallocated). */
  private readonly ctx: NodeCtx;

  private constructor(
    readonly runtime: Runtime,
    readonly method: VerifierName,
    ctx: NodeCtx,
  ) {
    this.ctx = ctx;
    this.maxVocab = ctx.maxVocab;
    this.maxK = ctx.maxK;
  }

  /** Plans the scratch in the runtime arena (plan time; may grow the memory). */
  static create(runtime: Runtime, method: VerifierName, options: NodeVerifierOptions): NodeVerifier {
    if (!VERIFIER_NAMES.includes(method)) {
      throw new InvalidArgumentError(`NodeVerifier: expected a method in ${VERIFIER_NAMES.join(', ')}, got ${String(method)}`);
    }
    const maxVocab = options.maxVocab;
    const maxK = options.maxK ?? 8;
    if (!Number.isSafeInteger(maxVocab) || maxVocab < 1) throw new InvalidArgumentError(`NodeVerifier: expected maxVocab >= 1, got ${maxVocab}`);
    if (!Number.isSafeInteger(maxK) || maxK < 1) throw new InvalidArgumentError(`NodeVerifier: expected maxK >= 1, got ${maxK}`);
    const arena = runtime.arena;
    const r = arena.alloc(`verify.${method}.residual`, 8 * maxVocab); // f64 [maxVocab]
    const idx = arena.alloc(`verify.${method}.idx`, 4 * maxK); // i32 [maxK]
    const out = arena.alloc(`verify.${method}.out`, 16); // f64 [2]
    const buffer = runtime.memory.buffer;
    const kernels = options.kernels ?? runtime.k;
    const empty = new Float64Array(0);
    const ctx: NodeCtx = {
      kernels,
      memory: runtime.memory,
      rPtr: r.ptr,
      idxPtr: idx.ptr,
      outPtr: out.ptr,
      r: new Float64Array(buffer, r.ptr, maxVocab),
      idx: new Int32Array(buffer, idx.ptr, maxK),
      out: new Float64Array(buffer, out.ptr, 2),
      maxVocab,
      maxK,
      p: empty,
      q: empty,
      drafts: new Int32Array(0),
      count: 0,
      k: 0,
      meta: createNodeMeta(0),
      rng: NO_RNG,
      res: { token: -1, accepted: -1 },
      factor: { c: 1, qScale: 1 },
      rho: { rho: 1, invRho: 1, c: 1, beta: 1 },
      // K-SEQ's β(ρ) over the current call's (p, q): one closure over the record, made once
      beta: (invRho: number): number => kernels.overlap_f64(ctx.p.byteOffset, ctx.q.byteOffset, ctx.p.length, invRho),
    };
    return new NodeVerifier(runtime, method, ctx);
  }

  /**
   * Drafts up to k children from q into out[0..count) and the node's metadata into meta (the
   * SpecHub hub set, RRS-w/o untried masses). Returns count: k, or fewer when drafting without
   * replacement exhausts q's support (rrs-wo) or q's support is smaller than k (spechub).
   * q: f64 [V] view into the runtime memory, normalised; out: i32 [>= k]
   */
  draftInto(q: Float64Array, k: number, rng: Rng, out: Int32Array, meta: NodeMeta): number {
    this.checkRow(q, 'q');
    if (!(Number.isInteger(k) && k >= 1 && k <= this.maxK)) throw new InvalidArgumentError(`draftInto: expected 1 <= k <= ${this.maxK}, got ${k}`);
    if (this.method === 'sd' && k !== 1) throw new InvalidArgumentError(`draftInto: sd drafts k = 1, got ${k}`);
    if (out.length < k) throw new ShapeError(`draftInto: expected out with room for ${k} drafts, got length ${out.length}`);
    const ctx = this.bind(q, out, meta);
    ctx.k = k;
    ctx.rng = rng;
    switch (this.method) {
      case 'rrs-wo':
        return draftWoNode(ctx);
      case 'spechub':
        return draftSpechubNode(ctx);
      default:
        meta.count = draftIidNode(ctx);
        return meta.count;
    }
  }

  /**
   * Verifies drafts[0..count) of one node against the target p. Returns the reused result
   * object { token, accepted }. meta must be what draftInto wrote for these drafts (or what
   * `inferMeta` reconstructs). p, q: f64 [V] views into the runtime memory, normalised.
   * `residualMass` (SD only): what `checkSdRows` returned for these rows, unchanged since.
   */
  verifyNode(p: Float64Array, q: Float64Array, drafts: Int32Array, count: number, meta: NodeMeta, rng: Rng, residualMass = -1): VerifyResult {
    this.checkRow(p, 'p');
    this.checkRow(q, 'q');
    if (p.length !== q.length) throw new ShapeError(`verifyNode: expected p and q of one length, got ${p.length} and ${q.length}`);
    if (!(count >= 1 && count <= drafts.length && count <= this.maxK)) {
      throw new InvalidArgumentError(`verifyNode: expected 1 <= count <= ${Math.min(drafts.length, this.maxK)}, got ${count}`);
    }
    const ctx = this.bind(q, drafts, meta);
    ctx.p = p;
    ctx.count = count;
    ctx.rng = rng;
    switch (this.method) {
      case 'sd':
        return verifySdNode(ctx, residualMass);
      case 'rrs':
        return verifyRrsNode(ctx);
      case 'rrs-wo':
        return verifyWoNode(ctx);
      case 'spechub':
        return verifySpechubNode(ctx);
      case 'k-seq':
        return verifyKseqNode(ctx);
    }
  }

  /**
   * The public API's pass for SD: one pass over p and q (runtime.k.checked_residual_f64) that checks
   * both rows, writing checked_sum_f64 of p to sums[0] and of q to sums[1] (Σ, or -1 for a row with an
   * entry that is NaN, ±Infinity or negative), and leaves max(p - q, 0) in this verifier's scratch.
   * Returns its sum: pass it to verifyNode as `residualMass` while p and q stay as they are.
   * p, q: f64 [V] views into the runtime memory; sumsPtr: f64 [2] in the runtime memory
   */
  checkSdRows(p: Float64Array, q: Float64Array, sumsPtr: number): number {
    if (this.method !== 'sd') throw new InvalidArgumentError(`checkSdRows: expected an sd verifier, got ${this.method}`);
    this.checkRow(p, 'p');
    this.checkRow(q, 'q');
    if (p.length !== q.length) throw new ShapeError(`checkSdRows: expected p and q of one length, got ${p.length} and ${q.length}`);
    return this.runtime.k.checked_residual_f64(this.ctx.rPtr, p.byteOffset, q.byteOffset, p.length, sumsPtr);
  }

  /**
   * Reconstructs the metadata the default drafting rules would have written for these drafts
   * (for callers that kept none, like the public API); validates the drafts' structure.
   */
  inferMeta(q: Float64Array, drafts: Int32Array, count: number, meta: NodeMeta): void {
    this.checkRow(q, 'q');
    const ctx = this.bind(q, drafts, meta);
    ctx.count = count;
    meta.count = count;
    if (this.method === 'rrs-wo') woMasses(ctx);
    else if (this.method === 'spechub') spechubMeta(ctx);
  }

  /** The call record, its memory views refreshed, holding this call's q, drafts and meta (the caller sets the rest). */
  private bind(q: Float64Array, drafts: Int32Array, meta: NodeMeta): NodeCtx {
    const ctx = this.ctx;
    refreshCtx(ctx);
    ctx.q = q;
    ctx.drafts = drafts;
    ctx.meta = meta;
    return ctx;
  }

  private checkRow(x: Float64Array, name: string): void {
    if (this.runtime.stale(x)) {
      throw new InvalidArgumentError(`NodeVerifier: expected ${name} to be a Float64Array view into the runtime memory, got a separate buffer`);
    }
    if (x.length < 1 || x.length > this.maxVocab) throw new ShapeError(`NodeVerifier: expected ${name} of length 1..${this.maxVocab}, got ${x.length}`);
  }
}
