/**
 * The verifier API fuzz inside `npm test`: the first 2 000 cases of `npm run fuzz:verify` (the
 * same seed), and a check that the fuzz itself catches a verifier with a wrong law, one that emits
 * a token of probability 0, and one that crashes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Verifier } from '../../../src/verify/api.js';
import { VERIFIER_NAMES, type VerifierName } from '../../../src/verify/types.js';
import { runVerifierFuzz } from './run.js';

const SEED = 20261202;

describe('verifier API fuzz (seeded slice of npm run fuzz:verify)', () => {
  it('2 000 cases: no crash, no non-finite or impossible result, no out-of-support token, typed errors only where deserved, exact laws hold', () => {
    const r = runVerifierFuzz({ seed: SEED, cases: 2000, lawEvery: 8, lawDraws: 800 });
    const failures = r.failures.map((f) => `case ${f.index} ${f.method} V ${f.vocab} k ${f.k} ${f.corruption} ${f.call}: ${f.outcome}: ${f.detail}`);
    assert.equal(r.failed, 0, failures.join('\n'));
    assert.ok(r.calls > 40000, `${r.calls} calls`);
    assert.ok(r.counts.typed > 100, `${r.counts.typed} typed errors: the corrupted inputs ran`);
    assert.ok(r.laws.cases >= 15 && r.laws.enumerated >= 10, `${r.laws.cases} law checks, ${r.laws.enumerated} enumerated`);
    for (const m of VERIFIER_NAMES) assert.ok(r.byMethod[m].ok > 1000, `${m}: ${r.byMethod[m].ok} calls returned`);
  });

  it('catches a verifier with a wrong law, one that emits a token with p = 0, and one that throws a TypeError', () => {
    // rrs-wo: a quarter of the rejections re-emitted as the first token p allows (in support, wrong law)
    const wrongLaw = (v: Verifier): Verifier => ({
      ...v,
      name: v.name,
      draft: (q, k, rng) => v.draft(q, k, rng),
      verify: (p, q, d, rng) => {
        const r = v.verify(p, q, d, rng);
        if (r.accepted < 0 && rng.next() < 0.25) return { token: p.findIndex((x) => x > 0), accepted: -1 };
        return r;
      },
      acceptance: (p, q, k) => v.acceptance(p, q, k),
      rows: (n) => v.rows(n),
    });
    // rrs: emits the last token whenever p gives it nothing
    const unsupported = (v: Verifier): Verifier => ({
      ...v,
      name: v.name,
      draft: (q, k, rng) => v.draft(q, k, rng),
      verify: (p, q, d, rng) => {
        const r = v.verify(p, q, d, rng);
        return p[p.length - 1] === 0 ? { token: p.length - 1, accepted: -1 } : r;
      },
      acceptance: (p, q, k) => v.acceptance(p, q, k),
      rows: (n) => v.rows(n),
    });
    // k-seq: acceptance() trips over an undefined
    const crashing = (v: Verifier): Verifier => ({
      ...v,
      name: v.name,
      draft: (q, k, rng) => v.draft(q, k, rng),
      verify: (p, q, d, rng) => v.verify(p, q, d, rng),
      acceptance: (p, q, k) => (undefined as unknown as { x: number }).x + v.acceptance(p, q, k),
      rows: (n) => v.rows(n),
    });
    const wrap = (name: VerifierName, v: Verifier): Verifier =>
      name === 'rrs-wo' ? wrongLaw(v) : name === 'rrs' ? unsupported(v) : name === 'k-seq' ? crashing(v) : v;
    const r = runVerifierFuzz({ seed: SEED + 1, cases: 400, lawEvery: 1, lawDraws: 800, wrap });
    assert.ok(r.laws.failuresByMethod['rrs-wo'] > 0, 'the wrong law was caught');
    assert.equal(r.laws.failuresByMethod.sd + r.laws.failuresByMethod.spechub, 0, 'no law failure for the intact verifiers');
    assert.ok(r.byMethod.rrs['out-of-support'] > 0, 'the token with p = 0 was caught');
    assert.ok(r.byMethod['k-seq'].crash > 0, 'the TypeError was caught');
    assert.equal(r.byMethod.sd.crash + r.byMethod.spechub.crash, 0, 'only the broken verifiers fail');
    assert.ok(r.failed > 0);
  });
});
