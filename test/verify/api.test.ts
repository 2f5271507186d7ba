/**
 * The public API: createVerifier(name) with Node's default runtime, draft / verify / acceptance on
 * Float32Array and Float64Array inputs, otmAcceptance, determinism for a seed, and a typed error
 * with an "expected …, got …" message for every kind of bad input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifier, createNodeRuntime, otmAcceptance } from '../../src/node.js';
import { createVerifier as createCoreVerifier } from '../../src/index.js';
import { createRng } from '../../src/rng.js';
import { InvalidArgumentError, ShapeError } from '../../src/errors.js';
import { VERIFIER_NAMES, type VerifierName } from '../../src/verify/types.js';
import { GOLDEN } from './cases.js';
import { mathMethod } from '../../src/verify/methods.js';
import { exactOutput } from './oracle.js';
import { NodeVerifier } from '../../src/verify/node-verifier.js';
import { createNodeMeta } from '../../src/verify/types.js';

const G1p = Float64Array.from(GOLDEN.G1.p);
const G1q = Float64Array.from(GOLDEN.G1.q);
const G1_ALPHA: Record<VerifierName, [number, number]> = {
  sd: [1, 0.7],
  rrs: [2, 0.83],
  'rrs-wo': [2, 0.840179],
  spechub: [2, 0.866667],
  'k-seq': [2, 0.84],
};

describe('public API: createVerifier(name) → draft / verify / acceptance', () => {
  const rt = createNodeRuntime();
  for (const name of VERIFIER_NAMES) {
    it(`${name}: G1 acceptance, drafts from q, verify results in range, deterministic per seed`, () => {
      const v = createVerifier(name, { runtime: rt });
      const [k, alpha] = G1_ALPHA[name];
      assert.ok(Math.abs(v.acceptance(G1p, G1q, k) - alpha) < 1e-6);
      const run = (seed: number) => {
        const rng = createRng(seed);
        const out: number[] = [];
        for (let t = 0; t < 50; t++) {
          const d = v.draft(G1q, k, rng);
          assert.ok(d instanceof Int32Array && d.length === k);
          for (const x of d) assert.ok(G1q[x]! > 0);
          const r = v.verify(G1p, G1q, d, rng);
          assert.ok(r.accepted >= -1 && r.accepted < d.length);
          if (r.accepted >= 0) assert.equal(r.token, d[r.accepted]);
          assert.ok(G1p[r.token]! > 0);
          out.push(r.token, r.accepted);
        }
        return out;
      };
      assert.deepEqual(run(11), run(11));
      assert.notDeepEqual(run(11), run(12));
    });
  }

  it('works with no options in Node (a default runtime), and on Float32Array inputs', () => {
    const v = createVerifier('spechub');
    const p32 = Float32Array.from(GOLDEN.G1.p);
    const q32 = Float32Array.from(GOLDEN.G1.q);
    assert.ok(Math.abs(v.acceptance(p32, q32, 2) - 0.866667) < 1e-6);
    const rng = createRng(3);
    const d = v.draft(q32, 2, rng);
    assert.equal(d.length, 2);
    assert.ok(d.includes(0), 'the hub (argmax q) is always drafted');
    const r = v.verify(p32, q32, d, rng);
    assert.ok(r.token >= 0 && r.token < 4);
  });

  it('grows its rows when a larger vocabulary arrives', () => {
    const v = createVerifier('rrs', { runtime: rt });
    const rng = createRng(4);
    for (const n of [4, 100, 5000, 7]) {
      const p = new Float64Array(n).fill(1 / n);
      const d = v.draft(p, 3, rng);
      assert.equal(v.verify(p, p, d, rng).accepted, 0, 'p = q accepts the first draft');
    }
  });

  it('spechub on a q with fewer positive entries than k drafts the support (E5); one-hot q gives one draft', () => {
    const v = createVerifier('spechub', { runtime: rt });
    const rng = createRng(5);
    assert.equal(v.draft(Float64Array.of(0, 1, 0), 2, rng).length, 1);
    const d = v.draft(Float64Array.of(0.5, 0.3, 0, 0.2), 5, rng);
    assert.deepEqual(Array.from(d).sort(), [0, 1, 3]);
    const r = v.verify(Float64Array.of(0.25, 0.25, 0.25, 0.25), Float64Array.of(0.5, 0.3, 0, 0.2), d, rng);
    assert.ok(r.token >= 0);
  });

  it('rrs-wo with k above the support of q drafts the tokens q has; acceptance() is that of those drafts (it threw)', () => {
    const v = createVerifier('rrs-wo', { runtime: rt });
    const rng = createRng(6);
    const p = Float64Array.of(0.2, 0.3, 0.5);
    const q = Float64Array.of(0.5, 0.5, 0);
    for (let t = 0; t < 20; t++) {
      const d = v.draft(q, 3, rng);
      assert.deepEqual(Array.from(d).sort(), [0, 1]);
      const r = v.verify(p, q, d, rng);
      assert.ok(p[r.token]! > 0);
    }
    const enumerated = exactOutput(mathMethod('rrs-wo'), p, q, 3).alpha;
    assert.ok(Math.abs(v.acceptance(p, q, 3) - enumerated) < 1e-12, `acceptance ${v.acceptance(p, q, 3)} vs enumeration ${enumerated}`);
    assert.equal(v.acceptance(p, q, 3), v.acceptance(p, q, 2));
    const oneHot = Float64Array.of(0, 1, 0);
    assert.deepEqual(Array.from(v.draft(oneHot, 8, rng)), [1]);
    assert.ok(Math.abs(v.acceptance(p, oneHot, 8) - 0.3) < 1e-15, 'one draft: α = Σ min(p, q)');
    // k = 1024 on a three-token q is a small exact evaluation, not refused as over budget
    assert.equal(v.acceptance(p, q, 1024), v.acceptance(p, q, 2));
  });

  it('rows(V): draft / verify read the verifier\'s own rows in place and decide as with copied inputs; a row off by more than rounding is renormalised in place, a user array never', () => {
    for (const name of VERIFIER_NAMES) {
      const v = createVerifier(name, { runtime: rt });
      const k = name === 'sd' ? 1 : 2;
      const own = v.rows(4);
      own.p.set(G1p);
      own.q.set(G1q);
      for (let seed = 0; seed < 40; seed++) {
        const a = v.draft(own.q, k, createRng(seed));
        assert.deepEqual(Array.from(a), Array.from(v.draft(G1q, k, createRng(seed))));
        assert.deepEqual(v.verify(own.p, own.q, a, createRng(seed + 100)), v.verify(G1p, G1q, a, createRng(seed + 100)));
      }
      assert.deepEqual(Array.from(own.p), Array.from(G1p), 'a row summing to 1 up to rounding is used as it is');
      const loose = G1p.map((x) => x * (1 + 5e-5));
      own.p.set(loose);
      v.verify(own.p, own.q, v.draft(own.q, k, createRng(1)), createRng(2));
      assert.ok(Math.abs(own.p.reduce((t, x) => t + x, 0) - 1) < 1e-15, 'own row renormalised in place');
      const user = loose.slice();
      v.verify(user, G1q, v.draft(G1q, k, createRng(1)), createRng(2));
      assert.deepEqual(Array.from(user), Array.from(loose), 'a user array is not modified');
    }
  });

  it('sd checks its rows inside the pass it makes anyway (draft: checked_sample_f64; verify: p(x)/q(x) first, then checked_residual_f64 on a rejection) and decides as the decode path does on the same rows and streams', () => {
    const rt2 = createNodeRuntime();
    const v = createVerifier('sd', { runtime: rt2 });
    const V = 5000;
    const node = NodeVerifier.create(rt2, 'sd', { maxVocab: V, maxK: 1 });
    const pv = rt2.f64(rt2.arena.alloc('test.sd.p', 8 * V).ptr, V);
    const qv = rt2.f64(rt2.arena.alloc('test.sd.q', 8 * V).ptr, V);
    const own = v.rows(V);
    const meta = createNodeMeta(1);
    const drafted = new Int32Array(1);
    const gen = createRng(2026);
    let accepted = 0;
    let rejected = 0;
    for (const n of [3, 17, 1000, V]) {
      for (let trial = 0; trial < 25; trial++) {
        // peaked, overlapping rows with exact zeros; a fifth of them off by more than rounding (renormalised in place)
        const row = () => {
          const w = Array.from({ length: n }, (_, i) => (gen.next() < 0.2 ? 0 : Math.exp(-i / (1 + 50 * gen.next())) * gen.next()));
          w[Math.floor(gen.next() * n)] = 1;
          const s = w.reduce((t, x) => t + x, 0);
          const loose = gen.next() < 0.2 ? 1 + 1e-6 : 1;
          return w.map((x) => (x / s) * loose);
        };
        const p = row();
        const q = row();
        const ownP = own.p.subarray(0, n);
        const ownQ = own.q.subarray(0, n);
        ownP.set(p);
        ownQ.set(q);
        const seed = 100 * n + trial;
        const apiRng = createRng(seed);
        const d = v.draft(ownQ, 1, apiRng);
        // the decode path on the rows as the API left them (renormalised in place when they were loose)
        qv.subarray(0, n).set(ownQ);
        const nodeRng = createRng(seed);
        node.draftInto(qv.subarray(0, n), 1, nodeRng, drafted, meta);
        assert.deepEqual(Array.from(d), [drafted[0]], `n ${n} trial ${trial}: draft`);
        const r = v.verify(ownP, ownQ, d, apiRng);
        pv.subarray(0, n).set(ownP);
        qv.subarray(0, n).set(ownQ);
        const want = node.verifyNode(pv.subarray(0, n), qv.subarray(0, n), drafted, 1, meta, nodeRng);
        assert.deepEqual(r, { token: want.token, accepted: want.accepted }, `n ${n} trial ${trial}: verify`);
        assert.equal(apiRng.next(), nodeRng.next(), 'both consumed the same uniforms');
        if (r.accepted === 0) accepted++;
        else rejected++;
      }
    }
    assert.ok(accepted > 10 && rejected > 10, `both outcomes exercised: ${accepted} accepted, ${rejected} rejected`);
  });

  it('sd: a bad entry anywhere in p or q is a typed error naming it, and the failed call leaves the rng where it was', () => {
    const v = createVerifier('sd', { runtime: rt });
    const n = 40;
    const base = () => Float64Array.from({ length: n }, () => 1 / n);
    for (const bad of [NaN, -1e-300, Infinity]) {
      for (const at of [0, 7, n - 1]) {
        for (const which of ['p', 'q'] as const) {
          const p = base();
          const q = base();
          (which === 'p' ? p : q)[at] = bad;
          const rng = createRng(at + 1);
          const next = rng.clone().next();
          const named = new RegExp(`${which}\\[${at}\\]`);
          assert.throws(() => v.verify(p, q, [at === 0 ? 1 : 0], rng), (e: unknown) => e instanceof InvalidArgumentError && named.test((e as Error).message), `verify, ${which}[${at}] = ${bad}`);
          if (which === 'q') assert.throws(() => v.draft(q, 1, rng), (e: unknown) => e instanceof InvalidArgumentError && named.test((e as Error).message), `draft, q[${at}] = ${bad}`);
          assert.equal(rng.next(), next, 'rng untouched');
        }
      }
    }
  });

  it('rrs acceptance on disjoint supports is 0, not -6e-14 (found by the verifier fuzz: it was 1 - a residual mass that rounded above 1)', () => {
    const v = createVerifier('rrs', { runtime: rt });
    for (const n of [31, 1358, 45574]) {
      const half = n >> 1;
      const p = new Float64Array(n);
      const q = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        if (i < half) p[i] = (1 + (i % 7)) / 10;
        else q[i] = (1 + (i % 5)) / 10;
      }
      const sp = p.reduce((t, x) => t + x, 0);
      const sq = q.reduce((t, x) => t + x, 0);
      for (let i = 0; i < n; i++) {
        p[i]! /= sp;
        q[i]! /= sq;
      }
      for (const k of [1, 2, 6]) assert.equal(v.acceptance(p, q, k), 0, `V ${n}, k ${k}`);
    }
  });

  it('rows move when more drafts arrive than planned (same V): later calls read the new rows, not the old', () => {
    const v = createVerifier('rrs', { runtime: rt });
    const rng = createRng(12);
    const p = Float64Array.of(0.1, 0.2, 0.3, 0.4);
    const q = Float64Array.of(0.4, 0.3, 0.2, 0.1);
    const before = v.verify(p, q, [3], rng.clone());
    const many = Array.from({ length: 40 }, (_, i) => i % 4); // more than the 8 drafts planned at first
    const r = v.verify(p, q, many, rng.clone());
    assert.ok(r.token >= 0 && r.token < 4 && (r.accepted < 0 || many[r.accepted] === r.token));
    const other = Float64Array.of(0, 0, 0, 1);
    assert.equal(v.verify(other, q, [3], rng.clone()).token, 3, 'the p row in use is the one just written');
    assert.deepEqual(v.verify(p, q, [3], rng.clone()), before);
  });

  it('otmAcceptance: the i.i.d. optimum (G1, k = 2: .89; G2: .61)', () => {
    assert.ok(Math.abs(otmAcceptance(G1p, G1q, 2) - 0.89) < 1e-6);
    assert.ok(Math.abs(otmAcceptance(Float64Array.from(GOLDEN.G2.p), Float64Array.from(GOLDEN.G2.q), 2) - 0.61) < 1e-6);
  });
});

describe('public API: f64 subnormal probabilities (issue 11, defect 4)', () => {
  it('rrs-wo with subnormal q: p = [.5, .5, 0], q = [1, 1e-310, 0] emits tokens ~ p (it gave .750/.250) and acceptance() is 1, not NaN', () => {
    const p = Float64Array.of(0.5, 0.5, 0);
    const q = Float64Array.of(1, 1e-310, 0);
    const v = createVerifier('rrs-wo');
    assert.equal(v.acceptance(p, q, 2), 1);
    const rng = createRng(2024);
    const n = 20000;
    let token0 = 0;
    let accepted = 0;
    for (let t = 0; t < n; t++) {
      const d = v.draft(q, 2, rng);
      const r = v.verify(p, q, d, rng);
      if (r.token === 0) token0++;
      if (r.accepted >= 0) accepted++;
    }
    // P(token 0) = .5: |z| < 5.3 (two-sided 1e-7); every step accepts a draft (α = 1)
    assert.ok(Math.abs(token0 / n - 0.5) < 5.3 * Math.sqrt(0.25 / n), `P(token 0) ${token0 / n}`);
    assert.equal(accepted, n);
  });
  it('every method: acceptance() is finite and verify() never emits a token with p = 0 on subnormal rows', () => {
    for (const name of VERIFIER_NAMES) {
      const v = createVerifier(name);
      const k = name === 'sd' ? 1 : 2;
      for (const [p, q] of [
        [Float64Array.of(0.5, 0.5, 0), Float64Array.of(1, 1e-310, 0)],
        [Float64Array.of(0.3, 0.3, 0.4, 0), Float64Array.of(0.6, 0.4, 1e-310, 5e-324)],
        [Float64Array.of(1, 1e-310, 5e-324), Float64Array.of(0.5, 0.25, 0.25)],
      ] as const) {
        const a = v.acceptance(p, q, k);
        assert.ok(a >= 0 && a <= 1 + 1e-12, `${name}: acceptance ${a}`);
        const rng = createRng(5);
        for (let t = 0; t < 200; t++) {
          const r = v.verify(p, q, v.draft(q, k, rng), rng);
          assert.ok(p[r.token]! > 0, `${name}: emitted token ${r.token} with p = 0`);
        }
      }
    }
  });
});

describe('public API: invalid input gets a typed error naming what was expected', () => {
  const rt = createNodeRuntime();
  const v = createVerifier('rrs', { runtime: rt });
  const rng = createRng(1);
  const cases: [string, () => unknown, new (...a: never[]) => Error, RegExp][] = [
    ['negative entry', () => v.acceptance(Float64Array.of(0.5, -0.1, 0.6), G1q.subarray(0, 3), 2), InvalidArgumentError, /expected p\[1\] to be a finite probability >= 0, got -0.1/],
    ['NaN entry', () => v.acceptance(Float64Array.of(0.5, NaN, 0.5), Float64Array.of(0.5, 0.25, 0.25), 2), InvalidArgumentError, /p\[1\].*got NaN/],
    ['Infinity entry', () => v.draft(Float64Array.of(Infinity, 0), 1, rng), InvalidArgumentError, /q\[0\].*got Infinity/],
    ['sum far from 1', () => v.acceptance(Float64Array.of(0.5, 0.3), Float64Array.of(0.5, 0.5), 2), InvalidArgumentError, /expected p to sum to 1 .*got 0.8/],
    ['length mismatch', () => v.acceptance(G1p, Float64Array.of(0.5, 0.5), 2), ShapeError, /same length, got 4 and 2/],
    ['empty vector', () => v.draft(new Float64Array(0), 1, rng), ShapeError, /at least one entry/],
    ['plain array instead of a typed array', () => v.acceptance([0.5, 0.5] as unknown as Float64Array, G1q, 1), InvalidArgumentError, /Float32Array or Float64Array, got an array/],
    ['k < 1', () => v.acceptance(G1p, G1q, 0), InvalidArgumentError, /expected k to be an integer in \[1, 1024\], got number 0/],
    ['k not an integer', () => v.draft(G1q, 1.5, rng), InvalidArgumentError, /got number 1.5/],
    ['sd with k = 2', () => createVerifier('sd', { runtime: rt }).acceptance(G1p, G1q, 2), InvalidArgumentError, /sd verifies a single draft, expected k = 1, got 2/],
    ['draft token out of range', () => v.verify(G1p, G1q, [0, 4], rng), InvalidArgumentError, /drafts\[1\] to be a token in \[0, 4\), got 4/],
    ['draft token with q = 0 (E1)', () => v.verify(G1p, Float64Array.of(0.5, 0.5, 0, 0), [2], rng), InvalidArgumentError, /drafts\[0\] = 2 has q = 0/],
    ['no drafts', () => v.verify(G1p, G1q, [], rng), ShapeError, /at least one draft/],
    ['sd: drafts that are not an array (its verify reads drafts[0] before the checks)', () => createVerifier('sd', { runtime: rt }).verify(G1p, G1q, null as never, rng), InvalidArgumentError, /expected drafts as an Int32Array or number\[\], got null/],
    ['sd: a draft token out of range', () => createVerifier('sd', { runtime: rt }).verify(G1p, G1q, [9], rng), InvalidArgumentError, /drafts\[0\] to be a token in \[0, 4\), got 9/],
    ['duplicate rrs-wo drafts', () => createVerifier('rrs-wo', { runtime: rt }).verify(G1p, G1q, [1, 1], rng), InvalidArgumentError, /distinct, got 1 twice/],
    ['spechub drafts off the hub law', () => createVerifier('spechub', { runtime: rt }).verify(G1p, G1q, [1, 2], rng), InvalidArgumentError, /hub/],
    ['missing rng', () => v.draft(G1q, 2, undefined as never), InvalidArgumentError, /expected an Rng/],
    ['unknown method', () => createVerifier('best' as VerifierName), InvalidArgumentError, /expected one of sd, rrs, rrs-wo, spechub, k-seq, got best/],
    ['a sequence-level method is not a node verifier', () => createVerifier('traversal' as VerifierName), InvalidArgumentError, /got traversal, which verifies whole draft trees: use it through Generator or Stepper/],
    ['core without a runtime', () => createCoreVerifier('rrs'), InvalidArgumentError, /expected options.runtime/],
    ['otmAcceptance k < 1', () => otmAcceptance(G1p, G1q, 0), InvalidArgumentError, /k/],
  ];
  for (const [label, fn, type, message] of cases) {
    it(label, () => assert.throws(fn, (e: unknown) => e instanceof type && message.test((e as Error).message)));
  }
  it('rrs-wo exact acceptance beyond its budget says so (InvalidArgumentError, as the README documents for bad verifier input), not a hang', () => {
    const n = 32000;
    const p = new Float64Array(n).fill(1 / n);
    assert.throws(() => createVerifier('rrs-wo', { runtime: rt }).acceptance(p, p, 3), (e: unknown) => e instanceof InvalidArgumentError && /estimate it by sampling/.test((e as Error).message));
  });
});
