/**
 * Oracle A/B for every method (the contract in contracts.ts), plus the method-specific exactness
 * facts: SpecHub with every tie member forced as the hub (E7), multi-hub k > 2, K-SEQ at any
 * feasible ρ, and the residual guards.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VERIFIER_NAMES } from '../../src/verify/types.js';
import { mathMethod } from '../../src/verify/methods.js';
import { hubAcceptance, spechubLaw, spechubOutcome } from '../../src/verify/spechub.js';
import { iidLaw } from '../../src/verify/rrs.js';
import { kseqC, kseqOutcome, kseqRho } from '../../src/verify/kseq.js';
import { assertPreservesTarget, checkPreservesTarget, EXACT_TOL } from './contracts.js';
import { exactOutput, maxAbsDiff, probPair } from './oracle.js';
import { normalize } from '../../src/verify/common.js';

for (const name of VERIFIER_NAMES) assertPreservesTarget(name);

const spechubWithHubs = {
  law: (q: Float64Array, k: number, hubs?: ArrayLike<number>) => spechubLaw(q, k, hubs),
  outcome: (p: Float64Array, q: Float64Array, d: ArrayLike<number>, hubs?: ArrayLike<number>) => spechubOutcome(p, q, d, hubs),
};

describe('spechub: any stored hub is exact (E7)', () => {
  it('E7 two-way tie: each tie member forced as the hub, output law = p, α = p(a) + Σ min(p(i), q(i)/s)', () => {
    const p = normalize([0.1, 0.4, 0.3, 0.2]);
    const q = normalize([0.3, 0.3, 0.2, 0.2]);
    for (const a of [0, 1]) {
      const r = checkPreservesTarget(spechubWithHubs, p, q, 2, [a]);
      assert.ok(Math.abs(r.alpha - hubAcceptance(p, q, [a])) < EXACT_TOL);
    }
  });
  it('E7 three-way tie: each member forced as the hub (k = 2), and each ordered pair as G (k = 3)', () => {
    const p = normalize([0.05, 0.1, 0.15, 0.3, 0.4]);
    const q = normalize([0.25, 0.25, 0.25, 0.125, 0.125]);
    for (const a of [0, 1, 2]) checkPreservesTarget(spechubWithHubs, p, q, 2, [a]);
    for (const g of [[0, 1], [1, 0], [0, 2], [2, 1], [1, 2]]) {
      const r = checkPreservesTarget(spechubWithHubs, p, q, 3, g);
      assert.ok(Math.abs(r.alpha - hubAcceptance(p, q, g)) < EXACT_TOL);
    }
  });
  it('random (p, q) with a random positive-q hub set of size k - 1 (k = 2, 3): exact', () => {
    fc.assert(
      fc.property(probPair(3, 7), fc.integer({ min: 2, max: 3 }), fc.integer(), ([p, q], k, seed) => {
        const support = [...q.keys()].filter((i) => q[i]! > 0);
        fc.pre(support.length >= k);
        // a pseudo-random hub set from the support (not the top of q)
        const hubs: number[] = [];
        let s = Math.abs(seed);
        while (hubs.length < k - 1) {
          const c = support[s % support.length]!;
          if (!hubs.includes(c)) hubs.push(c);
          s = (s * 1103515245 + 12345) >>> 0;
        }
        const r = checkPreservesTarget(spechubWithHubs, p, q, k, hubs);
        assert.ok(Math.abs(r.alpha - hubAcceptance(p, q, hubs)) < EXACT_TOL);
      }),
      { numRuns: 200, seed: 0x5eed04 },
    );
  });
});

describe('spechub: drafting law (docs/verifiers.md §4.1)', () => {
  it('k = 2: first-draft marginal is q, drafts distinct, hub always drafted, pair mass q(i)/(1 - q(a))', () => {
    fc.assert(
      fc.property(probPair(2, 8), ([, q]) => {
        const law = spechubLaw(q, 2);
        fc.pre(law[0]!.drafts.length === 2);
        const a = law[0]!.hubs[0]!;
        const first = new Float64Array(q.length);
        const pair = new Float64Array(q.length);
        for (const t of law) {
          first[t.drafts[0]!]! += t.prob;
          assert.notEqual(t.drafts[0], t.drafts[1]);
          assert.ok(t.drafts[0] === a || t.drafts[1] === a);
          pair[t.drafts[0] === a ? t.drafts[1]! : t.drafts[0]!]! += t.prob;
        }
        assert.ok(maxAbsDiff(first, q) < EXACT_TOL);
        const s = 1 - q[a]!;
        for (let i = 0; i < q.length; i++) if (i !== a) assert.ok(Math.abs(pair[i]! - q[i]! / s) < 1e-9);
      }),
      { numRuns: 150, seed: 0x5eed05 },
    );
  });
  it('k = 3: as a set, G ∪ {X} with X ~ q(.|∉G) (Hu et al. greedy law)', () => {
    fc.assert(
      fc.property(probPair(3, 7), ([, q]) => {
        const law = spechubLaw(q, 3);
        fc.pre(law[0]!.drafts.length === 3);
        const g = law[0]!.hubs;
        const xLaw = new Float64Array(q.length);
        for (const t of law) {
          const outside = Array.from(t.drafts).filter((x) => !g.includes(x));
          assert.equal(outside.length, 1);
          for (const h of g) assert.ok(t.drafts.includes(h));
          xLaw[outside[0]!]! += t.prob;
        }
        const s = q.reduce((acc, v, i) => (g.includes(i) ? acc : acc + v), 0);
        for (let i = 0; i < q.length; i++) assert.ok(Math.abs(xLaw[i]! - (g.includes(i) ? 0 : q[i]! / s)) < 1e-12);
      }),
      { numRuns: 150, seed: 0x5eed06 },
    );
  });
});

describe('k-seq: exact for any ρ with c(ρ) <= ρ, biased when c(ρ) > ρ', () => {
  const kseqAt = (rho: number) => ({
    law: (q: Float64Array, k: number) => iidLaw(q, k),
    outcome: (p: Float64Array, q: Float64Array, d: ArrayLike<number>) => kseqOutcome(p, q, d, rho),
  });
  it('random (p, q), k in {2, 3}, ρ uniform in [ρ*, k]: output law = p (so bisection error cannot break exactness)', () => {
    fc.assert(
      fc.property(probPair(2, 6), fc.integer({ min: 2, max: 3 }), fc.double({ min: 0, max: 1, noNaN: true }), ([p, q], k, t) => {
        const { rho } = kseqRho(p, q, k);
        const r = rho + t * (k - rho);
        const b = q.reduce((acc, v, i) => acc + Math.min(v, p[i]! / r), 0);
        fc.pre(kseqC(b, k) <= r);
        checkPreservesTarget(kseqAt(r), p, q, k);
      }),
      { numRuns: 200, seed: 0x5eed07 },
    );
  });
  it('G1, k = 2 at ρ = 1.2 (c(ρ) > ρ): the clipped residual breaks the law', () => {
    const p = normalize([0.5, 0.3, 0.15, 0.05]);
    const q = normalize([0.4, 0.1, 0.3, 0.2]);
    const b = q.reduce((acc, v, i) => acc + Math.min(v, p[i]! / 1.2), 0);
    assert.ok(kseqC(b, 2) > 1.2);
    const r = exactOutput(kseqAt(1.2), p, q, 2);
    assert.ok(maxAbsDiff(r.out, p) > 1e-3);
  });
  it('the solver returns the smallest feasible ρ: c(ρ*)/ρ* <= 1, and no ρ below ρ* - 1e-9 is feasible (grid of 50)', () => {
    fc.assert(
      fc.property(probPair(2, 8), fc.integer({ min: 2, max: 6 }), ([p, q], k) => {
        const { rho, invRho, c } = kseqRho(p, q, k);
        assert.ok(c * invRho <= 1 && rho >= 1 && rho <= k + 1e-12);
        const feasible = (r: number) => kseqC(q.reduce((acc, v, i) => acc + Math.min(v, p[i]! / r), 0), k) <= r;
        for (let g = 0; g < 50; g++) {
          const r = 1 + ((rho - 1e-9 - 1) * g) / 49;
          if (r < rho - 1e-9) assert.ok(!feasible(r), `ρ = ${r} < ρ* = ${rho} is feasible`);
        }
      }),
      { numRuns: 300, seed: 0x5eed08 },
    );
  });
});

describe('residual guard (E10): a residual of mass <= 1e-12 falls back to p', () => {
  it('p = q: α = 1, the rejection branch has probability 0 and its law is p, for every method', () => {
    const p = normalize([0.1, 0.2, 0.3, 0.4]);
    for (const name of VERIFIER_NAMES) {
      const m = mathMethod(name);
      for (const k of name === 'sd' ? [1] : [1, 2, 3]) {
        for (const t of m.law(p, k)) {
          const o = m.outcome(p, p, t.drafts, t.hubs.length ? t.hubs : undefined);
          assert.ok(o.reject < 1e-15, `${name} k=${k}: reject ${o.reject}`);
          assert.ok(o.residual.every((v) => Number.isFinite(v) && v >= 0));
          assert.ok(Math.abs(o.residual.reduce((a, b) => a + b, 0) - 1) < 1e-12);
        }
      }
    }
  });
});
