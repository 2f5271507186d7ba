/**
 * Recursive rejection sampling without replacement (Jeon et al. 2024, "Recursive Speculative
 * Decoding"; Sequoia; docs/verifiers.md §3).
 *
 *   x_j ~ q_j = q restricted to the untried tokens, q_j(y) = q(y) / U_j, U_j = Σ_{untried} q
 *   (stop early when U_j = 0: fewer than k drafts)
 *   r = p, M = 1
 *   for j = 1..k:  c = M / U_j                  (as c·(q·qScale) when U_j is subnormal: E17)
 *                  accept x_j if u_j < r(x_j) / (c q(x_j))          (= r̂(x_j) / q_j(x_j))
 *                  else r = max(r - c q, 0), M = Σ r
 *   emit y ~ r / M                           (p itself when M <= 1e-12: E10)
 *
 * Exact by the same backward induction as RRS, conditional on the tried set: a rejected token has
 * r(x) = 0 afterwards, so max(r - c q, 0) already vanishes on tried tokens and q needs no mask.
 * U_j is a direct sum over the untried tokens (never 1 - Σ q(tried)), stored per node by the drafter.
 */
import type { Rng } from '../rng.js';
import { InvalidArgumentError } from '../errors.js';
import { includes, Q_PRESCALE, rejectionOutcome, sampleSmallRest, SCALE_BELOW, scaledFactor, sumExcept } from './common.js';
import { sampleIndex, sampleIndexExcept } from '../sampling.js';
import type { NodeCtx } from './node-ctx.js';
import { verifyRejectionNode } from './rrs.js';
import { assertDrafted, overlap } from './sd.js';
import type { DraftOutcome, LevelOutcome, VerifyResult } from './types.js';

// ---- math layer ----

/** Outcome law of one RRS-w/o step for distinct drafts in slot order.  p, q: [V] */
export function rrsWoOutcome(p: Float64Array, q: Float64Array, drafts: ArrayLike<number>): LevelOutcome {
  // RRS-w/o scales q to the mass not yet tried: c = mass / untried
  const tried: number[] = [];
  return rejectionOutcome(p, q, drafts, (x, mass) => {
    assertDrafted(q, x, 'rrs-wo');
    if (includes(tried, x)) throw new InvalidArgumentError(`rrs-wo: expected distinct drafts, got ${x} twice`);
    const untried = tried.length === 0 ? 1 : sumExcept(q, tried);
    tried.push(x);
    return scaledFactor(mass, untried);
  });
}

/** The successive-sampling law: ordered distinct tuples, stopping early when q is exhausted. */
export function woLaw(q: Float64Array, k: number): DraftOutcome[] {
  const out: DraftOutcome[] = [];
  const tried: number[] = [];
  const rec = (prob: number): void => {
    const untried = tried.length === 0 ? 1 : sumExcept(q, tried);
    if (tried.length === k || !(untried > 0)) {
      out.push({ drafts: Int32Array.from(tried), prob, hubs: new Int32Array(0) });
      return;
    }
    for (let x = 0; x < q.length; x++) {
      if (!(q[x]! > 0) || includes(tried, x)) continue;
      tried.push(x);
      rec(prob * (q[x]! / untried)); // q(x)/U first: prob·q(x) can underflow when both are tiny (E17)
      tried.pop();
    }
  };
  rec(1);
  return out;
}

/** Reference drafting without replacement: one uniform per draft, none once q is exhausted. */
export function drawWithoutReplacement(q: ArrayLike<number>, k: number, rng: Rng): Int32Array {
  const tried: number[] = [];
  for (let j = 0; j < k; j++) {
    if (j === 0) {
      tried.push(sampleIndex(q, rng.next()));
      continue;
    }
    const untried = sumExcept(q, tried);
    if (!(untried > 0)) break;
    const u = rng.next();
    tried.push(untried < SCALE_BELOW ? sampleSmallRest(q, u, untried, tried) : sampleIndexExcept(q, u * untried, tried));
  }
  return Int32Array.from(tried);
}

/** (s, e) with s + e = a + b exactly (Knuth's TwoSum). */
function twoSum(a: number, b: number): [number, number] {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

/**
 * Largest V_support^(k-1) the exact acceptance accepts (its cost is that times log V).
 * Beyond it, estimate by sampling (bench/verify.bench.ts does).
 */
export const RRS_WO_EXACT_BUDGET = 5e7;

/**
 * Exact acceptance of RRS without replacement, as the path sum of docs/verifiers.md §3.5, evaluated in
 * O(V^(k-1) log V) instead of O(V^k): after the first rejection the residual is always
 * max(r1 - C q, 0) for r1 = max(p - q, 0) and a scalar C that grows along the path, so with
 * F(C) = Σ min(r1, C q) (sorted breakpoints r1/q and prefix sums)
 *   β_j = (F(C + c) - F(C)) / M,  M = Σ max(r1 - C q, 0),  c = M / U_j.
 * Untried masses U_j come from ascending prefix sums (no cancellation when q is concentrated). With
 * subnormal q entries the same sums run on q·2^600, so C and the breakpoints stay finite (E17).
 * @throws InvalidArgumentError when V_support^(k-1) exceeds RRS_WO_EXACT_BUDGET (the arguments are
 *   outside what the exact evaluation does, as the README documents for verifier input; estimate by sampling).
 */
export function rrsWoAcceptance(p: ArrayLike<number>, q: ArrayLike<number>, k: number): number {
  const n = p.length;
  const beta1 = overlap(p, q);
  if (k === 1) return beta1;
  const support: number[] = [];
  for (let i = 0; i < n; i++) if (q[i]! > 0) support.push(i);
  // paths end when q is exhausted: at most |supp q| drafts are made (E5)
  const depth = Math.min(k, support.length);
  if (Math.pow(support.length, depth - 1) > RRS_WO_EXACT_BUDGET) {
    throw new InvalidArgumentError(
      `rrs-wo acceptance: expected at most ${RRS_WO_EXACT_BUDGET} paths for the exact evaluation, got ${support.length}^${depth - 1} (support^(k-1)); estimate it by sampling`,
    );
  }
  const r1 = new Float64Array(n);
  for (let i = 0; i < n; i++) r1[i] = Math.max(p[i]! - q[i]!, 0);
  // The evaluation works on qq = q·qs. With an entry of q below 2^-1000 (E17) the untried masses
  // can be subnormal, and c = M/U and the breakpoints r1/q overflow; qs = 2^600 (exact) moves C
  // into range as C/2^600. Otherwise qs = 1 and qq is q.
  let minQ = Infinity;
  for (const y of support) minQ = Math.min(minQ, q[y]!);
  const qs = minQ < SCALE_BELOW ? Q_PRESCALE : 1;
  const qq = new Float64Array(n);
  for (let i = 0; i < n; i++) qq[i] = q[i]! * qs;

  // Breakpoints b_y = r1(y)/qq(y) over the support, ascending, with prefix sums of r1 and qq.
  const sorted = support.slice().sort((a, b) => r1[a]! / qq[a]! - r1[b]! / qq[b]!);
  const bp = new Float64Array(sorted.length);
  const rPre = new Float64Array(sorted.length + 1); // Σ r1 over the first i
  const qSuf = new Float64Array(sorted.length + 1); // Σ qq from i on
  for (let i = 0; i < sorted.length; i++) {
    bp[i] = r1[sorted[i]!]! / qq[sorted[i]!]!;
    rPre[i + 1] = rPre[i]! + r1[sorted[i]!]!;
  }
  for (let i = sorted.length - 1; i >= 0; i--) qSuf[i] = qSuf[i + 1]! + qq[sorted[i]!]!;
  let r1Off = 0; // r1 mass where q = 0 (never matched by any draft)
  for (let i = 0; i < n; i++) if (!(q[i]! > 0)) r1Off += r1[i]!;
  const cut = (c: number): number => {
    // number of breakpoints <= c
    let lo = 0;
    let hi = bp.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bp[mid]! <= c) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // F(c2) - F(c1) for c1 <= c2, summed without subtracting the two totals.
  const deltaF = (c1: number, c2: number): number => {
    const i1 = cut(c1);
    const i2 = cut(c2);
    let mid = 0;
    for (let i = i1; i < i2; i++) mid += r1[sorted[i]!]! - c1 * qq[sorted[i]!]!;
    return mid + (c2 - c1) * qSuf[i2]!;
  };
  // Σ max(r1 - C qq, 0)
  const massAt = (c: number): number => {
    const i = cut(c);
    let m = r1Off;
    for (let t = i; t < sorted.length; t++) m += r1[sorted[t]!]! - c * qq[sorted[t]!]!;
    return m;
  };

  // Untried masses without cancellation (E8): with the support sorted by q ascending and prefix
  // sums of it (double-double), Σ_{untried} q = prefix(j) - Σ_{tried below j} q, where j is the
  // highest untried position. Every tried token below j has q <= q(j) <= the untried mass, so the
  // subtraction loses at most log2(k) bits, however small the untried mass is next to the total
  // (a total minus the tried tokens would lose it all: q = [.99985, 1.3e-4, 6e-19, 6e-64, 2e-73]).
  const asc = support.slice().sort((a, b) => q[a]! - q[b]! || a - b);
  const posAsc = new Int32Array(n).fill(-1);
  asc.forEach((y, i) => (posAsc[y] = i));
  const preHi = new Float64Array(asc.length + 1);
  const preLo = new Float64Array(asc.length + 1);
  for (let i = 0; i < asc.length; i++) {
    const [s, e] = twoSum(preHi[i]!, q[asc[i]!]!);
    preHi[i + 1] = s;
    preLo[i + 1] = preLo[i]! + e;
  }
  const untriedMass = (tried: readonly number[]): number => {
    let j = asc.length - 1;
    while (j >= 0 && includes(tried, asc[j]!)) j--;
    if (j < 0) return 0;
    let hi = preHi[j + 1]!;
    let lo = preLo[j + 1]!;
    for (const x of tried) {
      if (posAsc[x]! > j) continue;
      const [s, e] = twoSum(hi, -q[x]!);
      hi = s;
      lo += e;
    }
    return hi + lo;
  };

  const n1 = massAt(0);
  // Probability of accepting at step >= j, given step j is reached with residual max(r1 - C q, 0)
  // of mass M after the tokens in `tried` were rejected.
  const tail = (j: number, cAcc: number, m: number, tried: number[]): number => {
    const untried = untriedMass(tried);
    if (!(untried > 0) || !(m > 0)) return 0;
    const c = m / (untried * qs); // M/U on the qq scale
    const beta = deltaF(cAcc, cAcc + c) / m;
    if (j === k) return beta;
    const cNext = cAcc + c;
    const mNext = massAt(cNext);
    let rest = 0;
    for (const x of support) {
      if (includes(tried, x)) continue;
      const rx = Math.max(r1[x]! - cAcc * qq[x]!, 0);
      // P(x drafted and rejected | reached) = (q(x)/U - r(x)/M)⁺, in a form that cannot overflow
      const reject = Math.max(q[x]! / untried - rx / m, 0);
      if (reject > 0) {
        tried.push(x);
        rest += reject * tail(j + 1, cNext, mNext, tried);
        tried.pop();
      }
    }
    return beta + rest;
  };
  let rest = 0;
  for (const x of support) {
    const reject = Math.max(q[x]! - p[x]!, 0);
    if (reject > 0) rest += reject * tail(2, 0, n1, [x]);
  }
  return beta1 + rest;
}

// ---- fast layer ----

/** Insert x into the ascending list idx[0..m) (m small). */
export function insertSorted(idx: Int32Array, m: number, x: number): void {
  let i = m;
  while (i > 0 && idx[i - 1]! > x) {
    idx[i] = idx[i - 1]!;
    i--;
  }
  idx[i] = x;
}

/**
 * Up to ctx.k distinct drafts from ctx.q (successive sampling) into ctx.drafts; the untried masses
 * go to ctx.meta.mass. Returns the count (< k when q's support is exhausted).
 */
export function draftWoNode(ctx: NodeCtx): number {
  const { q, k, rng, meta, idx, drafts: out } = ctx;
  const n = q.length;
  const qPtr = q.byteOffset;
  let count = 0;
  for (let j = 0; j < k; j++) {
    let untried = 1;
    if (j > 0) {
      insertSorted(idx, j - 1, out[j - 1]!);
      untried = ctx.kernels.sum_except_f64(qPtr, n, ctx.idxPtr, j);
      if (!(untried > 0)) break;
    }
    meta.mass[j] = untried;
    const u = rng.next();
    const x =
      j === 0 ? ctx.kernels.sample_f64(qPtr, n, u)
      : untried < SCALE_BELOW ? sampleSmallRest(q, u, untried, idx, j) // a subnormal untried mass (E17)
      : ctx.kernels.sample_except_f64(qPtr, n, u * untried, ctx.idxPtr, j);
    if (x < 0) break;
    out[j] = x;
    count++;
  }
  meta.count = count;
  return count;
}

/** Fill ctx.meta.mass for ctx.count given distinct drafts (what draftWoNode records), for callers without meta. */
export function woMasses(ctx: NodeCtx): void {
  const { q, drafts, count, meta } = ctx;
  meta.mass[0] = 1;
  for (let j = 1; j < count; j++) {
    insertSorted(ctx.idx, j - 1, drafts[j - 1]!);
    meta.mass[j] = ctx.kernels.sum_except_f64(q.byteOffset, q.length, ctx.idxPtr, j);
  }
  meta.count = count;
}

/** One RRS-w/o verification of ctx.count drafts with their untried masses in ctx.meta.mass. */
export function verifyWoNode(ctx: NodeCtx): VerifyResult {
  return verifyRejectionNode(ctx, 'rrs-wo', ctx.meta.mass);
}
