/**
 * Recursive rejection sampling with replacement (SpecInfer's multi-step speculative sampling,
 * Miao et al. 2024; docs/verifiers.md §2).
 *
 *   x_1..x_k i.i.d. ~ q                       (duplicates allowed and NEVER skipped: E11)
 *   r = p, M = 1                              (r unnormalised, mass M)
 *   for j = 1..k:  accept x_j if u_j < r(x_j) / (M q(x_j))
 *                  else r = max(r - M q, 0), M = Σ r      (the same q every time)
 *   emit y ~ r / M                            (p itself when M <= 1e-12: E10)
 *   α = 1 - Π_j (1 - β_j),  β_j = Σ min(r_{j-1}, q)      (r_j does not depend on the path)
 *
 * Exact by backward induction on the master lemma (§0.1) with t = r_{j-1}, s = q. A rejected token
 * has r_j(x) = 0 (the test failed only if r(x) < M q(x)), so a duplicate is always rejected, and
 * the residual update must still run once per copy.
 */
import type { Rng } from '../rng.js';
import { rejectionOutcome, scaledFactor } from './common.js';
import { accept, emitResidual, emitTarget, type NodeCtx } from './node-ctx.js';
import { assertDrafted, drawFromQ } from './sd.js';
import { RESIDUAL_EPS, type DraftOutcome, type LevelOutcome, type VerifyResult } from './types.js';

// ---- math layer ----

/** Outcome law of one RRS step for the drafts in slot order.  p, q: [V] */
export function rrsOutcome(p: Float64Array, q: Float64Array, drafts: ArrayLike<number>): LevelOutcome {
  // RRS tests every draft against the whole residual: c = its mass, q unscaled
  return rejectionOutcome(p, q, drafts, (x, mass) => {
    assertDrafted(q, x, 'rrs');
    return { c: mass, qScale: 1 };
  });
}

/**
 * Exact acceptance 1 - Π(1 - β_j), computed as the sum of what each test accepts,
 * Σ_j Σ_y min(r_{j-1}(y), M_{j-1} q(y)): a sum of nonnegative terms, so it cannot round below 0
 * as 1 - (the final residual mass) did on disjoint supports.  p, q: [V]
 */
export function rrsAcceptance(p: ArrayLike<number>, q: ArrayLike<number>, k: number): number {
  const r = Float64Array.from(p);
  let mass = 1;
  let alpha = 0;
  for (let j = 0; j < k; j++) {
    let m = 0;
    for (let i = 0; i < r.length; i++) {
      const t = mass * q[i]!;
      alpha += Math.min(r[i]!, t);
      r[i] = Math.max(r[i]! - t, 0);
      m += r[i]!;
    }
    mass = m;
    if (mass === 0) break;
  }
  return Math.min(alpha, 1);
}

/** The i.i.d. drafting law q⊗k: every tuple over the support of q, with its probability. */
export function iidLaw(q: Float64Array, k: number): DraftOutcome[] {
  const support: number[] = [];
  for (let i = 0; i < q.length; i++) if (q[i]! > 0) support.push(i);
  const out: DraftOutcome[] = [];
  const tuple = new Int32Array(k);
  const rec = (j: number, prob: number): void => {
    if (j === k) {
      out.push({ drafts: tuple.slice(), prob, hubs: new Int32Array(0) });
      return;
    }
    for (const x of support) {
      tuple[j] = x;
      rec(j + 1, prob * q[x]!);
    }
  };
  rec(0, 1);
  return out;
}

/** Reference i.i.d. drafting: one uniform per draft. */
export function drawIid(q: ArrayLike<number>, k: number, rng: Rng): Int32Array {
  const out = new Int32Array(k);
  for (let j = 0; j < k; j++) out[j] = drawFromQ(q, rng);
  return out;
}

// ---- fast layer ----

/** ctx.k i.i.d. drafts from ctx.q into ctx.drafts; returns k.  q: [V] view in runtime memory */
export function draftIidNode(ctx: NodeCtx): number {
  const { q, k, rng, drafts } = ctx;
  const qPtr = q.byteOffset;
  for (let j = 0; j < k; j++) drafts[j] = ctx.kernels.sample_f64(qPtr, q.length, rng.next());
  return k;
}

/** One RRS verification of ctx.count drafts. */
export function verifyRrsNode(ctx: NodeCtx): VerifyResult {
  return verifyRejectionNode(ctx, 'rrs', null);
}

/**
 * The decode-path recursion RRS and RRS-w/o share (the fast twin of rejectionOutcome): draft j is
 * accepted with r(x) / (c·q(x)·qScale), else the residual becomes max(r − c·q·qScale, 0). RRS takes
 * c = the residual's mass (`untried` null); RRS-w/o scales by its untried masses, `untried` =
 * ctx.meta.mass.
 */
export function verifyRejectionNode(ctx: NodeCtx, method: 'rrs' | 'rrs-wo', untried: Float64Array | null): VerifyResult {
  const { p, q, drafts, count, rng } = ctx;
  const n = p.length;
  const qPtr = q.byteOffset;
  const f = ctx.factor;
  let r: Float64Array = p; // the current (unnormalised) residual, p until the first rejection
  let srcPtr = p.byteOffset;
  let mass = 1;
  for (let j = 0; j < count; j++) {
    const x = drafts[j]!;
    const qx = q[x]!;
    if (!(qx > 0)) assertDrafted(q, x, method);
    if (untried === null) {
      f.c = mass;
      f.qScale = 1;
    } else {
      scaledFactor(mass, untried[j]!, f);
    }
    if (rng.next() < r[x]! / (f.c * (qx * f.qScale))) return accept(ctx, j, x);
    mass = ctx.kernels.residual_f64(ctx.rPtr, srcPtr, qPtr, n, f.c, f.qScale);
    r = ctx.r;
    srcPtr = ctx.rPtr;
    if (!(mass > RESIDUAL_EPS)) return emitTarget(ctx);
  }
  return emitResidual(ctx, mass);
}
