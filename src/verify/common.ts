/**
 * Plain f64 helpers of the math layer (no RNG, no WASM): sums that avoid cancellation, hub
 * selection, and turning sequential tests into an outcome law. The inverse-CDF draw is the
 * sampling layer's (sampleIndex, sampleIndexExcept in src/sampling.ts).
 */
import { RESIDUAL_EPS, type LevelOutcome } from './types.js';

/** Whether `xs` contains `x` (small arrays: drafts, hub sets). */
export function includes(xs: ArrayLike<number>, x: number): boolean {
  for (let i = 0; i < xs.length; i++) if (xs[i] === x) return true;
  return false;
}

/** Sum of `xs` (in index order).  xs: [V] */
export function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}

/**
 * Sum of `xs` outside `excluded`, summed directly (so 1 - q(G) never cancels: docs/verifiers.md E8).
 */
export function sumExcept(xs: ArrayLike<number>, excluded: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) if (!includes(excluded, i)) s += xs[i]!;
  return s;
}

/** Number of entries > 0. */
export function supportSize(xs: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < xs.length; i++) if (xs[i]! > 0) n++;
  return n;
}

/**
 * The m largest positive entries of q, largest first, ties broken by the lower index (the same
 * rule as argmax). Fewer than m when q has fewer positive entries.  q: [V]
 */
export function topHubs(q: ArrayLike<number>, m: number): Int32Array {
  const idx: number[] = [];
  for (let i = 0; i < q.length; i++) if (q[i]! > 0) idx.push(i);
  idx.sort((a, b) => q[b]! - q[a]! || a - b);
  return Int32Array.from(idx.slice(0, m));
}

/**
 * min(1, max(0, num / den)) for num, den >= 0. A zero denominator gives 1 when num > 0 and 0 when
 * num = 0, as the fast path's `u < num / den` decides (num/0 = Infinity accepts, 0/0 = NaN
 * rejects): a product like M·q(x) can underflow to 0 only when the true ratio exceeds 1 (E17).
 */
export function clampRatio(num: number, den: number): number {
  if (!(den > 0)) return num > 0 ? 1 : 0;
  const r = num / den;
  return r >= 1 ? 1 : r > 0 ? r : 0;
}

/**
 * A multiplier c = num/den of the draft row, carried as (c, qScale) with c·(q·qScale) = num·q/den:
 * qScale = 1 and c = num/den, unless den is so small (below 2^-1000, e.g. a subnormal untried mass)
 * that num/den could overflow to Infinity — then qScale = 2^600 and c = num/(den·2^600). Scaling by
 * a power of two is exact, so the first form is c·q bit for bit, and the second never makes the
 * Infinity·0 = NaN that an overflowed c would make on tokens with q = 0 (E17). num must be <= ~1
 * (a residual mass, q(a), 1).
 */
export interface ScaledFactor {
  c: number;
  qScale: number;
}

/** Denominators below this take the scaled form of `scaledFactor`. */
export const SCALE_BELOW = 2 ** -1000;
/** The power of two q is scaled by in that form. */
export const Q_PRESCALE = 2 ** 600;

/**
 * A draw from `probs` outside the first `m` entries of `excluded`, whose mass there is `mass`, below
 * SCALE_BELOW, for a uniform u in [0, 1): the index where the running sum first passes u·mass. The
 * direct target u·mass would fall among f64 subnormals, whose fixed spacing (2^-1074) quantises it —
 * three untried tokens of q = 5e-324 were drawn 1/6, 1/3 and 1/2 of the time, and rrs-wo's output
 * left p (issue 11, E17) — so the sums and the target run on probs·Q_PRESCALE (exact: a power of
 * two). Callers use the plain inverse CDF (sampleIndexExcept, sample_except_f64) when mass >=
 * SCALE_BELOW. Returns the last candidate when rounding leaves the target unpassed, -1 when none.
 */
export function sampleSmallRest(probs: ArrayLike<number>, u: number, mass: number, excluded: ArrayLike<number>, m: number = excluded.length): number {
  const target = u * (mass * Q_PRESCALE);
  let acc = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    const v = probs[i]!;
    if (!(v > 0)) continue;
    let skip = false;
    for (let t = 0; t < m; t++) if (excluded[t] === i) skip = true;
    if (skip) continue;
    acc += v * Q_PRESCALE;
    last = i;
    if (acc > target) return i;
  }
  return last;
}

/** (c, qScale) for c = num/den (see ScaledFactor), written into `out` (no allocation). */
export function scaledFactor(num: number, den: number, out: ScaledFactor = { c: 0, qScale: 1 }): ScaledFactor {
  if (den >= SCALE_BELOW) {
    out.c = num / den;
    out.qScale = 1;
  } else {
    out.c = num / (den * Q_PRESCALE);
    out.qScale = Q_PRESCALE;
  }
  return out;
}

/**
 * The outcome law of the recursive rejection RRS and RRS-w/o share: drafts[j] = x is accepted with
 * min(1, r(x) / (c·q(x)·qScale)) against the current residual r (p at first), which then becomes
 * max(r − c·q·qScale, 0). `factor(x, mass)` checks draft x and gives (c, qScale) from the residual's
 * mass; the law stops early when that mass runs out.  p, q: [V]
 */
export function rejectionOutcome(p: Float64Array, q: Float64Array, drafts: ArrayLike<number>, factor: (x: number, mass: number) => ScaledFactor): LevelOutcome {
  const n = p.length;
  let r = Float64Array.from(p);
  let mass = 1;
  const order: number[] = [];
  const ratio: number[] = [];
  for (let j = 0; j < drafts.length; j++) {
    const x = drafts[j]!;
    const { c, qScale } = factor(x, mass);
    order.push(j);
    ratio.push(clampRatio(r[x]!, c * (q[x]! * qScale)));
    const next = new Float64Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      next[i] = Math.max(r[i]! - c * (q[i]! * qScale), 0);
      m += next[i]!;
    }
    r = next;
    mass = m;
    if (!(mass > RESIDUAL_EPS)) return finishOutcome(drafts.length, order, ratio, r, mass, p, true);
  }
  return finishOutcome(drafts.length, order, ratio, r, mass, p, false);
}

/**
 * Builds the outcome law of sequential tests: test t accepts slot order[t] with conditional
 * probability ratio[t]. The residual is normalised here; a residual of mass <= RESIDUAL_EPS (or
 * `fallback`) is replaced by p.  residual, p: [V]
 */
export function finishOutcome(
  count: number,
  order: readonly number[],
  ratio: readonly number[],
  residual: Float64Array,
  residualMass: number,
  p: ArrayLike<number>,
  fallback: boolean,
): LevelOutcome {
  const accept = new Float64Array(count);
  let reach = 1;
  for (let t = 0; t < order.length; t++) {
    accept[order[t]!]! += reach * ratio[t]!;
    reach *= 1 - ratio[t]!;
  }
  const useP = fallback || !(residualMass > RESIDUAL_EPS);
  const out = new Float64Array(p.length);
  if (useP) {
    const s = sum(p);
    for (let i = 0; i < p.length; i++) out[i] = p[i]! / s;
  } else {
    for (let i = 0; i < p.length; i++) out[i] = residual[i]! / residualMass;
  }
  return {
    order: Int32Array.from(order),
    ratio: Float64Array.from(ratio),
    accept,
    reject: reach,
    residual: out,
    fallback: useP,
  };
}

/** A copy of x divided by its sum (f64). */
export function normalize(x: ArrayLike<number>): Float64Array {
  const s = sum(x);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! / s;
  return out;
}
