/**
 * Oracle C (docs/verifiers.md §11.1): seeded sampling through the WASM NodeVerifier, draft + verify,
 * for every method. Each test's false-failure probability is at most 1e-6: its m assertions each
 * use the threshold 1e-6 / m (Bonferroni). Seeds are fixed, so CI is deterministic; the bound
 * states how unlikely a failure of a correct implementation would be over seeds.
 * - V = 6 with zeros in p and q, k = 3, N = 200 000: the emitted-token histogram against p
 *   (chi-square), the accepted-slot histogram against the exact per-slot law (chi-square), and
 *   the accept rate against α (two-sided z-test).
 * - V = 32 000, top-p/top-k truncated Zipf pairs, k = 2, N = 20 000: token histogram against p
 *   (bins merged to expected >= 5; a token with p = 0 must never appear) and the accept rate.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeRuntime } from '../../src/node.js';
import { createRng } from '../../src/rng.js';
import { mathMethod, sampleOutcome } from '../../src/verify/methods.js';
import { NodeVerifier } from '../../src/verify/node-verifier.js';
import { iidLaw } from '../../src/verify/rrs.js';
import { createNodeMeta, VERIFIER_NAMES, type VerifierName } from '../../src/verify/types.js';
import { softmax, SUBNORMAL_CASES } from './cases.js';
import { chiSquareSurvival, chiSquareTest, normalTwoSided } from './stats.js';
import { clampRatio, finishOutcome, includes, normalize } from '../../src/verify/common.js';

const FALSE_FAIL = 1e-6;
const rt = createNodeRuntime();
const MAX_V = 32000;
const P = rt.arena.alloc('stat.p', 8 * MAX_V).ptr;
const Q = rt.arena.alloc('stat.q', 8 * MAX_V).ptr;
const verifiers = Object.fromEntries(VERIFIER_NAMES.map((m) => [m, NodeVerifier.create(rt, m, { maxVocab: MAX_V, maxK: 4 })]));

/** Draft + verify n times; returns token counts, slot counts (index k = rejected) and accepts. */
function sample(name: VerifierName, p: Float64Array, q: Float64Array, k: number, n: number, seed: number) {
  const pv = rt.f64(P, p.length);
  const qv = rt.f64(Q, q.length);
  pv.set(p);
  qv.set(q);
  const v = verifiers[name]!;
  const rng = createRng(seed);
  const drafts = new Int32Array(4);
  const meta = createNodeMeta(4);
  const tokens = new Float64Array(p.length);
  const slots = new Float64Array(k + 1);
  let accepted = 0;
  for (let t = 0; t < n; t++) {
    const count = v.draftInto(qv, k, rng, drafts, meta);
    const r = v.verifyNode(pv, qv, drafts, count, meta, rng);
    tokens[r.token]!++;
    slots[r.accepted < 0 ? k : r.accepted]!++;
    if (r.accepted >= 0) accepted++;
  }
  return { tokens, slots, accepted };
}

/** z-test p-value of `hits` successes in n against probability a. */
function rateP(hits: number, n: number, a: number): number {
  const sd = Math.sqrt((a * (1 - a)) / n);
  if (sd === 0) return hits === Math.round(a * n) ? 1 : 0;
  return normalTwoSided((hits / n - a) / sd);
}

describe('statistics helpers', () => {
  it('chi-square and normal tail probabilities match tables', () => {
    const close = (a: number, b: number) => Math.abs(a - b) < 1e-6 * Math.max(b, 1e-12) + 1e-9;
    assert.ok(close(chiSquareSurvival(3.841459, 1), 0.05));
    assert.ok(close(chiSquareSurvival(18.307038, 10), 0.05));
    assert.ok(close(chiSquareSurvival(124.342113, 100), 0.05));
    assert.ok(Math.abs(chiSquareSurvival(2 * Math.log(1e6), 2) - 1e-6) < 1e-15);
    assert.ok(close(normalTwoSided(1.959964), 0.05));
    assert.ok(close(normalTwoSided(5), 5.733031e-7));
  });
  it('power: the chi-square test rejects the E11 duplicate-skipping RRS at N = 200 000 (p-value < 1e-6)', () => {
    const p = normalize([0.5, 0.3, 0.2]);
    const q = normalize([0.9, 0.05, 0.05]);
    const dedup = (d: ArrayLike<number>) => {
      let r = Float64Array.from(p);
      let mass = 1;
      const order: number[] = [];
      const ratio: number[] = [];
      const seen: number[] = [];
      for (let j = 0; j < d.length; j++) {
        if (includes(seen, d[j]!)) continue;
        seen.push(d[j]!);
        order.push(j);
        ratio.push(clampRatio(r[d[j]!]!, mass * q[d[j]!]!));
        r = r.map((v, i) => Math.max(v - mass * q[i]!, 0));
        mass = r.reduce((a, b) => a + b, 0);
      }
      return finishOutcome(d.length, order, ratio, r, mass, p, false);
    };
    const law = iidLaw(q, 3);
    const cum = law.map((t) => t.prob);
    const rng = createRng(99);
    const counts = new Float64Array(3);
    const n = 200000;
    for (let t = 0; t < n; t++) {
      let u = rng.next();
      let i = 0;
      while (i < cum.length - 1 && u >= cum[i]!) u -= cum[i++]!;
      const d = law[i]!.drafts;
      counts[sampleOutcome(dedup(d), d, rng).token]!++;
    }
    assert.ok(chiSquareTest(counts, p, n).pValue < 1e-6);
  });
});

describe('Oracle C: sampled output law of the WASM verifiers (false-failure probability <= 1e-6 per test)', () => {
  const pSmall = normalize([0.3, 0.05, 0.2, 0, 0.25, 0.2]);
  const qSmall = normalize([0.1, 0.35, 0, 0.25, 0.1, 0.2]);
  for (const name of VERIFIER_NAMES) {
    const k = name === 'sd' ? 1 : 3;
    it(`${name}: V = 6 (zeros in p and q), k = ${k}, N = 200 000: tokens ~ p, accepted slots ~ the exact per-slot law, rate = α`, () => {
      const n = 200000;
      const { tokens, slots, accepted } = sample(name, pSmall, qSmall, k, n, 1234);
      // exact per-slot acceptance from Oracle A's enumeration
      const m = mathMethod(name);
      const slotLaw = new Float64Array(k + 1);
      for (const t of m.law(qSmall, k)) {
        const o = m.outcome(pSmall, qSmall, t.drafts, t.hubs.length ? t.hubs : undefined);
        o.accept.forEach((a, j) => (slotLaw[j]! += t.prob * a));
        slotLaw[k]! += t.prob * o.reject;
      }
      const alpha = m.acceptance(pSmall, qSmall, k);
      const each = FALSE_FAIL / 3;
      const tok = chiSquareTest(tokens, pSmall, n);
      assert.equal(tok.impossible, 0, 'a token with p = 0 was emitted');
      assert.ok(tok.pValue > each, `tokens: χ² = ${tok.stat.toFixed(1)}, df ${tok.df}, p-value ${tok.pValue}`);
      const sl = chiSquareTest(slots, slotLaw, n);
      assert.equal(sl.impossible, 0, 'a slot with probability 0 was accepted');
      assert.ok(sl.pValue > each, `slots: χ² = ${sl.stat.toFixed(1)}, df ${sl.df}, p-value ${sl.pValue}`);
      assert.ok(rateP(accepted, n, alpha) > each, `accept rate ${accepted / n} vs α ${alpha}`);
    });
  }

  // Zipf-like rows at V = 32 000: p top-p truncated at 0.95, q a perturbed, hotter, top-k 4000 row.
  const v = 32000;
  const g = createRng(7);
  const base = Array.from({ length: v }, (_, i) => -1.1 * Math.log(i + 1));
  const pFull = softmax(base, 1);
  const qFull = softmax(
    base.map((l) => l + 0.8 * Math.log(-Math.log(1 - 0.999999 * g.next()))),
    1.3,
  );
  const pBig = (() => {
    const out = new Float64Array(v);
    let mass = 0;
    for (let i = 0; i < v && mass < 0.95; i++) {
      out[i] = pFull[i]!;
      mass += pFull[i]!;
    }
    return normalize(out);
  })();
  const qBig = (() => {
    const order = [...qFull.keys()].sort((a, b) => qFull[b]! - qFull[a]!).slice(0, 4000);
    const out = new Float64Array(v);
    for (const i of order) out[i] = qFull[i]!;
    return normalize(out);
  })();
  for (const name of VERIFIER_NAMES) {
    const k = name === 'sd' ? 1 : 2;
    it(`${name}: V = 32 000 truncated Zipf pair, k = ${k}, N = 20 000: tokens ~ p (none outside p's support), rate = α`, () => {
      const n = 20000;
      const { tokens, accepted } = sample(name, pBig, qBig, k, n, 4321);
      const alpha = mathMethod(name).acceptance(pBig, qBig, k);
      const each = FALSE_FAIL / 2;
      const tok = chiSquareTest(tokens, pBig, n);
      assert.equal(tok.impossible, 0, 'a token with p = 0 was emitted');
      assert.ok(tok.pValue > each, `tokens: χ² = ${tok.stat.toFixed(1)}, df ${tok.df}, p-value ${tok.pValue}`);
      assert.ok(rateP(accepted, n, alpha) > each, `accept rate ${accepted / n} vs α ${alpha}`);
    });
  }
});

describe('Oracle C on f64 subnormal rows (E17; false-failure probability <= 1e-6 per test)', () => {
  for (const name of VERIFIER_NAMES) {
    const k = name === 'sd' ? 1 : 3;
    it(`${name}: every subnormal case, k = ${k}, N = 20 000: tokens ~ p, accepted slots ~ the exact per-slot law, rate = α`, () => {
      const n = 20000;
      const each = FALSE_FAIL / (3 * SUBNORMAL_CASES.length);
      SUBNORMAL_CASES.forEach((c, ci) => {
        const p = normalize(c.p);
        const q = normalize(c.q);
        const { tokens, slots, accepted } = sample(name, p, q, k, n, 99 + ci);
        const m = mathMethod(name);
        const slotLaw = new Float64Array(k + 1);
        for (const t of m.law(q, k)) {
          const o = m.outcome(p, q, t.drafts, t.hubs.length ? t.hubs : undefined);
          o.accept.forEach((a, j) => (slotLaw[j]! += t.prob * a));
          slotLaw[k]! += t.prob * o.reject;
        }
        const alpha = m.acceptance(p, q, k);
        assert.ok(Number.isFinite(alpha), `${c.name}: acceptance ${alpha}`);
        const tok = chiSquareTest(tokens, p, n);
        assert.equal(tok.impossible, 0, `${c.name}: a token with p = 0 was emitted`);
        assert.ok(tok.pValue > each, `${c.name}: tokens ${Array.from(tokens)}: χ² = ${tok.stat.toFixed(1)}, p-value ${tok.pValue}`);
        const sl = chiSquareTest(slots, slotLaw, n);
        assert.equal(sl.impossible, 0, `${c.name}: a slot with probability 0 was accepted`);
        assert.ok(sl.pValue > each, `${c.name}: slots ${Array.from(slots)} vs ${Array.from(slotLaw)}: p-value ${sl.pValue}`);
        assert.ok(rateP(accepted, n, alpha) > each, `${c.name}: accept rate ${accepted / n} vs α ${alpha}`);
      });
    });
  }
});
