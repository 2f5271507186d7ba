/**
 * The verifier contract, written once and run for every method (so a new method gets every check):
 * Oracle A (the emitted token is distributed exactly as p), Oracle B (the enumerated acceptance
 * equals the method's closed form), and the residual facts of Oracle E.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mathMethod, type MathMethod } from '../../src/verify/methods.js';
import type { VerifierName } from '../../src/verify/types.js';
import { EDGE_CASES, softmax } from './cases.js';
import { exactOutput, fmt, maxAbsDiff, probPair, type ExactResult, type LawAndOutcome } from './oracle.js';
import { normalize } from '../../src/verify/common.js';

/** Exactness tolerance of Oracle A (docs/verifiers.md §11.1). */
export const EXACT_TOL = 1e-12;

/**
 * Oracle A for one (p, q, k): throws an AssertionError unless the drafting law has mass 1 and
 * the output law equals p to EXACT_TOL.
 */
export function checkPreservesTarget(m: LawAndOutcome, p: Float64Array, q: Float64Array, k: number, hubs?: ArrayLike<number>): ExactResult {
  const r = exactOutput(m, p, q, k, hubs);
  assert.ok(Math.abs(r.lawMass - 1) < EXACT_TOL, `drafting law mass ${r.lawMass} != 1`);
  const err = maxAbsDiff(r.out, p);
  assert.ok(err < EXACT_TOL, `output law ${fmt(r.out)} != p ${fmt(p)} (max err ${err.toExponential(2)}) for q ${fmt(q)}, k=${k}`);
  return r;
}

/** Oracle A + B + E for one instance of a real method. */
export function checkMethod(m: MathMethod, p: Float64Array, q: Float64Array, k: number, membershipEqualsAcceptance: boolean): void {
  const r = checkPreservesTarget(m, p, q, k);
  const closed = m.acceptance(p, q, k);
  assert.ok(Math.abs(r.alpha - closed) < EXACT_TOL, `${m.name}: enumerated α ${r.alpha} != closed form ${closed} (p ${fmt(p)}, q ${fmt(q)}, k=${k})`);
  assert.ok(r.minResidual >= 0, `${m.name}: negative residual entry ${r.minResidual}`);
  if (membershipEqualsAcceptance) {
    assert.ok(r.maxResidualOnRejected < EXACT_TOL, `${m.name}: residual puts ${r.maxResidualOnRejected} on a rejected draft`);
    assert.ok(Math.abs(r.member - r.alpha) < EXACT_TOL, `${m.name}: membership ${r.member} != acceptance ${r.alpha}`);
  }
}

/** Which k a method takes in the contract. */
function ksFor(name: VerifierName, max: number): number[] {
  return name === 'sd' ? [1] : Array.from({ length: max }, (_, i) => i + 1);
}

/**
 * Registers the contract tests of a method: random (p, q) with V <= 8 and k <= 3 (k <= 4 for
 * V <= 5), every named edge case, and peaked rows from low-temperature logits (E10).
 */
export function assertPreservesTarget(name: VerifierName): void {
  const m = mathMethod(name);
  const member = name !== 'k-seq';
  describe(`${name}: preserves the target exactly (Oracle A) with the closed-form α (Oracle B)`, () => {
    it('random (p, q) with zeros and ties, V in [1, 8], k in [1, 3]: output law = p to 1e-12', () => {
      fc.assert(
        fc.property(probPair(1, 8), fc.constantFrom(...ksFor(name, 3)), ([p, q], k) => checkMethod(m, p, q, k, member)),
        { numRuns: 250, seed: 0x5eed01 },
      );
    });
    if (name !== 'sd') {
      it('random (p, q), V in [2, 5], k = 4', () => {
        fc.assert(fc.property(probPair(2, 5), ([p, q]) => checkMethod(m, p, q, 4, member)), { numRuns: 60, seed: 0x5eed02 });
      });
    }
    for (const c of EDGE_CASES) {
      it(`${c.name}: exact for k = ${ksFor(name, 3).join(', ')}`, () => {
        const p = normalize(c.p);
        const q = normalize(c.q);
        for (const k of ksFor(name, 3)) checkMethod(m, p, q, k, member);
      });
    }
    it('E10 peaked rows (logits / T, T in {0.05, 0.1}): exact, never NaN', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 7 }).chain((v) =>
            fc.tuple(
              fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: v, maxLength: v }),
              fc.array(fc.double({ min: -0.5, max: 0.5, noNaN: true }), { minLength: v, maxLength: v }),
            ),
          ),
          fc.constantFrom(0.05, 0.1),
          fc.constantFrom(...ksFor(name, 3)),
          ([logits, noise], t, k) => {
            const p = softmax(logits, t);
            const q = softmax(
              logits.map((l, i) => l + noise[i]!),
              t,
            );
            checkMethod(m, p, q, k, member);
          },
        ),
        { numRuns: 200, seed: 0x5eed03 },
      );
    });
  });
}
