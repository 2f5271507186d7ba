/**
 * K-SEQ, SpecTr's practical verifier (Sun, Suresh, Ro, Beirami, Jain, Yu, NeurIPS 2023;
 * docs/verifiers.md §5.1), for k i.i.d. drafts from q.
 *
 *   β(ρ) = Σ min(q, p/ρ),  c(ρ) = Σ_{j<k} (1 - β(ρ))^j
 *   ρ* = the smallest ρ in [1, k] with c(ρ) <= ρ (a unique crossing; see solveRho)
 *   for j = 1..k:  accept x_j if u_j < p(x_j) / (ρ* q(x_j))   (stop at the first accept)
 *   emit y ~ norm(max(p - c(ρ*) min(q, p/ρ*), 0))         (p itself when that mass <= 1e-12)
 *   α = 1 - (1 - β(ρ*))^k  ≥ (1 - 1/e) α*_OTM
 *
 * Exactness holds for ANY ρ in [1, k] with c(ρ) <= ρ, not only for the root. Proof: token y is
 * accepted at step j with probability (1-β)^{j-1} min(q(y), p(y)/ρ), so its accepted mass is
 * c(ρ) min(q(y), p(y)/ρ) <= (c(ρ)/ρ) p(y) <= p(y). The residual p - c min(q, p/ρ) is therefore
 * nonnegative with mass 1 - c β = (1 - β)^k, exactly the probability that all k tests fail; the
 * master lemma (§0.1) completes p. So the solver only has to keep the feasible end of its bracket:
 * it returns the end with c(ρ) <= ρ, and its tolerance costs acceptance (|Δα| <= k |Δρ|), never
 * exactness.
 */
import { clampRatio, finishOutcome } from './common.js';
import { accept, emitResidual, type NodeCtx } from './node-ctx.js';
import { assertDrafted } from './sd.js';
import type { LevelOutcome, VerifyResult } from './types.js';

/**
 * Bracket width in t = 1/ρ at which the search stops. ρ is then within k²·1e-11 of ρ*, and α
 * within k times that of its optimum; exactness does not depend on it.
 */
export const INV_RHO_TOL = 1e-11;

/** c(β) = Σ_{j<k} (1 - β)^j, summed term by term (stable as β → 0). */
export function kseqC(beta: number, k: number): number {
  let c = 0;
  let t = 1;
  for (let j = 0; j < k; j++) {
    c += t;
    t *= 1 - beta;
  }
  return c;
}

/** The solved K-SEQ parameters. */
export interface KseqRho {
  rho: number;
  /** 1/ρ as the tests and the residual use it (the solver's variable; c·invRho <= 1). */
  invRho: number;
  /** c(ρ), with c(ρ) <= ρ. */
  c: number;
  /** β(ρ). */
  beta: number;
}

/**
 * Finds ρ* = the smallest ρ in [1, k] with c(ρ) <= ρ. `beta(invRho)` returns Σ min(q, p·invRho).
 *
 * Works in t = 1/ρ ∈ [1/k, 1] on h(t) = t·c(β(t)) - 1, which is nondecreasing: β(t) = Σ min(q, t p)
 * is concave with β(0) = 0, so t/β(t) is nondecreasing, and h(t) + 1 = α(t)·t/β(t) with
 * α = 1 - (1 - β)^k nondecreasing (h = k t - 1 when the supports are disjoint). So the feasible
 * set {h <= 0} is [1/k, t*] and ρ* = 1/t*, a unique crossing. Illinois false position keeps
 * h(lo) <= 0 < h(hi) and returns the feasible end lo (≈ 10 passes over V; bisection needs ~37).
 */
export function solveRho(beta: (invRho: number) => number, k: number, out: KseqRho = { rho: 1, invRho: 1, c: 1, beta: 1 }): KseqRho {
  const b1 = beta(1);
  const c1 = kseqC(b1, k);
  if (k === 1 || c1 <= 1) return setRho(out, 1, c1, b1);
  let lo = 1 / k;
  let bLo = beta(lo);
  let cLo = kseqC(bLo, k);
  let hLo = lo * cLo - 1; // <= 0 because c <= k
  let hi = 1;
  let hHi = c1 - 1; // > 0
  let side = 0;
  for (let it = 0; it < 200 && hi - lo > INV_RHO_TOL && hLo < 0; it++) {
    let m = lo - (hLo * (hi - lo)) / (hHi - hLo);
    if (!(m > lo && m < hi)) m = 0.5 * (lo + hi);
    const bM = beta(m);
    const cM = kseqC(bM, k);
    const hM = m * cM - 1;
    if (hM <= 0) {
      lo = m;
      hLo = hM;
      bLo = bM;
      cLo = cM;
      if (side === 1) hHi *= 0.5; // Illinois: the high end was kept twice
      side = 1;
    } else {
      hi = m;
      hHi = hM;
      if (side === -1) hLo *= 0.5;
      side = -1;
    }
  }
  return setRho(out, lo, cLo, bLo);
}

function setRho(out: KseqRho, invRho: number, c: number, beta: number): KseqRho {
  out.invRho = invRho;
  out.rho = 1 / invRho;
  out.c = c;
  out.beta = beta;
  return out;
}

// ---- math layer ----

/** β(ρ) = Σ min(q, p/ρ) in plain TS.  p, q: [V] */
function betaTs(p: ArrayLike<number>, q: ArrayLike<number>): (invRho: number) => number {
  return (invRho) => {
    let s = 0;
    for (let i = 0; i < p.length; i++) s += Math.min(q[i]!, p[i]! * invRho);
    return s;
  };
}

/** ρ* for (p, q, k) in plain TS. */
export function kseqRho(p: ArrayLike<number>, q: ArrayLike<number>, k: number): KseqRho {
  return solveRho(betaTs(p, q), k);
}

/** Exact acceptance 1 - (1 - β(ρ*))^k at the solver's ρ*. */
export function kseqAcceptance(p: ArrayLike<number>, q: ArrayLike<number>, k: number): number {
  const { beta } = kseqRho(p, q, k);
  return 1 - Math.pow(1 - beta, k);
}

/**
 * Outcome law of one K-SEQ step for i.i.d. drafts. `rho` overrides ρ* (any ρ with c(ρ) <= ρ is
 * exact; tests use this to show it, and that c(ρ) > ρ is not).  p, q: [V]
 */
export function kseqOutcome(p: Float64Array, q: Float64Array, drafts: ArrayLike<number>, rho?: number): LevelOutcome {
  const k = drafts.length;
  const solved = kseqRho(p, q, k);
  const invRho = rho === undefined ? solved.invRho : 1 / rho;
  const c = rho === undefined ? solved.c : kseqC(betaTs(p, q)(invRho), k);
  const order: number[] = [];
  const ratio: number[] = [];
  for (let j = 0; j < k; j++) {
    const x = drafts[j]!;
    assertDrafted(q, x, 'k-seq');
    order.push(j);
    ratio.push(clampRatio(p[x]! * invRho, q[x]!));
  }
  const res = new Float64Array(p.length);
  let mass = 0;
  for (let i = 0; i < p.length; i++) {
    res[i] = Math.max(p[i]! - c * Math.min(q[i]!, p[i]! * invRho), 0);
    mass += res[i]!;
  }
  return finishOutcome(k, order, ratio, res, mass, p, false);
}

// ---- fast layer ----

/**
 * One K-SEQ verification of ctx.count i.i.d. drafts. ρ* is solved lazily: a test whose uniform is
 * below p/(k q) accepts and one at or above p/q rejects for every ρ in [1, k], so ρ* is only
 * computed when a test needs it or a residual is emitted. ctx.rho holds the solved ρ; ctx.beta
 * evaluates β over the call's p and q.
 */
export function verifyKseqNode(ctx: NodeCtx): VerifyResult {
  const { p, q, drafts, count, rng, beta } = ctx;
  const scratch = ctx.rho;
  let solved = false;
  for (let j = 0; j < count; j++) {
    const x = drafts[j]!;
    const qx = q[x]!;
    if (!(qx > 0)) assertDrafted(q, x, 'k-seq');
    const u = rng.next();
    const px = p[x]!;
    if (u < (px * (1 / count)) / qx) return accept(ctx, j, x); // below the ratio at ρ = k
    if (u >= px / qx) continue; // at or above the ratio at ρ = 1
    if (!solved) {
      solveRho(beta, count, scratch);
      solved = true;
    }
    if (u < (px * scratch.invRho) / qx) return accept(ctx, j, x);
  }
  if (!solved) solveRho(beta, count, scratch);
  const mass = ctx.kernels.kseq_residual_f64(ctx.rPtr, p.byteOffset, q.byteOffset, p.length, scratch.invRho, scratch.c);
  return emitResidual(ctx, mass);
}
