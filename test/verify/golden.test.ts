/**
 * Golden vectors G1–G6 (docs/verifiers.md §11.2): every listed acceptance, for every method, from the
 * closed form AND from exact enumeration of the verifier (Oracle B), to 1e-6; SpecHub's internals.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mathMethod } from '../../src/verify/methods.js';
import { kseqRho } from '../../src/verify/kseq.js';
import { otmAcceptanceJoint, otmIid } from '../../src/verify/otm.js';
import { woLaw } from '../../src/verify/rrs-wo.js';
import { hubPairState } from '../../src/verify/spechub.js';
import type { VerifierName } from '../../src/verify/types.js';
import { GOLDEN } from './cases.js';
import { exactOutput } from './oracle.js';
import { normalize } from '../../src/verify/common.js';

const TOL = 1e-6;

/** Order of §11.2: SD / RRS k=2 / RRS k=3 / RRS-w/o k=2 / RRS-w/o k=3 / SpecHub / K-SEQ k=2 / OTM-iid k=2 / OTM-w/o k=2. */
const COLUMNS: [string, VerifierName | 'otm-iid' | 'otm-wo', number][] = [
  ['SD', 'sd', 1],
  ['RRS k=2', 'rrs', 2],
  ['RRS k=3', 'rrs', 3],
  ['RRS-w/o k=2', 'rrs-wo', 2],
  ['RRS-w/o k=3', 'rrs-wo', 3],
  ['SpecHub', 'spechub', 2],
  ['K-SEQ k=2', 'k-seq', 2],
  ['OTM-iid k=2', 'otm-iid', 2],
  ['OTM-w/o k=2', 'otm-wo', 2],
];

const EXPECTED: Record<keyof typeof GOLDEN, number[]> = {
  G1: [0.7, 0.83, 0.847, 0.840179, 0.878155, 0.866667, 0.84, 0.89, 0.934524],
  G2: [0.4, 0.58, 0.704, 0.9, 0.95, 0.933333, 0.591696, 0.61, 0.955556],
  G3: [0.25, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4],
  G4: [1, 1, 1, 1, 1, 1, 1, 1, 1],
  G5: [0, 0, 0, 0, 0, 0, 0, 0, 0],
  G6: [0.2, 0.36, 0.488, 0.472222, 0.780159, 0.4, 0.36, 0.36, 0.472222],
};

describe('golden vectors G1–G6 (§11.2)', () => {
  for (const [g, expected] of Object.entries(EXPECTED) as [keyof typeof GOLDEN, number[]][]) {
    const p = normalize(GOLDEN[g].p);
    const q = normalize(GOLDEN[g].q);
    it(`${GOLDEN[g].name}: ${COLUMNS.map(([c], i) => `${c} ${expected[i]}`).join(' / ')}`, () => {
      COLUMNS.forEach(([label, name, k], i) => {
        let closed: number;
        if (name === 'otm-iid') closed = otmIid(p, q, k);
        else if (name === 'otm-wo') closed = otmAcceptanceJoint(p, woLaw(q, k));
        else {
          const m = mathMethod(name);
          closed = m.acceptance(p, q, k);
          const enumerated = exactOutput(m, p, q, k).alpha;
          assert.ok(Math.abs(enumerated - expected[i]!) < TOL, `${g} ${label}: enumerated α ${enumerated}, expected ${expected[i]}`);
        }
        assert.ok(Math.abs(closed - expected[i]!) < TOL, `${g} ${label}: closed-form α ${closed}, expected ${expected[i]}`);
      });
    });
  }
  it('K-SEQ ρ*: G1 1.4, G2 1.638987, G6 1.8', () => {
    for (const [g, rho] of [['G1', 1.4], ['G2', 1.638987], ['G6', 1.8]] as const) {
      const got = kseqRho(normalize(GOLDEN[g].p), normalize(GOLDEN[g].q), 2).rho;
      assert.ok(Math.abs(got - rho) < TOL, `${g}: ρ* ${got}, expected ${rho}`);
    }
  });
  it('SpecHub G1: a = 0, R1 = .3, R2 = .333333, residual [0, .133333, 0, 0]', () => {
    const s = hubPairState(normalize(GOLDEN.G1.p), normalize(GOLDEN.G1.q), 0);
    assert.ok(Math.abs(s.r1 - 0.3) < TOL && Math.abs(s.r2 - 1 / 3) < TOL);
    const want = [0, 0.133333, 0, 0];
    s.res.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < TOL, `res[${i}] = ${v}`));
  });
  it('SpecHub G2: R1 = 0, R2 = .166667, residual [0, 0, 0, .066667]', () => {
    const s = hubPairState(normalize(GOLDEN.G2.p), normalize(GOLDEN.G2.q), 0);
    assert.ok(Math.abs(s.r1) < TOL && Math.abs(s.r2 - 1 / 6) < TOL);
    const want = [0, 0, 0, 0.066667];
    s.res.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < TOL, `res[${i}] = ${v}`));
  });
  it('G3: the residual carries token 1, which is never drafted', () => {
    const p = normalize(GOLDEN.G3.p);
    const q = normalize(GOLDEN.G3.q);
    for (const name of ['rrs', 'rrs-wo', 'spechub', 'k-seq'] as const) {
      const r = exactOutput(mathMethod(name), p, q, 2);
      assert.ok(Math.abs(r.out[1]! - 0.6) < 1e-12, `${name}: P(token 1) = ${r.out[1]}`);
    }
  });
  it('G4: SpecHub hub a = 2 and the residual mass is 0', () => {
    const s = hubPairState(normalize(GOLDEN.G4.p), normalize(GOLDEN.G4.q), 2);
    assert.ok(s.mass < 1e-15);
  });
});
