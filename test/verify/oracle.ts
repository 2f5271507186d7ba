/**
 * Oracle A and B of docs/verifiers.md §11.1: enumerate every drafting outcome with its probability,
 * push it through the math layer, and collect the exact output law and acceptance.
 */
import fc from 'fast-check';
import type { MathMethod } from '../../src/verify/methods.js';
import { normalize } from '../../src/verify/common.js';
import type { DraftOutcome, LevelOutcome } from '../../src/verify/types.js';

/** What enumerating a method yields for (p, q, k). */
export interface ExactResult {
  /** Law of the emitted token.  [V] */
  out: Float64Array;
  /** P(continue into a child). */
  alpha: number;
  /** P(emitted token ∈ drafts) (the SpecTr / OTM notion). */
  member: number;
  /** Total probability of the drafting law (must be 1). */
  lawMass: number;
  /** Smallest residual entry seen before normalisation is not available here; min residual entry. */
  minResidual: number;
  /** Largest residual probability on a rejected draft, weighted by P(reject) > 0. */
  maxResidualOnRejected: number;
  /** The drafting law used. */
  law: DraftOutcome[];
}

/** The pieces of a method Oracle A needs (broken variants implement just these). */
export type LawAndOutcome = Pick<MathMethod, 'law' | 'outcome'>;

/** Enumerate: Σ_t Q(t) [Σ_j accept_j δ_{x_j} + reject · residual]. */
export function exactOutput(m: LawAndOutcome, p: Float64Array, q: Float64Array, k: number, hubs?: ArrayLike<number>): ExactResult {
  const n = p.length;
  const out = new Float64Array(n);
  let alpha = 0;
  let member = 0;
  let lawMass = 0;
  let minResidual = Infinity;
  let maxResidualOnRejected = 0;
  const law = m.law(q, k, hubs);
  for (const t of law) {
    lawMass += t.prob;
    const o: LevelOutcome = m.outcome(p, q, t.drafts, t.hubs.length > 0 ? t.hubs : undefined);
    for (let j = 0; j < t.drafts.length; j++) {
      out[t.drafts[j]!]! += t.prob * o.accept[j]!;
      alpha += t.prob * o.accept[j]!;
      member += t.prob * o.accept[j]!;
    }
    for (let y = 0; y < n; y++) {
      const mass = t.prob * o.reject * o.residual[y]!;
      out[y]! += mass;
      if (t.drafts.includes(y)) member += mass;
      minResidual = Math.min(minResidual, o.residual[y]!);
    }
    if (o.reject > 0 && !o.fallback) {
      for (const x of t.drafts) maxResidualOnRejected = Math.max(maxResidualOnRejected, o.residual[x]!);
    }
  }
  return { out, alpha, member, lawMass, minResidual, maxResidualOnRejected, law };
}

/** max_i |a_i - b_i| */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Total variation distance. */
export function tv(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / 2;
}


/**
 * A probability row of length v with exact zeros (weight 1/6), repeated values (ties, 1/6) and
 * spread positives; never all zero.
 */
export function probRow(v: number): fc.Arbitrary<Float64Array> {
  return fc
    .array(
      fc.oneof(
        { arbitrary: fc.constant(0), weight: 1 },
        { arbitrary: fc.constant(0.25), weight: 1 },
        { arbitrary: fc.double({ min: 1e-3, max: 1, noNaN: true }), weight: 4 },
      ),
      { minLength: v, maxLength: v },
    )
    .filter((a) => a.some((x) => x > 0))
    .map((a) => normalize(a));
}

/** (p, q) of a common length in [minV, maxV]. */
export function probPair(minV: number, maxV: number): fc.Arbitrary<[Float64Array, Float64Array]> {
  return fc.integer({ min: minV, max: maxV }).chain((v) => fc.tuple(probRow(v), probRow(v)));
}

/** Format a vector for messages. */
export function fmt(x: ArrayLike<number>): string {
  return `[${Array.from(x, (v) => +v.toPrecision(6)).join(', ')}]`;
}
