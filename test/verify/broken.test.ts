/**
 * Oracle A must catch the known ways to get a verifier wrong (docs/verifiers.md §2.4, E9, E11,
 * E15): each deliberately broken variant below is fed to the same check the real methods pass,
 * and the check must fail, with the biased law the reference gives where it gives one.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clampRatio, finishOutcome, includes, normalize } from '../../src/verify/common.js';
import { iidLaw, rrsOutcome } from '../../src/verify/rrs.js';
import { woLaw } from '../../src/verify/rrs-wo.js';
import { spechubLaw, spechubOutcome } from '../../src/verify/spechub.js';
import type { LevelOutcome } from '../../src/verify/types.js';
import { checkPreservesTarget } from './contracts.js';
import { exactOutput, maxAbsDiff, tv } from './oracle.js';

/** RRS that skips a sibling already seen (the authors' EAGLE RRS): no test, no residual update. */
function rrsDedupOutcome(p: Float64Array, q: Float64Array, drafts: ArrayLike<number>): LevelOutcome {
  const n = p.length;
  let r = Float64Array.from(p);
  let mass = 1;
  const order: number[] = [];
  const ratio: number[] = [];
  const seen: number[] = [];
  for (let j = 0; j < drafts.length; j++) {
    const x = drafts[j]!;
    if (includes(seen, x)) continue; // the bug
    seen.push(x);
    order.push(j);
    ratio.push(clampRatio(r[x]!, mass * q[x]!));
    const next = Float64Array.from(r, (v, i) => Math.max(v - mass * q[i]!, 0));
    mass = next.reduce((a, b) => a + b, 0);
    r = next;
  }
  return finishOutcome(drafts.length, order, ratio, r, mass, p, false);
}

/** RRS with one uniform shared by every test (E15): P(u < a2 | u >= a1) = (a2 - a1)^+ / (1 - a1). */
function rrsSharedUniformOutcome(p: Float64Array, q: Float64Array, drafts: ArrayLike<number>): LevelOutcome {
  const o = rrsOutcome(p, q, drafts);
  const order = Array.from(o.order);
  const ratio: number[] = [];
  let floor = 0; // u is known to be >= floor after the earlier tests failed
  for (const a of o.ratio) {
    ratio.push(floor >= 1 ? 0 : Math.max(a - floor, 0) / (1 - floor));
    floor = Math.max(floor, a);
  }
  const residual = Float64Array.from(o.residual);
  return finishOutcome(drafts.length, order, ratio, residual, 1, p, false);
}

describe('Oracle A detects broken verifiers', () => {
  it('E11: RRS that skips duplicate drafts gives [.5, .2905, .2095] on q = [.9, .05, .05], p = [.5, .3, .2], k = 3', () => {
    const p = normalize([0.5, 0.3, 0.2]);
    const q = normalize([0.9, 0.05, 0.05]);
    const broken = { law: iidLaw, outcome: rrsDedupOutcome };
    assert.throws(() => checkPreservesTarget(broken, p, q, 3), assert.AssertionError);
    const r = exactOutput(broken, p, q, 3);
    assert.ok(maxAbsDiff(r.out, [0.5, 0.2905, 0.2095]) < 1e-9, `got ${Array.from(r.out)}`);
    assert.ok(Math.abs(tv(r.out, p) - 0.0095) < 1e-9);
    // Its acceptance is unchanged (a duplicate is always rejected): the bug hides in the law only.
    const good = exactOutput({ law: iidLaw, outcome: rrsOutcome }, p, q, 3);
    assert.ok(Math.abs(r.alpha - good.alpha) < 1e-12);
  });
  it('E15: RRS reusing one uniform for both tests gives [.4867, .3133, .15, .05] on G1, k = 2', () => {
    const p = normalize([0.5, 0.3, 0.15, 0.05]);
    const q = normalize([0.4, 0.1, 0.3, 0.2]);
    const broken = { law: iidLaw, outcome: rrsSharedUniformOutcome };
    assert.throws(() => checkPreservesTarget(broken, p, q, 2), assert.AssertionError);
    const r = exactOutput(broken, p, q, 2);
    assert.ok(maxAbsDiff(r.out, [0.4867, 0.3133, 0.15, 0.05]) < 1e-4, `got ${Array.from(r.out)}`);
    assert.ok(Math.abs(tv(r.out, p) - 0.0133) < 1e-3);
  });
  it('RRS-w/o verified as if the drafts were i.i.d. (q instead of the conditional q_j): biased', () => {
    const p = normalize([0.5, 0.3, 0.15, 0.05]);
    const q = normalize([0.4, 0.1, 0.3, 0.2]);
    const broken = { law: woLaw, outcome: rrsOutcome };
    assert.throws(() => checkPreservesTarget(broken, p, q, 2), assert.AssertionError);
  });
  it('E9: SpecHub with the authors\' p(a) > 1 - 1e-3 short-cut is off by 1 - p(a)', () => {
    const p = normalize([1 - 1e-4, 5e-5, 5e-5]);
    const q = normalize([0.6, 0.3, 0.1]);
    const shortcut = (pp: Float64Array, qq: Float64Array, d: ArrayLike<number>): LevelOutcome => {
      const a = 0;
      if (pp[a]! > 1 - 1e-3) {
        const slot = d[0] === a ? 0 : 1;
        return finishOutcome(2, [slot], [1], new Float64Array(pp.length), 0, pp, false);
      }
      return spechubOutcome(pp, qq, d);
    };
    const broken = { law: (qq: Float64Array, k: number) => spechubLaw(qq, k), outcome: shortcut };
    assert.throws(() => checkPreservesTarget(broken, p, q, 2), assert.AssertionError);
    const r = exactOutput(broken, p, q, 2);
    assert.ok(Math.abs(tv(r.out, p) - (1 - p[0]!)) < 1e-12);
  });
  it('E7: SpecHub whose verifier recomputes a different hub than the drafter used: biased', () => {
    const p = normalize([0.1, 0.4, 0.3, 0.2]);
    const q = normalize([0.3, 0.3, 0.2, 0.2]);
    // drafted with hub 0, verified with hub 1 wherever the drafts allow it
    const broken = {
      law: (qq: Float64Array, k: number) => spechubLaw(qq, k, [0]),
      outcome: (pp: Float64Array, qq: Float64Array, d: ArrayLike<number>) =>
        d[0] === 1 || d[1] === 1 ? spechubOutcome(pp, qq, d, [1]) : spechubOutcome(pp, qq, d, [0]),
    };
    assert.throws(() => checkPreservesTarget(broken, p, q, 2), assert.AssertionError);
  });
});
